"""Gaussian elimination mod p of many small matrices at once.

The law search (:mod:`conslaws.core.engine.laws`) splits its unknowns into
blocks of a few columns each (millions of blocks for an attention layer with
d = 24), and asks of each block whether its evaluated system has full column
rank and, when it has not, for its kernel.  One Python call per block would
dominate the search; here a stack of ``n`` matrices of the same shape
``(rows, cols)`` is brought to reduced row echelon form column by column, every
step one numpy operation over the whole stack.

Entries are residues in int64; a product of two residues must fit, so the
prime is below 2**31.

Examples
--------
>>> import numpy as np
>>> stack = np.array([[[1, 2], [2, 4]],      # rank 1: x0 + 2 x1 = 0
...                   [[1, 0], [0, 1]]])     # rank 2
>>> echelon = batch_rref(stack, 7)
>>> echelon.rank.tolist()
[1, 2]
>>> kernel_basis(echelon, 0, 7).tolist()      # x0 = -2 x1 = 5 x1 mod 7
[[5, 1]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["MAX_BATCH_COLUMNS", "MAX_BATCH_PRIME", "BatchEchelon", "batch_kernels",
           "batch_rref", "kernel_basis", "supports_batch"]

IntArray = NDArray[np.int64]

#: Products of two residues below this prime fit in int64.
MAX_BATCH_PRIME = 2**31
#: Wider matrices are faster one by one in flint: a stack step costs a pass over
#: every entry per column, flint's elimination works in place in C.
MAX_BATCH_COLUMNS = 64


def supports_batch(p: int, cols: int) -> bool:
    """Whether stacks of matrices with ``cols`` columns are eliminated here mod ``p``.

    Examples
    --------
    >>> supports_batch(4194301, 10), supports_batch(2**61 - 1, 10), supports_batch(7, 65)
    (True, False, False)
    """
    return 2 <= p < MAX_BATCH_PRIME and cols <= MAX_BATCH_COLUMNS


@dataclass
class BatchEchelon:
    """Reduced row echelon forms of a stack of matrices mod p.

    Attributes
    ----------
    reduced : ndarray, shape (n, rows, cols)
        The reduced forms: the pivot rows come first, each with a 1 at its pivot
        column and zeros in the other pivot columns.
    rank : ndarray, shape (n,)
        The rank of each matrix.
    pivots : ndarray of bool, shape (n, cols)
        Which columns hold a pivot.
    """

    reduced: IntArray
    rank: IntArray
    pivots: NDArray[np.bool_]


def batch_rref(stack: IntArray, p: int) -> BatchEchelon:
    """Reduced row echelon forms mod ``p`` of every matrix of ``stack`` (n, rows, cols).

    Parameters
    ----------
    stack : array_like of int
        The matrices; entries are reduced mod ``p`` first.
    p : int
        A prime below :data:`MAX_BATCH_PRIME`.

    Returns
    -------
    BatchEchelon
    """
    if not 2 <= p < MAX_BATCH_PRIME:
        raise ValueError(f"batch_rref needs a prime below 2**31, got {p}")
    work = np.mod(np.asarray(stack, dtype=np.int64), p)
    n, rows, cols = work.shape
    rank = np.zeros(n, dtype=np.int64)
    pivots = np.zeros((n, cols), dtype=bool)
    everyone = np.arange(n)
    row_index = np.arange(rows)
    for column in range(cols):
        # The first row at or below the current rank with a nonzero entry here.
        candidates = (work[:, :, column] != 0) & (row_index[None, :] >= rank[:, None])
        found = candidates.any(axis=1) & (rank < rows)
        if not found.any():
            continue
        which = everyone[found]
        target = rank[which]
        source = np.argmax(candidates[which], axis=1)
        # Swap the pivot row into place (a no-op where source == target).
        pivot_row = work[which, source].copy()
        work[which, source] = work[which, target]
        inverse = _inverse(pivot_row[:, column], p)
        pivot_row = pivot_row * inverse[:, None] % p
        work[which, target] = pivot_row
        # Clear the column in every other row, above and below the pivot.
        factors = work[which, :, column].copy()
        factors[np.arange(len(which)), target] = 0
        block = work[which]
        block -= factors[:, :, None] * pivot_row[:, None, :] % p
        block %= p
        work[which] = block
        pivots[which, column] = True
        rank[which] += 1
    return BatchEchelon(work, rank, pivots)


def kernel_basis(echelon: BatchEchelon, index: int, p: int) -> IntArray:
    """The kernel of matrix ``index`` of a stack, one vector per free column (rows).

    Vector f has a 1 at free column f, zeros at the other free columns, and at
    pivot column c_i the entry ``-reduced[i, f]``: the unique basis of that
    shape, so kernels computed mod different primes can be combined entrywise.
    """
    reduced, chosen = echelon.reduced[index], echelon.pivots[index]
    rank = int(echelon.rank[index])
    cols = reduced.shape[1]
    free = np.flatnonzero(~chosen)
    pivot_columns = np.flatnonzero(chosen)
    basis = np.zeros((len(free), cols), dtype=np.int64)
    basis[np.arange(len(free)), free] = 1
    if rank:
        basis[:, pivot_columns] = (-reduced[:rank][:, free].T) % p
    return basis


def batch_kernels(stack: IntArray, p: int) -> list[IntArray]:
    """The kernel of every matrix of ``stack``, as :func:`kernel_basis` gives it.

    A matrix of full column rank (most of them, in a screening) gets an empty
    ``(0, cols)`` array without a call per matrix.

    Examples
    --------
    >>> import numpy as np
    >>> [k.tolist() for k in batch_kernels(np.array([[[1, 2]], [[0, 1]]]), 7)]
    [[[5, 1]], [[1, 0]]]
    """
    echelon = batch_rref(stack, p)
    cols = echelon.reduced.shape[2]
    empty = np.zeros((0, cols), dtype=np.int64)
    deficient = echelon.rank < cols
    return [kernel_basis(echelon, k, p) if deficient[k] else empty
            for k in range(len(deficient))]


def _inverse(values: IntArray, p: int) -> IntArray:
    """Inverses mod p of nonzero residues, by Fermat's little theorem (vectorized)."""
    result = np.ones_like(values)
    base = values % p
    exponent = p - 2
    while exponent:
        if exponent & 1:
            result = result * base % p
        base = base * base % p
        exponent >>= 1
    return result
