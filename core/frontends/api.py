"""The Python API: build a model, count its laws, find them.

Examples
--------
>>> from conslaws.core import count, find_laws
>>> result = count("relu", widths=(3, 4, 2), bias=True, seed=1)
>>> result.laws, result.certified
(4, True)
>>> laws = find_laws("custom", phi="u*v1; u*v2", degree=2, seed=1)
>>> laws.laws
[u**2 - v1**2 - v2**2]
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from conslaws.core.algebra.modrank import PROBE_PRIME
from conslaws.core.algebra.polynomials import Number
from conslaws.core.algebra.vector_fields import VectorField
from conslaws.core.engine.certificate import Certificate, count_result
from conslaws.core.engine.closure import lie_closure
from conslaws.core.engine.deferred_laws import DeferredLaws
from conslaws.core.engine.laws import find_polynomial_laws, independent_laws
from conslaws.core.engine.oracles import PolynomialOracle
from conslaws.core.engine.probe_closure import probe_closure
from conslaws.core.engine.probe_count import count_by_probes
from conslaws.core.engine.selfcheck import (
    SelfCheckError,
    check_conserved_at_points,
    check_independent,
    check_laws,
)
from conslaws.core.engine.witness import poor_witness_reasons, witness_prime
from conslaws.core.errors import ConslawsError, InvalidModulusError, InvalidOptionError
from conslaws.core.frontends.importers import IMPORT_OPTIONS, import_model, importable
from conslaws.core.frontends.results import CountResult, LawsResult
from conslaws.core.models.data_trace import DataTrace, sample_data_trace
from conslaws.core.models.graph import count_paths
from conslaws.core.models.model import Model
from conslaws.core.models.point import given_point
from conslaws.core.models.probes import MAX_PROBE_MODULUS, residue
from conslaws.core.plugins.architecture import Architecture
from conslaws.core.plugins.backend import Backend
from conslaws.core.plugins.flow import Flow
from conslaws.core.plugins.registry import architectures, backends, flows
from conslaws.core.validation import (
    architecture_argument,
    backend_argument,
    check_run_arguments,
    check_search_size,
    flow_argument,
    flow_options_argument,
    modulus_argument,
    search_degree_argument,
)

__all__ = ["build_model", "count", "find_laws", "make_backend", "make_flow"]

#: Default highest degree of the laws sought to certify a count.
CERTIFY_DEGREE = 2
#: Random points tried before a count is reported uncertified.
POINTS_TRIED = 2
#: With ``engine="auto"``, graph models are counted by probes first
#: (:mod:`conslaws.core.engine.probe_closure`): on the two reference sweeps they
#: certified all 100 counts in 4.6 s of computation where listing the paths as
#: fields took about 70 s.  When the probe count is not certified (its laws are
#: only the structural quadratic ones), networks with at most this many paths
#: are counted again with fields, which seek laws of every degree.
PATH_LIMIT = 20_000
ENGINES = ("auto", "fields", "probes")


def make_backend(backend: str | Backend = "modular", **options: Any) -> Backend:
    """A backend instance from its registry name and options.

    Options not given (``None``) are left to the backend's defaults.

    Examples
    --------
    >>> make_backend("modular", modulus=101).describe()["modulus"]
    101
    >>> make_backend("modular", modulus=91)
    Traceback (most recent call last):
        ...
    conslaws.core.errors.InvalidModulusError: modulus 91 is not prime (91 = 7 * 13)
    """
    backend = backend_argument(backend)
    if options.get("modulus") is not None:
        options["modulus"] = modulus_argument(options["modulus"])
    if isinstance(backend, Backend):
        return backend
    cls = backends.load(backend)
    given = {k: v for k, v in options.items() if v is not None}
    try:
        return cls(**given)
    except TypeError:
        names = ", ".join("--" + k for k in given)
        raise InvalidOptionError(f"backend {backend!r} does not take {names}") from None


def make_flow(flow: str | Flow = "gradient", options: Mapping[str, Any] | None = None) -> Flow:
    """A flow instance from its registry name and options.

    Examples
    --------
    >>> make_flow("momentum", {"tau": "1/2"}).describe()
    'momentum tau=1/2'
    """
    flow, options = flow_argument(flow), flow_options_argument(options)
    if isinstance(flow, Flow):
        if options:
            raise InvalidOptionError("flow options cannot be given with a Flow instance")
        return flow
    return flows.load(flow)(**dict(options or {}))


def _check_flow_mode(flow: Flow, mode: str) -> None:
    if mode == "data" and not flow.keeps_parameterization:
        raise InvalidOptionError("--mode data works with --flow gradient only")


def _flow_model(model: Model, flow: Flow, mode: str) -> Model:
    _check_flow_mode(flow, mode)
    return flow.transform(model)


def _imported(architecture: Any, options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A torch module, ONNX model or ONNX file (os.PathLike) as a built Model with its
    options consumed (:mod:`conslaws.core.frontends.importers`); anything else is left as it is."""
    if not importable(architecture):
        return architecture, options
    unknown = sorted(set(options) - set(IMPORT_OPTIONS))
    if unknown:
        raise InvalidOptionError(
            f"an imported network takes only the options {', '.join(IMPORT_OPTIONS)}, got "
            f"{', '.join(unknown)}", argument=unknown[0])
    return import_model(architecture, **options), {}


