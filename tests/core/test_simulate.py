"""Discrete training: :class:`GraphNetwork` and :func:`simulate`.

Expected values never come from the code under test:

* forward passes are recomputed with plain numpy from the parameter orders
  documented in architectures/layered.py, resnet.py and maxpool.py;
* gradients are checked against central finite differences of the loss
  ``Σ ‖g(θ, x_n) - y_n‖² / (2N)``;
* slopes come from theory.md section 4: a law drifts by at most
  (C/2) Σ τ_i², so after a fixed number N of steps (N·τ small) the drift goes
  like τ² (slope 2), and at a fixed training time N·τ = T like T·τ (slope 1);
* law counts come from theory.md section 5 (two linear layers, gradient flow:
  r(r+1)/2; momentum: r(r-1)/2, laws e^{τt}(...)).
"""

from __future__ import annotations

import builtins
import itertools
import json
import math
from typing import Any

import numpy as np
import pytest
import sympy
from cli_runner import run_cli

from conslaws.core.errors import ConslawsError, InvalidOptionError
from conslaws.core.frontends.api import build_model
from conslaws.core.frontends.simulate import Simulation, simulate
from conslaws.core.models.numeric import GraphNetwork

FAST_LRS = (0.01, 0.005, 0.0025, 0.00125)


# --------------------------------------------------------------------------- helpers


def network(architecture: str, **options: Any) -> tuple[GraphNetwork, tuple[str, ...]]:
    model = build_model(architecture, **options)
    assert model.expansion is not None
    return GraphNetwork(model.expansion.graph), model.parameter_names


def layered_names(widths: tuple[int, ...], bias: bool) -> list[str]:
    """The documented order: W{l} row by row, then b{l} on hidden layers."""
    names: list[str] = []
    for layer in range(1, len(widths)):
        names += [f"W{layer}_{i}_{j}" for i in range(1, widths[layer] + 1)
                  for j in range(1, widths[layer - 1] + 1)]
        if bias and layer < len(widths) - 1:
            names += [f"b{layer}_{i}" for i in range(1, widths[layer] + 1)]
    return names


def unpack_layered(theta: np.ndarray, widths: tuple[int, ...],
                   bias: bool) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """(W_l, b_l) per layer from θ in the documented order."""
    layers = []
    at = 0
    for layer in range(1, len(widths)):
        rows, cols = widths[layer], widths[layer - 1]
        weight = theta[at:at + rows * cols].reshape(rows, cols)
        at += rows * cols
        b = None
        if bias and layer < len(widths) - 1:
            b = theta[at:at + rows]
            at += rows
        layers.append((weight, b))
    assert at == theta.size
    return layers


def layered_forward(theta: np.ndarray, x: np.ndarray, widths: tuple[int, ...], *,
                    relu: bool, bias: bool) -> tuple[np.ndarray, list[np.ndarray]]:
    """Outputs (N, n) and the hidden pre-activations, one row per sample."""
    layers = unpack_layered(theta, widths, bias)
    h = x.T
    pre = []
    for depth, (weight, b) in enumerate(layers, start=1):
        z = weight @ h + (b[:, None] if b is not None else 0.0)
        if depth < len(layers):
            pre.append(z)
            h = np.maximum(z, 0.0) if relu else z
        else:
            h = z
    return h.T, pre


def finite_difference(net: GraphNetwork, theta: np.ndarray, x: np.ndarray, y: np.ndarray,
                      h: float = 1e-6) -> np.ndarray:
    def loss(point: np.ndarray) -> float:
        residual = net.forward(point, x) - y
        return float((residual**2).sum() / (2 * x.shape[0]))

    grad = np.zeros_like(theta)
    for k in range(theta.size):
        step = np.zeros_like(theta)
        step[k] = h
        grad[k] = (loss(theta + step) - loss(theta - step)) / (2 * h)
    return grad


def check_gradient(net: GraphNetwork, theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    loss, grad = net.loss_and_gradient(theta, x, y)
    residual = net.forward(theta, x) - y
    assert loss == pytest.approx(float((residual**2).sum() / (2 * x.shape[0])), rel=1e-12)
    expected = finite_difference(net, theta, x, y)
    assert np.abs(expected).max() > 1e-3  # not a vacuous comparison
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9 * np.abs(expected).max())


def min_abs(arrays: list[np.ndarray]) -> float:
    return min(float(np.abs(a).min()) for a in arrays)


