"""Laws rendered for another system: Mathematica, Maple, Sage, LaTeX and HTML.

:func:`to_format` turns a :class:`~conslaws.core.frontends.results.LawsResult`, a
:class:`~conslaws.core.frontends.results.CountResult` (its verified laws) or a list of
laws into text another program reads.  For Sage, Mathematica and Maple the
output is one comment line, then one law per line, printed by sympy's own
printers after the parameters are renamed to names that are safe there:

* Mathematica: ``_`` is pattern syntax, so every ``_`` of a name is written
  ``x`` (``W1_2_3`` is ``W1x2x3``, the velocity ``W1_2_3_dot`` is ``W1x2x3xdot``);
  other letters as ``\\:03b8``.  Read the file with ``ReadList["laws.m"]``.
* Maple: names as they are (``_`` is a letter there), other letters in
  backquotes.  Read each line with ``parse``.
* Sage: names as they are.  Read each line with ``SR(line)``, or declare the
  names with ``var`` and use ``sage_eval``.

A name the rule cannot keep (a built-in such as ``D`` or ``I``, or a clash
between two renamed names) gets a suffix, and the comment line lists every name
that the rule, read backwards, does not give back.  Laws of momentum flows
contain the time ``t`` through ``exp(t)`` (``Exp[t]`` in Mathematica).

LaTeX and HTML write ``W1_2_3`` (layer 1, row 2, column 3) as
:math:`W^{(1)}_{2,3}` and its velocity as :math:`\\dot W^{(1)}_{2,3}`, so that
``W1_1_11`` and ``W1_11_1`` stay apart (sympy alone prints both as
``W_{1 1 11}``-like subscripts).

Examples
--------
>>> import sympy
>>> w, v = sympy.symbols("W1_1_2 W2_1_1_dot")
>>> print(to_format([w**2 - v * sympy.exp(-sympy.Symbol("t"))], "mathematica"))
(* conslaws: 1 law, one per line; names: every _ of a name is written x (W1x2x3 is W1_2_3) *)
W1x1x2^2 - W2x1x1xdot*Exp[-t]
>>> latex_name("W1_1_11"), latex_name("W1_2_1_dot"), latex_name("v1")
('W^{(1)}_{1,11}', '\\\\dot W^{(1)}_{2,1}', 'v_{1}')
"""

from __future__ import annotations

import html
import json
import keyword
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sympy
from sympy.printing.conventions import split_super_sub
from sympy.printing.maple import maple_code
from sympy.printing.mathematica import known_functions as _mathematica_functions
from sympy.printing.mathematica import mathematica_code
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pretty.pretty_symbology import greek_unicode
from sympy.printing.str import StrPrinter

from conslaws.core.algebra.parsing import parse_formula
from conslaws.core.errors import InvalidExpressionError, InvalidOptionError
from conslaws.core.frontends.results import FORMATS

if TYPE_CHECKING:
    from conslaws.core.frontends.results import CountResult, LawsResult

__all__ = ["FORMATS", "exported_names", "html_law", "html_name", "html_text", "latex_law",
           "latex_laws", "latex_name", "to_format"]

_SYSTEMS = ("sage", "mathematica", "maple")
# A name stated as layer, then indices: W1_2_3, b2_1, V_2_3 (velocities add _dot).
_INDEXED = re.compile(r"(?P<base>[^\W\d_]+)(?P<layer>\d*)(?P<index>(?:_\d+)+)")
_DOT = "_dot"
_COMBINING_DOT = "\u0307"
# Placeholders of the HTML printer: user text is escaped as a whole at the end,
# then these become tags (and names), so no user text can ever make a tag.
_SUP_OPEN, _SUP_CLOSE, _NAME_OPEN, _NAME_CLOSE = "\ue010", "\ue011", "\ue012", "\ue013"
_NAME_SLOT = re.compile(f"{_NAME_OPEN}(\\d+){_NAME_CLOSE}")


# ---------------------------------------------------------------- LaTeX and HTML names

def _parts(name: str) -> tuple[str, bool, re.Match[str] | None]:
    """The name without its velocity suffix, whether it had one, its layer and indices."""
    dot = name.endswith(_DOT) and len(name) > len(_DOT)
    core = name[: -len(_DOT)] if dot else name
    return core, dot, _INDEXED.fullmatch(core)


