"""Diagonal quadratic laws from node potentials (core/rescaling.py).

Independent checks: every law is verified exactly with
:func:`conslaws.core.engine.laws.is_conserved` (∇h · ∇φ_i ≡ 0 as flint
polynomials); independence is a flint ``fmpz_mat`` rank; counts come from
theory.md section 5 (deep ReLU networks, with or without bias: one law per
hidden neuron), from the fields engine when its count is certified, or are
worked out by hand in the comments.
"""

from __future__ import annotations

from typing import Any

import flint
import networkx as nx
import pytest

from conslaws.architectures.layered import layered_graph
from conslaws.core.engine.laws import is_conserved
from conslaws.core.errors import InvalidGraphError
from conslaws.core.frontends.api import build_model, count
from conslaws.core.models.model import Model
from conslaws.core.models.rescaling import mixing_laws, rescaling_laws


def law_polynomial(model: Model, vector: list[int]) -> Any:
    """h = Σ a_j θ_j² in the model's flint ring."""
    h = model.ring.zero()
    for a, theta in zip(vector, model.ring.gens, strict=True):
        if a:
            h += a * theta**2
    return h


def integer_rank(vectors: list[list[int]]) -> int:
    if not vectors:
        return 0
    return int(flint.fmpz_mat(vectors).rank())


def check_laws(model: Model, laws: list[list[int]]) -> None:
    """Shape, exact conservation and linear independence of the vectors."""
    assert all(len(a) == model.dimension for a in laws)
    assert all(isinstance(x, int) for a in laws for x in a)
    assert all(any(a) for a in laws)
    for a in laws:
        assert is_conserved(model, law_polynomial(model, a)), a
    assert integer_rank(laws) == len(laws)


def hidden_neurons(widths: tuple[int, ...]) -> int:
    return sum(widths[1:-1])


RELU_WIDTHS = [(2, 3, 2), (3, 4, 2), (1, 1, 1), (1, 3, 1), (3, 1, 2), (2, 2, 2, 2),
               (1, 2, 1, 3), (4, 1, 1, 2), (2, 5)]


@pytest.mark.parametrize("widths", RELU_WIDTHS, ids=lambda w: ",".join(map(str, w)))
@pytest.mark.parametrize("bias", [False, True])
def test_relu_one_law_per_hidden_neuron(widths: tuple[int, ...], bias: bool) -> None:
    """theory.md section 5: deep ReLU ± bias, one rescaling law per hidden neuron
    (‖incoming‖² - ‖outgoing‖², the bias counting as incoming), whatever the widths."""
    model = build_model("relu", widths=widths, bias=bias)
    laws = rescaling_laws(model.graph)
    check_laws(model, laws)
    assert len(laws) == hidden_neurons(widths)


def test_relu_laws_are_the_per_neuron_rescalings() -> None:
    """For 2,3,2 with bias the span is exactly that of the neuron laws
    Σ_j W1_k_j² + b1_k² - Σ_i W2_i_k², written from the parameter names."""
    model = build_model("relu", widths="2,3,2", bias=True)
    names = model.parameter_names
    expected = []
    for k in range(1, 4):
        vector = [0] * len(names)
        for j in range(1, 3):
            vector[names.index(f"W1_{k}_{j}")] = 1
        vector[names.index(f"b1_{k}")] = 1
        for i in range(1, 3):
            vector[names.index(f"W2_{i}_{k}")] = -1
        expected.append(vector)
    laws = rescaling_laws(model.graph)
    assert integer_rank(laws) == integer_rank(expected) == integer_rank(laws + expected) == 3


@pytest.mark.parametrize(
    ("arch", "opts"),
    [
        ("conv", {"channels": "1,2,1", "kernels": "2,2", "length": 3}),
        ("conv", {"channels": "2,2,1", "kernels": "2,1", "length": 3}),
        ("conv", {"channels": "1,2,2", "kernels": "2,2", "length": 4, "stride": 2}),
        ("resnet", {"width": 2, "hidden": 2, "blocks": 1}),
        ("resnet", {"width": 2, "hidden": 1, "blocks": 2}),
        ("resnet", {"width": 1, "hidden": 1, "blocks": 2}),
        ("maxpool", {"input": 3, "hidden": 4, "pool": 2, "output": 2}),
        ("maxpool", {"input": 2, "hidden": 4, "pool": 2, "stride": 1, "output": 1}),
        ("maxpool", {"input": 2, "hidden": 5, "pool": 2, "output": 1}),   # unit 5 unpooled
        ("maxpool", {"input": 1, "hidden": 3, "pool": 3, "output": 1}),
    ],
    ids=lambda v: v if isinstance(v, str) else "-".join(str(x) for x in v.values()),
)
def test_count_matches_the_certified_fields_engine(arch: str, opts: dict[str, Any]) -> None:
    model = build_model(arch, **opts)
    laws = rescaling_laws(model.graph)
    check_laws(model, laws)
    truth = count(arch, seed=1, engine="fields", **opts)
    assert truth.certified, "choose a case the fields engine certifies"
    assert len(laws) == truth.laws


