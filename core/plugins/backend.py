"""The arithmetic-backend contract.

A backend does linear algebra over one field and nothing else: it never sees a
polynomial, only matrices whose entries the core has already evaluated exactly
(Python ``int`` or :class:`fractions.Fraction`).  Swapping the backend swaps the
field the ranks are taken in: GF(p), Q, or floating point.

Conventions (every backend follows them; the contract suite in
:mod:`conslaws.core.plugins.testing` checks them):

* A matrix is given as a sequence of rows, each a sequence of ``ncols`` exact
  rationals or a mapping ``{column: value}`` of its nonzero entries (a sparse
  row; the closure's bracket rows have a handful of nonzeros among hundreds of
  columns, and filling a flint matrix entry by entry is 10x faster for them).
  ``ncols`` is passed explicitly so that a matrix may have no rows.
* ``rank(rows, ncols)`` is the rank over the backend's field.
* ``pivot_rows(rows, ncols)`` is the *first* maximal independent set of rows,
  scanning from the top: row ``i`` is listed iff it is not in the span of rows
  ``0..i-1``.  Indices are increasing.  ``pivot_columns`` is the same for
  columns (the pivot columns of the reduced row echelon form).
* ``kernel(rows, ncols)`` is a basis of the right kernel ``{x : M x = 0}``, as
  a list of vectors of length ``ncols`` with entries in the backend's element
  type (``int`` in ``[0, p)``, ``Fraction``, ``float``).  The basis is the
  reduced one: vector ``k`` has a 1 at the ``k``-th non-pivot column and 0 at
  every other non-pivot column.
* ``kernels(matrices, ncols)`` is ``kernel`` of each of several matrices with
  ``ncols`` columns, given as a sequence of matrices or as a 3-D integer array
  ``(count, rows, ncols)``.  The law search asks it for the evaluated systems of
  thousands of small blocks at once.  The default asks ``kernel`` for each; a
  backend overrides it with a batched elimination when it has one (the modular
  backend: one numpy elimination for a stack of narrow matrices, primes below
  2**31).  A kernel may be returned as a 2-D array of shape ``(nullity, ncols)``.
* ``row_basis(ncols)`` is an incremental basis of a row space (:class:`RowBasis`):
  ``add(rows)`` returns the indices of the given rows that are independent of
  everything added before (scanning from the top, as ``pivot_rows``).  Engines
  that draw rows until the rank stops growing use it, so that earlier rows are
  never eliminated again.  The default keeps the independent rows and asks
  ``pivot_rows``; a backend overrides it with a faster kernel when it has one
  (the modular backend: blocked elimination on numpy BLAS for primes below
  2**22).  Its rows are integers (any size) already reduced or not.
* ``convert(value)`` maps one exact rational into the field (it raises
  :class:`~conslaws.core.errors.InvalidPointError` when that is impossible, for
  example a denominator divisible by p).

Exact backends (``exact = True``) give ranks that are rigorous lower bounds of
the generic rank (docs/theory.md section 2.2); a floating-point backend gives an
estimate and says so through ``exact = False`` and :meth:`Backend.describe`.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any, ClassVar, Protocol

__all__ = ["Backend", "PivotRowBasis", "Rational", "Row", "RowBasis", "Rows", "densify",
           "entry_types", "leading_columns", "row_items"]

#: An exact rational entry handed to a backend.
Rational = int | Fraction
#: One row: dense, or sparse as {column: value}.
Row = Sequence[Rational] | Mapping[int, Rational]
#: A matrix as the core hands it to a backend: a sequence of rows.
Rows = Sequence[Row]


def row_items(row: Row, ncols: int) -> Iterable[tuple[int, Rational]]:
    """The ``(column, value)`` pairs of a dense or sparse row, checking its shape."""
    if isinstance(row, Mapping):
        for j in row:
            if not 0 <= j < ncols:
                raise ValueError(f"sparse row has column {j} outside 0..{ncols - 1}")
        return row.items()
    if len(row) != ncols:
        raise ValueError(f"row has {len(row)} entries, expected {ncols}")
    return enumerate(row)


def entry_types(rows: Rows, ncols: int) -> set[type]:
    """Check that every dense row has ``ncols`` entries; return the entry types.

    Exact backends use it to send all-``int`` matrices to flint in one call
    (flint would also parse strings, so the types matter).
    """
    if ncols < 0:
        raise ValueError(f"ncols must be non-negative, got {ncols}")
    types: set[type] = set()
    for index, row in enumerate(rows):
        if len(row) != ncols:
            raise ValueError(f"row {index} has {len(row)} entries, expected {ncols}")
        types.update(map(type, row))
    return types


def leading_columns(reduced: Any, rank: int) -> list[int]:
    """Pivot columns of a reduced row echelon form: the first nonzero of each row."""
    pivots: list[int] = []
    column = 0
    for row in range(rank):
        while reduced[row, column] == 0:
            column += 1
        pivots.append(column)
        column += 1
    return pivots


def densify(rows: Rows, ncols: int) -> list[Sequence[Rational]]:
    """Rows as dense sequences (sparse rows expanded, dense ones unchanged)."""
    out: list[Sequence[Rational]] = []
    for row in rows:
        if isinstance(row, Mapping):
            dense: list[Rational] = [0] * ncols
            for j, v in row_items(row, ncols):
                dense[j] = v
            out.append(dense)
        else:
            out.append(row)
    return out


class RowBasis(Protocol):
    """An incremental basis of a row space over a backend's field.

    Attributes
    ----------
    rank : int
        Number of independent rows added so far.
    method : str
        How the ranks are taken (results record it).
    """

    rank: int
    method: str

    def add(self, rows: Any) -> list[int]:
        """Add integer rows (a 2-d array or a sequence of rows); return the indices of
        those independent of the basis and of the earlier rows of ``rows``."""


class PivotRowBasis:
    """The default :class:`RowBasis` of a backend: its ``pivot_rows`` on kept rows.

    Each :meth:`add` eliminates the kept rows again, so it suits bases built in a
    few steps; backends with an incremental kernel override ``row_basis``.

    Examples
    --------
    >>> from conslaws.core.plugins.registry import backends
    >>> basis = PivotRowBasis(backends.load("rational")(), 2)
    >>> basis.add([[1, 2], [2, 4]]), basis.add([[0, 1], [5, 5]]), basis.rank
    ([0], [0], 2)
    """

    def __init__(self, backend: Backend, ncols: int) -> None:
        self.backend = backend
        self.ncols = ncols
        self.rows: list[list[int]] = []
        self.rank = 0
        self.method = f"pivot_rows of the {backend.name or type(backend).__name__} backend"

    def add(self, rows: Any) -> list[int]:
        new = [[int(v) for v in row] for row in (rows.tolist() if hasattr(rows, "tolist")
                                                 else rows)]
        if not new or self.rank == self.ncols:
            return []
        known = len(self.rows)
        added = [i - known for i in self.backend.pivot_rows(self.rows + new, self.ncols)
                 if i >= known]
        self.rows += [new[i] for i in added]
        self.rank = len(self.rows)
        return added


class Backend(ABC):
    """Base class of arithmetic backends.

    Subclasses set the class attributes and implement the four abstract
    methods; :meth:`pivot_rows` has a default through the transpose.

    Attributes
    ----------
    name : str
        The registry name (``modular``, ``rational``, ``float``).
    exact : bool
        True when ranks are exact in the backend's field, so that they are
        rigorous lower bounds on the generic rank over Q.
    description : str
        One line for ``conslaws list``.
    """

    name: ClassVar[str] = ""
    exact: ClassVar[bool] = True
    description: ClassVar[str] = ""
    #: Characteristic of the field (p for GF(p), 0 for Q and R).  The core may
    #: reduce exact integer values mod a positive characteristic before handing
    #: them over, which keeps its own arithmetic on word-size numbers.
    characteristic: int = 0
    #: True for backends over GF(p) that take the prime as their ``modulus`` option;
    #: with a small enough prime the probe engine can then compute in the same field.
    prime_field: ClassVar[bool] = False

    @abstractmethod
    def convert(self, value: Rational) -> Any:
        """Map one exact rational into the backend's field."""

    @abstractmethod
    def rank(self, rows: Rows, ncols: int) -> int:
        """Rank of the matrix over the backend's field."""

    @abstractmethod
    def pivot_columns(self, rows: Rows, ncols: int) -> list[int]:
        """Indices of the first maximal independent set of columns, increasing."""

    @abstractmethod
    def kernel(self, rows: Rows, ncols: int) -> list[list[Any]]:
        """Reduced basis of the right kernel (see the module docstring)."""

    def pivot_rows(self, rows: Rows, ncols: int) -> list[int]:
        """Indices of the first maximal independent set of rows, increasing."""
        dense = densify(rows, ncols)
        transposed = [[row[j] for row in dense] for j in range(ncols)]
        return self.pivot_columns(transposed, len(rows))

    def kernels(self, matrices: Any, ncols: int) -> list[Any]:
        """:meth:`kernel` of each matrix of ``matrices`` (see the module docstring).

        The default asks :meth:`kernel` once per matrix, so every backend has it.

        Examples
        --------
        >>> from conslaws.core.plugins.registry import backends
        >>> backends.load("rational")().kernels([[[1, 2]], [[1, 0], [0, 1]]], 2)
        [[[Fraction(-2, 1), Fraction(1, 1)]], []]
        """
        return [self.kernel(matrix.tolist() if hasattr(matrix, "tolist") else matrix, ncols)
                for matrix in matrices]

    def row_basis(self, ncols: int) -> RowBasis:
        """An empty incremental basis of rows of length ``ncols`` (see the module docstring).

        The default asks :meth:`pivot_rows`, so every exact backend has one.
        """
        return PivotRowBasis(self, ncols)

    def sample_point(self, rng: random.Random, size: int) -> list[Rational]:
        """A random point suited to this arithmetic (docs/theory.md section 2.2).

        The default draws nonzero integers of up to 30 bits, so that a
        polynomial of degree ``d`` vanishes there with probability at most
        ``d / 2**31`` (Schwartz-Zippel) while exact rational arithmetic stays
        cheap.  Backends override it: the modular one samples all of GF(p).
        """
        bound = 2**30
        return [rng.choice((-1, 1)) * rng.randint(1, bound) for _ in range(size)]

    def describe(self) -> dict[str, Any]:
        """Facts a result should carry about the arithmetic (JSON-ready)."""
        return {"backend": self.name, "exact": self.exact}

    def __repr__(self) -> str:
        details = ", ".join(f"{k}={v!r}" for k, v in self.describe().items() if k != "backend")
        return f"{type(self).__name__}({details})"
