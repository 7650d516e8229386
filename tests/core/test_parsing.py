"""Tests of conslaws.core.algebra.parsing: the formula parser that runs nothing."""

from __future__ import annotations

import ast
import builtins
import doctest
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conslaws.core.algebra import parsing
from conslaws.core.algebra.parsing import (
    MAX_DIGITS,
    MAX_LENGTH,
    Formula,
    parse_formula,
    parse_name,
    parse_rational,
    split_formulas,
)
from conslaws.core.errors import (
    ConslawsError,
    InvalidExpressionError,
    InvalidOptionError,
    InvalidPointError,
)

x, y, z, u, v1, v2 = (sympy.Symbol(n) for n in ("x", "y", "z", "u", "v1", "v2"))


def refused(text: Any, **kwargs: Any) -> str:
    """The message of the InvalidExpressionError that parse_formula(text) raises; one line."""
    start = time.perf_counter()
    with pytest.raises(InvalidExpressionError) as info:
        parse_formula(text, **kwargs)
    assert time.perf_counter() - start < 1.0, "refusing must be quick"
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message, message
    error = info.value  # no chained SyntaxError etc. to show in a traceback
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    return message


# --- nothing runs -------------------------------------------------------------------------

INJECTIONS = [
    "x*y + 0*__import__('os').system('touch {p}')",
    "__import__('pathlib').Path('{p}').touch()",
    "eval(\"__import__('pathlib').Path('{p}').touch()\")",
    "exec(\"open('{p}', 'w')\")",
    "(lambda: open('{p}', 'w'))()",
    "getattr(__import__('pathlib').Path('{p}'), 'touch')()",
    "x.__class__.__base__.__subclasses__()",
    "[open('{p}', 'w') for _ in '1']",
    "{{open('{p}', 'w') for _ in '1'}}",
    "list(open('{p}', 'w') for _ in '1')",
    "(y := open('{p}', 'w'))",
    "x + (y := open('{p}', 'w'))*0",
    "x if open('{p}', 'w') else y",
    "x and open('{p}', 'w')",
    "x < open('{p}', 'w')",
    "x[open('{p}', 'w')]",
    "x, open('{p}', 'w')",
    "f'{{open(\"{p}\", \"w\")}}'",
    "x; open('{p}', 'w')",
    "x\nopen('{p}', 'w')",
    "open('{p}', 'w') # x",
    "__builtins__",
    "__import__",
    "ｅｖａｌ(\"open('{p}', 'w')\")",
    "ｅｖａｌ(\"__import__('pathlib').Path('{p}').touch()\")",
    "__ｉｍｐｏｒｔ__('os').system('touch {p}')",
    "ｏｐｅｎ('{p}', 'w')",
    "x*ｅｘｅｃ(\"open('{p}', 'w')\")",
    "+".join(["x"] * 1000) + " + __import__('os').system('touch {p}')",
    "+".join(["x"] * 1000) + " + ｏｐｅｎ('{p}', 'w')",
    "(" + "*".join(["y"] * 500) + ")*open('{p}', 'w')",
]


def no_eval(*args: object, **kwargs: object) -> None:
    raise AssertionError("the parser called eval, exec or a sympy string parser")


@pytest.mark.parametrize("template", INJECTIONS)
def test_injections_are_refused_and_nothing_runs(template: str, tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    text = template.format(p=target)
    with mock.patch.object(builtins, "eval", no_eval), \
            mock.patch.object(builtins, "exec", no_eval), \
            mock.patch.object(sympy, "sympify", no_eval), \
            mock.patch("sympy.parsing.sympy_parser.parse_expr", no_eval):
        refused(text)
        refused(text, what="phi component")
    assert not target.exists()
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("template", [t for t in INJECTIONS if "touch" in t and "+x" not in t])
def test_the_injections_are_real(template: str, tmp_path: Path) -> None:
    """Calibration: Python itself runs these strings (NFKC makes ｅｖａｌ into eval)."""
    target = tmp_path / "pwned"
    eval(template.format(p=target), {"x": 1, "y": 1})  # our own string, to show the danger
    assert target.exists()


def test_module_never_calls_eval_and_imports_only_the_standard_library() -> None:
    source = Path(parsing.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"eval", "exec", "compile", "__import__"}, ast.unparse(node)
        if isinstance(node, ast.Attribute):
            assert node.attr not in {"sympify", "parse_expr", "eval", "exec"}, ast.unparse(node)
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                       else [node.module])
            for module in modules:
                assert module is not None
                assert (module.split(".")[0] in sys.stdlib_module_names
                        or module in ("__future__", "conslaws.core.errors")), module


