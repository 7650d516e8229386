"""Discrete training: how well do conservation laws survive finite steps?

A law h of the continuous flow is only approximately conserved by gradient
descent with step τ: |h(θ_k) - h(θ_0)| ≤ (C/2) Σ τ_i², so after a fixed number
of steps the drift scales like τ² (slope 2 on a log-log plot) as long as N·τ
stays small, and at a fixed training time N·τ like τ (slope 1) (docs/theory.md
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

Predicted drift
---------------
Beside the measured change h(θ_k) - h(θ_0) of each law (``law_change``),
every ``gd`` and ``sgd`` run sums the exact one-step change of each law of
degree at most 2, η² gᵀAg for h = θᵀAθ + cᵀθ (:mod:`conslaws.core.frontends.drift`),
over the steps (``predicted_change``): the two agree to rounding error, so
the measured drift is entirely this second-order term.  ``momentum`` runs
track laws of the momentum flow, h = e^{aTt} θᵀMθ' with M antisymmetric
(friction T), evaluated as e^{aT t_k} B_k / √τ with B_k = θ_kᵀM v_k: the
heavy-ball step multiplies B_k by β exactly
(:class:`~conslaws.core.frontends.drift.MomentumLaw`), so the predicted change is
e^{aT t_{k+1}} β B_k / √τ - e^{aT t_k} B_k / √τ; laws of
another form get none (``prediction`` says so).

A run whose parameters or laws stop being finite numbers (too large a step
size) stops there and is reported as diverged; its drifts are ``null`` in the
JSON document, which is always strict JSON.

Examples
--------
>>> result = simulate("linear", widths=(2, 2, 1), steps=50, lrs=(0.02, 0.01), seed=0)
>>> len(result.laws), round(result.slope)
(3, 2)
>>> simulate("linear", widths=(2, 2, 1), fixed_time=float("nan"))
Traceback (most recent call last):
    ...
conslaws.core.errors.InvalidOptionError: fixed_time must be a positive finite number, got nan
"""

from __future__ import annotations

import json
import math
import numbers
import os
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

from conslaws.core.errors import InvalidExpressionError, InvalidOptionError, PluginError
from conslaws.core.frontends.drift import (
    MomentumLaw,
    NotQuadraticError,
    QuadraticLaw,
    predicted_step_drift,
    quadratic_or_none,
)
from conslaws.core.frontends.progress import progress_bar
from conslaws.core.models.numeric import GraphNetwork
from conslaws.core.plugins.registry import architectures

__all__ = ["OPTIMIZERS", "Simulation", "simulatable_architectures", "simulate"]

OPTIMIZERS = ("gd", "sgd", "momentum")
#: Most steps of one run: beyond, a run would take hours (a step of a small
#: network costs tens of microseconds); it also refuses ``fixed_time=1e300``.
MAX_STEPS = 10_000_000
#: Most random data points (and mini-batch size): the data are held in memory.
MAX_SAMPLES = 1_000_000
#: The built-in architectures whose models carry a network graph.  A plugin
#: declares it with a class attribute ``graph_built = True`` (or False).
GRAPH_ARCHITECTURES = frozenset({"linear", "relu", "conv", "resnet", "maxpool"})


