"""Networks as networkx graphs, and φ from the gated-network view.

An architecture plugin may describe its network as a directed acyclic graph
instead of writing φ by hand (docs/theory.md section 3).  Multiply the output of
every ReLU unit by a free gate variable γ; the network output is then a
polynomial in (θ, x, γ), and its coefficients in the monomials of (x, γ) are
the path-lifting components φ, with paths through linear units summed.  Weight
sharing (convolution) puts one parameter on several edges; a skip connection
is an edge of constant weight 1.

Graph format
------------
* node attribute ``kind``: ``"input"``, ``"bias"`` (the constant 1),
  ``"linear"``, ``"relu"``, ``"power"`` or ``"maxpool"`` (passes on its largest
  input);
* optional node attributes of the activation (:func:`unit_activation`):
  ``degree`` K (an integer >= 1, default 1) on ``"relu"`` and ``"power"`` units,
  ``slope`` a (a rational, default 0) on ``"relu"`` units.  A ``"relu"`` unit
  outputs s^K for pre-activation s > 0 and a·s^K for s < 0 (K = 1: ReLU, or leaky
  ReLU when a != 0; a = 0: the positively K-homogeneous max(s, 0)^K); a ``"power"``
  unit outputs s^K for every s (a polynomial activation, no gate);
* edge attribute ``param``: a parameter name, or ``None`` for the constant 1;
* graph attributes ``parameters`` (ordered names), ``inputs`` and ``outputs``
  (ordered node lists).

Examples
--------
One ReLU neuron u·relu(v·x):

>>> import networkx as nx
>>> g = nx.DiGraph(parameters=["v", "u"], inputs=["x"], outputs=["y"])
>>> g.add_node("x", kind="input"); g.add_node("h", kind="relu"); g.add_node("y", kind="linear")
>>> g.add_edge("x", "h", param="v"); g.add_edge("h", "y", param="u")
>>> ring, phi = phi_from_graph(g)
>>> [str(p) for p in phi]
['v*u']
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import flint
import networkx as nx

from conslaws.core.algebra.polynomials import Number, PolynomialRing
from conslaws.core.errors import InvalidGraphError

__all__ = [
    "NODE_KINDS",
    "Activation",
    "GatedExpansion",
    "activation_pattern",
    "count_paths",
    "expand_graph",
    "phi_from_graph",
    "set_activation",
    "sum_polynomials",
    "unit_activation",
    "validate_graph",
]

#: Node kinds the gated view understands.
NODE_KINDS = frozenset({"input", "bias", "linear", "relu", "power", "maxpool"})


@dataclass(frozen=True)
class Activation:
    """What a unit does to its pre-activation s: ``s^K`` above 0, ``slope·s^K`` below.

    The gated view writes the output as ``(slope + (1 - slope)·γ)·s^K`` with one gate
    γ in {0, 1} per unit (``gated``); a unit without a gate (``"linear"``,
    ``"power"``) outputs s^K for every s.

    Examples
    --------
    >>> Activation(degree=2).apply(3), Activation(slope=Fraction(1, 10)).apply(-3)
    (9, Fraction(-3, 10))
    """

    degree: int = 1
    slope: Fraction = Fraction(0)
    gated: bool = True

    def apply(self, s: Number) -> Number:
        """The unit's output, exactly, at pre-activation ``s``."""
        power = s**self.degree
        return power if not self.gated or s > 0 else self.slope * power


