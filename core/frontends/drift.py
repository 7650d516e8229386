"""Predicted drift of a quadratic law under one discrete training step.

A law h(θ) = θᵀAθ + cᵀθ + k (A symmetric) of the gradient flow satisfies
∇h(θ)·g = (2Aθ + c)·g = 0 for the gradient g of every loss through φ (full
batch, mini-batch, any data: docs/theory.md section 1).  A step θ' = θ + d of
an optimizer therefore changes h by exactly

    Δh = ∇h(θ)·(d + η g) + dᵀA d,

since h is quadratic (its Taylor series stops at the second term) and the
part -η g of d contributes nothing to the first-order term.  Written out
(these are exact identities in exact arithmetic, not approximations):

* gradient descent and SGD, d = -η g: Δh = η² gᵀAg.  A linear law (A = 0,
  e.g. the column sums of a cross-entropy output layer) does not drift at all.
* weight decay λ, d = -η(g + λθ): h' = (1 - ηλ)² Q + (1 - ηλ) ℓ + k
  + η² gᵀAg - η² λ cᵀg with Q = θᵀAθ and ℓ = cᵀθ (the last term vanishes
  when the linear part is a law by itself, as for the laws found degree by
  degree).  Per unit of time t = kη this is Δh/η = -2λQ - λℓ
  + η(gᵀAg + λ²Q - λcᵀg): as η → 0 (a limit; the formula above is exact)
  the continuous laws of Kunin et al. (Neural Mechanics, ICLR 2021),
  dQ/dt = -2λQ for scale and rescale symmetries and dℓ/dt = -λℓ for
  translation symmetries.
* heavy ball θ_{k+1} = θ_k + β v_k - η g_k with v_k = θ_k - θ_{k-1} (and
  weight decay, d = β v_k - η(g_k + λθ_k)): Δh = β(2θ_kᵀAv_k + cᵀv_k)
  - ηλ(2Q + ℓ) + dᵀAd, exact given the state (θ_k, v_k).  Equivalently,
  without decay, Δh_k = β(Δh_{k-1} + v_kᵀAv_k) + d_kᵀAd_k, whose limit for
  β = 1 - τ√η and time step √η is ḧ + τḣ = 2θ'ᵀAθ' (the heavy-ball flow
  θ'' + τθ' = -∇L does not conserve h: ḣ = ∇h·θ').  That limit is derived
  here, not taken from Kunin et al.
* Adam, RMSprop, Nesterov with the gradient at a look-ahead point, ...: no
  closed form.  Their step rescales g coordinate by coordinate (or takes it
  elsewhere), so ∇h·d is not zero and depends on the optimizer's state:
  :func:`no_closed_form` says why, and the prediction is NaN.  (PyTorch's
  SGD with ``nesterov=True`` takes g at θ and is covered by the formula above,
  see :meth:`~conslaws.core.frontends.monitor.LawMonitor.attach`.)

Laws of the momentum flow itself (:class:`MomentumLaw`) of the form
s^a θᵀMθ' with M antisymmetric (e^{τt}(UᵀU' - U'ᵀU + ...), docs/theory.md
section 4) obey an exact discrete identity instead: with v_{k+1} = βv_k - ηg_k
and θ_{k+1} = θ_k + v_{k+1}, B_k = θ_kᵀMv_k satisfies B_{k+1} = βB_k
(θ_kᵀMg_k = 0 because the law is conserved by the fields (0, 0, ∇φ_i), and
vᵀMv = 0 as M is antisymmetric).

Laws of degree above 2 get no prediction here: their change would need the
third and higher derivatives of h (the gradient-flow laws ``simulate`` tracks
are sought up to degree 2).

Examples
--------
>>> import numpy as np
>>> law = QuadraticLaw.from_polynomial("u**2 - v**2", ("u", "v"))   # phi = u*v
>>> theta = np.array([2.0, 1.0]); grad = np.array([1.0, 2.0])      # ∇L ∝ (v, u)
>>> round(predicted_step_drift(law, theta, grad, 0.1), 12)           # 0.01 * (1 - 4)
-0.03
>>> after = theta - 0.1 * grad
>>> round(law.value(after) - law.value(theta), 12)
-0.03
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from conslaws.core.algebra.polynomials import PolynomialRing
from conslaws.core.errors import ConslawsError, InvalidOptionError, InvalidPointError

__all__ = ["CLOSED_FORMS", "MomentumLaw", "NotQuadraticError", "QuadraticLaw", "law_terms",
           "no_closed_form", "predicted_step_drift", "quadratic_or_none"]

Array = NDArray[np.float64]

#: Optimizers whose one-step drift of a quadratic law has a closed form here.
CLOSED_FORMS = ("gd", "sgd", "weight-decay", "momentum")


class NotQuadraticError(ConslawsError, ValueError):
    """A law is not a polynomial of degree at most 2 in the model's parameters."""


