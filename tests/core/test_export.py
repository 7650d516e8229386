"""Exports to Sage, Mathematica, Maple, LaTeX and HTML (conslaws.core.frontends.export).

Each system's output is read back by a parser that is not the printer that
wrote it: sympy's Mathematica parser, the project's own formula parser (for
plain polynomials) or sympy's Python-syntax parser (laws with ``exp``), with
the names renamed back by the rule that the output's comment line states.
Those sympy parsers are used here only, on text the library printed: the
library never parses text with them.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
import sympy
from sympy.parsing.mathematica import parse_mathematica
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

import conslaws.core as cl
from conslaws.core.algebra.parsing import parse_formula
from conslaws.core.errors import ConslawsError, InvalidExpressionError, InvalidOptionError
from conslaws.core.frontends.export import (
    FORMATS,
    exported_names,
    html_law,
    html_name,
    latex_law,
    latex_name,
    to_format,
)
from conslaws.core.frontends.results import LawsResult

T = sympy.Symbol("t")


@pytest.fixture(scope="module")
def linear() -> LawsResult:
    return cl.find_laws("linear", 2, widths="2,3,2", seed=1)


@pytest.fixture(scope="module")
def momentum() -> LawsResult:
    return cl.find_laws("linear", 3, widths="2,2,2", flow="momentum",
                        flow_options={"tau": "1"}, seed=1)


def _body(text: str, comment: str) -> list[str]:
    lines = text.split("\n")
    assert lines[0].startswith(comment)
    assert not any(line.startswith(comment) for line in lines[1:])
    return lines[1:]


def _same(a: sympy.Expr, b: sympy.Expr) -> bool:
    return bool(sympy.expand(a - b) == 0)


def _from_x(expr: sympy.Expr) -> sympy.Expr:
    """The rule stated in Mathematica's comment line, read backwards: every x is a _."""
    return expr.xreplace({s: sympy.Symbol(s.name.replace("x", "_")) for s in expr.free_symbols})


# ------------------------------------------------------------------ the laws used

def _rank(laws: list[sympy.Expr], gens: list[sympy.Symbol]) -> int:
    polys = [sympy.Poly(h, *gens) for h in laws]
    monomials = sorted({m for p in polys for m in p.monoms()})
    return int(sympy.Matrix([[p.coeff_monomial(m) for m in monomials] for p in polys]).rank())


def test_the_results_used_here(linear: LawsResult, momentum: LawsResult) -> None:
    # Hand derivation (gradient flow): the entries of W1 W1^T - W2^T W2 are conserved,
    # 6 for a 3x3 symmetric matrix.
    w1 = sympy.Matrix(3, 2, lambda i, j: sympy.Symbol(f"W1_{i + 1}_{j + 1}"))
    w2 = sympy.Matrix(2, 3, lambda i, j: sympy.Symbol(f"W2_{i + 1}_{j + 1}"))
    balance = list((w1 * w1.T - w2.T * w2)[:])
    gens = [*w1, *w2]
    assert _rank(linear.laws, gens) == 6 == _rank([*linear.laws, *balance], gens)
    # Heavy ball, tau = 1: Noether's charge of W1 -> e^{sA} W1, W2 -> W2 e^{-sA}
    # (A antisymmetric) is e^t tr(A (W1 W1'^T - W2'^T W2)): the antisymmetric part
    # of that matrix, one entry for 2 hidden units.
    u1 = sympy.Matrix(2, 2, lambda i, j: sympy.Symbol(f"W1_{i + 1}_{j + 1}"))
    u2 = sympy.Matrix(2, 2, lambda i, j: sympy.Symbol(f"W2_{i + 1}_{j + 1}"))
    d1 = u1.applyfunc(lambda w: sympy.Symbol(f"{w}_dot"))
    d2 = u2.applyfunc(lambda w: sympy.Symbol(f"{w}_dot"))
    hand = sympy.exp(T) * (u1 * d1.T - d1 * u1.T - d2.T * u2 + u2.T * d2)[1, 0]
    (law,) = momentum.laws
    ratio = sympy.simplify(law / hand)
    assert ratio.is_number and ratio != 0


# ------------------------------------------------------------------ Mathematica

def test_mathematica_reads_back_the_laws(linear: LawsResult, momentum: LawsResult) -> None:
    for result in (linear, momentum):
        text = result.to_mathematica()
        assert text == to_format(result, "mathematica")
        header, *lines = text.split("\n")
        assert header.startswith("(* ") and header.endswith(" *)")
        assert "every _ of a name is written x" in header and "except" not in header
        assert len(lines) == len(result.laws)
        for line, law in zip(lines, result.laws, strict=True):
            assert "_" not in line and "**" not in line
            assert _same(_from_x(parse_mathematica(line)), law)
    assert "Exp[t]" in momentum.to_mathematica()


