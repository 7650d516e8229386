"""Gated passes mod p (core/probes.py) against the gated expansion, in flint.

The reference is the network's gated expansion (core/graph.py):
g_out(θ, x, γ) = Σ_key φ_key(θ) m_key(x, γ), so a probe with inputs x, gates
γ and output weights w is the polynomial

    F(θ) = Σ_(out, key, φ_key) w[out] · Π_{k ∈ key} (x or γ)_k · φ_key(θ),

built here with flint's exact integer polynomials and differentiated
symbolically; gradients, Hessian-vector products and brackets are then
evaluated at θ with integers and reduced mod p.

``ModularNetwork`` numbers nodes by its own topological order and lists a
max-pool node's edge gates in the order of ``graph.predecessors``; the
expansion numbers gates by ``expansion.order``.  The translation below is
built from the node names, and every model is also run on a copy of its graph
inserted in reverse order, so that the two numberings differ.
"""

from __future__ import annotations

import random
from collections.abc import Hashable
from typing import Any

import flint
import networkx as nx
import numpy as np
import pytest

from conslaws.core.algebra.modrank import PROBE_PRIME
from conslaws.core.algebra.vector_fields import VectorField
from conslaws.core.engine.oracles import GradientOracle, nested_bracket_rows
from conslaws.core.errors import InvalidModulusError
from conslaws.core.frontends.api import build_model
from conslaws.core.models.graph import GatedExpansion, edge_gate
from conslaws.core.models.model import Model
from conslaws.core.models.numeric import GraphNetwork
from conslaws.core.models.probes import ModularNetwork, Probes

MODELS: list[tuple[str, dict[str, Any]]] = [
    ("relu", {"widths": "2,3,2", "bias": True}),
    ("linear", {"widths": "2,2,2"}),
    ("conv", {"channels": "1,2,1", "kernels": "2,2", "length": 3}),
    ("resnet", {"width": 2, "hidden": 2, "blocks": 1}),
    ("maxpool", {"input": 3, "hidden": 4, "pool": 2, "output": 2}),
    ("maxpool", {"input": 2, "hidden": 4, "pool": 2, "stride": 1, "output": 1}),
]
IDS = [f"{arch}-{'-'.join(str(v) for v in opts.values())}" for arch, opts in MODELS]
K = 3


def reversed_copy(graph: nx.DiGraph) -> nx.DiGraph:
    """The same network with nodes and edges inserted in reverse order.

    networkx's topological sort follows insertion order, so the copy's node
    numbering (and the order of a node's predecessors) differs from the original's.
    """
    copy = nx.DiGraph(**graph.graph)
    for node in reversed(list(graph.nodes)):
        copy.add_node(node, **graph.nodes[node])
    for u, v in reversed(list(graph.edges)):
        copy.add_edge(u, v, **graph.edges[u, v])
    return copy


def gate_values(expansion: GatedExpansion, graph: nx.DiGraph, probes: Probes,
                column: int) -> dict[int, int]:
    """Every gate id of the expansion -> its value in probe ``column``.

    ``graph`` is the graph the ModularNetwork was compiled from.
    """
    numeric: dict[Hashable, int] = GraphNetwork(graph).index
    size = len(expansion.order)
    values: dict[int, int] = {}
    for node, index in expansion.order.items():
        kind = graph.nodes[node]["kind"]
        if kind == "relu":
            values[index] = int(probes.node_gates[numeric[node]][column])
        elif kind == "maxpool":
            rows = probes.edge_gates[numeric[node]]
            for row, pred in enumerate(graph.predecessors(node)):
                gate = edge_gate(size, expansion.order[pred], index)
                values[gate] = int(rows[row, column])
    return values


def probe_polynomial(model: Model, graph: nx.DiGraph, probes: Probes, column: int) -> Any:
    """F_column(θ) as a flint polynomial of the model's ring."""
    expansion = model.expansion
    gates = gate_values(expansion, graph, probes, column)
    total = model.ring.zero()
    for out, key, phi in expansion.components:
        factor = int(probes.outputs[out, column])
        for k in key:
            factor *= int(probes.inputs[-k - 1, column]) if k < 0 else gates[k]
        total += phi * factor
    return total


def evaluate(poly: Any, theta: list[int]) -> int:
    return int(poly(*theta)) if not poly.is_zero() else 0


def gradient_at(poly: Any, theta: list[int], p: int) -> list[int]:
    return [evaluate(poly.derivative(j), theta) % p for j in range(len(theta))]