def law_terms(poly: Any, names: Sequence[str]) -> tuple[dict[tuple[int, ...], Fraction], str]:
    """Exact terms {exponents: coefficient} of a law over ``names``, and its text.

    ``poly`` is a sympy expression or Poly, a flint polynomial in exactly
    ``names``, a string (whitelist parser) or a number.

    Examples
    --------
    >>> law_terms("u**2/2 - v", ("u", "v"))
    ({(2, 0): Fraction(1, 2), (0, 1): Fraction(-1, 1)}, '(u**2 - 2*v)/2')
    """
    kind = type(poly).__name__
    if kind in ("fmpz_mpoly", "fmpq_mpoly"):
        # A flint polynomial carries its own variables: they must be ours, in our order.
        given = tuple(poly.context().names())
        if len(given) != len(names):
            raise NotQuadraticError(
                f"law: a polynomial in {len(given)} variables, the model has {len(names)} "
                f"parameters")
        ring = PolynomialRing(names)
        if given != ring.context.names():
            raise NotQuadraticError(
                f"law: a polynomial in {', '.join(given[:4])}..., not in the model's "
                f"parameters")
        if kind == "fmpq_mpoly":
            terms = {tuple(int(e) for e in m): Fraction(int(c.p), int(c.q))
                     for m, c in poly.to_dict().items()}
        else:
            terms = {tuple(int(e) for e in m): Fraction(int(c))
                     for m, c in poly.to_dict().items()}
        return terms, str(poly)
    ring = PolynomialRing(names)
    # Strings go through the whitelist parser, sympy objects through sympy's sparse ring:
    # nothing is evaluated.
    scaled, denominator = ring.from_sympy_scaled(poly)
    terms = {tuple(int(e) for e in m): Fraction(int(c), denominator)
             for m, c in scaled.to_dict().items()}
    text = str(ring.to_sympy(scaled))
    return terms, text if denominator == 1 else f"({text})/{denominator}"


