"""``--activation relu|leaky-relu|relu^K|x^K`` against independent values.

The reference φ is built here by hand with sympy, not from the graph: the network output
of a one-hidden-layer network x -> W2 σ(W1 x + b1) with one gate symbol γ_h per hidden
unit, σ(s) = γ s^K (relu^K), (a + (1 - a) γ) s (leaky ReLU with slope a) or s^K (x^K),
expanded, with γ² = γ (gates are 0 or 1), and read off as the coefficients of the
monomials in (x, γ).  Closed forms derived by hand:

* one neuron u·σ(v·x) with σ positively K-homogeneous: the law K u² - v² (Peyré's talk
  "Conservation laws for gradient flows", 2023; the rescaling v -> λ v, u -> λ^-K u);
* relu^K and x^K one-hidden-layer networks: one rescaling law per hidden neuron,
  K ‖incoming‖² - ‖outgoing‖²;
* leaky ReLU: the ReLU laws (its gated view is ReLU's).
"""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import sympy
from cli_runner import run_cli
from reference import reference_count, sympy_is_conserved

import conslaws.core as cl
from conslaws.core.frontends.api import build_model
from conslaws.core.models.numeric import GraphNetwork


def hand_phi(widths: tuple[int, int, int], bias: bool, activation: str,
             slope: Fraction = Fraction(1, 100)) -> tuple[list[sympy.Symbol], list[sympy.Expr]]:
    """φ of x -> W2 σ(W1 x + b1), read off the expanded gated output."""
    m, r, n = widths
    x = sympy.symbols(f"x1:{m + 1}")
    gates = sympy.symbols(f"g1:{r + 1}")
    w1 = [[sympy.Symbol(f"W1_{h}_{j}") for j in range(1, m + 1)] for h in range(1, r + 1)]
    b1 = [sympy.Symbol(f"b1_{h}") for h in range(1, r + 1)]
    w2 = [[sympy.Symbol(f"W2_{o}_{h}") for h in range(1, r + 1)] for o in range(1, n + 1)]
    symbols = [s for row in w1 for s in row] + (b1 if bias else []) + [
        s for row in w2 for s in row]
    base, _, exponent = activation.partition("^")
    k = int(exponent) if exponent else 1
    hidden = []
    for h in range(r):
        s = sum(w1[h][j] * x[j] for j in range(m)) + (b1[h] if bias else 0)
        if base == "relu":
            hidden.append(gates[h] * s**k)
        elif base == "leaky-relu":
            hidden.append((slope + (1 - slope) * gates[h]) * s)
        else:
            hidden.append(s**k)
    phi: list[sympy.Expr] = []
    for o in range(n):
        output = sympy.Poly(sympy.expand(sum(w2[o][h] * hidden[h] for h in range(r))),
                            *x, *gates)
        reduced: dict[tuple[int, ...], sympy.Expr] = {}
        for monomial, coefficient in output.terms():
            # γ^e = γ for e >= 1: the gates are 0 or 1.
            key = monomial[:m] + tuple(min(e, 1) for e in monomial[m:])
            reduced[key] = reduced.get(key, 0) + coefficient
        phi += [c for c in reduced.values() if sympy.expand(c) != 0]
    return symbols, phi


