"""Rank of a large dense matrix over GF(p), blocked, on numpy's BLAS.

flint's ``nmod_mat`` is the right tool up to a few thousand rows, but a
10,000 x 10,000 matrix is out of its reach here: building it from Python
integers needs several GB, and its rank took 1.4 s at n = 2,000 (about 3
minutes at n = 10,000 by the n^3 law).  This module runs a right-looking
blocked Gaussian elimination instead, with the trailing update as a float64
matrix product (BLAS, both cores): residues are below a prime p with
``BLOCK * (p - 1)**2 < 2**53``, so every product and every sum of ``BLOCK``
products is an exact integer in a double.  Reduction is ``x - floor(x/p) p``
and one correction by p (the quotient may be off by one): ``numpy.fmod`` loops over the
exponent difference and was 6x slower on these magnitudes.

Only the rank and the pivot rows are kept (no factors), so memory is the
matrix itself plus one chunk of rows of temporaries.

:class:`EchelonBasis` grows a row basis chunk by chunk, for engines that draw
rows until the rank stops growing.  Each chunk of up to :data:`PANEL` rows is
reduced against the stored panels (one product of inner dimension ``PANEL`` per
panel, exact in float64 for primes below 2**22), then eliminated on its own; its
independent rows become the next panel, kept as float32 residues (exact below
2**24) on the columns still free of pivots.  So the rows of earlier chunks are
never eliminated again, dependent rows cost one reduction and no storage, and a
full-rank n x n basis is stored in about 2 n^2 bytes (plus four n x 512 work arrays).

Examples
--------
>>> import numpy as np
>>> m = np.array([[1, 2, 3], [2, 4, 6], [0, 1, 5]])
>>> echelon = modular_rank(m, PROBE_PRIME)
>>> echelon.rank, echelon.pivot_rows
(2, [0, 2])
>>> basis = EchelonBasis(3, 7)
>>> basis.add([[1, 2, 3], [2, 4, 6]]), basis.add([[0, 1, 5], [1, 3, 8]]), basis.rank
([0], [0], 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import flint
import numpy as np
from numpy.typing import NDArray

from conslaws.core.errors import InvalidModulusError
from conslaws.core.frontends.progress import progress_bar

__all__ = [
    "BLOCK",
    "PANEL",
    "PROBE_PRIME",
    "Echelon",
    "EchelonBasis",
    "modular_rank",
    "modulus_bound",
    "reduce_mod",
]

#: Columns eliminated per panel before the BLAS trailing update.  64 balances
#: the panel's vector operations (cost ∝ BLOCK) against the number of passes
#: over the trailing matrix (∝ 1/BLOCK); measured best of 32, 64, 128.
BLOCK = 64

#: The largest prime below 2**22.  Sums of 512 products of residues stay
#: exact in float64, and sums of 2**19 products in int64.
PROBE_PRIME = 4194301

#: Rows of the trailing matrix updated at once: bounds the temporaries.
ROW_CHUNK = 2048

#: Largest panel of an :class:`EchelonBasis`: rows reduced per chunk, and the inner
#: dimension of its products (512 (p - 1)^2 + 2p < 2**53 for every prime below 2**22).
PANEL = 512

#: Pivot blocks up to this size are inverted by flint (``nmod_mat.inv``); larger ones
#: by block recursion on BLAS products (converting 512^2 entries to flint took 0.3 s).
INVERSE_LEAF = 64


def modulus_bound(block: int) -> int:
    """Largest modulus whose ``block``-term sums of products are exact in float64.

    Examples
    --------
    >>> modulus_bound(64) > PROBE_PRIME
    True
    """
    return int((2**53 // block) ** 0.5)


@dataclass
class Echelon:
    """Result of :func:`modular_rank`.

    Attributes
    ----------
    rank : int
        Rank over GF(p).
    pivot_rows : list of int
        Indices of ``rank`` independent rows of the input, in pivot order.
    pivot_columns : list of int
        The column of each pivot.
    """

    rank: int
    pivot_rows: list[int]
    pivot_columns: list[int]


def modular_rank(matrix: NDArray[np.integer] | NDArray[np.floating] | list[list[int]],
                 modulus: int, *, block: int = BLOCK, overwrite: bool = False,
                 progress: bool = False) -> Echelon:
    """Rank over GF(p) of an integer matrix, with independent rows.

    Parameters
    ----------
    matrix : array of int or float
        Entries are reduced mod ``modulus`` first (any integers are fine).
    modulus : int
        A prime with ``block * (p - 1)**2 < 2**53``.
    block : int
        Panel width.
    overwrite : bool
        Eliminate in the given float64 array itself instead of a copy (it is
        destroyed): a 10^4 x 10^4 matrix then needs 0.8 GB, not 1.6.
    progress : bool
        A progress bar over the panels on stderr.

    Returns
    -------
    Echelon

    Raises
    ------
    InvalidModulusError
        If the modulus is too large for exact float64 products.

    Examples
    --------
    >>> modular_rank([[3, 6], [1, 2]], 7).rank
    1
    """
    _require_exact_products(modulus, block)
    m = _residues(matrix, modulus, overwrite=overwrite)
    p = float(modulus)
    rows, cols = m.shape
    # Rows rank..rows-1 are still active; pivot rows are swapped to the top, so
    # the trailing update runs on contiguous slices, in place, without gathers.
    row_ids = np.arange(rows)
    rank = 0
    pivot_columns: list[int] = []
    # Updates the trailing matrix may take before it must be reduced: each
    # adds less than block * p^2 in absolute value.
    allowed = max(1, int((2**53 - 2 * modulus) // (block * (modulus - 1) ** 2)) - 1)
    pending = 0
    panels = range(0, cols, block)
    for c0 in progress_bar(panels, "rank mod p", progress, minimum=32):
        if rank == rows:
            break
        c1 = min(c0 + block, cols)
        swaps, found, multipliers, columns = _factor_panel(
            reduce_mod(m[rank:, c0:c1], p), modulus)
        if found == 0:
            continue
        for i, j in swaps:
            for array in (m, row_ids):
                array[[rank + i, rank + j]] = array[[rank + j, rank + i]]
        pivot_columns.extend(c0 + j for j in columns)
        if c1 < cols and rank + found < rows:
            if pending == allowed:
                reduce_mod(m[rank:, c1:], p, out=m[rank:, c1:])
                pending = 0
            pivots = reduce_mod(m[rank:rank + found, c1:], p)
            inverse = _unit_lower_inverse(multipliers[:found, :found], modulus)
            top = reduce_mod(inverse @ pivots, p)
            lower = multipliers[found:, :found]
            for start in range(0, lower.shape[0], ROW_CHUNK):
                view = m[rank + found + start:rank + found + start + ROW_CHUNK, c1:]
                np.subtract(view, lower[start:start + ROW_CHUNK] @ top, out=view)
            pending += 1
        rank += found
    return Echelon(rank, [int(r) for r in row_ids[:rank]], pivot_columns)


def _exact_products(modulus: int, terms: int, slack: int = 0) -> bool:
    """Whether sums of ``terms`` products of residues mod ``modulus``, plus ``slack``,
    are exact integers in float64."""
    return modulus >= 2 and terms * (modulus - 1) ** 2 + slack < 2**53


def _require_exact_products(modulus: int, terms: int, slack: int = 0) -> None:
    """Raise :class:`InvalidModulusError` unless :func:`_exact_products` holds."""
    if not _exact_products(modulus, terms, slack):
        raise InvalidModulusError(
            f"modulus {modulus} is too large for the blocked float64 rank "
            f"(at most {modulus_bound(terms)})")


def _residues(matrix: NDArray[np.integer] | NDArray[np.floating] | list[list[int]],
              modulus: int, *, overwrite: bool = False) -> NDArray[np.float64]:
    """The 2-d ``matrix`` mod ``modulus`` as a float64 array of residues in [0, p)."""
    a = np.asarray(matrix)
    if a.ndim != 2:
        raise ValueError("a rank mod p needs a 2-d matrix")
    if a.dtype == object:
        # Python integers beyond int64: reduce exactly before any float conversion.
        return np.array([[int(v) % modulus for v in row] for row in a], dtype=np.float64
                        ).reshape(a.shape)
    if a.dtype.kind in "iub":
        residues: NDArray[np.float64] = np.mod(a, modulus).astype(np.float64)
        return residues
    if overwrite and a.dtype == np.float64:
        return reduce_mod(a, float(modulus), out=a)
    return reduce_mod(np.asarray(a, dtype=np.float64), float(modulus))


@dataclass
class _Panel:
    """Independent rows stored by an :class:`EchelonBasis`, and how to reduce by them."""

    #: Positions of the panel's pivot columns among the columns free when it was made.
    positions: NDArray[np.intp]
    #: Positions of the free columns that stay free after it.
    kept: NDArray[np.intp]
    #: Its rows on those free columns, transposed (free columns x rows), as residues
    #: (float32 is exact below 2**24 and halves the memory).
    rows_t: NDArray[np.float32]
    #: The inverse mod p of ``rows_t[positions]`` (the transpose of the inverse of the
    #: rows restricted to the pivot columns).
    inverse_t: NDArray[np.float64]


class EchelonBasis:
    """A basis of a row space over GF(p), grown chunk by chunk.

    Parameters
    ----------
    ncols : int
        Length of the rows.
    modulus : int
        A prime with ``PANEL * (p - 1)**2 + 2p < 2**53`` (every prime below 2**22).

    Attributes
    ----------
    rank : int
        Number of independent rows added so far.
    pivot_columns : list of int
        A column of each stored row such that the stored rows restricted to these
        columns are invertible.

    Raises
    ------
    InvalidModulusError
        If the modulus is too large for exact float64 products.

    Examples
    --------
    >>> basis = EchelonBasis(4, 101)
    >>> basis.add([[1, 0, 2, 0], [0, 1, 0, 3]])
    [0, 1]
    >>> basis.add([[1, 1, 2, 3], [0, 0, 0, 1]])      # the first is the sum of the basis
    [1]
    >>> basis.rank, sorted(basis.pivot_columns)
    (3, [0, 1, 3])
    """

    #: How the ranks are taken (results record it).
    method = "blocked elimination mod p on numpy BLAS (conslaws.core.algebra.modrank)"

    def __init__(self, ncols: int, modulus: int) -> None:
        # Between panels entries lie in [-p, 2p): 2p of slack on top of the products.
        _require_exact_products(modulus, PANEL, 2 * modulus)
        self.ncols = ncols
        self.modulus = modulus
        self.rank = 0
        self.pivot_columns: list[int] = []
        self._panels: list[_Panel] = []
        self._free = np.arange(ncols)
        # Work arrays reused by every chunk, sized for the largest chunk so far (a
        # panel never has more rows): fresh arrays of this size cost more in page
        # faults than the products themselves.
        self._work: list[NDArray[np.float64]] = []
        self._capacity = 0

    @staticmethod
    def supports(modulus: int) -> bool:
        """Whether every product the basis forms mod ``modulus`` is exact in float64.

        Examples
        --------
        >>> EchelonBasis.supports(PROBE_PRIME), EchelonBasis.supports(2**61 - 1)
        (True, False)
        """
        return _exact_products(modulus, PANEL, 2 * modulus)

    def add(self, rows: NDArray[np.integer] | NDArray[np.floating] | list[list[int]]
            ) -> list[int]:
        """Add rows; return the indices (into ``rows``) of those that raised the rank.

        Every returned row is independent of the basis and of the other returned rows;
        every other row is in the span of the basis afterwards.
        """
        matrix = np.asarray(rows)
        if matrix.size == 0:
            return []
        if matrix.ndim != 2 or matrix.shape[1] != self.ncols:
            raise ValueError(f"rows of length {self.ncols} expected, got shape {matrix.shape}")
        chunk_rows = min(PANEL, matrix.shape[0])
        if chunk_rows > self._capacity:
            self._capacity = chunk_rows
            self._work = [np.empty(self.ncols * chunk_rows) for _ in range(4)]
        added: list[int] = []
        for start in range(0, matrix.shape[0], PANEL):
            if self.rank == self.ncols:
                break
            chunk = _residues(matrix[start:start + PANEL], self.modulus)
            added += [start + i for i in self._add_chunk(chunk)]
        return added

    def _add_chunk(self, chunk: NDArray[np.float64]) -> list[int]:
        p = float(self.modulus)
        count = chunk.shape[0]
        # Transposed (columns x rows): dropping pivot columns is then a gather of
        # contiguous rows, and every product writes into a work array.
        buffers = [w[:self.ncols * count] for w in self._work]
        x = buffers[0].reshape(self.ncols, count)
        np.copyto(x, chunk.T)
        spare, scratch, widened = buffers[1], buffers[2], self._work[3]
        for panel in self._panels:
            free = x.shape[0]
            # Entries are in [-p, 2p) between panels (one reduction pass); the rows
            # multiplied into the inverse are made exact residues first.
            multipliers = reduce_mod(panel.inverse_t @ reduce_mod(x[panel.positions], p), p)
            product = scratch[:free * count].reshape(free, count)
            stored = widened[:panel.rows_t.size].reshape(panel.rows_t.shape)
            np.copyto(stored, panel.rows_t)
            np.matmul(stored, multipliers, out=product)
            x -= product
            compact = spare[:panel.kept.size * count].reshape(panel.kept.size, count)
            np.take(x, panel.kept, axis=0, out=compact)
            spare = x.reshape(-1)
            x = compact
            _reduce_once(x, p, scratch)
        reduce_mod(x, p, out=x)
        # The transposed chunk has the same rank: its pivot columns are the chunk's
        # first independent rows, its pivot rows the chunk's pivot columns, and the
        # block they cut out, in pivot order, has unit leading minors.
        echelon = modular_rank(x, self.modulus)
        if echelon.rank == 0:
            return []
        order = np.array(echelon.pivot_columns)
        positions = np.array(echelon.pivot_rows)
        rows_t = np.ascontiguousarray(x[:, order])
        # A mask, not np.setdiff1d: that sorts through np.unique, whose first call
        # imports numpy.ma (20 ms of a small count's start).
        others = np.ones(x.shape[0], dtype=bool)
        others[positions] = False
        kept = np.flatnonzero(others)
        block = rows_t[positions]
        inverse = _inverse_mod(block, self.modulus)
        # 2 ms for a full panel: a wrong inverse would make every later rank wrong.
        if not np.array_equal(reduce_mod(block @ inverse, p), np.eye(len(positions))):
            raise ArithmeticError("the inverse of a pivot block failed its check mod p")
        self._panels.append(_Panel(positions, kept, rows_t.astype(np.float32), inverse))
        self.pivot_columns += [int(c) for c in self._free[positions]]
        self._free = self._free[kept]
        self.rank += echelon.rank
        return [int(i) for i in order]


def _reduce_once(x: NDArray[np.float64], p: float,
                 scratch: NDArray[np.float64] | None = None) -> None:
    """``x`` to [-p, 2p) in place by one pass of ``x - floor(x/p) p`` (|x| < 2**53 - 2p).

    ``scratch`` (at least ``x.size`` entries) holds the quotient; default a new array.
    """
    quotient = np.empty_like(x) if scratch is None else scratch[:x.size].reshape(x.shape)
    np.multiply(x, 1.0 / p, out=quotient)
    np.floor(quotient, out=quotient)
    quotient *= p
    x -= quotient


def _inverse_mod(matrix: NDArray[np.float64], modulus: int) -> NDArray[np.float64]:
    """Inverse mod p of a square matrix of residues whose leading principal minors are units.

    The rows and columns of an elimination's pivots, in pivot order, have that
    property (they factor as L U without further pivoting), so the inverse follows
    by block recursion on the Schur complement, all of it matrix products.
    """
    size = matrix.shape[0]
    p = float(modulus)
    if size <= INVERSE_LEAF:
        try:
            inverse = flint.nmod_mat(matrix.astype(np.int64).tolist(), modulus).inv()
        except ZeroDivisionError:
            raise ArithmeticError("a pivot block is singular mod p") from None
        return np.array([[int(x) for x in row] for row in inverse.tolist()], dtype=np.float64)
    half = size // 2
    a, b = matrix[:half, :half], matrix[:half, half:]
    c, d = matrix[half:, :half], matrix[half:, half:]
    a_inverse = _inverse_mod(a, modulus)
    a_inverse_b = reduce_mod(a_inverse @ b, p)
    c_a_inverse = reduce_mod(c @ a_inverse, p)
    schur_inverse = _inverse_mod(reduce_mod(d - reduce_mod(c @ a_inverse_b, p), p), modulus)
    upper_right = reduce_mod(-(a_inverse_b @ schur_inverse), p)
    lower_left = reduce_mod(-(schur_inverse @ c_a_inverse), p)
    upper_left = reduce_mod(a_inverse - reduce_mod(upper_right @ c_a_inverse, p), p)
    return np.block([[upper_left, upper_right], [lower_left, schur_inverse]])


def reduce_mod(x: NDArray[np.float64], p: float,
               out: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """``x mod p`` in [0, p) for float64 integers with |x| <= 2**53 - 2p.

    Examples
    --------
    >>> reduce_mod(np.array([-1.0, 7.0, 2.0**52]), 7.0).tolist()
    [6.0, 0.0, 2.0]
    """
    result = np.array(x, dtype=np.float64) if out is None else out
    if out is not None and out is not x:
        np.copyto(result, x)
    # Row chunks: one temporary of a chunk's size instead of two of the
    # whole matrix (1.8 GB more at 10^4 x 10^4).
    flat = result[np.newaxis] if result.ndim < 2 else result
    step = max(1, ROW_CHUNK * 4096 // max(1, flat.shape[-1]))
    for start in range(0, flat.shape[0], step):
        part = flat[start:start + step]
        _reduce_once(part, p)
        # The quotient can be off by one either way, so the remainder is in [-p, 2p).
        # A second pass of the same kind is not enough: at x = 9 * 65521 it gives p.
        np.add(part, p, out=part, where=part < 0)
        np.subtract(part, p, out=part, where=part >= p)
    return result


def _factor_panel(panel: NDArray[np.float64], modulus: int
                  ) -> tuple[list[tuple[int, int]], int, NDArray[np.float64], list[int]]:
    """Unblocked elimination of one panel, rank-revealing, in place.

    Returns the row swaps made (pivot rows end up first), the number of
    pivots, the multipliers (reordered row i minus Σ_k L[i, k] U[k] is zero
    in the panel), and the panel columns holding pivots.  Rows are swapped
    together with their multipliers, as in LAPACK's getf2, so that the
    reordered rows equal L U.
    """
    p = float(modulus)
    height, width = panel.shape
    multipliers = np.zeros((height, width))
    swaps: list[tuple[int, int]] = []
    found = 0
    columns: list[int] = []
    # Only the column about to be pivoted and the pivot row are reduced: every
    # other entry just grows by less than p^2 per pivot, which stays exact for
    # a panel of width <= BLOCK (width * p^2 < 2**53).  Reducing the whole
    # panel after each pivot took two thirds of the panel's time.
    for j in range(width):
        if found == height:
            break
        column = reduce_mod(panel[found:, j], p, out=panel[found:, j])
        nonzero = np.flatnonzero(column)
        if nonzero.size == 0:
            continue
        i = found + int(nonzero[0])
        if i != found:
            for array in (panel, multipliers):
                array[[found, i]] = array[[i, found]]
            swaps.append((found, i))
        pivot_row = reduce_mod(panel[found, j:], p, out=panel[found, j:])
        inverse = pow(int(pivot_row[0]), -1, modulus)
        factor = reduce_mod(panel[found + 1:, j] * inverse, p)
        below = panel[found + 1:, j:]
        np.subtract(below, np.multiply.outer(factor, pivot_row), out=below)
        multipliers[found + 1:, found] = factor
        columns.append(j)
        found += 1
    return swaps, found, multipliers, columns


def _unit_lower_inverse(strict: NDArray[np.float64], modulus: int) -> NDArray[np.float64]:
    """Inverse mod p of I + (strictly lower part of ``strict``), by forward substitution."""
    p = float(modulus)
    size = strict.shape[0]
    inverse = np.eye(size)
    for i in range(1, size):
        inverse[i, :i] = reduce_mod(-(strict[i, :i] @ inverse[:i, :i]), p)
    return inverse