@dataclass(frozen=True)
class QuadraticLaw:
    """A law h(θ) = θᵀAθ + cᵀθ + k with A symmetric, held exactly and in floats.

    Attributes
    ----------
    names : tuple of str
        The parameters, in the order of θ.
    quadratic : dict
        The exact upper triangle of A: ``{(i, j): Fraction}`` with i <= j
        (``A[i, j] = A[j, i]``); zero entries are left out.
    linear : dict
        The exact c: ``{i: Fraction}``.
    constant : Fraction
        k.
    text : str
        The law as it was given (after parsing), for reports.
    """

    names: tuple[str, ...]
    quadratic: dict[tuple[int, int], Fraction]
    linear: dict[int, Fraction]
    constant: Fraction
    text: str

    @classmethod
    def from_polynomial(cls, poly: Any, names: Sequence[str]) -> QuadraticLaw:
        """Read A, c and k exactly from a law of degree at most 2.

        Parameters
        ----------
        poly : sympy expression, sympy Poly, flint polynomial, str or number
            The law, in the parameters ``names`` (a string is parsed by the
            whitelist parser; nothing in it runs).
        names : sequence of str
            The parameter names (a model's ``parameter_names``).

        Raises
        ------
        NotQuadraticError
            The law has degree above 2, or is a flint polynomial in other variables.
        InvalidExpressionError
            The law is not a polynomial in ``names`` (an unknown symbol, exp(t), ...).

        Examples
        --------
        >>> law = QuadraticLaw.from_polynomial("x**2 + 3*x*y - y/2 + 1", ("x", "y"))
        >>> law.quadratic, law.linear, law.constant
        ({(0, 0): Fraction(1, 1), (0, 1): Fraction(3, 2)}, {1: Fraction(-1, 2)}, Fraction(1, 1))
        >>> law.matrix
        array([[1. , 1.5],
               [1.5, 0. ]])
        >>> QuadraticLaw.from_polynomial("x**2*y", ("x", "y"))
        Traceback (most recent call last):
            ...
        conslaws.core.frontends.drift.NotQuadraticError: law 'x**2*y' has degree 3; ...
        """
        names = tuple(str(n) for n in names)
        terms, text = law_terms(poly, names)
        quadratic: dict[tuple[int, int], Fraction] = {}
        linear: dict[int, Fraction] = {}
        constant = Fraction(0)
        for exponents, coefficient in terms.items():
            support = [(j, e) for j, e in enumerate(exponents) if e]
            degree = sum(e for _, e in support)
            if degree > 2:
                raise NotQuadraticError(
                    f"law {text!r} has degree {degree}; drift is predicted for laws of degree "
                    f"at most 2")
            if degree == 0:
                constant = coefficient
            elif degree == 1:
                linear[support[0][0]] = coefficient
            elif len(support) == 1:
                j = support[0][0]
                quadratic[(j, j)] = coefficient
            else:
                # c θ_i θ_j is θᵀAθ with A_ij = A_ji = c/2: the upper triangle keeps c/2.
                quadratic[(support[0][0], support[1][0])] = coefficient / 2
        return cls(names, dict(sorted(quadratic.items())), dict(sorted(linear.items())),
                   constant, text)

    @cached_property
    def _sparse(self) -> tuple[NDArray[np.intp], NDArray[np.intp], Array]:
        """Float copies of the entries of A, both triangles: θᵀAθ = Σ values θ[rows] θ[cols]."""
        rows, cols, values = [], [], []
        for (i, j), a in self.quadratic.items():
            rows.append(i)
            cols.append(j)
            values.append(float(a))
            if i != j:
                rows.append(j)
                cols.append(i)
                values.append(float(a))
        return (np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp),
                np.array(values, dtype=float))

    @property
    def dimension(self) -> int:
        """D, the length of θ."""
        return len(self.names)

    @property
    def degree(self) -> int:
        """The total degree (0, 1 or 2)."""
        return 2 if self.quadratic else 1 if self.linear else 0

    @property
    def matrix(self) -> Array:
        """A as a dense numpy array (D × D; for small models)."""
        dense = np.zeros((self.dimension, self.dimension))
        rows, cols, values = self._sparse
        dense[rows, cols] = values
        return dense

    @property
    def vector(self) -> Array:
        """c as a dense numpy array."""
        dense = np.zeros(self.dimension)
        for i, value in self.linear.items():
            dense[i] = float(value)
        return dense

    def _check(self, vector: Any, argument: str) -> Array:
        array = np.asarray(vector, dtype=float)
        if array.shape != (self.dimension,):
            raise InvalidPointError(
                f"{argument} must be a vector of {self.dimension} numbers (the model's "
                f"parameters), got shape {array.shape}")
        return array

    def form(self, x: Any, y: Any) -> float:
        """xᵀAy."""
        rows, cols, values = self._sparse
        x, y = self._check(x, "x"), self._check(y, "y")
        return float(np.dot(values, x[rows] * y[cols]))

    def value(self, theta: Any) -> float:
        """h(θ) = θᵀAθ + cᵀθ + k.

        Examples
        --------
        >>> QuadraticLaw.from_polynomial("u*v - 2*u", ("u", "v")).value([3.0, 5.0])
        9.0
        """
        theta = self._check(theta, "theta")
        return self.form(theta, theta) + float(self.vector @ theta) + float(self.constant)

    def gradient(self, theta: Any) -> Array:
        """∇h(θ) = 2Aθ + c."""
        theta = self._check(theta, "theta")
        rows, cols, values = self._sparse
        grad = self.vector
        np.add.at(grad, rows, 2 * values * theta[cols])
        return grad

    def step_change(self, theta: Any, step: Any, lr: float, grad: Any) -> float:
        """Δh over the step θ → θ + step that used the gradient ``grad`` with step size ``lr``.

        ∇h(θ)·(step + lr·grad) + stepᵀA step: exact for a law of the
        gradient flow, whose gradient is orthogonal to ``grad``.
        """
        theta, step = self._check(theta, "theta"), self._check(step, "step")
        grad = self._check(grad, "grad")
        return float(self.gradient(theta) @ (step + lr * grad)) + self.form(step, step)