SHAPES = [(1, 1, 1), (2, 2, 1), (1, 2, 2), (2, 3, 1), (2, 2, 2)]
ACTIVATIONS = ["relu^2", "relu^3", "leaky-relu", "x^2", "x^3"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("widths", SHAPES, ids=lambda w: ",".join(map(str, w)))
def test_count_matches_the_hand_phi(widths: tuple[int, int, int], bias: bool,
                                    activation: str) -> None:
    symbols, phi = hand_phi(widths, bias, activation)
    truth, _ = reference_count(phi, symbols, seed=3)
    for engine in ("probes", "fields"):
        result = cl.count("relu", widths=widths, bias=bias, activation=activation,
                          engine=engine, seed=3)
        assert result.parameter_names == tuple(s.name for s in symbols)
        assert result.laws_lower_bound <= truth <= result.laws_upper_bound, engine
        if engine == "fields" or result.certified:
            assert result.certified and result.laws == truth, engine


@pytest.mark.parametrize("activation", ["relu^2", "relu^3", "x^2", "x^3", "leaky-relu"])
@pytest.mark.parametrize("widths", [(3, 4, 2), (2, 3, 3), (1, 2, 1), (3, 4, 4, 2)],
                         ids=lambda w: ",".join(map(str, w)))
def test_one_law_per_hidden_neuron(widths: tuple[int, ...], activation: str) -> None:
    for bias in (False, True):
        if activation.startswith("x^") and widths[0] == 1 and not bias:
            continue  # see test_polynomial_activation_on_a_scalar_input
        result = cl.count("relu", widths=widths, bias=bias, activation=activation, seed=1)
        assert result.certified and result.laws == sum(widths[1:-1]), (bias, result.laws)


def test_polynomial_activation_on_a_scalar_input() -> None:
    """x -> u1 (v1 x)² + u2 (v2 x)² = (u1 v1² + u2 v2²) x²: φ has one component, so
    W has rank 1 and there are D - 1 = 3 laws (more than one per neuron)."""
    symbols, phi = hand_phi((1, 2, 1), False, "x^2")
    assert len(phi) == 1
    result = cl.count("relu", widths=(1, 2, 1), activation="x^2", seed=1)
    assert result.laws_upper_bound == 3 == reference_count(phi, symbols, seed=1)[0]


@pytest.mark.parametrize("k", [2, 3])
def test_one_neuron_law_is_k_u2_minus_v2(k: int, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(["laws", "relu", "--widths", "1,1,1", "--activation", f"relu^{k}",
                              "--degree", "2", "--json", "--seed", "1"], capsys)
    result = json.loads(out)
    assert status == 0 and result["complete"] and result["independent"] == 1
    (law,) = [sympy.sympify(h) for h in result["laws"]]
    v, u = sympy.symbols("W1_1_1 W2_1_1")
    assert sympy.simplify(law / (k * u**2 - v**2)).is_number
    symbols, phi = hand_phi((1, 1, 1), False, f"relu^{k}")
    assert sympy_is_conserved(k * symbols[1] ** 2 - symbols[0] ** 2, phi, symbols)


def test_count_command_of_the_issue(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(["count", "relu", "--widths", "1,1,1", "--activation", "relu^2",
                              "--json"], capsys)
    result = json.loads(out)
    assert status == 0 and result["certified"] and result["laws"] == 1


@pytest.mark.parametrize("activation", ["relu^2", "x^3", "leaky-relu"])
def test_data_mode_agrees(activation: str) -> None:
    phi = cl.count("relu", widths=(2, 3, 2), bias=True, activation=activation, seed=4)
    data = cl.count("relu", widths=(2, 3, 2), bias=True, activation=activation, mode="data",
                    seed=4)
    assert phi.certified and data.laws == phi.laws


@pytest.mark.parametrize("activation", ["relu", "relu^2", "relu^3", "leaky-relu", "x^2", "x^3"])
def test_float_network_matches_the_formula(activation: str) -> None:
    """GraphNetwork's forward pass and gradient, against numpy and finite differences."""
    slope = {"slope": "1/5"} if activation == "leaky-relu" else {}
    model = build_model("relu", widths=(2, 3, 1), bias=True, activation=activation, **slope)
    net = GraphNetwork(model.graph)
    rng = np.random.default_rng(0)
    theta = rng.normal(size=model.dimension)
    x = rng.normal(size=(7, 2))
    w1, b1, w2 = theta[:6].reshape(3, 2), theta[6:9], theta[9:].reshape(1, 3)
    s = x @ w1.T + b1
    base, _, exponent = activation.partition("^")
    k = int(exponent) if exponent else 1
    if base == "relu":
        hidden = np.where(s > 0, s**k, 0.0)
    elif base == "leaky-relu":
        hidden = np.where(s > 0, s, s / 5)
    else:
        hidden = s**k
    np.testing.assert_allclose(net.forward(theta, x), hidden @ w2.T, rtol=1e-12)
    y = rng.normal(size=(7, 1))
    _, grad = net.loss_and_gradient(theta, x, y)
    step = 1e-6
    numeric = [(net.loss_and_gradient(theta + step * e, x, y)[0]
                - net.loss_and_gradient(theta - step * e, x, y)[0]) / (2 * step)
               for e in np.eye(model.dimension)]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_slope_changes_the_model_only_for_leaky_relu() -> None:
    with pytest.raises(cl.InvalidOptionError, match="slope"):
        cl.count("relu", widths=(2, 2, 1), activation="relu^2", slope="1/3")
    a = build_model("relu", widths=(2, 2, 1), activation="leaky-relu", slope="1/3")
    assert {d.get("slope") for _, d in a.graph.nodes(data=True) if d["kind"] == "relu"} == {
        Fraction(1, 3)}


@pytest.mark.parametrize("text", ["relu^1", "x^0", "relu^a", "tanh", "relu^-2", "x^2.5"])
def test_bad_activation(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(["count", "relu", "--widths", "2,2,1", "--activation", text],
                               capsys)
    assert status == 2 and not out and err.count("\n") == 1 and "--activation" in err


def test_modulus_dividing_the_slope(capsys: pytest.CaptureFixture[str]) -> None:
    """The probes cannot reduce 1/101 mod 101: refused by --engine probes, while the
    default engine counts with the listed fields instead."""
    argv = ["count", "relu", "--widths", "2,2,1", "--activation", "leaky-relu", "--slope",
            "1/101", "--modulus", "101", "--seed", "1"]
    status, _, err = run_cli([*argv, "--engine", "probes"], capsys)
    assert status == 2 and "101" in err and "slope" in err and err.count("\n") == 1
    status, out, _ = run_cli([*argv, "--json"], capsys)
    result = json.loads(out)
    assert status == 0 and result["engine"] == "fields" and result["laws"] == 2


def test_no_hidden_layer_is_noted() -> None:
    result = cl.count("relu", widths=(3, 2), activation="relu^2", seed=1)
    plain = cl.count("relu", widths=(3, 2), seed=1)
    assert result.laws == plain.laws and "activation" in result.statement


@pytest.mark.parametrize("architecture, options", [
    ("maxpool", {"input": 2, "hidden": 4, "pool": 2, "output": 1}),
    ("resnet", {"width": 2, "hidden": 2, "blocks": 1}),
])
@pytest.mark.parametrize("activation", ["relu^2", "leaky-relu", "x^2"])
def test_other_graph_architectures_take_the_activation(architecture: str, options: dict[str, int],
                                                       activation: str) -> None:
    """Every graph architecture gets the option; probes and listed fields agree."""
    probes = cl.count(architecture, activation=activation, engine="probes", seed=2, **options)
    fields = cl.count(architecture, activation=activation, engine="fields", seed=2, **options)
    assert fields.certified
    assert probes.laws_lower_bound <= fields.laws <= probes.laws_upper_bound
    kinds = {d["kind"] for _, d in build_model(architecture, activation=activation,
                                               **options).graph.nodes(data=True)}
    assert ("power" in kinds) == activation.startswith("x^")


def test_gates_of_powers_are_idempotent() -> None:
    """Two relu^2 layers with biases: the γ_1 and γ_1² terms must merge (γ² = γ).

    x -> w relu^2(u relu^2(v x + c) + d): expanding (u γ_1 (v x + c)² + d)² gives γ_1² and
    γ_1 terms with the same x-power; keeping them apart would add components to φ, so
    more fields and a count too small.
    """
    v, c, u, d, w, x, g1, g2 = sympy.symbols("W1_1_1 b1_1 W2_1_1 b2_1 W3_1_1 x g1 g2")
    output = sympy.Poly(sympy.expand(w * g2 * (u * g1 * (v * x + c) ** 2 + d) ** 2), x, g1, g2)
    reduced: dict[tuple[int, ...], sympy.Expr] = {}
    for (ex, e1, e2), coefficient in output.terms():
        key = (ex, min(e1, 1), min(e2, 1))
        reduced[key] = reduced.get(key, 0) + coefficient
    symbols = [v, c, u, d, w]
    truth, _ = reference_count(list(reduced.values()), symbols, seed=1)
    for engine in ("fields", "probes"):
        result = cl.count("relu", widths=(1, 1, 1, 1), bias=True, activation="relu^2",
                          engine=engine, seed=1)
        assert result.parameter_names == tuple(s.name for s in symbols)
        assert result.laws_lower_bound <= truth <= result.laws_upper_bound, engine
    assert cl.count("relu", widths=(1, 1, 1, 1), bias=True, activation="relu^2",
                    engine="fields", seed=1).laws == truth


def test_conv_takes_the_activation() -> None:
    """conv builds its graph on the shared mechanism, so the activation reaches it."""
    options = {"channels": "1,2,1", "kernels": "2,2", "length": 3, "activation": "relu^2"}
    probes = cl.count("conv", engine="probes", seed=1, **options)
    fields = cl.count("conv", engine="fields", seed=1, **options)
    assert probes.certified and fields.certified and probes.laws == fields.laws == 2
