"""Sign-flip symmetries of the generating fields, found over GF(2).

theory.md section 2.3: a diagonal sign flip g = diag(s), s ∈ {±1}^D, with
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

from collections.abc import Iterable, Sequence

from conslaws.core.fields import VectorField

__all__ = ["GF2Span", "character_span", "parity"]


class GF2Span:
    """A subspace of GF(2)^D in echelon form, with canonical reduction."""

    def __init__(self) -> None:
        self._rows: dict[int, int] = {}  # leading bit -> row with that leading bit

    def __len__(self) -> int:
        return len(self._rows)

    def reduce(self, vector: int) -> int:
        """Canonical representative of ``vector`` modulo the span."""
        for lead in sorted(self._rows, reverse=True):
            if vector >> lead & 1:
                vector ^= self._rows[lead]
        return vector

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