def hessian_times(poly: Any, theta: list[int], vector: list[int], p: int) -> list[int]:
    """H_F(θ) v mod p, Hessian entry by entry."""
    size = len(theta)
    first = [poly.derivative(j) for j in range(size)]
    out = []
    for i in range(size):
        total = 0
        for j in range(size):
            if vector[j]:
                total += evaluate(first[i].derivative(j), theta) * vector[j]
        out.append(total % p)
    return out


def setup(arch: str, opts: dict[str, Any], reverse: bool, p: int, seed: int
          ) -> tuple[Model, nx.DiGraph, ModularNetwork, list[int], np.random.Generator]:
    model = build_model(arch, **opts)
    graph = reversed_copy(model.graph) if reverse else model.graph
    net = ModularNetwork(graph, modulus=p)
    rng = np.random.default_rng(seed)
    theta = [int(t) for t in rng.integers(0, p, size=model.dimension)]
    return model, graph, net, theta, rng


def test_reversed_copy_changes_the_numbering() -> None:
    """Guard: the reversed copies really exercise the index translation."""
    changed = 0
    for arch, opts in MODELS:
        graph = build_model(arch, **opts).graph
        if GraphNetwork(reversed_copy(graph)).order != GraphNetwork(graph).order:
            changed += 1
    assert changed == len(MODELS)
    model = build_model("maxpool", input=3, hidden=4, pool=2, output=2)
    copy = reversed_copy(model.graph)
    pool = next(n for n, k in model.graph.nodes(data="kind") if k == "maxpool")
    assert list(copy.predecessors(pool)) != list(model.graph.predecessors(pool))


@pytest.mark.parametrize(("arch", "opts"), MODELS, ids=IDS)
@pytest.mark.parametrize("reverse", [False, True], ids=["graph", "reversed"])
@pytest.mark.parametrize("p", [PROBE_PRIME, 101])
def test_gradient_and_hvp_match_the_expansion(arch: str, opts: dict[str, Any], reverse: bool,
                                              p: int) -> None:
    model, graph, net, theta, rng = setup(arch, opts, reverse, p, seed=len(arch) + p % 97)
    probes = net.draw(rng, K)
    assert probes.count == K
    tangent = rng.integers(0, p, size=(model.dimension, K), dtype=np.int64)
    gradient, hvp = net.passes(np.array(theta), probes, tangent=tangent)
    plain, none = net.passes(np.array(theta), probes)
    assert none is None
    assert gradient.shape == (model.dimension, K) and hvp is not None
    assert hvp.shape == (model.dimension, K)
    assert np.array_equal(plain, gradient)
    for k in range(K):
        f = probe_polynomial(model, graph, probes, k)
        assert gradient[:, k].tolist() == gradient_at(f, theta, p)
        t = [int(v) for v in tangent[:, k]]
        assert hvp[:, k].tolist() == hessian_times(f, theta, t, p)
    assert np.array_equal(net.gradient_rows(np.array(theta), probes), gradient.T)


@pytest.mark.parametrize(("arch", "opts"), MODELS, ids=IDS)
@pytest.mark.parametrize("reverse", [False, True], ids=["graph", "reversed"])
def test_bracket_rows_match_the_expansion(arch: str, opts: dict[str, Any],
                                          reverse: bool) -> None:
    p = PROBE_PRIME
    model, graph, net, theta, rng = setup(arch, opts, reverse, p, seed=7)
    first, second = net.draw(rng, K), net.draw(rng, K)
    rows = nested_bracket_rows(GradientOracle(net), np.array(theta), [first, second])
    assert rows.shape == (K, model.dimension)
    for k in range(K):
        f = probe_polynomial(model, graph, first, k)
        g = probe_polynomial(model, graph, second, k)
        grad_f, grad_g = gradient_at(f, theta, p), gradient_at(g, theta, p)
        # [∇F, ∇G] = H_G ∇F - H_F ∇G
        expected = [(a - b) % p for a, b in zip(hessian_times(g, theta, grad_f, p),
                                                hessian_times(f, theta, grad_g, p), strict=True)]
        assert rows[k].tolist() == expected


