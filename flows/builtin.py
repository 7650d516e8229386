"""Built-in flows (docs/theory.md section 4), registered under ``conslaws.flows``.

* ``gradient``: θ' = -∇L, fields ∇φ_i (the architecture's own model).
* ``momentum --tau T``: heavy ball θ'' + T θ' = -∇L on the phase space
  z = (s, θ, θ') of dimension 2D + 1; drift χ_0 = (ṡ, θ', -T θ') with
  s = e^{Tt} (ṡ = T s) for T > 0 and s = t (ṡ = 1) for T = 0; one field
  χ_i = (0, 0, ∇φ_i(θ)) per component of φ.
* ``nesterov``: T = 3/t, s = t, and t·χ_0 = (s, s θ', -3 θ') replaces χ_0 so
  that every field is polynomial (multiplying a field by a nonvanishing
  function leaves the closure unchanged).
* ``mirror [--mirror-layers l1,l2]``: θ' = -M(θ)∇L with M = diag(θ) on the
  chosen layers (all by default: nonnegative matrix factorization; the outer
  layer: input-convex networks), fields M(θ)∇φ_i.
* ``mirror-momentum --tau T [--mirror-layers l1,l2]``: the phase space and drift of
  ``momentum``, fields (0, 0, diag(Tθ + θ')∇φ_i) on the chosen layers and
  (0, 0, ∇φ_i) elsewhere.
* ``weight-decay [--decay L]``: θ' + L θ = -∇L on (s, θ) with s = e^{Lt}:
  χ_0 = (L s, -L θ), χ_i = (0, ∇φ_i); its laws are H(s θ) for the
  gradient-flow laws H.

Velocities are named ``{name}_dot`` and the clock ``s``; printed laws show
e^{Tt} or t in place of s.

Examples
--------
>>> from conslaws.core.frontends.api import build_model
>>> model = MomentumFlow(tau="1").transform(build_model("custom", phi="u*v"))
>>> model.parameter_names
('s', 'u', 'v', 'u_dot', 'v_dot')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar

from conslaws.core.algebra.polynomials import PolynomialRing
from conslaws.core.algebra.vector_fields import VectorField
from conslaws.core.errors import InvalidOptionError
from conslaws.core.models.model import Model
from conslaws.core.plugins.architecture import Option, parse_widths
from conslaws.core.plugins.flow import Flow
from conslaws.core.validation import check_flow_names, exact_number

if TYPE_CHECKING:
    import sympy

    from conslaws.core.engine.oracles import FieldOracle
    from conslaws.core.engine.rotations import Rotation
    from conslaws.core.models.structural import GraphLaws, SparseLaw

__all__ = ["GradientFlow", "MirrorFlow", "MirrorMomentumFlow", "MomentumFlow", "NesterovFlow",
           "WeightDecayFlow"]

CLOCK = "s"
#: The time variable of the printed laws (sympy is imported only when one is printed).
TIME = "t"


def parse_rate(value: Any, flag: str) -> Fraction:
    """A nonnegative rational (``0``, ``"1/2"``, ``3``, ``Fraction(1, 2)``).

    Text goes through :func:`~conslaws.core.algebra.parsing.parse_rational`; a float
    is read as the decimal it prints as (``0.1`` is 1/10).

    Examples
    --------
    >>> parse_rate("1/2", "--tau"), parse_rate(0.1, "--tau")
    (Fraction(1, 2), Fraction(1, 10))
    >>> parse_rate("1/2 + x", "--tau")
    Traceback (most recent call last):
        ...
    conslaws.core.errors.InvalidOptionError: --tau: "1/2 + x" is not an integer, a fraction like ...
    """
    if isinstance(value, float) or type(value).__name__ in ("float32", "float64"):
        value = repr(float(value))
    rate = exact_number(value, flag, InvalidOptionError)
    if rate < 0:
        raise InvalidOptionError(f"{flag}: must be 0 or positive, got {rate}")
    return rate


def _extended_ring(model: Model, velocities: bool) -> PolynomialRing:
    # A parameter named like the clock, the time or another one's velocity would make
    # the printed (and JSON) laws ambiguous: refuse it.
    check_flow_names("momentum-type flow" if velocities else "flow weight-decay",
                     model.parameter_names, clock=CLOCK, time=TIME, velocities=velocities)
    names = [CLOCK, *model.parameter_names]
    if velocities:
        names += [f"{n}_dot" for n in model.parameter_names]
    return PolynomialRing(names)  # distinct: check_flow_names refused every clash


def _mirrored(model: Model, chosen: tuple[int, ...] | None) -> set[int]:
    """Indices of the parameters in the layers ``chosen`` (all when None)."""
    if chosen is None:
        return set(range(model.dimension))
    if model.layers is None:
        raise InvalidOptionError(
            f"mirror_layers: {model.architecture!r} does not number its layers")
    known = sorted(set(model.layers))
    missing = [layer for layer in chosen if layer not in known]
    if missing:
        raise InvalidOptionError(
            f"mirror_layers: no layer {missing[0]} (layers: {','.join(map(str, known))})")
    return {j for j, layer in enumerate(model.layers) if layer in chosen}


def _lift(model: Model, ring: PolynomialRing, shift: int) -> list[VectorField]:
    """Each generating field of ``model`` as (0, ..., ∇φ_i at offset ``shift``)."""
    lifted = []
    for g in model.generators:
        comps = {shift + j: ring.embed(c, 1) for j, c in g.components.items()}
        lifted.append(VectorField(ring, comps, label=g.label))
    return lifted


def _rational_field(ring: PolynomialRing, components: dict[int, tuple[Fraction, Any]],
                    label: str) -> VectorField:
    """A field with components ``coefficient * monomial``, scaled to integers."""
    scale = math.lcm(*(coeff.denominator for coeff, _ in components.values()))
    comps = {j: mono * int(coeff * scale) for j, (coeff, mono) in components.items() if coeff}
    return VectorField(ring, comps, label=label)


def _antisymmetric(mixing: list[tuple[int, int, int]], size: int,
                   clock: tuple[tuple[int, int], ...]) -> SparseLaw:
    """c(s)⟨Aθ, θ'⟩ for the antisymmetric part A of a mixing, on (s, θ, θ').

    Every term (a, b, ±1) of the mixing law pairs two weights that A rotates into each
    other, δθ_a = θ_b and δθ_b = -θ_a (for input and output weights alike): the
    rotation with A_ab = 1 for each term.
    """
    return _rotation_law([(a, b, 1) for a, b, _ in mixing], size, clock)


def _rotation_law(rotation: Rotation, size: int, clock: tuple[tuple[int, int], ...]
                  ) -> SparseLaw:
    """c(s)⟨Aθ, θ'⟩ on (s, θ, θ') for A given by its terms (j, k, A_jk), A_kj = -A_jk.

    ⟨Aθ, θ'⟩ = Σ_jk A_jk θ_k θ'_j = Σ (A_jk θ_k θ'_j - A_jk θ_j θ'_k) over the terms.
    """
    law: SparseLaw = []
    for j, k, c in rotation:
        law.append((c, (*clock, (1 + k, 1), (1 + size + j, 1))))
        law.append((-c, (*clock, (1 + j, 1), (1 + size + k, 1))))
    return law


def _with_clock(law: sympy.Expr, clock: sympy.Expr) -> sympy.Expr:
    """Substitute the clock s and pull its common power out: e^{t}·(U^T U' - ...).

    Term by term when every term is a power of s times a factor free of s (what the
    engines produce): ``factor_terms`` on the whole sum took 60 ms per law of a
    20-unit linear layer (23 s of a 380-law count).

    Examples
    --------
    >>> import sympy
    >>> s, u, v = sympy.symbols(f"{CLOCK} u v")
    >>> _with_clock(s * u * v - 2 * s**2 * v, sympy.Symbol(TIME))
    t*(-2*t*v + u*v)
    """
    import sympy

    s = sympy.Symbol(CLOCK)
    parts = []
    for term in sympy.Add.make_args(law):
        exponent, factors = 0, []
        for factor in sympy.Mul.make_args(term):
            base, power = factor.as_base_exp()
            if base == s and power.is_Integer:
                exponent += int(power)
            elif factor.has(s):
                return sympy.factor_terms(law.subs(s, clock))
            else:
                factors.append(factor)
        parts.append((sympy.Mul(*factors), exponent))
    low = min(exponent for _, exponent in parts)
    rest = sympy.Add(*(c * clock ** (e - low) for c, e in parts))
    return rest if low == 0 else clock**low * rest


class GradientFlow(Flow):
    """θ' = -∇L: the architecture's fields unchanged."""

    name: ClassVar[str] = "gradient"
    summary: ClassVar[str] = "Euclidean gradient flow (default)"
    keeps_parameterization: ClassVar[bool] = True
    transforms_oracles: ClassVar[bool] = True

    def transform(self, model: Model) -> Model:
        return model

    def oracle(self, base: FieldOracle, model: Model) -> FieldOracle:
        return base

    def lift_laws(self, laws: GraphLaws, model: Model) -> list[SparseLaw]:
        return laws.gradient_flow()


class MomentumFlow(Flow):
    """Heavy-ball momentum θ'' + τ θ' = -∇L on the phase space (s, θ, θ')."""

    name: ClassVar[str] = "momentum"
    summary: ClassVar[str] = "heavy ball theta'' + tau theta' = -grad L on (s, theta, theta')"
    options: ClassVar[tuple[Option, ...]] = (
        Option("tau", parse_rate, "friction tau: 0 or a positive rational (default 1)",
               default=Fraction(1), metavar="T"),
    )
    certify_degree: ClassVar[int] = 3
    transforms_oracles: ClassVar[bool] = True
    lifts_rotations: ClassVar[bool] = True

    def coordinates(self, model: Model) -> tuple[str, ...]:
        return _extended_ring(model, velocities=True).names

    def lift_rotations(self, rotations: Sequence[Rotation], model: Model) -> list[SparseLaw]:
        """c(s)⟨Aθ, θ'⟩ per rotation A of φ: d/dt⟨Aθ, θ'⟩ = -τ⟨Aθ, θ'⟩ (see lift_laws)."""
        return [_rotation_law(r, model.dimension, self._clock_factor()) for r in rotations]

    def oracle(self, base: FieldOracle, model: Model) -> FieldOracle:
        from conslaws.core.engine.oracles import PhaseOracle, momentum_drift

        return PhaseOracle(base, momentum_drift(self.settings["tau"], base.modulus),
                           velocities=True)

    def _clock_factor(self) -> tuple[tuple[int, int], ...]:
        """c(s) with c'(s) ṡ = τ c(s): s for τ > 0 (s = e^{τt}), 1 for τ = 0."""
        return ((0, 1),) if self.settings["tau"] else ()

    def lift_laws(self, laws: GraphLaws, model: Model) -> list[SparseLaw]:
        """c(s)⟨Aθ, θ'⟩ for each antisymmetric mixing A; two laws per shift c.

        d/dt⟨Aθ, θ'⟩ = θ'ᵀAθ' - τ⟨Aθ, θ'⟩ - ⟨Aθ, ∇L⟩ = -τ⟨Aθ, θ'⟩ (A antisymmetric and a
        symmetry of φ); for a shift c: c(s) cᵀθ' and τ cᵀθ + cᵀθ' (τ = 0: t cᵀθ' - cᵀθ).
        """
        size, tau = model.dimension, self.settings["tau"]
        clock = self._clock_factor()
        lifted = [_antisymmetric(m, size, clock) for m in laws.mixing]
        for shift in laws.shift:
            velocity = [(c, (*clock, (1 + size + a, 1))) for a, _, c in shift]
            if tau:
                position = [(c * tau.numerator, ((1 + a, 1),)) for a, _, c in shift]
                lifted += [velocity, position + [(c * tau.denominator, ((1 + size + a, 1),))
                                                 for a, _, c in shift]]
            else:
                lifted += [velocity, [(c, ((0, 1), (1 + size + a, 1))) for a, _, c in shift]
                           + [(-c, ((1 + a, 1),)) for a, _, c in shift]]
        return lifted

    def _drift(self, ring: PolynomialRing, size: int) -> VectorField:
        tau: Fraction = self.settings["tau"]
        s = ring.gens[0]
        parts: dict[int, tuple[Fraction, Any]] = {0: (tau, s) if tau else (Fraction(1), ring.one)}
        for j in range(size):
            velocity = ring.gens[1 + size + j]
            parts[1 + j] = (Fraction(1), velocity)
            parts[1 + size + j] = (-tau, velocity)
        return _rational_field(ring, parts, "χ_0")

    def transform(self, model: Model) -> Model:
        ring = _extended_ring(model, velocities=True)
        fields = [self._drift(ring, model.dimension), *_lift(model, ring, 1 + model.dimension)]
        return Model(self.model_name(model), ring, tuple(fields), None,
                     model.architecture, dict(model.options), notes=model.notes)

    def express(self, law: sympy.Expr, model: Model) -> sympy.Expr:
        import sympy

        tau, time = self.settings["tau"], sympy.Symbol(TIME)
        clock = sympy.exp(sympy.Rational(tau.numerator, tau.denominator) * time) if tau else time
        return _with_clock(law, clock)