def build_model(architecture: str | Architecture | Model, **options: Any) -> Model:
    """A model from an architecture name (or instance) and its options.

    ``architecture`` may also be a ``torch.nn.Module`` (with ``input_shape=``, one
    sample's shape), a loaded ONNX model or a path to an ``.onnx`` file
    (``os.PathLike``): the network is imported (:mod:`conslaws.core.frontends.importers`).

    Examples
    --------
    >>> build_model("linear", widths="2,3,2").parameter_names[:3]
    ('W1_1_1', 'W1_1_2', 'W1_2_1')
    """
    architecture, options = _imported(architecture, options)
    architecture = architecture_argument(architecture)
    if isinstance(architecture, Model):
        if options:
            raise InvalidOptionError("options cannot be given together with a built Model")
        return architecture
    arch = architecture if isinstance(architecture, Architecture) else architectures.load(
        architecture
    )()
    return arch.model(**options)


def _point(model: Model, backend: Backend, rng: random.Random,
           point: str | Sequence[Any] | None, mode: str = "phi") -> list[Number]:
    if point is None and mode == "data":
        # Activation patterns depend on signs: sample signed integers (the
        # modular backend's uniform residues would all be positive).
        values = Backend.sample_point(backend, rng, model.dimension)
    elif point is None:
        values = backend.sample_point(rng, model.dimension)
    else:
        values = list(given_point(point, model.parameter_names))
    # Integers keep the exact arithmetic in fast machine-word paths.
    return [int(v) if getattr(v, "denominator", 1) == 1 else v for v in values]


def _seed(seed: int | None, point: object) -> int:
    """The seed to use and report: drawn when not given.

    A given point still draws randomness (the frames, the self-checks), so a seed is
    drawn and recorded then too, and the run can be repeated.
    """
    if seed is not None:
        return seed
    return random.SystemRandom().randrange(2**32)


def _check_mode(mode: str) -> None:
    if mode not in ("phi", "data"):
        raise InvalidOptionError(f"--mode must be 'phi' or 'data', got {mode!r}")


def _generators(model: Model, theta: Sequence[Number], engine: Backend, rng: random.Random,
                mode: str) -> tuple[Sequence[VectorField], DataTrace | None]:
    """The generating fields of the chosen mode at ``theta``."""
    if mode == "phi":
        return model.generators, None
    trace = sample_data_trace(model, theta, engine, rng)
    return trace.fields, trace