def latex_name(name: str) -> str:
    """LaTeX of a parameter name, with unambiguous layer and indices.

    ``W{l}_{i}_{j}`` becomes ``W^{(l)}_{i,j}`` and its velocity ``W{l}_{i}_{j}_dot``
    becomes ``\\dot W^{(l)}_{i,j}``; other names are written by sympy's ``latex``
    (``v1`` is ``v_{1}``), with a dot for a ``_dot`` suffix.

    Examples
    --------
    >>> latex_name("W1_1_11"), latex_name("W1_11_1")
    ('W^{(1)}_{1,11}', 'W^{(1)}_{11,1}')
    >>> print(latex_name("W2_1_3_dot"), latex_name("b2_1"), latex_name("u_dot"))
    \\dot W^{(2)}_{1,3} b^{(2)}_{1} \\dot{u}
    """
    core, dot, match = _parts(name)
    if not match:
        text = sympy.latex(sympy.Symbol(core))
        return f"\\dot{{{text}}}" if dot else text
    base = sympy.latex(sympy.Symbol(match["base"]))
    if dot:
        base = f"\\dot {base}" if len(base) == 1 else f"\\dot{{{base}}}"
    layer = f"^{{({match['layer']})}}" if match["layer"] else ""
    return f"{base}{layer}_{{{','.join(match['index'][1:].split('_'))}}}"


def html_text(text: object) -> str:
    """``str(text)`` escaped for HTML, ``$`` too (so that no MathJax reads math in it).

    Examples
    --------
    >>> html_text("a<b & $x$")
    'a&lt;b &amp; &#36;x&#36;'
    """
    return html.escape(str(text)).replace("$", "&#36;")


def html_name(name: str) -> str:
    """HTML of a parameter name with ``<sub>``/``<sup>``, escaped, readable without MathJax.

    Examples
    --------
    >>> html_name("W1_2_3")
    'W<sup>(1)</sup><sub>2,3</sub>'
    >>> html_name("W1_2_3_dot") == "W\\u0307<sup>(1)</sup><sub>2,3</sub>"
    True
    >>> html_name("theta1"), html_name("a<b")
    ('θ<sub>1</sub>', 'a&lt;b')
    """
    core, dot, match = _parts(name)
    if match:
        base, layer, supers, subs = match["base"], match["layer"], [], match["index"][1:].split("_")
    else:
        base, supers, subs = split_super_sub(core)
        layer = ""
    text = html_text(greek_unicode.get(base, base)) + (_COMBINING_DOT if dot else "")
    if layer:
        text += f"<sup>({html_text(layer)})</sup>"
    if supers:
        text += f"<sup>{html_text(','.join(supers))}</sup>"
    if subs:
        text += f"<sub>{html_text(','.join(subs))}</sub>"
    return text


def latex_law(law: sympy.Expr) -> str:
    """One law in LaTeX, parameters written by :func:`latex_name`.

    Examples
    --------
    >>> import sympy
    >>> print(latex_law(sympy.Symbol("W1_1_11") ** 2 - sympy.Symbol("W1_11_1") ** 2))
    - \\left(W^{(1)}_{11,1}\\right)^{2} + \\left(W^{(1)}_{1,11}\\right)^{2}
    """
    names = {s: latex_name(s.name) for s in _symbols(law)}
    return str(sympy.latex(law, symbol_names=names))


def latex_laws(laws: Sequence[sympy.Expr], *, limit: int | None = None,
               degree: int | None = None) -> str:
    """The laws as a LaTeX ``aligned`` block ``h_{1} &= ...``, at most ``limit`` of them.

    Examples
    --------
    >>> import sympy
    >>> print(latex_laws([sympy.Symbol("u") ** 2 - sympy.Symbol("v") ** 2]))
    \\begin{aligned}
    h_{1} &= u^{2} - v^{2}
    \\end{aligned}
    """
    shown = list(laws) if limit is None else list(laws)[:limit]
    rows = [f"h_{{{i + 1}}} &= {latex_law(h)}" for i, h in enumerate(shown)]
    if len(shown) < len(laws):
        rows.append(f"&\\dots\\ \\text{{({len(laws) - len(shown)} more)}}")
    if not laws:
        rows.append("&\\text{no polynomial law" + (
            f" of degree}} \\le {degree}" if degree is not None else "}"))
    body = " \\\\\n".join(rows)
    return f"\\begin{{aligned}}\n{body}\n\\end{{aligned}}"


