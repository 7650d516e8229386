"""Deep linear networks x -> W_q ⋯ W_1 x.

Expected values come from outside the code under test:

* the rows of theory.md section 5 (two layers with r <= n + m: r(r+1)/2 laws,
  the entries of W1 W1^T - W2^T W2; deep linear 2,3,3,2: 12 laws);
* for degenerate shapes (width 1, scalar input or output, no hidden layer, a
  hidden layer wider than its neighbours together, a width-1 bottleneck), the
  naive sympy reference of ``tests/reference.py`` run on φ built independently
  as a product of sympy matrices.
"""

from __future__ import annotations

import itertools
from functools import cache

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import (
    check_law_basis,
    check_trace,
    functional_rank,
    linear_phi,
    plain,
    random_point,
    reference_count,
    reference_polynomial_laws,
    same_span,
    span_rank,
    sympy_is_conserved,
)

from conslaws.core import build_model, count, find_laws

SEED = 20240611


def shape_id(widths: tuple[int, ...]) -> str:
    return ",".join(map(str, widths))

# Two layers, input m, hidden r, output n, all widths >= 2 and r <= n + m.
TWO_LAYER = [(2, 2, 2), (2, 3, 2), (3, 2, 2), (2, 4, 2), (3, 4, 2), (2, 3, 3), (3, 5, 2),
             (4, 3, 2)]

# Shapes where theory.md says the formulas change: the expectation is computed.
DEGENERATE = [
    (1, 1, 1),  # width 1 everywhere
    (3, 1, 2),  # width-1 hidden layer
    (3, 2),  # no hidden layer
    (1, 1),  # no hidden layer, scalar
    (3, 2, 1),  # scalar output
    (1, 3, 2),  # scalar input
    (1, 2, 1),  # scalar input and output
    (2, 5, 2),  # hidden layer wider than its two neighbours together
    (2, 1, 2, 2),  # deeper, width-1 bottleneck
    (2, 1, 1, 2),  # two width-1 layers
    (1, 2, 2, 1),  # deep, scalar input and output
]
# Generic shapes also checked level by level against the reference.
GENERIC = [(2, 3, 2), (2, 2, 2, 2), (3, 3, 1), (3, 3, 3)]


def weight_matrix(symbols: list[sympy.Symbol], layer: int, rows: int, cols: int) -> sympy.Matrix:
    """W_layer as a sympy matrix of the reference's symbols (rows = outputs)."""
    by_name = {s.name: s for s in symbols}
    return sympy.Matrix(rows, cols, lambda i, j: by_name[f"W{layer}_{i + 1}_{j + 1}"])


def balance_laws(widths: tuple[int, ...], symbols: list[sympy.Symbol]) -> list[sympy.Expr]:
    """Upper-triangle entries of W_l W_l^T - W_{l+1}^T W_{l+1} for every hidden layer l."""
    laws = []
    for layer in range(1, len(widths) - 1):
        w_in = weight_matrix(symbols, layer, widths[layer], widths[layer - 1])
        w_out = weight_matrix(symbols, layer + 1, widths[layer + 1], widths[layer])
        balance = w_in * w_in.T - w_out.T * w_out
        size = widths[layer]
        laws += [sympy.expand(balance[i, j]) for i in range(size) for j in range(i, size)]
    return laws


@cache
def reference(widths: tuple[int, ...]) -> tuple[list[sympy.Symbol], list[sympy.Expr], int,
                                                 list[int]]:
    symbols, phi = linear_phi(widths)
    laws, ranks = reference_count(phi, symbols, seed=SEED)
    return symbols, phi, laws, ranks


@cache
def reference_quadratic_laws(widths: tuple[int, ...]) -> tuple[list[sympy.Expr], int]:
    """Reference basis of the laws of degree <= 2 and how many are functionally independent."""
    symbols, phi, _, _ = reference(widths)
    laws = reference_polynomial_laws(phi, symbols, 2)
    return laws, functional_rank(laws, symbols, random_point(len(symbols), SEED + 1))


@pytest.mark.parametrize("widths", [(2, 3, 2), (3, 1, 2), (2, 3, 3, 2), (1, 1), (1, 2, 2, 1)],
                         ids=shape_id)
def test_parameter_names_follow_the_documented_convention(widths: tuple[int, ...]) -> None:
    symbols, _ = linear_phi(widths)
    model = build_model("linear", widths=widths)
    assert model.parameter_names == tuple(s.name for s in symbols)


@pytest.mark.parametrize(("m", "r", "n"), [(2, 2, 2), (2, 3, 2), (3, 2, 2)])
def test_the_reference_itself_reproduces_theory(m: int, r: int, n: int) -> None:
    # Guards the guard: the naive closure gives the table's r(r+1)/2.
    assert reference((m, r, n))[2] == r * (r + 1) // 2


