"""Exact linear algebra over GF(p) with python-flint ``nmod_mat``.

This is the default backend: ranks mod a large prime are exact in GF(p) and
never exceed the rank over Q, so they are rigorous lower bounds of the generic
rank, at word-size speed.

The modulus is validated before any mod-p object exists, because flint may
abort the interpreter (not raise) on a composite modulus.  Integer matrices go
to flint through ``fmpz_mat`` (which takes arbitrary Python ints, negative or
huge) and are reduced there; this is about twice as fast as reducing each entry
in Python, and building the matrix dominates the cost of a rank.
"""

from __future__ import annotations

import numbers
import random
from collections.abc import Mapping, Sequence
from typing import Any, cast

import flint

from conslaws.core.errors import InvalidModulusError, InvalidPointError
from conslaws.core.plugins.backend import (
    Backend,
    Rational,
    RowBasis,
    Rows,
    entry_types,
    leading_columns,
    row_items,
)

__all__ = ["DEFAULT_MODULUS", "ModularBackend", "check_modulus"]

#: The Mersenne prime 2**61 - 1: fits a machine word with room to spare.
DEFAULT_MODULUS = 2**61 - 1


def check_modulus(modulus: object) -> int:
    """Return ``modulus`` if it is a prime p with 2 < p < 2**64, else raise.

    Only integer arithmetic is used (``fmpz.is_prime`` and ``fmpz.factor``),
    so a bad modulus never reaches a mod-p flint object.

    Parameters
    ----------
    modulus : object
        The candidate modulus.

    Returns
    -------
    int
        The modulus, unchanged.

    Raises
    ------
    InvalidModulusError
        Not an ``int`` (``bool`` is refused), out of range, or composite.

    Examples
    --------
    >>> check_modulus(7)
    7
    >>> check_modulus(15)
    Traceback (most recent call last):
    ...
    conslaws.core.errors.InvalidModulusError: modulus 15 is not prime (15 = 3 * 5)
    """
    if isinstance(modulus, bool) or not isinstance(modulus, int) or not 2 < modulus < 2**64:
        raise InvalidModulusError(f"modulus must be a prime between 3 and 2**64, got {modulus!r}",
                                  argument="modulus")
    if not flint.fmpz(modulus).is_prime():
        factors = " * ".join(
            str(prime) if exponent == 1 else f"{prime}**{exponent}"
            for prime, exponent in flint.fmpz(modulus).factor()
        )
        raise InvalidModulusError(f"modulus {modulus} is not prime ({modulus} = {factors})",
                                  argument="modulus")
    return modulus


