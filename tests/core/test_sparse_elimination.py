"""Sparse elimination mod p against flint's dense linear algebra, on random sparse matrices."""

from __future__ import annotations

from fractions import Fraction

import flint
from hypothesis import given, settings
from hypothesis import strategies as st

from conslaws.core.algebra.sparse_elimination import (
    independent_rows,
    kernel_mod_p,
    rational_kernel,
    rational_reconstruction,
)

P = 2**61 - 1


@st.composite
def sparse_matrices(draw: st.DrawFn) -> tuple[list[dict[int, int]], int]:
    ncols = draw(st.integers(1, 12))
    rows = draw(st.lists(st.dictionaries(st.integers(0, ncols - 1), st.integers(-4, 4),
                                         max_size=3), max_size=16))
    return [{c: v for c, v in row.items() if v} for row in rows], ncols


def dense(rows: list[dict[int, int]], ncols: int) -> list[list[int]]:
    return [[row.get(c, 0) for c in range(ncols)] for row in rows]


@settings(max_examples=200, deadline=None)
@given(sparse_matrices(), st.sampled_from([3, 7, 101, P]))
def test_rows_and_kernel_match_flint(matrix: tuple[list[dict[int, int]], int], p: int) -> None:
    rows, ncols = matrix
    rank = int(flint.nmod_mat(dense(rows, ncols), p).rank()) if rows else 0
    chosen = independent_rows(rows, p)
    assert len(chosen) == rank
    if chosen:
        assert int(flint.nmod_mat(dense([rows[i] for i in chosen], ncols), p).rank()) == rank
    basis = kernel_mod_p(rows, ncols, p)
    assert len(basis) == ncols - rank
    for vector in basis:
        for row in rows:
            assert sum(v * vector.get(c, 0) for c, v in row.items()) % p == 0


@settings(max_examples=100, deadline=None)
@given(sparse_matrices())
def test_lifted_kernel_is_the_kernel_over_q(matrix: tuple[list[dict[int, int]], int]) -> None:
    rows, ncols = matrix
    lifted = rational_kernel(rows, ncols, P)
    assert lifted is not None  # small entries always lift
    exact_rank = int(flint.fmpz_mat(dense(rows, ncols)).rank()) if rows else 0
    assert len(lifted) == ncols - exact_rank
    for vector in lifted:
        assert all(sum((Fraction(v) * vector[c] for c, v in row.items()), Fraction(0)) == 0
                   for row in rows)


def test_rational_reconstruction() -> None:
    for q in (Fraction(-3, 7), Fraction(5), Fraction(0), Fraction(10**8, 3)):
        residue = q.numerator * pow(q.denominator, -1, P) % P
        assert rational_reconstruction(residue, P) == q