class NesterovFlow(MomentumFlow):
    """Nesterov's accelerated flow θ'' + (3/t) θ' = -∇L (s = t)."""

    name: ClassVar[str] = "nesterov"
    summary: ClassVar[str] = "Nesterov flow theta'' + (3/t) theta' = -grad L on (t, theta, theta')"
    options: ClassVar[tuple[Option, ...]] = ()

    def oracle(self, base: FieldOracle, model: Model) -> FieldOracle:
        from conslaws.core.engine.oracles import PhaseOracle, nesterov_drift

        return PhaseOracle(base, nesterov_drift(base.modulus), velocities=True)

    def _clock_factor(self) -> tuple[tuple[int, int], ...]:
        """t³: d/dt (t³ X) = 0 when X' = -(3/t) X."""
        return ((0, 3),)

    def lift_laws(self, laws: GraphLaws, model: Model) -> list[SparseLaw]:
        """t³⟨Aθ, θ'⟩ for each antisymmetric mixing A; t³cᵀθ' and 2cᵀθ + t cᵀθ' per shift.

        With τ = 3/t, d/dt⟨Aθ, θ'⟩ = -(3/t)⟨Aθ, θ'⟩, and d/dt cᵀθ' = -(3/t) cᵀθ'.
        """
        size = model.dimension
        lifted = [_antisymmetric(m, size, self._clock_factor()) for m in laws.mixing]
        for shift in laws.shift:
            lifted.append([(c, ((0, 3), (1 + size + a, 1))) for a, _, c in shift])
            lifted.append([(2 * c, ((1 + a, 1),)) for a, _, c in shift]
                          + [(c, ((0, 1), (1 + size + a, 1))) for a, _, c in shift])
        return lifted

    def _drift(self, ring: PolynomialRing, size: int) -> VectorField:
        s = ring.gens[0]
        parts: dict[int, tuple[Fraction, Any]] = {0: (Fraction(1), s)}
        for j in range(size):
            velocity = ring.gens[1 + size + j]
            parts[1 + j] = (Fraction(1), s * velocity)
            parts[1 + size + j] = (Fraction(-3), velocity)
        return _rational_field(ring, parts, "t·χ_0")

    def express(self, law: sympy.Expr, model: Model) -> sympy.Expr:
        import sympy

        return _with_clock(law, sympy.Symbol(TIME))


