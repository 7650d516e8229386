"""Quadratic laws of a network graph, found and proved without listing paths.

A law ``h = Σ_j a_j θ_j²`` is conserved iff the field ``v = (a_j θ_j)_j`` is
orthogonal to every ∇φ_key, i.e. ``v · ∇φ_key = 0``.  Every φ_key is a sum of
path monomials Π_{e ∈ path} θ_{s(e)} (constant edges contribute 1), and
``v · ∇`` multiplies a monomial by the sum of ``a_{s(e)}`` over the path's
edges.  So h is conserved as soon as every path from a source (an input or a
bias node) to an output has edge sum 0 (and the condition is necessary when
distinct paths give distinct monomials).

Path sums are settled by *potentials* on nodes instead of by listing paths.
On the live subgraph (nodes on some source-to-output path), every path sum is
0 exactly when there is a potential P with P = 0 on sources and outputs and
``a_{s(e)} = P(head) - P(tail)`` on every edge (constant edges: P(head) =
P(tail)).  Proof: given P, a path's sum telescopes to P(output) - P(source) =
0.  Conversely, if all path sums vanish, two paths from sources to a live
node v have equal sums (extend both by one path from v to an output), and
that common sum is a potential.  A parameter on several edges (weight
sharing) ties their potential differences; that is a small linear system on
the nodes, solved exactly over Z.  Parameters on no live edge do not enter
φ, and θ_j² is a law for each of them.

A unit of degree K (:class:`~conslaws.core.models.graph.Activation`: s^K above 0, slope·s^K
below, or the polynomial s^K) raises its pre-activation to the K-th power, so its
output weighs K times its pre-activation: with P the potential of pre-activations,
the condition becomes ``a_{s(e)} = P(head) - K(tail)·P(tail)``, and every φ_key is
then weighted-homogeneous of weight 0 (sufficient; for K > 1 the laws found need
not be all the diagonal ones).  For one neuron u·relu(v·x)^K the law is K·u² - v²
up to sign.

For a ReLU network the potentials are the per-neuron rescalings of docs/theory.md
section 5; a max-pool unit takes the potential of all its inputs, so a
window rescales together.

Linear units can also be *mixed* (:func:`mixing_laws`): for two linear,
non-output units i, j with the same predecessors and successors, moving
ε·(input weights of j) into the input weights of i and -ε·(output weights
of i) into the output weights of j leaves the network function unchanged to
first order (value_i gains ε value_j, which the outputs of j take back).
That field is B θ with B linear, the swapped move is B^T θ, so
h = θ^T B θ = Σ_k θ_{k→i} θ_{k→j} - Σ_m θ_{i→m} θ_{j→m} has gradient
(B + B^T) θ orthogonal to every ∇φ: the entries of W_l W_l^T - W_{l+1}^T W_{l+1}
for linear layers.  The argument needs every edge involved to carry its own
parameter (no sharing, no constant edge) and no max-pool edge gate.

Examples
--------
One ReLU neuron u·relu(v·x): the law is v² - u².

>>> import networkx as nx
>>> g = nx.DiGraph(parameters=["v", "u"], inputs=["x"], outputs=["y"])
>>> g.add_node("x", kind="input"); g.add_node("h", kind="relu"); g.add_node("y", kind="linear")
>>> g.add_edge("x", "h", param="v"); g.add_edge("h", "y", param="u")
>>> rescaling_laws(g)
[[1, -1]]
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import flint
import networkx as nx
import numpy as np

from conslaws.core.algebra.sparse_elimination import rational_reconstruction
from conslaws.core.models.graph import unit_activation, validate_graph

__all__ = ["LINEAR", "QuadraticLaw", "mixing_laws", "output_shift_laws",
           "rescaling_laws"]

#: A law of degree at most 2 as terms (a, b, c) meaning c θ_a θ_b, or c θ_a when
#: b is :data:`LINEAR`.
QuadraticLaw = list[tuple[int, int, int]]
#: The second index of a degree-1 term.
LINEAR = -1


def rescaling_laws(graph: nx.DiGraph) -> list[list[int]]:
    """Coefficient vectors a of a basis of the diagonal quadratic laws Σ a_j θ_j².

    Parameters
    ----------
    graph : networkx.DiGraph
        A network in the format of :mod:`conslaws.core.models.graph`.

    Returns
    -------
    list of list of int
        One integer vector per law, indexed like ``graph.graph["parameters"]``;
        the vectors are linearly independent.
    """
    validate_graph(graph)
    parameters = list(graph.graph["parameters"])
    slot = {name: j for j, name in enumerate(parameters)}
    sources = {n for n, kind in graph.nodes(data="kind") if kind in ("input", "bias")}
    outputs = set(graph.graph["outputs"])
    reached = set(sources).union(*(nx.descendants(graph, s) for s in sources))
    reaching = set(outputs).union(*(nx.ancestors(graph, o) for o in outputs))
    live = reached & reaching
    free_nodes = sorted((n for n in live if n not in sources and n not in outputs), key=str)
    column = {node: i for i, node in enumerate(free_nodes)}
    degree = {node: getattr(unit_activation(graph, node), "degree", 1) for node in free_nodes}
    edges_of: dict[int, list[tuple[Hashable, Hashable]]] = {}
    equations: list[dict[int, int]] = []
    for u, v, param in graph.edges(data="param"):
        if u not in live or v not in live:
            continue
        if param is None:
            equations.append(_difference(column, degree, u, v))
        else:
            edges_of.setdefault(slot[param], []).append((u, v))
    for edges in edges_of.values():
        first = _difference(column, degree, *edges[0])
        for other in edges[1:]:
            equation = _difference(column, degree, *other)
            for c, value in first.items():
                equation[c] = equation.get(c, 0) - value
            equations.append(equation)
    basis = _kernel(equations, len(free_nodes))
    laws: list[list[int]] = []
    for potential in basis:
        values = dict(zip(free_nodes, potential, strict=True))
        vector = [0] * len(parameters)
        for j, edges in edges_of.items():
            u, v = edges[0]
            vector[j] = values.get(v, 0) - degree.get(u, 1) * values.get(u, 0)
        if any(vector):
            laws.append(vector)
    for j in range(len(parameters)):
        if j not in edges_of:
            laws.append([int(i == j) for i in range(len(parameters))])
    return laws


def _difference(column: dict[Hashable, int], degree: dict[Hashable, int], tail: Hashable,
                head: Hashable) -> dict[int, int]:
    """P(head) - K(tail) P(tail) as a sparse row (sources and outputs have P = 0)."""
    row: dict[int, int] = {}
    if head in column:
        row[column[head]] = 1
    if tail in column:
        row[column[tail]] = row.get(column[tail], 0) - degree[tail]
    return {c: value for c, value in row.items() if value}


def _kernel(equations: Sequence[dict[int, int]], size: int) -> list[list[int]]:
    """An integer basis of {P : every equation vanishes at P}."""
    rows = [dict(r) for r in {tuple(sorted(e.items())) for e in equations if e}]
    if size == 0:
        return []
    if not rows:
        return [[int(i == j) for i in range(size)] for j in range(size)]
    if len(rows) > SKETCH_ROWS * size:
        sketched = _sketched_kernel(rows, size)
        if sketched is not None:
            return sketched
    matrix = flint.fmpz_mat(len(rows), size)
    for r, equation in enumerate(rows):
        for c, value in equation.items():
            matrix[r, c] = value
    null, nullity = matrix.nullspace()
    return [[int(null[i, j]) for i in range(size)] for j in range(nullity)]


#: With more than this many equations per unknown (weight sharing: one per edge of a
#: shared parameter), the kernel is found from a random sketch of the system first.
SKETCH_ROWS = 8
#: The sketch's prime: products of residues and small coefficients fit in int64.
SKETCH_PRIME = 2_147_483_629


def _sketched_kernel(rows: Sequence[dict[int, int]], size: int) -> list[list[int]] | None:
    """The kernel from a random sketch S·A mod p, lifted to Z and verified on every row.

    Every vector returned satisfies every equation exactly, so it is in the kernel
    over Q; and as many were found as the sketch's kernel has mod p, which bounds the
    kernel over Q from above (a sketch and a reduction mod p only lose rank).  So the
    vectors are a basis.  None (use the exact dense kernel) when a vector does not
    lift or fails a row, or when fewer vectors lift than the sketch's kernel holds.
    """
    p = SKETCH_PRIME
    rng = np.random.default_rng(len(rows) * 1_000_003 + size)
    row_of = np.concatenate([np.full(len(r), i) for i, r in enumerate(rows)])
    cols = np.fromiter((c for r in rows for c in r), dtype=np.int64, count=len(row_of))
    vals = np.fromiter((v for r in rows for v in r.values()), dtype=np.int64,
                       count=len(row_of))
    height = size + 32
    sketch = np.zeros((height, size), dtype=np.int64)
    # Each equation lands in two random rows of the sketch with random coefficients.
    for _ in range(2):
        bucket = rng.integers(0, height, size=len(rows))
        weight = rng.integers(1, p, size=len(rows))
        np.add.at(sketch, (bucket[row_of], cols), weight[row_of] * (vals % p) % p)
        sketch %= p
    null = flint.nmod_mat([[int(v) for v in line] for line in sketch], p).nullspace()
    basis, nullity = null
    vectors = []
    for j in range(nullity):
        lifted = [rational_reconstruction(int(basis[i, j]), p) for i in range(size)]
        if any(q is None for q in lifted):
            return None
        scale = math.lcm(*(q.denominator for q in lifted if q is not None))
        vector = np.array([int(q * scale) for q in lifted if q is not None], dtype=np.int64)
        residual = np.zeros(len(rows), dtype=np.int64)
        np.add.at(residual, row_of, vals * vector[cols])
        if np.any(residual):
            return None
        vectors.append([int(v) for v in vector])
    return vectors


def mixing_laws(graph: nx.DiGraph) -> list[QuadraticLaw]:
    """The laws of mixing pairs of interchangeable linear units.

    Returns
    -------
    list of QuadraticLaw
        For each unordered pair {i, j} of linear, non-output units with the
        same predecessors (bias nodes count as one constant source) and the
        same successors, through edges that each carry a parameter of their
        own into no max-pool unit: the terms of
        Σ_k θ_{k→i} θ_{k→j} - Σ_m θ_{i→m} θ_{j→m}.

    Examples
    --------
    Two linear units between one input and one output (u1 v1 + u2 v2) x:

    >>> import networkx as nx
    >>> g = nx.DiGraph(parameters=["v1", "v2", "u1", "u2"], inputs=["x"], outputs=["y"])
    >>> for n, kind in [("x", "input"), ("h1", "linear"), ("h2", "linear"), ("y", "linear")]:
    ...     g.add_node(n, kind=kind)
    >>> g.add_edge("x", "h1", param="v1"); g.add_edge("x", "h2", param="v2")
    >>> g.add_edge("h1", "y", param="u1"); g.add_edge("h2", "y", param="u2")
    >>> mixing_laws(g)                        # v1 v2 - u1 u2
    [[(0, 1, 1), (2, 3, -1)]]
    """
    validate_graph(graph)
    slot = {name: j for j, name in enumerate(graph.graph["parameters"])}
    uses: dict[str, int] = {}
    for _, _, param in graph.edges(data="param"):
        if param is not None:
            uses[param] = uses.get(param, 0) + 1
    outputs = set(graph.graph["outputs"])

    def own(u: Hashable, v: Hashable) -> int | None:
        param = graph.edges[u, v].get("param")
        if param is None or uses[param] != 1 or graph.nodes[v]["kind"] == "maxpool":
            return None
        return slot[param]

    def source_key(node: Hashable) -> Hashable:
        return ("bias",) if graph.nodes[node]["kind"] == "bias" else ("node", node)

    groups: dict[tuple[Any, Any], list[tuple[dict[Hashable, int], dict[Hashable, int]]]] = {}
    for node, kind in graph.nodes(data="kind"):
        if kind != "linear" or node in outputs:
            continue
        incoming = {source_key(u): own(u, node) for u in graph.predecessors(node)}
        outgoing = {v: own(node, v) for v in graph.successors(node)}
        slots_in = {k: s for k, s in incoming.items() if s is not None}
        slots_out = {k: s for k, s in outgoing.items() if s is not None}
        # Every edge must carry its own parameter (and two bias sources, which
        # would share one key, disqualify the unit too).
        if (len(slots_in) != graph.in_degree(node) or not slots_out
                or len(slots_out) != len(outgoing)):
            continue
        signature = (frozenset(slots_in), frozenset(slots_out))
        groups.setdefault(signature, []).append((slots_in, slots_out))
    laws: list[QuadraticLaw] = []
    for members in groups.values():
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                (in_i, out_i), (in_j, out_j) = members[a], members[b]
                terms = [(in_i[k], in_j[k], 1) for k in in_i]
                terms += [(out_i[m], out_j[m], -1) for m in out_i]
                laws.append(terms)
    return laws


def output_shift_laws(graph: nx.DiGraph) -> list[QuadraticLaw]:
    """Under cross-entropy: for each unit feeding every output, the sum of those weights.

    The loss sees the outputs only up to a common shift, so the output directions w
    satisfy Σ w_o = 0.  When every output is a linear unit and a unit u reaches each
    output o through an edge with a parameter θ_{u→o} of its own, ∂g_o/∂θ_{u→o} is
    the same value a_u(θ, x) for every o, and ∇(Σ_o θ_{u→o}) · ∇⟨w, g⟩ = a_u Σ_o w_o
    = 0: the column sum Σ_o θ_{u→o} is conserved (bias units included).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph(parameters=["a1", "a2"], inputs=["x"], outputs=["y1", "y2"],
    ...                loss="cross-entropy")
    >>> for n, kind in [("x", "input"), ("y1", "linear"), ("y2", "linear")]:
    ...     g.add_node(n, kind=kind)
    >>> g.add_edge("x", "y1", param="a1"); g.add_edge("x", "y2", param="a2")
    >>> output_shift_laws(g)                  # a1 + a2
    [[(0, -1, 1), (1, -1, 1)]]
    """
    validate_graph(graph)
    outputs = list(graph.graph["outputs"])
    if graph.graph.get("loss") != "cross-entropy" or any(
            graph.nodes[o]["kind"] != "linear" for o in outputs):
        return []
    slot = {name: j for j, name in enumerate(graph.graph["parameters"])}
    uses: dict[str, int] = {}
    for _, _, param in graph.edges(data="param"):
        if param is not None:
            uses[param] = uses.get(param, 0) + 1
    laws = []
    for node in graph.nodes:
        params = [graph.edges[node, o].get("param") if graph.has_edge(node, o) else None
                  for o in outputs]
        if all(p is not None and uses[p] == 1 for p in params):
            laws.append([(slot[p], LINEAR, 1) for p in params if p is not None])
    return laws
