"""Trace of the Lie algebra of a network from random gated-pass probes.

docs/theory.md section 2.4: the engine for networks too large to list their paths.

Any trace oracle (:mod:`conslaws.core.engine.oracles`: a network's gradient flow, or a
flow built on it) gives the rows:

* Level 0: random elements X_k(θ*) of W_0 (for the gradient flow, probe
  gradients ∇F_k(θ*), :mod:`conslaws.core.models.probes`), each exact.
* Level j >= 1, only while the rank falls short of the target: nested
  brackets [X_1, [X_2, ..., X_{j+1}]](θ*) of fresh draws (jets in j
  nilpotent variables), each an exact element of W_j.  A level that adds
  nothing ends the search.
* Rows are drawn in chunks of at most :data:`PROBE_BATCH` and added to the
  backend's incremental row basis (:meth:`Backend.row_basis
  <conslaws.core.plugins.backend.Backend.row_basis>`; for the modular backend
  below 2**22, :class:`~conslaws.core.algebra.modrank.EchelonBasis`).  A chunk
  of k random elements of W_j raises the rank by min(k, d) with high
  probability, d the dimension W_j adds, so the first chunk that raises it by
  less than k ends its level.

Every row is the image mod p of an exact vector of the trace, so every rank
reported is a proved lower bound of the trace's dimension; random draws only
decide how likely it is to be the generic one.  The target (``D`` minus the
laws already proved) tells when to stop: a rank reaching it is exact.

Choices and their measured effect (2-core machine):

* No path is listed: relu 20,20,20,10 (D = 1,000, 80,000 paths) takes 0.6 s
  here against about 200 s when its paths were listed as fields.
* The target stops the levels: ReLU, max-pool, convolutional and residual
  networks meet it at level 0, so no bracket is formed at all.
* Probes run in batches of 512 columns: one Python loop over the nodes per
  batch, numpy over the probes.
* Rows enter the basis once: the rows of a level are never eliminated again at
  the next one, and a level draws only about as many rows as it adds.  On a
  momentum flow (whose level 0 has about half the final rank) this replaced
  three eliminations of a (2D + 9)-row matrix by one of about 2D rows.

Examples
--------
>>> from conslaws.core.frontends.api import build_model
>>> from conslaws.core.engine.oracles import GradientOracle
>>> from conslaws.core.models.probes import ModularNetwork
>>> model = build_model("relu", widths="3,4,2")       # D = 20, 4 hidden neurons
>>> point = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4]
>>> oracle = GradientOracle(ModularNetwork(model.graph))
>>> closure = probe_closure(oracle, point, seed=1, target=16)
>>> closure.trace_dimensions
[16]
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import numpy as np

from conslaws.core.algebra.polynomials import Number
from conslaws.core.engine.closure import Closure
from conslaws.core.engine.oracles import FieldOracle, IntArray, nested_bracket_rows
from conslaws.core.errors import InvalidModulusError, ModelTooLargeError
from conslaws.core.frontends.progress import progress_bar
from conslaws.core.plugins.backend import Backend, RowBasis

__all__ = [
    "MAX_MATRIX_BYTES",
    "PROBE_MARGIN",
    "check_matrix_size",
    "probe_backend",
    "probe_closure",
]

#: Probes beyond the rank sought: each extra one makes a rank deficit caused
#: by unlucky draws about p times less likely.
PROBE_MARGIN = 8

#: Probes per batched pass (columns of the int64 work arrays), and rows per chunk
#: added to the row basis.
PROBE_BATCH = 512

#: Largest row basis the engine grows, counted as rows x columns float32 residues (an
#: upper bound of what the modular backend stores): 8 GiB is about 46,000 x 46,000,
#: whose rank would take about 50 minutes on 2 cores.
MAX_MATRIX_BYTES = 8 * 2**30

#: Deepest level probed.  A depth-j bracket costs about 4^j gradient passes
#: (jets in j variables, two derivatives per bracket).
MAX_LEVEL = 6


def probe_backend(modulus: int, backend: Backend | None = None) -> Backend:
    """The backend whose row basis takes the probe ranks mod ``modulus``.

    ``backend`` when given (its field must be GF(modulus)), else the modular one.

    Examples
    --------
    >>> probe_backend(101).describe()["field"]
    'GF(101)'
    """
    if backend is None:
        from conslaws.backends.modular import ModularBackend

        return ModularBackend(modulus)
    if not backend.exact or backend.characteristic != modulus:
        raise InvalidModulusError(
            f"the probes compute mod {modulus}, but the backend {backend.name!r} has "
            f"characteristic {backend.characteristic}", argument="backend")
    return backend


def probe_closure(
    oracle: FieldOracle,
    point: Sequence[Number],
    *,
    seed: int = 0,
    target: int | None = None,
    progress: bool = False,
    max_level: int = MAX_LEVEL,
    backend: Backend | None = None,
) -> Closure:
    """Lower bounds of the trace dimensions of W_0, W_1, ... from probes.

    Parameters
    ----------
    oracle : FieldOracle
        Random elements of W_0 and their jets, mod the oracle's prime (below 2**22).
    point : sequence of int
        The point; integers (they are reduced mod the oracle's prime).
    seed : int
        Seed of the probes.
    target : int, optional
        The rank at which to stop (the dimension minus the laws already proved);
        default the dimension.
    progress : bool
        Progress bars on stderr.
    max_level : int
        Deepest bracket level probed.
    backend : Backend, optional
        An exact backend over GF(p), p the oracle's prime, whose
        :meth:`~conslaws.core.plugins.backend.Backend.row_basis` takes the ranks
        (default: the modular backend mod p).

    Returns
    -------
    Closure
        ``trace_dimensions`` holds the rank reached at each level probed:
        levels stop at the target, when a level adds nothing, or at
        ``max_level``; ``frames`` and ``frame_rows`` are empty.
    """
    start = time.perf_counter()
    modulus = oracle.modulus
    size = oracle.dimension
    goal = size if target is None else min(target, size)
    theta = np.array([int(v) for v in point], dtype=np.int64) % modulus
    check_matrix_size(goal + PROBE_MARGIN, size)
    rng = np.random.default_rng(seed)
    closure = Closure(dimension=size)
    basis = probe_backend(modulus, backend).row_basis(size)
    closure.rank_method = basis.method
    chunks = progress_bar(_chunks(oracle, theta, basis, goal, max_level, closure, rng),
                          "probes", progress, total=goal // PROBE_BATCH + 1, minimum=4)
    for _ in chunks:
        pass
    closure.generic_trace_dimensions = list(closure.trace_dimensions)
    closure.seconds = time.perf_counter() - start
    return closure


def _chunks(oracle: FieldOracle, theta: IntArray, basis: RowBasis, goal: int,
            max_level: int, closure: Closure, rng: np.random.Generator) -> Iterator[int]:
    """Draw and add chunks of probe rows level by level; yield after each chunk."""
    for level in range(max_level + 1):
        grew = False
        while basis.rank < goal:
            count = min(PROBE_BATCH, goal - basis.rank + PROBE_MARGIN)
            chain = [oracle.draw(rng, count) for _ in range(level + 1)]
            added = basis.add(nested_bracket_rows(oracle, theta, chain))
            if level:
                closure.brackets_evaluated += count
            grew = grew or bool(added)
            yield len(added)
            if len(added) < count:
                break  # the level adds no more (with high probability)
        closure.trace_dimensions.append(basis.rank)
        if basis.rank >= goal or not grew:
            return


def check_matrix_size(rows: int, columns: int) -> None:
    """Raise :class:`ModelTooLargeError` if a rows x columns probe basis is too big.

    Examples
    --------
    >>> check_matrix_size(40_000, 40_000)          # 6.0 GiB: fine
    >>> check_matrix_size(100_000, 100_000)
    Traceback (most recent call last):
        ...
    conslaws.core.errors.ModelTooLargeError: the probe engine needs a 100,000 x ...
    """
    needed = rows * columns * 4
    if needed > MAX_MATRIX_BYTES:
        raise ModelTooLargeError(
            f"the probe engine needs a {rows:,} x {columns:,} matrix "
            f"({needed / 2**30:.1f} GiB, limit {MAX_MATRIX_BYTES / 2**30:.0f} GiB)")
