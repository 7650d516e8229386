"""Laws proved from a network graph's structure, and their images under a flow.

The probe engine certifies a count with laws it never searches for: the graph's
symmetries (:mod:`conslaws.core.models.rescaling`) give them, each with its proof.

* ``rescaling``: a potential on the nodes, a diagonal field ``v = (a_j θ_j)`` with
  ``v·∇φ = 0``; the gradient-flow law ``Σ a_j θ_j²``.
* ``mixing``: an infinitesimal mixing ``B`` of two interchangeable linear units,
  with ``Bθ·∇φ = 0`` and ``Bᵀθ·∇φ = 0``; the law ``θᵀ(B + Bᵀ)θ / 2``.
* ``shift``: a constant direction c with ``c·∇φ = 0`` (cross-entropy column sums);
  the law ``cᵀθ``.

A flow maps each symmetry to laws on its own space (:meth:`Flow.lift_laws
<conslaws.core.plugins.flow.Flow.lift_laws>`): for instance heavy-ball momentum keeps
the laws of the antisymmetric symmetries ``A = B - Bᵀ`` only, as ``e^{τt}⟨Aθ, θ'⟩``
(Noether's argument: ``d/dt ⟨Aθ, θ'⟩ = θ'ᵀAθ' - τ⟨Aθ, θ'⟩ - ⟨Aθ, ∇L⟩ = -τ⟨Aθ, θ'⟩``).

A law is a :data:`SparseLaw`: a list of terms ``(c, ((j, e), ...))`` meaning
``c Π θ_j^e`` over the flow's coordinates.

Examples
--------
>>> from conslaws.core.frontends.api import build_model
>>> laws = graph_laws(build_model("linear", widths=(1, 2, 1)).graph)
>>> len(laws.rescaling), len(laws.mixing), len(laws.shift)
(2, 1, 0)
>>> gradient_rows([[(1, ((0, 2),)), (-1, ((1, 2),))]], [3, 5])     # x² - y²
[[6, -10]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx

from conslaws.core.models.rescaling import (
    LINEAR,
    QuadraticLaw,
    mixing_laws,
    output_shift_laws,
    rescaling_laws,
)

if TYPE_CHECKING:
    import sympy

    from conslaws.core.algebra.polynomials import PolynomialRing

__all__ = [
    "GraphLaws",
    "SparseLaw",
    "from_quadratic",
    "gradient_rows",
    "graph_laws",
    "to_polynomial",
    "to_sympy",
]

#: ``[(c, ((j, e), ...)), ...]``: the polynomial Σ c Π θ_j^e.
SparseLaw = list[tuple[int, tuple[tuple[int, int], ...]]]


@dataclass
class GraphLaws:
    """The symmetries of a network graph, each class as the rescaling module gives it."""

    rescaling: list[list[int]]
    mixing: list[QuadraticLaw]
    shift: list[QuadraticLaw]

    def gradient_flow(self) -> list[SparseLaw]:
        """The laws of the gradient flow: Σ a_j θ_j², the mixing forms, cᵀθ."""
        diagonal: list[SparseLaw] = [[(c, ((j, 2),)) for j, c in enumerate(a) if c]
                                     for a in self.rescaling]
        return diagonal + [from_quadratic(m) for m in self.mixing + self.shift]


def graph_laws(graph: nx.DiGraph) -> GraphLaws:
    """Rescalings, mixings and (under cross-entropy) shifts of the graph."""
    return GraphLaws(rescaling_laws(graph), mixing_laws(graph), output_shift_laws(graph))


def from_quadratic(terms: QuadraticLaw, offset: int = 0) -> SparseLaw:
    """A :data:`~conslaws.core.models.rescaling.QuadraticLaw` as a sparse law, its variables
    shifted by ``offset``."""
    law: SparseLaw = []
    for a, b, c in terms:
        if b == LINEAR:
            law.append((c, ((a + offset, 1),)))
        elif a == b:
            law.append((c, ((a + offset, 2),)))
        else:
            law.append((c, ((a + offset, 1), (b + offset, 1))))
    return law


def gradient_rows(laws: Sequence[SparseLaw], point: Sequence[int]) -> list[list[int]]:
    """The laws' gradients at the integer ``point``, over Z, one row per law."""
    rows = [[0] * len(point) for _ in laws]
    for row, law in zip(rows, laws, strict=True):
        for coefficient, support in law:
            for a, (j, e) in enumerate(support):
                term = coefficient * e * point[j] ** (e - 1)
                for b, (k, f) in enumerate(support):
                    if b != a:
                        term *= point[k] ** f
                row[j] += term
    return rows


def to_polynomial(law: SparseLaw, ring: PolynomialRing) -> Any:
    """The law as a flint polynomial of ``ring`` (whose variable j is the law's j).

    Examples
    --------
    >>> from conslaws.core.algebra.polynomials import PolynomialRing
    >>> to_polynomial([(1, ((0, 2),)), (-3, ((1, 1), (2, 1)))], PolynomialRing(("x", "y", "z")))
    x^2 - 3*y*z
    """
    total = ring.zero()
    for coefficient, support in law:
        total += ring.monomial(support, coefficient)
    return total


def to_sympy(law: SparseLaw, symbols: Sequence[sympy.Symbol]) -> sympy.Expr:
    """The law as a sympy expression in ``symbols``."""
    import sympy

    return sympy.Add(*(sympy.Mul(sympy.Integer(c), *(symbols[j] ** e for j, e in support))
                       for c, support in law))
