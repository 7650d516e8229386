"""Lie closure of the generating fields at one point, with frame pruning.

The algorithm of theory.md sections 2 and 2.1:

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

Examples
--------
>>> from conslaws.core.model import Model
>>> from conslaws.core.registry import backends
>>> model = Model.from_phi(("x1", "x2", "x3"), ["x1*x2*x3"])
>>> closure = lie_closure(model.generators, [2, 3, 5], backends.load("rational")())
>>> closure.trace_dimensions, closure.lie_dimension
([1, 1], 1)
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from conslaws.core.backend import Backend
from conslaws.core.fields import SparseJacobian, SparseVector, VectorField, bracket_value
from conslaws.core.polynomials import Number
from conslaws.core.progress import progress_bar

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
    frames : list of list of VectorField
        The frame fields each level added.
    frame_rows : list of list of Number
        Values at the point of all frame fields, as dense rows, in order.
    brackets_evaluated : int
        Number of bracket values computed.
    seconds : float
        Wall time.
    """

    dimension: int
    trace_dimensions: list[int] = field(default_factory=list)
    frames: list[list[VectorField]] = field(default_factory=list)
    frame_rows: list[list[Number]] = field(default_factory=list)
    brackets_evaluated: int = 0
    seconds: float = 0.0

    @property
    def lie_dimension(self) -> int:
        """Rank of the Lie algebra's trace at the point (a lower bound of the generic one
        when the backend is exact)."""
        return self.trace_dimensions[-1] if self.trace_dimensions else 0


class _Frame:
    """Frame fields with their values and Jacobians at the point, computed once."""

    def __init__(self, point: Sequence[Number]) -> None:
        self.point = point
        self._jac: dict[int, SparseJacobian] = {}

    def jacobian(self, f: VectorField) -> SparseJacobian:
        key = id(f)
        if key not in self._jac:
            self._jac[key] = f.jacobian_at(self.point)
        return self._jac[key]


def _dense(vector: SparseVector, size: int) -> list[Number]:
    row: list[Number] = [0] * size
    for j, v in vector.items():
        row[j] = v
    return row


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
    basis: list[list[Number]],
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
    for batch in _batched(nonzero, batch_size):
        rows = basis + [_dense(vec, size) for _, vec in batch]
        known = len(basis)
        for i in backend.pivot_rows(rows, size):
            if i >= known:
                basis.append(rows[i])
                chosen.append(batch[i - known])
        if len(basis) >= size:
            break
    return chosen


def lie_closure(
    generators: Sequence[VectorField],
    point: Sequence[Number],
    backend: Backend,
    *,
    progress: bool = False,
    batch_size: int | None = None,
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
    progress : bool
        Show a progress bar on stderr.
    batch_size : int, optional
        Candidate rows per backend call (default: max(256, 4 D)).

    Returns
    -------
    Closure
    """
    start = time.perf_counter()
    size = len(point)
    batch = batch_size or max(256, 4 * size)
    closure = Closure(dimension=size)
    basis: list[list[Number]] = []
    frame = _Frame(point)

    def generator_values() -> Iterator[tuple[VectorField, SparseVector]]:
        bar = progress_bar(generators, "W_0 values", progress)
        for g in bar:
            yield g, g.value_at(point)

    chosen0 = _extend(basis, generator_values(), backend, size, batch)
    frame0 = [f for f, _ in chosen0]
    values = {id(f): v for f, v in chosen0}
    closure.frames.append(frame0)
    closure.trace_dimensions.append(len(basis))
    newest = chosen0
    level = 0
    while newest and len(basis) < size:
        level += 1
        if level == 1:
            pairs = [
                (chosen0[i], chosen0[j])
                for i in range(len(chosen0))
                for j in range(i + 1, len(chosen0))
            ]
        else:
            pairs = [(g, f) for g in chosen0 for f in newest]

        def bracket_values(
            pairs: list[tuple[tuple[VectorField, SparseVector], tuple[VectorField, SparseVector]]],
            level: int,
        ) -> Iterator[tuple[tuple[VectorField, VectorField], SparseVector]]:
            for (g, gv), (f, fv) in progress_bar(pairs, f"W_{level} brackets", progress):
                closure.brackets_evaluated += 1
                yield (g, f), bracket_value(frame.jacobian(g), gv, frame.jacobian(f), fv)

        chosen = _extend(basis, bracket_values(pairs, level), backend, size, batch)
        closure.trace_dimensions.append(len(basis))
        newest = []
        new_fields = []
        if chosen and len(basis) < size:
            # Only the fields that a further level will differentiate are formed.
            for (g, f), value in chosen:
                field_ = g.bracket(f)
                values[id(field_)] = value
                newest.append((field_, value))
                new_fields.append(field_)
        elif chosen:
            new_fields = [_LazyBracket(g, f) for (g, f), _ in chosen]  # type: ignore[misc]
        closure.frames.append(new_fields)
    closure.frame_rows = basis
    closure.seconds = time.perf_counter() - start
    return closure


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
