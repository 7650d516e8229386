"""Polynomial vector fields with integer coefficients, and their Lie bracket.

A field on R^D is stored sparsely: only its nonzero components, each a
``flint.fmpz_mpoly``.  Gradient fields remember their potential φ_i so that
values and Jacobians at a point come from φ_i's terms directly (a Hessian is
cheaper to read off φ_i than to differentiate D components first).

The bracket follows docs/theory.md section 2: ``[a, b] = Da·b - Db·a``.

Examples
--------
>>> from conslaws.core.algebra.polynomials import PolynomialRing
>>> ring = PolynomialRing(("u", "v"))
>>> u, v = ring.gens
>>> a = VectorField.gradient(ring, u * v)   # (v, u)
>>> b = VectorField.gradient(ring, u ** 2)  # (2u, 0)
>>> a.bracket(b).to_sympy()
[-2*v, 2*u]
>>> a.apply(ring.from_sympy("u**2 - v**2"))  # ∇h·a = 0: a conservation law
0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import flint

from conslaws.core.algebra.polynomials import Number, PolynomialRing, SparseTerms

if TYPE_CHECKING:
    import sympy

__all__ = ["VectorField", "bracket_value"]

#: A sparse vector: index -> nonzero value.
SparseVector = dict[int, Number]
#: A sparse Jacobian: row j -> {column k: ∂_k f_j}.
SparseJacobian = dict[int, dict[int, Number]]


class VectorField:
    """A polynomial vector field, sparse in its components.

    Parameters
    ----------
    ring : PolynomialRing
        The ring of the components.
    components : mapping int -> fmpz_mpoly
        Component ``j`` (zero components may be omitted or given; they are dropped).
    potential : fmpz_mpoly, optional
        When given, the field is ``∇potential`` (components may then be empty;
        they are derived on demand).
    label : str, optional
        How the field came about, for messages (``"∇φ_3"``, ``"[f1, f7]"``).
    """

    __slots__ = ("__dict__", "label", "potential", "ring")

    def __init__(
        self,
        ring: PolynomialRing,
        components: Mapping[int, Any] | None = None,
        *,
        potential: Any = None,
        label: str = "",
    ) -> None:
        self.ring = ring
        self.potential = potential
        self.label = label
        if components is not None:
            self.__dict__["components"] = {
                j: c for j, c in components.items() if not c.is_zero()
            }

    @classmethod
    def gradient(cls, ring: PolynomialRing, phi: Any, label: str = "") -> VectorField:
        """The field ``∇phi``; components are computed only when needed."""
        return cls(ring, None, potential=phi, label=label)

    @classmethod
    def from_sympy(
        cls, ring: PolynomialRing, components: Sequence[Any], label: str = ""
    ) -> VectorField:
        """A field from D sympy expressions (or strings); rationals are scaled away.

        The whole field is multiplied by one common denominator, which does not
        change the line it spans at any point.
        """
        from conslaws.core.errors import InvalidExpressionError

        if len(components) != ring.dimension:
            raise InvalidExpressionError(
                f"a vector field needs {ring.dimension} components, got {len(components)}"
            )
        # Scale each component to integers, then bring them to one common scale.
        scaled = [ring.from_sympy_scaled(c) for c in components]
        common = math.lcm(*(den for _, den in scaled))
        comps = {j: poly * (common // den) for j, (poly, den) in enumerate(scaled)}
        return cls(ring, comps, label=label)

    @cached_property
    def components(self) -> dict[int, Any]:
        """Nonzero components as ``{index: fmpz_mpoly}``."""
        assert self.potential is not None
        variables = self._compiled_potential.variables
        comps = {j: self.potential.derivative(j) for j in sorted(variables)}
        return {j: c for j, c in comps.items() if not c.is_zero()}

    @cached_property
    def _compiled(self) -> dict[int, SparseTerms]:
        return {j: SparseTerms(c) for j, c in self.components.items()}

    @cached_property
    def _compiled_potential(self) -> SparseTerms:
        return SparseTerms(self.potential)

    @cached_property
    def component_variables(self) -> dict[int, frozenset[int]]:
        """For each nonzero component, the variables it depends on."""
        return {j: variables_of(c) for j, c in self.components.items()}

    @property
    def support(self) -> frozenset[int]:
        """Indices of the nonzero components."""
        if self.potential is not None and "components" not in self.__dict__:
            return self._compiled_potential.variables
        return frozenset(self.components)

    def is_homogeneous(self) -> bool:
        """True when all components have terms of one total degree."""
        if self.potential is not None:
            terms = self._compiled_potential.terms
        else:
            terms = [t for comp in self._compiled.values() for t in comp.terms]
            # ∇φ is homogeneous iff φ is; for direct fields compare component terms.
        degrees = {sum(e for _, e in support) for _, support in terms}
        return len(degrees) <= 1

    def is_zero(self) -> bool:
        """True when every component is the zero polynomial."""
        return not self.components

    def value_at(self, point: Sequence[Number]) -> SparseVector:
        """The field's value at ``point``, as a sparse vector of exact numbers."""
        if self.potential is not None:
            return self._compiled_potential.gradient(point)
        integer_point = _as_fmpz(point)
        values: dict[int, Number]
        if integer_point is not None:
            # flint's evaluator runs in C; reading large brackets term by term
            # in Python costs 40x more.  But it converts all D arguments on every
            # call: a component of a few terms among thousands of variables is read
            # faster term by term.
            dimension = self.ring.dimension
            values = {j: int(c(*integer_point)) if len(c) * 64 > dimension
                      else self._compiled[j].value(point) for j, c in self.components.items()}
        else:
            values = {j: t.value(point) for j, t in self._compiled.items()}
        return {j: v for j, v in values.items() if v}

    def jacobian_at(self, point: Sequence[Number]) -> SparseJacobian:
        """The Jacobian ``D f`` at ``point``, sparse by rows."""
        jac: SparseJacobian = {}
        if self.potential is not None:
            for (j, k), v in self._compiled_potential.hessian(point).items():
                jac.setdefault(j, {})[k] = v
            return jac
        integer_point = _as_fmpz(point)
        for j, c in self.components.items():
            row: dict[int, Number]
            if integer_point is not None:
                row = {k: int(c.derivative(k)(*integer_point))
                       for k in sorted(self.component_variables[j])}
                row = {k: v for k, v in row.items() if v}
            else:
                row = self._compiled[j].gradient(point)
            if row:
                jac[j] = row
        return jac

    def apply(self, h: Any) -> Any:
        """The polynomial ``∇h · f`` (zero iff h is conserved along f)."""
        terms = [h.derivative(j) * c for j, c in self.components.items()]
        total = self.ring.zero()
        for t in terms:
            total += t
        return total

    def bracket(self, other: VectorField, label: str = "") -> VectorField:
        """The Lie bracket ``[self, other] = D(self)·other - D(other)·self``."""
        acc: dict[int, list[Any]] = {}
        a, b = self.components, other.components
        for j, aj in a.items():
            for k in self.component_variables[j] & b.keys():
                acc.setdefault(j, []).append(aj.derivative(k) * b[k])
        for j, bj in b.items():
            for k in other.component_variables[j] & a.keys():
                acc.setdefault(j, []).append(-(bj.derivative(k) * a[k]))
        comps = {}
        for j, parts in acc.items():
            total = parts[0]
            for p in parts[1:]:
                total = total + p
            comps[j] = total
        return VectorField(self.ring, comps, label=label or f"[{self.label}, {other.label}]")

    def to_sympy(self) -> list[sympy.Expr]:
        """The D components as sympy expressions."""
        import sympy

        out: list[sympy.Expr] = [sympy.Integer(0)] * self.ring.dimension
        for j, c in self.components.items():
            out[j] = self.ring.to_sympy(c)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VectorField):
            return NotImplemented
        return self.ring is other.ring and self.components == other.components

    __hash__ = None  # type: ignore[assignment]

    def __neg__(self) -> VectorField:
        return VectorField(self.ring, {j: -c for j, c in self.components.items()})

    def __add__(self, other: VectorField) -> VectorField:
        comps = dict(self.components)
        for j, c in other.components.items():
            comps[j] = comps[j] + c if j in comps else c
        return VectorField(self.ring, comps)

    def __sub__(self, other: VectorField) -> VectorField:
        return self + (-other)

    def __repr__(self) -> str:
        name = self.label or "VectorField"
        return f"<{name}: {len(self.support)} nonzero of {self.ring.dimension} components>"


