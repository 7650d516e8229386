"""Lie closure of the generating fields at one point, with frame pruning.

The algorithm of docs/theory.md sections 2 and 2.1:

* ``W_0`` is the span of the generating fields; ``W_{k+1} = W_k + [W_0, W_k]``.
* At each level only a *local frame* is kept: the fields whose values at θ*
  are independent of everything kept so far.  Brackets are formed between the
  frame of ``W_0`` and the frame fields that the newest level added, so the
  work per level is bounded by (rank W_0) × (new rank) brackets, never by the
  square of the number of generators.
* Stop when a level adds nothing (stagnation at a generic point means the
  distribution is closed) or when the rank reaches the dimension.

Brackets are *evaluated* at θ* from values and Jacobians of the two fields
(``[a, b](θ*) = Da(θ*) b(θ*) - Db(θ*) a(θ*)``); a bracket is formed
symbolically only when it joins the frame and a further level needs its
Jacobian.  Independence is decided by the backend on batches of candidate rows
stacked under the rows already kept, so a level stops consuming candidates as
soon as the rank reaches D.

Engineering choices and their measured effect (2-core machine, modular
backend; relu 9,9,8,8,8 --bias has D = 306, 46,656 generators, frame 281):

* Brackets are evaluated at θ* from values and Jacobians, never formed for
  fields that do not join the frame.  Symbolic nested brackets are formed
  only for new frame fields.
* Big bracket fields are evaluated with flint's C evaluator, not term by term
  in Python: linear 3,2,5,4,2 went from 46 s to 4 s.
* Rows reach the backend sparse ({column: value}); bracket rows have about 8
  nonzeros in 306 columns and flint matrices are filled entry by entry (10 ms
  against 120 ms for a 1500 x 306 block).
* With a backend of characteristic p, values are reduced mod p as soon as
  they are computed, so products stay word-sized.  Together with sparse rows
  this took the 306-parameter closure from 26 s to 9 s.
* Once a level stops growing, a batch is first tested with a rank (half the
  cost of a pivot search) and searched for pivots only when it adds something.
* Levels with more than PAIR_LIMIT_FACTOR·D frame pairs use random bilinear
  probes (docs/theory.md 2.4) instead of all pairs: on relu 20,20,20,10 (D = 1000,
  460,000 pairs at level 1) the closure went from 155 s to 119 s, nearly all of
  it in level 0, which evaluates all 80,000 generators.  Networks that large
  go to the probe engine (:mod:`conslaws.core.engine.probe_closure`), which never
  lists paths: the same count takes 1 s there.

Examples
--------
>>> from conslaws.core.models.model import Model
>>> from conslaws.core.plugins.registry import backends
>>> model = Model.from_phi(("x1", "x2", "x3"), ["x1*x2*x3"])
>>> closure = lie_closure(model.generators, [2, 3, 5], backends.load("rational")())
>>> closure.trace_dimensions, closure.lie_dimension
([1, 1], 1)
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from conslaws.core.algebra.polynomials import Number
from conslaws.core.algebra.vector_fields import (
    SparseJacobian,
    SparseVector,
    VectorField,
    bracket_value,
    jacobian_times,
)
from conslaws.core.frontends.progress import progress_bar
from conslaws.core.plugins.backend import Backend

__all__ = ["Closure", "lie_closure"]

T = TypeVar("T")


@dataclass
class Closure:
    """What the closure computed at one point.

    Attributes
    ----------
    dimension : int
        Dimension D of the space.
    trace_dimensions : list of int
        Rank of W_0, W_1, ... at the point (the last level repeats the
        previous one when the closure stopped by stagnation).
    generic_trace_dimensions : list of int
        The same at the point where frames were chosen (equal to the above
        unless a separate selection point was given).
    frames : list of list
        The frame fields each level added (the last level's may be kept
        unformed; :func:`resolve_frame` forms them).
    frame_rows : list of dict
        Values at the point of all frame fields, as sparse rows, in order.
    brackets_evaluated : int
        Number of bracket values computed.
    rank_method : str
        How the ranks were taken, when an engine used a backend's row basis.
    seconds : float
        Wall time.
    """

    dimension: int
    trace_dimensions: list[int] = field(default_factory=list)
    frames: list[list[Any]] = field(default_factory=list)
    generic_trace_dimensions: list[int] = field(default_factory=list)
    frame_rows: list[SparseVector] = field(default_factory=list)
    brackets_evaluated: int = 0
    rank_method: str = ""
    seconds: float = 0.0

    @property
    def lie_dimension(self) -> int:
        """Rank of the Lie algebra's trace at the point (a lower bound of the generic one
        when the backend is exact)."""
        return self.trace_dimensions[-1] if self.trace_dimensions else 0


class _Frame:
    """Values and Jacobians of fields at the point, computed once.

    With a backend of characteristic p > 0 and an integer point, every value
    is reduced mod p as soon as it is computed: the ranks only see residues,
    and bracket values then multiply 61-bit numbers instead of products of
    many 61-bit coordinates (a 3x speed-up of the whole closure on a
    306-parameter ReLU network).
    """

    def __init__(self, point: Sequence[Number], characteristic: int) -> None:
        self.point = point
        integral = all(isinstance(v, int) for v in point)
        self.modulus = characteristic if characteristic > 0 and integral else 0
        self._jac: dict[int, SparseJacobian] = {}

    def value(self, f: VectorField) -> SparseVector:
        vector = f.value_at(self.point)
        if self.modulus:
            p = self.modulus
            vector = {j: r for j, v in vector.items() if (r := v % p)}
        return vector

    def jacobian(self, f: VectorField) -> SparseJacobian:
        key = id(f)
        if key not in self._jac:
            jac = f.jacobian_at(self.point)
            if self.modulus:
                p = self.modulus
                jac = {j: {k: v % p for k, v in row.items() if v % p} for j, row in jac.items()}
            self._jac[key] = jac
        return self._jac[key]

    def reduce(self, vector: SparseVector) -> SparseVector:
        if not self.modulus:
            return vector
        p = self.modulus
        return {j: r for j, v in vector.items() if (r := v % p)}


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _extend(
    basis: list[SparseVector],
    candidates: Iterable[tuple[T, SparseVector]],
    backend: Backend,
    size: int,
    batch_size: int,
) -> list[tuple[T, SparseVector]]:
    """Append to ``basis`` the candidates independent of it; return those chosen.

    Candidates are consumed lazily and not at all once the rank is ``size``.
    """
    chosen: list[tuple[T, SparseVector]] = []
    if len(basis) >= size:
        return chosen
    nonzero = ((item, vec) for item, vec in candidates if vec)
    grew = True
    for batch in _batched(nonzero, batch_size):
        rows: list[SparseVector] = basis + [vec for _, vec in batch]
        known = len(basis)
        # Once a level stops growing, most batches add nothing: a rank costs
        # about half of a pivot search (measured on 1500 x 306 mod p), so test
        # that first and search pivots only when the batch does add something.
        if not grew and backend.rank(rows, size) == known:
            continue
        for i in backend.pivot_rows(rows, size):
            if i >= known:
                basis.append(rows[i])
                chosen.append(batch[i - known])
        grew = len(basis) > known
        if len(basis) >= size:
            break
    return chosen


def lie_closure(
    generators: Sequence[VectorField],
    point: Sequence[Number],
    backend: Backend,
    *,
    selection_point: Sequence[Number] | None = None,
    progress: bool = False,
    batch_size: int | None = None,
    rng: random.Random | None = None,
    probes: bool | None = None,
) -> Closure:
    """Trace dimensions of W_0, W_1, ... at ``point`` until the rank stagnates.

    Parameters
    ----------
    generators : sequence of VectorField
        The generating fields (W_0).
    point : sequence of int or Fraction
        The point θ*, exact.
    backend : Backend
        Arithmetic for the ranks.
    selection_point : sequence, optional
        Where to choose the frames, when ``point`` may not be generic (a point
        the user gave).  Pruning by values is sound only where the rank is
        locally constant (docs/theory.md 2.1), so frames are chosen at this
        (random, generic) point, and the ranks reported at ``point`` are those
        of the values there of *every* candidate field, frame or not.  They are
        then lower bounds of the dimensions at ``point``, equal to them when
        ``point`` is generic; ``generic_trace_dimensions`` holds the ranks at
        the selection point.
    progress : bool
        Show a progress bar on stderr.
    batch_size : int, optional
        Candidate rows per backend call (default: max(256, 4 D)).
    rng : random.Random, optional
        Source of the random combinations used by large levels (see
        :func:`_probe_level`); seeded by the caller for reproducibility.
    probes : bool, optional
        Force random probes (True) or all frame pairs (False) at every level
        after the first; by default probes are used when a level has more
        than ``PAIR_LIMIT_FACTOR * D`` pairs.  Probes need the frames to be
        chosen at ``point`` itself (no ``selection_point``).

    Returns
    -------
    Closure
    """
    start = time.perf_counter()
    size = len(point)
    batch = batch_size or max(256, 4 * size)
    closure = Closure(dimension=size)
    basis: list[SparseVector] = []
    chooser = _Frame(selection_point if selection_point is not None else point,
                     backend.characteristic)
    # At a second (user) point every candidate's value is kept: see the docstring.
    there = _Frame(point, backend.characteristic) if selection_point is not None else None
    basis_there: list[SparseVector] = []
    ranks_there: list[int] = []

    def record_there(values: list[SparseVector]) -> None:
        for rows in _batched([v for v in values if v], batch):
            known = len(basis_there)
            basis_there.extend(
                rows[i - known] for i in backend.pivot_rows(basis_there + rows, size)
                if i >= known
            )
        ranks_there.append(len(basis_there))

    def generator_values() -> Iterator[tuple[VectorField, SparseVector]]:
        for g in progress_bar(generators, "W_0 values", progress):
            yield g, chooser.value(g)

    if there is not None:
        record_there([there.value(g) for g in generators])
    chosen0 = _extend(basis, generator_values(), backend, size, batch)
    closure.frames.append([f for f, _ in chosen0])
    closure.generic_trace_dimensions.append(len(basis))
    newest = chosen0
    level = 0
    while newest and len(basis) < size:
        level += 1
        right = chosen0 if level == 1 else newest
        many = len(chosen0) * len(right) > PAIR_LIMIT_FACTOR * size
        if there is None and (probes if probes is not None else many):
            newest = _probe_level(closure, basis, chosen0, right, chooser, backend, size,
                                  rng or random.Random(len(basis)))
            closure.generic_trace_dimensions.append(len(basis))
            closure.frames.append([f for f, _ in newest])
            continue
        if level == 1:
            pairs = [(chosen0[i], chosen0[j])
                     for i in range(len(chosen0)) for j in range(i + 1, len(chosen0))]
        else:
            pairs = [(g, f) for g in chosen0 for f in newest]
        if there is not None:
            record_there([
                there.reduce(bracket_value(there.jacobian(g), there.value(g),
                                           there.jacobian(f), there.value(f)))
                for (g, _), (f, _) in pairs
            ])

        def bracket_values(
            pairs: list[tuple[tuple[VectorField, SparseVector], tuple[VectorField, SparseVector]]],
            level: int,
        ) -> Iterator[tuple[tuple[VectorField, VectorField], SparseVector]]:
            for (g, gv), (f, fv) in progress_bar(pairs, f"W_{level} brackets", progress):
                closure.brackets_evaluated += 1
                yield (g, f), chooser.reduce(
                    bracket_value(chooser.jacobian(g), gv, chooser.jacobian(f), fv)
                )

        chosen = _extend(basis, bracket_values(pairs, level), backend, size, batch)
        closure.generic_trace_dimensions.append(len(basis))
        newest = []
        new_fields: list[Any] = []
        if chosen and (len(basis) < size or there is not None):
            # Only the fields that a further level will differentiate are formed.
            for (g, f), value in chosen:
                field_ = g.bracket(f)
                newest.append((field_, value))
                new_fields.append(field_)
            if len(basis) >= size:
                newest = []
        elif chosen:
            new_fields = [_LazyBracket(g, f) for (g, f), _ in chosen]
        closure.frames.append(new_fields)
    closure.frame_rows = basis
    if there is None:
        closure.trace_dimensions = list(closure.generic_trace_dimensions)
    else:
        closure.trace_dimensions = ranks_there
    closure.seconds = time.perf_counter() - start
    return closure


#: A level brackets every pair of frame fields while there are at most this many
#: pairs per dimension; above, it uses random probes (:func:`_probe_level`).
PAIR_LIMIT_FACTOR = 8
#: Probes in the first batch of a level; a batch that adds nothing ends the level.
FIRST_PROBES = 8


def _combine(fields: Sequence[VectorField], coefficients: Sequence[int]) -> VectorField:
    """Σ c_i f_i as one field (a gradient field stays a gradient: Σ c_i φ_i)."""
    from conslaws.core.models.graph import sum_polynomials

    ring = fields[0].ring
    if all(f.potential is not None for f in fields):
        potential = sum_polynomials(ring, [f.potential * c for f, c in zip(fields, coefficients,
                                                                            strict=True)])
        return VectorField.gradient(ring, potential, label="Σα∇φ")
    parts: dict[int, list[Any]] = {}
    for f, c in zip(fields, coefficients, strict=True):
        for j, comp in f.components.items():
            parts.setdefault(j, []).append(comp * c)
    return VectorField(ring, {j: sum_polynomials(ring, ps) for j, ps in parts.items()},
                       label="Σβf")


def _apply(jacobians: Sequence[SparseJacobian], coefficients: Sequence[int],
           vector: SparseVector) -> dict[int, Number]:
    """(Σ c_i J_i) · vector, one pass over the Jacobians' nonzeros."""
    out: dict[int, Number] = {}
    for jac, c in zip(jacobians, coefficients, strict=True):
        for j, s in jacobian_times(jac, vector).items():
            out[j] = out.get(j, 0) + c * s
    return out


