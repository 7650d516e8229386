"""Bad and unusual arguments of the Python API: one ConslawsError naming the argument,
or the right answer for inputs that are merely unusual (numpy integers, sympy objects).

Expected values come from outside the code under test:

* error classes and the argument each message must name are the API contract
  (core/errors.py, docs of ``count``);
* counts of the sympy-native models are hand derivations: φ = (u v1, u v2) has the
  one law u² - v1² - v2² (∇φ_1, ∇φ_2 span a 2-plane in R^3 and their bracket lies
  in it); the fields (y, -x) of a rotation conserve x² + y²;
* the flow's own coordinates are those documented in core/flows.py: the clock ``s``,
  the time ``t`` in printed laws, velocities ``{name}_dot``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import networkx as nx
import numpy
import pytest
import sympy
from cli_runner import run_cli

import conslaws.core as cl
from conslaws.core.engine.laws import SearchTooLargeError
from conslaws.core.errors import (
    ConslawsError,
    InvalidExpressionError,
    InvalidGraphError,
    InvalidModulusError,
    InvalidOptionError,
    InvalidPointError,
)
from conslaws.core.frontends.api import make_flow

u, v1, v2 = sympy.symbols("u v1 v2")
PHI = "u*v1; u*v2"
# Hand derivation: the only law of (u v1, u v2) is u^2 - v1^2 - v2^2.
LAW = u**2 - v1**2 - v2**2


def refused(call: Callable[[], Any], error: type[Exception], *words: str) -> str:
    """The one-line message of the expected error, which must name ``words``."""
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert isinstance(info.value, ConslawsError)
    assert "\n" not in message and message
    for word in words:
        assert word in message, (word, message)
    return message


# -- numbers that are not Python ints ----------------------------------------------------------


def test_numpy_integer_seed_is_an_integer_seed() -> None:
    expected = cl.count("custom", phi=PHI, seed=1)
    result = cl.count("custom", phi=PHI, seed=numpy.int64(1))
    assert result.seed == 1 and isinstance(result.seed, int)
    assert (result.laws, result.certified, result.point) == (1, True, expected.point)


def test_numpy_and_sympy_integers_as_option_values() -> None:
    model = cl.build_model("linear", widths=(numpy.int64(2), sympy.Integer(3), 2))
    assert model.dimension == 2 * 3 + 3 * 2
    assert cl.build_model("linear", widths=numpy.array([2, 3, 2])).dimension == 12


@pytest.mark.parametrize("seed", [True, 1.5, "1", b"1", [1]], ids=repr)
def test_bad_seeds(seed: object) -> None:
    refused(lambda: cl.count("custom", phi=PHI, seed=seed), InvalidOptionError, "seed")


@pytest.mark.parametrize("modulus", ["101", 101.0, True, [101]], ids=repr)
def test_modulus_must_be_an_integer(modulus: object) -> None:
    refused(lambda: cl.count("custom", phi=PHI, modulus=modulus), InvalidModulusError,
            "modulus")
    refused(lambda: cl.make_backend("modular", modulus=modulus), InvalidModulusError,
            "modulus")


@pytest.mark.parametrize("engine", ["auto", "fields", "probes"])
def test_composite_modulus_is_refused_by_every_engine(engine: str) -> None:
    # 4 = 2^2 is not prime whichever engine would run.
    refused(lambda: cl.count("linear", widths=(2, 2), modulus=4, engine=engine, seed=1),
            InvalidModulusError, "4")


@pytest.mark.parametrize("degree", [2.5, "2", True, -1], ids=repr)
def test_bad_certify_degree(degree: object) -> None:
    refused(lambda: cl.count("custom", phi=PHI, certify_degree=degree, seed=1),
            InvalidOptionError, "certify_degree")


@pytest.mark.parametrize("degree", [2.5, "2", True, 0], ids=repr)
def test_bad_degree(degree: object) -> None:
    refused(lambda: cl.find_laws("custom", degree, phi=PHI, seed=1), InvalidOptionError,
            "degree")


def test_progress_must_be_a_switch() -> None:
    refused(lambda: cl.count("custom", phi=PHI, progress="yes", seed=1), InvalidOptionError,
            "progress")


# -- points ------------------------------------------------------------------------------------


@pytest.mark.parametrize("point", [5, 2.5, b"1,2,3", object()], ids=repr)
def test_point_of_a_wrong_type(point: object) -> None:
    refused(lambda: cl.count("custom", phi=PHI, point=point), InvalidPointError, "point")


@pytest.mark.parametrize("point", [
    [sympy.Rational(1, 2), Fraction(1, 3), 2],
    [sympy.Rational(1, 2), sympy.Rational(1, 3), sympy.Integer(2)],
    (Fraction(1, 2), "1/3", numpy.int64(2)),
    numpy.array([Fraction(1, 2), Fraction(1, 3), 2], dtype=object),
    {"u": Fraction(1, 2), v1: sympy.Rational(1, 3), "v2": 2},
    "1/2, 1/3, 2",
], ids=["sympy-fraction-int", "sympy", "mixed", "numpy", "mapping", "text"])
def test_exact_points_of_every_kind(point: object) -> None:
    result = cl.count("custom", phi=PHI, point=point)
    assert result.point == ["1/2", "1/3", "2"]
    assert (result.laws, result.certified) == (1, True)


def test_float_points_are_refused_with_the_fix() -> None:
    refused(lambda: cl.count("custom", phi=PHI, point=[0.5, 1, 2]), InvalidPointError,
            "float", "Fraction")
    refused(lambda: cl.count("custom", phi=PHI, point=[numpy.float64(0.5), 1, 2]),
            InvalidPointError, "float")


def test_point_mapping_with_an_unknown_or_missing_name() -> None:
    refused(lambda: cl.count("custom", phi=PHI, point={"u": 1, "w": 2, "v2": 3}),
            InvalidPointError, "w")
    refused(lambda: cl.count("custom", phi=PHI, point={"u": 1, "v1": 2}), InvalidPointError,
            "v2")


# -- flows -------------------------------------------------------------------------------------


@pytest.mark.parametrize("options", ["tau=1", ["tau", "1"], 1, {1: "1"}], ids=repr)
def test_flow_options_must_be_a_mapping(options: object) -> None:
    refused(lambda: cl.count("custom", phi=PHI, flow="momentum", flow_options=options),
            InvalidOptionError, "flow_options")


@pytest.mark.parametrize("flow", [3, None, ["momentum"]], ids=repr)
def test_flow_of_a_wrong_type(flow: object) -> None:
    refused(lambda: cl.count("custom", phi=PHI, flow=flow), InvalidOptionError, "flow")


@pytest.mark.parametrize("tau", ["x", "1/0", True, "inf", -1], ids=repr)
def test_bad_friction(tau: object) -> None:
    refused(lambda: make_flow("momentum", {"tau": tau}), InvalidOptionError, "--tau")


@pytest.mark.parametrize("tau, value", [("1/2", Fraction(1, 2)), (Fraction(1, 2), Fraction(1, 2)),
                                        (0.25, Fraction(1, 4)), (sympy.Rational(3, 2),
                                                                 Fraction(3, 2)),
                                        (numpy.int64(0), Fraction(0))], ids=repr)
def test_friction_values_of_every_exact_kind(tau: object, value: Fraction) -> None:
    assert make_flow("momentum", {"tau": tau}).settings["tau"] == value


@pytest.mark.parametrize("flow", ["momentum", "nesterov", "mirror-momentum", "weight-decay"])
@pytest.mark.parametrize("phi, name", [("s*x", "'s'"), ("t*x", "'t'")])
def test_clock_and_time_are_not_parameter_names(flow: str, phi: str, name: str) -> None:
    refused(lambda: cl.count("custom", phi=phi, flow=flow, seed=1), InvalidOptionError, name,
            "rename")


@pytest.mark.parametrize("flow", ["momentum", "nesterov", "mirror-momentum"])
def test_a_parameter_named_as_another_ones_velocity_is_refused(flow: str) -> None:
    refused(lambda: cl.count("custom", phi="x*x_dot", flow=flow, seed=1), InvalidOptionError,
            "'x_dot'", "velocity of 'x'")


def test_names_that_clash_with_no_flow_coordinate_are_fine() -> None:
    # Gradient and mirror flows add no coordinate; weight decay adds no velocity.
    assert cl.count("custom", phi="t*s", seed=1).laws == 1  # the law t^2 - s^2
    assert cl.count("custom", phi="t*x", flow="mirror", seed=1).parameters == 2
    decay = cl.count("custom", phi="x*x_dot", flow="weight-decay", seed=1)
    assert decay.parameter_names == ("s", "x", "x_dot")
    # A lone x_dot is nobody's velocity: its own velocity is x_dot_dot.
    momentum = cl.count("custom", phi="x_dot*y", flow="momentum", seed=1)
    assert momentum.parameter_names == ("s", "x_dot", "y", "x_dot_dot", "y_dot")


# -- architectures and models ------------------------------------------------------------------


@pytest.mark.parametrize("architecture, words", [
    (nx.MultiDiGraph(), ("architecture", "MultiDiGraph", "Model.from_graph")),
    (nx.DiGraph(), ("architecture", "DiGraph")),
    (sympy.Symbol("x"), ("architecture", "Symbol", "custom")),
    (3, ("architecture", "int")),
    (None, ("architecture",)),
], ids=["multidigraph", "digraph", "symbol", "int", "none"])
def test_architecture_of_a_wrong_type(architecture: object, words: tuple[str, ...]) -> None:
    refused(lambda: cl.count(architecture), InvalidOptionError, *words)
    refused(lambda: cl.build_model(architecture), InvalidOptionError, *words)
    refused(lambda: cl.find_laws(architecture, 2), InvalidOptionError, *words)


def test_an_architecture_class_is_accepted_like_an_instance() -> None:
    from conslaws.architectures.relu import ReluArchitecture

    assert cl.build_model(ReluArchitecture, widths=(2, 2)).dimension == 4


def test_backend_of_a_wrong_type() -> None:
    refused(lambda: cl.count("custom", phi=PHI, backend=3), InvalidOptionError, "backend")
    refused(lambda: cl.make_backend(None), InvalidOptionError, "backend")  # type: ignore[arg-type]


def test_a_multigraph_is_not_a_network_graph() -> None:
    graph = nx.MultiDiGraph(parameters=["a"], inputs=["x"], outputs=["y"])
    refused(lambda: cl.Model.from_graph(graph), InvalidGraphError, "MultiDiGraph")


@pytest.mark.parametrize("widths", [b"3,4", bytearray(b"3,4"), {3, 4}, 3, 3.5, None],
                         ids=repr)
def test_widths_of_a_wrong_type(widths: object) -> None:
    if widths is None:
        refused(lambda: cl.build_model("linear", widths=widths), InvalidOptionError,
                "--widths", "required")
    else:
        refused(lambda: cl.build_model("linear", widths=widths), InvalidOptionError,
                "--widths")


@pytest.mark.parametrize("widths", [("3", "a"), (3, 2.0), ("١", 2), ("1_0", 2)], ids=repr)
def test_width_items_must_be_integers(widths: tuple[Any, ...]) -> None:
    refused(lambda: cl.build_model("linear", widths=widths), InvalidOptionError, "--widths")


def test_widths_as_text_keep_the_command_line_form() -> None:
    # The CLI hands option strings to the same converters: "3,4" and (3, 4) are one model.
    text, ints = cl.build_model("linear", widths="3,4"), cl.build_model("linear", widths=(3, 4))
    assert text.parameter_names == ints.parameter_names and text.dimension == 12


def test_the_command_line_still_converts_option_strings(capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    # Linear 2,2,2: r (r + 1) / 2 = 3 laws for the hidden width r = 2 (theory.md 5).
    status, out, err = run_cli(["count", "linear", "--widths", "2,2,2", "--seed", "1",
                                "--json"], capsys)
    assert status == 0 and json.loads(out)["laws"] == 3
    status, out, err = run_cli(["count", "linear", "--widths", "3000,3000,1"], capsys)
    assert status == 2 and "9,003,000 parameters" in err and len(err.strip().splitlines()) == 1


# -- Model constructors ------------------------------------------------------------------------


@pytest.mark.parametrize("names", [None, "u,v", "uv", b"uv", 3, {"u", "v"}], ids=repr)
def test_names_must_be_a_sequence_of_names(names: object) -> None:
    message = refused(lambda: cl.Model.from_phi(names, ["u*v"]), InvalidExpressionError,
                      "names")
    assert "character" not in message


@pytest.mark.parametrize("names, word", [(("u", 1), "1"), (("u", "u"), "twice"),
                                         (("u", "lambda"), "lambda"), (("u", "a b"), "a b")])
def test_bad_names(names: tuple[Any, ...], word: str) -> None:
    refused(lambda: cl.Model.from_phi(names, ["u"]), InvalidExpressionError, word)


@pytest.mark.parametrize("phi", ["u*v", u * v1, None, 3], ids=repr)
def test_phi_must_be_a_sequence_of_formulas(phi: object) -> None:
    refused(lambda: cl.Model.from_phi(("u", "v", "v1"), phi), InvalidExpressionError, "phi")


def test_sympy_symbols_as_names_and_expressions_as_phi() -> None:
    model = cl.Model.from_phi((u, v1, v2), [u * v1, u * v2])
    assert model.parameter_names == ("u", "v1", "v2")
    laws = cl.find_laws(model, 2, seed=1)
    assert laws.independent == 1 and laws.complete
    assert sympy.expand(laws.laws[0] - LAW) == 0 or sympy.expand(laws.laws[0] + LAW) == 0


def test_sympy_matrix_of_phi_and_of_fields() -> None:
    model = cl.Model.from_phi((u, v1, v2), sympy.Matrix([[u * v1, u * v2]]))
    assert cl.count(model, seed=1).laws == 1
    x, y = sympy.symbols("x y")
    rotation = cl.Model.from_fields((x, y), sympy.Matrix([[y, -x]]))
    assert rotation.generators[0].to_sympy() == [y, -x]
    result = cl.find_laws(rotation, 2, seed=1)
    assert [sympy.expand(h) for h in result.laws] == [x**2 + y**2]


def test_sympy_matrix_of_fields_with_the_wrong_shape() -> None:
    x, y = sympy.symbols("x y")
    refused(lambda: cl.Model.from_fields((x, y), sympy.Matrix([y, -x])), InvalidExpressionError,
            "row", "transpose")


@pytest.mark.parametrize("fields", ["y, -x", [sympy.Symbol("y")], None], ids=repr)
def test_fields_must_be_sequences_of_components(fields: object) -> None:
    refused(lambda: cl.Model.from_fields(("x", "y"), fields), InvalidExpressionError, "field")


def test_custom_architecture_takes_sympy_objects() -> None:
    x, y = sympy.symbols("x y")
    model = cl.build_model("custom", phi=sympy.Matrix([x * y]), params=(y, x))
    assert model.parameter_names == ("y", "x")
    assert cl.build_model("custom", fields=sympy.Matrix([[y, -x]])).parameter_names == ("x", "y")
    refused(lambda: cl.build_model("custom", phi=b"x*y"), InvalidOptionError, "--phi", "bytes")
    refused(lambda: cl.build_model("custom", phi="x*y", params=b"xy"), InvalidOptionError,
            "--params")


# -- refusals are immediate --------------------------------------------------------------------


@pytest.mark.parametrize("call, error, words", [
    (lambda: cl.find_laws("custom", 10**21, phi=PHI), SearchTooLargeError,
     ("degree", "1,000,000,000,000,000,000,000")),
    (lambda: cl.count("custom", phi=PHI, certify_degree=4_000_000_000), SearchTooLargeError,
     ("certify_degree", "4,000,000,000")),
    # D = 4*5 + 5*4 = 40, degree 200: C(240, 40) - 1 unknowns, far above 3,000,000.
    (lambda: cl.find_laws("linear", 200, widths=(4, 5, 4)), SearchTooLargeError,
     ("degree 200 in 40 variables",)),
    (lambda: cl.count("custom", phi=PHI, certify_degree=3000, engine="fields"),
     SearchTooLargeError, ("certify_degree 3,000 in 3 variables",)),
], ids=["degree", "certify_degree", "degree-for-D", "certify_degree-for-D"])
def test_huge_law_searches_are_refused_at_once(call: Callable[[], Any], error: type[Exception],
                                               words: tuple[str, ...]) -> None:
    start = time.perf_counter()
    refused(call, error, *words)
    assert time.perf_counter() - start < 1.0


def test_law_unknowns_is_the_sum_over_degrees() -> None:
    # laws.py sums C(D + d - 1, d) for d = 1..K; the closed form is C(D + K, K) - 1.
    from math import comb

    from conslaws.core.validation import law_unknowns

    for dimension in range(1, 7):
        for degree in range(1, 7):
            expected = sum(comb(dimension + d - 1, d) for d in range(1, degree + 1))
            assert law_unknowns(dimension, degree) == expected
            assert law_unknowns(dimension, degree, cap=10) == min(expected, 11)


def test_sympy_poly_is_accepted_everywhere() -> None:
    # phi = u v: its one law is u^2 - v^2 (by hand: grad(u^2 - v^2) . (v, u) = 0).
    import sympy

    import conslaws.core as cl

    u, v = sympy.symbols("u v")
    model = cl.Model.from_phi((u, v), [sympy.Poly(u * v, u, v)])
    assert cl.count(model, seed=1).laws == 1
    assert cl.is_conserved(model, sympy.Poly(u**2 - v**2, u, v))
    assert cl.count("custom", phi=[sympy.Poly(u * v, u, v)], seed=1).laws == 1
