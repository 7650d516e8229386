"""Certified counts for networks too large to list their paths, under any flow.

The certificate of docs/theory.md section 2.2 from two path-free halves:

* lower bound of the Lie dimension: the exact rank mod p of probe vectors of
  the trace (:func:`conslaws.core.engine.probe_closure.probe_closure`), from the flow's
  trace oracle (:meth:`Flow.oracle <conslaws.core.plugins.flow.Flow.oracle>` applied to the
  network's gradient oracle);
* lower bound of the number of laws: the laws proved from the graph's
  symmetries, neuron rescalings by node potentials, mixings of interchangeable
  linear units and output shifts (:mod:`conslaws.core.models.structural`), as the flow
  lifts them (:meth:`Flow.lift_laws <conslaws.core.plugins.flow.Flow.lift_laws>`), counted
  as functionally independent by the rank mod p of their gradients at the point.

When D minus the first equals the second the count is proved.

Examples
--------
>>> from conslaws.core.frontends.api import count
>>> result = count("relu", widths="3,4,2", engine="probes", seed=1)   # 4 hidden neurons
>>> result.laws, result.certified, result.backend_details["engine"]
(4, True, 'probes')
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from conslaws.backends.modular import check_modulus
from conslaws.core.algebra.modrank import PROBE_PRIME
from conslaws.core.engine.certificate import Certificate, count_result
from conslaws.core.engine.deferred_laws import DeferredLaws
from conslaws.core.engine.oracles import FieldOracle, GradientOracle
from conslaws.core.engine.probe_closure import (
    PROBE_MARGIN,
    check_matrix_size,
    probe_backend,
    probe_closure,
)
from conslaws.core.engine.selfcheck import SelfCheckError, check_conserved_on_probes, check_rank
from conslaws.core.errors import InvalidModulusError, InvalidPointError
from conslaws.core.frontends.results import CountResult
from conslaws.core.models.model import Model
from conslaws.core.models.point import given_point
from conslaws.core.models.probes import MAX_PROBE_MODULUS, ModularNetwork, residue
from conslaws.core.models.structural import SparseLaw, gradient_rows, graph_laws, to_sympy
from conslaws.core.plugins.backend import Backend
from conslaws.core.plugins.flow import Flow

__all__ = ["count_by_probes"]

#: Where the probe engine's laws come from (statements and ``checks``).
LAW_ORIGIN = ("the network's neuron rescalings, mixings of linear units and output shifts, "
              "as the flow keeps them")
#: Random points tried before a count is reported uncertified.
POINTS_TRIED = 2
#: A user-chosen probe prime below this may divide a network's path multiplicities.
SMALL_PRIME = 2**16


def count_by_probes(model: Model, flow: Flow, *, seed: int | None, rng: random.Random,
                    point: str | Sequence[Any] | None = None, modulus: int | None = None,
                    progress: bool = False, start: float | None = None,
                    certify_degree: int = 2, backend: Backend | None = None) -> CountResult:
    """Count the laws of a graph model under a flow with the probe engine.

    Parameters
    ----------
    model : Model
        A graph-built model (``model.graph`` is set), before the flow's transform.
    flow : Flow
        A flow with ``transforms_oracles``.
    seed : int or None
        The seed reported; ``rng`` is seeded from it.
    rng : random.Random
        Source of the point and of the probes' seeds.
    point : str or sequence, optional
        The point instead of random ones.
    modulus : int, optional
        A prime below 2**22 (default :data:`~conslaws.core.algebra.modrank.PROBE_PRIME`);
        ignored when ``backend`` is given.
    progress : bool
        Progress bars on stderr.
    start : float, optional
        ``time.perf_counter()`` when the caller started (for ``seconds``).
    certify_degree : int
        Below 2 no law is sought, and the count is reported with its upper bound
        only.
    backend : Backend, optional
        An exact backend over GF(p), p a prime below 2**22: the probes compute mod p
        and its :meth:`~conslaws.core.plugins.backend.Backend.row_basis` takes every
        rank (default: the modular backend mod ``modulus``).

    Returns
    -------
    CountResult
    """
    start = time.perf_counter() if start is None else start
    p = _probe_modulus(backend.characteristic if backend is not None else modulus)
    arithmetic = probe_backend(p, backend)
    graph = model.graph
    oracle = _oracle(model, flow, p)
    names = flow.coordinates(model)
    size = oracle.dimension
    # Before any work that grows with D: at worst D + margin rows are needed.
    check_matrix_size(size + PROBE_MARGIN, size)
    timings: dict[str, float] = {}
    tick = time.perf_counter()
    laws = flow.lift_laws(graph_laws(graph), model) if certify_degree >= 2 else []
    timings["law_search"] = time.perf_counter() - tick
    best_lie, best_closure, best_theta = -1, None, None
    chosen: list[int] = []
    chosen_at: list[int] = []  # the point where the chosen laws are independent
    for _ in range(1 if point is not None else POINTS_TRIED):
        theta = _theta(names, rng, point, p)
        residues = [_residue(v, p) for v in theta]
        independent = _independent(laws, residues, arithmetic, size)
        if len(independent) > len(chosen):
            chosen, chosen_at = independent, residues
        tick = time.perf_counter()
        closure = probe_closure(oracle, residues, seed=rng.randrange(2**32),
                                target=size - len(chosen), progress=progress,
                                backend=arithmetic)
        timings["closure"] = timings.get("closure", 0.0) + time.perf_counter() - tick
        if closure.lie_dimension > best_lie:
            best_lie, best_closure, best_theta = closure.lie_dimension, closure, theta
        if size - best_lie == len(chosen):
            break
    assert best_closure is not None and best_theta is not None
    certificate = Certificate(
        dimension=size, rank=best_lie, exact=True,
        rank_source=(f"mod {p} of probe vectors of the Lie algebra's trace (gated forward "
                     f"passes, docs/theory.md 2.4)"),
        laws=DeferredLaws(len(chosen), functools.partial(
            _expressed, [laws[i] for i in chosen], names, flow, model)),
        law_kind="independent structural",
        law_proof=f"({LAW_ORIGIN}), proved conserved without listing paths,",
        gap=("The probes reach the generic rank with probability >= 1 - deg/p, and other "
             "laws are not sought here: --engine fields (which lists every path) may close "
             "the gap."),
        checks=[f"structural laws: {LAW_ORIGIN}" if chosen else "laws: none proved"])
    if certificate.certified and chosen:
        kept = [laws[i] for i in chosen]
        try:
            certificate.checks.append(check_conserved_on_probes(
                lambda q: _oracle(model, flow, q), kept, rng))
            # Independence is re-checked where it was claimed, which need not be the
            # point of the best rank.
            certificate.checks.append(check_rank(gradient_rows(kept, chosen_at), rng))
        except SelfCheckError as failure:
            certificate.fail(str(failure))
    if modulus is not None and p < SMALL_PRIME:
        certificate.caveats.append(
            f"The modulus {p} is small: it may divide path multiplicities of the network, "
            f"and a rank mod {p} can then be far below the true one.")
    certificate.caveats.append(model.notes_sentences().strip())
    degree = max((sum(e for _, e in support) for i in chosen for _, support in laws[i]),
                 default=min(certify_degree, 2))
    return count_result(
        certificate, start=start,
        architecture=model.architecture,
        model=flow.model_name(model),
        flow=flow.name,
        parameter_names=names,
        trace_dimensions=best_closure.trace_dimensions,
        backend=arithmetic.name,
        backend_details={"field": f"GF({p})", "modulus": p, "exact": True,
                         "engine": "probes", "rank": best_closure.rank_method},
        seed=seed,
        mode="phi",
        point=[str(v) for v in best_theta],
        verified_degree=degree,
        timings=timings,
        engine="probes",
    )


def _expressed(laws: Sequence[SparseLaw], names: Sequence[str], flow: Flow,
               model: Model) -> list[Any]:
    """The laws as sympy expressions in the flow's variables (sympy is imported here)."""
    import sympy

    symbols = [sympy.Symbol(n) for n in names]
    return [flow.express(to_sympy(law, symbols), model) for law in laws]