def variables_of(poly: Any) -> frozenset[int]:
    """Indices of the variables a flint polynomial depends on."""
    return frozenset(j for j, d in enumerate(poly.degrees()) if d > 0)


def _as_fmpz(point: Sequence[Number]) -> tuple[Any, ...] | None:
    if all(isinstance(v, int) for v in point):
        return tuple(flint.fmpz(int(v)) for v in point)
    return None


def jacobian_times(jacobian: SparseJacobian, vector: SparseVector) -> dict[int, Number]:
    """The sparse product ``J · v`` (zero entries omitted)."""
    out: dict[int, Number] = {}
    for j, row in jacobian.items():
        s: Number = 0
        for k, v in row.items():
            w = vector.get(k)
            if w:
                s += v * w
        if s:
            out[j] = s
    return out


def bracket_value(
    jac_a: SparseJacobian, value_a: SparseVector, jac_b: SparseJacobian, value_b: SparseVector
) -> SparseVector:
    """Value of ``[a, b] = Da·b - Db·a`` at a point, from values and Jacobians there.

    This is how the closure evaluates a bracket without forming it symbolically.

    Examples
    --------
    >>> bracket_value({0: {1: 1}, 1: {0: 1}}, {0: 2, 1: 3}, {0: {0: 2}}, {0: 6})
    {1: 6, 0: -4}
    """
    out = jacobian_times(jac_a, value_b)
    for j, v in jacobian_times(jac_b, value_a).items():
        out[j] = out.get(j, 0) - v
    return {j: v for j, v in out.items() if v}