def count(
    architecture: str | Architecture | Model,
    *,
    backend: str | Backend = "modular",
    seed: int | None = None,
    point: str | Sequence[Any] | None = None,
    mode: str = "phi",
    flow: str | Flow = "gradient",
    flow_options: Mapping[str, Any] | None = None,
    certify_degree: int | None = None,
    modulus: int | None = None,
    tolerance: float | None = None,
    progress: bool = False,
    engine: str = "auto",
    **options: Any,
) -> CountResult:
    """Count the independent conservation laws of a model's flow.

    The Lie closure of the generating fields is computed at one point
    (random, from ``seed``, unless ``point`` is given).  With an exact backend
    its rank K bounds the Lie dimension from below, so there are at most D - K
    laws; polynomial laws of degree up to ``certify_degree`` are then sought
    and verified exactly, and k independent ones prove at least k.  When the
    two bounds meet the count is ``certified`` (docs/theory.md section 2.2).  If
    they do not, a second random point is tried.

    Parameters
    ----------
    architecture : str, Architecture or Model
        Registry name (``"relu"``), plugin instance, or a built model; or a network
        to import (:mod:`conslaws.core.frontends.importers`): a ``torch.nn.Module`` (with the
        option ``input_shape``), a loaded ONNX model, or an ``.onnx`` file as an
        ``os.PathLike``.
    backend : str or Backend
        ``"modular"`` (default), ``"rational"`` or ``"float"``.
    seed : int, optional
        Seed of every random choice; drawn and reported when not given.
    point : str, sequence or mapping, optional
        The point, instead of a random one: ``"1,2,3/2"``, exact values (ints,
        Fractions, sympy Rationals, numpy integers) or a mapping name -> value.
    mode : {"phi", "data"}
        Generating fields from the parameterization φ, or sampled from data
        at the point (:mod:`conslaws.core.models.data_trace`; graph-built models).
    flow : str or Flow
        ``"gradient"`` (default), ``"momentum"``, ``"nesterov"``, ``"mirror"``,
        ``"weight-decay"`` or any registered flow; ``flow_options`` holds its
        options (``{"tau": "1/2"}``).
    certify_degree : int, optional
        Highest degree of the laws sought for the certificate (0: none);
        default 2, or the flow's own default (3 for momentum flows).
    modulus, tolerance : optional
        Options of the modular and float backends.
    progress : bool
        Progress bars on stderr.
    engine : {"auto", "fields", "probes"}
        How the trace is evaluated.  ``"fields"`` lists the generating fields
        (for a network, its paths) and brackets them symbolically; ``"probes"``
        evaluates random elements of W_0 and their brackets mod a prime below
        2**22 through a trace oracle (:mod:`conslaws.core.engine.oracles`): gated
        forward passes for a network graph under any built-in flow, whose laws
        are then the network's structural ones as the flow keeps them, or the
        compiled fields of a model given by φ or fields, whose laws are sought
        exactly as with ``"fields"``.  ``"auto"`` uses probes for networks
        (unless a modulus of 2**22 or more is asked for), falling back to fields
        when they do not certify and the network has at most ``PATH_LIMIT``
        paths, and for other models from ``ORACLE_DIMENSION`` parameters on.
    **options
        Options of the architecture (``widths=...``).

    Returns
    -------
    CountResult
    """
    start = time.perf_counter()
    _check_mode(mode)
    architecture, options = _imported(architecture, options)
    args = check_run_arguments(architecture=architecture, backend=backend, seed=seed,
                               point=point, flow=flow, flow_options=flow_options,
                               modulus=modulus, progress=progress,
                               certify_degree=certify_degree)
    architecture, backend, seed, point = args.architecture, args.backend, args.seed, args.point
    flow, flow_options, modulus = args.flow, args.flow_options, args.modulus
    progress, certify_degree = args.progress, args.certify_degree
    base = build_model(architecture, **options)
    dynamics = make_flow(flow, flow_options)
    _check_flow_mode(dynamics, mode)
    probe_prime = _probe_modulus(engine, base, dynamics, mode, backend, modulus)
    model = None
    if probe_prime is None:
        # The flow's fields are listed only when the fields engine runs.
        model = dynamics.transform(base)
        if certify_degree is not None:
            # The fields engine will search laws of this degree: refuse before the closure.
            base.check_listable()
            check_search_size(model.dimension, certify_degree, "certify_degree")
    if certify_degree is None:
        certify_degree = dynamics.certify_degree
    seed_used = _seed(seed, point)
    rng = random.Random(seed_used)
    timings: dict[str, float] = {}
    if probe_prime is not None:
        if tolerance is not None:
            raise InvalidOptionError("tolerance applies to the float backend only",
                                     argument="tolerance")
        try:
            probed = count_by_probes(base, dynamics, seed=seed_used, rng=rng, point=point,
                                     progress=progress, start=start,
                                     certify_degree=certify_degree,
                                     backend=backend if isinstance(backend, Backend) else
                                     make_backend(backend, modulus=probe_prime or PROBE_PRIME))
        except InvalidModulusError:
            # The chosen prime divides a denominator of the model (a slope, a rate):
            # the probes cannot reduce it; the fields engine copes with such a prime.
            if engine == "probes" or count_paths(base.graph) > PATH_LIMIT:
                raise
            probed = None
        # auto: an uncertified probe count falls back to listing the fields
        # (which seeks laws of every degree) when the paths are few enough.
        if probed is not None and (engine == "probes" or probed.certified
                                   or count_paths(base.graph) > PATH_LIMIT):
            return probed
        if probed is not None:
            timings["probes"] = probed.seconds
        model = dynamics.transform(base)
    assert model is not None
    arithmetic = make_backend(backend, modulus=modulus, tolerance=tolerance)
    arithmetic, poor, witness_notes = _witness(model, arithmetic, backend, modulus, point)
    size = model.dimension
    best = None
    # In data mode the point's region is part of the question: never move it.
    tries = 1 if point is not None or mode == "data" else POINTS_TRIED
    verified: list[Any] = []
    independent: list[int] = []
    searched = False
    searched_degree = certify_degree  # lowered when a lower degree certifies
    too_large = ""  # why a higher degree was not searched
    kernels_by: list[str] = []  # which backends computed the law search's kernels
    rotation_notes: list[str] = []  # when the laws come from rotations of φ
    data: DataTrace | None = None
    oracle = _polynomial_oracle(base, model, arithmetic, engine, mode)
    for _ in range(tries):
        theta = _point(model, arithmetic, rng, point, mode)
        # A given point may be non-generic: frames are then chosen at a random one.
        chooser = _point(model, arithmetic, rng, None, mode) if point is not None else theta
        tick = time.perf_counter()
        residues = _residues(theta, oracle.modulus) if oracle is not None else None
        if oracle is not None and residues is not None:
            # No field is bracketed symbolically: the closure runs on the trace oracle.
            trace = None
            closure = probe_closure(
                oracle, residues, seed=rng.randrange(2**32), progress=progress,
                backend=arithmetic if arithmetic.characteristic == oracle.modulus else None)
        else:
            oracle = None
            generators, trace = _generators(model, theta, arithmetic, rng, mode)
            closure = lie_closure(generators, theta, arithmetic, progress=progress,
                                  selection_point=chooser if point is not None else None)
        timings["closure"] = timings.get("closure", 0.0) + time.perf_counter() - tick
        if best is None or closure.lie_dimension > best[0].lie_dimension:
            best, data = (closure, theta), trace
        if certify_degree < 1:
            break
        upper = size - best[0].lie_dimension
        if not searched and upper > 0:
            # Laws are found and verified exactly against the fields of φ, so
            # they hold for every data set (whatever the mode and backend).
            tick = time.perf_counter()
            exact = arithmetic if arithmetic.exact else make_backend("modular")
            chosen: dict[str, list[int]] = {}

            # Called at once by the search (defaults bind this iteration's values); it
            # keeps the independent subset, so that it is not computed twice.
            def enough(laws: list[Any], upper: int = upper, chosen: dict[str, list[int]] = chosen,
                       chooser: Sequence[Any] = chooser, exact: Backend = exact) -> bool:
                chosen["independent"] = independent_laws(laws, chooser, exact)
                return len(chosen["independent"]) >= upper

            # A momentum flow of a φ model keeps φ's rotations: their laws have degree
            # 3 to 5 in 1 + 2D coordinates, far beyond the monomial search at D = 1,000.
            rotated, lift_note = _lifted_laws(base, model, dynamics, exact, arithmetic,
                                              rng.randrange(2**32))
            from_rotations = independent_laws(rotated, chooser, exact) if rotated else []
            if rotated and len(from_rotations) >= upper:
                verified, independent = rotated, from_rotations
                searched_degree = max(int(h.total_degree()) for h in rotated)
            else:
                # Lowest degree first: a mirror flow's laws are linear, and its degree-2
                # monomials form one block (no sign flip survives diag(θ)), half a million
                # unknowns at D = 1,000.  A default degree beyond the size limit is not
                # searched (a degree the caller chose was checked before the closure).
                search = find_polynomial_laws(model, certify_degree, backend=arithmetic,
                                              seed=rng.randrange(2**32), progress=progress,
                                              enough=enough)
                verified = search.laws
                # A search may return without asking (a stand-in search, in the tests).
                independent = (chosen["independent"] if "independent" in chosen
                               else independent_laws(verified, chooser, exact))
                if search.degrees:
                    searched_degree = search.degrees[-1]
                too_large = search.refused
                kernels_by = getattr(search, "kernels_by", [])
                if len(from_rotations) > len(independent):
                    verified, independent = rotated, from_rotations
                    searched_degree = max(int(h.total_degree()) for h in rotated)
            if rotated and verified is rotated:
                rotation_notes = [lift_note]
            timings["law_search"] = time.perf_counter() - tick
            searched = True
        if len(independent) == upper or not arithmetic.exact:
            break
    assert best is not None
    closure, theta = best
    lie = closure.lie_dimension
    certificate = Certificate(
        dimension=size, rank=lie, exact=arithmetic.exact,
        rank_source="of the Lie algebra's trace at a point" if oracle is None else (
            f"mod {oracle.modulus} of probe vectors of the Lie algebra's trace (compiled "
            f"polynomial fields, docs/theory.md 2.4)"),
        laws=DeferredLaws(len(independent), functools.partial(
            _expressed, [verified[i] for i in independent], dynamics, model)),
        law_kind="independent polynomial", law_proof=f"of degree <= {searched_degree} "
        "verified exactly",
        checks=[*witness_notes, LAW_CHECK if independent else "laws: none proved",
                *rotation_notes, *_kernel_notes(kernels_by)])
    certificate.gap = _gap(certificate.laws_upper_bound, poor, mode)
    if too_large and not certificate.certified:
        certificate.caveats.append(
            f"Laws of degree {searched_degree + 1} were not sought ({too_large}); "
            f"the flow's laws may need them.")
    if certificate.certified and independent:
        try:
            certificate.checks += check_laws(model, [verified[i] for i in independent],
                                             chooser, rng)
        except SelfCheckError as failure:
            certificate.fail(str(failure))
    if poor:
        certificate.caveats.append(
            f"The modulus is a poor witness: {'; '.join(poor)}. A rank mod p stays a lower "
            f"bound of the true rank, but it can be far below it, so the upper bound may be "
            f"far from the count: choose another modulus.")
    if closure.generic_trace_dimensions[-1] > lie:
        certificate.caveats.append(
            f"The given point is not generic: the rank there ({lie}) is below the rank at "
            f"a random point ({closure.generic_trace_dimensions[-1]}), so the dimensions "
            f"at the point are lower bounds (docs/theory.md 2.1).")
    certificate.caveats.append(model.notes_sentences().strip())
    if data is not None:
        certificate.caveats.append(
            f"Data trace: {data.samples} inputs, {len(data.patterns)} activation pattern(s) "
            f"seen; the rank is that of the fields sampled at this point's region, and laws "
            f"beyond those of phi are not proved for patterns not seen.")
    return count_result(
        certificate, start=start,
        architecture=model.architecture,
        model=model.name,
        flow=dynamics.name,
        parameter_names=model.parameter_names,
        trace_dimensions=closure.trace_dimensions,
        backend=arithmetic.name,
        backend_details=arithmetic.describe(),
        seed=seed_used,
        mode=mode,
        point=[str(v) for v in theta],
        verified_degree=searched_degree,
        timings=timings,
        data_samples=data.samples if data is not None else 0,
        activation_patterns=dict(data.patterns) if data is not None else {},
        engine="fields" if oracle is None else "probes",
    )