@dataclass
class Simulation:
    """Drift of the laws under discrete training, per step size.

    ``drift[lr]`` is max over laws of |h(θ_k) - h(θ_0)| at the recorded steps
    ``recorded[lr]``; ``control[lr]`` the same for ‖θ‖²; ``final[lr]`` the law
    drift at the end; ``slope`` the least-squares slope of log final drift
    against log step size.  ``diverged[lr]`` is the step at which a run's
    parameters or laws stopped being finite (the run stops there and its last
    values are NaN; ``to_dict`` gives ``None`` for them), ``divergence[lr]``
    which of the two: ``"parameters"`` (too large a step size) or ``"laws"``
    (the parameters are finite but a law's value is not, e.g. e^{τt} beyond
    τt = 709 in a long momentum run).

    ``law_change[lr][r][i]`` is h_i(θ_k) - h_i(θ_0) for law i at the r-th
    recorded step, ``predicted_change[lr][r][i]`` the sum of its exact
    one-step changes over the steps so far (module docstring; NaN for a law
    without a prediction), ``predicted[lr]``
    and ``predicted_final[lr]`` the largest of their absolute values (the
    counterparts of ``drift`` and ``final``); ``prediction`` says which
    formula was used, or why there is none.
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
    tau: float | None = None
    diverged: dict[str, int] = field(default_factory=dict)
    divergence: dict[str, str] = field(default_factory=dict)
    law_change: dict[str, list[list[float]]] = field(default_factory=dict)
    predicted_change: dict[str, list[list[float]]] = field(default_factory=dict)
    predicted: dict[str, list[float]] = field(default_factory=dict)
    predicted_final: dict[str, float] = field(default_factory=dict)
    prediction: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready numbers: every NaN or infinity becomes ``None``."""
        document = {
            "model": self.model, "optimizer": self.optimizer, "flow": self.flow,
            "laws": self.laws, "lrs": self.lrs, "steps": self.steps,
            "recorded_steps": self.recorded, "law_drift": self.drift,
            "control_drift": self.control, "final_drift": self.final,
            # With fewer than two usable step sizes there is no slope (NaN): null.
            "slope": self.slope,
            "fixed_time": self.fixed_time, "tau": self.tau, "seed": self.seed,
            "diverged": self.diverged,
            "law_change": self.law_change, "predicted_change": self.predicted_change,
            "predicted_drift": self.predicted, "predicted_final_drift": self.predicted_final,
            "prediction": self.prediction,
            "seconds": round(self.seconds, 6),
        }
        cleaned: dict[str, Any] = _json_numbers(document)
        return cleaned

    def to_json(self, indent: int | None = 2) -> str:
        """The document printed by ``conslaws simulate --json`` (strict JSON: no NaN)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def __str__(self) -> str:
        regime = (f"fixed training time {self.fixed_time}" if self.fixed_time is not None
                  else "fixed number of steps")
        expected = "theory: about 1" if self.fixed_time is not None else "theory: about 2"
        if self.optimizer == "momentum":
            expected = "heavy ball: its velocity estimate is first order in sqrt(lr)"
        lines = [f"conslaws simulate: {self.model}   [optimizer {self.optimizer}, "
                 f"laws of the {self.flow} flow]",
                 f"  {len(self.laws)} law(s) tracked; {regime}; seed {self.seed}", "",
                 f"  {'step size':>10} {'steps':>7} {'law drift':>12} {'predicted':>12} "
                 f"{'|theta|^2 drift':>16}"]
        for lr in self.lrs:
            key = _key(lr)
            if key in self.diverged:
                what = ("the laws' values overflow" if self.divergence.get(key) == "laws"
                        else "the parameters overflow")
                lines.append(f"  {key:>10} {self.steps[key]:>7d}   diverged at step "
                             f"{self.diverged[key]} ({what})")
                continue
            predicted = self.predicted_final.get(key, math.nan)
            shown = f"{predicted:>12.3e}" if math.isfinite(predicted) else f"{'-':>12}"
            lines.append(f"  {key:>10} {self.steps[key]:>7d} {self.final[key]:>12.3e} "
                         f"{shown} {self.control[key][-1]:>16.3e}")
        slope = (f"{self.slope:.2f}   ({expected})" if math.isfinite(self.slope)
                 else "none (fewer than two step sizes with a finite, nonzero drift)")
        lines += ["", f"  fitted slope of log(drift) against log(step size): {slope}",
                  f"  predicted drift: {self.prediction}"]
        if self.diverged:
            hint = "try smaller step sizes"
            if "laws" in self.divergence.values():
                hint += (" or a shorter run (a momentum law's factor e^(tau t) overflows "
                         "beyond tau t = 709)")
            lines.append(f"  {len(self.diverged)} run(s) diverged: {hint}")
        lines.append(f"  time {self.seconds:.2f} s")
        return "\n".join(lines)


def _json_numbers(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_numbers(v) for v in value]
    return value


def _key(lr: float) -> str:
    return f"{lr:g}"


def _lambdified(laws: Sequence[sympy.Expr], names: Sequence[str]) -> Any:
    symbols = [sympy.Symbol("t"), *(sympy.Symbol(n) for n in names)]
    return sympy.lambdify(symbols, list(laws), modules="numpy")


def _phase_space_law(law: sympy.Expr, names: Sequence[str], rate: Fraction) -> MomentumLaw | None:
    """A momentum-flow law as printed (e^{τt} or t for the clock s) read back on (s, θ, θ')."""
    t, s = sympy.Symbol("t"), sympy.Symbol("s")
    clock = sympy.exp(sympy.Rational(rate.numerator, rate.denominator) * t) if rate else t
    polynomial = law.subs(clock, s)
    # Only when the substitution is exactly undone by the flow's own (s -> clock).
    if t in polynomial.free_symbols or sympy.expand(polynomial.subs(s, clock) - law) != 0:
        return None
    try:
        return MomentumLaw.from_polynomial(polynomial, names)
    except (NotQuadraticError, InvalidExpressionError):
        return None


def _predictable(laws: Sequence[sympy.Expr], names: Sequence[str], momentum: bool,
                 rate: Fraction) -> list[QuadraticLaw | MomentumLaw | None]:
    """Each tracked law in the form its prediction needs, or None when it has none."""
    if momentum:
        return [_phase_space_law(h, names, rate) for h in laws]
    return [quadratic_or_none(h, names) for h in laws]


def _prediction_note(predictable: Sequence[QuadraticLaw | MomentumLaw | None],
                     momentum: bool) -> str:
    """What ``predicted_change`` holds, for the report and the JSON."""
    if not predictable:
        return "none: no law is tracked"
    if momentum:
        note = ("each step multiplies theta^T M v by beta, for every law "
                "e^(a tau t) theta^T M theta' with M antisymmetric (exact)")
        missing = sum(q is None for q in predictable)
        if missing == len(predictable):
            return "none: no tracked law has the form e^(a tau t) theta^T M theta'"
        if missing:
            note += f"; none for {missing} law(s) of another form"
        return note
    note = "lr^2 g^T A g per step, for every law theta^T A theta + c^T theta (exact)"
    missing = sum(q is None for q in predictable)
    if missing:
        note += f"; none for {missing} law(s) of degree above 2"
    return note


def _step_prediction(law: QuadraticLaw | MomentumLaw | None, k: int, theta: Any, velocity: Any,
                     grad: Any, lr: float, beta: float, tau: float) -> float:
    """The predicted change of ``law`` over step k -> k+1 (0 for a law without one)."""
    if law is None:
        return 0.0  # its running sum is NaN from the start
    if isinstance(law, QuadraticLaw):
        return predicted_step_drift(law, theta, grad, lr)
    # h_k = clock(t_k)^a B_k / √lr with t_k = k √lr; B_{k+1} = β B_k exactly.
    root = math.sqrt(lr)

    def clock(step: int) -> float:
        t = step * root
        return float(np.exp(tau * t)) if tau else t

    power = law.clock_power
    now = law.bilinear(theta, velocity) / root
    return clock(k + 1) ** power * beta * now - clock(k) ** power * now


def _largest(values: Sequence[float]) -> float:
    """max |v| over the laws with a prediction; NaN when none has one."""
    finite = [abs(v) for v in values if not math.isnan(v)]
    return max(finite) if finite else math.nan


def simulatable_architectures() -> list[str]:
    """The registered architectures :func:`simulate` can train (their models have a graph).

    Examples
    --------
    >>> "relu" in simulatable_architectures(), "custom" in simulatable_architectures()
    (True, False)
    """
    names = []
    for name in architectures.names():
        try:
            cls = architectures.load(name)
        except PluginError:
            continue
        declared = getattr(cls, "graph_built", None)
        if declared is True or (declared is None and name in GRAPH_ARCHITECTURES):
            names.append(name)
    return names


# -- arguments (all checked before anything is built or trained) ----------------------------


def _refuse(argument: str, message: str) -> InvalidOptionError:
    """The error for a bad ``argument``; ``message`` starts with its name."""
    return InvalidOptionError(message, argument=argument)


def _count_argument(value: Any, argument: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _refuse(argument, f"{argument} must be a positive integer, got {value!r}")
    if not 1 <= int(value) <= maximum:
        raise _refuse(argument, f"{argument} must be a positive integer at most {maximum:,}, "
                                f"got {value}")
    return int(value)


def _real(value: Any, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _refuse(argument, f"{argument} must be a number, got {value!r}")
    return float(value)


def _step_sizes(lrs: Any) -> list[float]:
    if isinstance(lrs, (str, bytes)) or not isinstance(lrs, Iterable):
        raise _refuse("lrs", f"lrs must be a sequence of step sizes, got {lrs!r}")
    values = [_real(lr, "lrs") for lr in lrs]
    if not values:
        raise _refuse("lrs", "lrs must give at least one step size")
    for lr in values:
        if not (math.isfinite(lr) and 0 < lr < 1):
            raise _refuse("lrs", f"lrs: step sizes must lie strictly between 0 and 1, "
                                 f"got {lr:g}")
    keys: dict[str, float] = {}
    for lr in values:
        if _key(lr) in keys:
            raise _refuse("lrs", f"lrs: step sizes {keys[_key(lr)]!r} and {lr!r} are not "
                                 f"distinct (both {_key(lr)})")
        keys[_key(lr)] = lr
    return values


def _seed_argument(seed: Any) -> int:
    """The seed to use: ``seed``, or a fresh one (reported) when None."""
    if seed is None:
        return secrets.randbelow(2**32)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise _refuse("seed", f"seed must be a non-negative integer, got {seed!r}")
    if seed < 0:  # numpy's generators take non-negative seeds only
        raise _refuse("seed", f"seed must be a non-negative integer, got {seed}")
    return int(seed)


def _step_counts(lrs: Sequence[float], steps: int, fixed_time: float | None,
                 momentum: bool) -> dict[float, int]:
    """Steps of each run; at a fixed time T, T / lr (T / sqrt(lr) for momentum)."""
    if fixed_time is None:
        return dict.fromkeys(lrs, steps)
    counts = {}
    for lr in lrs:
        clock = math.sqrt(lr) if momentum else lr
        exact = fixed_time / clock
        if exact > MAX_STEPS:
            raise _refuse("fixed_time", f"fixed_time {fixed_time:g} means {exact:,.0f} steps "
                                        f"at step size {lr:g} (at most {MAX_STEPS:,})")
        counts[lr] = max(1, round(exact))
    return counts


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
    plot: str | os.PathLike[str] | None = None,
    progress: bool = False,
    **options: Any,
) -> Simulation:
    """Train on random data with several step sizes and record the laws' drift.

    Parameters
    ----------
    architecture : str, Architecture or Model
        A graph-built architecture (:func:`simulatable_architectures`: linear,
        relu, conv, resnet, maxpool).
    optimizer : {"gd", "sgd", "momentum"}
    steps : int
        Steps per run (ignored when ``fixed_time`` is given).  The τ² law holds
        while N·τ is small (the trajectory moves little); over long runs every
        step size dissipates the same loss and the drift goes like τ instead.
    lrs : sequence of float
        Step sizes, strictly between 0 and 1 and distinct.
    tau : float
        Friction of the momentum flow (``momentum`` only): β = 1 - tau·√lr;
        0 or a positive finite number.
    samples, batch : int
        Random data points, and the SGD mini-batch size.
    fixed_time : float, optional
        Run each step size for round(fixed_time / lr) steps (√lr for momentum)
        instead of a fixed number of steps; a positive finite number.
    seed : int, optional
        Seed (non-negative) of the data, the initial point, the mini-batches
        and the law search; drawn and recorded in the result when not given.
    plot : str or path, optional
        Write the plots to exactly this file, in the format of its extension
        (PNG without one; needs matplotlib: ``pip install 'conslaws[plot]'``).

    Raises
    ------
    InvalidOptionError
        A bad argument, named in the message and in the error's ``argument``;
        every argument is checked before anything is built or trained.

    Examples
    --------
    >>> result = simulate("relu", widths=(2, 2, 1), steps=5, lrs=(0.01,), seed=3)
    >>> result.seed, result.steps, len(result.laws)
    (3, {'0.01': 5}, 2)
    """
    from conslaws.core.frontends.api import build_model, find_laws

    start = time.perf_counter()
    if optimizer not in OPTIMIZERS:
        raise _refuse("optimizer", f"optimizer must be one of {', '.join(OPTIMIZERS)}, "
                                   f"got {optimizer!r}")
    momentum = optimizer == "momentum"
    steps = _count_argument(steps, "steps", MAX_STEPS)
    samples = _count_argument(samples, "samples", MAX_SAMPLES)
    batch = _count_argument(batch, "batch", MAX_SAMPLES)
    step_sizes = _step_sizes(lrs)
    tau = _real(tau, "tau")
    if not (math.isfinite(tau) and tau >= 0):
        raise _refuse("tau", f"tau must be 0 or a positive finite number, got {tau:g}")
    if fixed_time is not None:
        fixed_time = _real(fixed_time, "fixed_time")
        if not (math.isfinite(fixed_time) and fixed_time > 0):
            raise _refuse("fixed_time", f"fixed_time must be a positive finite number, "
                                        f"got {fixed_time:g}")
    counts = _step_counts(step_sizes, steps, fixed_time, momentum)
    seed = _seed_argument(seed)
    target: tuple[str, str] | None = None
    if plot is not None:
        from conslaws.core.frontends.plotting import plot_target

        target = plot_target(plot)
    model = build_model(architecture, **options)
    if model.expansion is None:
        raise InvalidOptionError(
            f"simulate needs a network graph; {model.architecture!r} gives only phi "
            f"(simulate runs: {', '.join(simulatable_architectures())})",
            argument="architecture")
    flow_options = {"tau": str(Fraction(tau).limit_denominator(1000))} if momentum else None
    found = find_laws(model, 3 if momentum else 2, seed=seed,
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
                        laws=[str(h) for h in found.laws], lrs=step_sizes,
                        steps={}, fixed_time=fixed_time, seed=seed,
                        tau=tau if momentum else None)
    clock_step = {lr: math.sqrt(lr) if momentum else lr for lr in step_sizes}
    rate = Fraction(tau).limit_denominator(1000)
    quadratic = _predictable(found.laws, names, momentum, rate)
    result.prediction = _prediction_note(quadratic, momentum)
    for lr in progress_bar(step_sizes, "step sizes", progress, minimum=2):
        count = counts[lr]
        key = _key(lr)
        result.steps[key] = count
        every = max(1, count // 200)
        theta = theta0.copy()
        velocity = speed0 * math.sqrt(lr) if momentum else np.zeros_like(theta0)
        beta = 1 - tau * math.sqrt(lr)
        # Every step size sees the same sequence of mini-batches.
        minibatches = np.random.default_rng(seed + 1)

        def laws_now(k: int, theta: Any, velocity: Any, lr: float = lr) -> Any:
            t = k * clock_step[lr]
            if momentum:  # phase space (s, θ, θ'): s = e^{τt} (t when τ = 0), θ' ≈ v/√τ
                # np.exp: an overflow gives inf (reported as divergence), not an error.
                clock = np.exp(tau * t) if tau else t
                args = [t, clock, *theta, *(velocity / math.sqrt(lr))]
            else:
                args = [t, *theta]
            return np.array(evaluate(*args), dtype=float)

        # Large step sizes overflow: the run is then stopped and reported, without warnings.
        with np.errstate(all="ignore"):
            initial, norm0 = laws_now(0, theta, velocity), float(theta @ theta)
            recorded, drift, control = [0], [0.0], [0.0]
            nothing = [math.nan if q is None else 0.0 for q in quadratic]
            changes, summed = [[0.0] * len(quadratic)], nothing
            predicted_rows, predicted = [list(nothing)], [_largest(nothing)]
            for k in range(1, count + 1):
                if optimizer == "sgd":
                    rows = minibatches.integers(0, samples, size=batch)
                    _, grad = net.loss_and_gradient(theta, x[rows], y[rows])
                else:
                    _, grad = net.loss_and_gradient(theta, x, y)
                # The exact change of each law over this step, from the state and g_k.
                summed = [total + _step_prediction(q, k - 1, theta, velocity, grad, lr, beta, tau)
                          for q, total in zip(quadratic, summed, strict=True)]
                if momentum:
                    velocity = beta * velocity - lr * grad
                    theta = theta + velocity
                else:
                    theta = theta - lr * grad
                finite = bool(np.isfinite(theta).all())
                if k % every == 0 or k == count or not finite:
                    recorded.append(k)
                    values = laws_now(k, theta, velocity)
                    drift.append(float(np.max(np.abs(values - initial))) if values.size
                                 else 0.0)
                    control.append(abs(float(theta @ theta) - norm0))
                    changes.append([float(v) for v in values - initial])
                    predicted_rows.append(list(summed))
                    predicted.append(_largest(summed))
                    if not (finite and math.isfinite(drift[-1]) and math.isfinite(control[-1])):
                        drift[-1], control[-1], predicted[-1] = math.nan, math.nan, math.nan
                        changes[-1] = predicted_rows[-1] = [math.nan] * len(quadratic)
                        result.diverged[key] = k
                        result.divergence[key] = "laws" if finite else "parameters"
                        break
        result.recorded[key], result.drift[key], result.control[key] = recorded, drift, control
        result.final[key] = drift[-1]
        result.law_change[key], result.predicted[key] = changes, predicted
        result.predicted_change[key] = predicted_rows
        result.predicted_final[key] = predicted[-1]
    positive = [(math.log(lr), math.log(result.final[_key(lr)])) for lr in step_sizes
                if math.isfinite(result.final[_key(lr)]) and result.final[_key(lr)] > 0]
    if len(positive) >= 2:
        result.slope = float(np.polyfit([a for a, _ in positive], [b for _, b in positive], 1)[0])
    result.seconds = time.perf_counter() - start
    if target is not None:
        from conslaws.core.frontends.plotting import plot_simulation

        plot_simulation(result, *target)
    return result
