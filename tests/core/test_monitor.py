"""The law monitor (:mod:`conslaws.core.frontends.monitor`) on numpy and PyTorch training.

Expected values never come from the code under test: law values are
recomputed with sympy's lambdify, measured changes are differences of those,
the laws are checked to be laws exactly first, and the torch parameter names
are built here from ``named_parameters()`` by the documented convention.  The
tolerance argument is that of tests/core/test_drift.py (rounding of |h| ~ 1
against changes of 1e-6 or more).
"""

from __future__ import annotations

import builtins
import json
import math
from typing import Any

import numpy as np
import pytest
import sympy

from conslaws.core.algebra.polynomials import PolynomialRing
from conslaws.core.algebra.vector_fields import VectorField
from conslaws.core.engine.laws import is_conserved
from conslaws.core.errors import ConslawsError, InvalidOptionError, InvalidPointError
from conslaws.core.frontends.api import build_model, find_laws
from conslaws.core.frontends.monitor import LawMonitor, ParameterMappingError, TorchMissingError
from conslaws.core.models.model import Model
from conslaws.core.models.numeric import GraphNetwork

RTOL, ATOL = 1e-9, 1e-13


def trained(monitor: LawMonitor, net: GraphNetwork, steps: int, lr: float, *,
            decay: float = 0.0, momentum: float = 0.0, seed: int = 0) -> list[np.ndarray]:
    """GD (heavy ball, weight decay) on random data, recording every step; the θ_k."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(10, len(net.inputs)))
    y = rng.normal(size=(10, len(net.outputs)))
    theta = rng.normal(scale=0.7, size=net.size)
    previous, path = theta.copy(), [theta]
    for k in range(steps):
        _, grad = net.loss_and_gradient(theta, x, y)
        # From rest: θ_{-1} = θ_0 is given once; later steps use the last record.
        monitor.record(theta, gradient=grad, lr=lr, decay=decay, momentum=momentum,
                       previous=theta if k == 0 else None)
        after = theta - lr * (grad + decay * theta) + momentum * (theta - previous)
        previous, theta = theta, after
        path.append(theta)
    monitor.record(theta)
    return path


def relu_setting() -> tuple[Any, Any, GraphNetwork, Any]:
    model = build_model("relu", widths=(2, 3, 2))
    found = find_laws(model, 2, seed=0)
    assert all(is_conserved(model, h) for h in found.laws)
    evaluate = sympy.lambdify(list(found.symbols), list(found.laws), "numpy")
    return model, found, GraphNetwork(model.expansion.graph), evaluate


@pytest.mark.parametrize(("decay", "momentum"), [(0.0, 0.0), (0.2, 0.0), (0.0, 0.8),
                                                 (0.1, 0.7)])
def test_recorded_drift_is_the_prediction(decay: float, momentum: float) -> None:
    model, found, net, evaluate = relu_setting()
    monitor = LawMonitor(model, found)
    path = trained(monitor, net, 12, 0.04, decay=decay, momentum=momentum)
    log = monitor.log
    assert log["steps"] == list(range(13))
    assert log["laws"] == [str(h) for h in found.laws]
    expected = np.array([evaluate(*theta) for theta in path])
    np.testing.assert_allclose(np.array(log["values"]), expected, rtol=1e-12, atol=1e-14)
    measured = np.diff(expected, axis=0)
    predicted = np.array(log["predicted_drift"][:-1])
    np.testing.assert_allclose(predicted, measured, rtol=RTOL, atol=ATOL)
    assert np.abs(measured).max() > 1e-6
    assert log["predicted_drift"][-1] is None and not any(log["notes"])


def test_laws_as_polynomials() -> None:
    model, found, net, _ = relu_setting()
    strings = LawMonitor(model, [str(h) for h in found.laws])
    flint = LawMonitor(model, [model.ring.from_sympy(h) for h in found.laws])
    trained(strings, net, 3, 0.05)
    trained(flint, net, 3, 0.05)
    assert strings.log["values"] == flint.log["values"]
    assert strings.log["predicted_drift"] == flint.log["predicted_drift"]


def test_cubic_law_recorded_without_prediction() -> None:
    model = Model.from_phi(("u", "v", "w"), ["u*v*w"])
    monitor = LawMonitor(model, ["u**2 - v**2", "u**2*w - v**2*w"])  # the second: degree 3
    monitor.record([1.0, 2.0, 3.0], gradient=[6.0, 3.0, 2.0], lr=0.1)
    (row,) = monitor.log["predicted_drift"]
    assert row[0] == pytest.approx(0.01 * (36 - 9)) and row[1] is None
    assert monitor.log["values"] == [[-3.0, -9.0]]


def test_momentum_needs_the_previous_step() -> None:
    model = Model.from_phi(("u", "v"), ["u*v"])
    monitor = LawMonitor(model, ["u**2 - v**2"])
    monitor.record([1.0, 2.0], step=5, gradient=[2.0, 1.0], lr=0.1, momentum=0.9)
    assert monitor.log["predicted_drift"] == [[None]]
    assert "previous" in monitor.notes[0]
    # θ_4 given: v = (0.5, 0.5), d = 0.9 v - 0.1 g = (0.25, 0.35); Δh by hand
    monitor.record([1.0, 2.0], step=5, gradient=[2.0, 1.0], lr=0.1, momentum=0.9,
                   previous=[0.5, 1.5])
    after = np.array([1.25, 2.35])
    assert monitor.predicted[-1] == pytest.approx([(after[0]**2 - after[1]**2) - (1 - 4)])


def test_adam_is_recorded_with_the_reason() -> None:
    model = Model.from_phi(("u", "v"), ["u*v"])
    monitor = LawMonitor(model, ["u**2 - v**2"])
    monitor.record([1.0, 2.0], gradient=[2.0, 1.0], lr=0.1, optimizer="adam")
    assert monitor.log["predicted_drift"] == [[None]]
    assert "no closed form" in monitor.log["notes"][0]


# --------------------------------------------------------------------------- names


def torch_style_model() -> tuple[Model, list[sympy.Expr]]:
    """fc1 (3 -> 2, bias) then fc2 (2 -> 1), linear, named as the importer names them."""
    names = ([f"fc1.weight[{i},{j}]" for i in range(2) for j in range(3)]
             + [f"fc1.bias[{i}]" for i in range(2)] + ["fc2.weight[0,0]", "fc2.weight[0,1]"])
    ring = PolynomialRing(names)
    s = ring.symbols
    w1, b1, w2 = sympy.Matrix(2, 3, s[:6]), sympy.Matrix(s[6:8]), sympy.Matrix(1, 2, s[8:])
    x = sympy.symbols("x0:3")
    out = sympy.expand((w2 * (w1 * sympy.Matrix(x) + b1))[0])
    phi = [ring.from_sympy(c) for c in sympy.Poly(out, *x).coeffs()]  # coefficients in x
    fields = tuple(VectorField.gradient(ring, p) for p in phi)
    model = Model("torch-style", ring, fields, tuple(phi))
    # hidden unit i: |W1 row i|² + b1_i² - W2_{0,i}²
    laws = [sum(s[3 * i + j] ** 2 for j in range(3)) + s[6 + i] ** 2 - s[8 + i] ** 2
            for i in range(2)]
    assert all(is_conserved(model, h) for h in laws)
    return model, laws


def test_named_arrays_match_flat_vectors() -> None:
    model, laws = torch_style_model()
    monitor = LawMonitor(model, laws)
    rng = np.random.default_rng(0)
    arrays = {"fc1.weight": rng.normal(size=(2, 3)), "fc1.bias": rng.normal(size=2),
              "fc2.weight": rng.normal(size=(1, 2)), "unused": np.zeros(4)}
    flat = np.concatenate([arrays["fc1.weight"].ravel(), arrays["fc1.bias"],
                           arrays["fc2.weight"].ravel()])
    np.testing.assert_array_equal(monitor.vector(arrays), flat)
    monitor.record(arrays)
    monitor.record(flat)
    assert monitor.values[0] == monitor.values[1]
    row = arrays["fc1.weight"][1]
    assert monitor.values[0][1] == pytest.approx(
        row @ row + arrays["fc1.bias"][1] ** 2 - arrays["fc2.weight"][0, 1] ** 2, rel=1e-14)


@pytest.mark.parametrize(("arrays", "message"), [
    ({"fc1.bias": np.zeros(2), "fc2.weight": np.zeros((1, 2))}, "no array 'fc1.weight'"),
    ({"fc1.weight": np.zeros((2, 2)), "fc1.bias": np.zeros(2), "fc2.weight": np.zeros((1, 2))},
     r"not an entry of 'fc1.weight', of shape \(2, 2\)"),
    ({"fc1.weight": np.zeros(6), "fc1.bias": np.zeros(2), "fc2.weight": np.zeros((1, 2))},
     "not an entry"),
])
def test_name_mapping_errors(arrays: dict[str, np.ndarray], message: str) -> None:
    model, laws = torch_style_model()
    monitor = LawMonitor(model, laws)
    with pytest.raises(ParameterMappingError, match=message) as caught:
        monitor.record(arrays)
    assert isinstance(caught.value, ConslawsError) and "\n" not in str(caught.value)
    assert caught.value.argument == "parameters"
    good = {"fc1.weight": np.zeros((2, 3)), "fc1.bias": np.zeros(2),
            "fc2.weight": np.zeros((1, 2))}
    with pytest.raises(ParameterMappingError, match="gradient"):
        monitor.record(good, gradient=arrays, lr=0.1)


def test_plain_names_and_bad_vectors() -> None:
    model = Model.from_phi(("u", "v"), ["u*v"])
    monitor = LawMonitor(model, ["u**2 - v**2"])
    monitor.record({"u": 3.0, "v": np.array([2.0])})
    assert monitor.values == [[5.0]]
    with pytest.raises(ParameterMappingError, match="'u' must be a single number"):
        monitor.record({"u": np.zeros(2), "v": 1.0})
    with pytest.raises(InvalidPointError, match="2 entries"):
        monitor.record([1.0, 2.0, 3.0])
    with pytest.raises(InvalidOptionError, match="lr"):
        monitor.record([1.0, 2.0], gradient=[0.0, 0.0], lr=-1.0)
    with pytest.raises(InvalidOptionError, match="step"):
        monitor.record([1.0, 2.0], step=1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidOptionError, match="together"):
        monitor.record([1.0, 2.0], gradient=[0.0, 0.0])
    with pytest.raises(InvalidPointError, match="'u' is not an array of numbers"):
        monitor.record({"u": "three", "v": 1.0})


def test_bad_model_or_laws() -> None:
    with pytest.raises(InvalidOptionError, match="model"):
        LawMonitor("relu", [])
    model = build_model("linear", widths=(2, 2, 2))
    momentum = find_laws(model, 3, seed=0, flow="momentum")
    with pytest.raises(InvalidOptionError, match="momentum flow"):
        LawMonitor(model, momentum)
    with pytest.raises(InvalidOptionError, match="laws"):
        LawMonitor(model, "W1_1_1")
    with pytest.raises(ConslawsError, match="unknown parameter"):
        LawMonitor(model, ["W1_1_1 + q"])


# --------------------------------------------------------------------------- output


def test_json_round_trip(tmp_path: Any) -> None:
    model, found, net, _ = relu_setting()
    monitor = LawMonitor(model, found)
    trained(monitor, net, 4, 0.05)
    monitor.record(np.ones(net.size), gradient=np.ones(net.size), lr=0.1, optimizer="adam")
    target = tmp_path / "laws.json"
    text = monitor.to_json(target)

    def reject(constant: str) -> Any:
        raise ValueError(f"not JSON: {constant}")

    loaded = json.loads(target.read_text(), parse_constant=reject)  # strict JSON
    assert loaded == monitor.log == json.loads(text)
    assert loaded["predicted_drift"][-1] == [None] * len(found.laws)
    assert json.loads(monitor.to_json(indent=None)) == loaded
    with pytest.raises(ConslawsError, match="cannot write"):
        monitor.to_json(tmp_path / "missing" / "laws.json")


def test_plot(tmp_path: Any) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    model, found, net, _ = relu_setting()
    monitor = LawMonitor(model, found)
    trained(monitor, net, 5, 0.05)
    figure = monitor.plot()
    (ax,) = figure.axes
    assert ax.get_xlabel() and ax.get_ylabel()
    assert len(ax.lines) == 2 * len(found.laws)  # measured and predicted per law
    legend = ax.get_legend()
    figure.canvas.draw()
    box = legend.get_window_extent().transformed(ax.transAxes.inverted())
    assert box.x0 > 1.0  # outside the data
    figure.savefig(tmp_path / "m.png")
    import matplotlib.pyplot as plt

    plt.close(figure)


def test_plot_without_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monitor = LawMonitor(Model.from_phi(("u", "v"), ["u*v"]), ["u**2 - v**2"])
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ConslawsError, match=r"conslaws\[plot\]"):
        monitor.plot()


# --------------------------------------------------------------------------- torch


def test_attach_without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monitor = LawMonitor(Model.from_phi(("u", "v"), ["u*v"]), ["u**2 - v**2"])
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(TorchMissingError, match="pip install torch") as caught:
        monitor.attach(object(), object())
    assert isinstance(caught.value, ConslawsError)


def torch_run(options: dict[str, Any], optimizer_class: str = "SGD", steps: int = 6
              ) -> tuple[LawMonitor, list[np.ndarray], list[sympy.Expr]]:
    torch = pytest.importorskip("torch")
    model, laws = torch_style_model()
    torch.manual_seed(0)
    module = torch.nn.Sequential()
    module.add_module("fc1", torch.nn.Linear(3, 2))
    module.add_module("fc2", torch.nn.Linear(2, 1, bias=False))
    module = module.double()
    assert [n for n, _ in module.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight"]
    optimizer = getattr(torch.optim, optimizer_class)(module.parameters(), **options)
    monitor = LawMonitor(model, laws)
    handle = monitor.attach(optimizer, module)
    x = torch.randn(16, 3, dtype=torch.float64)
    y = torch.randn(16, 1, dtype=torch.float64)
    path = []
    for _ in range(steps):
        path.append(np.concatenate([p.detach().numpy().ravel() for p in module.parameters()]))
        optimizer.zero_grad()
        loss = ((module(x) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
    path.append(np.concatenate([p.detach().numpy().ravel() for p in module.parameters()]))
    handle.remove()
    optimizer.step()  # detached: not recorded
    return monitor, path, laws


@pytest.mark.parametrize("options", [
    {"lr": 0.05},
    {"lr": 0.05, "momentum": 0.9},
    {"lr": 0.05, "weight_decay": 0.1},
    {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.05, "nesterov": True},
    {"lr": 0.05, "momentum": 0.5, "dampening": 0.3},
    {"lr": 0.05, "maximize": True},
], ids=str)
def test_torch_sgd_drift_is_the_prediction(options: dict[str, Any]) -> None:
    monitor, path, laws = torch_run(options)
    names = monitor.names
    evaluate = sympy.lambdify([sympy.Symbol(n) for n in names], laws, "numpy")
    expected = np.array([evaluate(*theta) for theta in path])
    assert monitor.steps == list(range(len(path)))
    np.testing.assert_allclose(np.array(monitor.values), expected, rtol=1e-12, atol=1e-14)
    measured = np.diff(expected, axis=0)
    assert np.abs(measured).max() > 1e-6
    np.testing.assert_allclose(np.array(monitor.predicted[:-1]), measured, rtol=RTOL,
                               atol=ATOL)
    assert not any(monitor.notes)


def test_torch_adam_has_no_prediction() -> None:
    monitor, _, _ = torch_run({"lr": 0.01}, "Adam", steps=2)
    assert len(monitor.steps) == 3
    assert all(math.isnan(v) for v in monitor.predicted[0] or [])
    assert "no closed form" in (monitor.notes[0] or "")


def test_attach_checks_names() -> None:
    torch = pytest.importorskip("torch")
    model, laws = torch_style_model()
    module = torch.nn.Linear(3, 2)
    with pytest.raises(ParameterMappingError, match=r"no array 'fc1\.weight'"):
        LawMonitor(model, laws).attach(torch.optim.SGD(module.parameters(), lr=0.1), module)
    with pytest.raises(InvalidOptionError, match="optimizer"):
        LawMonitor(model, laws).attach(object(), module)


def test_attach_matches_an_imported_module_by_its_framework_names() -> None:
    """An imported module's laws use safe names; its tensors are found by their own."""
    torch = pytest.importorskip("torch")
    from conslaws.core.frontends.api import count

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(),
                              torch.nn.Linear(4, 2, bias=False)).double()
    model = build_model(net, input_shape=(3,))
    assert model.framework_names is not None and model.framework_names[0] == "0.weight[0,0]"
    monitor = LawMonitor(model, count(net, input_shape=(3,), seed=1).verified_laws)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    handle = monitor.attach(optimizer, net)
    x, y = torch.randn(8, 3, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    for _ in range(3):
        optimizer.zero_grad()
        ((net(x) - y) ** 2).mean().backward()
        optimizer.step()
    handle.remove()
    measured = np.diff(np.array(monitor.values), axis=0)
    predicted = np.array([p for p in monitor.predicted if p is not None])
    assert predicted.shape == measured.shape
    np.testing.assert_allclose(measured, predicted, rtol=1e-9, atol=1e-13)
