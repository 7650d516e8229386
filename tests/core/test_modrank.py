"""Blocked rank mod p (core/modrank.py) against python-flint's ``nmod_mat``.

flint is the independent reference throughout: the test matrices are built
exactly with flint (a product of a random m×r and r×n matrix has rank at most
r), their rank mod p is flint's ``nmod_mat.rank()``, the pivot columns of a
row echelon form are the pivot columns of flint's ``rref()``, and the rows
reported as pivots must have full rank in flint.
"""

from __future__ import annotations

import random
from typing import Any

import flint
import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import conslaws.core.algebra.modrank as modrank
from conslaws.core.algebra.modrank import (
    BLOCK,
    PROBE_PRIME,
    Echelon,
    modular_rank,
    modulus_bound,
    reduce_mod,
)
from conslaws.core.errors import InvalidModulusError

SMALL_PRIMES = (2, 3, 7, 101)


# ---------------------------------------------------------------- helpers


def flint_matrix(rows: list[list[int]], p: int, ncols: int) -> Any:
    """An ``nmod_mat`` (works for 0 rows too)."""
    if not rows:
        return flint.nmod_mat(0, ncols, p)
    return flint.nmod_mat([[x % p for x in row] for row in rows], p)


def to_rows(matrix: Any) -> list[list[int]]:
    return [[int(matrix[i, j]) for j in range(matrix.ncols())] for i in range(matrix.nrows())]


def random_nmod(m: int, n: int, p: int, rng: random.Random) -> Any:
    return flint.nmod_mat(m, n, [rng.randrange(p) for _ in range(m * n)], p)


def low_rank(m: int, n: int, r: int, p: int, seed: int) -> list[list[int]]:
    """An m×n matrix of rank <= r mod p: (m×r)(r×n), multiplied exactly by flint."""
    rng = random.Random(seed)
    if r == 0:
        return [[0] * n for _ in range(m)]
    return to_rows(random_nmod(m, r, p, rng) * random_nmod(r, n, p, rng))


def flint_rank(rows: list[list[int]], p: int, ncols: int) -> int:
    return int(flint_matrix(rows, p, ncols).rank())


def flint_pivot_columns(rows: list[list[int]], p: int, ncols: int) -> list[int]:
    """Pivot columns of the reduced row echelon form (the greedy independent columns)."""
    if not rows or ncols == 0:
        return []
    rref, rank = flint_matrix(rows, p, ncols).rref()
    pivots = []
    for i in range(rank):
        pivots.append(next(j for j in range(ncols) if int(rref[i, j]) != 0))
    return pivots


def check_echelon(echelon: Echelon, rows: list[list[int]], p: int, ncols: int) -> None:
    """Compare everything ``modular_rank`` reports with flint."""
    expected_rank = flint_rank(rows, p, ncols)
    assert echelon.rank == expected_rank
    # pivot_rows: `rank` distinct valid indices whose rows are independent mod p.
    assert len(echelon.pivot_rows) == expected_rank
    assert len(set(echelon.pivot_rows)) == expected_rank
    assert all(0 <= i < len(rows) for i in echelon.pivot_rows)
    assert all(isinstance(i, int) for i in echelon.pivot_rows)
    chosen = [rows[i] for i in echelon.pivot_rows]
    assert flint_rank(chosen, p, ncols) == expected_rank
    # pivot_columns: those of an echelon form, i.e. the columns independent of
    # all columns before them (the pivots of flint's rref).
    assert echelon.pivot_columns == flint_pivot_columns(rows, p, ncols)


# ---------------------------------------------------------------- prescribed ranks