class ModularBackend(Backend):
    """Exact rank, pivots and kernel over the prime field GF(p).

    Parameters
    ----------
    modulus : int, default 2**61 - 1
        A prime p with 2 < p < 2**64.  A rank mod p can drop below the rank
        over Q only when p divides certain minors ("unlucky" primes); a large
        random-looking prime makes that vanishingly rare.

    Raises
    ------
    InvalidModulusError
        If ``modulus`` is not such a prime.

    Examples
    --------
    >>> from fractions import Fraction
    >>> backend = ModularBackend(7)
    >>> backend.rank([[1, 1], [1, 8]], 2)  # 8 = 1 mod 7
    1
    >>> backend.kernel([[1, 1], [1, 8]], 2)
    [[6, 1]]
    >>> backend.convert(Fraction(1, 2))
    4
    >>> ModularBackend().describe()["field"]
    'GF(2305843009213693951)'
    """

    name = "modular"
    exact = True
    prime_field = True
    description = "exact linear algebra over GF(p) with python-flint (default p = 2**61 - 1)"

    def __init__(self, modulus: int = DEFAULT_MODULUS) -> None:
        self.modulus: int = check_modulus(modulus)
        self.characteristic = self.modulus

    def convert(self, value: Rational) -> int:
        """Map an exact rational to its residue in ``[0, p)``.

        Raises
        ------
        InvalidPointError
            The value is not rational, or its denominator is divisible by p.
        """
        p = self.modulus
        if isinstance(value, int):
            return value % p
        if isinstance(value, numbers.Rational):
            numerator, denominator = int(value.numerator), int(value.denominator)
            if denominator % p == 0:
                raise InvalidPointError(
                    f"value {value} has a denominator divisible by the modulus {p}"
                )
            return numerator * pow(denominator, -1, p) % p
        raise InvalidPointError(f"value {value!r} is not an exact rational (int or Fraction)")

    def _matrix(self, rows: Rows, ncols: int) -> Any:
        p = self.modulus
        if any(isinstance(row, Mapping) for row in rows):
            matrix = flint.nmod_mat(len(rows), ncols, p)
            for i, row in enumerate(rows):
                for j, value in row_items(row, ncols):
                    if value:
                        matrix[i, j] = self.convert(value)
            return matrix
        types = entry_types(rows, ncols)
        if not rows or ncols == 0:
            return flint.nmod_mat(len(rows), ncols, p)
        if types == {int}:
            # fmpz_mat takes any Python int and nmod_mat reduces it in C.  The
            # type test matters: fmpz_mat would also parse strings.
            return flint.nmod_mat(flint.fmpz_mat(cast("Sequence[Sequence[int]]", rows)), p)
        return flint.nmod_mat([[self.convert(x) for x in row] for row in rows], p)

    def rank(self, rows: Rows, ncols: int) -> int:
        """Rank over GF(p)."""
        return int(self._matrix(rows, ncols).rank())

    def pivot_columns(self, rows: Rows, ncols: int) -> list[int]:
        """Pivot columns of the reduced row echelon form over GF(p)."""
        reduced, rank = self._matrix(rows, ncols).rref()
        return leading_columns(reduced, int(rank))

    def pivot_rows(self, rows: Rows, ncols: int) -> list[int]:
        """First maximal independent set of rows (pivot columns of the transpose)."""
        reduced, rank = self._matrix(rows, ncols).transpose().rref()
        return leading_columns(reduced, int(rank))

    def row_basis(self, ncols: int) -> RowBasis:
        """An incremental row basis: blocked elimination on numpy BLAS when p < 2**22.

        Capability by prime size: below 2**22 every product of residues the
        elimination forms is exact in float64
        (:class:`~conslaws.core.algebra.modrank.EchelonBasis`); larger primes use
        flint through :meth:`pivot_rows`.

        Examples
        --------
        >>> ModularBackend(4194301).row_basis(3).method[:22]
        'blocked elimination mo'
        >>> ModularBackend().row_basis(3).method
        'pivot_rows of the modular backend'
        """
        from conslaws.core.algebra.modrank import EchelonBasis

        if EchelonBasis.supports(self.modulus):
            return EchelonBasis(ncols, self.modulus)
        return super().row_basis(ncols)

    def kernel(self, rows: Rows, ncols: int) -> list[list[int]]:
        """Reduced basis of the right kernel over GF(p), entries in ``[0, p)``.

        flint's ``nullspace`` returns some basis in the first ``nullity``
        columns.  Its span is all that is used: reversing the coordinates and
        taking the reduced row echelon form of the basis vectors puts a 1 at
        each vector's *last* nonzero coordinate, and those positions are
        exactly the non-pivot columns of the matrix (the reduced kernel vector
        of a free column f has no nonzero coordinate after f).  So the
        reversed rref, read back in order, is the reduced basis of the
        contract whatever normalisation flint applies.
        """
        matrix = self._matrix(rows, ncols)
        if ncols == 0:
            return []
        basis, nullity = matrix.nullspace()
        nullity = int(nullity)
        if nullity == 0:
            return []
        last = ncols - 1
        reversed_basis = flint.nmod_mat(
            nullity,
            ncols,
            [int(basis[last - c, k]) for k in range(nullity) for c in range(ncols)],
            self.modulus,
        )
        reduced, rank = reversed_basis.rref()
        if int(rank) != nullity:  # flint returned a dependent "basis": never expected
            raise ArithmeticError(f"nullspace basis of rank {rank} for nullity {nullity}")
        return [[int(reduced[k, last - c]) for c in range(ncols)] for k in reversed(range(nullity))]

    def kernels(self, matrices: Any, ncols: int) -> list[Any]:
        """Kernels of several matrices: one numpy elimination for a stack of narrow ones.

        Capability by shape and prime size: a 3-D integer array of matrices with at
        most :data:`~conslaws.core.algebra.batch_elimination.MAX_BATCH_COLUMNS`
        columns, mod a prime below 2**31, is reduced as one stack
        (:func:`~conslaws.core.algebra.batch_elimination.batch_kernels`, each kernel a
        2-D array); anything else goes to :meth:`kernel` one matrix at a time.

        Examples
        --------
        >>> import numpy as np
        >>> [k.tolist() for k in ModularBackend(7).kernels(np.array([[[1, 2]]]), 2)]
        [[[5, 1]]]
        """
        from conslaws.core.algebra.batch_elimination import batch_kernels, supports_batch

        if getattr(matrices, "ndim", 0) == 3 and supports_batch(self.modulus, ncols):
            return batch_kernels(matrices, self.modulus)
        return super().kernels(matrices, ncols)

    def sample_point(self, rng: random.Random, size: int) -> list[Rational]:
        """Uniform nonzero residues: a degree-d polynomial that is nonzero mod p
        vanishes at such a point with probability at most d / (p - 1)."""
        return [rng.randrange(1, self.modulus) for _ in range(size)]

    def describe(self) -> dict[str, Any]:
        """Backend facts plus ``modulus`` and ``field``."""
        facts = super().describe()
        facts["modulus"] = self.modulus
        facts["field"] = f"GF({self.modulus})"
        return facts