def test_mathematica_names_avoid_builtins_and_clashes() -> None:
    n, d, a_b, axb = sympy.symbols("N D a_b axb")
    text = to_format([n * d + a_b - axb], "mathematica")
    header, line = text.split("\n")
    names = re.findall(r"[A-Za-z][A-Za-z0-9]*", line)
    assert len(names) == len(set(names)) == 4
    assert not {"N", "D"} & set(names)
    # The comment line lists every name the rule does not give back.
    table = dict(re.findall(r"(\w+) is (\w+)", header.split("except:")[1]))
    back = parse_mathematica(line).xreplace(
        {s: sympy.Symbol(table.get(s.name, s.name.replace("x", "_")))
         for s in parse_mathematica(line).free_symbols})
    assert _same(back, n * d + a_b - axb)
    assert exported_names(["θ1"], "mathematica") == {"θ1": "\\:03b81"}  # θ is U+03B8


def test_mathematica_comment_cannot_be_closed_early() -> None:
    result = LawsResult(model="custom *) Print[1] (*", architecture="custom", flow="gradient",
                        degree=2, parameters=2, parameter_names=("u", "v"),
                        laws=[sympy.Symbol("u") ** 2 - sympy.Symbol("v") ** 2], independent=1,
                        independent_indices=[0], complete=True, lie_dimension=1,
                        laws_upper_bound=1, backend="modular", seed=1, seconds=0.0)
    header = result.to_mathematica().split("\n")[0]
    assert header.count("*)") == 1 and header.endswith("*)") and header.count("(*") == 1


# ------------------------------------------------------------------ Maple and Sage

@pytest.mark.parametrize("fmt", ["maple", "sage"])
def test_polynomial_laws_read_back_with_the_project_parser(linear: LawsResult,
                                                           fmt: str) -> None:
    text = getattr(linear, f"to_{fmt}")()
    assert text == to_format(linear, fmt)
    lines = _body(text, "#")
    assert text.split("\n")[0].endswith("names: as in conslaws")
    assert len(lines) == len(linear.laws)
    for line, law in zip(lines, linear.laws, strict=True):
        assert ("**" not in line) if fmt == "maple" else ("^" not in line)
        assert _same(parse_formula(line).to_sympy(), law)


@pytest.mark.parametrize("fmt", ["maple", "sage"])
def test_laws_with_exp_read_back(momentum: LawsResult, fmt: str) -> None:
    (line,) = _body(to_format(momentum, fmt), "#")
    assert "exp(t)" in line
    local = {n: sympy.Symbol(n) for n in (*momentum.parameter_names, "t")}
    local["exp"] = sympy.exp
    read = parse_expr(line, local_dict=local,
                      transformations=(*standard_transformations, convert_xor))
    assert _same(read, momentum.laws[0])


def test_maple_and_sage_rename_their_builtins() -> None:
    d, gamma, e, n, u = sympy.symbols("D gamma e n u")
    maple = to_format([d * gamma + u], "maple")
    assert maple.split("\n")[1] == "D_*gamma_ + u"
    assert "D_ is D" in maple and "gamma_ is gamma" in maple
    sage = to_format([e * n + u], "sage")
    assert sage.split("\n")[1] == "e_*n_ + u" and "e_ is e" in sage
    assert exported_names(["θ1"], "maple") == {"θ1": "`θ1`"}


def test_count_results_export_their_verified_laws() -> None:
    count = cl.count("linear", widths="2,2,2", seed=1)
    assert count.certified and len(count.verified_laws) == 3
    for fmt, comment in (("sage", "#"), ("maple", "#")):
        lines = _body(getattr(count, f"to_{fmt}")(), comment)
        assert [parse_formula(line).to_sympy() for line in lines] == count.verified_laws
    lines = count.to_mathematica().split("\n")[1:]
    assert all(_same(_from_x(parse_mathematica(a)), b)
               for a, b in zip(lines, count.verified_laws, strict=True))


# ------------------------------------------------------------------ text, json, latex

def test_text_json_and_latex_formats(linear: LawsResult) -> None:
    assert to_format(linear, "text") == str(linear)
    assert json.loads(to_format(linear, "json")) == linear.to_dict()
    assert to_format(linear, "latex") == linear.to_latex()
    u, v = sympy.symbols("u v")
    assert to_format([u * v, "u^2 - v^2"], "text") == "u*v\nu**2 - v**2"
    assert json.loads(to_format([u * v], "json")) == ["u*v"]
    assert set(FORMATS) == {"text", "json", "latex", "sage", "mathematica", "maple"}


