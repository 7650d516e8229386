"""Floating-point linear algebra with numpy float64 and the SVD.

A quick estimate for exploring large models: the rank is the number of
singular values above a tolerance, so it can be wrong in either direction on
ill-conditioned matrices.  The backend says so (``exact = False`` and a note in
:meth:`FloatBackend.describe`), and a result computed with it is never
certified.

The default tolerance is numpy's ``matrix_rank`` default,
``S.max() * max(M, N) * eps``.  The tolerance actually used by the last call is
kept in :attr:`FloatBackend.last_tolerance` and reported by ``describe()``.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Mapping
from fractions import Fraction
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from conslaws.core.errors import InvalidOptionError, InvalidPointError
from conslaws.core.plugins.backend import Backend, Rational, Rows, row_items

__all__ = ["FloatBackend"]

Array = NDArray[np.float64]


def _check_shape(rows: Rows, ncols: int) -> None:
    if ncols < 0:
        raise ValueError(f"ncols must be non-negative, got {ncols}")
    for index, row in enumerate(rows):
        if len(row) != ncols:
            raise ValueError(f"row {index} has {len(row)} entries, expected {ncols}")


class FloatBackend(Backend):
    """Numerical rank, pivots and kernel in float64 (an estimate).

    Parameters
    ----------
    tolerance : float or None, default None
        Singular values at or below it count as zero.  None uses numpy's
        ``matrix_rank`` default ``S.max() * max(M, N) * eps`` for each matrix.

    Raises
    ------
    InvalidOptionError
        If ``tolerance`` is not a finite non-negative number.

    Examples
    --------
    >>> backend = FloatBackend()
    >>> backend.rank([[1, 2], [2, 4]], 2)
    1
    >>> backend.kernel([[1, 2], [2, 4]], 2)
    [[-2.0, 1.0]]
    >>> backend.describe()["tolerance"]
    'auto'
    >>> from fractions import Fraction
    >>> nearly_singular = [[1, 1], [1, 1 + Fraction(1, 10**9)]]
    >>> backend.rank(nearly_singular, 2)
    2
    >>> FloatBackend(tolerance=1e-6).rank(nearly_singular, 2)
    1
    """

    name = "float"
    exact = False
    description = "numpy float64 with an SVD rank: a fast estimate, never certified"

    def __init__(self, tolerance: float | None = None) -> None:
        if tolerance is not None and (
            isinstance(tolerance, bool)
            or not isinstance(tolerance, numbers.Real)
            or not math.isfinite(tolerance)
            or tolerance < 0
        ):
            raise InvalidOptionError(
                f"tolerance must be a finite non-negative number or None, got {tolerance!r}"
            )
        self.tolerance: float | None = None if tolerance is None else float(tolerance)
        #: The tolerance used by the most recent rank, pivot or kernel call.
        self.last_tolerance: float | None = None

    def convert(self, value: Rational) -> float:
        """Round an exact rational to the nearest float64.

        Raises
        ------
        InvalidPointError
            The value is not an exact rational or overflows float64.
        """
        if not isinstance(value, numbers.Rational):
            raise InvalidPointError(f"value {value!r} is not an exact rational (int or Fraction)")
        try:
            return float(value)
        except OverflowError:
            raise InvalidPointError(f"value {value} is too large for float64") from None

    def _array(self, rows: Rows, ncols: int) -> Array:
        if any(isinstance(row, Mapping) for row in rows):
            array = np.zeros((len(rows), ncols), dtype=np.float64)
            for i, row in enumerate(rows):
                for j, value in row_items(row, ncols):
                    array[i, j] = self.convert(value)
            return array
        _check_shape(rows, ncols)
        if not rows or ncols == 0:
            return np.zeros((len(rows), ncols), dtype=np.float64)
        return np.array([[self.convert(x) for x in row] for row in rows], dtype=np.float64)

    def _tolerance(
        self, singular_values: NDArray[np.floating[Any]], shape: tuple[int, ...]
    ) -> float:
        if self.tolerance is not None:
            tol = self.tolerance
        elif singular_values.size == 0:
            tol = 0.0
        else:
            tol = float(singular_values.max() * max(shape) * np.finfo(np.float64).eps)
        self.last_tolerance = tol
        return tol

    def _rank(self, a: Array) -> tuple[int, float]:
        singular_values: NDArray[np.floating[Any]] = np.zeros(0)
        if a.size:
            singular_values = np.linalg.svd(a, compute_uv=False)
        tol = self._tolerance(singular_values, a.shape)
        return int(np.count_nonzero(singular_values > tol)), tol

    def _pivots(self, a: Array) -> list[int]:
        rank, tol = self._rank(a)
        if rank == 0:
            return []
        if a.shape[0] > a.shape[1]:
            # A = QR with orthonormal Q: A[:, S] and R[:, S] have the same
            # singular values, and R is square, so the greedy SVDs are cheaper.
            a = cast(Array, np.linalg.qr(a, mode="r"))
        kept: list[int] = []
        for column in range(a.shape[1]):
            if len(kept) == rank:
                break
            trial = np.linalg.svd(a[:, [*kept, column]], compute_uv=False)
            if np.count_nonzero(trial > tol) > len(kept):
                kept.append(column)
        return kept

    def rank(self, rows: Rows, ncols: int) -> int:
        """Number of singular values above the tolerance."""
        return self._rank(self._array(rows, ncols))[0]

    def pivot_columns(self, rows: Rows, ncols: int) -> list[int]:
        """Greedy left-to-right: column j is kept iff it raises the numerical rank."""
        return self._pivots(self._array(rows, ncols))

    def pivot_rows(self, rows: Rows, ncols: int) -> list[int]:
        """Greedy top-to-bottom: row i is kept iff it raises the numerical rank."""
        return self._pivots(self._array(rows, ncols).T)

    def kernel(self, rows: Rows, ncols: int) -> list[list[float]]:
        """Reduced basis of the numerical right kernel.

        The last right singular vectors span the numerical kernel (columns of
        N, one per non-pivot column).  With F the non-pivot columns,
        ``K = (N[F, :]^T)^-1 N^T`` spans the same space and has the identity
        on F, which is the contract's reduced form; those identity entries are
        then set exactly.
        """
        a = self._array(rows, ncols)
        pivots = self._pivots(a)
        pivot_set = set(pivots)
        free = [j for j in range(ncols) if j not in pivot_set]
        if not free:
            return []
        if a.shape[0] == 0:
            return np.eye(ncols, dtype=np.float64).tolist()
        _, _, vt = np.linalg.svd(a, full_matrices=True)
        null = vt[ncols - len(free) :].T
        basis = np.linalg.solve(null[free, :].T, null.T)
        basis[:, free] = np.eye(len(free))
        return basis.tolist()  # type: ignore[no-any-return]

    def sample_point(self, rng: random.Random, size: int) -> list[Rational]:
        """Nonzero multiples of 1/1024 in [-2, 2]: values of order one keep
        float64 products well scaled (large integers would not)."""
        return [Fraction(rng.choice((-1, 1)) * rng.randint(1, 2048), 1024) for _ in range(size)]

    def describe(self) -> dict[str, Any]:
        """Backend facts plus ``field``, ``tolerance``, ``tolerance_used`` and a note."""
        facts = super().describe()
        facts["field"] = "R (float64)"
        facts["tolerance"] = "auto" if self.tolerance is None else self.tolerance
        facts["tolerance_used"] = self.last_tolerance
        facts["note"] = "floating-point rank: an estimate, never certified"
        return facts