def unit_activation(graph: nx.DiGraph, node: Hashable) -> Activation | None:
    """The activation of a ``"relu"``, ``"power"`` or ``"linear"`` unit (None otherwise).

    Raises :class:`InvalidGraphError` for a degree that is not an integer >= 1, a
    slope that is not a rational number, or either on a unit that takes none.

    Examples
    --------
    >>> g = nx.DiGraph()
    >>> g.add_node("h", kind="relu", degree=2)
    >>> unit_activation(g, "h")
    Activation(degree=2, slope=Fraction(0, 1), gated=True)
    """
    data = graph.nodes[node]
    kind = data.get("kind")
    if kind not in ("relu", "power", "linear"):
        return None
    if kind == "linear":
        if data.get("degree", 1) != 1 or "slope" in data:
            raise InvalidGraphError(
                f"node {node!r}: a linear unit takes no degree or slope (use kind 'power' "
                "or 'relu')")
        return Activation(gated=False)
    degree = data.get("degree", 1)
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < 1:
        raise InvalidGraphError(f"node {node!r}: degree {degree!r} must be an integer >= 1")
    slope = data.get("slope", 0)
    if isinstance(slope, bool) or not isinstance(slope, int | Fraction):
        raise InvalidGraphError(
            f"node {node!r}: slope {slope!r} must be an int or a fractions.Fraction")
    if kind == "power" and slope:
        raise InvalidGraphError(f"node {node!r}: a power unit takes no slope")
    return Activation(degree=degree, slope=Fraction(slope), gated=kind == "relu")


#: The slope of ``leaky-relu`` when none is given.
DEFAULT_SLOPE = Fraction(1, 100)


def set_activation(graph: nx.DiGraph, activation: str, slope: Fraction | None = None) -> int:
    """Give every ``"relu"`` unit of ``graph`` the named activation; return how many.

    ``activation`` is ``"relu"``, ``"leaky-relu"`` (slope ``slope``, default
    :data:`DEFAULT_SLOPE`), ``"relu^K"`` or ``"x^K"`` (a ``"power"`` unit).

    Examples
    --------
    >>> g = nx.DiGraph(); g.add_node("h", kind="relu")
    >>> set_activation(g, "x^3"), g.nodes["h"]
    (1, {'kind': 'power', 'degree': 3})
    """
    base, _, exponent = activation.partition("^")
    degree = int(exponent) if exponent else 1
    units = [node for node, kind in graph.nodes(data="kind") if kind == "relu"]
    for node in units:
        data = graph.nodes[node]
        data.pop("slope", None)
        if base == "x":
            data.update(kind="power", degree=degree)
        elif base == "leaky-relu":
            data.update(degree=1, slope=DEFAULT_SLOPE if slope is None else Fraction(slope))
        elif base == "relu":
            data["degree"] = degree
        else:
            raise InvalidGraphError(f"unknown activation {activation!r}")
    return len(units)


def validate_graph(graph: nx.DiGraph) -> None:
    """Check the graph format; raise :class:`InvalidGraphError` naming the problem."""
    for key in ("parameters", "inputs", "outputs"):
        if key not in graph.graph:
            raise InvalidGraphError(f"graph lacks the graph attribute {key!r}")
    if not nx.is_directed_acyclic_graph(graph):
        raise InvalidGraphError("the network graph has a cycle")
    parameters = list(graph.graph["parameters"])
    if len(set(parameters)) != len(parameters):
        raise InvalidGraphError("graph parameter names are not distinct")
    for node, kind in graph.nodes(data="kind"):
        if kind not in NODE_KINDS:
            raise InvalidGraphError(f"node {node!r} has unknown kind {kind!r}")
        if kind in ("input", "bias") and graph.in_degree(node):
            raise InvalidGraphError(f"{kind} node {node!r} has incoming edges")
        unit_activation(graph, node)
    used = set()
    declared = set(parameters)
    for u, v, param in graph.edges(data="param"):
        if param is not None:
            if param not in declared:
                raise InvalidGraphError(f"edge {u!r} -> {v!r} uses undeclared parameter {param!r}")
            used.add(param)
    unused = [p for p in parameters if p not in used]
    if unused:
        raise InvalidGraphError(f"parameter(s) on no edge: {', '.join(unused[:5])}")
    for node in graph.graph["outputs"]:
        if node not in graph:
            raise InvalidGraphError(f"output {node!r} is not a node")
    listed = set(graph.graph["inputs"])
    for node in listed:
        if node not in graph or graph.nodes[node].get("kind") != "input":
            raise InvalidGraphError(f"listed input {node!r} is not an input node")
    for node, kind in graph.nodes(data="kind"):
        if kind == "input" and node not in listed:
            raise InvalidGraphError(f"input node {node!r} is not listed in 'inputs'")