class MirrorFlow(Flow):
    """Mirror flow θ' = -diag(θ)∇L on the chosen layers (identity elsewhere)."""

    name: ClassVar[str] = "mirror"
    summary: ClassVar[str] = "mirror flow theta' = -diag(theta) grad L (NMF: all layers)"
    options: ClassVar[tuple[Option, ...]] = (
        Option("mirror_layers", lambda v, f: parse_widths(v, f, minimum_length=1),
               "layers with the metric diag(theta), e.g. 2 (default: all)", metavar="L1,L2"),
    )
    transforms_oracles: ClassVar[bool] = True

    def oracle(self, base: FieldOracle, model: Model) -> FieldOracle:
        from conslaws.core.engine.oracles import MirrorOracle

        return MirrorOracle(base, _mirrored(model, self.settings["mirror_layers"]))

    def lift_laws(self, laws: GraphLaws, model: Model) -> list[SparseLaw]:
        """Σ_{j mirrored} 2a_j θ_j + Σ_{j other} a_j θ_j² for each rescaling a.

        Its gradient dotted with diag(m)∇φ is 2 Σ a_j θ_j ∂_j φ = 0 (m_j = θ_j on the
        mirrored coordinates); mixings and shifts on unmirrored coordinates only keep
        their laws, which see the Euclidean fields there.
        """
        scaled = _mirrored(model, self.settings["mirror_layers"])
        lifted: list[SparseLaw] = [
            [(2 * c, ((j, 1),)) if j in scaled else (c, ((j, 2),)) for j, c in enumerate(a) if c]
            for a in laws.rescaling]
        from conslaws.core.models.structural import from_quadratic

        for law in laws.mixing + laws.shift:
            if not any(a in scaled or b in scaled for a, b, _ in law):
                lifted.append(from_quadratic(law))
        return lifted

    def transform(self, model: Model) -> Model:
        scaled = _mirrored(model, self.settings["mirror_layers"])
        gens = model.ring.gens
        fields = tuple(
            VectorField(model.ring,
                        {j: gens[j] * c if j in scaled else c for j, c in g.components.items()},
                        label=f"M{g.label}")
            for g in model.generators
        )
        return Model(self.model_name(model), model.ring, fields, None,
                     model.architecture, dict(model.options), layers=model.layers,
                     notes=model.notes)