def _probe_level(
    closure: Closure,
    basis: list[SparseVector],
    left: list[tuple[VectorField, SparseVector]],
    right: list[tuple[VectorField, SparseVector]],
    chooser: _Frame,
    backend: Backend,
    size: int,
    rng: random.Random,
) -> list[tuple[VectorField, SparseVector]]:
    """Extend ``basis`` with [W_0, newest] through random bilinear probes.

    [Σ α_i a_i, Σ β_j b_j] is an element of the Lie algebra whose value at θ*
    is (Σ α_i Da_i)·B - (Σ β_j Db_j)·A: one pass over the frame Jacobians
    instead of one bracket per pair (docs/theory.md section 2.4).  Its span over
    random (α, β) is the span of all pair values, and a probe misses a
    direction that exists with probability about 1/p; a batch of probes that
    adds nothing ends the level.  Every probe is an exact element of the
    algebra, so the rank stays a rigorous lower bound whatever the draws.
    Returns the new frame fields (formed symbolically) with their values.
    """
    bound = chooser.modulus or 2**20
    left_jac = [chooser.jacobian(f) for f, _ in left]
    right_jac = [chooser.jacobian(f) for f, _ in right]
    chosen: list[tuple[VectorField, SparseVector]] = []
    wanted = FIRST_PROBES
    while len(basis) < size:
        probes = []
        for _ in range(min(wanted, size - len(basis))):
            alpha = [rng.randrange(1, bound) for _ in left]
            beta = [rng.randrange(1, bound) for _ in right]
            a_value = chooser.reduce(_weighted(left, alpha))
            b_value = chooser.reduce(_weighted(right, beta))
            # [A, B] = DA·B - DB·A, the same order as the field formed below:
            # a field kept with the negation of its value would corrupt the next level.
            value = _apply(left_jac, alpha, b_value)
            for j, v in _apply(right_jac, beta, a_value).items():
                value[j] = value.get(j, 0) - v
            closure.brackets_evaluated += 1
            probes.append(((alpha, beta), chooser.reduce({j: v for j, v in value.items() if v})))
        added = _extend(basis, probes, backend, size, len(probes) or 1)
        for (alpha, beta), value in added:
            field_ = _combine([f for f, _ in left], alpha).bracket(
                _combine([f for f, _ in right], beta), label="[Σα a, Σβ b]")
            chosen.append((field_, value))
        if not added:
            break
        wanted = 2 * wanted if len(added) == len(probes) else wanted
    return chosen


def _weighted(fields: list[tuple[VectorField, SparseVector]],
              coefficients: Sequence[int]) -> dict[int, Number]:
    """Σ c_i v_i for the fields' values v_i."""
    out: dict[int, Number] = {}
    for (_, vector), c in zip(fields, coefficients, strict=True):
        for j, v in vector.items():
            out[j] = out.get(j, 0) + c * v
    return out


class _LazyBracket:
    """A frame field of the last level, formed only if someone asks for it."""

    def __init__(self, a: VectorField, b: VectorField) -> None:
        self.a, self.b = a, b

    def resolve(self) -> VectorField:
        return self.a.bracket(self.b)

    def __repr__(self) -> str:
        return f"[{self.a.label}, {self.b.label}]"


def resolve_frame(fields: Sequence[Any]) -> list[VectorField]:
    """Frame fields as VectorFields (forming lazily kept brackets)."""
    return [f.resolve() if isinstance(f, _LazyBracket) else f for f in fields]