@dataclass
class GatedExpansion:
    """The network output as Σ_key φ_key(θ) · m_key(x, γ), per output unit.

    ``components`` lists ``(output index, key, φ_key)``; a key is a tuple of
    ints naming the monomial m_key: ``-(i + 1)`` for input x_i, and a gate id
    for each gate on the path (see :func:`expand_graph`).
    """

    graph: nx.DiGraph
    ring: PolynomialRing
    components: list[tuple[int, tuple[int, ...], Any]]
    order: dict[Hashable, int]

    @property
    def phi(self) -> list[Any]:
        """The nonzero components φ_key in order."""
        return [poly for _, _, poly in self.components if not poly.is_zero()]

    @property
    def cross_entropy(self) -> bool:
        """Whether the graph's loss is cross-entropy (``graph.graph["loss"]``)."""
        return bool(self.graph.graph.get("loss") == "cross-entropy")

    def phi_for_loss(self) -> list[Any]:
        """φ, or under cross-entropy the differences φ_{o,key} - φ_{last,key}.

        With cross-entropy the output directions w satisfy Σ w = 0, so the fields
        ∇⟨w, g(θ, x)⟩ span those of the differences of the outputs' coefficients of each
        (x, γ)-monomial (one output: no field at all).
        """
        if not self.cross_entropy:
            return self.phi
        return difference_of_outputs(self.ring, len(self.graph.graph["outputs"]),
                                     [((out, key), poly) for out, key, poly in self.components])

    def local_outputs(self, inputs: Sequence[int], gates: Mapping[int, int]) -> list[Any]:
        """The network's outputs as polynomials in θ on one activation pattern.

        ``inputs`` are integer values of x, ``gates`` the 0/1 value of every
        gate id; this is the local polynomial g(·, x) of docs/theory.md section 3.
        """
        outputs: list[list[Any]] = [[] for _ in self.graph.graph["outputs"]]
        for out, key, poly in self.components:
            factor = 1
            for k in key:
                factor *= inputs[-k - 1] if k < 0 else gates[k]
            if factor:
                outputs[out].append(poly * factor)
        return [sum_polynomials(self.ring, terms) for terms in outputs]


def sum_polynomials(ring: PolynomialRing, polys: Sequence[Any]) -> Any:
    """Sum many polynomials pairwise: adding one at a time to a growing sum
    costs quadratic time in the number of terms."""
    items = list(polys)
    if not items:
        return ring.zero()
    while len(items) > 1:
        paired = [items[i] + items[i + 1] for i in range(0, len(items) - 1, 2)]
        if len(items) % 2:
            paired.append(items[-1])
        items = paired
    return items[0]


def count_paths(graph: nx.DiGraph) -> int:
    """Number of paths from a source (input or bias node) to an output.

    It bounds the number of components of φ, i.e. what :func:`expand_graph`
    would list; counted by dynamic programming, without listing them.

    Examples
    --------
    >>> from conslaws.architectures.layered import layered_graph
    >>> count_paths(layered_graph((3, 4, 2), hidden_kind="relu", bias=True))
    32
    """
    validate_graph(graph)
    paths: dict[Hashable, int] = {}
    for node in nx.topological_sort(graph):
        source = graph.nodes[node]["kind"] in ("input", "bias")
        paths[node] = int(source) + sum(paths[u] for u in graph.predecessors(node))
    return sum(paths[node] for node in graph.graph["outputs"])


def edge_gate(graph_size: int, source: int, target: int) -> int:
    """Gate id of the max-pool edge from node ``source`` to node ``target``
    (topological indices); node gates use the node's own index."""
    return graph_size * (1 + source) + target


