"""Attention layers: φ = (Q_h^T K_h, V_h^T O_h) for each head h.

Expected values come from outside the code under test:

* theory.md section 5: single head, Q, K, V, O ∈ R^{d1×d}, d1 <= 2d: D = 4 d1 d and
  d1 (d1 + 1) laws, functions of QQ^T - KK^T and VV^T - OO^T;
* multi-head, derived: the heads' parameters are disjoint and φ is the union of
  the per-head φ, so the fields of different heads act on disjoint coordinates
  and commute; the Lie algebra is the direct sum of the heads' algebras and
  each head of d1/H rows contributes (d1/H)(d1/H + 1) laws;
* φ and the symmetric matrices built here with sympy matrices; the naive
  closure of ``tests/reference.py`` on that φ for the smallest shapes.
"""

from __future__ import annotations

from functools import cache

import pytest
import sympy
from reference import (
    check_law_basis,
    check_trace,
    plain,
    random_point,
    reference_lie_rank,
    reference_polynomial_laws,
    same_span,
    sympy_is_conserved,
)

from conslaws.core import build_model, count, find_laws
from conslaws.core.errors import InvalidOptionError
from conslaws.core.frontends.cli import main

SEED = 20240623

Shape = tuple[int, int, int]  # dim d, head_dim d1, heads H


def shape_id(shape: Shape) -> str:
    return "d{}-d1_{}-H{}".format(*shape)


def options(shape: Shape) -> dict[str, int]:
    d, d1, heads = shape
    return {"dim": d, "head_dim": d1, "heads": heads}


@cache
def attention_matrices(shape: Shape) -> tuple[list[sympy.Symbol],
                                              list[dict[str, sympy.Matrix]]]:
    """Parameters in the documented order and each head's Q, K, V, O ((d1/H)×d)."""
    d, d1, heads = shape
    rows = d1 // heads
    symbols: list[sympy.Symbol] = []
    per_head = []
    for h in range(1, heads + 1):
        mats = {}
        for name in "QKVO":
            mats[name] = sympy.Matrix(
                rows, d, lambda c, a, h=h, name=name: sympy.Symbol(f"{name}{h}_{c + 1}_{a + 1}"))
            symbols += list(mats[name])
        per_head.append(mats)
    return symbols, per_head


@cache
def attention_phi(shape: Shape) -> tuple[list[sympy.Symbol], list[sympy.Expr]]:
    symbols, per_head = attention_matrices(shape)
    phi: list[sympy.Expr] = []
    for m in per_head:
        phi += [sympy.expand(e) for e in m["Q"].T * m["K"]]
        phi += [sympy.expand(e) for e in m["V"].T * m["O"]]
    return symbols, phi


def expected_laws(shape: Shape) -> list[sympy.Expr]:
    """Upper-triangle entries of Q_h Q_h^T - K_h K_h^T and V_h V_h^T - O_h O_h^T.

    For d = 1 also the entries above the diagonal of Q_h K_h^T - K_h Q_h^T and
    V_h O_h^T - O_h V_h^T.  Derivation: with G = ∂L/∂(Q^T K) (d×d) the flow is
    Q' = -K G^T, K' = -Q G, so (Q K^T - K Q^T)' = K (G - G^T) K^T + Q (G - G^T) Q^T,
    which vanishes for every loss exactly when d = 1 (G is a scalar).  These are
    functions of the first ones (the count is unchanged) but not in their span.
    """
    d, _, _ = shape
    _, per_head = attention_matrices(shape)
    laws = []
    for m in per_head:
        for left, right in (("Q", "K"), ("V", "O")):
            diff = m[left] * m[left].T - m[right] * m[right].T
            laws += [sympy.expand(diff[i, j]) for i in range(diff.rows)
                     for j in range(i, diff.cols)]
            if d == 1:
                skew = m[left] * m[right].T - m[right] * m[left].T
                laws += [sympy.expand(skew[i, j]) for i in range(skew.rows)
                         for j in range(i + 1, skew.cols)]
    return laws


