"""The probe engine of ``count`` (core/probe_count.py, ``engine=`` in core/api.py).

Expected counts come from the fields engine (which lists every path) when it
certifies its count, or from theory.md section 5 (deep ReLU: one law per
hidden neuron); verified laws are re-checked with
:func:`conslaws.core.engine.laws.is_conserved` and their independence with a flint
rank over Q at the reported point.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import flint
import networkx as nx
import pytest
import sympy
from cli_runner import run_cli as run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import conslaws.core.frontends.api as api
from conslaws.core.engine.laws import is_conserved
from conslaws.core.errors import (
    InvalidModulusError,
    InvalidOptionError,
    InvalidPointError,
    ModelTooLargeError,
)
from conslaws.core.frontends.api import build_model, count
from conslaws.core.frontends.results import CountResult
from conslaws.core.models.model import Model
from conslaws.core.plugins.backend import Backend, densify, leading_columns
from conslaws.flows.builtin import MomentumFlow

CERTIFIED_CASES: list[tuple[str, dict[str, Any]]] = [
    ("relu", {"widths": "2,3,2", "bias": True}),
    ("relu", {"widths": "3,4,2"}),
    ("relu", {"widths": "1,3,1"}),
    ("relu", {"widths": "2,2,2,2"}),
    ("conv", {"channels": "1,2,1", "kernels": "2,2", "length": 3}),
    ("conv", {"channels": "2,2,1", "kernels": "2,1", "length": 3}),
    ("resnet", {"width": 2, "hidden": 2, "blocks": 1}),
    ("resnet", {"width": 2, "hidden": 1, "blocks": 2}),
    ("maxpool", {"input": 3, "hidden": 4, "pool": 2, "output": 2}),
    ("maxpool", {"input": 2, "hidden": 4, "pool": 2, "stride": 1, "output": 1}),
]


def case_id(value: Any) -> str:
    return value if isinstance(value, str) else "-".join(str(v) for v in value.values())


def point_values(result: CountResult) -> list[Fraction]:
    return [Fraction(v) for v in result.point]


def check_bookkeeping(result: CountResult) -> None:
    dims = result.trace_dimensions
    assert dims and all(a <= b for a, b in itertools.pairwise(dims))
    assert dims[-1] == result.lie_dimension
    assert result.laws == result.parameters - result.lie_dimension
    assert result.laws_upper_bound == result.laws
    assert result.laws_lower_bound <= result.laws_upper_bound
    assert result.certified == (result.laws_lower_bound == result.laws_upper_bound)
    assert len(result.verified_laws) == result.laws_lower_bound
    assert result.engine == "probes"
    assert result.backend == "modular"
    assert result.backend_details["engine"] == "probes"
    assert len(result.point) == result.parameters


def check_verified_laws(arch: str, opts: dict[str, Any], result: CountResult) -> None:
    """Each verified law is conserved (exact), and their gradients are independent
    over Q at the reported point (so they prove laws_lower_bound laws)."""
    model = build_model(arch, **opts)
    laws = result.verified_laws
    for law in laws:
        assert isinstance(law, sympy.Expr)
        assert is_conserved(model, law), law
    if not laws:
        return
    symbols = model.ring.symbols
    point = dict(zip(symbols, (sympy.Rational(v.numerator, v.denominator)
                               for v in point_values(result)), strict=True))
    jacobian = [[sympy.diff(law, s).subs(point) for s in symbols] for law in laws]
    matrix = flint.fmpq_mat([[flint.fmpq(int(sympy.fraction(x)[0]), int(sympy.fraction(x)[1]))
                              for x in row] for row in jacobian])
    assert matrix.rank() == len(laws)


@pytest.mark.parametrize(("arch", "opts"), CERTIFIED_CASES, ids=case_id)
@pytest.mark.parametrize("seed", [1, 2])
def test_probes_agree_with_certified_fields(arch: str, opts: dict[str, Any], seed: int) -> None:
    truth = count(arch, seed=seed, engine="fields", **opts)
    assert truth.certified, "choose a case the fields engine certifies"
    result = count(arch, seed=seed, engine="probes", **opts)
    check_bookkeeping(result)
    assert result.certified
    assert result.laws == truth.laws
    assert result.parameters == truth.parameters
    assert result.lie_dimension == truth.lie_dimension
    assert result.seed == seed
    check_verified_laws(arch, opts, result)


@pytest.mark.parametrize("widths", [(2, 3, 2), (3, 1, 2), (2, 2, 2, 1)],
                         ids=lambda w: ",".join(map(str, w)))
@pytest.mark.parametrize("bias", [False, True])
def test_relu_closed_form(widths: tuple[int, ...], bias: bool) -> None:
    """theory.md section 5: deep ReLU, ± bias: one law per hidden neuron."""
    result = count("relu", seed=3, engine="probes", widths=widths, bias=bias)
    assert result.certified
    assert result.laws == sum(widths[1:-1])


@pytest.mark.parametrize("widths", ["3,3,3", "2,2,2", "2,3,3,2", "1,1,1,1", "4,5,5,3"])
def test_linear_certified_by_mixing_laws(widths: str) -> None:
    """Linear networks need brackets of depth >= 2 and the non-diagonal mixing
    laws: the probe engine must agree with the fields engine and with the closed
    form of theory.md section 5 (Σ over hidden layers of n(n+1)/2)."""
    truth = count("linear", seed=1, engine="fields", widths=widths)
    assert truth.certified
    result = count("linear", seed=1, engine="probes", widths=widths)
    check_bookkeeping(result)
    assert result.certified
    assert result.laws == truth.laws
    hidden = [int(w) for w in widths.split(",")][1:-1]
    assert result.laws == sum(n * (n + 1) // 2 for n in hidden)
    assert result.trace_dimensions == truth.trace_dimensions[:len(result.trace_dimensions)]
    check_verified_laws("linear", {"widths": widths}, result)


def test_certify_degree_one_gives_only_the_upper_bound() -> None:
    """Every structural law is quadratic: with --certify-degree 1 none is used."""
    result = count("relu", seed=1, engine="probes", widths="2,3,2", certify_degree=1)
    assert result.laws_lower_bound == 0 and not result.certified
    assert result.laws_upper_bound == 3


def hand_made_graphs() -> list[nx.DiGraph]:
    """A graph with dead parameters (c into a node that reaches no output, e out
    of a node no input reaches) and one with a parameter shared across layers."""
    dead = nx.DiGraph(parameters=["a", "b", "c", "e"], inputs=["x"], outputs=["y"])
    for node, kind in [("x", "input"), ("h", "relu"), ("y", "linear"), ("d", "linear"),
                       ("z", "linear")]:
        dead.add_node(node, kind=kind)
    for u, v, param in [("x", "h", "a"), ("h", "y", "b"), ("h", "d", "c"), ("z", "y", "e")]:
        dead.add_edge(u, v, param=param)
    shared = nx.DiGraph(parameters=["a", "b"], inputs=["x1", "x2"], outputs=["y"])
    for node, kind in [("x1", "input"), ("x2", "input"), ("one", "bias"), ("h1", "relu"),
                       ("h2", "relu"), ("y", "linear")]:
        shared.add_node(node, kind=kind)
    for u, v, param in [("x1", "h1", "a"), ("x2", "h2", "b"), ("one", "h2", "a"),
                        ("h1", "y", "b"), ("h2", "y", "a")]:
        shared.add_edge(u, v, param=param)
    return [dead, shared]


@pytest.mark.parametrize("index", [0, 1], ids=["dead-parameters", "shared"])
def test_hand_made_graphs_agree_with_fields(index: int) -> None:
    model = Model.from_graph(hand_made_graphs()[index])
    truth = count(model, seed=1, engine="fields")
    assert truth.certified
    result = count(model, seed=1, engine="probes")
    check_bookkeeping(result)
    # dead: φ = (ab), laws a² - b², c², e² (3 of D = 4); shared: φ = (ab, ab, a²)
    # has ∇(a²) = (2a, 0) and ∇(ab) = (b, a), independent, so no law.
    assert result.certified
    assert result.laws == truth.laws == (3, 0)[index]
    for law in result.verified_laws:
        assert is_conserved(model, law)


# ---------------------------------------------------------------- given points


RELU = {"widths": "2,3,2", "bias": True}       # D = 15, 3 laws (certified by fields)


def relu_truth() -> int:
    truth = count("relu", seed=1, engine="fields", **RELU)
    assert truth.certified
    return int(truth.laws)


@pytest.mark.parametrize(
    "point",
    [
        "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
        "3/2,-1,2,7/3,-5,1,1/2,4,-2,3,9/4,-1,2,5,-7/5",
        [Fraction(3, 2), -1, 2, Fraction(7, 3), -5, 1, Fraction(1, 2), 4, -2, 3,
         Fraction(9, 4), -1, 2, 5, Fraction(-7, 5)],
    ],
    ids=["integers", "rationals", "sequence"],
)
def test_given_point(point: str | Sequence[Any]) -> None:
    result = count("relu", engine="probes", point=point, **RELU)
    check_bookkeeping(result)
    expected = point.split(",") if isinstance(point, str) else point
    assert point_values(result) == [Fraction(v) for v in expected]
    assert result.laws_lower_bound <= relu_truth() <= result.laws_upper_bound
    check_verified_laws("relu", RELU, result)


def test_given_point_by_name() -> None:
    names = build_model("relu", **RELU).parameter_names
    text = ",".join(f"{name}={i + 1}/{i + 2}" for i, name in enumerate(reversed(names)))
    result = count("relu", engine="probes", point=text, **RELU)
    values = dict(zip(names, point_values(result), strict=True))
    assert all(values[name] == Fraction(i + 1, i + 2)
               for i, name in enumerate(reversed(names)))
    assert result.laws_lower_bound <= relu_truth() <= result.laws_upper_bound


def test_non_generic_point_gives_valid_bounds() -> None:
    """At θ = 0 every gradient of φ vanishes (each component has degree >= 2), so
    the trace is 0 and the laws' gradients 2 a ∘ θ vanish: the bounds are 0 and D,
    not certified, and still contain the truth."""
    result = count("relu", engine="probes", point=",".join(["0"] * 15), **RELU)
    check_bookkeeping(result)
    assert result.lie_dimension == 0
    assert (result.laws_lower_bound, result.laws_upper_bound) == (0, 15)
    assert not result.certified
    # One zero coordinate per hidden neuron's bias only: still valid bounds.
    names = build_model("relu", **RELU).parameter_names
    text = ",".join("0" if name.startswith("b") else str(i + 2) for i, name in enumerate(names))
    result = count("relu", engine="probes", point=text, **RELU)
    assert result.laws_lower_bound <= relu_truth() <= result.laws_upper_bound


def test_point_with_denominator_divisible_by_modulus() -> None:
    point = "1/101," + ",".join(["1"] * 14)
    with pytest.raises(InvalidPointError):
        count("relu", engine="probes", modulus=101, point=point, **RELU)


# ---------------------------------------------------------------- moduli


@pytest.mark.parametrize("modulus", [3, 5, 101, 4194301])
def test_small_prime_moduli_give_valid_bounds(modulus: int) -> None:
    """Any prime gives proved bounds; small ones only make certification less likely."""
    truth = relu_truth()
    for seed in (1, 2):
        result = count("relu", engine="probes", seed=seed, modulus=modulus, **RELU)
        check_bookkeeping(result)
        assert result.backend_details["modulus"] == modulus
        assert result.laws_lower_bound <= truth <= result.laws_upper_bound


@pytest.mark.parametrize("modulus", [2**61 - 1, 4194319, 2**22, 91, 2])
def test_bad_modulus(modulus: int) -> None:
    """Too large for int64 probe arithmetic (2**61 - 1, the first prime above
    2**22), or not a usable prime (2**22, 91 = 7 * 13, 2)."""
    with pytest.raises(InvalidModulusError):
        count("relu", seed=1, engine="probes", modulus=modulus, **RELU)


# ---------------------------------------------------------------- options refused


class _ListedOnlyFlow(MomentumFlow):
    """A third-party flow that lists its fields but transforms no trace oracle."""

    name = "listed-only"
    transforms_oracles = False


@pytest.mark.parametrize(
    "extra",
    [
        {"flow": _ListedOnlyFlow()},
        {"mode": "data"},
        {"backend": "rational"},
        {"backend": "float"},
        {"engine": "nope"},
        {"engine": "Probes"},
    ],
    ids=["listed-only-flow", "data", "rational", "float", "unknown", "case"],
)
def test_invalid_options(extra: dict[str, Any]) -> None:
    options = {"engine": "probes", **extra}
    with pytest.raises(InvalidOptionError):
        count("relu", seed=1, widths="2,2,2", **options)


@pytest.mark.parametrize(("arch", "opts"), [
    ("custom", {"phi": "u*v1; u*v2"}),
    ("custom", {"phi": "x1*x2*x3; x1**2*x4 - x2*x3"}),
    ("custom", {"fields": "x2; x1 | x1*x2; 0"}),
    ("attention", {"dim": 3, "head_dim": 2}),
    ("attention", {"dim": 2, "head_dim": 2, "heads": 2}),
])
@pytest.mark.parametrize("flow", ["gradient", "momentum", "mirror"])
def test_models_without_a_graph_probe_their_compiled_fields(
        arch: str, opts: dict[str, Any], flow: str) -> None:
    """φ and fields models: the trace oracle's ranks equal the symbolic closure's."""
    if flow != "gradient" and "fields" in opts:
        flow = "gradient"  # fields models carry no φ for a flow to transform
    probed = count(arch, seed=3, engine="probes", flow=flow, **opts)
    listed = count(arch, seed=3, engine="fields", flow=flow, **opts)
    assert probed.engine == "probes" and listed.engine == "fields"
    assert probed.trace_dimensions[-1] == listed.trace_dimensions[-1]
    assert (probed.laws, probed.certified) == (listed.laws, listed.certified)


def test_unknown_engine_with_a_non_graph_model() -> None:
    with pytest.raises(InvalidOptionError):
        count("custom", phi="u*v1; u*v2", seed=1, engine="nope")


# ---------------------------------------------------------------- engine="auto"


def test_auto_prefers_probes_and_falls_back_to_fields() -> None:
    """auto runs probes where they apply; an uncertified probe count of a small
    network is redone with fields (certify degree 1: no quadratic law counts)."""
    assert count("relu", seed=1, widths="2,3,2").engine == "probes"
    assert count("relu", seed=1, widths="2,3,2", engine="fields").engine == "fields"
    fallback = count("relu", seed=1, widths="2,3,2", certify_degree=1)
    assert fallback.engine == "fields"
    assert "probes" in fallback.timings


def test_auto_keeps_probes_past_the_path_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "PATH_LIMIT", 0)
    result = count("relu", seed=1, widths="2,3,2")
    assert result.engine == "probes"
    assert result.certified and result.laws == 3           # one per hidden neuron
    # Too many paths to list: an uncertified probe count is reported as it is.
    bounds = count("relu", seed=1, widths="2,3,2", certify_degree=1)
    assert bounds.engine == "probes" and not bounds.certified
    # Where probes cannot run, auto silently keeps the fields engine.
    assert count("custom", phi="u*v1; u*v2", seed=1).engine == "fields"
    assert count("relu", seed=1, widths="2,3,2", backend="rational").engine == "fields"
    assert count("relu", seed=1, widths="2,3,2", mode="data").engine == "fields"
    assert count("relu", seed=1, widths="2,3,2", flow=_ListedOnlyFlow()).engine == "fields"
    # Every built-in flow transforms the trace oracle: momentum stays on the probes.
    momentum = count("linear", seed=1, widths="2,2", flow="momentum", flow_options={"tau": "1"})
    assert momentum.engine == "probes" and momentum.certified


# ---------------------------------------------------------------- command line




def test_cli_large_relu_uses_probes(capsys: pytest.CaptureFixture[str]) -> None:
    """20,20,20,10 has 80,000 paths (> PATH_LIMIT): auto runs probes, and the
    count is the theory's one law per hidden neuron, 20 + 20 = 40."""
    status, out, err = run(["count", "relu", "--widths", "20,20,20,10", "--seed", "1", "--json"],
                           capsys)
    assert status == 0, err
    document = json.loads(out)
    assert document["engine"] == "probes"
    assert document["certified"] is True
    assert document["laws"] == 20 + 20
    assert document["parameters"] == 20 * 20 + 20 * 20 + 20 * 10
    assert document["laws_lower_bound"] == document["laws_upper_bound"] == 40


