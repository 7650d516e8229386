"""Networks as graphs: φ read off by the gated-network view (conslaws.core.models.graph).

φ from the graph mechanism is compared with φ built independently (sympy matrix
products, explicit path enumeration, or derived by hand for small graphs with
shared weights and skip edges), and the README's plugin example is run.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
import sympy
from reference import (
    linear_phi,
    plain,
    reference_count,
    reference_polynomial_laws,
    relu_phi,
    same_span,
    span_rank,
    sympy_is_conserved,
)

from conslaws.architectures.layered import layered_graph
from conslaws.core import InvalidGraphError, Model, build_model, count, find_laws
from conslaws.core.models.graph import phi_from_graph
from conslaws.core.plugins.registry import architectures

SEED = 20240614
README = Path(__file__).resolve().parents[2] / "README.md"

a, b, c, u, v = sympy.symbols("a b c u v")


def graph_phi(graph: nx.DiGraph) -> tuple[tuple[str, ...], list[sympy.Expr]]:
    ring, phi = phi_from_graph(graph)
    return ring.names, [plain(ring.to_sympy(p)) for p in phi]


def as_multiset(polynomials: list[sympy.Expr]) -> Counter[sympy.Expr]:
    return Counter(sympy.expand(p) for p in polynomials)


def shape_id(widths: tuple[int, ...]) -> str:
    return ",".join(map(str, widths))


def network(parameters: list[str], nodes: dict[Any, str],
            edges: list[tuple[Any, Any, str | None]], inputs: list[Any],
            outputs: list[Any]) -> nx.DiGraph:
    graph = nx.DiGraph(parameters=parameters, inputs=inputs, outputs=outputs)
    for node, kind in nodes.items():
        graph.add_node(node, kind=kind)
    for start, end, param in edges:
        graph.add_edge(start, end, param=param)
    return graph


# -- layered networks: the graph gives the reference φ ---------------------------------

@pytest.mark.parametrize("widths", [(2, 3, 2), (1, 1, 1), (3, 2), (2, 1, 2, 2), (2, 3, 3, 2)],
                         ids=shape_id)
def test_linear_graph_gives_the_matrix_product(widths: tuple[int, ...]) -> None:
    symbols, expected = linear_phi(widths)
    names, phi = graph_phi(layered_graph(widths, hidden_kind="linear"))
    assert names == tuple(s.name for s in symbols)
    assert as_multiset(phi) == as_multiset(expected)
    model = build_model("linear", widths=widths)
    assert as_multiset([plain(model.ring.to_sympy(p)) for p in model.phi]) == as_multiset(expected)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("widths", [(2, 3, 2), (1, 1, 1), (3, 2), (2, 1, 2, 2), (2, 3, 2, 2)],
                         ids=shape_id)
def test_relu_graph_gives_the_path_lifting(widths: tuple[int, ...], bias: bool) -> None:
    symbols, expected = relu_phi(widths, bias)
    names, phi = graph_phi(layered_graph(widths, hidden_kind="relu", bias=bias))
    assert names == tuple(s.name for s in symbols)
    assert as_multiset(phi) == as_multiset(expected)
    model = build_model("relu", widths=widths, bias=bias)
    assert as_multiset([plain(model.ring.to_sympy(p)) for p in model.phi]) == as_multiset(expected)


# -- shared parameters and skip edges, φ derived by hand ------------------------------

def shared_weight_graph(kind: str) -> nx.DiGraph:
    # x --a--> h1 --b--> y and x --a--> h2 --c--> y: one weight a on two edges.
    return network(["a", "b", "c"], {"x": "input", "h1": kind, "h2": kind, "y": "linear"},
                   [("x", "h1", "a"), ("x", "h2", "a"), ("h1", "y", "b"), ("h2", "y", "c")],
                   ["x"], ["y"])


def test_shared_weight_through_linear_units_sums_the_paths(exact_backend: str) -> None:
    # φ = a b + a c.  One field, so D - 1 = 2 laws; by hand: b - c and 2a² - (b + c)².
    names, phi = graph_phi(shared_weight_graph("linear"))
    assert names == ("a", "b", "c")
    assert as_multiset(phi) == as_multiset([a * b + a * c])
    hand = [b - c, 2 * a**2 - (b + c) ** 2]
    assert all(sympy_is_conserved(h, phi, (a, b, c)) for h in hand)
    assert reference_count(phi, [a, b, c], seed=SEED)[0] == 2

    model = Model.from_graph(shared_weight_graph("linear"))
    result = count(model, backend=exact_backend, seed=SEED)
    assert (result.laws, result.certified) == (2, True)
    laws = [plain(h) for h in find_laws(model, degree=2, backend=exact_backend, seed=SEED).laws]
    assert all(sympy_is_conserved(h, phi, (a, b, c)) for h in laws)
    assert same_span(laws, reference_polynomial_laws(phi, (a, b, c), 2), (a, b, c))
    assert span_rank([*laws, *hand], (a, b, c)) == span_rank(laws, (a, b, c))


def test_shared_weight_through_relu_units_keeps_the_paths_apart(exact_backend: str) -> None:
    # Each ReLU has its own gate: φ = (a b, a c), the row "u v1 x1 + u v2 x2": 1 law.
    _, phi = graph_phi(shared_weight_graph("relu"))
    assert as_multiset(phi) == as_multiset([a * b, a * c])
    hand = a**2 - b**2 - c**2
    assert sympy_is_conserved(hand, phi, (a, b, c))
    assert reference_count(phi, [a, b, c], seed=SEED)[0] == 1

    model = Model.from_graph(shared_weight_graph("relu"))
    result = count(model, backend=exact_backend, seed=SEED)
    assert (result.laws, result.certified) == (1, True)
    laws = [plain(h) for h in find_laws(model, degree=2, seed=SEED).laws]
    assert same_span(laws, [hand], (a, b, c))


@pytest.mark.parametrize("kind", ["linear", "relu"])
def test_residual_skip_edge_adds_a_constant_path(exact_backend: str, kind: str) -> None:
    # y = x + u·σ(v x).  Linear unit: φ = u v + 1 (one output monomial x).
    # ReLU unit: φ = (u v, 1), the skip path x -> y has weight 1.
    graph = network(["v", "u"], {"x": "input", "h": kind, "y": "linear"},
                    [("x", "h", "v"), ("h", "y", "u"), ("x", "y", None)], ["x"], ["y"])
    _, phi = graph_phi(graph)
    expected = [u * v + 1] if kind == "linear" else [u * v, sympy.Integer(1)]
    assert as_multiset(phi) == as_multiset(expected)
    # The constant component carries no field; one law, as for u·v (theory.md:
    # a residual x + g has the laws of g).
    model = Model.from_graph(graph)
    assert len(model.generators) == 1
    result = count(model, backend=exact_backend, seed=SEED)
    assert (result.laws, result.certified) == (1, True)
    laws = [plain(h) for h in find_laws(model, degree=2, seed=SEED).laws]
    assert same_span(laws, [u**2 - v**2], (v, u))


def test_skip_edge_beside_a_weighted_edge() -> None:
    # A skip edge to its own output: x --a--> h (relu), h --b--> y, h --1--> y2: φ = (a b, a).
    graph = network(["a", "b"], {"x": "input", "h": "relu", "y": "linear", "y2": "linear"},
                    [("x", "h", "a"), ("h", "y", "b"), ("h", "y2", None)], ["x"], ["y", "y2"])
    _, phi = graph_phi(graph)
    assert as_multiset(phi) == as_multiset([a * b, a])
    # Merged into one output through a linear node s (a DiGraph has one edge per
    # pair): y = b h + h = (b + 1) a relu(x), φ = a b + a.  By hand, a² - (b + 1)²
    # is conserved (not homogeneous); laws are sought without constant term, so
    # compare with a² - (b + 1)² + 1 = a² - b² - 2b.
    merged = network(["a", "b"], {"x": "input", "h": "relu", "s": "linear", "y": "linear"},
                     [("x", "h", "a"), ("h", "y", "b"), ("h", "s", None), ("s", "y", None)],
                     ["x"], ["y"])
    _, phi = graph_phi(merged)
    assert as_multiset(phi) == as_multiset([a * b + a])
    hand = a**2 - (b + 1) ** 2 + 1
    assert sympy_is_conserved(hand, phi, (a, b))
    model = Model.from_graph(merged)
    result = count(model, seed=SEED)
    assert (result.laws, result.certified) == (1, True)
    assert reference_count(phi, [a, b], seed=SEED)[0] == 1
    laws = [plain(h) for h in find_laws(model, degree=2, seed=SEED).laws]
    assert all(sympy_is_conserved(h, phi, (a, b)) for h in laws)
    assert same_span(laws, [hand], (a, b))


def test_bias_node_feeds_a_path_without_input() -> None:
    # x --v--> h (relu) --u--> y and 1 --c--> h: φ = (v u, c u).
    graph = network(["v", "c", "u"], {"x": "input", "one": "bias", "h": "relu", "y": "linear"},
                    [("x", "h", "v"), ("one", "h", "c"), ("h", "y", "u")], ["x"], ["y"])
    _, phi = graph_phi(graph)
    assert as_multiset(phi) == as_multiset([v * u, c * u])


# -- invalid graphs --------------------------------------------------------------------

def _valid() -> nx.DiGraph:
    return network(["v", "u"], {"x": "input", "h": "relu", "y": "linear"},
                   [("x", "h", "v"), ("h", "y", "u")], ["x"], ["y"])


def _cycle() -> nx.DiGraph:
    graph = _valid()
    graph.add_node("k", kind="linear")
    graph.add_edge("h", "k", param="u")
    graph.add_edge("k", "h", param="v")
    return graph


def _undeclared() -> nx.DiGraph:
    graph = _valid()
    graph.add_edge("x", "y", param="w")
    return graph


def _unknown_kind() -> nx.DiGraph:
    graph = _valid()
    graph.nodes["h"]["kind"] = "sigmoid"
    return graph


def _unused() -> nx.DiGraph:
    graph = _valid()
    graph.graph["parameters"] = ["v", "u", "w"]
    return graph


def _input_with_incoming_edge() -> nx.DiGraph:
    graph = _valid()
    graph.add_node("x2", kind="input")
    graph.add_edge("h", "x2", param="u")
    return graph


def _missing_outputs() -> nx.DiGraph:
    graph = _valid()
    del graph.graph["outputs"]
    return graph


INVALID = {
    "cycle": _cycle,
    "undeclared parameter": _undeclared,
    "unknown kind": _unknown_kind,
    "unused parameter": _unused,
    "input with an incoming edge": _input_with_incoming_edge,
    "missing outputs": _missing_outputs,
}


def test_the_valid_base_graph_is_accepted() -> None:
    _, phi = graph_phi(_valid())
    assert phi == [u * v]


@pytest.mark.parametrize("make", list(INVALID.values()), ids=list(INVALID))
def test_invalid_graphs_are_refused(make: Any) -> None:
    with pytest.raises(InvalidGraphError):
        phi_from_graph(make())
    with pytest.raises(InvalidGraphError):
        Model.from_graph(make())


# -- the README's plugin example ----------------------------------------------------

def _readme_plugin_source() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    sources = [block for block in blocks if "class OneHidden" in block]
    assert sources, "README.md has no python block defining OneHidden"
    return sources[0]


@pytest.fixture
def onehidden() -> Iterator[str]:
    namespace: dict[str, Any] = {}
    exec(compile(_readme_plugin_source(), str(README), "exec"), namespace)
    architectures.register("onehidden", namespace["OneHidden"])
    try:
        yield "onehidden"
    finally:
        architectures.unregister("onehidden")


@pytest.mark.parametrize("neurons", [1, 2, 3])
def test_readme_plugin_counts_one_law_per_hidden_neuron(onehidden: str, exact_backend: str,
                                                        neurons: int) -> None:
    # x -> Σ_k u_k relu(v_k x): the path lifting is φ = (v_k u_k)_k.
    symbols = [sympy.Symbol(f"{p}{k}") for k in range(1, neurons + 1) for p in ("v", "u")]
    expected_phi = [symbols[2 * k] * symbols[2 * k + 1] for k in range(neurons)]
    expected, _ = reference_count(expected_phi, symbols, seed=SEED)

    model = build_model(onehidden, neurons=neurons)
    assert model.parameter_names == tuple(s.name for s in symbols)
    assert as_multiset([plain(model.ring.to_sympy(p)) for p in model.phi]) == as_multiset(
        expected_phi
    )
    result = count(onehidden, backend=exact_backend, seed=SEED, neurons=neurons)
    assert result.laws == expected == neurons
    assert result.certified
    laws = [plain(h) for h in find_laws(onehidden, degree=2, seed=SEED, neurons=neurons).laws]
    per_neuron = [symbols[2 * k] ** 2 - symbols[2 * k + 1] ** 2 for k in range(neurons)]
    assert same_span(laws, per_neuron, symbols)


def test_readme_plugin_is_gone_after_unregistering(onehidden: str) -> None:
    assert onehidden in architectures.names()
    architectures.unregister(onehidden)
    assert onehidden not in architectures.names()
