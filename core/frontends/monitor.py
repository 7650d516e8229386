"""Record the conservation laws along real training, with their predicted drift.

:class:`LawMonitor` evaluates every law of a model at the parameters it is
given, step after step, from any framework: :meth:`LawMonitor.record` takes a
flat vector in the model's parameter order or a mapping {array name: array},
and :meth:`LawMonitor.attach` hooks a PyTorch optimizer (torch is optional and
imported only there).  When a step's gradient and optimizer settings are
known, the exact change of every law of degree at most 2 over that step
(:mod:`conslaws.core.frontends.drift`) is recorded too: for a law of the gradient flow
it equals the measured change up to rounding, so the drift is explained.

Parameter names
---------------
A mapping is matched to the model's parameter names: a name ``base[i,j]``
(``fc1.weight[3,5]``) is entry (i, j) of the array ``base``, as the
PyTorch/ONNX importer names parameters (``module.named_parameters()`` names,
row-major indices); any other name is an array of one entry under that name.
Arrays the model does not name are ignored.

Examples
--------
>>> import numpy as np
>>> from conslaws.core.models.model import Model
>>> model = Model.from_phi(("u", "v"), ["u*v"])
>>> monitor = LawMonitor(model, ["u**2 - v**2"])
>>> theta = np.array([2.0, 1.0])
>>> for step in range(3):                      # L = (uv - 1)^2 / 2
...     grad = (theta[0] * theta[1] - 1) * theta[::-1]
...     monitor.record(theta, gradient=grad, lr=0.1)
...     theta = theta - 0.1 * grad
>>> monitor.record(theta)
>>> log = monitor.log
>>> log["laws"], log["steps"]
(['u**2 - v**2'], [0, 1, 2, 3])
>>> measured = np.diff(np.array(log["values"]), axis=0)
>>> np.allclose(measured, np.array(log["predicted_drift"][:3]), rtol=1e-12)
True
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from conslaws.core.errors import ConslawsError, InvalidOptionError, InvalidPointError
from conslaws.core.frontends.drift import (
    QuadraticLaw,
    law_terms,
    no_closed_form,
    quadratic_or_none,
)

__all__ = ["LawMonitor", "ParameterMappingError", "TorchMissingError"]

Array = NDArray[np.float64]

#: ``base[i,j,...]``: entry (i, j, ...) of the array ``base``.
_INDEXED = re.compile(r"^(?P<base>.+)\[(?P<index>\s*\d+\s*(?:,\s*\d+\s*)*)\]$")


class ParameterMappingError(ConslawsError, ValueError):
    """Parameters (or gradients) given as arrays do not match the model's parameter names."""


class TorchMissingError(ConslawsError, ImportError):
    """:meth:`LawMonitor.attach` needs PyTorch, which is not installed."""


class _Polynomial:
    """A law as float terms, for its value at a point (any degree)."""

    def __init__(self, terms: Mapping[tuple[int, ...], Fraction]) -> None:
        used = sorted({j for m in terms for j, e in enumerate(m) if e})
        self.variables = np.array(used, dtype=np.intp)
        self.exponents = np.array([[m[j] for j in used] for m in terms], dtype=float
                                  ).reshape(len(terms), len(used))
        self.coefficients = np.array([float(c) for c in terms.values()])

    def value(self, theta: Array) -> float:
        powers = np.power(theta[self.variables][None, :], self.exponents)
        return float(self.coefficients @ powers.prod(axis=1))


@dataclass(frozen=True)
class _Slot:
    """Where the model's parameters sit in one array of a mapping."""

    positions: NDArray[np.intp]  # indices into θ
    flat: NDArray[np.intp]  # row-major indices into the array


