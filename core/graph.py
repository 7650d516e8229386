"""Networks as networkx graphs, and φ from the gated-network view.

An architecture plugin may describe its network as a directed acyclic graph
instead of writing φ by hand (theory.md section 3).  Multiply the output of
every ReLU unit by a free gate variable γ; the network output is then a
polynomial in (θ, x, γ), and its coefficients in the monomials of (x, γ) are
the path-lifting components φ, with paths through linear units summed.  Weight
sharing (convolution) puts one parameter on several edges; a skip connection
is an edge of constant weight 1.

Graph format
------------
* node attribute ``kind``: ``"input"``, ``"bias"`` (the constant 1),
  ``"linear"`` or ``"relu"``;
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

from collections.abc import Hashable
from typing import Any

import networkx as nx

from conslaws.core.errors import InvalidGraphError
from conslaws.core.polynomials import PolynomialRing

__all__ = ["GATED_KINDS", "NODE_KINDS", "phi_from_graph", "validate_graph"]

#: Node kinds the gated view understands.
NODE_KINDS = frozenset({"input", "bias", "linear", "relu"})
#: Kinds whose output is multiplied by a gate variable.
GATED_KINDS = frozenset({"relu"})


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
    used = set()
    for u, v, param in graph.edges(data="param"):
        if param is not None:
            if param not in graph.graph["parameters"]:
                raise InvalidGraphError(f"edge {u!r} -> {v!r} uses undeclared parameter {param!r}")
            used.add(param)
    unused = [p for p in parameters if p not in used]
    if unused:
        raise InvalidGraphError(f"parameter(s) on no edge: {', '.join(unused[:5])}")
    for node in graph.graph["outputs"]:
        if node not in graph:
            raise InvalidGraphError(f"output {node!r} is not a node")


def phi_from_graph(graph: nx.DiGraph) -> tuple[PolynomialRing, list[Any]]:
    """The parameter ring and the components of φ for a network graph.

    Components are ordered by output, then by the (x, γ)-monomial they
    multiply; components that are identically zero do not occur.
    """
    validate_graph(graph)
    ring = PolynomialRing(list(graph.graph["parameters"]))
    weight = dict(zip(ring.names, ring.gens, strict=False))
    one = ring.from_dict({(0,) * ring.dimension: 1})
    # The output is Σ_key φ_key(θ) · m_key(x, γ).  Each node's value is kept as
    # {key: polynomial in θ}, with key the (x, γ)-monomial as a tuple of ints:
    # -(i + 1) for input x_i, k for the gate of the k-th node in topological
    # order.  A path visits gates in topological order, so appending keeps keys
    # canonical; no polynomial ever carries the x and γ variables themselves.
    value: dict[Hashable, dict[tuple[int, ...], Any]] = {}
    for i, node in enumerate(graph.graph["inputs"]):
        if graph.nodes[node]["kind"] != "input":
            raise InvalidGraphError(f"listed input {node!r} is not an input node")
        value[node] = {(-(i + 1),): one}
    for order, node in enumerate(nx.topological_sort(graph)):
        kind = graph.nodes[node]["kind"]
        if kind == "input":
            if node not in value:
                raise InvalidGraphError(f"input node {node!r} is not listed in 'inputs'")
            continue
        if kind == "bias":
            value[node] = {(): one}
            continue
        total: dict[tuple[int, ...], Any] = {}
        for pred in graph.predecessors(node):
            param = graph.edges[pred, node].get("param")
            for key, poly in value[pred].items():
                term = poly if param is None else weight[param] * poly
                total[key] = total[key] + term if key in total else term
        if kind in GATED_KINDS:
            total = {(*key, order): poly for key, poly in total.items()}
        value[node] = total
    phi: list[Any] = []
    for node in graph.graph["outputs"]:
        for key in sorted(value[node], key=_key_order):
            component = value[node][key]
            if not component.is_zero():
                phi.append(component)
    return ring, phi


def _key_order(key: tuple[int, ...]) -> tuple[int, ...]:
    # Inputs are stored as -(i+1); list x_1 before x_2, bias paths last.
    return tuple(-k if k < 0 else 10**9 + k for k in key) or (10**12,)