def test_doctests() -> None:
    result = doctest.testmod(parsing, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 10 and result.failed == 0


# --- messages -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("os.system('ls')", 'function call in formula "os.system('),
    ("os.system", 'attribute access in formula "os.system"'),
    ("x.y", "attribute access"),
    ("f(x)", 'function call in formula "f(x)"'),
    ("x, y", "tuple"),
    ("(x, y)", "tuple"),
    ("[x]", "list"),
    ("{x: 1}", "dict"),
    ("{x}", "set"),
    ("x[0]", "indexing"),
    ("lambda: 1", "lambda"),
    ("lambda*x", "'lambda' is a reserved word of Python; rename the parameter"),
    ("x*if", "'if' is a reserved word"),
    ("None*x", "None"),
    ("True + x", "True"),
    ("x == y", "comparison"),
    ("x < y < z", "comparison"),
    ("x or y", "and/or"),
    ("not x", "not"),
    ("~x", "~"),
    ("x % 2", "%"),
    ("x // 2", "//"),
    ("x @ y", "@"),
    ("x | y", "|"),
    ("x & y", "&"),
    ("x << 2", "<<"),
    ("'x'", "string"),
    ("b'x'", "bytes"),
    ("1j*x", "imaginary"),
    ("...", "..."),
    ("f'{x}'", "f-string"),
    ("(y := 2)", ":="),
    ("x if y else z", "conditional"),
    ("[x for x in y]", "comprehension"),
    ("(x for x in y)", "generator"),
    ("*x", "cannot parse"),
    ("x; y", "cannot parse"),
    ("x +", "cannot parse"),
    ("(x", "never closed"),
    ("x)", "unmatched"),
    ("2x", "cannot parse"),
    ("x $ y", "cannot parse"),
    ("x\0", "cannot parse"),
    ("__x + y", "starts with '__'"),
    ("x__ + __y__", "__y__"),
    ("0x1F", "decimal"),
    ("0b11*x", "decimal"),
    ("1_000*x", "decimal"),
    ("x # comment", "#"),
    ("x/0", "division by zero"),
    ("x/(2 - 2*1)", "division by zero"),
    ("x**y", "non-constant exponent"),
    ("x^y", 'non-constant exponent in formula "x**y"'),
    ("x**-1", "exponent -1"),
    ("x**(1/2)", "exponent 1/2"),
    ("x**0.5", "exponent 1/2"),
    ("x**10001", "limit is 10000"),
    ("x**(10**10)", "huge exponent"),
    ("10**(10**10)", "huge exponent"),
    ("2**(2**40)", "huge exponent"),
    ("2**100000", "limit is 10000"),
    ("(2**20)**10000", "limit is 100000 bits"),
    ("(10**100)**10000", "bits"),
    ("(" + "+".join(["1"] * 25) + ")**10000 + 10**4000 * 10**4000 / 7**20000", "exponent"),
    ("((2**100)**100)**100", "bits"),
    ("ｘ + 1", "'ｘ' (U+FF58), which Python would read as 'x'"),
    ("x\u00a0+ y", "U+00A0"),
    ("x" * 201, "longer than 200"),
    ("", "empty"),
    ("  \n ", "empty"),
])
def test_messages(text: str, expected: str) -> None:
    assert expected in refused(text)
    with mock.patch.object(parsing, "_CHUNK", 2):  # the block-by-block path refuses it too
        refused(text)


def test_message_names_what_and_quotes_a_short_excerpt() -> None:
    message = refused("u*v + 2*os.system('" + "a" * 500 + "')", what="phi component")
    assert message.startswith('cannot use a function call in phi component "os.system(')
    assert message.endswith("only numbers, names, + - * / ** ^ and parentheses are allowed")
    assert len(message) < 200