def _laws_and_names(model: Any, laws: Any) -> tuple[tuple[str, ...], list[Any]]:
    names = getattr(model, "parameter_names", None)
    if names is None:
        raise InvalidOptionError(
            f"model must be a conslaws Model (with parameter_names), got "
            f"{type(model).__name__}", argument="model")
    names = tuple(str(n) for n in names)
    if type(laws).__name__ == "LawsResult":
        if tuple(laws.parameter_names) != names:
            raise InvalidOptionError(
                f"laws: found for the {laws.flow} flow in {len(laws.parameter_names)} "
                f"coordinates, not in the model's {len(names)} parameters (monitor laws of "
                f"the gradient flow)", argument="laws")
        return names, list(laws.laws)
    if isinstance(laws, (str, bytes)) or not isinstance(laws, Sequence):
        raise InvalidOptionError(
            f"laws must be the result of find_laws or a list of polynomials, got "
            f"{type(laws).__name__}", argument="laws")
    return names, list(laws)


class LawMonitor:
    """Values of conservation laws along training, and their predicted drift.

    Parameters
    ----------
    model : Model
        The conslaws model of the network (its ``parameter_names`` fix the
        order of a flat parameter vector and the matching of named arrays).
    laws : LawsResult or sequence of polynomials
        The result of :func:`~conslaws.core.frontends.api.find_laws` (gradient flow), or
        laws as sympy expressions, sympy Polys, flint polynomials or strings
        (parsed by the whitelist parser, never evaluated) in the parameters.

    Attributes
    ----------
    laws : list of str
        The laws as recorded.
    names : tuple of str
        The model's parameter names.
    steps : list of int
        The recorded steps.
    values : list of list of float
        ``values[r][i]``: law i at ``steps[r]``.
    predicted : list
        ``predicted[r][i]``: the predicted change of law i over the step leaving
        ``steps[r]`` (NaN for a law of degree above 2), or None when the
        record had no gradient.
    notes : list
        ``notes[r]``: why record r has no prediction (an optimizer without a
        closed form, an unknown previous step), else None.

    Raises
    ------
    InvalidOptionError
        ``model`` or ``laws`` is not of a kind the monitor reads.
    InvalidExpressionError
        A law is not a polynomial in the model's parameters.
    """

    def __init__(self, model: Any, laws: Any) -> None:
        self.names, given = _laws_and_names(model, laws)
        self.dimension = len(self.names)
        # An imported network's parameters are matched by their framework names
        # (``0.weight[3,5]``), the laws written in the model's own.
        framework = getattr(model, "framework_names", None)
        self._matched = tuple(framework) if framework else self.names
        self._values: list[_Polynomial] = []
        self._quadratic: list[QuadraticLaw | None] = []
        self.laws: list[str] = []
        for law in given:
            terms, text = law_terms(law, self.names)
            self._values.append(_Polynomial(terms))
            self._quadratic.append(quadratic_or_none(law, self.names))
            self.laws.append(text)
        self.steps: list[int] = []
        self.values: list[list[float]] = []
        self.predicted: list[list[float] | None] = []
        self.notes: list[str | None] = []
        self._slots: dict[tuple[tuple[str, tuple[int, ...]], ...], dict[str, _Slot]] = {}
        self._last: Array | None = None

    # -- parameters -------------------------------------------------------------------

    def _layout(self, shapes: Mapping[str, tuple[int, ...]], argument: str) -> dict[str, _Slot]:
        """How to gather θ from arrays of these shapes (checked once per set of shapes)."""
        key = tuple(sorted(shapes.items()))
        if key in self._slots:
            return self._slots[key]
        where: dict[str, tuple[list[int], list[int]]] = {}
        for position, name in enumerate(self._matched):
            match = _INDEXED.match(name)
            if match and match.group("base") in shapes:
                base = match.group("base")
                index = tuple(int(i) for i in match.group("index").split(","))
                shape = shapes[base]
                if len(index) != len(shape) or any(i >= n for i, n in zip(index, shape,
                                                                         strict=False)):
                    raise ParameterMappingError(
                        f"{argument}: parameter {name!r} is not an entry of {base!r}, of shape "
                        f"{shape}", argument=argument)
                flat = int(np.ravel_multi_index(index, shape)) if shape else 0
            elif name in shapes:
                base, flat = name, 0
                if math.prod(shapes[name]) != 1:
                    raise ParameterMappingError(
                        f"{argument}: {name!r} must be a single number, got an array of shape "
                        f"{shapes[name]}", argument=argument)
            else:
                wanted = match.group("base") if match else name
                given = ", ".join(sorted(shapes)[:6]) or "none"
                raise ParameterMappingError(
                    f"{argument}: no array {wanted!r} for parameter {name!r} (arrays given: "
                    f"{given})", argument=argument)
            positions, flats = where.setdefault(base, ([], []))
            positions.append(position)
            flats.append(flat)
        layout = {base: _Slot(np.array(p, dtype=np.intp), np.array(f, dtype=np.intp))
                  for base, (p, f) in where.items()}
        self._slots[key] = layout
        return layout

    def vector(self, parameters: Any, argument: str = "parameters") -> Array:
        """θ as a flat float vector in the model's order, from a vector or named arrays.

        Raises
        ------
        ParameterMappingError
            A parameter name has no array, or its index does not fit the array.
        InvalidPointError
            A flat vector has the wrong length or entries that are not numbers.

        Examples
        --------
        >>> import numpy as np, sympy
        >>> from conslaws.core.models.model import Model
        >>> from conslaws.core.algebra.polynomials import PolynomialRing
        >>> ring = PolynomialRing(("fc.weight[0,0]", "fc.weight[0,1]", "out"))
        >>> monitor = LawMonitor(Model("m", ring, ()), [])
        >>> monitor.vector({"fc.weight": np.array([[1.0, 2.0]]), "out": 3.0}).tolist()
        [1.0, 2.0, 3.0]
        >>> monitor.vector({"fc.bias": np.zeros(2)})
        Traceback (most recent call last):
            ...
        conslaws.core.frontends.monitor.ParameterMappingError: parameters: no array ...
        """
        if isinstance(parameters, Mapping):
            arrays = {}
            for name, value in parameters.items():
                try:
                    arrays[str(name)] = np.asarray(value, dtype=float)
                except (TypeError, ValueError, RuntimeError):  # RuntimeError: a torch tensor
                    raise InvalidPointError(  # that requires grad
                        f"{argument}: array {str(name)!r} is not an array of numbers (detach "
                        f"framework tensors first)") from None
            layout = self._layout({k: a.shape for k, a in arrays.items()}, argument)
            theta = np.empty(self.dimension)
            for base, slot in layout.items():
                theta[slot.positions] = arrays[base].reshape(-1)[slot.flat]
        else:
            try:
                theta = np.asarray(parameters, dtype=float).reshape(-1)
            except (TypeError, ValueError):
                raise InvalidPointError(
                    f"{argument} must be a vector of numbers or a mapping of arrays, got "
                    f"{type(parameters).__name__}") from None
            if theta.size != self.dimension:
                raise InvalidPointError(
                    f"{argument} must have {self.dimension} entries (the model's parameters), "
                    f"got {theta.size}")
            theta = theta.copy()
        return theta

    # -- recording --------------------------------------------------------------------

    def _predict(self, theta: Array, step: int, gradient: Any, lr: Any, decay: float,
                 momentum: float, previous: Any, optimizer: str
                 ) -> tuple[list[float] | None, str | None]:
        if (gradient is None) != (lr is None):
            raise InvalidOptionError("gradient and lr must be given together (the step's "
                                     "gradient and its step size)",
                                     argument="lr" if lr is None else "gradient")
        if gradient is None or lr is None:
            return None, None
        grad = self.vector(gradient, "gradient")
        reason = no_closed_form(optimizer)
        if reason is not None:
            return [math.nan] * len(self.laws), reason
        before: Array | None = None
        if momentum:
            if previous is not None:
                before = self.vector(previous, "previous")
            elif self._last is not None and self.steps and self.steps[-1] == step - 1:
                before = self._last
            else:
                return [math.nan] * len(self.laws), (
                    "momentum: the parameters of the previous step are unknown (record every "
                    "step, or give previous=)")
        extra = -float(lr) * float(decay) * theta
        if before is not None:
            extra = extra + float(momentum) * (theta - before)
        return self._changes(theta, extra, float(lr), grad), None

    def _changes(self, theta: Array, extra: Array, lr: float, grad: Array) -> list[float]:
        """Predicted change of each law over the step θ → θ + extra - lr·grad."""
        step = extra - lr * grad
        return [q.step_change(theta, step, lr, grad) if q is not None else math.nan
                for q in self._quadratic]

    def record(self, parameters: Any, *, step: int | None = None, gradient: Any = None,
               lr: float | None = None, decay: float = 0.0, momentum: float = 0.0,
               previous: Any = None, optimizer: str = "sgd") -> None:
        """Record the laws at ``parameters``, and their predicted change over the next step.

        Parameters
        ----------
        parameters : array or mapping of arrays
            θ_k: a flat vector in the model's parameter order, or {name: array}
            (module docstring).
        step : int, optional
            The step number (default: one more than the last recorded, 0 first).
        gradient : array or mapping of arrays, optional
            The gradient g_k the step leaving θ_k uses (full batch or mini-batch).
        lr : float, optional
            Its step size η.  With ``gradient`` and ``lr`` the predicted change
            of every law of degree <= 2 over the step θ_k → θ_{k+1} is recorded
            (NaN for other laws).
        decay, momentum : float
            Weight decay λ and heavy-ball β: θ_{k+1} = θ_k - η(g_k + λθ_k)
            + β(θ_k - θ_{k-1}).  With momentum, θ_{k-1} is ``previous`` or the
            last recorded parameters when they are those of step k - 1.
        previous : array or mapping of arrays, optional
            θ_{k-1} (``previous=parameters`` for a start from rest).
        optimizer : str
            ``"sgd"``/``"gd"`` (with ``decay`` and ``momentum``); others
            (``"adam"``, ...) have no closed form: NaN, with the reason in
            :attr:`notes`.

        Raises
        ------
        ParameterMappingError, InvalidPointError
            ``parameters``, ``gradient`` or ``previous`` does not fit the model.
        InvalidOptionError
            ``step`` is not an integer, or a rate is negative or not finite.
        """
        if step is None:
            step = self.steps[-1] + 1 if self.steps else 0
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
            raise InvalidOptionError(f"step must be an integer, got {step!r}", argument="step")
        for value, argument in ((lr, "lr"), (decay, "decay"), (momentum, "momentum")):
            if value is not None and not (isinstance(value, (int, float, np.number))
                                          and not isinstance(value, bool)
                                          and math.isfinite(float(value)) and value >= 0):
                raise InvalidOptionError(f"{argument} must be 0 or a positive finite number, "
                                         f"got {value!r}", argument=argument)
        theta = self.vector(parameters)
        predicted, note = self._predict(theta, int(step), gradient, lr, decay, momentum,
                                        previous, optimizer)
        self._append(int(step), theta, predicted, note)

    def _append(self, step: int, theta: Array, predicted: list[float] | None,
                note: str | None) -> None:
        self.steps.append(step)
        self.values.append([p.value(theta) for p in self._values])
        self.predicted.append(predicted)
        self.notes.append(note)
        self._last = theta

    # -- output -----------------------------------------------------------------------

    @property
    def log(self) -> dict[str, Any]:
        """Everything recorded, JSON-ready (NaN and infinities are ``None``).

        ``values[r][i]`` is law i at ``steps[r]``; ``predicted_drift[r][i]``
        its predicted change over the step leaving ``steps[r]`` (``None`` when
        nothing was predicted); ``notes[r]`` why a prediction is missing.
        """
        def clean(row: Sequence[float] | None) -> list[float | None] | None:
            if row is None:
                return None
            return [v if math.isfinite(v) else None for v in row]

        return {"laws": list(self.laws), "parameter_names": list(self.names),
                "steps": list(self.steps),
                "values": [clean(row) for row in self.values],
                "predicted_drift": [clean(row) for row in self.predicted],
                "notes": list(self.notes)}

    def to_json(self, path: str | os.PathLike[str] | None = None, indent: int | None = 2) -> str:
        """The :attr:`log` as strict JSON; written to ``path`` when given.

        Raises
        ------
        ConslawsError
            The file cannot be written.
        """
        text = json.dumps(self.log, indent=indent, allow_nan=False)
        if path is not None:
            try:
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(text + "\n")
            except OSError as error:
                raise ConslawsError(f"path: cannot write {str(path)!r}: "
                                    f"{error.strerror or error}", argument="path") from None
        return text

    def plot(self, ax: Any = None) -> Any:
        """Plot h(θ_k) - h(θ_0) per law against the step, with the predicted drift summed.

        Needs matplotlib (``pip install 'conslaws[plot]'``).  Returns the figure.

        Raises
        ------
        ConslawsError
            matplotlib is not installed.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ConslawsError("plot needs matplotlib: pip install 'conslaws[plot]'",
                                argument="ax") from None
        if ax is None:
            figure, ax = plt.subplots(figsize=(8, 4.5))
        else:
            figure = ax.figure
        values = np.array(self.values, dtype=float).reshape(len(self.steps), len(self.laws))
        for i, law in enumerate(self.laws):
            label = law if len(law) <= 40 else law[:37] + "..."
            line, = ax.plot(self.steps, values[:, i] - values[0, i], label=f"h{i + 1} = {label}")
            summed = self._summed_prediction(i)
            if summed is not None:
                ax.plot(self.steps, summed, linestyle="--", color=line.get_color(),
                        label=f"h{i + 1} predicted")
        ax.set_xlabel("step k")
        ax.set_ylabel("h(θ_k) − h(θ_0)")
        ax.set_title("conservation laws along training")
        if self.laws:
            # Outside the axes: the legend never hides the curves.
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7)
        figure.tight_layout()
        return figure

    def _summed_prediction(self, i: int) -> list[float] | None:
        """Law i's predicted changes summed from the first record, when every step has one."""
        if not self.steps:
            return None
        total, out = 0.0, [0.0]
        for row in self.predicted[:-1]:
            if row is None or math.isnan(row[i]):
                return None
            total += row[i]
            out.append(total)
        return out

    # -- PyTorch ----------------------------------------------------------------------

    def attach(self, optimizer: Any, module: Any) -> Any:
        """Record the laws at every step of a PyTorch optimizer.

        A pre-step hook records θ_k (the first time) and the predicted change of
        each law over the coming step from the gradients and the optimizer's
        settings; a post-step hook records θ_{k+1}.  Parameters are named as
        the importer names them: ``module.named_parameters()`` names with
        row-major indices, ``fc1.weight[3,5]``.  ``torch.optim.SGD`` (momentum,
        dampening, Nesterov's form, weight decay, maximize) is predicted from
        its momentum buffers; other optimizers are recorded with the reason in
        :attr:`notes`.  Use float64 parameters for a comparison to rounding
        error (float32 steps round at 1e-7).

        Parameters
        ----------
        optimizer : torch.optim.Optimizer
        module : torch.nn.Module
            The module whose parameters the model describes.

        Returns
        -------
        object
            A handle whose ``remove()`` detaches both hooks.

        Raises
        ------
        TorchMissingError
            PyTorch is not installed.
        ParameterMappingError
            The module's parameters do not cover the model's.
        """
        try:
            import torch
        except ImportError:
            raise TorchMissingError("attach needs PyTorch: pip install torch") from None
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise InvalidOptionError(f"optimizer must be a torch.optim.Optimizer, got "
                                     f"{type(optimizer).__name__}", argument="optimizer")
        if not isinstance(module, torch.nn.Module):
            raise InvalidOptionError(f"module must be a torch.nn.Module, got "
                                     f"{type(module).__name__}", argument="module")
        named = dict(module.named_parameters())
        self._layout({k: tuple(p.shape) for k, p in named.items()}, "module")  # check now

        def arrays(read: Callable[[Any], Any]) -> dict[str, Any] | None:
            out = {}
            for name, p in named.items():
                value = read(p)
                if value is None:
                    return None
                out[name] = value.detach().cpu().double().numpy()
            return out

        def before(opt: Any, args: Any, kwargs: Any) -> None:
            theta = self.vector(arrays(lambda p: p), "module")
            if self._last is None or not np.array_equal(self._last, theta):
                self._append(self.steps[-1] + 1 if self.steps else 0, theta, None, None)
            grads = arrays(lambda p: p.grad)
            predicted: list[float]
            note: str | None
            if grads is None:
                predicted, note = [math.nan] * len(self.laws), "a parameter has no gradient"
            else:
                predicted, note = self._torch_prediction(opt, named, theta,
                                                         self.vector(grads, "module"))
            self.predicted[-1], self.notes[-1] = predicted, note

        def after(opt: Any, args: Any, kwargs: Any) -> None:
            theta = self.vector(arrays(lambda p: p), "module")
            self._append(self.steps[-1] + 1, theta, None, None)

        handles = (optimizer.register_step_pre_hook(before),
                   optimizer.register_step_post_hook(after))
        return _Handles(handles)

    def _torch_prediction(self, optimizer: Any, named: Mapping[str, Any], theta: Array,
                          grad: Array) -> tuple[list[float], str | None]:
        import torch

        nothing = [math.nan] * len(self.laws)
        if type(optimizer) is not torch.optim.SGD:
            return nothing, no_closed_form(type(optimizer).__name__)
        group_of = {id(p): g for g in optimizer.param_groups for p in g["params"]}
        keys = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")
        settings = {tuple(float(group_of[id(p)][k]) for k in keys) for p in named.values()
                    if id(p) in group_of}
        if len(settings) != 1 or any(id(p) not in group_of for p in named.values()):
            return nothing, ("the module's parameters are in groups with different settings "
                             "(or in none): the first-order term does not vanish")
        lr, mu, damp, decay, nesterov, maximize = next(iter(settings))
        buffers = {}
        for name, p in named.items():
            buffer = optimizer.state.get(p, {}).get("momentum_buffer")
            buffers[name] = (buffer if buffer is not None else torch.zeros_like(p))
        missing = {optimizer.state.get(p, {}).get("momentum_buffer") is None
                   for p in named.values()}
        if mu and len(missing) != 1:
            return nothing, ("some parameters have a momentum buffer and some do not: their "
                             "steps are not one heavy-ball step")
        fresh = missing == {True}
        old = self.vector({k: b.detach().cpu().double().numpy() for k, b in buffers.items()},
                          "module")
        sign = -1.0 if maximize else 1.0
        # torch: u = g + λθ; buf = u (first step) or μ buf + (1 - dampening) u;
        # step = -lr (u + μ buf) with Nesterov, -lr buf without (buf = u when μ = 0).
        scale = 1.0 if (fresh or not mu) else 1.0 - damp
        if nesterov:
            scale_u = 1.0 + mu * scale if mu else 1.0
            extra = -lr * (mu * mu * old + scale_u * decay * theta) if mu else \
                -lr * decay * theta
        else:
            scale_u = scale
            extra = -lr * (mu * old + scale_u * decay * theta)
        return self._changes(theta, extra, lr * scale_u, sign * grad), None


class _Handles:
    """The two hooks of :meth:`LawMonitor.attach`; ``remove()`` detaches both."""

    def __init__(self, handles: Sequence[Any]) -> None:
        self.handles = list(handles)

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