#: From this dimension on, ``count`` (engine "auto") takes the ranks of a model given by
#: its φ or fields from the trace oracle instead of bracketing the fields symbolically.
ORACLE_DIMENSION = 100


def _polynomial_oracle(base: Model, model: Model, arithmetic: Backend, engine: str,
                       mode: str) -> PolynomialOracle | None:
    """The trace oracle of a model that is not a network graph, when it should be used.

    The ranks are then exact mod a prime below 2**22 (the backend's, when its field is
    such a prime), so they stay proved lower bounds; the laws are still sought and
    verified exactly over Q.
    """
    if (base.graph is not None or mode != "phi" or engine == "fields" or not arithmetic.exact
            or (engine == "auto" and model.dimension < ORACLE_DIMENSION)):
        return None
    p = arithmetic.characteristic
    return PolynomialOracle(model, p if 2 < p < MAX_PROBE_MODULUS else PROBE_PRIME)


def _residues(point: Sequence[Any], p: int) -> list[int] | None:
    """The point mod p, or None when p divides a denominator."""
    try:
        return [residue(Fraction(value), p, "the point") for value in point]
    except InvalidModulusError:
        return None


def _lifted_laws(base: Model, model: Model, flow: Flow, exact: Backend, backend: Backend,
                 seed: int) -> tuple[list[Any], str]:
    """The flow's laws lifted from φ's own structure, each verified exactly, and how.

    Only for models without a graph (a network's symmetries are lifted by the probe
    engine): the rotation symmetries of φ under flows with ``lifts_rotations``, the
    gradient flow's laws (degree <= 2) under flows with ``lifts_gradient_laws``.
    """
    if base.graph is not None or not base.generators:
        return [], ""
    from conslaws.core.algebra.polynomials import sparse_terms
    from conslaws.core.engine.laws import conserved, find_polynomial_laws
    from conslaws.core.engine.rotations import find_rotations
    from conslaws.core.models.structural import to_polynomial

    searching = backend if backend.exact else exact
    sparse: list[Any] = []
    notes = []
    if flow.lifts_rotations:
        rotations = find_rotations(base, backend=searching, seed=seed)
        sparse += flow.lift_rotations(rotations, base)
        notes.append(f"{len(rotations)} rotation symmetries of phi (antisymmetric A with "
                     "grad(phi_i).A theta = 0, found blockwise and verified exactly)")
    if flow.lifts_gradient_laws:
        gradient = find_polynomial_laws(base, 2, backend=searching, seed=seed).laws
        sparse += flow.lift_gradient_laws([sparse_terms(h) for h in gradient], base)
        notes.append(f"{len(gradient)} laws of degree <= 2 of the gradient flow of phi")
    laws = [to_polynomial(law, model.ring) for law in sparse]
    kept = [h for h, ok in zip(laws, conserved(model, laws), strict=True) if ok]
    return kept, f"laws: lifted by the flow from {' and '.join(notes)}"