@pytest.mark.parametrize("value", [b"x*y", None, 3, ["x"], sympy.Symbol("x")])
def test_only_text_is_parsed(value: Any) -> None:
    assert "must be text" in refused(value)


# --- correct parsing ----------------------------------------------------------------------

PLAIN = {n: sympy.Symbol(n) for n in ("E", "I", "S", "N", "Q", "O", "beta")}
θ1, θ2 = sympy.Symbol("θ1"), sympy.Symbol("θ2")


@pytest.mark.parametrize(("text", "expected"), [
    ("u*v1 - 2*v2^3 + 1/2", u * v1 - 2 * v2**3 + sympy.Rational(1, 2)),
    ("-(x+y)**2", -((x + y) ** 2)),
    ("0.5*x + 1e-2", x / 2 + sympy.Rational(1, 100)),
    ("0.1 + 0.2", sympy.Rational(3, 10)),
    ("2.5e3 + .5 + 1. + 1E+2 + 0e999999", sympy.Rational(5203, 2)),
    ("-x**2", -(x**2)),
    ("(-x)**2", x**2),
    ("2**3**2", sympy.Integer(512)),
    ("2^3^2", sympy.Integer(512)),
    ("x/2/3", x / 6),
    ("x/(2/3)", 3 * x / 2),
    ("2*x^2 + 1", 2 * x**2 + 1),
    ("x^2*y", x**2 * y),
    ("-x^2", -(x**2)),
    ("x**2**0", x),
    ("x**(2*3) + x**(4/2) + x**0", x**6 + x**2 + 1),
    ("(x**2)**3", x**6),
    ("θ1*θ2", θ1 * θ2),
    ("E*I + S*N", PLAIN["E"] * PLAIN["I"] + PLAIN["S"] * PLAIN["N"]),
    ("beta*Q - O", PLAIN["beta"] * PLAIN["Q"] - PLAIN["O"]),
    ("+x - -y + --z", x + y + z),
    ("x - (y - z)", x - y + z),
    ("x - y*z/2", x - y * z / 2),
    ("x*-y", -x * y),
    ("x +\n y\t*\r2", x + 2 * y),
    ("((((x))))", x),
    ("10**4000 - 10**4000", sympy.Integer(0)),
    ("7", sympy.Integer(7)),
])
def test_to_sympy(text: str, expected: sympy.Expr) -> None:
    result = parse_formula(text).to_sympy()
    assert result == expected
    assert not result.atoms(sympy.Float)


def test_symbols_are_plain_unless_given() -> None:
    expr = parse_formula("E*I + S*N + x").to_sympy()
    assert expr.free_symbols == {PLAIN["E"], PLAIN["I"], PLAIN["S"], PLAIN["N"], x}
    assert all(s.assumptions0 == sympy.Symbol("q").assumptions0 for s in expr.free_symbols)
    positive = sympy.Symbol("x", positive=True)
    given_expr = parse_formula("x**2 + y").to_sympy({"x": positive})
    assert given_expr == positive**2 + y and given_expr.free_symbols == {positive, y}


@pytest.mark.parametrize(("text", "canonical"), [
    ("u*v1 - 2*v2^3 + 1/2", "u*v1 - 2*v2**3 + 1/2"),
    ("-(x+y)**2", "-(x + y)**2"),
    ("0.5*x+1e-2", "0.5*x + 0.01"),
    ("x-(y*z)", "x - y*z"),
    ("x-(y+z)", "x - (y + z)"),
    ("x+(y+z)", "x + (y + z)"),
    ("(x+y)+z", "x + y + z"),
    ("x*(y*z)", "x*(y*z)"),
    ("x*(y/z)", "x*(y/z)"),
    ("x/(y*z)", "x/(y*z)"),
    ("x/y*z", "x/y*z"),
    ("x*-y", "x*-y"),
    ("--x", "--x"),
    ("x - -y", "x - -y"),
    ("-(x*y)", "-(x*y)"),
    ("-x*y", "-x*y"),
    ("(-x)^2", "(-x)**2"),
    ("(x^2)^3", "(x**2)**3"),
    ("+x", "x"),
    ("1e-3 * 2.50", "0.001*2.5"),
])
def test_str_is_canonical(text: str, canonical: str) -> None:
    formula = parse_formula(text)
    assert str(formula) == canonical
    assert repr(formula) == f"parse_formula({canonical!r})"
    again = parse_formula(str(formula))
    assert again == formula and hash(again) == hash(formula) and str(again) == canonical


