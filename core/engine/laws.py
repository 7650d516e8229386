"""Polynomial conservation laws of bounded degree, found and verified exactly.

docs/theory.md section 2.3.  A polynomial h = Σ a_α θ^α is a law iff ∇h·w ≡ 0 for
every generating field w; each coefficient (in θ) of that polynomial is a
linear form in the unknowns a_α, and the laws are the kernel.  The search:

1. Monomials of degree 1..K are split into blocks that can be solved alone:
   by weight for every grading that makes the fields homogeneous derivations
   (total degree when every field is homogeneous; the clock separately on a
   momentum phase space), and by sign-flip character
   (:mod:`conslaws.core.algebra.symmetry`).
2. A block is first tested at the point θ* where the closure ran: the rows
   ``∇θ^α(θ*)·f(θ*)`` for the frame fields f, taken mod p.  Every law
   satisfies them, so a block whose evaluated system has full column rank has
   no law; most blocks end here without symbolic work.
3. A surviving block gets the exact system over Z from the frame fields; rows
   independent mod p are kept and the kernel is computed over Q.
4. Every kernel vector is verified by the exact polynomial identity
   ``∇h·w_i ≡ 0`` for *every* generating field, not only the frame.  If one
   fails (the frame missed a direction: a non-generic point) the block is
   solved again with all generating fields.  So the returned space is exactly
   the space of polynomial laws of those degrees: the kernel contains every
   law, and every basis vector of it was verified.

Examples
--------
>>> from conslaws.core.models.model import Model
>>> from conslaws.core.plugins.registry import backends
>>> model = Model.from_phi(("u", "v1", "v2"), ["u*v1", "u*v2"])
>>> search = find_polynomial_laws(model, 2, point=[2, 3, 5], backend=backends.load("modular")())
>>> [str(model.ring.to_sympy(h)) for h in search.laws]
['u**2 - v1**2 - v2**2']
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from conslaws.core.algebra.polynomials import Number, SparseTerms, primitive_part
from conslaws.core.algebra.sparse_elimination import independent_rows, rational_kernel
from conslaws.core.algebra.symmetry import character_span, grading, parity
from conslaws.core.algebra.vector_fields import VectorField, variables_of
from conslaws.core.errors import ConslawsError
from conslaws.core.frontends.progress import progress_bar
from conslaws.core.models.model import Model
from conslaws.core.plugins.backend import Backend

__all__ = [
    "LawSearch",
    "SearchTooLargeError",
    "find_polynomial_laws",
    "independent_laws",
    "is_conserved",
]

#: Refuse searches with more unknowns than this: the system would not fit in memory.
MAX_MONOMIALS = 3_000_000

Monomial = tuple[tuple[int, int], ...]


class SearchTooLargeError(ConslawsError):
    """The law search would need more unknowns than conslaws accepts."""


@dataclass
class LawSearch:
    """Result of a polynomial law search.

    Attributes
    ----------
    laws : list of fmpz_mpoly
        A basis of the space of polynomial laws of the searched degrees
        (primitive integer polynomials).
    degrees : list of int
        The degrees searched.
    homogeneous : bool
        Whether the search went degree by degree.
    blocks, blocks_solved : int
        Number of blocks, and of blocks that needed an exact solve.
    seconds : float
        Wall time.
    """

    laws: list[Any] = field(default_factory=list)
    degrees: list[int] = field(default_factory=list)
    homogeneous: bool = True
    blocks: int = 0
    blocks_solved: int = 0
    seconds: float = 0.0


def _monomials(size: int, degree: int) -> list[Monomial]:
    out = []
    for combo in itertools.combinations_with_replacement(range(size), degree):
        support: dict[int, int] = {}
        for j in combo:
            support[j] = support.get(j, 0) + 1
        out.append(tuple(support.items()))
    return out


def _gradient_at(monomial: Monomial, point: Sequence[Number]) -> dict[int, Number]:
    grad: dict[int, Number] = {}
    for a, (j, e) in enumerate(monomial):
        value: Number = e * point[j] ** (e - 1)
        for b, (k, f) in enumerate(monomial):
            if b != a:
                value *= point[k] ** f
        grad[j] = value
    return grad


#: Prime of the sparse kernel lifted to Q by rational reconstruction (entries of laws
#: up to about 10**9 in numerator and denominator lift).
LIFTING_PRIME = 2**61 - 1


class _Solver:
    """Builds and solves the law system of one block."""

    def __init__(self, model: Model, frame: Sequence[VectorField], point: Sequence[Number],
                 modular: Backend, rational: Backend) -> None:
        self.model = model
        self.ring = model.ring
        self.frame = list(frame)
        self.point = point
        self.modular = modular
        self.rational = rational
        self.frame_values = [f.value_at(point) for f in self.frame]
        self.by_variable = self._index(self.frame)

    @staticmethod
    def _index(fields: Sequence[VectorField]) -> dict[int, list[int]]:
        index: dict[int, list[int]] = {}
        for i, f in enumerate(fields):
            for j in f.support:
                index.setdefault(j, []).append(i)
        return index

    def evaluated_rank_is_full(self, block: list[Monomial]) -> bool:
        """True when the block's system evaluated at θ* forces every unknown to 0."""
        touching = sorted({i for m in block for j, _ in m for i in self.by_variable.get(j, ())})
        if len(touching) < len(block):
            return False
        grads = [_gradient_at(m, self.point) for m in block]
        if len(block) == 1:
            # Rank 1 iff one evaluated entry is nonzero in the field: no matrix needed.
            (g,) = grads
            return any(
                self.modular.convert(sum((g[j] * self.frame_values[i][j] for j in g
                                          if j in self.frame_values[i]), start=0)) != 0
                for i in touching
            )
        rows = []
        for i in touching:
            values = self.frame_values[i]
            row = [sum((g[j] * values[j] for j in g if j in values), start=0) for g in grads]
            if any(row):
                rows.append(row)
        return self.modular.rank(rows, len(block)) == len(block)

    def solve(self, block: list[Monomial], fields: Sequence[VectorField], *,
              exact_pivots: bool = False) -> list[Any]:
        """Kernel of the block's symbolic system built from ``fields``.

        By default only the rows independent mod p are kept (a speed device):
        rows independent mod p are independent over Q, so the kernel of the
        kept rows *contains* the true kernel, and it is larger exactly when p
        divides a minor of the system (a coefficient of the model, a flow
        parameter, or a small prime).  With ``exact_pivots`` every row is kept
        and the kernel is the exact one over Q.
        """
        gens = self.ring.gens
        index = self._index(fields)
        rows: dict[tuple[int, tuple[int, ...]], dict[int, int]] = {}
        for col, monomial in enumerate(block):
            poly = math.prod((gens[j] ** e for j, e in monomial), start=self.ring.one)
            partial = {j: poly.derivative(j) for j, _ in monomial}
            touching = sorted({i for j in partial for i in index.get(j, ())})
            for i in touching:
                comps = fields[i].components
                total = self.ring.zero()
                for j, d in partial.items():
                    if j in comps:
                        total += d * comps[j]
                for exps, coeff in total.to_dict().items():
                    rows.setdefault((i, exps), {})[col] = int(coeff)
        width = len(block)
        sparse = [row for row in rows.values() if row]
        vectors = None
        if exact_pivots:
            kept = sparse
        elif self.modular.characteristic > 1:
            # Speed device (rows are very sparse): pivots by sparse elimination mod p,
            # the kernel mod a large prime lifted to Q; _solve_block verifies every
            # candidate over Q and falls back to the exact kernel when one fails.
            kept = [sparse[i] for i in independent_rows(sparse, self.modular.characteristic)]
            vectors = rational_kernel(kept, width, LIFTING_PRIME)
        else:
            dense = [[r.get(c, 0) for c in range(width)] for r in sparse]
            kept = [sparse[i] for i in self.modular.pivot_rows(dense, width)]
        if vectors is None:
            vectors = self.rational.kernel([[r.get(c, 0) for c in range(width)] for r in kept],
                                           width)
        laws = []
        for vector in vectors:
            denominator = math.lcm(*(c.denominator for c in vector))
            terms: dict[tuple[int, ...], int] = {}
            for monomial, c in zip(block, vector, strict=False):
                if c:
                    exps = [0] * self.ring.dimension
                    for j, e in monomial:
                        exps[j] = e
                    terms[tuple(exps)] = int(c * denominator)
            laws.append(primitive_part(self.ring.from_dict(terms)))
        return laws


