"""Trace oracles: exact values mod p of random elements of W_0 and of their brackets.

The probe engine (docs/theory.md section 2.4) never lists a field: it asks an
*oracle* for the jet, at a jet point, of a random element of the span W_0 of the
generating fields.  Nested brackets of such elements are read off jets of one
order higher (:func:`nested_bracket_rows`), so one closure algorithm
(:func:`conslaws.core.engine.probe_closure.probe_closure`) runs on any oracle.

* :class:`GradientOracle`: the gradients ∇F of random gated outputs F of a network
  (:class:`~conslaws.core.models.probes.ModularNetwork`), the gradient flow's W_0.
* Flows transform oracles (:meth:`conslaws.core.plugins.flow.Flow.oracle`):
  :class:`MirrorOracle` multiplies by the metric diag(θ) on the chosen coordinates,
  :class:`PhaseOracle` adds a drift χ_0 on a phase space (s, θ[, θ']) and lifts the
  network's gradients into it (momentum, Nesterov, weight decay, mirror momentum).

Every value is an exact image mod p of a vector of the Lie algebra's trace at the
point, so every rank computed from them is a proved lower bound.

A jet in m nilpotent variables is an array whose first axis has 2^m entries
(:meth:`~conslaws.core.models.probes.ModularNetwork.gradient_jet`).

Examples
--------
The momentum flow of one linear neuron u·v·x on (s, u, v, u', v'), τ = 1:

>>> import numpy as np
>>> from conslaws.core.frontends.api import build_model
>>> from conslaws.core.models.probes import ModularNetwork
>>> network = ModularNetwork(build_model("linear", widths=(1, 1, 1)).graph, modulus=101)
>>> oracle = PhaseOracle(GradientOracle(network), drift=momentum_drift(1, 101), velocities=True)
>>> oracle.dimension
5
>>> draw = oracle.draw(np.random.default_rng(0), 3)
>>> nested_bracket_rows(oracle, np.array([2, 3, 5, 7, 11]), [draw]).shape
(3, 5)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from conslaws.core.algebra.polynomials import SparseTerms
from conslaws.core.models.probes import ModularNetwork, Probes, jet_multiply, residue

__all__ = [
    "FieldOracle",
    "GradientOracle",
    "MirrorOracle",
    "PhaseDraw",
    "PhaseOracle",
    "PolynomialOracle",
    "momentum_drift",
    "nested_bracket_rows",
    "nesterov_drift",
    "weight_decay_drift",
]

IntArray = NDArray[np.int64]
#: A drift χ_0: the jet of its value at a jet point (2^m, n, K), mod p.
Drift = Callable[[IntArray], IntArray]


class FieldOracle(ABC):
    """Random elements of W_0 and their jets, exactly mod ``modulus``.

    Attributes
    ----------
    dimension : int
        The dimension of the space the fields live on.
    modulus : int
        The prime p.
    """

    dimension: int
    modulus: int

    @abstractmethod
    def draw(self, rng: np.random.Generator, count: int) -> Any:
        """``count`` random elements of W_0 (one per column); the result has ``count``
        and ``columns(index)``."""

    @abstractmethod
    def field_jet(self, point: IntArray, draw: Any) -> IntArray:
        """The jet (2^m, dimension, K) of the drawn fields at the jet ``point``
        (2^m, dimension, K or 1)."""


class GradientOracle(FieldOracle):
    """The gradient flow of a network: ∇F for random gated outputs F."""

    def __init__(self, network: ModularNetwork) -> None:
        self.network = network
        self.dimension = network.dimension
        self.modulus = network.modulus

    def draw(self, rng: np.random.Generator, count: int) -> Probes:
        return self.network.draw(rng, count)

    def field_jet(self, point: IntArray, draw: Any) -> IntArray:
        return self.network.gradient_jet(point, draw)


@dataclass
class CoefficientDraw:
    """Random combinations Σ_i c_i X_i of a model's generating fields: c is (fields, K)."""

    coefficients: IntArray

    @property
    def count(self) -> int:
        return int(self.coefficients.shape[1])

    def columns(self, index: NDArray[np.intp]) -> CoefficientDraw:
        return CoefficientDraw(self.coefficients[:, index])