def _probe_modulus(modulus: int | None) -> int:
    if modulus is None:
        return PROBE_PRIME
    check_modulus(modulus)
    if modulus >= MAX_PROBE_MODULUS:
        raise InvalidModulusError(
            f"--engine probes needs a prime below 2**22 = {MAX_PROBE_MODULUS}, got {modulus}")
    return modulus


def _oracle(model: Model, flow: Flow, p: int) -> FieldOracle:
    """The flow's trace oracle on the model's network, mod p."""
    return flow.oracle(GradientOracle(ModularNetwork(model.graph, p)), model)


def _theta(names: Sequence[str], rng: random.Random, point: str | Sequence[Any] | None,
           p: int) -> list[Any]:
    if point is None:
        # Nonzero residues: a coordinate 0 mod p would lower every rank there.
        return [rng.randrange(1, p) for _ in names]
    return list(given_point(point, names))


def _residue(value: Any, p: int) -> int:
    """The image in GF(p) of a coordinate of the point (an integer or a fraction)."""
    try:
        return residue(Fraction(value), p, "a coordinate of the point")
    except InvalidModulusError:
        raise InvalidPointError(
            f"the point has a denominator divisible by the modulus {p}; use --engine fields"
        ) from None


def _independent(laws: list[SparseLaw], residues: Sequence[int], backend: Backend,
                 size: int) -> list[int]:
    """Indices of laws whose gradients at θ* are independent in the backend's field."""
    if not laws:
        return []
    p = backend.characteristic
    rows = np.array([[v % p for v in row] for row in gradient_rows(laws, residues)],
                    dtype=np.int64)
    return sorted(backend.row_basis(size).add(rows))
