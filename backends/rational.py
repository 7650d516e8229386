"""Exact linear algebra over Q with python-flint ``fmpq_mat``.

Slower than the modular backend, but its ranks are the ranks over Q themselves
(no unlucky prime), so it is the reference the other backends are tested
against.  ``fmpq_mat`` has no ``nullspace``: the kernel is read off the
reduced row echelon form, which is the reduced basis of the contract directly.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, cast

import flint

from conslaws.core.errors import InvalidPointError
from conslaws.core.plugins.backend import (
    Backend,
    Rational,
    Rows,
    entry_types,
    leading_columns,
    row_items,
)

__all__ = ["RationalBackend"]


def _fraction(value: Any) -> Fraction:
    """A flint ``fmpq`` as a :class:`fractions.Fraction`."""
    return Fraction(int(value.p), int(value.q))


class RationalBackend(Backend):
    """Exact rank, pivots and kernel over the rationals.

    Examples
    --------
    >>> from fractions import Fraction
    >>> backend = RationalBackend()
    >>> backend.rank([[1, 1], [1, 8]], 2)
    2
    >>> backend.pivot_columns([[1, 2, 3], [2, 4, 7]], 3)
    [0, 2]
    >>> backend.kernel([[2, -1]], 2)
    [[Fraction(1, 2), Fraction(1, 1)]]
    >>> backend.describe()
    {'backend': 'rational', 'exact': True, 'field': 'Q'}
    """

    name = "rational"
    exact = True
    description = "exact linear algebra over Q with python-flint (reference, slower)"

    def convert(self, value: Rational) -> Fraction:
        """Return ``value`` as a :class:`fractions.Fraction`.

        Raises
        ------
        InvalidPointError
            The value is not an exact rational.
        """
        if isinstance(value, numbers.Rational):
            return Fraction(int(value.numerator), int(value.denominator))
        raise InvalidPointError(f"value {value!r} is not an exact rational (int or Fraction)")

    def _matrix(self, rows: Rows, ncols: int) -> Any:
        if any(isinstance(row, Mapping) for row in rows):
            matrix = flint.fmpq_mat(len(rows), ncols)
            for i, row in enumerate(rows):
                for j, value in row_items(row, ncols):
                    if value:
                        q = self.convert(value)
                        matrix[i, j] = flint.fmpq(q.numerator, q.denominator)
            return matrix
        types = entry_types(rows, ncols)
        if not rows or ncols == 0:
            return flint.fmpq_mat(len(rows), ncols)
        if types == {int}:  # the type test matters: fmpz_mat would also parse strings
            return flint.fmpq_mat(flint.fmpz_mat(cast("Sequence[Sequence[int]]", rows)))
        entries = []
        for row in rows:
            for x in row:
                q = self.convert(x)
                entries.append(flint.fmpq(q.numerator, q.denominator))
        return flint.fmpq_mat(len(rows), ncols, entries)

    def _rref(self, rows: Rows, ncols: int) -> tuple[Any, list[int]]:
        reduced, rank = self._matrix(rows, ncols).rref()
        return reduced, leading_columns(reduced, int(rank))

    def rank(self, rows: Rows, ncols: int) -> int:
        """Rank over Q."""
        return int(self._matrix(rows, ncols).rank())

    def pivot_columns(self, rows: Rows, ncols: int) -> list[int]:
        """Pivot columns of the reduced row echelon form over Q."""
        return self._rref(rows, ncols)[1]

    def pivot_rows(self, rows: Rows, ncols: int) -> list[int]:
        """First maximal independent set of rows (pivot columns of the transpose)."""
        reduced, rank = self._matrix(rows, ncols).transpose().rref()
        return leading_columns(reduced, int(rank))

    def kernel(self, rows: Rows, ncols: int) -> list[list[Fraction]]:
        """Reduced basis of the right kernel over Q.

        With R the reduced row echelon form and pivot columns c_0 < c_1 < ...,
        the vector of the free column f has 1 at f, ``-R[i, f]`` at c_i and 0
        elsewhere: it solves R x = 0 and has the contract's identity pattern.
        """
        reduced, pivots = self._rref(rows, ncols)
        pivot_set = set(pivots)
        basis: list[list[Fraction]] = []
        for free in range(ncols):
            if free in pivot_set:
                continue
            vector = [Fraction(0)] * ncols
            vector[free] = Fraction(1)
            for i, column in enumerate(pivots):
                vector[column] = -_fraction(reduced[i, free])
            basis.append(vector)
        return basis

    def describe(self) -> dict[str, Any]:
        """Backend facts plus ``field``."""
        facts = super().describe()
        facts["field"] = "Q"
        return facts