@pytest.mark.parametrize(
    ("m", "n", "r", "block"),
    [
        (150, 130, 40, 64),    # not multiples of the block, several panels both ways
        (150, 130, 130, 64),   # full column rank
        (130, 150, 130, 64),   # m < n, full row rank
        (150, 130, 17, 4),     # many small panels
        (70, 90, 70, 4),
        (90, 70, 0, 4),        # the zero matrix
        (65, 65, 64, 64),      # one row/column past a block
        (64, 64, 64, 64),      # exactly one block
        (1, 1, 1, 64),
        (1, 200, 1, 8),
        (200, 1, 1, 8),
        (40, 33, 12, 1),       # block 1: unblocked elimination through the panel code
    ],
)
def test_rank_of_product_matches_flint(m: int, n: int, r: int, block: int) -> None:
    rows = low_rank(m, n, r, PROBE_PRIME, seed=m * 1000 + n * 10 + r)
    echelon = modular_rank(np.array(rows, dtype=np.int64), PROBE_PRIME, block=block)
    check_echelon(echelon, rows, PROBE_PRIME, n)
    # The rank of a product of random factors is r with overwhelming probability;
    # flint decides it, and at most r holds exactly.
    assert echelon.rank <= r


@pytest.mark.parametrize("block", [1, 3, 64])
def test_zero_rows_and_columns(block: int) -> None:
    """Zero rows and columns interleaved with a rank-5 block: pivots skip them."""
    core = low_rank(12, 9, 5, PROBE_PRIME, seed=7)
    rows: list[list[int]] = []
    for i, row in enumerate(core):
        # Zero column after every second column, a zero row after every third row.
        widened = []
        for j, x in enumerate(row):
            widened.append(x)
            if j % 2 == 1:
                widened.append(0)
        rows.append(widened)
        if i % 3 == 2:
            rows.append([0] * len(widened))
    ncols = len(rows[0])
    echelon = modular_rank(rows, PROBE_PRIME, block=block)
    check_echelon(echelon, rows, PROBE_PRIME, ncols)
    assert all(any(rows[i]) for i in echelon.pivot_rows)
    assert all(any(row[j] for row in rows) for j in echelon.pivot_columns)


def test_rank_zero_and_empty_matrices() -> None:
    for shape in [(5, 7), (1, 1), (0, 4), (4, 0), (0, 0)]:
        echelon = modular_rank(np.zeros(shape, dtype=np.int64), PROBE_PRIME)
        assert (echelon.rank, echelon.pivot_rows, echelon.pivot_columns) == (0, [], [])
    # A nonzero multiple of p is zero mod p.
    assert modular_rank([[3 * PROBE_PRIME, -PROBE_PRIME]], PROBE_PRIME).rank == 0


def test_one_by_one() -> None:
    for p in SMALL_PRIMES:
        for x in range(-2 * p, 2 * p + 1):
            assert modular_rank([[x]], p).rank == int(x % p != 0)