@pytest.mark.parametrize("widths", [(2, 2, 2), (3, 3, 3), (2, 3, 2), (2, 3, 3, 2)],
                         ids=lambda w: ",".join(map(str, w)))
def test_linear_only_the_diagonal_laws(widths: tuple[int, ...]) -> None:
    """A linear network also rescales each hidden neuron, but its other laws
    (off-diagonal entries of W_l^T W_l - W_{l+1} W_{l+1}^T) are not diagonal."""
    model = build_model("linear", widths=widths)
    laws = rescaling_laws(model.graph)
    check_laws(model, laws)
    assert len(laws) == hidden_neurons(widths)
    truth = count("linear", seed=1, engine="fields", widths=widths)
    assert truth.certified
    # theory.md section 5: with all widths >= 2 the true count is larger,
    # r(r+1)/2 per hidden layer of width r for these shapes.
    assert truth.laws == sum(r * (r + 1) // 2 for r in widths[1:-1])
    assert len(laws) < truth.laws


def _graph(parameters: list[str], nodes: dict[str, str], edges: list[tuple[str, str, Any]],
           outputs: list[str]) -> nx.DiGraph:
    g = nx.DiGraph(parameters=parameters, outputs=outputs,
                   inputs=[n for n, k in nodes.items() if k == "input"])
    for node, kind in nodes.items():
        g.add_node(node, kind=kind)
    for u, v, param in edges:
        g.add_edge(u, v, param=param)
    return g


def same_span(found: list[list[int]], expected: list[list[int]]) -> bool:
    r = integer_rank(expected)
    return integer_rank(found) == r and integer_rank(found + expected) == r


def test_dead_parameters_are_laws_by_themselves() -> None:
    """x -a-> h (relu) -b-> y, plus two dead edges:

    * h -c-> d where d is a linear node with no path to an output;
    * z -e-> y where z is a linear node with no input (it carries 0).

    φ = (a b) only, so ∇φ = (b, a, 0, 0): c and e never move, c² and e² are
    laws, and a² - b² is the neuron's rescaling.  D = 4, the Lie algebra is
    spanned by the single field ∇φ, so there are exactly 4 - 1 = 3 laws.
    """
    g = _graph(["a", "b", "c", "e"],
               {"x": "input", "h": "relu", "y": "linear", "d": "linear", "z": "linear"},
               [("x", "h", "a"), ("h", "y", "b"), ("h", "d", "c"), ("z", "y", "e")],
               outputs=["y"])
    model = Model.from_graph(g)
    laws = rescaling_laws(g)
    check_laws(model, laws)
    assert [0, 0, 1, 0] in laws and [0, 0, 0, 1] in laws
    assert same_span(laws, [[1, -1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    truth = count(model, seed=1, engine="fields")
    assert truth.certified and truth.laws == len(laws) == 3


def test_shared_weight_within_a_layer() -> None:
    """x1 -v-> h1, x2 -v-> h2 (v shared), h1 -u1-> y, h2 -u2-> y.

    Potentials P(h1), P(h2) with P = 0 on inputs and the output: the v edges
    force a_v = P(h1) = P(h2) =: t, and a_u1 = a_u2 = -t.  One law,
    v² - u1² - u2²: φ = (v u1, v u2) is theory.md's "u v_1 x_1 + u v_2 x_2"
    row (D = 3, one law).
    """
    g = _graph(["v", "u1", "u2"],
               {"x1": "input", "x2": "input", "h1": "relu", "h2": "relu", "y": "linear"},
               [("x1", "h1", "v"), ("x2", "h2", "v"), ("h1", "y", "u1"), ("h2", "y", "u2")],
               outputs=["y"])
    model = Model.from_graph(g)
    laws = rescaling_laws(g)
    check_laws(model, laws)
    assert same_span(laws, [[1, -1, -1]])


def test_weight_shared_across_layers() -> None:
    """x -a-> h -a-> y: a_a = P(h) - 0 = 0 - P(h) forces P(h) = 0, so no diagonal
    law; indeed φ = a² has ∇φ = 2a ≠ 0 and D = 1, so there is no law at all."""
    g = _graph(["a"], {"x": "input", "h": "relu", "y": "linear"},
               [("x", "h", "a"), ("h", "y", "a")], outputs=["y"])
    assert rescaling_laws(g) == []
    assert count(Model.from_graph(g), seed=1, engine="fields").laws == 0


def test_crossed_sharing() -> None:
    """x -a-> h1 -b-> y and x -b-> h2 -a-> y: the a edges give
    a_a = P(h1) = -P(h2), the b edges a_b = -P(h1) = P(h2): one free potential,
    a_a = t, a_b = -t, the law a² - b².  Both paths carry the monomial a b (with
    different gates), so φ = (ab, ab) and a² - b² is its only law (D = 2)."""
    g = _graph(["a", "b"], {"x": "input", "h1": "relu", "h2": "relu", "y": "linear"},
               [("x", "h1", "a"), ("h1", "y", "b"), ("x", "h2", "b"), ("h2", "y", "a")],
               outputs=["y"])
    model = Model.from_graph(g)
    laws = rescaling_laws(g)
    check_laws(model, laws)
    assert same_span(laws, [[1, -1]])


def test_constant_edges_tie_potentials() -> None:
    """x -a-> h -(1)-> k -b-> y: the constant edge forces P(k) = P(h), so the
    law is a² - b², as for the single neuron b·relu(a x) (k is linear)."""
    g = _graph(["a", "b"], {"x": "input", "h": "relu", "k": "linear", "y": "linear"},
               [("x", "h", "a"), ("h", "k", None), ("k", "y", "b")], outputs=["y"])
    model = Model.from_graph(g)
    laws = rescaling_laws(g)
    check_laws(model, laws)
    assert same_span(laws, [[1, -1]])


def test_invalid_graph_is_refused() -> None:
    g = _graph(["a"], {"x": "input", "y": "linear"}, [("x", "y", "undeclared")],
               outputs=["y"])
    with pytest.raises(InvalidGraphError):
        rescaling_laws(g)


# ---------------------------------------------------------------- mixing laws


def mixing_polynomial(model: Model, terms: list[tuple[int, int, int]]) -> Any:
    gens = model.ring.gens
    total = model.ring.zero()
    for a, b, c in terms:
        total += c * gens[a] * gens[b]
    return total


@pytest.mark.parametrize("widths", ["3,3,3", "2,4,1", "1,1,1,1", "3,3,2,2", "2,1,2"])
@pytest.mark.parametrize("bias", [False, True])
def test_mixing_laws_of_linear_layers(widths: str, bias: bool) -> None:
    """One law per unordered pair of units in a hidden layer: the off-diagonal
    entries of W_l W_l^T (+ b_l b_l^T) - W_{l+1}^T W_{l+1}; each conserved exactly."""
    sizes = tuple(int(w) for w in widths.split(","))
    graph = layered_graph(sizes, hidden_kind="linear", bias=bias)
    model = Model.from_graph(graph)
    laws = mixing_laws(graph)
    assert len(laws) == sum(n * (n - 1) // 2 for n in sizes[1:-1])
    for terms in laws:
        assert is_conserved(model, mixing_polynomial(model, terms))


def test_relu_units_do_not_mix() -> None:
    assert mixing_laws(build_model("relu", widths="3,3,3").graph) == []


def two_unit_graph(**changes: Any) -> nx.DiGraph:
    """x -> h1, h2 -> y (linear units); ``changes`` alter one feature."""
    second = changes.get("v2", "v2")
    params = ["v1", "v2", "u1", "u2"] if second == "v2" else ["v1", "u1", "u2"]
    graph = nx.DiGraph(parameters=params, inputs=["x"], outputs=changes.get("outputs", ["y"]))
    for node, kind in [("x", "input"), ("h1", "linear"), ("h2", "linear"),
                       ("y", changes.get("y_kind", "linear"))]:
        graph.add_node(node, kind=kind)
    graph.add_edge("x", "h1", param="v1")
    graph.add_edge("x", "h2", param=second)
    graph.add_edge("h1", "y", param="u1")
    graph.add_edge("h2", "y", param="u2")
    return graph


def test_two_unit_graph_mixes() -> None:
    graph = two_unit_graph()
    assert mixing_laws(graph) == [[(0, 1, 1), (2, 3, -1)]]      # v1 v2 - u1 u2


@pytest.mark.parametrize("change", [
    {"v2": "v1"},                 # shared input weight: moving it would move both edges
    {"v2": None},                 # a constant edge cannot be moved
    {"y_kind": "maxpool"},        # per-edge max-pool gates break the compensation
    {"outputs": ["y", "h1"]},     # an output unit's value is seen directly
])
def test_no_mixing_when_the_argument_fails(change: dict[str, Any]) -> None:
    graph = two_unit_graph(**change)
    assert mixing_laws(graph) == []
