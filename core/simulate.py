"""Discrete training: how well do conservation laws survive finite steps?

A law h of the continuous flow is only approximately conserved by gradient
descent with step τ: |h(θ_k) - h(θ_0)| ≤ (C/2) Σ τ_i², so after a fixed number
of steps the drift scales like τ² (slope 2 on a log-log plot) as long as N·τ
stays small, and at a fixed training time N·τ like τ (slope 1) (theory.md
section 4).  :func:`simulate`
trains a network on random data with the squared loss, in floating point, for
several step sizes, and records the drift of every law found exactly for the
matching flow, beside the drift of ‖θ‖² (not a law) for contrast.

Optimizers
----------
* ``gd``: θ ← θ - τ ∇L (full batch); laws of the gradient flow.
* ``sgd``: the same on a random mini-batch each step; the laws hold for every
  data set, so they survive SGD up to the same τ² drift.
* ``momentum``: heavy ball v ← β v - τ ∇L, θ ← θ + v with β = 1 - T√τ, the
  discretization of θ'' + T θ' = -∇L with time step √τ; laws of the momentum
  flow, evaluated with t = k√τ and θ' ≈ v/√τ.

Examples
--------
>>> result = simulate("linear", widths=(2, 2, 1), steps=50, lrs=(0.02, 0.01), seed=0)
>>> len(result.laws), round(result.slope)
(3, 2)
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

from conslaws.core.errors import InvalidOptionError
from conslaws.core.numeric import GraphNetwork
from conslaws.core.progress import progress_bar

__all__ = ["OPTIMIZERS", "Simulation", "simulate"]

OPTIMIZERS = ("gd", "sgd", "momentum")


@dataclass
class Simulation:
    """Drift of the laws under discrete training, per step size.

    ``drift[lr]`` is max over laws of |h(θ_k) - h(θ_0)| at the recorded steps
    ``recorded[lr]``; ``control[lr]`` the same for ‖θ‖²; ``final[lr]`` the law
    drift at the end; ``slope`` the least-squares slope of log final drift
    against log step size.
    """

    model: str
    optimizer: str
    flow: str
    laws: list[str]
    lrs: list[float]
    steps: dict[str, int]
    recorded: dict[str, list[int]] = field(default_factory=dict)
    drift: dict[str, list[float]] = field(default_factory=dict)
    control: dict[str, list[float]] = field(default_factory=dict)
    final: dict[str, float] = field(default_factory=dict)
    slope: float = float("nan")
    fixed_time: float | None = None
    seed: int | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready numbers."""
        return {
            "model": self.model, "optimizer": self.optimizer, "flow": self.flow,
            "laws": self.laws, "lrs": self.lrs, "steps": self.steps,
            "recorded_steps": self.recorded, "law_drift": self.drift,
            "control_drift": self.control, "final_drift": self.final,
            # JSON has no NaN: with fewer than two usable step sizes there is no slope.
            "slope": None if math.isnan(self.slope) else self.slope,
            "fixed_time": self.fixed_time, "seed": self.seed,
            "seconds": round(self.seconds, 6),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The document printed by ``conslaws simulate --json``."""
        return json.dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        regime = (f"fixed training time {self.fixed_time}" if self.fixed_time is not None
                  else "fixed number of steps")
        expected = "theory: about 1" if self.fixed_time is not None else "theory: about 2"
        if self.optimizer == "momentum":
            expected = "heavy ball: its velocity estimate is first order in sqrt(lr)"
        lines = [f"conslaws simulate: {self.model}   [optimizer {self.optimizer}, "
                 f"laws of the {self.flow} flow]",
                 f"  {len(self.laws)} law(s) tracked; {regime}", "",
                 f"  {'step size':>10} {'steps':>7} {'law drift':>12} {'|theta|^2 drift':>16}"]
        for lr in self.lrs:
            key = _key(lr)
            lines.append(f"  {lr:>10.3g} {self.steps[key]:>7d} {self.final[key]:>12.3e} "
                         f"{self.control[key][-1]:>16.3e}")
        lines += ["", f"  fitted slope of log(drift) against log(step size): {self.slope:.2f}"
                      f"   ({expected})",
                  f"  time {self.seconds:.2f} s"]
        return "\n".join(lines)


def _key(lr: float) -> str:
    return f"{lr:g}"


def _lambdified(laws: Sequence[sympy.Expr], names: Sequence[str]) -> Any:
    symbols = [sympy.Symbol("t"), *(sympy.Symbol(n) for n in names)]
    return sympy.lambdify(symbols, list(laws), modules="numpy")


def simulate(
    architecture: Any,
    *,
    optimizer: str = "gd",
    steps: int = 20,
    lrs: Sequence[float] = (0.02, 0.01, 0.005, 0.0025),
    tau: float = 1.0,
    samples: int = 16,
    batch: int = 4,
    fixed_time: float | None = None,
    seed: int | None = None,
    plot: str | None = None,
    progress: bool = False,
    **options: Any,
) -> Simulation:
    """Train on random data with several step sizes and record the laws' drift.

    Parameters
    ----------
    architecture : str, Architecture or Model
        A graph-built architecture (linear, relu, conv, resnet, maxpool).
    optimizer : {"gd", "sgd", "momentum"}
    steps : int
        Steps per run (ignored when ``fixed_time`` is given).  The τ² law holds
        while N·τ is small (the trajectory moves little); over long runs every
        step size dissipates the same loss and the drift goes like τ instead.
    lrs : sequence of float
        Step sizes.
    tau : float
        Friction of the momentum flow (``momentum`` only): β = 1 - tau·√lr.
    samples, batch : int
        Random data points, and the SGD mini-batch size.
    fixed_time : float, optional
        Run each step size for round(fixed_time / lr) steps (√lr for momentum)
        instead of a fixed number of steps.
    seed : int, optional
        Seed of the data, the initial point and the mini-batches.
    plot : str, optional
        Write a PNG (needs matplotlib: ``pip install 'conslaws[plot]'``).
    """
    from conslaws.core.api import build_model, find_laws

    start = time.perf_counter()
    if optimizer not in OPTIMIZERS:
        raise InvalidOptionError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, "
                                 f"got {optimizer!r}")
    if steps < 1 or samples < 1 or batch < 1:
        raise InvalidOptionError("--steps, --samples and --batch must be positive")
    if not lrs or any(not (0 < lr < 1) for lr in lrs):
        raise InvalidOptionError("--lr: step sizes must lie strictly between 0 and 1")
    if fixed_time is not None and fixed_time <= 0:
        raise InvalidOptionError("--fixed-time must be positive")
    model = build_model(architecture, **options)
    if model.expansion is None:
        raise InvalidOptionError(f"simulate needs a network graph; {model.architecture!r} "
                                 f"gives only phi")
    momentum = optimizer == "momentum"
    flow_options = {"tau": str(Fraction(tau).limit_denominator(1000))} if momentum else None
    found = find_laws(model, 3 if momentum else 2, seed=seed if seed is not None else 0,
                      flow="momentum" if momentum else "gradient", flow_options=flow_options)
    names = list(found.parameter_names)
    evaluate = _lambdified(found.laws, names)
    net = GraphNetwork(model.expansion.graph)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(samples, len(model.expansion.graph.graph["inputs"])))
    y = rng.normal(size=(samples, len(model.expansion.graph.graph["outputs"])))
    theta0 = rng.normal(scale=0.5, size=net.size)
    # A random initial velocity θ'(0): from rest, symmetry keeps momentum laws at 0
    # exactly (the discrete angular momentum obeys L_{k+1} = β L_k), which shows nothing.
    speed0 = rng.normal(scale=0.5, size=net.size)
    result = Simulation(model=model.name, optimizer=optimizer, flow=found.flow,
                        laws=[str(h) for h in found.laws], lrs=[float(lr) for lr in lrs],
                        steps={}, fixed_time=fixed_time, seed=seed)
    clock_step = {lr: math.sqrt(lr) if momentum else lr for lr in lrs}
    for lr in progress_bar(list(lrs), "step sizes", progress, minimum=2):
        count = steps if fixed_time is None else max(1, round(fixed_time / clock_step[lr]))
        key = _key(lr)
        result.steps[key] = count
        every = max(1, count // 200)
        theta = theta0.copy()
        velocity = speed0 * math.sqrt(lr) if momentum else np.zeros_like(theta0)
        beta = 1 - tau * math.sqrt(lr)
        # Every step size sees the same sequence of mini-batches.
        minibatches = np.random.default_rng(None if seed is None else seed + 1)

        def laws_now(k: int, theta: Any, velocity: Any, lr: float = lr) -> Any:
            t = k * clock_step[lr]
            if momentum:  # phase space (s, θ, θ'): s = e^{τt} (t when τ = 0), θ' ≈ v/√τ
                clock = math.exp(tau * t) if tau else t
                args = [t, clock, *theta, *(velocity / math.sqrt(lr))]
            else:
                args = [t, *theta]
            return np.array(evaluate(*args), dtype=float)

        initial, norm0 = laws_now(0, theta, velocity), float(theta @ theta)
        recorded, drift, control = [0], [0.0], [0.0]
        for k in range(1, count + 1):
            if optimizer == "sgd":
                rows = minibatches.integers(0, samples, size=batch)
                _, grad = net.loss_and_gradient(theta, x[rows], y[rows])
            else:
                _, grad = net.loss_and_gradient(theta, x, y)
            if momentum:
                velocity = beta * velocity - lr * grad
                theta = theta + velocity
            else:
                theta = theta - lr * grad
            if k % every == 0 or k == count:
                recorded.append(k)
                values = laws_now(k, theta, velocity)
                drift.append(float(np.max(np.abs(values - initial))) if values.size else 0.0)
                control.append(abs(float(theta @ theta) - norm0))
        result.recorded[key], result.drift[key], result.control[key] = recorded, drift, control
        result.final[key] = drift[-1]
    positive = [(math.log(lr), math.log(result.final[_key(lr)])) for lr in lrs
                if result.final[_key(lr)] > 0]
    if len(positive) >= 2:
        result.slope = float(np.polyfit([a for a, _ in positive], [b for _, b in positive], 1)[0])
    result.seconds = time.perf_counter() - start
    if plot:
        from conslaws.core.plotting import plot_simulation

        plot_simulation(result, plot)
    return result
