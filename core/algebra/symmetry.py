"""Sign-flip symmetries of the generating fields, found over GF(2).

docs/theory.md section 2.3: a diagonal sign flip g = diag(s), s ∈ {±1}^D, with
``w_i(gθ) = ±g w_i(θ)`` for every generating field maps laws to laws, so the
space of polynomial laws splits by *character*: which flips change a
monomial's sign.  Writing s as a vector of GF(2)^D, a monomial θ^α has
character ``s ↦ α·s (mod 2)``.  Component j of field i transforms correctly
when every monomial α of w_ij, shifted to α + e_j, has the same character as
all the others of field i; the flips that allow it form a subspace S, and its
annihilator S^⊥ is spanned by the differences of those shifted exponent
vectors.  Two monomials lie in the same block iff their parity vectors agree
modulo S^⊥.

Nothing here knows an architecture: for a path lifting each φ_i is one
monomial and every flip is a symmetry (each monomial a block of its own, apart
from those of even exponents); for a linear network the symmetries are the
flips of whole hidden neurons.

Vectors of GF(2)^D are Python ints used as bit sets: XOR is addition.

Examples
--------
>>> basis = GF2Span()
>>> basis.add(0b011)
True
>>> basis.reduce(0b001) == basis.reduce(0b010)
True
>>> basis.reduce(0b100) == basis.reduce(0b001)
False
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from conslaws.core.algebra.sparse_elimination import LIFTING_PRIME, rational_kernel
from conslaws.core.algebra.vector_fields import VectorField

__all__ = ["GF2Span", "character_span", "grading", "parity"]


class GF2Span:
    """A subspace of GF(2)^D in echelon form, with canonical reduction."""

    def __init__(self) -> None:
        self._rows: dict[int, int] = {}  # leading bit -> row with that leading bit

    def __len__(self) -> int:
        return len(self._rows)

    def reduce(self, vector: int) -> int:
        """Canonical representative of ``vector`` modulo the span (no leading bit set)."""
        # Walk the set bits from the top: a row's leading bit is its highest, so
        # XOR-ing it clears that bit, and the cost follows the bits met rather
        # than the size of the span (8 s -> 0.1 s for 2,162 rows at D = 2,304).
        out = 0
        while vector:
            top = vector.bit_length() - 1
            row = self._rows.get(top)
            if row is None:
                out |= 1 << top
                vector ^= 1 << top
            else:
                vector ^= row
        return out

    def codes(self, size: int, rng: np.random.Generator) -> NDArray[np.uint64]:
        """64 random linear functionals on GF(2)^size that vanish on the span, per bit.

        Entry j packs the values at e_j of 64 functionals chosen uniformly among
        those vanishing on the span; a vector's code is the XOR of the entries of
        its set bits.  Vectors equal modulo the span get equal codes; two vectors
        that differ modulo it get equal codes with probability 2**-64, and then
        merely share a law block (a union of blocks is still a block).
        """
        out: NDArray[np.uint64] = (rng.integers(0, 2**63, size=size, dtype=np.uint64)
                                   << np.uint64(1))
        out ^= rng.integers(0, 2, size=size, dtype=np.uint64)
        # Each row r with leading bit L must get code 0: fix the code of e_L as the
        # XOR of the codes of r's other bits, all below L (fixed first).
        for lead in sorted(self._rows):
            rest = self._rows[lead] ^ (1 << lead)
            code = np.uint64(0)
            while rest:
                low = rest & -rest
                code ^= out[low.bit_length() - 1]
                rest ^= low
            out[lead] = code
        return out

    def add(self, vector: int) -> bool:
        """Add a vector; return True when it enlarged the span."""
        vector = self.reduce(vector)
        if not vector:
            return False
        self._rows[vector.bit_length() - 1] = vector
        return True


def parity(support: Iterable[tuple[int, int]]) -> int:
    """Parity vector of a sparse exponent ``((j, e), ...)`` as a bit set."""
    bits = 0
    for j, e in support:
        if e & 1:
            bits ^= 1 << j
    return bits


def character_span(generators: Sequence[VectorField]) -> GF2Span:
    """S^⊥ for the generating fields: monomials equal modulo it share a block."""
    span = GF2Span()
    for field in generators:
        if field.potential is not None:
            # ∂_j θ^β shifted by e_j is β again: compare the terms of φ_i.
            shifted = [parity(s) for _, s in field._compiled_potential.terms]
        else:
            shifted = [
                parity(s) ^ (1 << j)
                for j, comp in field._compiled.items()
                for _, s in comp.terms
            ]
        for other in shifted[1:]:
            span.add(other ^ shifted[0])
    return span


def grading(generators: Sequence[VectorField], rational: Any, modular: Any,
            rng: random.Random) -> list[Fraction] | None:
    """Weights w making every generating field a homogeneous derivation, or None.

    Give θ_j the weight w_j.  A field is homogeneous for w when w·α - w_j is the
    same for every monomial α of every component j; then ∇h·χ is homogeneous
    of weight d + c_χ for a w-homogeneous h of weight d, so each w-homogeneous
    part of a law is a law and the search splits by weight (docs/theory.md 2.3;
    w = (1, ..., 1) is the total degree).  The valid w form the kernel of the
    differences of the vectors α - e_j within each field, computed exactly
    over Q; a random integer combination of a kernel basis separates every
    weight the kernel can separate.  For the phase space of momentum the clock
    s gets its own weight, independent of θ and θ'.
    """
    size = generators[0].ring.dimension if generators else 0
    rows: list[dict[int, int]] = []
    for field in generators:
        if field.potential is not None:
            shifted = [
                {**{k: e for k, e in support}, j: dict(support).get(j, 0) - 2}
                for _, support in field._compiled_potential.terms
                for j, e in support
            ]
        else:
            shifted = [
                {**{k: e for k, e in support}, j: dict(support).get(j, 0) - 1}
                for j, comp in field._compiled.items()
                for _, support in comp.terms
            ]
        first = shifted[0] if shifted else {}
        for other in shifted[1:]:
            diff = {k: other.get(k, 0) - first.get(k, 0) for k in set(other) | set(first)}
            diff = {k: v for k, v in diff.items() if v}
            if diff:
                rows.append(diff)
    # Most constraints read w_a = w_b (every variable of one path monomial gets
    # the same weight): merge those with a union-find, and solve only the rest,
    # over the merged classes, with exact linear algebra.
    parent = list(range(size))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    general = []
    for row in rows:
        if len(row) == 2 and sum(row.values()) == 0:
            a, b = row
            parent[find(a)] = find(b)
        else:
            general.append(row)
    classes = sorted({find(j) for j in range(size)})
    slot = {c: i for i, c in enumerate(classes)}
    reduced = []
    for row in general:
        merged: dict[int, int] = {}
        for j, v in row.items():
            k = slot[find(j)]
            merged[k] = merged.get(k, 0) + v
        merged = {k: v for k, v in merged.items() if v}
        if merged:
            reduced.append(merged)
    if reduced:
        basis = _kernel(reduced, len(classes), rational, modular, rng)
        if basis is None:
            return None
        class_weight = basis
    else:
        class_weight = [Fraction(rng.randint(1, 10**6)) for _ in classes]
    return [class_weight[slot[find(j)]] for j in range(size)]


def _kernel(rows: list[dict[int, int]], width: int, rational: Any, modular: Any,
            rng: random.Random) -> list[Fraction] | None:
    """A random element of the kernel over Q of sparse integer ``rows``, or None if it is 0.

    The kernel is computed mod a 61-bit prime and lifted to Q (fast: the rows
    are sparse), and the random combination is checked against every row
    exactly; only if that fails is the kernel recomputed over Q.
    """
    lifted = rational_kernel(rows, width, LIFTING_PRIME)
    if lifted is not None:
        if not lifted:
            return None
        weight = _combine(lifted, width, rng)
        scale = math.lcm(*(w.denominator for w in weight))
        integral = [int(w * scale) for w in weight]
        if all(sum(v * integral[k] for k, v in row.items()) == 0 for row in rows):
            return weight
    # Rows chosen mod p are a speed device: an exponent difference of 3
    # vanishes mod 3, and the kernel of the kept rows is then too large.
    kept = [rows[i] for i in modular.pivot_rows(rows, width)]
    basis = rational.kernel(kept, width)
    if not all(_annihilates(row, vector) for vector in basis for row in rows):
        unique = [dict(r) for r in {tuple(sorted(r.items())) for r in rows}]
        basis = rational.kernel(unique, width)
    return _combine(basis, width, rng) if basis else None


def _combine(basis: Sequence[Sequence[Any]], width: int, rng: random.Random) -> list[Fraction]:
    """A random integer combination of ``basis``: it separates every weight the span can."""
    weight = [Fraction(0)] * width
    for vector in basis:
        c = rng.randint(1, 10**6)
        weight = [w + c * Fraction(v) for w, v in zip(weight, vector, strict=True)]
    return weight


def _annihilates(row: dict[int, int], vector: Sequence[Any]) -> bool:
    """Whether the sparse integer ``row`` times ``vector`` is exactly zero."""
    return sum((Fraction(vector[k]) * v for k, v in row.items()), start=Fraction(0)) == 0
