"""Lie closure and counts: invariances, bound bookkeeping, hand-derived examples.

The expected values come from the mathematics, not from earlier runs:
relabeling parameters, rescaling φ or changing the exact field cannot change
the generic count; trace dimensions are those of nested subspaces; and the
small examples below are worked out by hand in their comments (each law is
re-verified with sympy in the test).
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import conslaws.core as cl
from conslaws.core.engine.closure import lie_closure
from conslaws.core.plugins.registry import backends

SETTINGS = settings(max_examples=50, deadline=None)
POOL = ("a", "b", "c", "d")


@st.composite
def custom_phi(draw: Any) -> tuple[tuple[str, ...], list[sympy.Expr]]:
    """A small polynomial map: 1-3 components, each a sum of 1-2 monomials of degree 1-3."""
    n = draw(st.integers(2, 4))
    syms = sympy.symbols(POOL[:n])
    components = []
    for _ in range(draw(st.integers(1, 3))):
        total = sympy.Integer(0)
        for _ in range(draw(st.integers(1, 2))):
            exps = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)
                        .filter(lambda e: 1 <= sum(e) <= 3))
            coeff = draw(st.sampled_from([-2, -1, 1, 2]))
            total += coeff * sympy.Mul(*(s**e for s, e in zip(syms, exps, strict=True)))
        if total != 0:
            components.append(sympy.expand(total))
    if not components:
        components = [syms[0] * syms[1]]
    return POOL[:n], components


def _summary(result: cl.CountResult) -> tuple[Any, ...]:
    return (result.parameters, result.trace_dimensions, result.lie_dimension, result.laws,
            result.certified, result.laws_lower_bound, result.laws_upper_bound)


def _check_bookkeeping(result: cl.CountResult) -> None:
    dims = result.trace_dimensions
    assert dims, "at least W_0"
    assert all(d1 <= d2 for d1, d2 in itertools.pairwise(dims)), dims
    assert dims[-1] == result.lie_dimension
    assert 0 <= result.lie_dimension <= result.parameters
    assert result.laws == result.parameters - result.lie_dimension
    assert result.laws_lower_bound <= result.laws <= result.laws_upper_bound
    if result.certified:
        assert result.laws_lower_bound == result.laws_upper_bound == result.laws
    assert len(result.parameter_names) == result.parameters


@SETTINGS
@given(spec=custom_phi(), data=st.data())
def test_count_is_invariant_under_relabeling(spec: Any, data: Any) -> None:
    names, phi = spec
    model = cl.Model.from_phi(names, phi)
    # New names, listed in a permuted order, substituted into permuted components.
    order = data.draw(st.permutations(range(len(names))))
    new_names = tuple(f"p{k}" for k in range(len(names)))
    old = sympy.symbols(names)
    rename = {old[i]: sympy.Symbol(new_names[order[i]]) for i in range(len(names))}
    new_phi = data.draw(st.permutations([e.xreplace(rename) for e in phi]))
    relabeled = cl.Model.from_phi(new_names, new_phi)
    seed = data.draw(st.integers(0, 2**16))
    first, second = cl.count(model, seed=seed), cl.count(relabeled, seed=seed + 1)
    _check_bookkeeping(first)
    _check_bookkeeping(second)
    assert _summary(first) == _summary(second)


@SETTINGS
@given(spec=custom_phi(), data=st.data())
def test_count_is_invariant_under_scaling_phi(spec: Any, data: Any) -> None:
    names, phi = spec
    factors = data.draw(st.lists(
        st.fractions(min_value=-5, max_value=5, max_denominator=7).filter(lambda q: q != 0),
        min_size=len(phi), max_size=len(phi)))
    scaled = [sympy.Rational(q.numerator, q.denominator) * e
              for q, e in zip(factors, phi, strict=True)]
    seed = data.draw(st.integers(0, 2**16))
    first = cl.count(cl.Model.from_phi(names, phi), seed=seed)
    second = cl.count(cl.Model.from_phi(names, scaled), seed=seed + 7)
    assert _summary(first) == _summary(second)


@settings(max_examples=25, deadline=None)
@given(spec=custom_phi(), seed=st.integers(0, 2**16))
def test_exact_backends_agree(spec: Any, seed: int) -> None:
    names, phi = spec
    model = cl.Model.from_phi(names, phi)
    modular = cl.count(model, seed=seed, backend="modular")
    rational = cl.count(model, seed=seed, backend="rational")
    _check_bookkeeping(modular)
    _check_bookkeeping(rational)
    assert _summary(modular) == _summary(rational)
    # At one integer point both exact fields see the same ranks (no small prime here).
    point = [(-1) ** k * (k + 2) for k in range(len(names))]
    at_mod = cl.count(model, point=point, backend="modular", certify_degree=0)
    at_rat = cl.count(model, point=point, backend="rational", certify_degree=0)
    assert at_mod.trace_dimensions == at_rat.trace_dimensions


@SETTINGS
@given(spec=custom_phi(), seed=st.integers(0, 2**16))
def test_without_law_search_only_zero_is_certified(spec: Any, seed: int) -> None:
    names, phi = spec
    result = cl.count(cl.Model.from_phi(names, phi), seed=seed, certify_degree=0)
    _check_bookkeeping(result)
    assert result.laws_lower_bound == 0
    assert result.certified == (result.laws_upper_bound == 0)


@pytest.mark.parametrize(
    ("architecture", "options", "laws"),
    [
        # W1 W1^T - W2^T W2 for widths n0, n1, n2: n1 (n1 + 1) / 2 laws.
        ("linear", {"widths": (2, 2, 2)}, 3),
        ("linear", {"widths": (2, 3, 2)}, 6),
        # One balance law per hidden ReLU neuron.
        ("relu", {"widths": (2, 3, 1), "bias": True}, 3),
        ("relu", {"widths": (3, 4, 2), "bias": True}, 4),
    ],
)
def test_known_counts_and_bookkeeping(architecture: str, options: dict[str, Any],
                                      laws: int) -> None:
    for backend in ("modular", "rational"):
        result = cl.count(architecture, seed=3, backend=backend, **options)
        _check_bookkeeping(result)
        assert result.laws == laws
        assert result.certified
    estimate = cl.count(architecture, seed=3, backend="float", **options)
    assert not estimate.certified
    assert estimate.laws_lower_bound <= estimate.laws_upper_bound


def _sympy_is_law(h: sympy.Expr, fields: list[list[sympy.Expr]], syms: Any) -> bool:
    return all(
        sympy.expand(sum(sympy.diff(h, s) * c for s, c in zip(syms, f, strict=True))) == 0
        for f in fields
    )


def _sympy_laws_up_to(fields: list[list[sympy.Expr]], syms: Any, degree: int) -> int:
    """Dimension of the space of polynomial laws of degree 1..degree, by a sympy solve."""
    monomials = [m for d in range(1, degree + 1)
                 for m in itertools.combinations_with_replacement(syms, d)]
    unknowns = sympy.symbols(f"c0:{len(monomials)}")
    h = sum(c * sympy.Mul(*m) for c, m in zip(unknowns, monomials, strict=True))
    equations = []
    for f in fields:
        expr = sympy.expand(sum(sympy.diff(h, s) * c for s, c in zip(syms, f, strict=True)))
        equations += sympy.Poly(expr, *syms).coeffs() if expr != 0 else []
    if not equations:
        return len(unknowns)
    matrix, _ = sympy.linear_eq_to_matrix(equations, unknowns)
    return len(unknowns) - matrix.rank()


def test_harmonic_phi_has_only_a_cubic_law() -> None:
    # φ = Re z³ = x³ - 3xy², ∇φ = (3x² - 3y², -6xy).  Its harmonic conjugate
    # h = Im z³ = 3x²y - y³ is conserved by Cauchy-Riemann (∇Re·∇Im = 0).
    # One field in the plane: exactly one law.  A law of degree <= 2 would be a
    # function of h, and homogeneity forces it to be c·h^(2/3): not a polynomial.
    x, y = sympy.symbols("x y")
    phi = x**3 - 3 * x * y**2
    h = 3 * x**2 * y - y**3
    field = [sympy.diff(phi, x), sympy.diff(phi, y)]
    assert _sympy_is_law(h, [field], (x, y))
    assert _sympy_laws_up_to([field], (x, y), 2) == 0
    assert _sympy_laws_up_to([field], (x, y), 3) == 1

    model = cl.Model.from_phi(("x", "y"), [phi])
    low = cl.count(model, seed=5, certify_degree=2)
    assert (low.laws, low.certified) == (1, False)
    assert (low.laws_lower_bound, low.laws_upper_bound) == (0, 1)
    high = cl.count(model, seed=5, certify_degree=3)
    assert (high.laws, high.certified) == (1, True)
    assert (high.laws_lower_bound, high.laws_upper_bound) == (1, 1)
    (verified,) = high.verified_laws
    ratio = sympy.simplify(sympy.sympify(str(verified), {"x": x, "y": y}) / h)
    assert ratio.is_constant() and ratio != 0
    none = cl.count(model, seed=5, certify_degree=0)
    assert (none.certified, none.laws_lower_bound, none.laws_upper_bound) == (False, 0, 1)


def test_field_with_cusp_law_needs_degree_three() -> None:
    # w = (2y, 3x²) is not a gradient; h = y² - x³ is a law:
    # ∇h·w = (-3x²)(2y) + (2y)(3x²) = 0.  Polynomial laws are polynomials in h
    # (h is irreducible and generates the first integrals), so none has degree < 3.
    x, y = sympy.symbols("x y")
    field = [2 * y, 3 * x**2]
    assert _sympy_is_law(y**2 - x**3, [field], (x, y))
    assert _sympy_laws_up_to([field], (x, y), 2) == 0
    model = cl.Model.from_fields(("x", "y"), [field])
    low = cl.count(model, seed=2, certify_degree=2)
    assert (low.laws, low.certified, low.laws_lower_bound, low.laws_upper_bound) == (1, False, 0, 1)
    high = cl.count(model, seed=2, certify_degree=3)
    assert (high.laws, high.certified, high.laws_lower_bound) == (1, True, 1)


def test_monomial_phi_has_a_quadratic_law() -> None:
    # φ = x y²: ∇φ = (y², 2xy), and h = 2x² - y² has ∇h·∇φ = 4xy² - 4xy² = 0.
    x, y = sympy.symbols("x y")
    assert _sympy_is_law(2 * x**2 - y**2, [[y**2, 2 * x * y]], (x, y))
    result = cl.count(cl.Model.from_phi(("x", "y"), ["x*y**2"]), seed=4)
    assert (result.laws, result.certified) == (1, True)
    assert result.trace_dimensions == [1, 1]


def test_rotation_field_has_one_law() -> None:
    # (y, -x) is tangent to circles: h = x² + y².  One field in R²: 1 law.
    result = cl.count(cl.Model.from_fields(("x", "y"), [["y", "-x"]]), seed=0)
    assert (result.parameters, result.lie_dimension, result.laws) == (2, 1, 1)
    assert result.certified
    assert [str(h) for h in result.verified_laws] == ["x**2 + y**2"]


def test_two_generic_fields_in_the_plane_have_no_law() -> None:
    # (y, -x) and (x, y) have determinant -(x² + y²) != 0 away from 0.
    result = cl.count(cl.Model.from_fields(("x", "y"), [["y", "-x"], ["x", "y"]]), seed=0)
    assert (result.trace_dimensions, result.laws, result.certified) == ([2], 0, True)


def test_rotations_of_space_conserve_the_norm() -> None:
    # L_x = (0, -z, y), L_y = (z, 0, -x), [L_x, L_y] = ±L_z: all orthogonal to θ,
    # so the trace is the 2-plane θ^⊥ at every θ != 0, and x² + y² + z² is the law.
    model = cl.Model.from_fields(("x", "y", "z"), [["0", "-z", "y"], ["z", "0", "-x"]])
    result = cl.count(model, seed=1)
    assert (result.trace_dimensions, result.laws, result.certified) == ([2, 2], 1, True)
    assert [str(h) for h in result.verified_laws] == ["x**2 + y**2 + z**2"]


@pytest.mark.parametrize("backend", ["modular", "rational"])
def test_closure_levels_grow_one_at_a_time(backend: str) -> None:
    # On R⁴ with a = ∂x = (1,0,0,0) and b = (0, 1, x, x²):
    # [a, b] = Da·b - Db·a = -(0, 0, 1, 2x),  [a, [a, b]] = -(0, 0, 0, -2) = (0, 0, 0, 2).
    # So dim W_0 = 2, W_1 = 3, W_2 = 4 at every point: no law.
    model = cl.Model.from_fields(("x", "y", "z", "w"),
                                 [["1", "0", "0", "0"], ["0", "1", "x", "x**2"]])
    closure = lie_closure(model.generators, [3, -1, 2, 7], backends.load(backend)())
    assert closure.trace_dimensions == [2, 3, 4]
    assert closure.lie_dimension == 4
    result = cl.count(model, seed=0, backend=backend)
    assert (result.trace_dimensions, result.laws, result.certified) == ([2, 3, 4], 0, True)


def test_contact_structure_is_bracket_generating() -> None:
    # a = (1, 0, 0), b = (0, 1, x): [a, b] = -Db·a = (0, 0, -1); trace [2, 3].
    model = cl.Model.from_fields(("x", "y", "z"), [["1", "0", "0"], ["0", "1", "x"]])
    closure = lie_closure(model.generators, [Fraction(1, 2), 0, 5], backends.load("rational")())
    assert closure.trace_dimensions == [2, 3]


def test_product_phi_closure_matches_hand_count() -> None:
    # φ = x1 x2 x3: one field, one-dimensional trace, D - 1 = 2 laws.
    model = cl.Model.from_phi(("x1", "x2", "x3"), ["x1*x2*x3"])
    for backend in ("modular", "rational"):
        closure = lie_closure(model.generators, [2, 3, 5], backends.load(backend)())
        assert closure.trace_dimensions == [1, 1]
    result = cl.count(model, seed=9)
    assert (result.laws, result.certified) == (2, True)


def test_trace_dimensions_at_a_given_non_generic_point() -> None:
    # a = (v1, u, 0), b = (v2, 0, u): [a, b] = Da·b - Db·a = (0, v2, -v1),
    # [a, [a, b]] = b and [b, [a, b]] = -a.  At (0, 2, 3): a = (2,0,0), b = (3,0,0),
    # [a, b] = (0, 3, -2), so dim W_0 = 1 and dim W_1 = dim W_2 = 2 (cli.md:
    # trace_dimensions are dim W_0, dim W_1, ... *at the point*).
    result = cl.count("custom", phi="u*v1; u*v2", point=[0, 2, 3], backend="rational")
    assert result.trace_dimensions[:2] == [1, 2]
    assert result.lie_dimension == 2


def test_probe_frames_carry_their_own_values() -> None:
    # Large levels use random bilinear probes; each frame field they keep must
    # have, at the point, exactly the value the closure used for it (a sign slip
    # here once produced a spurious full rank and a false certificate).
    import random

    for arch, options, laws in (
        # theory.md section 5: d1 (d1 + 1) laws for one head with d1 <= 2d; r(r+1)/2
        # for two linear layers; one per hidden neuron for ReLU.
        ("attention", {"dim": 3, "head_dim": 2}, 6),
        ("linear", {"widths": (2, 3, 3, 2)}, 12),
        ("relu", {"widths": (3, 4, 2), "bias": True}, 4),
    ):
        model = cl.build_model(arch, **options)
        draw = random.Random(5)
        point = [draw.randint(-(10**6), 10**6) for _ in range(model.dimension)]
        rational = backends.load("rational")()
        probed = lie_closure(model.generators, point, rational, probes=True,
                             rng=random.Random(1))
        paired = lie_closure(model.generators, point, rational, probes=False)
        assert probed.trace_dimensions == paired.trace_dimensions
        assert model.dimension - probed.lie_dimension == laws
        fields = [f for level in probed.frames for f in level]
        for field, row in zip(fields, probed.frame_rows, strict=True):
            if hasattr(field, "value_at"):
                assert field.value_at(point) == row
