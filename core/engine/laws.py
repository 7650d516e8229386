"""Polynomial conservation laws of bounded degree, found and verified exactly.

docs/theory.md section 2.3.  A polynomial h = Σ a_α θ^α is a law iff ∇h·w ≡ 0 for
every generating field w; each coefficient (in θ) of that polynomial is a
linear form in the unknowns a_α, and the laws are the kernel.  The search
(:func:`find_polynomial_laws`):

1. Monomials of degree 1..K are split into blocks that can be solved alone:
   by weight for every grading that makes the fields homogeneous derivations
   (total degree when every field is homogeneous; the clock separately on a
   momentum phase space), and by sign-flip character
   (:mod:`conslaws.core.algebra.symmetry`, :mod:`conslaws.core.engine.law_blocks`).
2. Each block's equations are *evaluated*: at random points x mod p, for random
   fields X of W_0 drawn from the trace oracle, the row ``∇θ^α(x)·X(x)``.  Every
   law satisfies every row, so a block whose evaluated matrix has full column
   rank has no law; millions of blocks are screened as a few numpy stacks.
3. The blocks that survive get their kernel mod p from more rows, lifted to Q
   by rational reconstruction (several primes combined when needed), and every
   candidate is verified by the exact polynomial identity ``∇h·w_i ≡ 0`` for
   *every* generating field.  A block whose candidates fail is solved exactly
   from the symbolic fields.  So the returned space is exactly the space of
   polynomial laws of those degrees: the kernel contains every law, and every
   basis vector of it was verified.

:func:`find_polynomial_laws` has an example; :func:`is_conserved` checks one law.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, cast

import flint
import numpy as np
from numpy.typing import NDArray

from conslaws.core.algebra.modrank import PROBE_PRIME
from conslaws.core.algebra.polynomials import Number, SparseTerms, primitive_part
from conslaws.core.algebra.sparse_elimination import (
    LIFTING_PRIME,
    independent_rows,
    rational_kernel,
    rational_reconstruction,
)
from conslaws.core.algebra.symmetry import character_span, grading
from conslaws.core.algebra.vector_fields import variables_of
from conslaws.core.engine.law_blocks import (
    BlockMatrices,
    BlockPartition,
    EvaluationRows,
    MonomialTable,
    block_matrices,
    block_partition,
)
from conslaws.core.errors import ConslawsError, InvalidOptionError
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
    blocks, blocks_solved, blocks_exact : int
        Number of blocks; of blocks that survived the screening (their kernel
        was computed); of blocks solved from the symbolic fields.
    seconds : float
        Wall time.
    refused : str
        Why a higher degree was not searched (see ``enough`` of
        :func:`find_polynomial_laws`), or "".
    kernels_by : list of str
        The backends that computed the blocks' kernels mod p, with their primes.
    """

    laws: list[Any] = field(default_factory=list)
    degrees: list[int] = field(default_factory=list)
    homogeneous: bool = True
    blocks: int = 0
    blocks_solved: int = 0
    blocks_exact: int = 0
    seconds: float = 0.0
    refused: str = ""
    kernels_by: list[str] = field(default_factory=list)


#: Blocks larger than this are solved from the symbolic fields directly: their
#: equations are sparse (a mirror flow's 12,880-monomial block has a few terms per
#: row), while a dense evaluated matrix would cost b^2 memory and b^3 time.
EVALUATED_BLOCK = 512
#: Extra evaluated rows per block in the screening (a block of b unknowns gets b + 2).
SCREEN_MARGIN = 2
#: Primes combined (Chinese remaindering) before a block falls back to the exact solve.
LIFT_ATTEMPTS = 4
#: Stacked entries per numpy step (memory: 8 bytes each).
STACK_ENTRIES = 2**23


class _Solver:
    """Builds and solves the exact law system of one block from the symbolic fields."""

    def __init__(self, model: Model, modular: Backend, rational: Backend) -> None:
        self.model = model
        self.ring = model.ring
        self.modular = modular
        self.rational = rational

    def solve(self, block: list[Monomial], *, exact_pivots: bool = False) -> list[Any]:
        """Kernel of the block's symbolic system built from the generating fields.

        By default only the rows independent mod p are kept (a speed device):
        rows independent mod p are independent over Q, so the kernel of the
        kept rows *contains* the true kernel, and it is larger exactly when p
        divides a minor of the system (a coefficient of the model, a flow
        parameter, or a small prime).  With ``exact_pivots`` every row is kept
        and the kernel is the exact one over Q.
        """
        fields = self.model.generators
        index = self.model.generators_by_variable
        monomials = _monomial_polynomials(self.ring, block)
        rows: dict[tuple[int, tuple[int, ...]], dict[int, int]] = {}
        for col, (monomial, poly) in enumerate(zip(block, monomials, strict=True)):
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
        return [_polynomial(self.ring, monomials, vector) for vector in vectors]