class _HtmlPrinter(StrPrinter):  # type: ignore[misc]  # sympy is untyped
    """sympy's str printer with names from :func:`html_name`, powers and exp as superscripts.

    It emits placeholders, never tags: :func:`html_law` escapes the whole text,
    then turns the placeholders into tags and names.
    """

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        self.names.append(html_name(expr.name))
        return f"{_NAME_OPEN}{len(self.names) - 1}{_NAME_CLOSE}"

    def _print_Pow(self, expr: sympy.Pow, rational: bool = False) -> str:
        exponent = expr.exp
        if not (exponent.is_Integer and exponent > 1):
            return str(super()._print_Pow(expr, rational)).replace("**", "^")
        base = self.parenthesize(expr.base, PRECEDENCE["Pow"], strict=False)
        if isinstance(expr.base, sympy.Symbol) and "<sup>" in html_name(expr.base.name):
            base = f"({base})"  # W^(1)_{1,1} squared: the exponent must not read as a name's
        return f"{base}{_SUP_OPEN}{exponent}{_SUP_CLOSE}"

    def _print_exp(self, expr: sympy.Expr) -> str:
        return f"e{_SUP_OPEN}{self._print(expr.args[0])}{_SUP_CLOSE}"

    def _print_Exp1(self, expr: sympy.Expr) -> str:
        return "e"


def html_law(law: sympy.Expr) -> str:
    """One law as HTML text (``<sub>``, ``<sup>``, everything else escaped).

    Examples
    --------
    >>> import sympy
    >>> w, t = sympy.symbols("W1_1_2 t")
    >>> html_law(3 * w**2 * sympy.exp(-t / 2))
    '3·(W<sup>(1)</sup><sub>1,2</sub>)<sup>2</sup>·e<sup>-t/2</sup>'
    """
    printer = _HtmlPrinter()
    text = html_text(printer.doprint(law)).replace("*", "·")
    text = text.replace(_SUP_OPEN, "<sup>").replace(_SUP_CLOSE, "</sup>")
    return _NAME_SLOT.sub(lambda m: printer.names[int(m[1])], text)


# ---------------------------------------------------------------- other systems' names

@dataclass(frozen=True)
class _System:
    """How one system names things, comments, and prints a law (sympy's printer).

    ``rule`` writes a name, ``reverse`` reads it back; ``underscore`` says
    whether any name of the output has a ``_`` (Mathematica rewrites them only then).
    """

    comment: Callable[[str], str]
    code: Callable[[sympy.Expr], str]
    reserved: frozenset[str]
    suffix: str

    def rule(self, name: str, underscore: bool) -> str:
        return name

    def reverse(self, name: str, underscore: bool) -> str:
        return name

    def rule_text(self, names: Sequence[str]) -> str:
        return "as in conslaws"


_HEX = re.compile(r"\\:([0-9a-f]{4})|\\\|([0-9a-f]{6})")


class _Mathematica(_System):
    def rule(self, name: str, underscore: bool) -> str:
        name = name.replace("_", "x") if underscore else name
        return "".join(c if c.isascii() else
                       (f"\\:{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\|{ord(c):06x}")
                       for c in name)

    def reverse(self, name: str, underscore: bool) -> str:
        name = name.replace("x", "_") if underscore else name
        return _HEX.sub(lambda m: chr(int(m[1] or m[2], 16)), name)

    def rule_text(self, names: Sequence[str]) -> str:
        parts = []
        if any("_" in n for n in names):
            parts.append("every _ of a name is written x (W1x2x3 is W1_2_3)")
        if not all(n.isascii() for n in names):
            parts.append("other letters as \\:XXXX (hex)")
        return "; ".join(parts) or "as in conslaws"


_MAPLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Maple(_System):
    def rule(self, name: str, underscore: bool) -> str:
        return name if _MAPLE_NAME.fullmatch(name) else f"`{name}`"

    def reverse(self, name: str, underscore: bool) -> str:
        return name[1:-1] if name.startswith("`") else name

    def rule_text(self, names: Sequence[str]) -> str:
        plain = all(_MAPLE_NAME.fullmatch(n) for n in names)
        return "as in conslaws" + ("" if plain else ", other letters in backquotes")


class _SagePrinter(StrPrinter):  # type: ignore[misc]  # sympy is untyped
    """sympy's str printer (Python syntax, ``**``), with Sage's ``e``."""

    def _print_Exp1(self, expr: sympy.Expr) -> str:
        return "e"