@pytest.mark.parametrize("p", SMALL_PRIMES)
def test_small_primes_against_flint(p: int) -> None:
    """Small fields make accidental dependencies and zero pivots common."""
    rng = random.Random(p)
    for trial in range(6):
        m, n = rng.randint(1, 30), rng.randint(1, 30)
        rows = [[rng.randrange(-3 * p, 3 * p) for _ in range(n)] for _ in range(m)]
        block = rng.choice([1, 2, 5, 64])
        check_echelon(modular_rank(rows, p, block=block), rows, p, n)
        # A low-rank one as well.
        rows = low_rank(m, n, min(m, n) // 2, p, seed=trial)
        check_echelon(modular_rank(rows, p, block=block), rows, p, n)


# ---------------------------------------------------------------- input types


def test_float_negative_and_large_integer_entries() -> None:
    """Entries are reduced mod p first: floats holding integers, negatives and
    int64 values far above p give the rank of their residues."""
    p = PROBE_PRIME
    rows = low_rank(30, 25, 11, p, seed=3)
    rng = np.random.default_rng(3)
    base = np.array(rows, dtype=np.int64)
    shifts = rng.integers(-(2**30), 2**30, size=base.shape) * p    # multiples of p
    shifted = base + shifts
    assert np.abs(shifted).max() > p
    expected = flint_rank(rows, p, 25)
    assert modular_rank(shifted, p).rank == expected
    assert modular_rank(-shifted, p).rank == expected            # -A has the same rank
    assert modular_rank(shifted.astype(np.float64), p).rank == expected
    assert modular_rank((-shifted).astype(np.float64), p).rank == expected
    assert modular_rank(base.astype(np.uint32), p).rank == expected


def test_overwrite_gives_the_same_result() -> None:
    p = PROBE_PRIME
    rows = low_rank(150, 130, 77, p, seed=11)
    expected = modular_rank(np.array(rows), p, block=16)
    work = np.array(rows, dtype=np.float64)
    echelon = modular_rank(work, p, block=16, overwrite=True)
    assert echelon == expected
    check_echelon(echelon, rows, p, 130)
    # Integer input cannot be eliminated in place; overwrite is then harmless.
    integer = np.array(rows, dtype=np.int64)
    assert modular_rank(integer, p, block=16, overwrite=True) == expected
    assert integer.tolist() == rows


def test_input_is_not_modified_without_overwrite() -> None:
    rows = low_rank(20, 20, 10, PROBE_PRIME, seed=5)
    for dtype in (np.int64, np.float64):
        array = np.array(rows, dtype=dtype)
        before = array.copy()
        modular_rank(array, PROBE_PRIME, block=4)
        assert np.array_equal(array, before)


def test_progress_bar_does_not_change_the_result() -> None:
    rows = low_rank(40, 300, 20, PROBE_PRIME, seed=9)
    assert (modular_rank(rows, PROBE_PRIME, block=4, progress=True)
            == modular_rank(rows, PROBE_PRIME, block=4))


def test_not_two_dimensional() -> None:
    with pytest.raises(ValueError, match="2-d"):
        modular_rank(np.arange(4), PROBE_PRIME)


def test_python_integers_beyond_int64() -> None:
    # The docstring promises "any integers are fine"; 7 * 2**64 + 1 is 1 mod 7,
    # so the 1×1 matrix has rank 1 mod 7 (float(7 * 2**64 + 1) == 7 * 2**64 loses the 1).
    assert modular_rank([[7 * 2**64 + 1]], 7).rank == 1


# ---------------------------------------------------------------- the modulus bound


def test_modulus_too_large_raises() -> None:
    for modulus in (2**61 - 1, 2**31 - 1, int(sympy.nextprime(modulus_bound(BLOCK) + 2))):
        with pytest.raises(InvalidModulusError):
            modular_rank([[1, 2], [3, 4]], modulus)
    # The bound depends on the block: a prime allowed with block 4 is refused with 64.
    p = int(sympy.prevprime(modulus_bound(4)))
    assert p > modulus_bound(64)
    with pytest.raises(InvalidModulusError):
        modular_rank([[1]], p, block=64)
    for modulus in (1, 0, -7):
        with pytest.raises(InvalidModulusError):
            modular_rank([[1]], modulus)


def test_modulus_bound() -> None:
    """block * (bound - 1)**2 < 2**53: sums of `block` products of residues are exact."""
    for block in (1, 4, 64, 512, 1000):
        bound = modulus_bound(block)
        assert block * (bound - 1) ** 2 < 2**53
        assert block * (bound + 1) ** 2 > 2**53
    assert BLOCK * (PROBE_PRIME - 1) ** 2 < 2**53
    assert sympy.isprime(PROBE_PRIME)
    assert sympy.prevprime(2**22) == PROBE_PRIME


@pytest.mark.parametrize("block", [1, 4, 64])
def test_largest_allowed_prime_is_exact(block: int) -> None:
    """At the edge of the allowed moduli products and panel sums are the largest;
    the rank must still be flint's."""
    p = int(sympy.prevprime(modulus_bound(block)))
    rows = low_rank(90, 80, 45, p, seed=block)
    # Entries close to p - 1 make the products as large as possible.
    rows = [[x if x else p - 1 for x in row] for row in rows]
    check_echelon(modular_rank(rows, p, block=block), rows, p, 80)
    rows = low_rank(90, 80, 45, p, seed=block + 1)
    check_echelon(modular_rank(rows, p, block=block), rows, p, 80)


# ---------------------------------------------------------------- reduce_mod


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-(2**53) + 2 * PROBE_PRIME, 2**53 - 2 * PROBE_PRIME),
                min_size=1, max_size=20),
       st.sampled_from([2, 7, 101, PROBE_PRIME]))