def test_latex_names_are_unambiguous() -> None:
    assert latex_name("W1_1_11") == "W^{(1)}_{1,11}"
    assert latex_name("W1_11_1") == "W^{(1)}_{11,1}"
    assert latex_name("W1_2_1_dot") == "\\dot W^{(1)}_{2,1}"
    assert latex_name("b2_1") == "b^{(2)}_{1}"
    for name in ("u", "v1", "θ1", "t"):
        assert latex_name(name) == sympy.latex(sympy.Symbol(name))
    # sympy alone cannot tell these apart; the names here can.
    a, b = sympy.Symbol("W1_1_11"), sympy.Symbol("W1_11_1")
    assert sympy.latex(a) == "W_{1 1 11}" and latex_law(a) != latex_law(b)
    assert latex_law(a**2) == "\\left(W^{(1)}_{1,11}\\right)^{2}"


def test_latex_of_results(momentum: LawsResult) -> None:
    latex = momentum.to_latex()
    assert latex.startswith("\\begin{aligned}") and latex.endswith("\\end{aligned}")
    assert "\\dot W^{(1)}_{2,1}" in latex and "e^{t}" in latex and "_dot" not in latex
    rendered = momentum._repr_latex_()
    assert rendered.startswith("$$") and rendered.endswith("$$") and latex in rendered
    count = cl.count("linear", widths="2,2,2", seed=1)
    shown = count._repr_latex_()
    assert shown.startswith("$$") and "W^{(1)}_{1,1}" in shown and "certified" in shown


# ------------------------------------------------------------------ HTML

class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parsed(page: str) -> _Tags:
    tags = _Tags()
    tags.feed(page)
    return tags


def test_html_of_laws(linear: LawsResult, momentum: LawsResult) -> None:
    page = linear._repr_html_()
    assert "6 laws, complete" in page and "$" not in page and "\\(" not in page
    assert "mathjax_ignore" in page and "tex2jax_ignore" in page
    assert _parsed(page).tags <= {"div", "p", "b", "table", "tr", "th", "td", "sub", "sup",
                                  "br", "small"}
    assert "W<sup>(1)</sup><sub>3,1</sub>" in page
    text = "".join(_parsed(momentum._repr_html_()).text)
    assert "W\u0307(1)1,1" in text and "et" in text  # dotted W, then e^t
    none = cl.find_laws("linear", 1, widths="2,3,2", seed=1)
    assert not none.laws and "0 laws found, not all" in none._repr_html_()


def test_html_escapes_everything() -> None:
    odd = sympy.Symbol("a<b>&$")
    result = LawsResult(model="custom <b>&$x$", architecture="custom", flow="gradient",
                        degree=2, parameters=2, parameter_names=("a<b>&$", "v"),
                        laws=[odd**2 - sympy.Symbol("v")], independent=1,
                        independent_indices=[0], complete=False, lie_dimension=1,
                        laws_upper_bound=2, backend="modular", seed=None, seconds=0.0)
    page = result._repr_html_()
    assert "1 law found, not all" in page
    assert "<b>&" not in page and "$" not in page
    assert "custom &lt;b&gt;&amp;&#36;x&#36;" in page
    assert "a&lt;b&gt;&amp;&#36;" in html_law(odd)
    assert _parsed(page).tags <= {"div", "p", "b", "table", "tr", "th", "td", "sub", "sup",
                                  "br", "small"}


def test_html_of_a_count_shows_its_laws() -> None:
    count = cl.count("linear", widths="2,2,2", seed=1)
    page = count._repr_html_()
    assert "3 conservation laws, certified" in page and "<table>" in page and "$" not in page
    for law in count.verified_laws:
        assert html_law(law) in page
    assert html_name("W2_2_1") == "W<sup>(2)</sup><sub>2,1</sub>"
    assert html_name("u_dot") == "u\u0307" and html_name("v1") == "v<sub>1</sub>"


# ------------------------------------------------------------------ bad input

def test_bad_input_raises_one_clear_error(linear: LawsResult) -> None:
    with pytest.raises(InvalidOptionError, match="fmt must be one of"):
        to_format(linear, "xml")
    with pytest.raises(InvalidOptionError, match="result_or_laws"):
        to_format("u*v", "sage")
    with pytest.raises(InvalidExpressionError, match="result_or_laws"):
        to_format([object()], "sage")
    with pytest.raises(ConslawsError):
        to_format(["__import__('os').system('true')"], "mathematica")
    with pytest.raises(InvalidOptionError, match="fmt"):
        exported_names(["u"], "latex")


def test_cli_format_option(capsys: pytest.CaptureFixture[str]) -> None:
    from cli_runner import run_cli

    status, out, _ = run_cli(["laws", "linear", "--widths", "2,3,2", "--degree", "2", "--seed",
                              "1", "--format", "mathematica"], capsys)
    lines = out.strip().splitlines()
    # 6 laws: the entries of the symmetric 3x3 matrix W1 W1^T - W2^T W2 (by hand).
    assert status == 0 and lines[0].startswith("(* ") and len(lines) == 7
    assert not any("_" in line for line in lines[1:])
    status, _, err = run_cli(["laws", "linear", "--widths", "2,2,2", "--degree", "2",
                              "--json", "--format", "sage"], capsys)
    assert status == 2 and len(err.strip().splitlines()) == 1