def find_polynomial_laws(
    model: Model,
    degree: int,
    *,
    point: Sequence[Number],
    backend: Backend,
    frame: Sequence[VectorField] | None = None,
    progress: bool = False,
) -> LawSearch:
    """A basis of the polynomial conservation laws of degree 1..``degree``.

    Parameters
    ----------
    model : Model
        The generating fields.
    degree : int
        Highest total degree searched (>= 1).
    point : sequence of int or Fraction
        A point where the frame was chosen (used only to skip empty blocks).
    backend : Backend
        An exact backend for the rank tests; the modular one is fastest.  The
        kernel itself is always computed over Q.
    frame : sequence of VectorField, optional
        Fields spanning W_0 at ``point`` (the closure's first frame).  Defaults
        to all generating fields.
    progress : bool
        Show a progress bar.

    Returns
    -------
    LawSearch
    """
    from conslaws.core.plugins.registry import backends
    from conslaws.core.validation import law_unknowns

    start = time.perf_counter()
    if degree < 1:
        raise ConslawsError(f"--degree must be at least 1, got {degree}")
    modular = backend if backend.exact else backends.load("modular")()
    rational = backends.load("rational")()
    size = model.dimension
    # Closed form, capped: a loop over the degrees would hang on degree 10**21.
    count = law_unknowns(size, degree, cap=MAX_MONOMIALS)
    if count > MAX_MONOMIALS:
        raise SearchTooLargeError(
            f"degree {degree} in {size} parameters means more than {MAX_MONOMIALS:,} unknown "
            f"coefficients; lower the degree"
        )
    homogeneous = model.fields_are_homogeneous
    span = character_span(model.generators)
    weights = grading(model.generators, rational, modular, random.Random(degree))
    # Integer weights (the rational ones times a common denominator) give the
    # same blocks; hashing Fractions for every monomial cost a third of the
    # search on a 228-parameter ReLU network.
    scale = math.lcm(*(w.denominator for w in weights)) if weights else 1
    integral = [int(w * scale) for w in weights] if weights is not None else [0] * size
    blocks: dict[tuple[int, int], list[Monomial]] = {}
    for d in range(1, degree + 1):
        for monomial in _monomials(size, d):
            weight = sum(integral[j] * e for j, e in monomial)
            key = (weight, span.reduce(parity(monomial)))
            blocks.setdefault(key, []).append(monomial)
    frame = list(frame) if frame is not None else list(model.generators)
    solver = _Solver(model, frame, point, modular, rational)
    search = LawSearch(degrees=list(range(1, degree + 1)), homogeneous=homogeneous,
                       blocks=len(blocks))
    for key in progress_bar(sorted(blocks), "law blocks", progress):
        block = blocks[key]
        if solver.evaluated_rank_is_full(block):
            continue
        search.blocks_solved += 1
        search.laws.extend(_solve_block(solver, block, frame, model))
    search.seconds = time.perf_counter() - start
    return search