# --------------------------------------------------------------------------- forward


@pytest.mark.parametrize("widths", [(2, 3, 2), (3, 1, 2), (2, 3, 3, 2)])
def test_linear_forward_is_the_matrix_product(widths: tuple[int, ...]) -> None:
    net, names = network("linear", widths=widths)
    assert list(names) == layered_names(widths, bias=False)
    rng = np.random.default_rng(1)
    theta = rng.normal(size=net.size)
    x = rng.normal(size=(5, widths[0]))
    product = np.eye(widths[0])
    for weight, _ in unpack_layered(theta, widths, bias=False):
        product = weight @ product  # ... W2 @ W1
    expected = (product @ x.T).T
    np.testing.assert_allclose(net.forward(theta, x), expected, rtol=1e-12, atol=1e-12)


def test_linear_forward_two_layers_explicit() -> None:
    net, _ = network("linear", widths=(2, 3, 2))
    theta = np.arange(1.0, 13.0)  # W1 = [[1,2],[3,4],[5,6]], W2 = [[7,8,9],[10,11,12]]
    w1 = np.array([[1.0, 2], [3, 4], [5, 6]])
    w2 = np.array([[7.0, 8, 9], [10, 11, 12]])
    x = np.array([[1.0, -1.0], [0.5, 2.0]])
    np.testing.assert_allclose(net.forward(theta, x), (w2 @ w1 @ x.T).T, rtol=1e-14)


@pytest.mark.parametrize(("widths", "bias"), [((2, 3, 1), False), ((2, 3, 2), True),
                                             ((3, 4, 3, 2), True)])
def test_relu_forward(widths: tuple[int, ...], bias: bool) -> None:
    net, names = network("relu", widths=widths, bias=bias)
    assert list(names) == layered_names(widths, bias=bias)
    rng = np.random.default_rng(2)
    theta = rng.normal(size=net.size)
    x = rng.normal(size=(7, widths[0]))
    expected, pre = layered_forward(theta, x, widths, relu=True, bias=bias)
    assert any((z < 0).any() for z in pre) and any((z > 0).any() for z in pre)  # ReLU matters
    np.testing.assert_allclose(net.forward(theta, x), expected, rtol=1e-12, atol=1e-12)


def test_relu_forward_with_bias_explicit() -> None:
    # W2 @ relu(W1 @ x + b): W1 = [[1, -1], [2, 1]], b = [0.5, -4], W2 = [[3, -2]]
    net, _ = network("relu", widths=(2, 2, 1), bias=True)
    theta = np.array([1.0, -1.0, 2.0, 1.0, 0.5, -4.0, 3.0, -2.0])
    x = np.array([[1.0, 2.0], [3.0, 0.0]])
    # x1: W1 x + b = [-0.5, 0]   -> relu [0, 0]   -> 0
    # x2: W1 x + b = [3.5, 2]    -> relu [3.5, 2] -> 10.5 - 4 = 6.5
    np.testing.assert_allclose(net.forward(theta, x), [[0.0], [6.5]], atol=1e-14)


def resnet_forward(theta: np.ndarray, x: np.ndarray, m: int, r: int, q: int
                   ) -> tuple[np.ndarray, list[np.ndarray]]:
    z, pre, at = x.T, [], 0
    for _ in range(q):
        v = theta[at:at + r * m].reshape(r, m)
        at += r * m
        u = theta[at:at + m * r].reshape(m, r)
        at += m * r
        pre.append(v @ z)
        z = z + u @ np.maximum(v @ z, 0.0)
    return z.T, pre