def _monomial_polynomials(ring: Any, block: Sequence[Monomial]) -> list[Any]:
    """The monomials of a block as flint polynomials."""
    gens = ring.gens
    return [math.prod((gens[j] ** e for j, e in monomial), start=ring.one)
            for monomial in block]


def _polynomial(ring: Any, monomials: Sequence[Any], vector: Sequence[Any]) -> Any:
    """The primitive integer polynomial Σ vector[c] monomials[c] (vector over Q)."""
    entries = [(i, Fraction(c)) for i, c in enumerate(vector) if c]
    denominator = math.lcm(*(c.denominator for _, c in entries))
    total = ring.zero()
    for i, c in entries:
        total += c.numerator * (denominator // c.denominator) * monomials[i]
    return primitive_part(total)


def find_polynomial_laws(
    model: Model,
    degree: int,
    *,
    backend: Backend,
    seed: int = 0,
    progress: bool = False,
    enough: Callable[[list[Any]], bool] | None = None,
) -> LawSearch:
    """A basis of the polynomial conservation laws of degree 1..``degree``.

    The monomials are split into blocks (:mod:`conslaws.core.engine.law_blocks`);
    each block's system is evaluated mod p at random points through the model's
    trace oracle, and

    1. a block whose evaluated matrix has full column rank mod p has no law
       (proved, for every prime);
    2. the others get their kernel mod p from more rows, lifted to Q by rational
       reconstruction (combining primes by Chinese remaindering when the
       coefficients are large), and every candidate is verified exactly,
       ``∇h·w ≡ 0`` for every generating field w;
    3. when all candidates of a block pass and there are as many as the kernel
       mod p has dimensions, they are a basis of the block's laws (the laws
       reduce injectively into that kernel); otherwise the block is solved
       exactly from the symbolic fields.

    Parameters
    ----------
    model : Model
        The generating fields (φ or polynomial fields).
    degree : int
        Highest total degree searched (>= 1).
    backend : Backend
        An exact backend; when it works mod a prime below 2**22 the evaluations
        start with that prime.  The laws are always exact over Q.
    seed : int
        Seed of the evaluation points.
    progress : bool
        Show a progress bar.
    enough : callable, optional
        Search degree 1, 2, ..., ``degree`` in turn, sharing the grading, the
        character codes and the evaluated rows, and stop at the first degree whose
        basis ``laws`` gives ``enough(laws)``.  A degree beyond the size limit then
        ends the search (``refused`` says why) instead of raising, unless it is 1.

    Returns
    -------
    LawSearch

    Examples
    --------
    >>> from conslaws.core.models.model import Model
    >>> from conslaws.core.plugins.registry import backends
    >>> model = Model.from_phi(("u", "v1", "v2"), ["u*v1", "u*v2"])
    >>> search = find_polynomial_laws(model, 2, backend=backends.load("modular")())
    >>> [str(model.ring.to_sympy(h)) for h in search.laws]
    ['u**2 - v1**2 - v2**2']
    """
    start = time.perf_counter()
    if degree < 1:
        raise InvalidOptionError(f"degree must be at least 1, got {degree}", argument="degree")
    degrees = range(1, degree + 1) if enough is not None else range(degree, degree + 1)
    _check_size(model.dimension, degrees[0])
    setup = search_setup(model, backend, seed, grading_seed=degree)
    weights, codes = setup.weights, setup.codes
    arithmetic, evaluations = setup.arithmetic, setup.evaluations
    solver = _Solver(model, setup.modular, setup.rational)
    search = LawSearch(homogeneous=model.fields_are_homogeneous)
    for d in degrees:
        try:
            _check_size(model.dimension, d)
        except SearchTooLargeError as refused:
            search.refused = str(refused).split(";")[0]
            break
        table = MonomialTable(model.dimension, d)
        partition = block_partition(table, weights, codes)
        search.laws, search.degrees = [], list(range(1, d + 1))
        search.blocks, search.blocks_exact = len(partition), 0
        _search_blocks(search, table, partition, solver, arithmetic, evaluations, progress)
        if enough is not None and enough(search.laws):
            break
    search.seconds = time.perf_counter() - start
    return search


@dataclass
class SearchSetup:
    """What every block search of one model shares: its blocks and its arithmetic.

    Attributes
    ----------
    modular, rational : Backend
        Exact backends for the symbolic solves (the caller's, when it is a prime field).
    weights : list of Fraction or None
        The grading of the fields.
    codes : ndarray of uint64
        The variables' sign-character codes.
    arithmetic : dict
        The evaluation primes, each with the backend computing its kernels: the
        caller's own at its prime, the modular backend at the search's other primes.
    evaluations : list of EvaluationRows
        Rows mod the first prime (lifting attempts add the others).
    """

    modular: Backend
    rational: Backend
    weights: list[Fraction] | None
    codes: NDArray[np.uint64]
    arithmetic: dict[int, Backend]
    evaluations: list[EvaluationRows]


def search_setup(model: Model, backend: Backend, seed: int, grading_seed: int) -> SearchSetup:
    """The grading, characters, primes and first evaluation rows of a block search."""
    from conslaws.backends.modular import ModularBackend
    from conslaws.core.plugins.registry import backends

    modular = backend if backend.exact and backend.characteristic > 1 else \
        backends.load("modular")()
    rational = backends.load("rational")()
    rng = np.random.default_rng(seed)
    weights = (grading(model.generators, rational, modular, random.Random(grading_seed))
               if model.generators else None)
    codes = character_span(model.generators).codes(model.dimension, rng)
    primes = _evaluation_primes(modular.characteristic)
    arithmetic = {q: modular if modular.characteristic == q else ModularBackend(q)
                  for q in primes}
    return SearchSetup(modular, rational, weights, codes, arithmetic,
                       [EvaluationRows(model, primes[0], rng)])


def _check_size(size: int, degree: int) -> None:
    """Refuse a search with more than :data:`MAX_MONOMIALS` unknowns."""
    from conslaws.core.validation import law_unknowns

    # Closed form, capped: a loop over the degrees would hang on degree 10**21.
    if law_unknowns(size, degree, cap=MAX_MONOMIALS) > MAX_MONOMIALS:
        raise SearchTooLargeError(
            f"degree {degree} in {size} parameters means more than {MAX_MONOMIALS:,} unknown "
            f"coefficients; lower the degree"
        )


def _search_blocks(search: LawSearch, table: MonomialTable, partition: BlockPartition,
                   solver: _Solver, arithmetic: dict[int, Backend],
                   evaluations: list[EvaluationRows], progress: bool) -> None:
    """Screen, lift and solve the blocks of one degree; the laws go to ``search``."""
    model = solver.model
    survivors = screen_blocks(table, partition, evaluations[0], arithmetic, progress)
    symbolic = np.flatnonzero(partition.sizes > EVALUATED_BLOCK).tolist()
    search.blocks_solved = len(survivors) + len(symbolic)

    def verified_laws(block: int, vectors: list[list[Fraction]]) -> list[Any] | None:
        members = [table.monomial(int(g)) for g in partition.members(block)]
        monomials = _monomial_polynomials(model.ring, members)
        candidates = [_polynomial(model.ring, monomials, vector) for vector in vectors]
        return candidates if all(conserved(model, candidates)) else None

    found_in, unresolved = lift_blocks(model, table, partition, survivors, arithmetic,
                                       evaluations, verified_laws, progress=progress)
    symbolic += unresolved
    for block in progress_bar(symbolic, "law blocks (exact)", progress):
        search.blocks_exact += 1
        monomials = [table.monomial(int(g)) for g in partition.members(block)]
        found_in[block] = _solve_block(solver, monomials, model)
    # Blocks in the order of their first monomial (by degree, then by variable), so
    # that the basis reads the same whatever the hashes that formed the blocks.
    for block in sorted(found_in, key=lambda b: int(partition.members(b).min())):
        search.laws.extend(found_in[block])
    search.kernels_by = kernels_by(arithmetic, evaluations)


def kernels_by(arithmetic: dict[int, Backend], evaluations: Sequence[EvaluationRows]
               ) -> list[str]:
    """Which backend computed the kernels mod each prime that was evaluated."""
    return [f"{arithmetic[rows.prime].name or type(arithmetic[rows.prime]).__name__} "
            f"mod {rows.prime}" for rows in evaluations]


#: Accepts a block's lifted kernel (rational vectors, one per free column): returns
#: what the block contributes, verified exactly, or None to try another prime.
Acceptance = Callable[[int, list[list[Fraction]]], "list[Any] | None"]


def lift_blocks(model: Model, table: MonomialTable, partition: BlockPartition,
                blocks: Sequence[int], arithmetic: dict[int, Backend],
                evaluations: list[EvaluationRows], accept: Acceptance, *,
                matrices: BlockMatrices = block_matrices, progress: bool = False,
                ) -> tuple[dict[int, list[Any]], list[int]]:
    """Kernels of the ``blocks`` mod successive primes, lifted to Q and accepted.

    The evaluations grow by one prime per attempt (at most :data:`LIFT_ATTEMPTS`;
    ``arithmetic`` maps each prime to its backend).  Returns what ``accept`` gave per
    block, and the blocks it never accepted.
    """
    primes = list(arithmetic)
    found_in: dict[int, list[Any]] = {}
    left: list[int] = []
    for sizes, group in progress_bar(_by_size(partition, blocks), "law blocks", progress):
        unresolved = list(group)
        residues: dict[int, list[tuple[int, NDArray[np.bool_], NDArray[np.int64]]]] = {}
        for attempt in range(LIFT_ATTEMPTS):
            if not unresolved:
                break
            if attempt == len(evaluations):
                evaluations.append(EvaluationRows(model, primes[attempt], evaluations[0].rng))
            rows = evaluations[attempt]
            # Twice the unknowns, plus a margin, doubled at every attempt: the rows
            # must span every equation of the block for its kernel to be the laws.
            kernels = _kernels(table, partition, np.array(unresolved), rows,
                               (2 * sizes + 8) << attempt, arithmetic[rows.prime], matrices)
            still = []
            for block, (free, basis) in zip(unresolved, kernels, strict=True):
                if not len(basis):
                    continue  # full column rank with more rows: nothing in this block
                vectors = _combine(block, free, basis, rows.prime, residues)
                found = None if vectors is None else accept(block, vectors)
                if found is None:
                    still.append(block)
                else:
                    found_in[block] = found
            unresolved = still
        left += unresolved
    return found_in, left


def _evaluation_primes(preferred: int) -> list[int]:
    """Primes below 2**22 for the evaluations: the backend's first, when it is one.

    One for the screening at least, one per lifting attempt.
    """
    wanted = max(1, LIFT_ATTEMPTS)
    primes = [preferred] if 2 < preferred <= PROBE_PRIME else []
    candidate = PROBE_PRIME
    while len(primes) < wanted:
        if flint.fmpz(candidate).is_prime() and candidate not in primes:
            primes.append(candidate)
        candidate -= 2
    return primes[:wanted]


def _by_size(partition: BlockPartition, blocks: Sequence[int]) -> list[tuple[int, list[int]]]:
    """``blocks`` grouped by size, smallest first."""
    groups: dict[int, list[int]] = {}
    for block in blocks:
        groups.setdefault(int(partition.sizes[block]), []).append(block)
    return sorted(groups.items())


def _block_kernels(table: MonomialTable, partition: BlockPartition, blocks: NDArray[np.int64],
                   rows: EvaluationRows, count: int, arithmetic: Backend,
                   matrices: BlockMatrices = block_matrices,
                   ) -> Iterator[tuple[NDArray[np.int64], list[Any]]]:
    """The kernels mod ``rows.prime`` of the evaluated systems of equal-size blocks.

    The systems (``count`` rows each) go to ``arithmetic.kernels`` as 3-D stacks of
    at most :data:`STACK_ENTRIES` entries; yields (blocks, their kernels) in order.
    """
    size = int(partition.sizes[blocks[0]])
    step = max(1, STACK_ENTRIES // (count * size))
    for first in range(0, len(blocks), step):
        part = blocks[first:first + step]
        stack = matrices(table, partition.stacked(part), rows, count)
        yield part, arithmetic.kernels(stack, size)


def screen_blocks(table: MonomialTable, partition: BlockPartition, rows: EvaluationRows,
                  arithmetic: dict[int, Backend], progress: bool = False,
                  matrices: BlockMatrices = block_matrices) -> list[int]:
    """The blocks whose evaluated matrix (size + margin rows) has a kernel mod p.

    Only blocks of at most :data:`EVALUATED_BLOCK` monomials are screened; the others
    have no matrix of their own.  A block left out has full column rank mod p, so
    nothing of it vanishes on the fields, for every prime.
    """
    survivors: list[int] = []
    everything = np.arange(len(partition))
    sizes = [s for s in np.unique(partition.sizes).tolist() if s <= EVALUATED_BLOCK]
    for size in progress_bar(sizes, "law screening", progress):
        blocks = everything[partition.sizes == size]
        for part, kernels in _block_kernels(table, partition, blocks, rows,
                                            size + SCREEN_MARGIN, arithmetic[rows.prime],
                                            matrices):
            survivors.extend(int(b) for b, kernel in zip(part, kernels, strict=True)
                             if len(kernel))
    return sorted(survivors)


def _kernels(table: MonomialTable, partition: BlockPartition, blocks: NDArray[np.int64],
             rows: EvaluationRows, count: int, arithmetic: Backend,
             matrices: BlockMatrices = block_matrices,
             ) -> list[tuple[NDArray[np.bool_], NDArray[np.int64]]]:
    """For blocks of one size: (free columns, kernel basis mod p) of ``count`` rows each."""
    size = int(partition.sizes[blocks[0]])
    return [_free_columns(kernel, size)
            for _, kernels in _block_kernels(table, partition, blocks, rows, count, arithmetic,
                                             matrices)
            for kernel in kernels]


def _free_columns(kernel: Any, size: int) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
    """The free columns of a reduced kernel basis, and the basis as an array.

    In the reduced basis (the backends' convention) the vector of free column f has
    its last nonzero entry at f: the other free columns are 0 there, and a pivot
    column after f belongs to a row that is zero left of its pivot.
    """
    basis = np.array(kernel, dtype=np.int64).reshape(len(kernel), size)
    free = np.zeros(size, dtype=bool)
    if len(basis):
        free[size - 1 - np.argmax(basis[:, ::-1] != 0, axis=1)] = True
    return free, basis


def _combine(block: int, free: NDArray[np.bool_], basis: NDArray[np.int64], prime: int,
             residues: dict[int, list[tuple[int, NDArray[np.bool_], NDArray[np.int64]]]],
             ) -> list[list[Fraction]] | None:
    """The block's kernel mod the primes so far, lifted to Q, or None if it does not lift.

    The kernel bases have a 1 at each free column and zeros at the other free
    columns, a form that is unique, so bases mod several primes with the same free
    columns combine entrywise by Chinese remaindering before the reconstruction.
    """
    history = [r for r in residues.get(block, []) if np.array_equal(r[1], free)]
    history.append((prime, free, basis))
    residues[block] = history
    modulus = math.prod(q for q, _, _ in history)
    combined = [[0] * basis.shape[1] for _ in range(len(basis))]
    for q, _, b in history:
        # CRT: x ≡ b (mod q) and x ≡ previous (mod the product of the others).
        others = modulus // q
        factor = others * pow(others, -1, q)
        for i, row in enumerate(b.tolist()):
            combined[i] = [(c + v * factor) % modulus for c, v in zip(combined[i], row,
                                                                      strict=True)]
    vectors = []
    for row in combined:
        vector = [rational_reconstruction(v, modulus) if v else Fraction(0) for v in row]
        if any(v is None for v in vector):
            return None
        vectors.append(cast("list[Fraction]", vector))
    return vectors


def _solve_block(solver: _Solver, block: list[Monomial], model: Model) -> list[Any]:
    """The laws of one block from the symbolic fields, every one verified exactly.

    Two attempts, each a superset of the true law space of the block: the
    generators' system with rows chosen mod p, and the same over Q with every
    row.  The first whose kernel vectors all pass :func:`conserved` is returned;
    the last is the exact kernel, so it always passes (an internal error
    otherwise).  No kernel vector is ever returned unverified.
    """
    for exact in (False, True):
        candidates = solver.solve(block, exact_pivots=exact)
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
            components = model.generators[i].components
            total = ring.zero()
            # Only the variables both touch: a generator and a law each have many.
            for j in components.keys() & gradient.keys():
                total += gradient[j] * components[j]
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