def test_cli_engine_option(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["count", "relu", "--widths", "2,3,2", "--seed", "1",
                            "--engine", "probes", "--json"], capsys)
    assert status == 0, err
    document = json.loads(out)
    assert document["engine"] == "probes" and document["laws"] == 3


@pytest.mark.parametrize(
    "argv",
    [
        ["count", "relu", "--widths", "2,2", "--engine", "nope"],
        ["count", "relu", "--widths", "2,2", "--engine", "probes", "--modulus",
         str(2**61 - 1)],
        ["count", "relu", "--widths", "2,2", "--engine", "probes", "--backend", "rational"],
    ],
    ids=["unknown", "modulus", "backend"],
)
def test_cli_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(argv, capsys)
    assert status == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("conslaws: error:")


def test_listing_too_many_paths_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """64·64·64·32·10 = 83,886,080 paths (+ bias paths): listing them would take
    hours, so every path-listing computation refuses at once, naming the probes."""
    with pytest.raises(ModelTooLargeError, match="probes"):
        api.find_laws("relu", 2, seed=1, widths="64,64,64,32,10")
    with pytest.raises(ModelTooLargeError):
        count("relu", seed=1, widths="64,64,64,32,10", engine="fields")
    code, out, err = run(["laws", "relu", "--widths", "64,64,64,32,10", "--degree", "2"], capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "83,886,080 paths" in err


def test_probe_matrix_too_large_is_refused_before_any_work(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """relu 3,4,2 has D = 20: a 28 x 20 float32 basis is 2,240 bytes."""
    import conslaws.core.engine.probe_closure as probe_closure

    monkeypatch.setattr(probe_closure, "MAX_MATRIX_BYTES", 2_000)
    with pytest.raises(ModelTooLargeError, match="28 x 20 matrix"):
        count("relu", seed=1, widths="3,4,2", engine="probes")
    code, out, err = run(["count", "relu", "--widths", "3,4,2", "--engine", "probes"], capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    monkeypatch.setattr(probe_closure, "MAX_MATRIX_BYTES", 2_240)
    assert count("relu", seed=1, widths="3,4,2", engine="probes").certified


# ---------------------------------------------------------------- random graphs

KINDS = ("relu", "linear", "maxpool")


@st.composite
def random_networks(draw: Any) -> nx.DiGraph:
    """Small random DAG networks: every node kind, optional biases, skip edges
    (constant weight 1) and weight sharing, in any mix."""
    n_inputs = draw(st.integers(1, 2))
    hidden = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=4))
    n_outputs = draw(st.integers(1, 2))
    names = [f"x{i}" for i in range(n_inputs)] + [f"h{i}" for i in range(len(hidden))]
    graph = nx.DiGraph(inputs=names[:n_inputs], outputs=[f"y{i}" for i in range(n_outputs)])
    for name in names[:n_inputs]:
        graph.add_node(name, kind="input")
    pool: list[str] = []

    def param(constant_allowed: bool = True) -> str | None:
        choice = draw(st.integers(0, 9))
        if choice == 0 and constant_allowed:
            return None                          # constant edge
        if choice == 1 and pool:
            return draw(st.sampled_from(pool))   # shared weight
        pool.append(f"t{len(pool)}")
        return pool[-1]

    for i, kind in enumerate(hidden):
        node = f"h{i}"
        graph.add_node(node, kind=kind)
        sources = names[:n_inputs + i]
        chosen = draw(st.lists(st.sampled_from(sources), min_size=1, max_size=3, unique=True))
        for source in chosen:
            graph.add_edge(source, node, param=param())
        if kind != "maxpool" and draw(st.booleans()):
            graph.add_node(f"b{i}", kind="bias")
            graph.add_edge(f"b{i}", node, param=param())
    for o in range(n_outputs):
        graph.add_node(f"y{o}", kind="linear")
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
        for source in chosen:
            # Output edges carry parameters, so there is at least one.
            graph.add_edge(source, f"y{o}", param=param(constant_allowed=False))
    graph.graph["parameters"] = list(pool)
    return graph


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=random_networks())
def test_probes_and_fields_agree_on_random_networks(graph: nx.DiGraph) -> None:
    """Both engines prove bounds on the same number: the intervals must meet, and
    two certified counts must be equal; every probe law must be conserved.  (The
    probe engine may stay uncertified: parallel paths merging into one φ give
    linear laws such as t2 - t3, which it does not seek.)"""
    model = Model.from_graph(graph)
    fields = count(model, seed=3, engine="fields")
    probes = count(model, seed=3, engine="probes")
    assert max(fields.laws_lower_bound, probes.laws_lower_bound) <= min(
        fields.laws_upper_bound, probes.laws_upper_bound)
    if fields.certified and probes.certified:
        assert fields.laws == probes.laws
    for law in probes.verified_laws:
        assert is_conserved(model, law)


