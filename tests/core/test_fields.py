"""Vector fields and their Lie bracket, checked against sympy computed here.

Every expected value is computed in the test from the sympy formulas that
defined the fields (Jacobians, gradients, Hessians, the bracket
``Da·b - Db·a``), never read back from conslaws.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from conslaws.core.algebra.polynomials import PolynomialRing
from conslaws.core.algebra.vector_fields import VectorField, bracket_value

NAMES = ("x", "y", "z")
SETTINGS = settings(max_examples=50, deadline=None)


def _symbols(n: int) -> tuple[sympy.Symbol, ...]:
    # Plain symbols (no assumptions): conslaws maps them onto its own by name.
    return tuple(sympy.Symbol(name) for name in NAMES[:n])


def _monomials(n: int, max_degree: int) -> list[tuple[int, ...]]:
    return [e for e in itertools.product(range(max_degree + 1), repeat=n) if sum(e) <= max_degree]


@st.composite
def polynomials(draw: Any, n: int, max_degree: int = 2) -> sympy.Expr:
    """A polynomial in n variables, degree <= max_degree, small integer coefficients."""
    syms = _symbols(n)
    monomials = _monomials(n, max_degree)
    chosen = draw(
        st.lists(
            st.tuples(st.sampled_from(monomials), st.integers(-3, 3)), min_size=0, max_size=4
        )
    )
    total = sympy.Integer(0)
    for exps, coeff in chosen:
        total += coeff * sympy.Mul(*(s**e for s, e in zip(syms, exps, strict=True)))
    return sympy.expand(total)


@st.composite
def fields(draw: Any, n: int) -> tuple[list[sympy.Expr], sympy.Expr | None]:
    """Components of a field of degree <= 2 (a direct field, or the gradient of a cubic).

    Returns ``(components, potential)``; ``potential`` is None for a direct field.
    """
    if draw(st.booleans()):
        phi = draw(polynomials(n, 3))
        return [sympy.diff(phi, s) for s in _symbols(n)], phi
    return [draw(polynomials(n, 2)) for _ in range(n)], None


def _build(ring: PolynomialRing, spec: tuple[list[sympy.Expr], sympy.Expr | None]) -> VectorField:
    components, potential = spec
    if potential is not None:
        return VectorField.gradient(ring, ring.from_sympy(potential, scale=False))
    return VectorField.from_sympy(ring, components)


def _plain(ring: PolynomialRing, exprs: list[sympy.Expr]) -> list[sympy.Expr]:
    """conslaws' output (in its real symbols) rewritten in the test's plain symbols."""
    back = {s: sympy.Symbol(s.name) for s in ring.symbols}
    return [sympy.expand(sympy.sympify(e).xreplace(back)) for e in exprs]


def _sympy_bracket(a: list[sympy.Expr], b: list[sympy.Expr], syms: tuple[Any, ...]) -> list[Any]:
    ma, mb = sympy.Matrix(a), sympy.Matrix(b)
    result = ma.jacobian(syms) * mb - mb.jacobian(syms) * ma
    return [sympy.expand(e) for e in result]


def _at(exprs: list[sympy.Expr], syms: tuple[Any, ...], point: list[Any]) -> list[Any]:
    subs = {s: sympy.Rational(v.numerator, v.denominator) for s, v in zip(syms, point, strict=True)}
    return [sympy.Rational(sympy.sympify(e).subs(subs)) for e in exprs]


def _dense(sparse: dict[int, Any], n: int) -> list[Any]:
    return [sympy.Rational(Fraction(sparse.get(j, 0))) for j in range(n)]


points = st.lists(
    st.one_of(st.integers(-5, 5), st.fractions(min_value=-3, max_value=3, max_denominator=4)),
    min_size=3,
    max_size=3,
).map(lambda vs: [Fraction(v) for v in vs])

dimensions = st.sampled_from([2, 3])


@SETTINGS
@given(data=st.data(), n=dimensions)
def test_bracket_agrees_with_sympy(data: Any, n: int) -> None:
    syms = _symbols(n)
    ring = PolynomialRing(NAMES[:n])
    spec_a, spec_b = data.draw(fields(n)), data.draw(fields(n))
    expected = _sympy_bracket(spec_a[0], spec_b[0], syms)
    got = _build(ring, spec_a).bracket(_build(ring, spec_b)).to_sympy()
    assert _plain(ring, got) == expected


@SETTINGS
@given(data=st.data(), n=dimensions)
def test_bracket_is_antisymmetric(data: Any, n: int) -> None:
    ring = PolynomialRing(NAMES[:n])
    a, b = _build(ring, data.draw(fields(n))), _build(ring, data.draw(fields(n)))
    ab, ba = a.bracket(b), b.bracket(a)
    assert ab == -ba
    assert (ab + ba).is_zero()
    assert a.bracket(a).is_zero()


@SETTINGS
@given(data=st.data(), n=dimensions)
def test_jacobi_identity(data: Any, n: int) -> None:
    ring = PolynomialRing(NAMES[:n])
    a, b, c = (_build(ring, data.draw(fields(n))) for _ in range(3))
    total = a.bracket(b.bracket(c)) + b.bracket(c.bracket(a)) + c.bracket(a.bracket(b))
    assert total.is_zero()
    assert all(sympy.expand(e) == 0 for e in total.to_sympy())


@SETTINGS
@given(data=st.data(), n=dimensions, point=points)
def test_bracket_value_matches_symbolic_bracket(data: Any, n: int, point: list[Fraction]) -> None:
    syms = _symbols(n)
    point = point[:n]
    ring = PolynomialRing(NAMES[:n])
    spec_a, spec_b = data.draw(fields(n)), data.draw(fields(n))
    a, b = _build(ring, spec_a), _build(ring, spec_b)
    value = bracket_value(a.jacobian_at(point), a.value_at(point),
                          b.jacobian_at(point), b.value_at(point))
    assert all(v != 0 for v in value.values()), "zero entries must be dropped"
    expected = _at(_sympy_bracket(spec_a[0], spec_b[0], syms), syms, point)
    assert _dense(value, n) == expected


@SETTINGS
@given(data=st.data(), n=dimensions, point=points)
def test_values_and_jacobians_match_sympy(data: Any, n: int, point: list[Fraction]) -> None:
    syms = _symbols(n)
    point = point[:n]
    ring = PolynomialRing(NAMES[:n])
    spec = data.draw(fields(n))
    f = _build(ring, spec)
    assert _plain(ring, f.to_sympy()) == [sympy.expand(c) for c in spec[0]]
    assert _dense(f.value_at(point), n) == _at(spec[0], syms, point)
    jac = f.jacobian_at(point)
    expected = sympy.Matrix(spec[0]).jacobian(syms)
    for j in range(n):
        row = _dense(jac.get(j, {}), n)
        assert row == _at(list(expected.row(j)), syms, point)


@SETTINGS
@given(phi=st.one_of(polynomials(2, 3), polynomials(3, 3)), point=points)
def test_gradient_field_values_are_gradient_and_hessian(phi: sympy.Expr,
                                                        point: list[Fraction]) -> None:
    n = 3 if sympy.Symbol("z") in phi.free_symbols else 2
    syms = _symbols(n)
    point = point[:n]
    ring = PolynomialRing(NAMES[:n])
    f = VectorField.gradient(ring, ring.from_sympy(phi, scale=False))
    gradient = [sympy.diff(phi, s) for s in syms]
    hessian = sympy.hessian(phi, syms)
    assert _plain(ring, f.to_sympy()) == [sympy.expand(g) for g in gradient]
    assert _dense(f.value_at(point), n) == _at(gradient, syms, point)
    jac = f.jacobian_at(point)
    for j in range(n):
        assert _dense(jac.get(j, {}), n) == _at(list(hessian.row(j)), syms, point)
    # A gradient field is homogeneous exactly when its potential is.
    degrees = {sum(m) for m in sympy.Poly(phi, *syms).monoms()} if phi != 0 else set()
    assert f.is_homogeneous() == (len(degrees) <= 1)


@SETTINGS
@given(data=st.data(), n=dimensions)
def test_apply_is_directional_derivative(data: Any, n: int) -> None:
    syms = _symbols(n)
    ring = PolynomialRing(NAMES[:n])
    spec = data.draw(fields(n))
    h = data.draw(polynomials(n, 3))
    expected = sympy.expand(sum(sympy.diff(h, s) * c for s, c in zip(syms, spec[0], strict=True)))
    got = _build(ring, spec).apply(ring.from_sympy(h, scale=False))
    assert _plain(ring, [ring.to_sympy(got)]) == [expected]


def test_hand_computed_bracket() -> None:
    # a = (y, x) = ∇(xy), b = (2x, 0) = ∇(x²):
    # Da·b = [[0,1],[1,0]]·(2x,0) = (0, 2x);  Db·a = [[2,0],[0,0]]·(y,x) = (2y, 0).
    ring = PolynomialRing(("x", "y"))
    x, y = sympy.symbols("x y")
    a = VectorField.gradient(ring, ring.from_sympy("x*y"))
    b = VectorField.from_sympy(ring, ["2*x", "0"])
    assert _plain(ring, a.bracket(b).to_sympy()) == [-2 * y, 2 * x]
    # At (3, 5): (-10, 6).
    point = [3, 5]
    value = bracket_value(a.jacobian_at(point), a.value_at(point),
                          b.jacobian_at(point), b.value_at(point))
    assert value == {0: -10, 1: 6}


def test_from_sympy_scales_rationals_by_one_common_denominator() -> None:
    # (x/2, y/3) spans the same line as (3x, 2y): multiplied by lcm(2, 3) = 6.
    ring = PolynomialRing(("x", "y"))
    x, y = sympy.symbols("x y")
    f = VectorField.from_sympy(ring, ["x/2", "y/3"])
    assert _plain(ring, f.to_sympy()) == [3 * x, 2 * y]


def test_zero_components_are_dropped_and_support_is_exact() -> None:
    ring = PolynomialRing(("x", "y", "z"))
    f = VectorField.from_sympy(ring, ["0", "x*z", "0"])
    assert f.support == frozenset({1})
    g = VectorField.gradient(ring, ring.from_sympy("x*z"))
    assert g.support == frozenset({0, 2})
    assert VectorField.from_sympy(ring, ["0", "0", "0"]).is_zero()