def _kernel_notes(kernels_by: Sequence[str]) -> list[str]:
    """The check line saying which backends computed the law search's block kernels."""
    return [f"law search: block kernels by {', '.join(kernels_by)}"] if kernels_by else []


def _expressed(laws: Sequence[Any], flow: Flow, model: Model) -> list[Any]:
    """Exact laws (flint polynomials) as sympy expressions in the flow's variables."""
    return [flow.express(model.ring.to_sympy(law), model) for law in laws]


def _gap(upper: int, poor: Sequence[str], mode: str) -> str:
    """What the fields engine says when its bounds do not meet."""
    if poor:
        return ""
    if mode == "data":
        return ("The rank is that of fields sampled from data; a region of the inputs that "
                "the samples missed can make it too low, and the count too high.")
    return (f"At a random point the rank equals the generic one with probability >= 1 - "
            f"deg/p, so {upper} is likely the count; laws of higher degree (or non-polynomial "
            f"ones) would close the gap.")


def _probe_modulus(engine: str, model: Model, flow: Flow, mode: str,
                   backend: str | Backend, modulus: int | None) -> int | None:
    """The prime ``count`` should run the probe engine with, or None for the fields engine.

    Capabilities decide: the probes need a network graph, a flow that keeps the
    parameterization, and exact arithmetic in a prime field small enough for their
    int64 kernels (:data:`MAX_PROBE_MODULUS`).  A backend instance brings its own
    characteristic; by name, the modular backend's default prime is too large,
    so the probes use their own default (None means that, here: ``0``).
    """
    if engine not in ENGINES:
        raise InvalidOptionError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "fields":
        return None
    suitable = model.graph is not None and flow.transforms_oracles and mode == "phi"
    if isinstance(backend, Backend):
        p = backend.characteristic if backend.exact else 0
        fits = 2 < p < MAX_PROBE_MODULUS
    else:
        cls = backends.load(backend)
        p = modulus or 0
        fits = cls.exact and getattr(cls, "prime_field", False) and (
            modulus is None or modulus < MAX_PROBE_MODULUS)
    if engine == "probes" and model.graph is None and mode == "phi":
        return None  # a model given by φ or fields: its own trace oracle (see count)
    if engine == "probes":
        if not suitable:
            raise InvalidOptionError(
                "engine 'probes' needs a network graph, a flow that transforms trace oracles "
                "(every built-in flow) and mode 'phi'")
        if not fits and modulus is not None:
            raise InvalidModulusError(
                f"engine 'probes' needs a prime below 2**22 = {MAX_PROBE_MODULUS}, got {modulus}")
        if not fits:
            raise InvalidOptionError(
                f"engine 'probes' computes mod a prime below {MAX_PROBE_MODULUS}: use the "
                "modular backend (or a backend whose characteristic is such a prime)")
        return p
    return p if suitable and fits else None