class PolynomialOracle(FieldOracle):
    """Random combinations of polynomial fields, evaluated term by term on jets.

    The fields are compiled once into a table of terms ``(field, component, c,
    variables)``; a combination Σ_i c_i X_i at a jet point costs one jet product per
    factor of each term, vectorized over terms and draws, with no symbolic bracket.
    For φ models the terms of ∇φ_i are read off φ_i itself (no derivative is formed).

    Parameters
    ----------
    model : Model
        A model with φ or with polynomial generating fields.
    modulus : int
        A prime below 2**22.

    Examples
    --------
    >>> from conslaws.core.models.model import Model
    >>> oracle = PolynomialOracle(Model.from_phi(("u", "v"), ["u*v"]), 101)
    >>> draw = CoefficientDraw(np.array([[1]]))
    >>> oracle.field_jet(np.array([[[3], [5]]]), draw)[0, :, 0].tolist()   # ∇(uv) = (v, u)
    [5, 3]
    """

    #: Terms evaluated per numpy batch (memory: terms x draws x jet size).
    BATCH_ENTRIES = 2**24

    def __init__(self, model: Any, modulus: int) -> None:
        self.dimension = model.dimension
        self.modulus = modulus
        terms: list[tuple[int, int, int, tuple[int, ...]]] = []
        if model.phi is not None:
            for i, poly in enumerate(model.phi):
                for coefficient, support in SparseTerms(poly).terms:
                    for j, e in support:
                        factors = [k for k, f in support for _ in range(f - (k == j))]
                        terms.append((i, j, coefficient * e, tuple(factors)))
            self.fields = len(model.phi)
        else:
            for i, field in enumerate(model.generators):
                for j, component in field.components.items():
                    for coefficient, support in SparseTerms(component).terms:
                        factors = [k for k, f in support for _ in range(f)]
                        terms.append((i, j, coefficient, tuple(factors)))
            self.fields = len(model.generators)
        # Grouped by degree, so that each group is one rectangular array of factors.
        self.groups: list[tuple[IntArray, IntArray, IntArray, NDArray[np.intp]]] = []
        for degree in sorted({len(t[3]) for t in terms}):
            # Sorted by component, so that each batch sums its terms per component
            # with one reduceat (np.add.at took a fifth of a d = 24 attention closure).
            chosen = sorted((t for t in terms if len(t[3]) == degree), key=lambda t: t[1])
            self.groups.append((
                np.array([t[0] for t in chosen], dtype=np.intp),
                np.array([t[1] for t in chosen], dtype=np.intp),
                np.array([t[2] % modulus for t in chosen], dtype=np.int64),
                np.array([t[3] for t in chosen], dtype=np.intp).reshape(len(chosen), degree)))

    def draw(self, rng: np.random.Generator, count: int) -> CoefficientDraw:
        return CoefficientDraw(rng.integers(0, self.modulus, size=(self.fields, count),
                                            dtype=np.int64))

    def field_jet(self, point: IntArray, draw: Any) -> IntArray:
        p = self.modulus
        terms, k = point.shape[0], draw.count
        out = np.zeros((terms, self.dimension, k), dtype=np.int64)
        for fields, components, coefficients, factors in self.groups:
            step = max(1, self.BATCH_ENTRIES // max(1, terms * k))
            for start in range(0, len(fields), step):
                part = slice(start, start + step)
                weight = coefficients[part, None] * draw.coefficients[fields[part]] % p
                if factors.shape[1]:
                    # A constant times a jet is a scaling: the first factor needs no
                    # jet product, so fields linear in θ need none at all.
                    value = weight[None] * point[:, factors[part, 0]] % p
                    for column in factors[part, 1:].T:
                        value = jet_multiply(value, point[:, column], p)
                else:
                    value = _one(np.zeros((terms, *weight.shape), dtype=np.int64)) * weight
                chosen = components[part]
                first = np.flatnonzero(np.r_[True, chosen[1:] != chosen[:-1]])
                sums = np.add.reduceat(value, first, axis=1)
                targets = chosen[first]
                out[:, targets] = (out[:, targets] + sums) % p
        return out


class MirrorOracle(FieldOracle):
    """diag(m(θ)) times the base oracle's fields, m_j = θ_j on ``mirrored``, 1 elsewhere."""

    def __init__(self, base: FieldOracle, mirrored: Collection[int]) -> None:
        self.base = base
        self.dimension = base.dimension
        self.modulus = base.modulus
        self.mask = np.zeros(self.dimension, dtype=bool)
        self.mask[list(mirrored)] = True

    def draw(self, rng: np.random.Generator, count: int) -> Any:
        return self.base.draw(rng, count)

    def field_jet(self, point: IntArray, draw: Any) -> IntArray:
        field = self.base.field_jet(point, draw)
        return _metric_times(self.mask, point, field, self.modulus)


@dataclass
class PhaseDraw:
    """Random elements a·χ_0 + lift(∇F) of a phase space's W_0: the probes and a."""

    probes: Any
    drift: IntArray

    @property
    def count(self) -> int:
        return int(self.drift.shape[0])

    def columns(self, index: NDArray[np.intp]) -> PhaseDraw:
        return PhaseDraw(self.probes.columns(index), self.drift[index])


class PhaseOracle(FieldOracle):
    """A flow on (s, θ) or (s, θ, θ'): fields a·χ_0 + (0, ∇F) or (0, 0, m ⊙ ∇F).

    Parameters
    ----------
    base : FieldOracle
        The network's gradient oracle on θ (dimension D).
    drift : callable
        χ_0 at a jet point of the phase space.
    velocities : bool
        Phase space (s, θ, θ') of dimension 2D + 1 (the lift goes to θ'), or (s, θ)
        of dimension D + 1.
    metric : callable, optional
        ``metric(point)`` returns the jet of the factor m (2^m, D, K) multiplying the
        lifted gradient (mirror momentum: τθ_j + θ'_j on the mirrored coordinates).
    """

    def __init__(self, base: FieldOracle, drift: Drift, *, velocities: bool,
                 metric: Callable[[IntArray], IntArray] | None = None) -> None:
        self.base = base
        self.size = base.dimension
        self.velocities = velocities
        self.dimension = 1 + self.size * (2 if velocities else 1)
        self.modulus = base.modulus
        self.drift = drift
        self.metric = metric

    def draw(self, rng: np.random.Generator, count: int) -> PhaseDraw:
        return PhaseDraw(self.base.draw(rng, count),
                         rng.integers(0, self.modulus, size=count, dtype=np.int64))

    def field_jet(self, point: IntArray, draw: Any) -> IntArray:
        p, size = self.modulus, self.size
        terms, k = point.shape[0], draw.count
        theta = point[:, 1:1 + size]
        gradient = self.base.field_jet(theta, draw.probes)
        if self.metric is not None:
            gradient = jet_multiply(self.metric(point), gradient, p)
        # In place: at D = 10^4 each temporary of this shape is 0.3 GB.
        field = np.empty((terms, self.dimension, k), dtype=np.int64)
        np.multiply(self.drift(point), draw.drift[None, None, :], out=field)
        np.remainder(field, p, out=field)
        offset = 1 + size if self.velocities else 1
        lifted = field[:, offset:offset + size]
        lifted += gradient
        np.remainder(lifted, p, out=lifted)
        return field


def momentum_drift(tau: Fraction | int, p: int) -> Drift:
    """χ_0 = (ṡ, θ', -τθ') with ṡ = τ s (s = e^{τt}) or ṡ = 1 (τ = 0, s = t)."""
    rate = residue(Fraction(tau), p, "tau")

    def drift(point: IntArray) -> IntArray:
        size = (point.shape[1] - 1) // 2
        out = np.empty_like(point)  # every entry is written below
        out[:, 0] = point[:, 0] * rate % p if rate else _one(point[:, 0])
        velocity = point[:, 1 + size:]
        out[:, 1:1 + size] = velocity
        damped = out[:, 1 + size:]
        np.multiply(velocity, (p - rate) % p, out=damped)
        np.remainder(damped, p, out=damped)
        return out

    return drift


def nesterov_drift(p: int) -> Drift:
    """t·χ_0 = (s, s θ', -3 θ') with s = t (a polynomial multiple of Nesterov's drift)."""

    def drift(point: IntArray) -> IntArray:
        size = (point.shape[1] - 1) // 2
        out = np.zeros_like(point)
        out[:, 0] = point[:, 0]
        out[:, 1:1 + size] = jet_multiply(point[:, :1], point[:, 1 + size:], p)
        out[:, 1 + size:] = -3 * point[:, 1 + size:] % p
        return out

    return drift


def weight_decay_drift(rate: Fraction | int, p: int) -> Drift:
    """χ_0 = (λ s, -λ θ) on (s, θ), s = e^{λt}."""
    decay = residue(Fraction(rate), p, "decay")

    def drift(point: IntArray) -> IntArray:
        return np.concatenate([point[:, :1] * decay % p, -decay * point[:, 1:] % p], axis=1)

    return drift


def mirror_momentum_metric(tau: Fraction | int, mirrored: Collection[int], size: int,
                           p: int) -> Callable[[IntArray], IntArray]:
    """The factor τθ_j + θ'_j on the mirrored coordinates (1 elsewhere), as a jet."""
    rate = residue(Fraction(tau), p, "tau")
    mask = np.zeros(size, dtype=bool)
    mask[list(mirrored)] = True

    def metric(point: IntArray) -> IntArray:
        theta, velocity = point[:, 1:1 + size], point[:, 1 + size:]
        factor = (rate * theta + velocity) % p
        ones = _one(factor)
        return np.where(mask[None, :, None], factor, ones)

    return metric


def nested_bracket_rows(oracle: FieldOracle, point: IntArray, chain: Sequence[Any]) -> IntArray:
    """Rows (K, n) of ``[X_1, [X_2, ..., [X_j, X_{j+1}]...]](point)`` for drawn fields.

    ``chain`` holds j + 1 draws of K fields each; j = 0 gives the fields themselves.
    Left-normed brackets of depth <= j span W_j, so random chains of depth j probe
    level j.  A field's derivative in a direction v is the coefficient of a fresh
    nilpotent ε at the jet point ``point + ε v``, so depth j needs jets in j variables.
    """
    point = np.mod(np.asarray(point, dtype=np.int64), oracle.modulus)
    field: IntArray = _field(oracle, list(chain), point[None, :, None])[0]
    return np.asarray(field.T, dtype=np.int64)


def _field(oracle: FieldOracle, chain: list[Any], point: IntArray) -> IntArray:
    """The jet of the chain's nested bracket field at a jet point."""
    if len(chain) == 1:
        return oracle.field_jet(point, chain[0])
    head, rest = chain[0], chain[1:]
    terms = point.shape[0]
    x = oracle.field_jet(point, head)
    # [X, Y] = DY·X - DX·Y, each derivative read off one order higher.  The jet of Y at
    # point + ε X holds Y itself in its ε-free half, so one recursive call gives both:
    # the cost grows linearly with the depth instead of doubling at every level.
    extended = _field(oracle, rest, _extend(point, x))
    y, dy_x = extended[:terms], extended[terms:]
    dx_y = oracle.field_jet(_extend(point, y), head)[terms:]
    return np.asarray((dy_x - dx_y) % oracle.modulus)


def _extend(point: IntArray, direction: IntArray) -> IntArray:
    """The jet point ``point + ε direction`` in one more nilpotent variable."""
    shape = (point.shape[0], point.shape[1], direction.shape[2])
    return np.concatenate([np.broadcast_to(point, shape), direction])


def _metric_times(mask: NDArray[np.bool_], point: IntArray, field: IntArray, p: int) -> IntArray:
    """diag(m) field with m_j = θ_j where ``mask`` and 1 elsewhere (jets)."""
    theta = np.broadcast_to(point, (point.shape[0], point.shape[1], field.shape[2]))
    factor = np.where(mask[None, :, None], theta, _one(theta))
    return jet_multiply(factor, field, p)


def _one(like: IntArray) -> IntArray:
    """The jet 1 shaped like ``like``."""
    one = np.zeros_like(like)
    one[0] = 1
    return one