def _solve_block(solver: _Solver, block: list[Monomial], frame: Sequence[VectorField],
                 model: Model) -> list[Any]:
    """The laws of one block, every one verified exactly against all generating fields.

    Three attempts, each a superset of the true law space of the block: the
    frame's system with rows chosen mod p, all generators' system with rows
    chosen mod p, and all generators' system over Q with every row.  The first
    whose kernel vectors all pass :func:`conserved` is returned; the last is
    the exact kernel, so it always passes (an internal error otherwise).  No
    kernel vector is ever returned unverified.
    """
    attempts = ((frame, False), (model.generators, False), (model.generators, True))
    for fields, exact in attempts:
        candidates = solver.solve(block, fields, exact_pivots=exact)
        if all(conserved(model, candidates)):
            return candidates
    raise ArithmeticError("the exact law system over Q has a kernel vector that is not a law")


def is_conserved(model: Model, law: Any) -> bool:
    """Exact check that ``∇law · w ≡ 0`` for every generating field w.

    ``law`` is a flint polynomial of the model's ring, a sympy expression or a
    string.

    Examples
    --------
    >>> from conslaws.core.models.model import Model
    >>> model = Model.from_phi(("u", "v"), ["u*v"])
    >>> is_conserved(model, "u**2 - v**2"), is_conserved(model, "u**2 + v**2")
    (True, False)
    """
    h = law if type(law).__name__ == "fmpz_mpoly" else model.ring.from_sympy(law)
    return conserved(model, [h])[0]


def conserved(model: Model, laws: Sequence[Any]) -> list[bool]:
    """For each flint polynomial in ``laws``, whether it is a law (exact).

    Only the generating fields that share a variable with a law can fail it,
    so they are found through the model's variable index.
    """
    ring = model.ring
    index = model.generators_by_variable
    verdicts = []
    for h in laws:
        variables = variables_of(h)
        gradient = {j: h.derivative(j) for j in variables}
        touching = sorted({i for j in variables for i in index.get(j, ())})
        ok = True
        for i in touching:
            # A generator has few components; the law's gradient may have many.
            parts = [gradient[j] * c for j, c in model.generators[i].components.items()
                     if j in gradient]
            total = ring.zero()
            for part in parts:
                total += part
            if not total.is_zero():
                ok = False
                break
        verdicts.append(ok)
    return verdicts


def independent_laws(laws: Sequence[Any], point: Sequence[Number], backend: Backend) -> list[int]:
    """Indices of a maximal subset of ``laws`` with independent gradients at ``point``.

    With an exact backend, the size of the subset is a rigorous lower bound on
    the number of functionally independent laws (docs/theory.md section 2.2).
    """
    if not laws:
        return []
    rows = []
    for h in laws:
        grad = SparseTerms(h).gradient(point)
        rows.append([grad.get(j, 0) for j in range(len(point))])
    return backend.pivot_rows(rows, len(point))