#: How every law the search returns was proved (recorded in the results' ``checks``).
LAW_CHECK = "laws: the exact identity grad(h).w = 0 over Q for every generating field"


def _witness(model: Model, arithmetic: Backend, backend: str | Backend, modulus: int | None,
             point: str | Sequence[Any] | None) -> tuple[Backend, list[str], list[str]]:
    """The backend to count with, why its prime is a poor witness, and what was changed.

    The reasons are empty for a good witness; the notes say when the prime was changed.

    A prime the user did not choose is changed for one dividing none of the model's
    field coefficients (:mod:`conslaws.core.engine.witness`); a chosen one is kept and the
    statement says what it costs.
    """
    p = arithmetic.characteristic
    if p <= 1:
        return arithmetic, [], []
    values = None
    if point is not None:
        values = given_point(point, model.parameter_names)
    reasons = poor_witness_reasons(model, p, values)
    chosen = modulus is not None or isinstance(backend, Backend)
    if reasons and not chosen:
        better = witness_prime(model, p)
        if better != p:
            try:
                replacement = make_backend(backend, modulus=better)
            except ConslawsError:
                return arithmetic, reasons, []
            note = f"witness prime: the default modulus {p} divides the model's data; {better} used"
            return replacement, poor_witness_reasons(model, better, values), [note]
    return arithmetic, reasons, []