def test_names_in_order_of_first_appearance() -> None:
    assert parse_formula("b*a + c - a*b^2 + (d/b)").names == ("b", "a", "c", "d")
    assert parse_formula("1 + 2").names == ()


def test_formula_is_immutable() -> None:
    formula = parse_formula("x + y")
    with pytest.raises(AttributeError):
        setattr(formula, "_root", None)  # noqa: B010
    with pytest.raises(AttributeError):
        delattr(formula, "_names")
    assert formula != "x + y" and formula == parse_formula("x+y")
    assert isinstance(formula, Formula)


class Exact:
    """A FormulaAlgebra: the value at a point, exactly."""

    def __init__(self, point: dict[str, Fraction]) -> None:
        self.point = point

    def number(self, value: Fraction) -> Fraction:
        return value

    def name(self, name: str) -> Fraction:
        return self.point[name]

    def add(self, items: list[Fraction]) -> Fraction:
        return sum(items, Fraction(0))

    def mul(self, items: list[Fraction]) -> Fraction:
        result = Fraction(1)
        for item in items:
            result *= item
        return result

    def neg(self, x: Fraction) -> Fraction:
        return -x

    def div(self, x: Fraction, y: Fraction) -> Fraction:
        return x / y

    def power(self, x: Fraction, exponent: int) -> Fraction:
        return x**exponent


def test_evaluate_with_an_algebra() -> None:
    point = {"x": Fraction(1, 2), "y": Fraction(3)}
    assert parse_formula("x^2*y - y/4 + 0.25").evaluate(Exact(point)) == Fraction(1, 4)
    deep = parse_formula("-" * 998 + "x")  # depth 999: evaluated without recursion
    assert deep.evaluate(Exact(point)) == Fraction(1, 2)
    assert parse_formula("x" + "/2" * 999).evaluate(Exact(point)) == Fraction(1, 2**1000)


# --- hypothesis: random trees, printed, parsed back ---------------------------------------

NAMES = ["x", "y", "z", "θ", "E", "beta"]
DECIMALS = [("0.5", sympy.Rational(1, 2)), ("2.25", sympy.Rational(9, 4)),
            ("3E2", sympy.Integer(300)), ("1e-2", sympy.Rational(1, 100)),
            (".125", sympy.Rational(1, 8))]
Tree = tuple[str, sympy.Expr]


def _binary(parts: tuple[Tree, str, Tree, str]) -> Tree:
    (a, ea), op, (b, eb), space = parts
    text = f"({a}){space}{op}{space}({b})"
    return text, (ea + eb if op == "+" else ea - eb if op == "-" else ea * eb)


def _extend(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    return st.one_of(
        st.tuples(children, st.sampled_from("+-*"), children, st.sampled_from(["", " "])).map(
            _binary),
        st.tuples(children, st.integers(1, 9)).map(
            lambda c: (f"({c[0][0]})/{c[1]}", c[0][1] / c[1])),
        st.tuples(children, st.integers(0, 2), st.sampled_from(["**", "^"])).map(
            lambda c: (f"({c[0][0]}){c[2]}{c[1]}", c[0][1] ** c[1])),
        children.map(lambda c: (f"-({c[0]})", -c[1])),
        children.map(lambda c: (f"+({c[0]})", c[1])),
    )


LEAVES = st.one_of(
    st.sampled_from(NAMES).map(lambda n: (n, sympy.Symbol(n))),
    st.integers(0, 100).map(lambda i: (str(i), sympy.Integer(i))),
    st.sampled_from(DECIMALS),
)
TREES = st.recursive(LEAVES, _extend, max_leaves=12)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREES)
def test_random_trees_parse_back(tree: Tree) -> None:
    text, expected = tree
    formula = parse_formula(text)
    assert sympy.expand(formula.to_sympy() - expected) == 0
    assert parse_formula(str(formula)) == formula
    with mock.patch.object(parsing, "_CHUNK", 2):  # the block-by-block path gives the same tree
        assert str(parse_formula(text)) == str(formula)