class _ThirdPartyField(Backend):
    """A GF(p) backend written outside conslaws: the four documented methods only."""

    name = "third-party"
    exact = True
    prime_field = True

    def __init__(self, p: int = 1_000_003) -> None:
        self.characteristic = p

    def convert(self, value: Any) -> int:
        value = Fraction(value)
        return value.numerator * pow(value.denominator, -1, self.characteristic) % \
            self.characteristic

    def _matrix(self, rows: Any, ncols: int) -> Any:
        dense = [[self.convert(v) for v in row] for row in densify(rows, ncols)]
        return flint.nmod_mat(len(dense), ncols, [v for row in dense for v in row],
                              self.characteristic)

    def rank(self, rows: Any, ncols: int) -> int:
        return int(self._matrix(rows, ncols).rank()) if rows else 0

    def pivot_columns(self, rows: Any, ncols: int) -> list[int]:
        if not rows:
            return []
        reduced, rank = self._matrix(rows, ncols).rref()
        return leading_columns(reduced, rank)

    def kernel(self, rows: Any, ncols: int) -> list[list[Any]]:
        raise NotImplementedError  # not needed by the probe engine


@pytest.mark.parametrize("flow", ["gradient", "momentum"])
def test_a_third_party_prime_field_takes_the_probe_engine(flow: str) -> None:
    """Its field is used (and named in the result); the count equals the built-in one."""
    backend = _ThirdPartyField()
    result = count("relu", widths="3,4,2", bias=True, backend=backend, flow=flow, seed=1)
    builtin = count("relu", widths="3,4,2", bias=True, flow=flow, seed=1)
    assert result.engine == "probes" and result.backend == "third-party"
    assert result.backend_details["modulus"] == 1_000_003
    assert result.certified and result.laws == builtin.laws


def test_the_probe_engine_takes_every_rank_from_the_backend(monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    """The third-party field's own pivot_rows decide the ranks: a backend that finds
    fewer independent rows lowers the rank the probes report (and nothing is certified)."""
    backend = _ThirdPartyField()
    calls: list[int] = []
    original = backend.pivot_rows

    def counted(rows: Any, ncols: int) -> list[int]:
        calls.append(len(rows))
        return original(rows, ncols)

    monkeypatch.setattr(backend, "pivot_rows", counted)
    result = count("relu", widths="3,4,2", backend=backend, seed=1)
    assert calls and result.backend_details["rank"] == "pivot_rows of the third-party backend"
    assert result.certified

    def blind(rows: Any, ncols: int) -> list[int]:
        return original(rows, ncols)[:-1]      # always misses one independent row

    monkeypatch.setattr(backend, "pivot_rows", blind)
    lowered = count("relu", widths="3,4,2", backend=backend, seed=1, engine="probes")
    assert lowered.trace_dimensions[-1] < result.trace_dimensions[-1]
    assert not lowered.certified