@pytest.mark.parametrize(("arch", "opts"), MODELS, ids=IDS)
def test_theta_is_reduced_mod_p(arch: str, opts: dict[str, Any]) -> None:
    p = PROBE_PRIME
    model, _, net, theta, rng = setup(arch, opts, False, p, seed=3)
    probes = net.draw(rng, K)
    tangent = rng.integers(0, p, size=(model.dimension, K), dtype=np.int64)
    base = net.passes(np.array(theta), probes, tangent)
    shift = rng.integers(-5, 6, size=model.dimension) * p
    for other in (np.array(theta) + shift, np.array(theta) - p):
        result = net.passes(other, probes, tangent)
        assert np.array_equal(result[0], base[0])
        assert np.array_equal(result[1], base[1])
    # A tangent congruent mod p (negative entries, small multiples of p added)
    # gives the same H t mod p.
    congruent = tangent + rng.integers(-3, 4, size=tangent.shape) * p
    assert np.array_equal(net.passes(np.array(theta), probes, congruent)[1], base[1])


@pytest.mark.parametrize(("arch", "opts"), MODELS, ids=IDS)
def test_probe_gradients_span_the_trace_of_w0(arch: str, opts: dict[str, Any]) -> None:
    """Every probe gradient lies in span{∇φ_key(θ)} mod p (exactly), and enough
    random probes span all of it (with probability >= 1 - deg/p per draw)."""
    p = PROBE_PRIME
    model, _, net, theta, rng = setup(arch, opts, False, p, seed=11)
    jacobian = [gradient_at(phi, theta, p) for phi in model.expansion.phi]
    trace_rank = flint.nmod_mat(jacobian, p).rank()
    probes = net.draw(rng, len(jacobian) + 4)
    rows = net.gradient_rows(np.array(theta), probes).tolist()
    assert flint.nmod_mat(rows, p).rank() == trace_rank
    assert flint.nmod_mat(rows + jacobian, p).rank() == trace_rank


def test_draw_shapes_and_ranges() -> None:
    model = build_model("maxpool", input=3, hidden=4, pool=2, output=2)
    p = 101
    net = ModularNetwork(model.graph, modulus=p)
    probes = net.draw(np.random.default_rng(0), 5)
    kinds = [model.graph.nodes[n]["kind"] for n in GraphNetwork(model.graph).order]
    assert probes.inputs.shape == (3, 5) and probes.outputs.shape == (2, 5)
    assert sorted(probes.node_gates) == [i for i, k in enumerate(kinds) if k == "relu"]
    assert sorted(probes.edge_gates) == [i for i, k in enumerate(kinds) if k == "maxpool"]
    assert all(g.shape == (2, 5) for g in probes.edge_gates.values())   # windows of 2
    arrays = [probes.inputs, probes.outputs, *probes.node_gates.values(),
              *probes.edge_gates.values()]
    assert all(a.min() >= 0 and a.max() < p for a in arrays)


def test_docstring_example_by_hand() -> None:
    """One linear neuron y = u v x (θ = (v, u)): F = w u v x, ∇F = w x (u, v),
    and the Hessian is w x [[0, 1], [1, 0]], so H t = w x (t_u, t_v)."""
    net = ModularNetwork(build_model("linear", widths=(1, 1, 1)).graph, modulus=101)
    probes = Probes(inputs=np.array([[2, 50]]), outputs=np.array([[3, 99]]), node_gates={},
                    edge_gates={})
    theta = np.array([5, 7])
    gradient, hvp = net.passes(theta, probes, tangent=np.array([[1, 4], [10, 6]]))
    assert gradient[:, 0].tolist() == [3 * 2 * 7, 3 * 2 * 5]
    assert gradient[:, 1].tolist() == [99 * 50 * 7 % 101, 99 * 50 * 5 % 101]
    assert hvp is not None
    assert hvp[:, 0].tolist() == [3 * 2 * 10, 3 * 2 * 1]
    assert hvp[:, 1].tolist() == [99 * 50 * 6 % 101, 99 * 50 * 4 % 101]


@pytest.mark.parametrize("modulus", [2, 1, 0, 2**22, 2**31 - 1, 2**61 - 1])
def test_bad_modulus(modulus: int) -> None:
    with pytest.raises(InvalidModulusError):
        ModularNetwork(build_model("linear", widths="2,2").graph, modulus=modulus)