def expand_graph(graph: nx.DiGraph, ring: PolynomialRing | None = None) -> GatedExpansion:
    """Expand the gated network into its coefficients φ_key.

    Each ReLU unit's output is its gate times the K-th power of its pre-activation
    (:class:`Activation`; a leaky unit adds slope times the ungated power, a power
    unit has no gate); each edge into a max-pool unit carries its own gate (the
    unit passes on exactly one input, so across inputs every incoming edge is used).
    ``ring``, when given, is the parameter ring to build φ in (its names must be
    the graph's parameters, in order).
    """
    validate_graph(graph)
    if ring is None:
        ring = PolynomialRing(list(graph.graph["parameters"]))
    elif list(ring.names) != list(graph.graph["parameters"]):
        raise InvalidGraphError("the ring's names are not the graph's parameters")
    activations = {node: unit_activation(graph, node) for node in graph.nodes}
    # A fractional leaky slope needs rational coefficients while the paths are
    # summed; each component is scaled back to an integer polynomial at the end
    # (scaling one component leaves the span of the fields, W, unchanged).
    rational = any(a is not None and a.slope.denominator != 1 for a in activations.values())
    gens = ring.rational_gens if rational else ring.gens
    one = ring.rational_context.from_dict({(0,) * ring.dimension: 1}) if rational else ring.one
    weight = dict(zip(ring.names, gens, strict=True))
    order = {node: k for k, node in enumerate(nx.topological_sort(graph))}
    size = len(order)
    # Each node's value is kept as {key: polynomial in θ}; no polynomial ever
    # carries the x and γ variables.  Keys are canonical (see _canonical_key).
    value: dict[Hashable, dict[tuple[int, ...], Any]] = {}
    for i, node in enumerate(graph.graph["inputs"]):
        if graph.nodes[node]["kind"] != "input":
            raise InvalidGraphError(f"listed input {node!r} is not an input node")
        value[node] = {(-(i + 1),): one}
    for node, index in order.items():
        kind = graph.nodes[node]["kind"]
        if kind == "input":
            if node not in value:
                raise InvalidGraphError(f"input node {node!r} is not listed in 'inputs'")
            continue
        if kind == "bias":
            value[node] = {(): one}
            continue
        parts: dict[tuple[int, ...], list[Any]] = {}
        for pred in graph.predecessors(node):
            param = graph.edges[pred, node].get("param")
            gate = edge_gate(size, order[pred], index) if kind == "maxpool" else None
            for key, poly in value[pred].items():
                term = poly if param is None else weight[param] * poly
                parts.setdefault(key if gate is None else _canonical_key((*key, gate)),
                                 []).append(term)
        total = {key: sum_polynomials(ring, terms) for key, terms in parts.items()}
        activation = activations[node]
        value[node] = total if activation is None else _activate(total, activation, index)
    components = []
    for out, node in enumerate(graph.graph["outputs"]):
        for key in sorted(value[node], key=_key_order):
            poly = value[node][key]
            components.append((out, key, _integral(ring, poly) if rational else poly))
    return GatedExpansion(graph, ring, components, order)


def _canonical_key(items: Sequence[int]) -> tuple[int, ...]:
    """A monomial in (x, γ) as a key: input ids (< 0) with repetition, then gate ids once each.

    Gates take the values 0 and 1 only (γ² = γ), so a repeated gate is the same gate;
    an input repeats in the powers of a degree-K unit.
    """
    return tuple(sorted(k for k in items if k < 0)) + tuple(sorted({k for k in items if k >= 0}))


def _activate(total: dict[tuple[int, ...], Any], activation: Activation,
              gate: int) -> dict[tuple[int, ...], Any]:
    """A unit's output {key: φ} from its pre-activation's: the K-th power, then the gate."""
    power = total
    for _ in range(activation.degree - 1):
        product: dict[tuple[int, ...], Any] = {}
        for key_a, poly_a in power.items():
            for key_b, poly_b in total.items():
                key = _canonical_key((*key_a, *key_b))
                product[key] = product[key] + poly_a * poly_b if key in product else (
                    poly_a * poly_b)
        power = product
    if not activation.gated:
        return power
    # (slope + (1 - slope) γ) · s^K; γ is new on every path through this unit.
    slope, rest = activation.slope, 1 - activation.slope
    result = {_canonical_key((*key, gate)): _scaled(poly, rest) for key, poly in power.items()}
    if slope:
        result.update({key: _scaled(poly, slope) for key, poly in power.items()})
    return result


def _scaled(poly: Any, factor: Fraction) -> Any:
    """``factor · poly``; a fractional factor only reaches rational polynomials."""
    if factor == 1:
        return poly
    if factor.denominator == 1:
        return poly * int(factor)
    return poly * flint.fmpq(factor.numerator, factor.denominator)


