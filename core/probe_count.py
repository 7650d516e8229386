"""Certified counts for networks too large to list their paths.

The certificate of docs/theory.md section 2.2 from two path-free halves:

* lower bound of the Lie dimension: the exact rank mod p of probe vectors of
  the trace (:func:`conslaws.core.probe_closure.probe_closure`);
* lower bound of the number of laws: the quadratic laws proved from the
  graph's structure, neuron rescalings by node potentials and mixings of
  interchangeable linear units (:mod:`conslaws.core.rescaling`), counted as
  functionally independent by the rank mod p of their gradients at the
  point.

When D minus the first equals the second the count is proved.

Examples
--------
>>> from conslaws.core.api import count
>>> result = count("relu", widths="3,4,2", engine="probes", seed=1)   # 4 hidden neurons
>>> result.laws, result.certified, result.backend_details["engine"]
(4, True, 'probes')
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

from conslaws.backends.modular import check_modulus
from conslaws.core.errors import InvalidModulusError, InvalidPointError
from conslaws.core.flow import Flow
from conslaws.core.model import Model
from conslaws.core.modrank import PROBE_PRIME, modular_rank
from conslaws.core.point import given_point
from conslaws.core.probe_closure import PROBE_MARGIN, check_matrix_size, probe_closure
from conslaws.core.probes import MAX_PROBE_MODULUS
from conslaws.core.rescaling import (
    LINEAR,
    QuadraticLaw,
    gradient_rows,
    mixing_laws,
    output_shift_laws,
    rescaling_laws,
)
from conslaws.core.results import CountResult, laws_phrase
from conslaws.core.selfcheck import SelfCheckError, check_conserved_on_probes, check_rank

__all__ = ["count_by_probes"]

#: Random points tried before a count is reported uncertified.
POINTS_TRIED = 2
#: A user-chosen probe prime below this may divide a network's path multiplicities.
SMALL_PRIME = 2**16


def count_by_probes(model: Model, flow: Flow, *, seed: int | None, rng: random.Random,
                    point: str | Sequence[Any] | None = None, modulus: int | None = None,
                    progress: bool = False, start: float | None = None,
                    certify_degree: int = 2) -> CountResult:
    """Count the laws of a graph model's gradient flow with the probe engine.

    Parameters
    ----------
    model : Model
        A graph-built model (``model.graph`` is set).
    flow : Flow
        The gradient flow (reported in the result).
    seed : int or None
        The seed reported; ``rng`` is seeded from it.
    rng : random.Random
        Source of the point and of the probes' seeds.
    point : str or sequence, optional
        The point instead of random ones.
    modulus : int, optional
        A prime below 2**22 (default :data:`~conslaws.core.modrank.PROBE_PRIME`).
    progress : bool
        Progress bars on stderr.
    start : float, optional
        ``time.perf_counter()`` when the caller started (for ``seconds``).
    certify_degree : int
        The laws found here are quadratic: below 2 none are sought, and the
        count is reported with its upper bound only.

    Returns
    -------
    CountResult
    """
    start = time.perf_counter() if start is None else start
    p = _probe_modulus(modulus)
    size = model.dimension
    # Before any work that grows with D: at worst D + margin rows are needed.
    check_matrix_size(size + PROBE_MARGIN, size)
    timings: dict[str, float] = {}
    tick = time.perf_counter()
    laws = _structural_laws(model) if certify_degree >= 2 else []
    timings["law_search"] = time.perf_counter() - tick
    best_lie, best_closure, best_theta = -1, None, None
    chosen: list[int] = []
    chosen_at: list[int] = []  # the point where the chosen laws are independent
    for _ in range(1 if point is not None else POINTS_TRIED):
        theta = _theta(model, rng, point, p)
        residues = [_residue(v, p) for v in theta]
        independent = _independent(laws, residues, p)
        if len(independent) > len(chosen):
            chosen, chosen_at = independent, residues
        tick = time.perf_counter()
        closure = probe_closure(model.graph, residues, seed=rng.randrange(2**32),
                                target=size - len(chosen), modulus=p, progress=progress)
        timings["closure"] = timings.get("closure", 0.0) + time.perf_counter() - tick
        if closure.lie_dimension > best_lie:
            best_lie, best_closure, best_theta = closure.lie_dimension, closure, theta
        if size - best_lie == len(chosen):
            break
    assert best_closure is not None and best_theta is not None
    lower, upper = len(chosen), size - best_lie
    certified = lower == upper
    checks = ["structural laws: rescalings and mixings proved from the graph"
              if chosen else "laws: none proved"]
    caveat = ""
    if certified and chosen:
        kept = [laws[i] for i in chosen]
        try:
            checks.append(check_conserved_on_probes(model.graph, kept, rng))
            # Independence is re-checked where it was claimed, which need not be the
            # point of the best rank.
            checks.append(check_rank(gradient_rows(kept, chosen_at), rng))
        except SelfCheckError as failure:
            certified, lower, caveat = False, 0, f" {failure}."
    if modulus is not None and p < SMALL_PRIME:
        caveat += (f" The modulus {p} is small: it may divide path multiplicities of the "
                   f"network, and a rank mod {p} can then be far below the true one.")
    symbols = model.ring.symbols
    verified = [sympy.Add(*(c * symbols[a] * (1 if b == LINEAR else symbols[b])
                            for a, b, c in laws[i])) for i in chosen]
    return CountResult(
        architecture=model.architecture,
        model=model.name,
        flow=flow.name,
        parameters=size,
        parameter_names=model.parameter_names,
        trace_dimensions=best_closure.trace_dimensions,
        lie_dimension=best_lie,
        laws=size - best_lie,
        certified=certified,
        laws_lower_bound=lower,
        laws_upper_bound=upper,
        backend="modular",
        backend_details={"field": f"GF({p})", "modulus": p, "exact": True,
                         "engine": "probes"},
        seed=seed,
        seconds=time.perf_counter() - start,
        statement=_statement(best_lie, lower, upper, p, certified) + caveat
        + model.notes_sentences(),
        mode="phi",
        point=[str(v) for v in best_theta],
        verified_laws=[flow.express(h, model) for h in verified],
        verified_degree=min(certify_degree, 2),
        timings=timings,
        engine="probes",
        checks=checks,
    )


def _probe_modulus(modulus: int | None) -> int:
    if modulus is None:
        return PROBE_PRIME
    check_modulus(modulus)
    if modulus >= MAX_PROBE_MODULUS:
        raise InvalidModulusError(
            f"--engine probes needs a prime below 2**22 = {MAX_PROBE_MODULUS}, got {modulus}")
    return modulus


def _theta(model: Model, rng: random.Random, point: str | Sequence[Any] | None,
           p: int) -> list[Any]:
    if point is None:
        # Nonzero residues: a coordinate 0 mod p would lower every rank there.
        return [rng.randrange(1, p) for _ in range(model.dimension)]
    return list(given_point(point, model.parameter_names))


def _residue(value: Any, p: int) -> int:
    """The image in GF(p) of an integer or a fraction."""
    value = Fraction(value)
    if value.denominator % p == 0:
        raise InvalidPointError(
            f"the point has a denominator divisible by the modulus {p}; use --engine fields")
    return int(value.numerator * pow(value.denominator, -1, p) % p)


def _structural_laws(model: Model) -> list[QuadraticLaw]:
    """Rescaling and mixing laws of the model's graph, as quadratic terms."""
    diagonal = [[(j, j, c) for j, c in enumerate(a) if c] for a in rescaling_laws(model.graph)]
    return diagonal + mixing_laws(model.graph) + output_shift_laws(model.graph)