def test_dead_nodes() -> None:
    """A node with no incoming edge (it carries 0) and a node reaching no output:
    their parameters e and c get zero gradient and zero H t, like in the expansion."""
    g = nx.DiGraph(parameters=["a", "b", "c", "e"], inputs=["x"], outputs=["y"])
    for node, kind in [("x", "input"), ("h", "relu"), ("y", "linear"), ("d", "linear"),
                       ("z", "linear")]:
        g.add_node(node, kind=kind)
    for u, v, param in [("x", "h", "a"), ("h", "y", "b"), ("h", "d", "c"), ("z", "y", "e")]:
        g.add_edge(u, v, param=param)
    model = Model.from_graph(g)
    p = PROBE_PRIME
    for graph in (g, reversed_copy(g)):
        net = ModularNetwork(graph, modulus=p)
        rng = np.random.default_rng(2)
        theta = [int(t) for t in rng.integers(1, p, size=4)]
        probes = net.draw(rng, K)
        tangent = rng.integers(0, p, size=(4, K), dtype=np.int64)
        gradient, hvp = net.passes(np.array(theta), probes, tangent)
        assert hvp is not None
        assert not gradient[2:].any() and not hvp[2:].any()
        for k in range(K):
            f = probe_polynomial(model, graph, probes, k)
            assert gradient[:, k].tolist() == gradient_at(f, theta, p)
            assert hvp[:, k].tolist() == hessian_times(f, theta, tangent[:, k].tolist(), p)


def test_hand_made_graph_with_shared_weight_skip_and_bias() -> None:
    """A graph mixing every node kind, a shared parameter and a constant edge,
    checked against the expansion like the architectures above."""
    g = nx.DiGraph(parameters=["a", "b", "c", "d"], inputs=["x1", "x2"], outputs=["y"])
    for node, kind in [("x1", "input"), ("x2", "input"), ("one", "bias"), ("h1", "relu"),
                       ("h2", "relu"), ("m", "maxpool"), ("s", "linear"), ("y", "linear")]:
        g.add_node(node, kind=kind)
    g.add_edge("x1", "h1", param="a")
    g.add_edge("x2", "h1", param="b")
    g.add_edge("x2", "h2", param="a")        # a shared
    g.add_edge("one", "h2", param="c")
    g.add_edge("h1", "m", param=None)
    g.add_edge("h2", "m", param=None)
    g.add_edge("x1", "s", param=None)        # skip
    g.add_edge("m", "s", param="d")
    g.add_edge("s", "y", param="b")          # b shared across layers
    model = Model.from_graph(g)
    p = 1009
    for graph in (g, reversed_copy(g)):
        net = ModularNetwork(graph, modulus=p)
        rng = np.random.default_rng(5)
        theta = [int(t) for t in rng.integers(0, p, size=4)]
        probes = net.draw(rng, K)
        tangent = rng.integers(0, p, size=(4, K), dtype=np.int64)
        gradient, hvp = net.passes(np.array(theta), probes, tangent)
        assert hvp is not None
        for k in range(K):
            f = probe_polynomial(model, graph, probes, k)
            assert gradient[:, k].tolist() == gradient_at(f, theta, p)
            assert hvp[:, k].tolist() == hessian_times(f, theta, tangent[:, k].tolist(), p)
    # Random draws of everything, including zero residues, many times.
    rnd = random.Random(0)
    net = ModularNetwork(g, modulus=5)
    for _ in range(20):
        theta = [rnd.randrange(5) for _ in range(4)]
        probes = net.draw(np.random.default_rng(rnd.randrange(1000)), 2)
        gradient, _ = net.passes(np.array(theta), probes)
        for k in range(2):
            f = probe_polynomial(model, g, probes, k)
            assert gradient[:, k].tolist() == gradient_at(f, theta, 5)


@pytest.mark.parametrize(("arch", "opts"), MODELS, ids=IDS)
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_nested_brackets_match_symbolic_brackets(arch: str, opts: dict[str, Any],
                                                 depth: int) -> None:
    """[∇F_1, [∇F_2, ..., ∇F_{d+1}]](θ) from jets against VectorField.bracket.

    VectorField.bracket(a, b) is Da·b - Db·a, the opposite sign of the probes'
    DY·X - DX·Y, so a depth-d nested bracket differs by (-1)^d.
    """
    p = PROBE_PRIME
    model, graph, net, theta, rng = setup(arch, opts, False, p, seed=11 + depth)
    chain = [net.draw(rng, 2) for _ in range(depth + 1)]
    rows = nested_bracket_rows(GradientOracle(net), np.array(theta), chain)
    assert rows.shape == (2, model.dimension)
    for k in range(2):
        fields = [VectorField.gradient(model.ring, probe_polynomial(model, graph, probes, k))
                  for probes in chain]
        nested = fields[-1]
        for field in reversed(fields[:-1]):
            nested = field.bracket(nested)
        value = nested.value_at(theta)
        sign = (-1) ** depth
        expected = [sign * value.get(j, 0) % p for j in range(model.dimension)]
        assert rows[k].tolist() == expected
