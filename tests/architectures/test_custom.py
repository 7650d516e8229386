"""Custom polynomial maps φ (and raw fields), against theory.md section 5.

Each row gives φ, the number of laws and explicit laws; the laws conslaws finds
are checked with the sympy reference (∇h·∇φ_i expands to 0) and compared by
span, over Q, with the explicit ones and with a brute-force reference search.
"""

from __future__ import annotations

import pytest
import sympy
from reference import (
    check_law_basis,
    plain,
    reference_count,
    reference_polynomial_laws,
    same_span,
    sympy_is_conserved,
)

from conslaws.core import build_model, count, find_laws, is_conserved
from conslaws.core.errors import InvalidExpressionError, InvalidOptionError

SEED = 20240613

x1, x2, x3, u, v, v1, v2 = sympy.symbols("x1 x2 x3 u v v1 v2")

# (phi option, parameter order as documented, explicit laws of theory.md section 5)
ROWS = [
    pytest.param("x1*x2*x3", (x1, x2, x3), [x3**2 - x1**2, x2**2 - x1**2], id="x1x2x3"),
    pytest.param("u*v", (u, v), [u**2 - v**2], id="linear-neuron"),
    # u σ(v x) with σ positively k-homogeneous: φ = u v^k, law k u² - v².
    pytest.param("u*v**2", (u, v), [2 * u**2 - v**2], id="2-homogeneous"),
    pytest.param("u*v**3", (u, v), [3 * u**2 - v**2], id="3-homogeneous"),
    pytest.param("u*v1; u*v2", (u, v1, v2), [v1**2 + v2**2 - u**2], id="u-v1-v2"),
]


def _phi(text: str) -> list[sympy.Expr]:
    return [sympy.sympify(part) for part in text.split(";")]


@pytest.mark.parametrize(("phi", "symbols", "explicit"), ROWS)
def test_count_matches_theory(exact_backend: str, phi: str, symbols: tuple[sympy.Symbol, ...],
                              explicit: list[sympy.Expr]) -> None:
    result = count("custom", backend=exact_backend, seed=SEED, phi=phi)
    assert result.parameter_names == tuple(s.name for s in symbols)
    assert result.parameters == len(symbols)
    assert result.laws == len(explicit)
    assert result.certified
    # The naive reference agrees with the table.
    assert reference_count(_phi(phi), list(symbols), seed=SEED)[0] == len(explicit)


@pytest.mark.parametrize(("phi", "symbols", "explicit"), ROWS)
def test_laws_span_the_explicit_laws(exact_backend: str, phi: str,
                                     symbols: tuple[sympy.Symbol, ...],
                                     explicit: list[sympy.Expr]) -> None:
    components = _phi(phi)
    assert all(sympy_is_conserved(h, components, symbols) for h in explicit)
    result = find_laws("custom", degree=2, backend=exact_backend, seed=SEED, phi=phi)
    laws = check_law_basis(result.laws, explicit, components, symbols)
    assert same_span(laws, reference_polynomial_laws(components, symbols, 2), symbols)
    assert result.independent == len(explicit)
    assert result.complete


def test_params_fix_the_parameter_order() -> None:
    model = build_model("custom", phi="u*v1; u*v2", params="v2,v1,u")
    assert model.parameter_names == ("v2", "v1", "u")
    result = count(model, seed=SEED)
    assert (result.laws, result.certified) == (1, True)
    assert is_conserved(model, "v1**2 + v2**2 - u**2")


def test_symbols_are_sorted_naturally() -> None:
    model = build_model("custom", phi="x10*x2 + x1")
    assert model.parameter_names == ("x1", "x2", "x10")


def test_sympy_expressions_are_accepted() -> None:
    result = count("custom", seed=SEED, phi=[u * v1, u * v2])
    assert (result.laws, result.certified) == (1, True)


def test_product_of_four_has_three_laws(exact_backend: str) -> None:
    # φ = x1 x2 x3 x4 (theory.md: φ = x_1 ⋯ x_D has the D - 1 laws x_i² - x_1²).
    symbols = sympy.symbols("x1:5")
    phi = [sympy.Mul(*symbols)]
    expected = [s**2 - symbols[0] ** 2 for s in symbols[1:]]
    assert all(sympy_is_conserved(h, phi, symbols) for h in expected)
    result = count("custom", backend=exact_backend, seed=SEED, phi="x1*x2*x3*x4")
    assert (result.laws, result.certified) == (3, True)
    laws = [plain(h) for h in find_laws("custom", degree=2, seed=SEED, phi="x1*x2*x3*x4").laws]
    assert same_span(laws, expected, symbols)


def test_rotation_field_conserves_the_squared_radius(exact_backend: str) -> None:
    # A field that is not a gradient: w = (y, -x).  ∇h·w = 0 for h = x² + y².
    x, y = sympy.symbols("x y")
    result = count("custom", backend=exact_backend, seed=SEED, fields="y; -x")
    assert (result.parameters, result.laws, result.certified) == (2, 1, True)
    laws = [plain(h) for h in find_laws("custom", degree=2, seed=SEED, fields="y; -x").laws]
    for h in laws:
        assert sympy.expand(sympy.diff(h, x) * y - sympy.diff(h, y) * x) == 0
    assert same_span(laws, [x**2 + y**2], (x, y))


@pytest.mark.parametrize("phi", ["exp(u)", "u/v", "sqrt(u)"])
def test_non_polynomial_phi_is_refused(phi: str) -> None:
    with pytest.raises(InvalidExpressionError):
        build_model("custom", phi=phi)


def test_phi_and_fields_are_exclusive() -> None:
    with pytest.raises(InvalidOptionError):
        build_model("custom", phi="u*v", fields="v; u")
    with pytest.raises(InvalidOptionError):
        build_model("custom")