@pytest.mark.parametrize(("m", "r", "n"), TWO_LAYER)
def test_two_layers_count_is_r_r_plus_1_over_2(exact_backend: str, m: int, r: int,
                                                n: int) -> None:
    result = count("linear", backend=exact_backend, seed=SEED, widths=(m, r, n))
    assert result.parameters == (n + m) * r
    assert result.laws == r * (r + 1) // 2
    assert result.certified


@pytest.mark.parametrize(("m", "r", "n"), [(2, 3, 2), (3, 2, 2), (2, 2, 3), (3, 4, 2)])
def test_two_layers_laws_are_the_balance_matrix(exact_backend: str, m: int, r: int,
                                                 n: int) -> None:
    widths = (m, r, n)
    symbols, phi = linear_phi(widths)
    expected = balance_laws(widths, symbols)
    assert all(sympy_is_conserved(h, phi, symbols) for h in expected)
    assert span_rank(expected, symbols) == r * (r + 1) // 2

    result = find_laws("linear", degree=2, backend=exact_backend, seed=SEED, widths=widths)
    check_law_basis(result.laws, expected, phi, symbols)
    assert result.independent == r * (r + 1) // 2
    assert result.complete


def test_deep_linear_2_3_3_2_has_12_laws(exact_backend: str) -> None:
    result = count("linear", backend=exact_backend, seed=SEED, widths=(2, 3, 3, 2))
    assert result.parameters == 21
    assert result.laws == 12
    assert result.certified


def test_deep_linear_laws_are_the_balance_matrices_of_each_hidden_layer() -> None:
    widths = (2, 3, 3, 2)
    symbols, phi = linear_phi(widths)
    expected = balance_laws(widths, symbols)
    assert all(sympy_is_conserved(h, phi, symbols) for h in expected)

    result = find_laws("linear", degree=2, seed=SEED, widths=widths)
    laws = [plain(h) for h in result.laws]
    assert all(sympy_is_conserved(h, phi, symbols) for h in laws)
    assert same_span(laws, expected, symbols)
    assert result.independent == 12
    assert result.complete


@pytest.mark.parametrize("widths", DEGENERATE + GENERIC, ids=shape_id)
def test_count_and_trace_match_the_naive_reference(exact_backend: str,
                                                   widths: tuple[int, ...]) -> None:
    symbols, _, expected, ranks = reference(widths)
    result = count("linear", backend=exact_backend, seed=SEED, widths=widths)
    assert result.parameters == len(symbols)
    assert result.laws == expected
    assert result.laws_upper_bound == expected
    # Both closures stop when the rank stagnates or reaches D, and W_k is the
    # same space whatever frame is kept, so the levels agree one by one.
    check_trace(result, ranks)
    # The certificate uses the laws of degree <= 2: it is complete exactly
    # when the reference finds that many functionally independent ones.
    _, independent = reference_quadratic_laws(widths)
    assert result.laws_lower_bound == independent
    assert result.certified == (independent == expected)


@pytest.mark.parametrize("widths", DEGENERATE, ids=shape_id)
def test_degenerate_laws_match_the_reference_law_space(widths: tuple[int, ...]) -> None:
    symbols, phi, expected, _ = reference(widths)
    reference_laws, independent = reference_quadratic_laws(widths)
    result = find_laws("linear", degree=2, seed=SEED, widths=widths)
    laws = [plain(h) for h in result.laws]
    assert all(sympy_is_conserved(h, phi, symbols) for h in laws)
    assert len(laws) == span_rank(laws, symbols) == len(reference_laws)
    assert same_span(laws, reference_laws, symbols)
    assert result.independent == independent
    assert result.complete == (independent == expected)


def test_no_hidden_layer_has_no_law(exact_backend: str) -> None:
    # φ is the identity of R^6 (every weight is a coordinate): nothing is conserved.
    result = count("linear", backend=exact_backend, seed=SEED, widths=(3, 2))
    assert (result.laws, result.certified, result.trace_dimensions) == (0, True, [6])


def _parameters(widths: list[int]) -> int:
    return sum(a * b for a, b in itertools.pairwise(widths))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.lists(st.integers(1, 3), min_size=2, max_size=4).filter(lambda w: _parameters(w) <= 14))
def test_random_linear_networks_match_the_reference(widths: list[int]) -> None:
    symbols, phi = linear_phi(widths)
    expected, ranks = reference_count(phi, symbols, seed=SEED)
    result = count("linear", backend="modular", seed=SEED, widths=tuple(widths))
    assert result.laws == expected
    check_trace(result, ranks)