def _comment_ml(text: str) -> str:
    return "(* " + text.replace("(*", "( *").replace("*)", "* )") + " *)"


def _comment_hash(text: str) -> str:
    return "# " + text


_MATHEMATICA = _Mathematica(
    comment=_comment_ml, code=lambda law: str(mathematica_code(law)), suffix="x",
    # Built-ins a parameter could be called: one-letter ones and what the printer emits.
    reserved=frozenset({"C", "D", "E", "I", "K", "N", "O", "Pi", "Degree", "Infinity",
                        "Indeterminate", "ComplexInfinity", "GoldenRatio", "EulerGamma",
                        "Catalan", "True", "False", "Plus", "Times", "Power", "Rational",
                        "List", "Sqrt"}
                       | {name for rules in _mathematica_functions.values()
                          for _, name in rules}))
_MAPLE = _Maple(
    comment=_comment_hash, code=lambda law: str(maple_code(law)), suffix="_",
    reserved=frozenset({
        # keywords
        "and", "assuming", "break", "by", "catch", "description", "do", "done", "elif",
        "else", "end", "error", "export", "fi", "finally", "for", "from", "global", "if",
        "implies", "in", "intersect", "local", "minus", "mod", "module", "next", "not",
        "od", "option", "options", "or", "proc", "quit", "read", "return", "save", "stop",
        "subset", "then", "to", "try", "union", "use", "uses", "while", "xor",
        # protected constants and operators
        "Catalan", "constants", "D", "Digits", "FAIL", "false", "gamma", "I", "infinity",
        "O", "Pi", "true", "undefined", "exp", "ln", "log", "sqrt", "sin", "cos", "tan",
        "abs", "diff", "int", "sum", "product", "lhs", "rhs", "eval", "parse"}))
_SAGE = _System(
    comment=_comment_hash, code=lambda law: str(_SagePrinter().doprint(law)), suffix="_",
    # Sage's global constants and functions a parameter could shadow or be read as.
    reserved=frozenset({"e", "i", "I", "pi", "oo", "infinity", "NaN", "golden_ratio",
                        "euler_gamma", "catalan", "khinchin", "twinprime", "mertens",
                        "glaisher", "log2", "n", "N", "exp", "log", "sqrt", "sin", "cos",
                        "tan", "var", "SR", "QQ", "ZZ", "RR", "CC", *keyword.kwlist}))
_BY_NAME: dict[str, _System] = {"sage": _SAGE, "mathematica": _MATHEMATICA, "maple": _MAPLE}


def _system(fmt: str) -> _System:
    if fmt not in _BY_NAME:
        raise InvalidOptionError(
            f"fmt must be one of {', '.join(_SYSTEMS)} for names, got {fmt!r}")
    return _BY_NAME[fmt]


def exported_names(names: Iterable[str], fmt: str) -> dict[str, str]:
    """Each name as written for ``fmt`` (``sage``, ``mathematica`` or ``maple``).

    The mapping is one to one.  Names follow the rule stated in the output's
    comment line; a name the rule would make a built-in or a duplicate gets
    the system's suffix (``x`` in Mathematica, ``_`` elsewhere) until free.

    Examples
    --------
    >>> exported_names(["W1_2_3", "W1_2_3_dot", "N"], "mathematica")
    {'W1_2_3': 'W1x2x3', 'W1_2_3_dot': 'W1x2x3xdot', 'N': 'Nx'}
    >>> exported_names(["D", "u"], "maple")
    {'D': 'D_', 'u': 'u'}
    """
    system = _system(fmt)
    names = list(dict.fromkeys(names))
    underscore = any("_" in n for n in names)
    wanted = {n: system.rule(n, underscore) for n in names}
    counts = Counter(wanted.values())
    mapping = {n: w for n, w in wanted.items() if counts[w] == 1 and w not in system.reserved}
    taken = set(wanted.values()) | system.reserved
    for name in names:
        if name not in mapping:
            target = wanted[name] + system.suffix
            while target in taken:
                target += system.suffix
            mapping[name] = target
            taken.add(target)
    return {n: mapping[n] for n in names}


# ---------------------------------------------------------------- to_format

def _symbols(law: sympy.Expr) -> list[sympy.Symbol]:
    return sorted((s for s in law.free_symbols if isinstance(s, sympy.Symbol)),
                  key=lambda s: s.name)