def _integral(ring: PolynomialRing, poly: Any) -> Any:
    """A rational polynomial times the least common denominator of its coefficients."""
    terms = poly.to_dict()
    scale = math.lcm(*(int(c.q) for c in terms.values())) if terms else 1
    return ring.from_dict({e: int(c * scale) for e, c in terms.items()})


def difference_of_outputs(ring: PolynomialRing, outputs: int,
                          components: Sequence[tuple[tuple[int, Hashable], Any]]) -> list[Any]:
    """For each key, the polynomials ``p[o, key] - p[last, key]`` for o < last, nonzero.

    ``components`` holds ``((output, key), polynomial)``; a missing pair counts as zero.
    """
    by_key: dict[Hashable, dict[int, Any]] = {}
    for (out, key), poly in components:
        by_key.setdefault(key, {})[out] = poly
    last = outputs - 1
    differences = []
    for key in by_key:
        base = by_key[key].get(last, ring.zero())
        for out in range(last):
            difference = by_key[key].get(out, ring.zero()) - base
            if not difference.is_zero():
                differences.append(difference)
    return differences


def phi_from_graph(graph: nx.DiGraph) -> tuple[PolynomialRing, list[Any]]:
    """The parameter ring and the nonzero components of φ for a network graph.

    Components are ordered by output, then by the (x, γ)-monomial they
    multiply.
    """
    expansion = expand_graph(graph)
    return expansion.ring, expansion.phi


def activation_pattern(
    expansion: GatedExpansion, theta: Sequence[Number], inputs: Sequence[Number]
) -> dict[int, int] | None:
    """Every gate's value at parameters ``theta`` and input ``inputs``, exactly.

    A ReLU gate (leaky or of degree K too) is 1 when the unit's pre-activation is
    positive, and 0 when it is negative; a max-pool
    unit opens the gate of its largest input.  Returns None on a tie (a
    pre-activation exactly 0, or two equal maxima): such an input lies on a
    region boundary and is not used.
    """
    graph = expansion.graph
    weight = dict(zip(expansion.ring.names, theta, strict=True))
    size = len(expansion.order)
    value: dict[Hashable, Number] = {}
    gates: dict[int, int] = {}
    for i, node in enumerate(graph.graph["inputs"]):
        value[node] = inputs[i]
    for node, index in expansion.order.items():
        kind = graph.nodes[node]["kind"]
        if kind == "input":
            continue
        if kind == "bias":
            value[node] = 1
            continue
        incoming = []
        for pred in graph.predecessors(node):
            param = graph.edges[pred, node].get("param")
            incoming.append((pred, value[pred] if param is None else weight[param] * value[pred]))
        if kind == "maxpool":
            best = max(v for _, v in incoming)
            winners = [pred for pred, v in incoming if v == best]
            if len(winners) > 1 and not all(_is_closed_relu(p, gates, expansion.order, graph)
                                            for p in winners):
                return None
            for pred, _ in incoming:
                gates[edge_gate(size, expansion.order[pred], index)] = int(pred == winners[0])
            value[node] = best
            continue
        total: Number = sum((v for _, v in incoming), start=0)
        if kind == "relu":
            if total == 0:
                return None
            gates[index] = int(total > 0)
        activation = unit_activation(graph, node)
        value[node] = total if activation is None else activation.apply(total)
    return gates


def _is_closed_relu(node: Hashable, gates: Mapping[int, int], order: Mapping[Hashable, int],
                    graph: nx.DiGraph) -> bool:
    """A ReLU unit (slope 0) whose gate is shut: every path through it carries a 0 factor,
    so a max-pool tie among such units leaves the local polynomial the same whichever wins."""
    return bool(graph.nodes[node]["kind"] == "relu" and not graph.nodes[node].get("slope")
                and gates.get(order[node]) == 0)


def _key_order(key: tuple[int, ...]) -> tuple[int, ...]:
    # Inputs are stored as -(i+1); list x_1 before x_2, bias paths last.
    return tuple(-k if k < 0 else 10**9 + k for k in key) or (10**12,)