class MirrorMomentumFlow(MomentumFlow):
    """Momentum with a mirror metric: θ'' + τθ' = -diag(τθ + θ')∇L on the chosen layers.

    The phase space and the drift are those of ``momentum``; the generating fields
    are (0, 0, diag(τθ + θ')∇φ_i) on the mirrored coordinates and (0, 0, ∇φ_i) on the
    others, the continuous limit of momentum in the mirror coordinates of
    "Keep the momentum" (ICML 2024) as its reference notebooks define it.

    Examples
    --------
    >>> from conslaws.core.frontends.api import build_model
    >>> flow = MirrorMomentumFlow(tau="0")
    >>> flow.transform(build_model("custom", phi="u*v")).generators[1].components
    {3: v*u_dot, 4: u*v_dot}
    """

    name: ClassVar[str] = "mirror-momentum"
    summary: ClassVar[str] = "momentum in mirror coordinates: metric diag(tau theta + theta')"
    options: ClassVar[tuple[Option, ...]] = (
        *MomentumFlow.options,
        MirrorFlow.options[0],
    )

    def oracle(self, base: FieldOracle, model: Model) -> FieldOracle:
        from conslaws.core.engine.oracles import PhaseOracle, mirror_momentum_metric, momentum_drift

        tau, p = self.settings["tau"], base.modulus
        metric = mirror_momentum_metric(tau, _mirrored(model, self.settings["mirror_layers"]),
                                        model.dimension, p)
        return PhaseOracle(base, momentum_drift(tau, p), velocities=True, metric=metric)

    # The metric diag(τθ + θ') breaks the rotation laws of plain momentum (the flow
    # contract's lift_rotations check finds ⟨Aθ, θ'⟩ not conserved here).
    lifts_rotations: ClassVar[bool] = False

    def lift_laws(self, laws: GraphLaws, model: Model) -> list[SparseLaw]:
        return []  # none known in general: "Keep the momentum" finds them all broken

    def lift_rotations(self, rotations: Sequence[Rotation], model: Model) -> list[SparseLaw]:
        return []  # see lifts_rotations

    def transform(self, model: Model) -> Model:
        scaled = _mirrored(model, self.settings["mirror_layers"])
        ring = _extended_ring(model, velocities=True)
        size, tau = model.dimension, self.settings["tau"]
        lifted = _lift(model, ring, 1 + size)
        fields = [self._drift(ring, size)]
        for g in lifted:
            comps = {}
            for k, c in g.components.items():
                j = k - 1 - size
                if j in scaled:
                    # (τ θ_j + θ'_j) c, with τ = a/b scaled by b (a field's span is unchanged).
                    metric = ring.gens[1 + j] * tau.numerator + ring.gens[k] * tau.denominator
                    c = metric * c
                comps[k] = c
            fields.append(VectorField(ring, comps, label=f"M{g.label}"))
        return Model(self.model_name(model), ring, tuple(fields), None,
                     model.architecture, dict(model.options), notes=model.notes)