def _as_law(law: Any) -> sympy.Expr:
    if isinstance(law, str):
        return parse_formula(law, what="law").to_sympy()
    if not isinstance(law, sympy.Expr):
        raise InvalidExpressionError(
            f"result_or_laws: a law must be a sympy expression or a formula, "
            f"not {type(law).__name__}")
    return law


def _subject(source: Any, laws: Sequence[sympy.Expr]) -> tuple[str, tuple[str, ...]]:
    """What the laws are (for the comment line), and the parameter names in order."""
    from conslaws.core.frontends.results import CountResult, LawsResult, laws_phrase  # imports us

    if isinstance(source, LawsResult):
        state = "complete" if source.complete else "not all"
        return (f"{laws_phrase(len(laws))} of {source.model} (flow {source.flow}, "
                f"degree <= {source.degree}, {state})", source.parameter_names)
    if isinstance(source, CountResult):
        state = "certified" if source.certified else "not certified"
        return (f"{laws_phrase(len(laws), 'verified')} of {source.model} (flow {source.flow}; "
                f"count {source.laws}, {state})", source.parameter_names)
    return laws_phrase(len(laws)), ()


def _system_text(source: Any, laws: Sequence[sympy.Expr], fmt: str) -> str:
    system = _BY_NAME[fmt]
    subject, parameters = _subject(source, laws)
    seen = dict.fromkeys(parameters)
    for law in laws:
        seen.update(dict.fromkeys(s.name for s in _symbols(law)))
    names = list(seen)
    mapping = exported_names(names, fmt)
    underscore = any("_" in n for n in names)
    odd = [f"{target} is {name}" for name, target in mapping.items()
           if system.reverse(target, underscore) != name]
    rule = system.rule_text(names) + (f"; except: {', '.join(odd)}" if odd else "")
    header = system.comment(f"conslaws: {subject}, one per line; names: {rule}"
                            .replace("\n", " ").replace("\r", " "))
    lines = [header]
    for law in laws:
        renamed = {s: sympy.Symbol(mapping[s.name]) for s in _symbols(law)}
        lines.append(system.code(law.xreplace(renamed)))
    return "\n".join(lines)


def to_format(result_or_laws: CountResult | LawsResult | Sequence[Any], fmt: str) -> str:
    """Render a result, or a list of laws, as ``fmt`` (one of :data:`FORMATS`).

    Parameters
    ----------
    result_or_laws : LawsResult, CountResult, or a sequence of laws
        A count contributes its verified laws.  Laws are sympy expressions or
        formulas (read by :func:`~conslaws.core.algebra.parsing.parse_formula`).
    fmt : str
        ``text`` and ``json`` are the command line's outputs; ``latex`` the
        result's :meth:`to_latex`; ``sage``, ``mathematica`` and ``maple`` a
        comment line stating the names, then one law per line.

    Returns
    -------
    str

    Examples
    --------
    >>> print(to_format(["u**2 - v1**2", "D*u"], "maple"))
    # conslaws: 2 laws, one per line; names: as in conslaws; except: D_ is D
    u^2 - v1^2
    D_*u
    >>> print(to_format(["u^2/2"], "sage"))
    # conslaws: 1 law, one per line; names: as in conslaws
    u**2/2
    """
    if fmt not in FORMATS:
        raise InvalidOptionError(f"fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")
    from conslaws.core.frontends.results import (  # results imports this module
        CountResult,
        LawsResult,
    )

    if isinstance(result_or_laws, (CountResult, LawsResult)):
        if fmt == "text":
            return str(result_or_laws)
        if fmt == "json":
            return result_or_laws.to_json()
        if fmt == "latex":
            return result_or_laws.to_latex()
        laws = list(result_or_laws.laws if isinstance(result_or_laws, LawsResult)
                    else result_or_laws.verified_laws)
    elif isinstance(result_or_laws, (str, bytes)) or not isinstance(result_or_laws, Iterable):
        raise InvalidOptionError(
            "result_or_laws must be a CountResult, a LawsResult or a list of laws, "
            f"not {type(result_or_laws).__name__}")
    else:
        laws = [_as_law(law) for law in result_or_laws]
        if fmt == "text":
            return "\n".join(str(h) for h in laws)
        if fmt == "json":
            return json.dumps([str(h) for h in laws])
        if fmt == "latex":
            return latex_laws(laws)
    return _system_text(result_or_laws, laws, fmt)