def maxpool_forward(theta: np.ndarray, x: np.ndarray, m: int, r: int, k: int, s: int, n: int
                    ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    windows = (r - k) // s + 1
    v = theta[:r * m].reshape(r, m)
    u = theta[r * m:].reshape(n, windows)
    pre = v @ x.T
    hidden = np.maximum(pre, 0.0)
    groups = [hidden[w * s:w * s + k] for w in range(windows)]
    pooled = np.stack([g.max(axis=0) for g in groups])
    return (u @ pooled).T, pre, groups


def test_resnet_forward() -> None:
    m, r, q = 2, 2, 2
    net, _ = network("resnet", width=m, hidden=r, blocks=q)
    rng = np.random.default_rng(3)
    theta = rng.normal(size=net.size)
    x = rng.normal(size=(6, m))
    expected, _ = resnet_forward(theta, x, m, r, q)
    np.testing.assert_allclose(net.forward(theta, x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("k", "s"), [(2, 2), (2, 1)])
def test_maxpool_forward(k: int, s: int) -> None:
    m, r, n = 2, 4, 2
    net, _ = network("maxpool", input=m, hidden=r, pool=k, stride=s, output=n)
    rng = np.random.default_rng(4)
    theta = rng.normal(size=net.size)
    x = rng.normal(size=(6, m))
    expected, _, _ = maxpool_forward(theta, x, m, r, k, s, n)
    np.testing.assert_allclose(net.forward(theta, x), expected, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("widths", [(2, 3, 2), (2, 2, 2, 1)])
def test_linear_gradient_matches_finite_differences(widths: tuple[int, ...]) -> None:
    net, _ = network("linear", widths=widths)
    rng = np.random.default_rng(5)
    theta = rng.normal(size=net.size)
    x, y = rng.normal(size=(6, widths[0])), rng.normal(size=(6, widths[-1]))
    check_gradient(net, theta, x, y)


@pytest.mark.parametrize(("widths", "bias"), [((2, 3, 1), False), ((2, 3, 2), True),
                                             ((3, 3, 2, 2), True)])
def test_relu_gradient_matches_finite_differences(widths: tuple[int, ...], bias: bool) -> None:
    net, _ = network("relu", widths=widths, bias=bias)
    rng = np.random.default_rng(6)
    theta = rng.normal(size=net.size)
    x, y = rng.normal(size=(8, widths[0])), rng.normal(size=(8, widths[-1]))
    _, pre = layered_forward(theta, x, widths, relu=True, bias=bias)
    assert min_abs(pre) > 1e-3  # away from the kinks
    check_gradient(net, theta, x, y)


def test_relu_gradient_two_layers_closed_form() -> None:
    # L = Σ_n (W2 relu(W1 x_n + b) - y_n)² / (2N); with a = relu(z), e = W2 a - y:
    # dL/dW2 = e a^T / N, dL/db = (W2^T e) ⊙ [z > 0] / N, dL/dW1 = that ⊗ x / N.
    widths = (3, 4, 2)
    net, _ = network("relu", widths=widths, bias=True)
    rng = np.random.default_rng(7)
    theta = rng.normal(size=net.size)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    (w1, b1), (w2, _) = unpack_layered(theta, widths, bias=True)
    z = w1 @ x.T + b1[:, None]
    a = np.maximum(z, 0.0)
    e = w2 @ a - y.T
    delta = (w2.T @ e) * (z > 0)
    expected = np.concatenate([(delta @ x).ravel(), delta.sum(axis=1), (e @ a.T).ravel()]) / 5
    _, grad = net.loss_and_gradient(theta, x, y)
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-12)


def test_conv_gradient_matches_finite_differences() -> None:
    net, _ = network("conv", channels="1,2,1", kernels="2,2", length=3)
    rng = np.random.default_rng(8)
    theta = rng.normal(size=net.size)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    check_gradient(net, theta, x, y)


def test_conv_gradient_with_stride() -> None:
    net, _ = network("conv", channels="2,2,1", kernels="2,2", length=4, stride=2)
    rng = np.random.default_rng(9)
    theta = rng.normal(size=net.size)
    x = rng.normal(size=(5, len(net.inputs)))
    y = rng.normal(size=(5, len(net.outputs)))
    check_gradient(net, theta, x, y)


def test_resnet_gradient_matches_finite_differences() -> None:
    m, r, q = 2, 2, 2
    net, _ = network("resnet", width=m, hidden=r, blocks=q)
    rng = np.random.default_rng(10)
    theta = rng.normal(size=net.size)
    x, y = rng.normal(size=(6, m)), rng.normal(size=(6, m))
    _, pre = resnet_forward(theta, x, m, r, q)
    assert min_abs(pre) > 1e-3
    check_gradient(net, theta, x, y)


@pytest.mark.parametrize(("k", "s"), [(2, 2), (2, 1), (3, 1)])
def test_maxpool_gradient_matches_finite_differences(k: int, s: int) -> None:
    m, r, n = 2, 4, 2
    net, _ = network("maxpool", input=m, hidden=r, pool=k, stride=s, output=n)
    rng = np.random.default_rng(11)
    theta = rng.normal(size=net.size)
    x, y = rng.normal(size=(8, m)), rng.normal(size=(8, n))
    _, pre, groups = maxpool_forward(theta, x, m, r, k, s, n)
    assert float(np.abs(pre).min()) > 1e-3  # away from the ReLU kinks
    for group in groups:  # away from ties: the winner is clear unless all are 0
        ordered = np.sort(group, axis=0)
        top, second = ordered[-1], ordered[-2]
        assert ((top - second > 1e-3) | (top == 0.0)).all()
    assert any((g.max(axis=0) > 0).any() for g in groups)
    check_gradient(net, theta, x, y)


# --------------------------------------------------------------------------- drift slopes


@pytest.mark.parametrize("widths", [(2, 2, 1), (2, 3, 2)])
def test_gd_drift_scales_like_lr_squared_at_fixed_steps(widths: tuple[int, ...]) -> None:
    # N·τ ≤ 0.1: the trajectory barely moves, so Σ τ² = N τ² dominates (slope 2).
    result = simulate("linear", widths=widths, optimizer="gd", steps=10, lrs=FAST_LRS, seed=0)
    assert result.steps == {f"{lr:g}": 10 for lr in FAST_LRS}
    assert 1.7 <= result.slope <= 2.3
    finals = [result.final[f"{lr:g}"] for lr in FAST_LRS]
    assert all(a > b > 0 for a, b in itertools.pairwise(finals))
    key = f"{FAST_LRS[-1]:g}"
    assert result.control[key][-1] > 100 * result.drift[key][-1]


@pytest.mark.parametrize("widths", [(2, 2, 1), (2, 3, 2)])
def test_gd_drift_scales_like_lr_at_fixed_time(widths: tuple[int, ...]) -> None:
    lrs = (0.02, 0.01, 0.005, 0.0025)
    result = simulate("linear", widths=widths, fixed_time=1.0, lrs=lrs, seed=0)
    # round(T / lr) steps per step size
    assert result.steps == {"0.02": 50, "0.01": 100, "0.005": 200, "0.0025": 400}
    assert result.fixed_time == 1.0
    assert 0.7 <= result.slope <= 1.3
    key = "0.0025"
    assert result.control[key][-1] > 100 * result.drift[key][-1]


def test_relu_gd_drift_slope() -> None:
    lrs = (0.005, 0.0025, 0.00125, 0.000625)
    result = simulate("relu", widths=(2, 3, 1), steps=200, lrs=lrs, seed=0)
    assert 1.6 <= result.slope <= 2.4
    key = f"{lrs[-1]:g}"
    assert result.control[key][-1] > 100 * result.drift[key][-1]


@pytest.mark.parametrize("widths", [(2, 2, 1), (2, 3, 2)])
def test_sgd_drift_slope(widths: tuple[int, ...]) -> None:
    # The laws hold for every data set, so every mini-batch step keeps them to O(τ²).
    result = simulate("linear", widths=widths, optimizer="sgd", steps=10, lrs=FAST_LRS,
                      samples=16, batch=4, seed=0)
    assert result.optimizer == "sgd"
    assert 1.5 <= result.slope <= 2.5
    key = f"{FAST_LRS[-1]:g}"
    assert result.control[key][-1] > 100 * result.drift[key][-1]


def test_recorded_drift_series() -> None:
    result = simulate("linear", widths=(2, 2, 1), steps=10, lrs=(0.01, 0.005), seed=0)
    for lr in (0.01, 0.005):
        key = f"{lr:g}"
        recorded = result.recorded[key]
        assert recorded[0] == 0 and recorded[-1] == 10
        assert recorded == sorted(recorded)
        assert len(result.drift[key]) == len(result.control[key]) == len(recorded)
        assert result.drift[key][0] == 0.0 and result.control[key][0] == 0.0
        assert result.final[key] == result.drift[key][-1]
    # independently fitted slope of log(final) against log(lr)
    finals = [result.final["0.01"], result.final["0.005"]]
    expected = (math.log(finals[0]) - math.log(finals[1])) / (math.log(0.01) - math.log(0.005))
    assert result.slope == pytest.approx(expected, rel=1e-9)


def test_same_seed_same_numbers() -> None:
    a = simulate("linear", widths=(2, 2, 1), steps=5, lrs=(0.01, 0.005), seed=3)
    b = simulate("linear", widths=(2, 2, 1), steps=5, lrs=(0.01, 0.005), seed=3)
    assert a.final == b.final and a.control == b.control


# --------------------------------------------------------------------------- tracked laws


def _coefficients(exprs: list[sympy.Expr], symbols: list[sympy.Symbol]) -> sympy.Matrix:
    polys = [sympy.Poly(sympy.expand(e), *symbols) for e in exprs]
    monomials = sorted({m for p in polys for m in p.monoms()})
    return sympy.Matrix([[dict(p.terms()).get(m, 0) for m in monomials] for p in polys])


@pytest.mark.parametrize(("widths", "laws"), [((2, 2, 1), 3), ((2, 3, 2), 6), ((2, 2, 2), 3)])
def test_gd_tracks_the_balance_laws(widths: tuple[int, int, int], laws: int) -> None:
    # theory.md section 5: two linear layers, r ≤ n + m: r(r+1)/2 laws, the entries of
    # U^T U - V^T V, i.e. W1 W1^T - W2^T W2 here (rows of W1 are the hidden units).
    m, r, n = widths
    assert laws == r * (r + 1) // 2
    result = simulate("linear", widths=widths, steps=2, lrs=(0.01, 0.005), seed=0)
    assert result.flow == "gradient"
    assert len(result.laws) == laws
    w1 = sympy.Matrix(r, m, lambda i, j: sympy.Symbol(f"W1_{i + 1}_{j + 1}", real=True))
    w2 = sympy.Matrix(n, r, lambda i, j: sympy.Symbol(f"W2_{i + 1}_{j + 1}", real=True))
    balance = w1 * w1.T - w2.T * w2
    entries = [balance[i, j] for i in range(r) for j in range(i, r)]
    symbols = sorted(set(w1) | set(w2), key=str)
    tracked = [sympy.sympify(h, locals={s.name: s for s in symbols}) for h in result.laws]
    assert _coefficients(tracked, symbols).rank() == laws
    assert _coefficients(entries, symbols).rank() == laws
    assert _coefficients(tracked + entries, symbols).rank() == laws  # same span


def test_relu_tracks_one_law_per_hidden_neuron() -> None:
    result = simulate("relu", widths=(2, 3, 1), steps=2, lrs=(0.01, 0.005), seed=0)
    assert len(result.laws) == 3


def test_momentum_tracks_the_momentum_laws() -> None:
    # theory.md: momentum on two linear layers, n + m ≥ 3, 2 ≤ r: r(r-1)/2 laws
    # e^{τt}(U^T U' - U'^T U + V^T V' - V'^T V); r = 2 -> 1 law.
    result = simulate("linear", widths=(2, 2, 2), optimizer="momentum", steps=5,
                      lrs=(0.01, 0.005), seed=0)
    assert result.flow == "momentum"
    assert result.optimizer == "momentum"
    assert len(result.laws) == 1
    assert all("exp(t)" in h for h in result.laws)
    assert all(math.isfinite(result.final[f"{lr:g}"]) for lr in (0.01, 0.005))


def test_momentum_fixed_time_counts_steps_in_sqrt_lr() -> None:
    # the heavy ball discretizes θ'' + Tθ' = -∇L with time step √lr
    result = simulate("linear", widths=(2, 2, 2), optimizer="momentum", fixed_time=0.5,
                      lrs=(0.01, 0.0025), seed=0)
    assert result.steps == {"0.01": 5, "0.0025": 10}


# --------------------------------------------------------------------------- JSON

KEYS = ("model", "optimizer", "laws", "lrs", "steps", "law_drift", "control_drift",
        "final_drift", "slope")


def test_json_round_trip() -> None:
    result = simulate("linear", widths=(2, 2, 1), steps=5, lrs=(0.01, 0.005), seed=0)
    document = result.to_dict()
    for key in KEYS:
        assert key in document
    loaded = json.loads(result.to_json())
    assert loaded == json.loads(json.dumps(document))
    assert json.loads(result.to_json(indent=None)) == loaded
    assert "\n" not in result.to_json(indent=None)
    assert loaded["optimizer"] == "gd"
    assert loaded["lrs"] == [0.01, 0.005]
    assert loaded["laws"] == result.laws and len(loaded["laws"]) == 3
    assert loaded["steps"] == {"0.01": 5, "0.005": 5}
    assert loaded["law_drift"] == result.drift
    assert loaded["control_drift"] == result.control
    assert loaded["final_drift"] == result.final
    assert loaded["slope"] == result.slope
    assert isinstance(loaded["model"], str) and "linear" in loaded["model"]


def _strict_loads(text: str) -> Any:
    def reject(constant: str) -> Any:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=reject)


def test_json_is_strict_json() -> None:
    result = simulate("linear", widths=(2, 2, 1), steps=5, lrs=(0.01, 0.005), seed=0)
    _strict_loads(result.to_json())


def test_json_without_slope_is_strict_json() -> None:
    result = simulate("linear", widths=(2, 2, 1), steps=5, lrs=(0.01,), seed=0)
    assert math.isnan(result.slope)
    _strict_loads(result.to_json())


def test_str_report() -> None:
    result = simulate("linear", widths=(2, 2, 1), steps=5, lrs=(0.01, 0.005), seed=0)
    text = str(result)
    assert "gd" in text and "slope" in text
    assert isinstance(result, Simulation)


# --------------------------------------------------------------------------- plot


def test_plot_writes_a_png(tmp_path: Any) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "d.png"
    simulate("linear", widths=(2, 2, 1), steps=5, lrs=(0.01, 0.005), seed=0, plot=str(target))
    assert target.read_bytes().startswith(b"\x89PNG")


def test_plot_without_matplotlib(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    target = tmp_path / "d.png"
    with pytest.raises(ConslawsError, match=r"conslaws\[plot\]"):
        simulate("linear", widths=(2, 2, 1), steps=3, lrs=(0.01, 0.005), seed=0,
                 plot=str(target))
    assert not target.exists()


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("options", [
    {"optimizer": "adam"},
    {"steps": 0},
    {"steps": -3},
    {"lrs": (0.0,)},
    {"lrs": (0.01, 1.5)},
    {"lrs": (-0.01,)},
    {"lrs": ()},
    {"fixed_time": -1.0},
    {"fixed_time": 0.0},
    {"samples": 0},
    {"batch": 0},
], ids=str)
def test_bad_training_options(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidOptionError):
        simulate("linear", widths=(2, 2, 1), **{"steps": 2, **options})


@pytest.mark.parametrize(("architecture", "options"), [
    ("custom", {"phi": "u*v"}),
    ("attention", {"dim": 2, "head_dim": 1}),
])
def test_architecture_without_graph(architecture: str, options: dict[str, Any]) -> None:
    with pytest.raises(InvalidOptionError, match="graph"):
        simulate(architecture, steps=2, lrs=(0.01,), **options)


# --------------------------------------------------------------------------- CLI




def test_cli_json_matches_the_api(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(["simulate", "linear", "--widths", "2,2,1", "--optimizer", "gd",
                                "--steps", "10", "--lr", "0.01,0.005", "--seed", "0",
                                "--json"], capsys)
    assert status == 0, err
    document = json.loads(out)
    for key in KEYS:
        assert key in document
    api = simulate("linear", widths=(2, 2, 1), steps=10, lrs=(0.01, 0.005), seed=0)
    assert document["lrs"] == [0.01, 0.005]
    assert document["steps"] == {"0.01": 10, "0.005": 10}
    assert document["final_drift"] == pytest.approx(api.final, rel=1e-12)
    assert document["slope"] == pytest.approx(api.slope, rel=1e-12)
    assert len(document["laws"]) == 3


def test_cli_text_report(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(["simulate", "relu", "--widths", "2,3,1", "--optimizer", "sgd",
                                "--steps", "5", "--lr", "0.01,0.005", "--seed", "1",
                                "--no-progress"], capsys)
    assert status == 0, err
    assert "sgd" in out and "slope" in out


def test_cli_plot(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "d.png"
    status, _, err = run_cli(["simulate", "linear", "--widths", "2,2,1", "--steps", "5",
                              "--lr", "0.01,0.005", "--seed", "0", "--plot", str(target)],
                             capsys)
    assert status == 0, err
    assert target.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("argv", [
    ["linear", "--widths", "2,2,1", "--optimizer", "adam"],
    ["linear", "--widths", "2,2,1", "--steps", "0"],
    ["linear", "--widths", "2,2,1", "--lr", "0,0.01"],
    ["linear", "--widths", "2,2,1", "--lr", "0.01,1.5"],
    ["linear", "--widths", "2,2,1", "--fixed-time", "-1"],
    ["custom", "--phi", "u*v"],
    ["attention", "--dim", "2", "--head-dim", "1"],
], ids=" ".join)
def test_cli_bad_input_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(["simulate", *argv, "--steps", "2"] if "--steps" not in argv
                               else ["simulate", *argv], capsys)
    assert status == 2
    assert out == ""
    assert "error" in err


# --------------------------------------------------------------------------- predicted drift
# The prediction (conslaws.core.frontends.drift) is the exact one-step change η² gᵀAg of each
# quadratic law; the measured change is the lambdified law's h(θ_k) - h(θ_0).  Rounding:
# |h| ~ 1 gives about 1e-16 absolute error per value against per-step changes of 1e-7 or
# more, hence the tolerances (relative 1e-9 on the sums, 1e-7 on one-step differences of two sums).


@pytest.mark.parametrize(("architecture", "optimizer"), [("relu", "gd"), ("linear", "gd"),
                                                        ("relu", "sgd")])
def test_measured_drift_per_law_is_the_prediction(architecture: str, optimizer: str) -> None:
    result = simulate(architecture, widths=(2, 3, 2), optimizer=optimizer, steps=15,
                      lrs=(0.05, 0.01), seed=0)
    assert result.laws and "lr^2 g^T A g" in result.prediction
    for lr in (0.05, 0.01):
        key = f"{lr:g}"
        measured = np.array(result.law_change[key])
        predicted = np.array(result.predicted_change[key])
        assert measured.shape == predicted.shape == (len(result.recorded[key]), len(result.laws))
        assert np.abs(measured[-1]).max() > 1e-6
        np.testing.assert_allclose(predicted, measured, rtol=1e-9, atol=1e-14)
        np.testing.assert_allclose(np.diff(predicted, axis=0), np.diff(measured, axis=0),
                                   rtol=1e-7, atol=1e-14)
        # the largest law's |change| is the existing law_drift
        np.testing.assert_allclose(np.abs(measured).max(axis=1), result.drift[key], rtol=1e-15)
        np.testing.assert_allclose(result.predicted[key], np.abs(predicted).max(axis=1),
                                   rtol=1e-15)
        assert result.predicted_final[key] == result.predicted[key][-1]


def test_predicted_drift_in_json_and_text() -> None:
    result = simulate("linear", widths=(2, 2, 1), steps=5, lrs=(0.01, 0.005), seed=0)
    loaded = json.loads(result.to_json())
    for key in (*KEYS, "recorded_steps", "diverged", "tau", "seed"):
        assert key in loaded  # every earlier field is kept
    assert loaded["law_change"] == result.law_change
    assert loaded["predicted_change"] == result.predicted_change
    assert loaded["predicted_drift"] == result.predicted
    assert loaded["predicted_final_drift"] == result.predicted_final
    assert loaded["prediction"] == result.prediction
    text = str(result)
    assert "predicted" in text and f"{result.predicted_final['0.01']:.3e}" in text


@pytest.mark.parametrize("tau", [1.0, 0.5, 0.0])
def test_momentum_laws_drift_as_predicted(tau: float) -> None:
    # Laws e^{τt}(θᵀMθ'), M antisymmetric: the heavy ball multiplies θ_kᵀM v_k by β
    # exactly, so the measured change is e^{τ t_{k+1}} β B_k/√lr - e^{τ t_k} B_k/√lr.
    result = simulate("linear", widths=(2, 2, 2), optimizer="momentum", tau=tau, steps=20,
                      lrs=(0.04, 0.01), seed=0)
    assert len(result.laws) == 1 and "beta" in result.prediction
    for key in ("0.04", "0.01"):
        measured = np.array(result.law_change[key])
        predicted = np.array(result.predicted_change[key])
        scale = np.abs(np.array(result.law_change[key])).max()
        if tau:
            assert scale > 1e-3  # β e^{τ√lr} = 1 - τ² lr/2 + ...: the law does drift
        np.testing.assert_allclose(predicted, measured, rtol=1e-9, atol=1e-14)


def test_no_law_no_prediction() -> None:
    # theory.md section 5: momentum on a ReLU network has no law at all.
    result = simulate("relu", widths=(2, 3, 2), optimizer="momentum", steps=3,
                      lrs=(0.01,), seed=0)
    assert result.laws == [] and result.prediction.startswith("none:")
    loaded = _strict_loads(result.to_json())
    assert loaded["predicted_drift"]["0.01"] == [None] * 4
    assert loaded["predicted_change"]["0.01"] == [[]] * 4