class WeightDecayFlow(Flow):
    """θ' + λθ = -∇L on (s, θ), s = e^{λt}."""

    name: ClassVar[str] = "weight-decay"
    summary: ClassVar[str] = "gradient flow with weight decay theta' + lambda theta = -grad L"
    options: ClassVar[tuple[Option, ...]] = (
        Option("decay", parse_rate, "decay rate lambda > 0 (default 1)", default=Fraction(1),
               metavar="L"),
    )
    certify_degree: ClassVar[int] = 4
    transforms_oracles: ClassVar[bool] = True
    lifts_gradient_laws: ClassVar[bool] = True

    def coordinates(self, model: Model) -> tuple[str, ...]:
        return _extended_ring(model, velocities=False).names

    def oracle(self, base: FieldOracle, model: Model) -> FieldOracle:
        from conslaws.core.engine.oracles import PhaseOracle, weight_decay_drift

        self._check_rate()
        return PhaseOracle(base, weight_decay_drift(self.settings["decay"], base.modulus),
                           velocities=False)

    def lift_laws(self, laws: GraphLaws, model: Model) -> list[SparseLaw]:
        """H(sθ) for each gradient-flow law H: s² q(θ) for quadratic q, s cᵀθ for shifts.

        χ_0 = (λs, -λθ) leaves sθ fixed, and ∇_θ[q(sθ)]·∇φ(θ) = s² ∇q(θ)·∇φ(θ) = 0 for a
        homogeneous quadratic law q.
        """
        return self.lift_gradient_laws(laws.gradient_flow(), model)

    def lift_gradient_laws(self, laws: Sequence[SparseLaw], model: Model) -> list[SparseLaw]:
        """H(sθ) = s^k H(θ) for each gradient-flow law H homogeneous of degree k.

        χ_0 = (λs, -λθ) leaves sθ fixed, and ∇_θ[H(sθ)]·∇φ(θ) = s^k ∇H(θ)·∇φ(θ) = 0.
        A law that is not homogeneous is left out.
        """
        lifted = []
        for law in laws:
            degrees = {sum(e for _, e in support) for _, support in law}
            if len(degrees) != 1:
                continue
            degree = degrees.pop()
            lifted.append([(c, ((0, degree), *((1 + j, e) for j, e in support)))
                           for c, support in law])
        return lifted

    def _check_rate(self) -> None:
        if self.settings["decay"] == 0:
            raise InvalidOptionError("--decay must be positive (0 is plain gradient flow)")

    def transform(self, model: Model) -> Model:
        rate: Fraction = self.settings["decay"]
        self._check_rate()
        ring = _extended_ring(model, velocities=False)
        parts = {0: (rate, ring.gens[0])}
        parts.update({1 + j: (-rate, ring.gens[1 + j]) for j in range(model.dimension)})
        fields = [_rational_field(ring, parts, "χ_0"), *_lift(model, ring, 1)]
        return Model(self.model_name(model), ring, tuple(fields), None,
                     model.architecture, dict(model.options), notes=model.notes)

    def express(self, law: sympy.Expr, model: Model) -> sympy.Expr:
        import sympy

        rate = self.settings["decay"]
        clock = sympy.exp(sympy.Rational(rate.numerator, rate.denominator) * sympy.Symbol(TIME))
        return _with_clock(law, clock)