def find_laws(
    architecture: str | Architecture | Model,
    degree: int,
    *,
    backend: str | Backend = "modular",
    seed: int | None = None,
    point: str | Sequence[Any] | None = None,
    mode: str = "phi",
    flow: str | Flow = "gradient",
    flow_options: Mapping[str, Any] | None = None,
    modulus: int | None = None,
    progress: bool = False,
    **options: Any,
) -> LawsResult:
    """All polynomial conservation laws of degree 1..``degree``, verified exactly.

    Returns a basis of the space of such laws as sympy expressions, how many
    are functionally independent, and whether they are ``complete`` (account
    for every law the Lie closure allows, which certifies the count).
    ``architecture`` is as in :func:`count` (an imported network too).
    """
    start = time.perf_counter()
    _check_mode(mode)
    degree = search_degree_argument(degree, "degree", minimum=1)
    architecture, options = _imported(architecture, options)
    args = check_run_arguments(architecture=architecture, backend=backend, seed=seed,
                               point=point, flow=flow, flow_options=flow_options,
                               modulus=modulus, progress=progress)
    architecture, backend, seed, point = args.architecture, args.backend, args.seed, args.point
    flow, flow_options, modulus, progress = args.flow, args.flow_options, args.modulus, \
        args.progress
    base = build_model(architecture, **options)
    dynamics = make_flow(flow, flow_options)
    model = _flow_model(base, dynamics, mode)
    model.check_listable()  # a network with too many paths: that is the first problem
    check_search_size(model.dimension, degree, "degree")
    engine = make_backend(backend, modulus=modulus)
    exact = engine if engine.exact else make_backend("modular")
    exact, poor, witness_notes = _witness(model, exact, backend if engine.exact else "modular",
                                          modulus, point)
    seed_used = _seed(seed, point)
    rng = random.Random(seed_used)
    theta = _point(model, exact, rng, point, mode)
    chooser = _point(model, exact, rng, None, mode) if point is not None else theta
    generators, _ = _generators(model, theta, exact, rng, mode)
    if mode == "data":
        # Laws of the sampled fields: verified on every activation pattern seen.
        model = Model.from_fields(model.parameter_names, list(generators), name=model.name,
                                  architecture=model.architecture, ring=model.ring)
    # A model given by φ closes on its trace oracle, as in count: no field is
    # bracketed symbolically (attention with d = 12: 108 s and 3.2 GB that way).
    oracle = _polynomial_oracle(base, model, exact, "auto", mode)
    residues = _residues(theta, oracle.modulus) if oracle is not None else None
    if oracle is not None and residues is not None:
        closure = probe_closure(
            oracle, residues, seed=rng.randrange(2**32), progress=progress,
            backend=exact if exact.characteristic == oracle.modulus else None)
    else:
        closure = lie_closure(model.generators, theta, exact, progress=progress,
                              selection_point=chooser if point is not None else None)
    search = find_polynomial_laws(model, degree, backend=exact, seed=rng.randrange(2**32),
                                  progress=progress)
    chosen = independent_laws(search.laws, chooser, exact)
    upper = model.dimension - closure.lie_dimension
    checks = [*witness_notes, LAW_CHECK, *_kernel_notes(search.kernels_by)]
    if chosen:
        # The printed laws are all re-checked; their independence claim too.
        checks += [check_conserved_at_points(model, search.laws, rng),
                   check_independent([search.laws[i] for i in chosen], chooser, rng)]
    checks += [f"poor witness: {reason}" for reason in poor]
    return LawsResult(
        model=model.name,
        architecture=model.architecture,
        flow=dynamics.name,
        degree=degree,
        parameters=model.dimension,
        parameter_names=model.parameter_names,
        laws=_expressed(search.laws, dynamics, model),
        independent=len(chosen),
        independent_indices=chosen,
        complete=len(chosen) == upper,
        lie_dimension=closure.lie_dimension,
        laws_upper_bound=upper,
        backend=exact.name,
        seed=seed_used,
        seconds=time.perf_counter() - start,
        homogeneous=search.homogeneous,
        checks=checks,
    )
