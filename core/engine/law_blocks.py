"""The law search's unknowns, split into blocks and evaluated through a trace oracle.

docs/theory.md section 2.3.  The unknowns of the search for laws of degree
1..K are the coefficients a_α of the monomials θ^α; a law satisfies, at every
point x and for every field X of W_0,

    Σ_α a_α ∇θ^α(x)·X(x) = 0,

and these equations split into independent *blocks* of unknowns by the
gradings and sign characters of :mod:`conslaws.core.algebra.symmetry`.  This
module holds the vectorized half of the search:

* :class:`MonomialTable`: every monomial of degree 1..K as a row of variable
  indices, with numpy arrays (millions of monomials for d = 24 attention);
* :func:`block_partition`: the blocks, from a weight and a 64-bit character
  code per monomial (a hash collision only merges two blocks, which is sound);
* :class:`EvaluationRows`: rows ``(x, X(x))`` at random points mod p, the
  fields drawn from the model's :class:`~conslaws.core.engine.oracles.PolynomialOracle`;
* :func:`block_matrices`: the evaluated system of many blocks at once;
  :func:`rotation_matrices` the same for the antisymmetric linear symmetries A of
  φ, whose unknown a_jk (j < k) meets the fields as θ_jθ_k does (same blocks).

Every row is the exact image mod p of an equation every law satisfies, so a
block whose evaluated matrix has full column rank mod p has no law, for every
prime (a primitive integer law stays nonzero mod p).

Examples
--------
>>> table = MonomialTable(3, 2)
>>> len(table), table.monomial(4)          # 3 linear and 6 quadratic monomials
(9, ((0, 1), (1, 1)))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from conslaws.core.engine.oracles import CoefficientDraw, PolynomialOracle

__all__ = [
    "BlockMatrices",
    "BlockPartition",
    "EvaluationRows",
    "MonomialTable",
    "block_matrices",
    "block_partition",
    "rotation_matrices",
]

IntArray = NDArray[np.int64]

#: Modulus of the weight keys (a collision merges two blocks, which is harmless).
WEIGHT_MODULUS = 2**61 - 1

#: Entries gathered per numpy step when evaluating monomials (memory: 8 bytes each).
EVALUATION_ENTRIES = 2**23


class MonomialTable:
    """Every monomial of degree 1..``degree`` in ``size`` variables.

    Monomial g of degree d is the nondecreasing index row ``factors(d)[g - offset(d)]``;
    the global indices run through the degrees in order.

    Parameters
    ----------
    size : int
        Number of variables.
    degree : int
        Highest degree.
    """

    def __init__(self, size: int, degree: int) -> None:
        self.size = size
        self.degree = degree
        self.tables: list[IntArray] = []
        table = np.arange(size, dtype=np.int64)[:, None]
        for d in range(1, degree + 1):
            if d > 1:
                table = _prepend_smaller(table)
            self.tables.append(table)
        self.offsets = np.cumsum([0] + [len(t) for t in self.tables])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def degrees(self) -> IntArray:
        """The degree of every monomial, by global index."""
        return np.repeat(np.arange(1, self.degree + 1), [len(t) for t in self.tables])

    def monomial(self, index: int) -> tuple[tuple[int, int], ...]:
        """The sparse exponent ``((j, e), ...)`` of monomial ``index``."""
        row = self.factors(index)
        return tuple((j, row.count(j)) for j in sorted(set(row)))

    def factors(self, index: int) -> list[int]:
        """The variable indices of monomial ``index``, with repetition."""
        d = int(np.searchsorted(self.offsets, index, side="right"))
        return [int(j) for j in self.tables[d - 1][index - self.offsets[d - 1]]]

    def fold(self, per_variable: NDArray[Any], combine: Any, start: Any) -> NDArray[Any]:
        """``combine`` of ``per_variable`` over the factors of every monomial."""
        parts = []
        for table in self.tables:
            acc = np.full(len(table), start, dtype=per_variable.dtype)
            for column in table.T:
                acc = combine(acc, per_variable[column])
            parts.append(acc)
        return np.concatenate(parts)


def _prepend_smaller(table: IntArray) -> IntArray:
    """Rows (i, *row) for every row and every i <= row[0]: one degree higher."""
    counts = table[:, 0] + 1
    source = np.repeat(np.arange(len(table)), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    first = np.arange(int(counts.sum()), dtype=np.int64) - starts
    return np.column_stack([first, table[source]])


@dataclass
class BlockPartition:
    """Monomials grouped into blocks: block k is ``order[starts[k]:starts[k] + sizes[k]]``."""

    order: IntArray
    starts: IntArray
    sizes: IntArray

    def __len__(self) -> int:
        return len(self.sizes)

    def members(self, block: int) -> IntArray:
        start = int(self.starts[block])
        return self.order[start:start + int(self.sizes[block])]

    def restricted(self, keep: NDArray[np.bool_]) -> BlockPartition:
        """The same blocks with only the monomials ``keep`` marks (empty blocks dropped).

        Examples
        --------
        >>> part = BlockPartition(np.array([3, 1, 2, 0]), np.array([0, 2]), np.array([2, 2]))
        >>> small = part.restricted(np.array([True, True, False, False]))  # 0 and 1
        >>> small.order.tolist(), small.starts.tolist(), small.sizes.tolist()
        ([1, 0], [0, 1], [1, 1])
        """
        kept = keep[self.order]
        block_of = np.repeat(np.arange(len(self.sizes)), self.sizes)[kept]
        order = self.order[kept]
        boundary = np.ones(len(order), dtype=bool)
        boundary[1:] = block_of[1:] != block_of[:-1]
        starts = np.flatnonzero(boundary).astype(np.int64)
        sizes = np.diff(np.append(starts, len(order))).astype(np.int64)
        return BlockPartition(order, starts, sizes)

    def stacked(self, blocks: IntArray) -> IntArray:
        """The members of blocks of equal size, one row per block."""
        size = int(self.sizes[blocks[0]])
        index = self.starts[blocks][:, None] + np.arange(size)[None, :]
        return np.asarray(self.order[index], dtype=np.int64)


def block_partition(table: MonomialTable, weights: Sequence[Fraction] | None,
                    codes: NDArray[np.uint64]) -> BlockPartition:
    """Blocks of equal weight and equal sign character.

    Parameters
    ----------
    table : MonomialTable
    weights : sequence of Fraction or None
        A grading (:func:`~conslaws.core.algebra.symmetry.grading`), or None.
    codes : ndarray of uint64
        Character codes of the variables (:meth:`GF2Span.codes
        <conslaws.core.algebra.symmetry.GF2Span.codes>`).
    """
    if weights is not None:
        scale = math.lcm(*(w.denominator for w in weights))
        residues = np.array([int(w * scale) % WEIGHT_MODULUS for w in weights], dtype=np.uint64)
        modulus = np.uint64(WEIGHT_MODULUS)
        weight = table.fold(residues, lambda a, b: (a + b) % modulus, 0)
    else:
        weight = np.zeros(len(table), dtype=np.uint64)
    character = table.fold(codes, np.bitwise_xor, 0)
    order = np.lexsort((character, weight)).astype(np.int64)
    w, c = weight[order], character[order]
    boundary = np.ones(len(order), dtype=bool)
    boundary[1:] = (w[1:] != w[:-1]) | (c[1:] != c[:-1])
    starts = np.flatnonzero(boundary).astype(np.int64)
    sizes = np.diff(np.append(starts, len(order))).astype(np.int64)
    return BlockPartition(order, starts, sizes)


class EvaluationRows:
    """Rows (x, X(x)) mod a prime: random points x, random fields X of W_0 at each.

    Rows are drawn as needed and kept, so every block reads a prefix of the same
    rows.  ``per_point`` fields are drawn at each point: rows at one point span at
    most dim W_0(x), so points are the scarce resource and fields the cheap one.

    Parameters
    ----------
    model : Model
        A model with φ or polynomial generating fields.
    prime : int
        A prime below 2**22 (the oracle's bound).
    rng : numpy.random.Generator
    per_point : int
        Fields drawn per point.
    """

    def __init__(self, model: Any, prime: int, rng: np.random.Generator,
                 per_point: int = 4) -> None:
        self.prime = prime
        self.oracle = PolynomialOracle(model, prime)
        self.rng = rng
        self.per_point = per_point
        self.points = np.zeros((0, model.dimension), dtype=np.int64)
        self.fields = np.zeros((0, model.dimension), dtype=np.int64)

    def rows(self, count: int) -> tuple[IntArray, IntArray]:
        """The first ``count`` rows: points (count, D) and field values (count, D)."""
        while len(self.points) < count:
            point = self.rng.integers(1, self.prime, size=self.oracle.dimension, dtype=np.int64)
            draw = CoefficientDraw(self.rng.integers(0, self.prime, size=(self.oracle.fields,
                                                                          self.per_point)))
            values = self.oracle.field_jet(point[None, :, None], draw)[0].T
            self.points = np.vstack([self.points, np.broadcast_to(point, values.shape)])
            self.fields = np.vstack([self.fields, values])
        return self.points[:count], self.fields[:count]


def block_matrices(table: MonomialTable, members: IntArray, rows: EvaluationRows,
                   count: int) -> IntArray:
    """The evaluated systems (blocks, count, size) of blocks given by their ``members``.

    Entry (k, r, c) is ``∇θ^α(x_r)·X_r(x_r)`` mod p for the c-th monomial α of block k.
    """
    points, fields = rows.rows(count)
    p = rows.prime
    flat = members.ravel()
    out = np.zeros((count, len(flat)), dtype=np.int64)
    degree_of = np.searchsorted(table.offsets, flat, side="right")
    for d in np.unique(degree_of):
        where = np.flatnonzero(degree_of == d)
        factors = table.tables[d - 1][flat[where] - table.offsets[d - 1]]
        step = max(1, EVALUATION_ENTRIES // max(1, count * int(d)))
        for start in range(0, len(where), step):
            part = slice(start, start + step)
            out[:, where[part]] = _directional(factors[part], points, fields, p)
    return np.ascontiguousarray(out.reshape(count, *members.shape).transpose(1, 0, 2))


#: Builds the evaluated systems (blocks, rows, size) of equal-size blocks.
BlockMatrices = Callable[[MonomialTable, IntArray, EvaluationRows, int], IntArray]


def rotation_matrices(table: MonomialTable, members: IntArray, rows: EvaluationRows,
                      count: int) -> IntArray:
    """The evaluated systems of antisymmetric linear maps A, one unknown per θ_jθ_k, j < k.

    ``Aθ`` is tangent to every level set of φ when ``X·Aθ = 0`` for every field X of W_0;
    with A_jk = a_jk = -A_kj the entry (k, r, c) is ``X_j x_k - X_k x_j`` at row r for
    the c-th member θ_jθ_k (quadratic, j < k) of block k.
    """
    points, fields = rows.rows(count)
    p = rows.prime
    flat = members.ravel()
    pairs = table.tables[1][flat - table.offsets[1]]
    j, k = pairs[:, 0], pairs[:, 1]
    out = (fields[:, j] * points[:, k] - fields[:, k] * points[:, j]) % p
    return np.ascontiguousarray(out.reshape(count, *members.shape).transpose(1, 0, 2))


def _directional(factors: IntArray, points: IntArray, fields: IntArray, p: int) -> IntArray:
    """d/dε Π_t (x + εX)_{j_t} = Σ_t X_{j_t} Π_{u≠t} x_{j_u}, per row and monomial, mod p."""
    degree = factors.shape[1]
    xs = points[:, factors]
    ys = fields[:, factors]
    total = np.zeros(xs.shape[:2], dtype=np.int64)
    for t in range(degree):
        term = ys[:, :, t].copy()
        for u in range(degree):
            if u != t:
                term = term * xs[:, :, u] % p
        total = (total + term) % p
    return total
