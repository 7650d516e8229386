"""Result objects: JSON round trips and the text, LaTeX and HTML renderings.

Results are built by hand here (values chosen in the test) as well as by the
API, so the renderings are checked against what was put in.
"""

from __future__ import annotations

import json
from typing import Any

import sympy

import conslaws.core as cl
from conslaws.core.frontends.results import CountResult, LawsResult

U, V1, V2 = sympy.symbols("u v1 v2")


def _count_result(**changes: Any) -> CountResult:
    values: dict[str, Any] = dict(
        architecture="custom",
        model="custom phi=u*v1; u*v2",
        flow="gradient",
        parameters=3,
        parameter_names=("u", "v1", "v2"),
        trace_dimensions=[2, 2],
        lie_dimension=2,
        laws=1,
        certified=True,
        laws_lower_bound=1,
        laws_upper_bound=1,
        backend="modular",
        backend_details={"backend": "modular", "exact": True, "modulus": 101},
        seed=7,
        seconds=0.125,
        statement="A statement.",
        point=["1", "2", "3/2"],
        verified_laws=[U**2 - V1**2 - V2**2],
        verified_degree=2,
        timings={"closure": 0.5},
    )
    values.update(changes)
    return CountResult(**values)


def _laws_result(**changes: Any) -> LawsResult:
    values: dict[str, Any] = dict(
        model="custom phi=u*v1; u*v2",
        architecture="custom",
        flow="gradient",
        degree=2,
        parameters=3,
        parameter_names=("u", "v1", "v2"),
        laws=[U**2 - V1**2 - V2**2, (U**2 - V1**2) * V2],
        independent=1,
        independent_indices=[0],
        complete=False,
        lie_dimension=1,
        laws_upper_bound=2,
        backend="modular",
        seed=None,
        seconds=0.5,
    )
    values.update(changes)
    return LawsResult(**values)


def test_count_result_dict_and_json_round_trip() -> None:
    result = _count_result()
    document = result.to_dict()
    assert json.loads(result.to_json()) == document
    assert json.loads(result.to_json(indent=None)) == document
    assert "\n" not in result.to_json(indent=None)
    assert document["parameter_names"] == ["u", "v1", "v2"]
    assert document["trace_dimensions"] == [2, 2]
    assert (document["laws"], document["certified"], document["seed"]) == (1, True, 7)
    assert (document["laws_lower_bound"], document["laws_upper_bound"]) == (1, 1)
    assert document["verified_laws"] == ["u**2 - v1**2 - v2**2"]
    assert document["seconds"] == 0.125
    assert document["point"] == ["1", "2", "3/2"]


def test_count_result_renderings() -> None:
    result = _count_result()
    text = str(result)
    assert "D = 3" in text and "1 conservation law" in text and "[certified]" in text
    assert "A statement." in text
    assert "seed 7" in text
    latex = result.to_latex()
    assert latex.startswith("\\begin{tabular}") and latex.rstrip().endswith("\\end{tabular}")
    assert "not certified" not in latex
    page = result._repr_html_()
    assert isinstance(page, str) and "<table>" in page and "certified" in page
    assert "CountResult" in repr(result) and "laws=1" in repr(result)


def test_uncertified_count_result_renderings() -> None:
    result = _count_result(model="custom <b>&", laws=2, certified=False, laws_lower_bound=1,
                           laws_upper_bound=2, lie_dimension=1, trace_dimensions=[1, 1],
                           seed=None)
    text = str(result)
    assert "2 conservation laws" in text
    assert "not certified: between 1 and 2" in text
    assert "given point" in text
    assert "(not certified)" in result.to_latex()
    page = result._repr_html_()
    assert "custom &lt;b&gt;&amp;" in page and "<b>&" not in page
    assert json.loads(result.to_json())["seed"] is None


def test_laws_result_dict_json_and_renderings() -> None:
    result = _laws_result()
    document = result.to_dict()
    assert json.loads(result.to_json()) == document
    assert document["laws"] == [str(h) for h in result.laws]
    for text, law in zip(document["laws"], result.laws, strict=True):
        local = {n: sympy.Symbol(n) for n in result.parameter_names}
        assert sympy.expand(sympy.sympify(text, locals=local) - law) == 0
    assert (document["degree"], document["independent"], document["complete"]) == (2, 1, False)
    text = str(result)
    for law in result.laws:
        assert str(law) in text
    assert "complete: no" in text
    assert "h1* = u**2 - v1**2 - v2**2" in text
    latex = result.to_latex()
    assert latex.startswith("\\begin{aligned}") and "\\end{aligned}" in latex
    assert sympy.latex(result.laws[0]) in latex
    rendered = result._repr_latex_()
    assert isinstance(rendered, str) and rendered.startswith("$$") and "\\begin" in rendered
    assert result.symbols == (U, V1, V2)


def test_empty_laws_result() -> None:
    result = _laws_result(laws=[], independent=0, independent_indices=[])
    assert json.loads(result.to_json())["laws"] == []
    assert "0 polynomial laws" in str(result)
    assert isinstance(result._repr_latex_(), str)


def test_results_from_the_api_round_trip() -> None:
    count = cl.count("linear", widths=(2, 2, 1), seed=4)
    assert json.loads(count.to_json()) == count.to_dict()
    assert "\\begin" in count.to_latex()
    assert isinstance(count._repr_html_(), str)
    assert "certified" in str(count)
    laws = cl.find_laws("linear", widths=(2, 2, 1), degree=2, seed=4)
    document = json.loads(laws.to_json())
    assert document == laws.to_dict()
    assert len(document["laws"]) == 3  # entries of the 2x2 symmetric W1 W1^T - W2^T W2
    for h in laws.laws:
        assert str(h) in str(laws)
        assert cl.is_conserved(cl.build_model("linear", widths=(2, 2, 1)), h)
    assert "\\begin" in laws.to_latex()
    assert isinstance(laws._repr_latex_(), str)