OPERAND = st.tuples(st.sampled_from(["", "-", "+", "--"]), st.sampled_from(["x", "y", "z"]),
                    st.sampled_from(["", "**2", "^3", "**2**2", "^0"]))
CHAIN = st.tuples(st.lists(st.tuples(OPERAND, st.sampled_from(["+", "-", "*", "/"])), max_size=12),
                  OPERAND)


@settings(max_examples=200, deadline=None)
@given(CHAIN)
def test_precedence_is_pythons(chain: tuple[list[tuple[tuple[str, str, str], str]],
                                            tuple[str, str, str]]) -> None:
    pairs, last = chain
    text = "".join("".join(o) + f" {op} " for o, op in pairs) + "".join(last)
    symbols = {n: sympy.Symbol(n) for n in "xyz"}
    # The reference: Python's own precedence, on our own generated text of names only.
    expected = eval(text.replace("^", "**"), {"__builtins__": {}}, symbols)
    formula = parse_formula(text)
    assert sympy.expand(formula.to_sympy() - expected) == 0
    with mock.patch.object(parsing, "_CHUNK", 2):
        assert str(parse_formula(text)) == str(formula)


SOUP = st.lists(st.sampled_from(["x", "y", "2", "0.5", "1e-2", "(", ")", "(", ")", "+", "-", "*",
                                  "/", "**", "^", " ", "f", ",", "."]), min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(SOUP)
def test_blocks_and_whole_parse_agree_on_any_text(tokens: list[str]) -> None:
    """The block-by-block path accepts exactly what a whole parse accepts, with the same tree."""
    text = "".join(tokens)

    def result() -> str:
        try:
            return str(parse_formula(text))
        except InvalidExpressionError:
            return "refused"

    whole = result()
    for chunk in (1, 2, 3):
        with mock.patch.object(parsing, "_CHUNK", chunk):
            assert result() == whole


# --- limits -------------------------------------------------------------------------------

def test_long_sum_and_product() -> None:
    start = time.perf_counter()
    total = parse_formula(" + ".join(f"x{i}" for i in range(1, 20001)))
    product = parse_formula("*".join(f"x{i}" for i in range(1, 3001)))
    assert time.perf_counter() - start < 5
    assert len(total.names) == 20000 and total.names[-1] == "x20000"
    assert len(product.names) == 3000
    assert total.to_sympy() == sympy.Add(*sympy.symbols("x1:20001"))
    assert product.to_sympy() == sympy.Mul(*sympy.symbols("x1:3001"))


def test_long_chains_inside_parentheses_and_with_every_operator() -> None:
    n = 2000
    text = "u*(" + " - ".join(f"{i}*x{i}^2/3" for i in range(1, n + 1)) + ")/2 + (" + (
        "*".join(f"y{i}" for i in range(1, 1001))) + ")"
    xs, ys = sympy.symbols(f"x1:{n + 1}"), sympy.symbols("y1:1001")
    expected = u * sympy.Add(*[(1 if i == 1 else -1) * sympy.Rational(i, 3) * xs[i - 1] ** 2
                               for i in range(1, n + 1)]) / 2 + sympy.Mul(*ys)
    formula = parse_formula(text)
    assert formula.names == ("u", *map(str, xs), *map(str, ys))
    assert sympy.expand(formula.to_sympy() - expected) == 0
    assert parse_formula(str(formula)) == formula


def test_nesting() -> None:
    assert parse_formula("(" * 200 + "x" + ")" * 200).to_sympy() == x
    assert "nested" in refused("(" * 1000 + "x" + ")" * 1000)
    assert "nested" in refused("(" * 1000 + "+".join(["x"] * 300) + ")" * 1000)
    assert "deeper than 1000" in refused("-" * 1500 + "x")
    refused("-" * 5000 + "x")  # ast's own RecursionError/MemoryError
    refused("-" * 100000 + "x")
    refused("x" + "**1" * 5000)
    refused("x" + "/2" * 1000)


@pytest.mark.parametrize("text", [
    "x**(10**10)", "10**(10**10)", "2**(2**40)", "x**y", "x**-1", "x**(1/2)", "9" * 5000,
    "9" * 5000 + ".5", "0." + "0" * 5000 + "1", "1e999999999", "1e-999999999",
    "1e" + "9" * 100000, "x" * (MAX_LENGTH + 1), "x+" * 1000, "x**10**10**10",
    "(2**10000)**10000", "2**9999*3**(9999*2)",
])
def test_limits_are_refused_quickly(text: str) -> None:
    refused(text)


def test_large_but_allowed_numbers() -> None:
    assert parse_formula("9" * MAX_DIGITS).to_sympy() == sympy.Integer("9" * MAX_DIGITS)
    assert parse_formula("2**10000*x").to_sympy() == 2**10000 * x
    assert parse_formula("(" + "+".join(["1"] * 25) + ")**10000").to_sympy() == 25**10000
    assert parse_formula(f"1e-{MAX_DIGITS}").to_sympy() == sympy.Rational(1, 10**MAX_DIGITS)


# --- parse_rational, parse_name, split_formulas --------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("3", Fraction(3)), ("-1/3", Fraction(-1, 3)), (" 3/2 ", Fraction(3, 2)),
    ("0.25", Fraction(1, 4)), ("+4", Fraction(4)), ("2.5e-3", Fraction(1, 400)),
    ("1e3", Fraction(1000)), ("-0.5/2", Fraction(-1, 4)), ("3 / 4", Fraction(3, 4)),
    ("0", Fraction(0)), ("-0", Fraction(0)), (7, Fraction(7)), (Fraction(1, 3), Fraction(1, 3)),
    ("9" * MAX_DIGITS, Fraction(int("9" * MAX_DIGITS))),
])
def test_parse_rational(value: Any, expected: Fraction) -> None:
    result = parse_rational(value, what="--tau")
    assert result == expected and type(result) is Fraction