@dataclass(frozen=True)
class MomentumLaw:
    """A law s^a θᵀMθ' of a momentum flow on (s, θ, θ'), M antisymmetric, held exactly.

    Attributes
    ----------
    names : tuple of str
        The phase-space coordinates (s, θ_1..θ_D, θ'_1..θ'_D) of the flow's model.
    clock_power : int
        a.
    pairs : dict
        ``{(i, j): Fraction}``: M_ij, the coefficient of θ_i θ'_j (i, j from 0).
    text : str
        The law as given.
    """

    names: tuple[str, ...]
    clock_power: int
    pairs: dict[tuple[int, int], Fraction]
    text: str

    @classmethod
    def from_polynomial(cls, poly: Any, names: Sequence[str]) -> MomentumLaw:
        """Read a and M exactly from a phase-space law s^a θᵀMθ'.

        ``names`` are the flow model's coordinates: the clock first, then D
        parameters and their D velocities.

        Raises
        ------
        NotQuadraticError
            The law is not of that form with M antisymmetric (no prediction).

        Examples
        --------
        >>> law = MomentumLaw.from_polynomial("s*(u*v_dot - v*u_dot)", ("s", "u", "v", "u_dot",
        ...                                                            "v_dot"))
        >>> law.clock_power, law.pairs
        (1, {(0, 1): Fraction(1, 1), (1, 0): Fraction(-1, 1)})
        >>> law.bilinear([2.0, 3.0], [1.0, 1.0])        # 2*1 - 3*1
        -1.0
        """
        names = tuple(str(n) for n in names)
        if len(names) % 2 == 0 or len(names) < 3:
            raise NotQuadraticError(f"law: {len(names)} coordinates are not (s, θ, θ')")
        size = (len(names) - 1) // 2
        terms, text = law_terms(poly, names)
        powers, pairs = set(), {}
        for exponents, coefficient in terms.items():
            theta = [j - 1 for j in range(1, 1 + size) if exponents[j]]
            velocity = [j - 1 - size for j in range(1 + size, len(names)) if exponents[j]]
            if (len(theta), len(velocity)) != (1, 1) or sum(exponents[1:]) != 2:
                raise NotQuadraticError(f"law {text!r} is not of the form s^a θᵀMθ'")
            powers.add(exponents[0])
            pairs[(theta[0], velocity[0])] = coefficient
        if len(powers) != 1 or any(pairs.get((j, i), 0) != -m for (i, j), m in pairs.items()):
            raise NotQuadraticError(
                f"law {text!r} is not s^a θᵀMθ' with one power a and M antisymmetric")
        return cls(names, powers.pop(), dict(sorted(pairs.items())), text)

    @property
    def dimension(self) -> int:
        """D, the number of parameters (half the velocity-free coordinates)."""
        return (len(self.names) - 1) // 2

    def bilinear(self, theta: Any, velocity: Any) -> float:
        """θᵀMv."""
        theta, velocity = np.asarray(theta, dtype=float), np.asarray(velocity, dtype=float)
        for vector, argument in ((theta, "theta"), (velocity, "velocity")):
            if vector.shape != (self.dimension,):
                raise InvalidPointError(f"{argument} must be a vector of {self.dimension} "
                                        f"numbers, got shape {vector.shape}")
        return float(sum(float(m) * theta[i] * velocity[j] for (i, j), m in self.pairs.items()))

    def next_bilinear(self, theta: Any, velocity: Any, momentum: float) -> float:
        """θ_{k+1}ᵀMv_{k+1} = β θ_kᵀMv_k after a heavy-ball step (module docstring)."""
        return _rate(momentum, "momentum") * self.bilinear(theta, velocity)


def quadratic_or_none(poly: Any, names: Sequence[str]) -> QuadraticLaw | None:
    """:meth:`QuadraticLaw.from_polynomial`, or None when the law has no prediction.

    None for laws of degree above 2 and for laws that are not polynomials in
    ``names`` (the laws of a momentum flow involve e^{τt} and velocities).

    Examples
    --------
    >>> quadratic_or_none("u*v*w", ("u", "v", "w")) is None
    True
    """
    from conslaws.core.errors import InvalidExpressionError

    try:
        return QuadraticLaw.from_polynomial(poly, names)
    except (NotQuadraticError, InvalidExpressionError):
        return None