def _independent(laws: list[QuadraticLaw], residues: Sequence[int], p: int) -> list[int]:
    """Indices of laws whose gradients at θ* are independent mod p."""
    if not laws:
        return []
    rows = np.array([[v % p for v in row] for row in gradient_rows(laws, residues)],
                    dtype=np.int64)
    return sorted(modular_rank(rows, p).pivot_rows)


def _statement(lie: int, lower: int, upper: int, p: int, certified: bool) -> str:
    rank_part = (
        f"The exact rank {lie} mod {p} of probe vectors of the Lie algebra's trace "
        f"(gated forward passes, docs/theory.md 2.4) proves at most {laws_phrase(upper)}"
    )
    if certified and upper == 0:
        return f"{rank_part}: none. Proved."
    proved = (
        f"{laws_phrase(lower, 'independent quadratic')} (neuron rescalings and mixings of "
        f"linear units), proved conserved from the graph without listing paths, "
        f"{'proves' if lower == 1 else 'prove'} at least {lower}"
    )
    if certified:
        return f"{rank_part}; {proved}. Proved."
    return (
        f"{rank_part}; {proved}. The true count is between them. The probes reach the "
        f"generic rank with probability >= 1 - deg/p, and other laws are not sought here: "
        f"--engine fields (which lists every path) may close the gap."
    )
