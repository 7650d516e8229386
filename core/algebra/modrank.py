"""Rank of a large dense matrix over GF(p), blocked, on numpy's BLAS.

flint's ``nmod_mat`` is the right tool up to a few thousand rows, but a
10,000 x 10,000 matrix is out of its reach here: building it from Python
integers needs several GB, and its rank took 1.4 s at n = 2,000 (about 3
minutes at n = 10,000 by the n^3 law).  This module runs a right-looking
blocked Gaussian elimination instead, with the trailing update as a float64
matrix product (BLAS, both cores): residues are below a prime p with
``BLOCK * (p - 1)**2 < 2**53``, so every product and every sum of ``BLOCK``
products is an exact integer in a double.  Reduction is ``x - floor(x/p) p``
twice (the first quotient may be off by one): ``numpy.fmod`` loops over the
exponent difference and was 6x slower on these magnitudes.

Only the rank and the pivot rows are kept (no factors), so memory is the
matrix itself plus one chunk of rows of temporaries.

Examples
--------
>>> import numpy as np
>>> m = np.array([[1, 2, 3], [2, 4, 6], [0, 1, 5]])
>>> echelon = modular_rank(m, PROBE_PRIME)
>>> echelon.rank, echelon.pivot_rows
(2, [0, 2])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from conslaws.core.errors import InvalidModulusError
from conslaws.core.frontends.progress import progress_bar

__all__ = [
    "BLOCK",
    "PROBE_PRIME",
    "Echelon",
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
    if modulus < 2 or block * (modulus - 1) ** 2 >= 2**53:
        raise InvalidModulusError(
            f"modulus {modulus} is too large for the blocked float64 rank "
            f"(at most {modulus_bound(block)})"
        )
    a = np.asarray(matrix)
    if a.ndim != 2:
        raise ValueError("modular_rank needs a 2-d matrix")
    p = float(modulus)
    if a.dtype == object:
        # Python integers beyond int64: reduce exactly before any float conversion.
        m = np.array([[int(v) % modulus for v in row] for row in a], dtype=np.float64)
    elif a.dtype.kind in "iu":
        m = np.mod(a, modulus).astype(np.float64)
    elif overwrite and a.dtype == np.float64:
        m = reduce_mod(a, p, out=a)
    else:
        m = reduce_mod(a, p)
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
        for _ in range(2):
            quotient = part * (1.0 / p)
            np.floor(quotient, out=quotient)
            quotient *= p
            part -= quotient
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
