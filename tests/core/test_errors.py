"""The error hierarchy, and which error each kind of bad input raises from Python."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

import conslaws.core as cl
import conslaws.core.errors as errors
from conslaws.core.engine.laws import SearchTooLargeError

PUBLIC_ERRORS = [getattr(errors, name) for name in errors.__all__]


def test_public_errors_are_exported_from_the_package() -> None:
    for error in PUBLIC_ERRORS:
        assert getattr(cl, error.__name__) is error


@pytest.mark.parametrize("error", PUBLIC_ERRORS, ids=lambda e: e.__name__)
def test_every_public_error_is_a_conslaws_error(error: type[Exception]) -> None:
    assert issubclass(error, cl.ConslawsError)
    assert issubclass(error, Exception)
    assert str(error("message")) == "message"


def test_errors_are_also_the_matching_builtin_kinds() -> None:
    # Callers that catch ValueError / LookupError / TypeError keep working.
    assert issubclass(cl.InvalidOptionError, ValueError)
    assert issubclass(cl.InvalidModulusError, ValueError)
    assert issubclass(cl.InvalidExpressionError, ValueError)
    assert issubclass(cl.InvalidPointError, ValueError)
    assert issubclass(cl.UnknownNameError, LookupError)
    assert issubclass(cl.PluginError, TypeError)
    assert issubclass(SearchTooLargeError, cl.ConslawsError)


BAD_CALLS: dict[str, tuple[type[Exception], Any]] = {
    "unknown architecture": (cl.UnknownNameError, lambda: cl.count("nope")),
    "unknown backend": (cl.UnknownNameError,
                        lambda: cl.count("linear", widths=(2, 2), backend="nope")),
    "width 0": (cl.InvalidOptionError, lambda: cl.count("linear", widths=(3, 0))),
    "width 0 from a string": (cl.InvalidOptionError, lambda: cl.count("linear", widths="3,0")),
    "width not an integer": (cl.InvalidOptionError, lambda: cl.count("linear", widths="3,a")),
    "unknown option": (cl.InvalidOptionError,
                       lambda: cl.count("linear", widths=(2, 2), depth=3)),
    "missing option": (cl.InvalidOptionError, lambda: cl.count("linear")),
    "options with a built model": (
        cl.InvalidOptionError,
        lambda: cl.count(cl.Model.from_phi(("u", "v"), ["u*v"]), widths=(2, 2))),
    "composite modulus": (cl.InvalidModulusError,
                          lambda: cl.count("linear", widths=(2, 2), modulus=15)),
    "even modulus": (cl.InvalidModulusError,
                     lambda: cl.make_backend("modular", modulus=2**61 - 2)),
    "point of wrong length": (cl.InvalidPointError,
                              lambda: cl.count("linear", widths=(2, 2), point=[1, 2, 3])),
    "point string of wrong length": (cl.InvalidPointError,
                                     lambda: cl.count("custom", phi="u*v", point="1,2,3")),
    "point with an unknown name": (cl.InvalidPointError,
                                   lambda: cl.count("custom", phi="u*v", point="u=1,w=2")),
    "point with a float": (cl.InvalidPointError,
                           lambda: cl.count("custom", phi="u*v", point=[1, 0.5])),
    "laws at a point of wrong length": (
        cl.InvalidPointError, lambda: cl.find_laws("custom", phi="u*v", degree=2, point=[1])),
    "exp phi": (cl.InvalidExpressionError, lambda: cl.count("custom", phi="exp(u)")),
    "rational function phi": (cl.InvalidExpressionError, lambda: cl.count("custom", phi="1/u")),
    "sqrt phi": (cl.InvalidExpressionError, lambda: cl.count("custom", phi="u*sqrt(v)")),
    "unparsable phi": (cl.InvalidExpressionError, lambda: cl.count("custom", phi="u*(v")),
    "irrational coefficient": (cl.InvalidExpressionError,
                               lambda: cl.Model.from_phi(("u", "v"), ["pi*u*v"])),
    "field of wrong length": (cl.InvalidExpressionError,
                              lambda: cl.Model.from_fields(("x", "y"), [["y"]])),
    "degree 0": (cl.InvalidOptionError, lambda: cl.find_laws("custom", phi="u*v", degree=0)),
    "mode bogus": (cl.InvalidOptionError,
                   lambda: cl.count("linear", widths=(2, 2), mode="bogus")),
}


@pytest.mark.parametrize("case", list(BAD_CALLS), ids=list(BAD_CALLS))
def test_bad_input_raises_the_documented_error(case: str) -> None:
    error, call = BAD_CALLS[case]
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, cl.ConslawsError)
    assert str(info.value), "the message names the problem"


def test_messages_name_the_problem() -> None:
    with pytest.raises(cl.InvalidModulusError, match="15"):
        cl.count("linear", widths=(2, 2), modulus=15)
    with pytest.raises(cl.UnknownNameError, match="nope"):
        cl.count("nope")
    with pytest.raises(cl.InvalidOptionError, match="--widths"):
        cl.count("linear", widths=(3, 0))
    with pytest.raises(cl.InvalidPointError, match="3 values"):
        cl.count("linear", widths=(2, 2), point=[1, 2, 3])


def test_good_points_are_accepted() -> None:
    # The same point as ints, Fractions, strings: same result, no error.
    model = cl.Model.from_phi(("u", "v1", "v2"), ["u*v1", "u*v2"])
    results = [cl.count(model, point=p) for p in
               ([1, 2, 3], [Fraction(1), Fraction(2), Fraction(3)], "1,2,3", "v2=3,v1=2,u=1")]
    assert {(r.laws, r.certified, tuple(r.point)) for r in results} == {(1, True, ("1", "2", "3"))}