def test_reduce_mod_matches_python(values: list[int], p: int) -> None:
    x = np.array(values, dtype=np.float64)
    exact = [int(v) for v in x]          # the integers the doubles actually hold
    result = reduce_mod(x, float(p))
    assert [int(r) for r in result] == [v % p for v in exact]
    assert np.all((result >= 0) & (result < p))
    # out= writes into the given array.
    out = np.empty_like(x)
    assert reduce_mod(x, float(p), out=out) is out
    assert [int(r) for r in out] == [v % p for v in exact]


def test_reduce_mod_extremes_within_the_rank_range() -> None:
    """modular_rank keeps |x| <= 2**53 - 2p; check both ends of that range."""
    p = PROBE_PRIME
    edge = 2**53 - 2 * p
    values = [edge, edge - 1, -edge, -edge + 1, 2**52, -(2**52), 0, p, -p, p - 1, -1]
    result = reduce_mod(np.array(values, dtype=np.float64), float(p))
    assert [int(r) for r in result] == [v % p for v in values]


@pytest.mark.parametrize("chunk", [1, 3])
def test_row_chunks(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shrinking ROW_CHUNK splits the trailing update and reduce_mod into many
    row chunks (2048 rows and 8M entries by default); results must not change."""
    monkeypatch.setattr(modrank, "ROW_CHUNK", chunk)
    p = PROBE_PRIME
    rows = low_rank(150, 130, 70, p, seed=chunk)
    check_echelon(modular_rank(rows, p, block=8), rows, p, 130)
    rng = np.random.default_rng(chunk)
    values = rng.integers(-(2**50), 2**50, size=(37, 5000))
    x = values.astype(np.float64)
    assert np.array_equal(reduce_mod(x, float(p)).astype(np.int64), np.mod(values, p))
    view = x[3:, 7:]                      # in place on a non-contiguous view
    reduce_mod(view, float(p), out=view)
    assert np.array_equal(x[3:, 7:].astype(np.int64), np.mod(values[3:, 7:], p))
    assert np.array_equal(x[:3], values[:3].astype(np.float64))
    assert np.array_equal(x[:, :7], values[:, :7].astype(np.float64))


def test_reduce_mod_whole_documented_range() -> None:
    # The docstring promises exactness for |x| <= 2**53 - 2p: check both ends.
    p = PROBE_PRIME
    for x in (-(2**53 - 2 * p), 2**53 - 2 * p, -(2**53 - 2 * p) + 1, 2**53 - 2 * p - 1):
        assert int(reduce_mod(np.array([float(x)]), float(p))[0]) == x % p


# ---------------------------------------------------------------- hypothesis


@st.composite
def small_matrices(draw: Any) -> tuple[list[list[int]], int, int]:
    p = draw(st.sampled_from([2, 5, 101, PROBE_PRIME]))
    m, n = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    # Entries from a small pool (including 0 and p) make dependencies likely.
    pool = st.sampled_from([0, 1, -1, 2, p, p - 1, 3 * p + 2, -(p + 5)])
    rows = draw(st.lists(st.lists(pool, min_size=n, max_size=n), min_size=m, max_size=m))
    block = draw(st.sampled_from([1, 2, 3, 64]))
    return rows, p, block


@settings(max_examples=80, deadline=None)
@given(small_matrices())
def test_small_random_matrices(case: tuple[list[list[int]], int, int]) -> None:
    rows, p, block = case
    n = len(rows[0])
    check_echelon(modular_rank(rows, p, block=block), rows, p, n)
    # Transposition preserves the rank.
    transposed = [list(col) for col in zip(*rows, strict=True)]
    assert modular_rank(transposed, p, block=block).rank == flint_rank(rows, p, n)


# ---------------------------------------------------------------- EchelonBasis


@pytest.mark.parametrize("p", [*SMALL_PRIMES[1:], 65521, PROBE_PRIME])
@pytest.mark.parametrize("m, n, r, step", [(40, 30, 12, 7), (700, 600, 590, 250),
                                           (1100, 300, 300, 1100), (30, 1200, 25, 10)])
def test_basis_matches_flint_in_any_chunking(p: int, m: int, n: int, r: int, step: int) -> None:
    rows = low_rank(m, n, r, p, seed=m + n + p)
    basis = modrank.EchelonBasis(n, p)
    added: list[int] = []
    for start in range(0, m, step):
        added += [start + i for i in basis.add(np.array(rows[start:start + step]))]
    expected = flint_matrix(rows, p, n).rank()
    assert basis.rank == len(added) == expected
    assert flint_matrix([rows[i] for i in added], p, n).rank() == expected
    # The first maximal independent set, as the backends' pivot_rows: row i is kept
    # iff it is not in the span of the rows before it.
    first = [i for i in range(m) if flint_matrix(rows[:i + 1], p, n).rank()
             > flint_matrix(rows[:i], p, n).rank()] if m * n <= 2000 else added
    assert added == first
    # The pivot columns cut an invertible block out of the kept rows.
    block = [[rows[i][j] for j in basis.pivot_columns] for i in added]
    assert flint_matrix(block, p, len(block)).rank() == expected


def test_basis_of_big_integers_and_negative_entries() -> None:
    rows = [[2**80 + 1, -3, 5], [-(2**80 + 1), 3, -5], [7, 0, -2**70]]
    basis = modrank.EchelonBasis(3, 101)
    assert basis.add(np.array(rows, dtype=object)) == [0, 2]
    assert basis.add([[1, 1, 1]]) == [0] and basis.rank == 3
    assert basis.add([[4, 5, 6]]) == []          # the space is full


def test_basis_rejects_bad_shapes_and_moduli() -> None:
    with pytest.raises(InvalidModulusError):
        modrank.EchelonBasis(3, 2**61 - 1)
    basis = modrank.EchelonBasis(3, 7)
    with pytest.raises(ValueError, match="length 3"):
        basis.add([[1, 2]])
    assert basis.add(np.zeros((0, 3))) == []


def test_inverse_of_pivot_blocks_matches_flint() -> None:
    rng = random.Random(5)
    for size in (1, 2, 63, 64, 65, 200):
        p = PROBE_PRIME
        # Unit lower times upper with unit diagonal entries: every leading minor is a unit.
        lower = [[rng.randrange(p) if j < i else int(i == j) for j in range(size)]
                 for i in range(size)]
        upper = [[rng.randrange(1, p) if j >= i else 0 for j in range(size)]
                 for i in range(size)]
        block = flint.nmod_mat(lower, p) * flint.nmod_mat(upper, p)
        inverse = modrank._inverse_mod(np.array(to_rows(block), dtype=np.float64), p)
        assert to_rows(block.inv()) == inverse.astype(np.int64).tolist()


def test_modular_backend_chooses_its_row_basis_by_prime_size() -> None:
    from conslaws.backends.modular import ModularBackend
    from conslaws.core.plugins.backend import PivotRowBasis

    assert isinstance(ModularBackend(PROBE_PRIME).row_basis(4), modrank.EchelonBasis)
    assert isinstance(ModularBackend().row_basis(4), PivotRowBasis)


@pytest.mark.parametrize("p", [3, 7, 101, 65521, 1_000_003, PROBE_PRIME])
def test_reduce_mod_of_exact_multiples_is_zero(p: int) -> None:
    """x * (1/p) can round below an integer k at x = k p: the residue must still be 0."""
    multiples = np.array([k * p for k in range(-2000, 2001)] + [(2**53 // p - 4) * p],
                         dtype=np.float64)
    assert not reduce_mod(multiples, float(p)).any()
    values = multiples + 1
    assert (reduce_mod(values, float(p)) == 1).all()
