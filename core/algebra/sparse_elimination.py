"""Sparse Gaussian elimination over GF(p), for the law search's linear systems.

The law system of a block has one row per (generating field, monomial of the
result) and one column per unknown coefficient; a row has only a few nonzero
entries (two for a linear network's mirror flow), so dense elimination spends
almost all its time on zeros.  Rows are kept as dicts, each new row is reduced
by the pivots found so far, and a row that does not vanish becomes a pivot:
the rows chosen are independent mod p, hence over Q.

:func:`kernel_mod_p` returns the reduced kernel basis mod p (a 1 at each free
column, zeros at the other free columns), and :func:`rational_kernel` lifts it
to Q by rational reconstruction.  A lifted vector is only a *candidate*: the
law search verifies every candidate exactly over Q and falls back to an exact
kernel when one fails, so an unlucky prime costs time, never correctness.

Examples
--------
>>> p = 101
>>> rows = [{0: 1, 1: -1}, {1: 1, 2: -1}, {0: 1, 2: -1}]   # x0 = x1 = x2
>>> independent_rows(rows, p)
[0, 1]
>>> rational_kernel([rows[i] for i in (0, 1)], 3, 2**61 - 1)
[[Fraction(1, 1), Fraction(1, 1), Fraction(1, 1)]]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction

__all__ = [
    "LIFTING_PRIME",
    "independent_rows",
    "kernel_mod_p",
    "rational_kernel",
    "rational_reconstruction",
]

SparseRow = Mapping[int, int]

#: Prime of the sparse kernels lifted to Q by rational reconstruction (entries up to
#: about 10**9 in numerator and denominator lift).
LIFTING_PRIME = 2**61 - 1


def _reduce(row: dict[int, int], pivots: Mapping[int, dict[int, int]], p: int) -> None:
    """Subtract pivot rows from ``row`` (in place) until no pivot column is left in it."""
    while True:
        hits = [c for c in row if c in pivots]
        if not hits:
            return
        for column in hits:
            factor = row.get(column)
            if not factor:
                continue
            for c, v in pivots[column].items():
                value = (row.get(c, 0) - factor * v) % p
                if value:
                    row[c] = value
                else:
                    row.pop(c, None)


def _eliminate(rows: Sequence[SparseRow], p: int, limit: int | None = None
               ) -> tuple[list[int], dict[int, dict[int, int]]]:
    pivots: dict[int, dict[int, int]] = {}
    chosen: list[int] = []
    for index, source in enumerate(rows):
        row = {c: v % p for c, v in source.items() if v % p}
        _reduce(row, pivots, p)
        if row:
            # The highest column: pivots then form an upper-triangular system.
            column = max(row)
            inverse = pow(row[column], -1, p)
            pivots[column] = {c: v * inverse % p for c, v in row.items()}
            chosen.append(index)
            if limit is not None and len(chosen) == limit:
                break
    return chosen, pivots


def independent_rows(rows: Sequence[SparseRow], p: int) -> list[int]:
    """Indices of a maximal set of rows independent mod ``p`` (the first ones found)."""
    width = 1 + max((max(r) for r in rows if r), default=-1)
    return _eliminate(rows, p, limit=width)[0]


def kernel_mod_p(rows: Sequence[SparseRow], ncols: int, p: int) -> list[dict[int, int]]:
    """A basis of the right kernel mod ``p``: one vector per free column, sparse."""
    _, pivots = _eliminate(rows, p)
    # Back substitution, lowest pivot first: each pivot row then only has free
    # columns besides its pivot (pivot columns are its own maximum).
    solved: dict[int, dict[int, int]] = {}
    for column in sorted(pivots):
        row = dict(pivots[column])
        del row[column]
        expanded: dict[int, int] = {}
        for c, v in row.items():
            for f, w in (solved[c].items() if c in solved else ((c, 1),)):
                value = (expanded.get(f, 0) + v * w) % p
                if value:
                    expanded[f] = value
                else:
                    expanded.pop(f, None)
        # x_column = -Σ row[c] x_c, written in the free columns.
        solved[column] = {f: -v % p for f, v in expanded.items()}
    basis = []
    for free in (c for c in range(ncols) if c not in pivots):
        vector = {free: 1}
        for column, expression in solved.items():
            if free in expression:
                vector[column] = expression[free]
        basis.append(vector)
    return basis


def rational_reconstruction(value: int, p: int) -> Fraction | None:
    """The fraction a/b with |a|, b <= sqrt(p/2) and a/b = value mod p, if there is one."""
    bound = math.isqrt(p // 2)
    r0, r1, t0, t1 = p, value % p, 0, 1
    while r1 > bound:
        quotient = r0 // r1
        r0, r1 = r1, r0 - quotient * r1
        t0, t1 = t1, t0 - quotient * t1
    if t1 == 0 or abs(t1) > bound or math.gcd(r1, abs(t1)) != 1:
        return None
    return Fraction(r1, t1)


def rational_kernel(rows: Sequence[SparseRow], ncols: int, p: int
                    ) -> list[list[Fraction]] | None:
    """The kernel mod ``p`` lifted to Q entry by entry, or None when an entry does not lift."""
    lifted = []
    for vector in kernel_mod_p(rows, ncols, p):
        dense = [Fraction(0)] * ncols
        for c, v in vector.items():
            q = rational_reconstruction(v, p)
            if q is None:
                return None
            dense[c] = q
        lifted.append(dense)
    return lifted