def expected_count(shape: Shape) -> int:
    _, d1, heads = shape
    rows = d1 // heads
    return heads * rows * (rows + 1)


SINGLE = [(1, 1, 1), (1, 2, 1), (2, 1, 1), (2, 2, 1), (2, 3, 1), (3, 2, 1)]
MULTI = [(2, 2, 2), (2, 4, 2), (3, 4, 2)]


@pytest.mark.parametrize("shape", SINGLE + MULTI, ids=shape_id)
def test_parameter_names_and_phi_match_the_matrix_products(shape: Shape) -> None:
    symbols, phi = attention_phi(shape)
    model = build_model("attention", **options(shape))
    assert model.parameter_names == tuple(s.name for s in symbols)
    assert [plain(model.ring.to_sympy(p)) for p in model.phi] == phi


@pytest.mark.parametrize("shape", SINGLE + MULTI, ids=shape_id)
def test_count_is_d1_times_d1_plus_one_per_head(exact_backend: str, shape: Shape) -> None:
    d, d1, _ = shape
    result = count("attention", backend=exact_backend, seed=SEED, **options(shape))
    assert result.parameters == 4 * d1 * d
    assert result.laws == expected_count(shape)
    assert result.certified


@pytest.mark.parametrize("shape", SINGLE + MULTI, ids=shape_id)
def test_laws_are_the_entries_of_the_symmetric_differences(exact_backend: str,
                                                           shape: Shape) -> None:
    symbols, phi = attention_phi(shape)
    expected = expected_laws(shape)
    assert all(sympy_is_conserved(h, phi, symbols) for h in expected)

    result = find_laws("attention", degree=2, backend=exact_backend, seed=SEED,
                       **options(shape))
    check_law_basis(result.laws, expected, phi, symbols)
    assert result.independent == expected_count(shape)
    assert result.complete


def test_scalar_tokens_have_extra_quadratic_laws_by_brute_force() -> None:
    # The d = 1 derivation of expected_laws, checked against the brute-force reference.
    shape = (1, 2, 1)
    symbols, phi = attention_phi(shape)
    assert same_span(reference_polynomial_laws(phi, symbols, 2), expected_laws(shape), symbols)
    assert len(expected_laws(shape)) == 8 > expected_count(shape) == 6


@pytest.mark.parametrize("shape", [(1, 2, 1), (2, 1, 1), (1, 2, 2)], ids=shape_id)
def test_count_matches_the_naive_reference(shape: Shape) -> None:
    symbols, phi = attention_phi(shape)
    ranks = reference_lie_rank(phi, symbols, random_point(len(symbols), SEED))
    result = count("attention", seed=SEED, **options(shape))
    assert result.laws == len(symbols) - ranks[-1] == expected_count(shape)
    check_trace(result, ranks)


def test_two_heads_are_independent_blocks() -> None:
    # Two heads of 2 rows (d = 2): 2 × 2·3 = 12 laws, the single-head count of
    # head_dim 2 twice; one head of 4 rows would give 4·5 = 20.
    assert count("attention", seed=SEED, dim=2, head_dim=4, heads=2).laws == 2 * count(
        "attention", seed=SEED, dim=2, head_dim=2).laws == 12


def test_attention_has_no_data_mode(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(InvalidOptionError):
        count("attention", dim=2, head_dim=1, mode="data", seed=SEED)
    status = main(["count", "attention", "--dim", "2", "--head-dim", "1", "--mode", "data"])
    out, err = capsys.readouterr()
    assert (status, out, len(err.splitlines())) == (2, "", 1)
    assert err.startswith("conslaws: error:")


def test_heads_not_dividing_the_head_dimension_print_one_error_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["count", "attention", "--dim", "2", "--head-dim", "3", "--heads", "2"])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("conslaws: error:")