def no_closed_form(optimizer: str) -> str | None:
    """Why the drift of ``optimizer`` has no closed form, or None when it has one.

    Examples
    --------
    >>> no_closed_form("sgd") is None
    True
    >>> no_closed_form("adam")
    "adam: no closed form: its step rescales the gradient coordinate by coordinate ..."
    """
    name = optimizer.lower()
    if name in CLOSED_FORMS:
        return None
    if name == "nesterov":
        return ("nesterov: no closed form here: the gradient is taken at the look-ahead "
                "point, so it is not orthogonal to the law's gradient at θ")
    return (f"{name}: no closed form: its step rescales the gradient coordinate by "
            f"coordinate (or otherwise leaves the gradient direction), so the first-order "
            f"change ∇h·d does not vanish and depends on the optimizer's state")


def _rate(value: Any, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise InvalidOptionError(f"{argument} must be a number, got {value!r}", argument=argument)
    rate = float(value)
    if not (math.isfinite(rate) and rate >= 0):
        raise InvalidOptionError(f"{argument} must be 0 or a positive finite number, got {rate:g}",
                                 argument=argument)
    return rate


def predicted_step_drift(law: QuadraticLaw, theta: Any, grad: Any, lr: float, *,
                         decay: float = 0.0, momentum: float = 0.0,
                         previous: Any = None) -> float:
    """The exact change of ``law`` over one step of GD/SGD, weight decay or heavy ball.

    The step is θ' = θ - lr·(grad + decay·θ) + momentum·(θ - previous); the
    result is ∇h(θ)·(θ' - θ + lr·grad) + (θ' - θ)ᵀA(θ' - θ) (module
    docstring), exact in exact arithmetic because ∇h(θ)·grad = 0 for a law.

    Parameters
    ----------
    law : QuadraticLaw
        A law of the gradient flow of degree at most 2.
    theta, grad : array of float
        θ_k and the gradient the step uses (full batch or mini-batch).
    lr : float
        The step size η.
    decay : float
        Weight decay λ (``θ' = θ - η(g + λθ)``), 0 for none.
    momentum : float
        Heavy-ball β; then ``previous`` (θ_{k-1}) is required: the velocity
        is θ_k - θ_{k-1} (give ``previous=theta`` for a start from rest).
    previous : array of float, optional
        θ_{k-1}.

    Raises
    ------
    InvalidOptionError
        ``lr``, ``decay`` or ``momentum`` is not a nonnegative number, or
        ``momentum`` is given without ``previous``.
    InvalidPointError
        A vector has the wrong length.

    Examples
    --------
    >>> import numpy as np
    >>> law = QuadraticLaw.from_polynomial("u**2 - v**2", ("u", "v"))
    >>> theta, grad = np.array([2.0, 1.0]), np.array([1.0, 2.0])
    >>> h = law.value(theta)
    >>> # weight decay: h' = (1 - 0.1*0.5)**2 h + 0.1**2 (1 - 4)
    >>> round(predicted_step_drift(law, theta, grad, 0.1, decay=0.5), 12)
    -0.3225
    >>> round((1 - 0.05)**2 * h - 0.03 - h, 12)
    -0.3225
    >>> predicted_step_drift(law, theta, grad, 0.1, momentum=0.9)
    Traceback (most recent call last):
        ...
    conslaws.core.errors.InvalidOptionError: momentum needs previous (the parameters one ...
    """
    lr = _rate(lr, "lr")
    decay, momentum = _rate(decay, "decay"), _rate(momentum, "momentum")
    theta, grad = law._check(theta, "theta"), law._check(grad, "grad")
    extra = -lr * decay * theta  # the part of the step that is not -lr·grad
    if momentum:
        if previous is None:
            raise InvalidOptionError(
                "momentum needs previous (the parameters one step earlier; previous=theta "
                "for a start from rest)", argument="previous")
        extra = extra + momentum * (theta - law._check(previous, "previous"))
    return law.step_change(theta, extra - lr * grad, lr, grad)