@pytest.mark.parametrize("value", [
    "nan", "inf", "-inf", "Infinity", "1e999999999", "", "  ", "abc", "1/0", "1/", "/2", "1//2",
    "--1", "+-1", "1.2.3", "0x10", "1_000", "½", "٣", "3/-2", "1/2/3", "x", "1 2", "9" * 4001,
    True, False, 0.5, None, b"1", pytest.param(10**5000, id="10**5000"), "1" * 100000,
])
def test_parse_rational_refuses(value: Any) -> None:
    with pytest.raises(InvalidExpressionError) as info:
        parse_rational(value, what="--tau")
    assert str(info.value).startswith("--tau") and "\n" not in str(info.value)


@pytest.mark.parametrize("error", [InvalidOptionError, InvalidPointError])
def test_parse_rational_raises_the_given_error(error: type[ConslawsError]) -> None:
    with pytest.raises(error):
        parse_rational("nan", what="--decay", error=error)
    with pytest.raises(error):
        parse_rational(True, what="--decay", error=error)


@pytest.mark.parametrize("name", ["u", "θ1", "_x", "v_1", "match", "E", "x" * 200])
def test_parse_name(name: str) -> None:
    assert parse_name(name) == name
    assert parse_name(f"  {name} ") == name


@pytest.mark.parametrize("name", [
    "lambda", "None", "True", "if", "__x", "__import__", "1x", "x y", "", "x" * 201,
    "ｅｖａｌ", "x.y", "x+y", "x-1", b"x", 3, None,
])
def test_parse_name_refuses(name: Any) -> None:
    with pytest.raises(InvalidExpressionError) as info:
        parse_name(name, what="--names")
    assert str(info.value).startswith("--names") and "\n" not in str(info.value)


def test_parse_name_messages() -> None:
    with pytest.raises(InvalidExpressionError, match="reserved word of Python; rename"):
        parse_name("lambda")
    with pytest.raises(InvalidExpressionError, match="U\\+FF45"):
        parse_name("ｅｖａｌ")


def test_split_formulas() -> None:
    assert split_formulas("u*v1; u*v2") == ["u*v1", "u*v2"]
    assert split_formulas("x") == ["x"]
    assert split_formulas("a, b", ",") == ["a", "b"]
    for text in ("u*v1;;u*v2", "u*v1;", ";x", "", "  "):
        with pytest.raises(InvalidExpressionError, match="is empty"):
            split_formulas(text, what="--phi")
    with pytest.raises(InvalidExpressionError):
        split_formulas(b"x")  # type: ignore[arg-type]
