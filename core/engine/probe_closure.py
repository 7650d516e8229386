"""Trace of the Lie algebra of a network from random gated-pass probes.

docs/theory.md section 2.4: the engine for networks too large to list their paths.

Any trace oracle (:mod:`conslaws.core.engine.oracles`: a network's gradient flow, or a
flow built on it) gives the rows:

* Level 0: target + 8 random elements X_k(θ*) of W_0 (for the gradient flow,
  probe gradients ∇F_k(θ*), :mod:`conslaws.core.models.probes`), each exact.
* Level j >= 1, only while the rank falls short of the target: nested
  brackets [X_1, [X_2, ..., X_{j+1}]](θ*) of fresh draws (jets in j
  nilpotent variables), each an exact element of W_j, stacked under the
  independent rows found so far.  A level that adds nothing ends the search.
* Ranks mod a prime below 2**22 (:func:`conslaws.core.algebra.modrank.modular_rank`).

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
* The rank dominates at scale: relu 64,64,64,32,10 --bias (D = 10,720) takes
  57 s, 48 of them in the 10,568 x 10,720 elimination, in place in the
  0.9 GB matrix (peak 1.2 GB for the whole count).
* Rows are regenerated from the kept probe chains at the next level instead
  of being copied before the elimination, which keeps one matrix in memory.

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
from typing import Any

import numpy as np

from conslaws.core.algebra.modrank import modular_rank
from conslaws.core.algebra.polynomials import Number
from conslaws.core.engine.closure import Closure
from conslaws.core.engine.oracles import FieldOracle, nested_bracket_rows
from conslaws.core.errors import ModelTooLargeError
from conslaws.core.frontends.progress import progress_bar

__all__ = ["MAX_MATRIX_BYTES", "PROBE_MARGIN", "check_matrix_size", "probe_closure"]

#: Probes beyond the rank sought: each extra one makes a rank deficit caused
#: by unlucky draws about p times less likely.
PROBE_MARGIN = 8

#: Probes per batched pass (columns of the int64 work arrays).
PROBE_BATCH = 512

#: Largest probe matrix (float64) the engine builds: 8 GiB is D of about
#: 32,000, whose rank would take about 40 minutes on 2 cores.
MAX_MATRIX_BYTES = 8 * 2**30

#: Deepest level probed.  A depth-j bracket costs about 4^j gradient passes
#: (jets in j variables, two derivatives per bracket).
MAX_LEVEL = 6


def probe_closure(
    oracle: FieldOracle,
    point: Sequence[Number],
    *,
    seed: int = 0,
    target: int | None = None,
    progress: bool = False,
    max_level: int = MAX_LEVEL,
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
    # Independent rows found so far, as the probe chains (pivot columns only)
    # that regenerate them: the elimination overwrites the matrix in place.
    kept: list[list[Any]] = []
    rank = 0
    for level in range(max_level + 1):
        count = goal - rank + PROBE_MARGIN
        chains = [*kept, [oracle.draw(rng, count) for _ in range(level + 1)]]
        sizes = [chain[0].count for chain in chains]
        blocks = (nested_bracket_rows(oracle, theta, [p.columns(chunk) for p in chain])
                  for chain in chains for chunk in _chunks(chain[0].count))
        rows = _rows(size, sum(sizes), blocks, progress, f"level {level} probes")
        echelon = modular_rank(rows, modulus, overwrite=True, progress=progress)
        del rows
        if level:
            closure.brackets_evaluated += count
        grew = echelon.rank > rank
        rank = echelon.rank
        closure.trace_dimensions.append(rank)
        if rank >= goal or not grew:
            break
        kept = _pivot_chains(chains, sizes, echelon.pivot_rows)
    closure.generic_trace_dimensions = list(closure.trace_dimensions)
    closure.seconds = time.perf_counter() - start
    return closure


def check_matrix_size(rows: int, columns: int) -> None:
    """Raise :class:`ModelTooLargeError` if a rows x columns probe matrix is too big.

    Examples
    --------
    >>> check_matrix_size(20_000, 20_000)          # 3.0 GiB: fine
    >>> check_matrix_size(100_000, 100_000)
    Traceback (most recent call last):
        ...
    conslaws.core.errors.ModelTooLargeError: the probe engine needs a 100,000 x ...
    """
    needed = rows * columns * 8
    if needed > MAX_MATRIX_BYTES:
        raise ModelTooLargeError(
            f"the probe engine needs a {rows:,} x {columns:,} matrix "
            f"({needed / 2**30:.1f} GiB, limit {MAX_MATRIX_BYTES / 2**30:.0f} GiB)")


def _pivot_chains(chains: list[list[Any]], sizes: list[int],
                  pivots: list[int]) -> list[list[Any]]:
    """The chains restricted to the columns whose rows were pivots."""
    kept = []
    offset = 0
    chosen = np.array(sorted(pivots))
    for chain, rows in zip(chains, sizes, strict=True):
        index = chosen[(chosen >= offset) & (chosen < offset + rows)] - offset
        if index.size:
            kept.append([p.columns(index) for p in chain])
        offset += rows
    return kept


def _chunks(count: int) -> list[np.ndarray]:
    return [np.arange(s, min(s + PROBE_BATCH, count)) for s in range(0, count, PROBE_BATCH)]


def _rows(size: int, count: int, blocks: Iterator[np.ndarray], progress: bool,
          description: str) -> np.ndarray:
    """Stack row blocks into one float64 matrix, filled in place (no copies)."""
    matrix = np.empty((count, size))
    filled = 0
    total = (count + PROBE_BATCH - 1) // PROBE_BATCH
    for block in progress_bar(blocks, description, progress, total=total, minimum=4):
        matrix[filled:filled + block.shape[0]] = block
        filled += block.shape[0]
    return matrix
