"""Formulas typed by users, parsed without executing anything.

A formula (``--phi "u*v1; u*v2"``, a law, ...) may contain numbers (``3``, ``0.5``,
``1e-3``: exact rationals), names (``u``, ``θ1``), ``+ - * /``, powers ``**`` or ``^``
with a constant non-negative integer exponent, and parentheses.  The text goes
through :func:`ast.parse`, which only builds a syntax tree, and the tree is walked
with a whitelist; anything else is refused with one line.  Nothing is evaluated,
compiled to code or handed to ``sympy.sympify``.

* ``^`` is rewritten to ``**`` before parsing, so it has the precedence of a power
  (``2*x^2`` is ``2*(x**2)``); excerpts in error messages show it as ``**``.
* Python's parser NFKC-normalises names (``ｅｖａｌ`` is ``eval``): such text is refused.
* Python's parser recurses on a chain like ``x1 + ... + x20000``, so a long formula is
  cut at token boundaries into blocks of at most ``_CHUNK`` operators, each parsed by
  ``ast`` alone and standing as a name ``__pN`` (which users cannot write) in the text
  around it; the tree is the one a whole parse gives.  Walks and folds use stacks.

Examples
--------
>>> f = parse_formula("u*v1 - 2*v2^3 + 0.5")
>>> str(f), f.names
('u*v1 - 2*v2**3 + 0.5', ('u', 'v1', 'v2'))
>>> f.to_sympy()
u*v1 - 2*v2**3 + 1/2
>>> parse_formula("x*y + 0*__import__('os').system('ls')")
Traceback (most recent call last):
    ...
conslaws.core.errors.InvalidExpressionError: cannot use a function call in formula "__imp...
"""

from __future__ import annotations

import ast
import keyword
import re
import unicodedata
import warnings
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any, Protocol, TypeVar

from conslaws.core.errors import ConslawsError, InvalidExpressionError

__all__ = ["MAX_DEPTH", "MAX_DIGITS", "MAX_EXPONENT", "MAX_LENGTH", "MAX_NAME_LENGTH",
           "MAX_POWER_BITS", "Formula", "FormulaAlgebra", "parse_formula", "parse_name",
           "parse_rational", "split_formulas"]

MAX_LENGTH = 2_000_000  #: characters in one formula
MAX_DIGITS = 4_000  #: digits of a number, exponent included (Python's int limit is 4300)
MAX_EXPONENT = 10_000  #: largest exponent of ``**`` and ``^``
MAX_POWER_BITS = 100_000  #: largest size (a bound on it) of a constant power
MAX_DEPTH = 1_000  #: depth of the tree, a sum or a product being one level
MAX_NAME_LENGTH = 200  #: characters in one name

_CHUNK = 200  # operators in one text given to ast.parse
_FOLD_BITS = 1_024  # constant subtrees up to this size are folded (exponents, divisors)
_ALLOWED = "only numbers, names, + - * / ** ^ and parentheses are allowed"
_NOT_DECIMAL = "is not an integer, a fraction like 3/2 or a decimal like 0.25"
_DECIMAL = re.compile(r"([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")
_TOKEN = re.compile(r"\s*(?:(\*\*|[-+*/()])|([^\W\d]\w*)|((?:[0-9][0-9_]*\.?[0-9_]*|"
                    r"\.[0-9][0-9_]*)(?:[eE][+-]?[0-9_]+)?[jJ]?)|(\S))")
_WORD, _PLACE = re.compile(r"[^\W\d]\w*"), re.compile(r"__p\d+")
_SPACES = dict.fromkeys(range(9, 14), " ")
_OPERATORS = frozenset({"+", "-", "*", "/", "**"})
_PREC = {"add": 1, "mul": 2, "div": 2, "neg": 3, "pow": 4, "num": 5, "name": 5}
_REFUSED: dict[type, str] = {
    ast.Call: "a function call", ast.Attribute: "attribute access", ast.Subscript: "indexing",
    ast.Lambda: "a lambda", ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator expression",
    ast.NamedExpr: "an assignment (:=)", ast.Compare: "a comparison", ast.BoolOp: "and/or",
    ast.JoinedStr: "an f-string", ast.Starred: "a starred expression", ast.Dict: "a dict",
    ast.List: "a list", ast.Set: "a set", ast.Tuple: "a tuple (a comma)", ast.Slice: "a slice",
    ast.IfExp: "a conditional (if/else)", ast.Await: "await", ast.Yield: "yield",
    ast.YieldFrom: "yield", str: "a string", bytes: "bytes", complex: "an imaginary number",
    type(...): "...", **{op: f"the operator {text}" for op, text in [
        (ast.Mod, "%"), (ast.FloorDiv, "//"), (ast.MatMult, "@"), (ast.LShift, "<<"),
        (ast.RShift, ">>"), (ast.BitOr, "|"), (ast.BitAnd, "&"), (ast.BitXor, "^"),
        (ast.Not, "not"), (ast.Invert, "~")]},
}
T = TypeVar("T")


def _short(text: str, limit: int = 40, hide: bool = False) -> str:
    """``text`` as one printable line of at most ``limit`` characters."""
    text = _PLACE.sub("(...)", text[: 8 * limit]) if hide else text[: 4 * limit]
    text = "".join(c if c.isprintable() else "?" for c in " ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _decimal(literal: str) -> Fraction:
    """The exact value of ``12``, ``1.5``, ``.5``, ``2.5e3``; ValueError(reason) otherwise."""
    match = _DECIMAL.fullmatch(literal)
    if match is None or not (match[1] or match[2]):
        raise ValueError(_NOT_DECIMAL)
    fraction, exponent = match[2] or "", match[3] or "0"
    digits = (match[1] + fraction).lstrip("0")
    if not digits:
        return Fraction(0)
    too_large = ValueError(f"has more than {MAX_DIGITS} digits")
    if len(exponent.lstrip("+-").lstrip("0")) > 6:
        raise too_large
    shift = int(exponent) - len(fraction)
    if len(digits) + max(shift, 0) > MAX_DIGITS or -shift > MAX_DIGITS:
        raise too_large
    try:
        mantissa = int(digits)
    except ValueError:  # sys.set_int_max_str_digits() was set below MAX_DIGITS
        raise too_large from None
    return Fraction(mantissa * 10**shift) if shift >= 0 else Fraction(mantissa, 10**-shift)


def _check_text(text: object, what: str) -> str:
    """``text`` if it is a str, not too long, in NFKC form (what Python's parser reads)."""
    if not isinstance(text, str):
        raise InvalidExpressionError(f"{what} must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise InvalidExpressionError(f"{what} has {len(text)} characters, more than {MAX_LENGTH}")
    if not unicodedata.is_normalized("NFKC", text):
        bad = next((c for c in text if not unicodedata.is_normalized("NFKC", c)), "")
        shown = (f"{bad!r} (U+{ord(bad):04X}), which Python would read as "
                 f"{unicodedata.normalize('NFKC', bad)!r}") if bad else "a combining sequence"
        raise InvalidExpressionError(f'{what} "{_short(text)}" contains {shown}; type it plainly')
    return text


def _name_problem(name: str) -> str | None:
    if len(name) > MAX_NAME_LENGTH:
        return f"is longer than {MAX_NAME_LENGTH} characters"
    if keyword.iskeyword(name):
        return "is a reserved word of Python; rename the parameter"
    return "starts with '__', which names may not" if name.startswith("__") else None


class _Node:
    """A tree node.  ``bits`` bounds the size of a constant (None: the subtree has a name);
    ``value`` is the constant when ``bits <= _FOLD_BITS``."""

    __slots__ = ("args", "bits", "depth", "exponent", "kind", "name", "number", "value")
    args: tuple[_Node, ...]
    bits: int | None
    depth: int

    def __init__(self, kind: str, args: tuple[_Node, ...] = (), *, number: Fraction = Fraction(0),
                 name: str = "", exponent: int = 0) -> None:
        self.kind, self.args, self.number, self.name = kind, args, number, name
        self.exponent, self.depth = exponent, 1 + max((a.depth for a in args), default=0)
        sizes = [a.bits for a in args]
        self.bits = None
        if kind == "num":
            self.bits = max(number.numerator.bit_length(), number.denominator.bit_length())
        elif kind == "pow" and args[0].bits is not None:
            self.bits = args[0].bits * exponent if exponent else 1
        elif kind != "name" and None not in sizes:
            self.bits = sum(b or 0 for b in sizes) + (len(args) if kind == "add" else 0)
        self.value = self._constant() if self.bits is not None and self.bits <= _FOLD_BITS else None
        if self.value is not None:  # the exact size
            self.bits = max(self.value.numerator.bit_length(), self.value.denominator.bit_length())

    def _constant(self) -> Fraction:
        values = [a.value if a.value is not None else Fraction(0) for a in self.args]
        if self.kind in ("add", "mul"):
            result = Fraction(self.kind == "mul")
            for v in values:
                result = result * v if self.kind == "mul" else result + v
            return result
        if self.kind in ("neg", "div"):
            return -values[0] if self.kind == "neg" else values[0] / values[1]
        return values[0] ** self.exponent if self.kind == "pow" else self.number


def _fold(root: _Node, leaf: Callable[[_Node], T], combine: Callable[[_Node, list[T]], T]) -> T:
    """Fold the tree bottom-up with an explicit stack."""
    out: list[T] = []
    stack: list[tuple[_Node, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if not node.args:
            out.append(leaf(node))
        elif ready:
            args = out[len(out) - len(node.args):]
            del out[len(out) - len(node.args):]
            out.append(combine(node, args))
        else:
            stack.append((node, True))
            stack.extend((a, False) for a in reversed(node.args))
    return out[0]


def _number_text(q: Fraction) -> str:
    """``3``, or the exact decimal ``0.25`` (literals have denominators 2^a 5^b)."""
    num, den = q.numerator, q.denominator
    twos = (den & -den).bit_length() - 1
    rest, fives = den >> twos, 0
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    if den == 1 or rest != 1:
        return str(num) if den == 1 else f"({num}/{den})"
    places = max(twos, fives)
    digits = str(num * 10**places // den).rjust(places + 1, "0")
    return f"{digits[:-places]}.{digits[-places:]}"


def _print(node: _Node, texts: list[str]) -> str:
    def wrap(i: int, least: int) -> str:
        return texts[i] if _PREC[node.args[i].kind] >= least else f"({texts[i]})"

    if node.kind == "add":
        parts = [wrap(0, 1)]
        for i, child in enumerate(node.args[1:], 1):
            if child.kind == "neg":  # texts[i] is "-x" or "-(x*y)": print "a - x", "a - x*y"
                mul = _PREC[child.args[0].kind] == 2
                parts.append(" - " + (texts[i][2:-1] if mul else texts[i][1:]))
            else:
                parts.append(" + " + wrap(i, 2))
        return "".join(parts)
    if node.kind == "mul":
        return "*".join([wrap(0, 2)] + [wrap(i, 3) for i in range(1, len(texts))])
    if node.kind == "div":
        return f"{wrap(0, 2)}/{wrap(1, 3)}"
    return "-" + wrap(0, 3) if node.kind == "neg" else f"{wrap(0, 5)}**{node.exponent}"


class FormulaAlgebra(Protocol[T]):
    """What :meth:`Formula.evaluate` needs: one method per kind of node."""

    def number(self, value: Fraction) -> T: ...
    def name(self, name: str) -> T: ...
    def add(self, items: list[T]) -> T: ...
    def mul(self, items: list[T]) -> T: ...
    def neg(self, x: T) -> T: ...
    def div(self, x: T, y: T) -> T: ...
    def power(self, x: T, exponent: int) -> T: ...


class _SympyAlgebra:
    def __init__(self, symbols: Mapping[str, Any] | None) -> None:
        import sympy

        self.sympy, self.symbols, self.made = sympy, symbols or {}, dict[str, Any]()
        self.add, self.mul = lambda items: sympy.Add(*items), lambda items: sympy.Mul(*items)
        self.neg = lambda x: sympy.Mul(sympy.S.NegativeOne, x)
        self.div = lambda x, y: sympy.Mul(x, sympy.Pow(y, sympy.S.NegativeOne))
        self.power = lambda x, exponent: sympy.Pow(x, sympy.Integer(exponent))

    def number(self, value: Fraction) -> Any:
        return self.sympy.Rational(value.numerator, value.denominator)

    def name(self, name: str) -> Any:
        if name in self.symbols:
            return self.symbols[name]
        return self.made.setdefault(name, self.sympy.Symbol(name))


class Formula:
    """An immutable parsed formula; :func:`parse_formula` makes them.

    Examples
    --------
    >>> f = parse_formula("-(x+y)**2 / 3 + x")
    >>> f, f.names
    (parse_formula('-(x + y)**2/3 + x'), ('x', 'y'))
    >>> f == parse_formula("-(x + y)^2/3 + x")
    True
    """

    __slots__ = ("_names", "_root", "_text")
    _names: tuple[str, ...]
    _root: _Node
    _text: str | None

    def __init__(self, root: _Node) -> None:
        seen: dict[str, None] = {}
        stack = [root]
        while stack:
            node = stack.pop()
            if node.kind == "name":
                seen.setdefault(node.name)
            stack.extend(reversed(node.args))
        for slot, value in (("_names", tuple(seen)), ("_root", root), ("_text", None)):
            object.__setattr__(self, slot, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Formula is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Formula is immutable")

    @property
    def names(self) -> tuple[str, ...]:
        """The distinct names, in order of first appearance."""
        return self._names

    def evaluate(self, algebra: FormulaAlgebra[T]) -> T:
        """Fold the tree bottom-up with ``algebra`` (iteratively, so deep trees are fine).

        Examples
        --------
        >>> class Size:  # counts the nodes
        ...     number = name = lambda self, x: 1
        ...     add = mul = lambda self, items: sum(items) + 1
        ...     neg = power = lambda self, x, *exponent: x + 1
        ...     div = lambda self, x, y: x + y + 1
        >>> parse_formula("x*y - 2").evaluate(Size())  # add(mul(x, y), neg(2))
        6
        """
        def leaf(node: _Node) -> T:
            return algebra.number(node.number) if node.kind == "num" else algebra.name(node.name)

        def combine(node: _Node, args: list[T]) -> T:
            if node.kind in ("add", "mul"):
                return algebra.add(args) if node.kind == "add" else algebra.mul(args)
            if node.kind == "div":
                return algebra.div(args[0], args[1])
            return algebra.neg(args[0]) if node.kind == "neg" else algebra.power(
                args[0], node.exponent)

        return _fold(self._root, leaf, combine)

    def to_sympy(self, symbols: Mapping[str, Any] | None = None) -> Any:
        """The formula built from sympy objects (no string parsing); sympy is imported here.

        A name becomes ``symbols[name]`` if given, else a plain ``sympy.Symbol(name)``.

        Examples
        --------
        >>> import sympy
        >>> E, I, S, N = sympy.symbols("E I S N")
        >>> parse_formula("E*I + S*N").to_sympy() == E*I + S*N
        True
        >>> parse_formula("x/2").to_sympy({"x": sympy.Symbol("x", positive=True)}).is_positive
        True
        """
        return self.evaluate(_SympyAlgebra(symbols))

    def __str__(self) -> str:
        if self._text is None:
            def leaf(node: _Node) -> str:
                return _number_text(node.number) if node.kind == "num" else node.name
            object.__setattr__(self, "_text", _fold(self._root, leaf, _print))
        return str(self._text)

    def __repr__(self) -> str:
        return f"parse_formula({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Formula) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


_Task = tuple[str, int, tuple[bool, ...], ast.expr]  # build `kind` from `count` results


class _Walk:
    """Turn the ast of one text into a :class:`_Node` tree, refusing all but the whitelist."""

    def __init__(self, text: str, what: str, places: dict[str, _Node]) -> None:
        self.data, self.what, self.places = text.encode(), what, places
        self.names: dict[str, _Node] = {}

    def refuse(self, node: ast.expr, thing: str, why: str = _ALLOWED) -> InvalidExpressionError:
        text = self.data[node.col_offset: node.end_col_offset].decode("utf-8", "replace")
        excerpt = _short(text, hide=bool(self.places))
        return InvalidExpressionError(f'cannot use {thing} in {self.what} "{excerpt}": {why}')

    def leaf(self, node: ast.expr) -> _Node:
        if isinstance(node, ast.Name):
            known = self.places.get(node.id) or self.names.get(node.id)
            problem = None if known else _name_problem(node.id)
            if problem:
                raise self.refuse(node, "the name " + _short(node.id), "the name " + problem)
            return known or self.names.setdefault(node.id, _Node("name", name=node.id))
        value = getattr(node, "value", None)
        if isinstance(node, ast.Constant) and type(value) in (int, float):
            literal = self.data[node.col_offset: node.end_col_offset].decode("ascii", "replace")
            try:
                return _Node("num", number=_decimal(literal))
            except ValueError as error:
                raise self.refuse(node, f"the number {_short(literal, 20)}", "write numbers in "
                                  "decimal, like 3, 0.5 or 1e-3" if str(error) == _NOT_DECIMAL
                                  else f"it {error}") from None
        if isinstance(node, ast.Constant) and (value is None or isinstance(value, bool)):
            raise self.refuse(node, repr(value), "it is a reserved word of Python; rename it")
        kind = type(value) if isinstance(node, ast.Constant) else type(getattr(node, "op", node))
        raise self.refuse(node, _REFUSED.get(kind, _REFUSED.get(type(node), "this construct")))

    def build(self, kind: str, args: list[_Node], signs: tuple[bool, ...], node: ast.expr) -> _Node:
        if kind in ("add", "mul"):
            items = [_Node("neg", (a,)) if s else a for a, s in zip(args, signs, strict=True)]
            if items[0].kind == kind:  # a parenthesised group that stands as a name __pN
                items[:1] = items[0].args
            result = _Node(kind, tuple(items))
        elif kind == "pow":
            base, power = args
            integer = "exponents must be constant non-negative integers"
            if power.bits is None:
                raise self.refuse(node, "a non-constant exponent", integer)
            if power.value is not None and (power.value < 0 or power.value.denominator != 1):
                raise self.refuse(node, f"the exponent {power.value}", integer)
            if power.value is None or power.value > MAX_EXPONENT:
                raise self.refuse(node, "a huge exponent", f"the limit is {MAX_EXPONENT}")
            if base.bits is not None and base.bits * int(power.value) > MAX_POWER_BITS:
                raise self.refuse(node, "a huge constant power",
                                  f"the limit is {MAX_POWER_BITS} bits")
            result = _Node("pow", (base,), exponent=int(power.value))
        elif kind == "div" and args[1].value == 0:
            raise self.refuse(node, "a division by zero", "the divisor is 0")
        else:
            result = _Node(kind, tuple(args))
        if result.depth > MAX_DEPTH:
            raise self.refuse(node, f"nesting deeper than {MAX_DEPTH}", "simplify the formula")
        return result

    def run(self, tree: ast.expr) -> _Node:
        out: list[_Node] = []
        todo: list[ast.expr | _Task] = [tree]
        while todo:
            item = todo.pop()
            if isinstance(item, tuple):
                args = out[len(out) - item[1]:]
                del out[len(out) - item[1]:]
                out.append(self.build(item[0], args, item[2], item[3]))
            elif isinstance(item, ast.BinOp) and isinstance(item.op, (ast.Add, ast.Sub, ast.Mult)):
                chain = (ast.Mult,) if isinstance(item.op, ast.Mult) else (ast.Add, ast.Sub)
                operands: list[ast.expr] = []
                minus: list[bool] = []
                cur: ast.expr = item
                while isinstance(cur, ast.BinOp) and isinstance(cur.op, chain):  # flatten
                    operands.append(cur.right)
                    minus.append(isinstance(cur.op, ast.Sub))
                    cur = cur.left
                operands.append(cur)
                minus.append(False)
                kind = "mul" if chain == (ast.Mult,) else "add"
                todo.append((kind, len(operands), tuple(reversed(minus)), item))
                todo.extend(operands)
            elif isinstance(item, ast.BinOp) and isinstance(item.op, (ast.Div, ast.Pow)):
                todo.append(("div" if isinstance(item.op, ast.Div) else "pow", 2, (), item))
                todo.extend((item.right, item.left))
            elif isinstance(item, ast.UnaryOp) and isinstance(item.op, (ast.USub, ast.UAdd)):
                todo.extend([("neg", 1, (), item)] if isinstance(item.op, ast.USub) else [])
                todo.append(item.operand)
            else:
                out.append(self.leaf(item))
        return out[0]


def _parse(text: str, what: str, places: dict[str, _Node]) -> _Node:
    """``ast.parse`` one text (a formula, or one block of a long one) and walk it."""
    hide = bool(places)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        message = " ".join(str(error.msg).split())
        reserved = next((w for w in _WORD.findall(text) if keyword.iskeyword(w)), None)
        if "Exceeds the limit" in message:
            message = f"a number has more than {MAX_DIGITS} digits"
        elif reserved is not None:
            message = f"{reserved!r} is a reserved word of Python; rename the parameter"
        at = max((error.offset or 1) - 1, 0) if error.lineno == 1 else 0
        near = f' near "{_short(text[at:], 20, hide)}"' if at else ""
        raise InvalidExpressionError(
            f'cannot parse {what} "{_short(text, hide=hide)}"{near}: {message}') from None
    except (ValueError, RecursionError, MemoryError) as error:
        reason = " ".join(str(error).split()) if isinstance(error, ValueError) else "too complex"
        raise InvalidExpressionError(
            f'cannot parse {what} "{_short(text, hide=hide)}": {reason}') from None
    return _Walk(text, what, places).run(tree.body)


def _tokens(text: str) -> list[str] | None:
    """The tokens if all are names, numbers, ``+ - * / **`` and parentheses (no call, no
    keyword, no ``__``, no two operands in a row), else None: ``ast`` then gives the message."""
    tokens: list[str] = []
    for match in _TOKEN.finditer(text):
        word, operand = match[0].strip(), not match[1]
        after = bool(tokens) and tokens[-1] not in _OPERATORS and tokens[-1] != "("
        if match[4] or (match[2] and (keyword.iskeyword(word) or word.startswith("__"))) or (
                after and (operand or word == "(")):
            return None
        tokens.append(word)
    return tokens


def _split(items: list[str], ops: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """Cut a token list at the binary ``ops`` outside parentheses: [("", operand), (op,
    operand), ...]."""
    parts: list[tuple[str, list[str]]] = [("", [])]
    depth = 0
    for i, tok in enumerate(items):
        binary = i > 0 and items[i - 1] not in _OPERATORS and items[i - 1] != "("
        if not depth and tok in ops and binary:
            parts.append((tok, []))
        else:
            depth += (tok == "(") - (tok == ")")
            parts[-1][1].append(tok)
    return parts


def _chunked(tokens: list[str], what: str) -> _Node | None:
    """Parse a long formula in blocks (see the module docstring); None if it is not clean."""
    places: dict[str, _Node] = {}

    def name(node: _Node) -> list[str]:
        places[f"__p{len(places)}"] = node
        return [f"__p{len(places) - 1}"]

    def weight(items: list[str]) -> int:
        return sum(map(_OPERATORS.__contains__, items))

    def chain(parts: list[tuple[str, list[str]]], kind: str, unit: str) -> list[str]:
        """A chain of + - (or of *) in blocks; later blocks start with 0 (or 1), dropped."""
        items: list[_Node] = []
        block: list[str] = []
        size = 0
        for i, (op, part) in enumerate([*parts, ("", [])]):
            if i == len(parts) or (block and size + weight(part) >= _CHUNK):
                node = _parse(" ".join(block), what, places)
                first = node.args if node.kind == kind else (node,)
                items.extend(node.args[1:] if items else first)
                block, size = [unit], 0
            block += [op, *part] if op else part
            size += weight(part) + 1
        return name(_Node(kind, tuple(items)) if len(items) > 1 else items[0])

    def term(items: list[str]) -> list[str]:
        if weight(items) <= _CHUNK:
            return items
        run: list[tuple[str, list[str]]] = []  # a*b/c*d/e: runs [a, b], [__p0/c, d], [__p1/e]
        for op, factor in _split(items, ("*", "/")):
            if op == "/":
                run = [("", [*chain(run, "mul", "1"), "/", *factor])]
            else:
                run.append((op, factor))
        return chain(run, "mul", "1")

    def group(items: list[str], wrap: bool) -> list[str]:
        if wrap and weight(items) <= 8 and "(" not in items:  # stays as it is in the text
            return ["(", *items, ")"]
        if weight(items) <= _CHUNK:
            return name(_parse(" ".join(["(", *items, ")"] if wrap else items), what, places))
        return chain([(op, term(t)) for op, t in _split(items, ("+", "-"))], "add", "0")

    stack: list[list[str]] = [[]]
    for tok in tokens:
        if tok == "(" and len(stack) <= 200:  # Python's own limit
            stack.append([])
        elif tok == ")" and len(stack) > 1:
            stack[-2].extend(group(stack.pop(), True))
        elif tok in ("(", ")"):
            return None
        else:
            stack[-1].append(tok)
    return places[group(stack[0], False)[0]] if len(stack) == 1 else None


def parse_formula(text: str, *, what: str = "formula") -> Formula:
    """Parse a formula safely: nothing in it is ever run.

    Parameters
    ----------
    text : str
        Numbers, names, ``+ - * / ** ^`` and parentheses.
    what : str
        What the text is, for error messages (``"phi component"``, ``"law"``).

    Returns
    -------
    Formula

    Raises
    ------
    InvalidExpressionError
        One line naming what is not allowed or which limit is exceeded.

    Examples
    --------
    >>> str(parse_formula("θ1*θ2 + 2^3^2 - x/2/3"))
    'θ1*θ2 + 2**9 - x/2/3'
    >>> parse_formula("x**y", what="law")
    Traceback (most recent call last):
        ...
    conslaws.core.errors.InvalidExpressionError: cannot use a non-constant exponent in law ...
    """
    text = _check_text(text, what).translate(_SPACES).strip()
    if not text:
        raise InvalidExpressionError(f"{what} is empty")
    if "#" in text:
        raise InvalidExpressionError(f'cannot use # in {what} "{_short(text)}": {_ALLOWED}')
    text = text.replace("^", "**")
    tokens = _tokens(text) if sum(map(text.count, "+-*/")) > _CHUNK else None
    root = _chunked(tokens, what) if tokens is not None else None
    return Formula(root if root is not None else _parse(text, what, {}))


def parse_rational(text: str | int | Fraction, *, what: str,
                   error: type[ConslawsError] = InvalidExpressionError) -> Fraction:
    """One exact rational number: ``3``, ``-1/3``, ``0.25``, ``2.5e-3``, an int or a Fraction.

    Raises ``error``, with ``what`` in its message, for anything else: ``nan``, ``inf``,
    floats, bools, empty text, more than :data:`MAX_DIGITS` digits.

    Examples
    --------
    >>> parse_rational(" -3/2 ", what="--tau"), parse_rational("0.25", what="--tau")
    (Fraction(-3, 2), Fraction(1, 4))
    >>> parse_rational("inf", what="--tau")
    Traceback (most recent call last):
        ...
    conslaws.core.errors.InvalidExpressionError: --tau: "inf" is not an integer, a fraction like ...
    """
    if isinstance(text, bool) or not isinstance(text, (str, int, Fraction)):
        raise error(f"{what}: expected a rational number like 3/2, got {type(text).__name__}")
    if not isinstance(text, str):
        value = Fraction(text)
        if max(value.numerator.bit_length(), value.denominator.bit_length()) > 3.33 * MAX_DIGITS:
            raise error(f"{what}: the number has more than {MAX_DIGITS} digits")
        return value
    raw = text.strip()
    if not raw or len(raw) > 3 * MAX_DIGITS:
        raise error(f"{what}: {'empty value' if not raw else 'the number is too long'}")
    numerator, slash, denominator = (raw[1:] if raw[0] in "+-" else raw).partition("/")
    try:
        value = _decimal(numerator.strip()) / (_decimal(denominator.strip()) if slash else 1)
    except ZeroDivisionError:
        raise error(f'{what}: "{_short(raw)}" divides by zero') from None
    except ValueError as problem:
        raise error(f'{what}: "{_short(raw)}" {problem}') from None
    return -value if raw[0] == "-" else value


def parse_name(text: str, *, what: str = "parameter name") -> str:
    """Check one name: an identifier in NFKC form, not a keyword, not starting with ``__``.

    Returns it without surrounding spaces.

    Examples
    --------
    >>> parse_name(" θ1 ")
    'θ1'
    >>> parse_name("lambda")
    Traceback (most recent call last):
        ...
    conslaws.core.errors.InvalidExpressionError: parameter name "lambda" is a reserved word of ...
    """
    name = _check_text(text, what).strip()
    problem = _name_problem(name) or (None if name.isidentifier() else
                                      "is not a name (letters, digits, _; no digit first)")
    if problem:
        raise InvalidExpressionError(f'{what} "{_short(name)}" {problem}')
    return name


def split_formulas(text: str, separator: str = ";", *, what: str = "formula") -> list[str]:
    """Split ``"u*v1; u*v2"`` into stripped components, refusing empty ones.

    Examples
    --------
    >>> split_formulas("u*v1; u*v2")
    ['u*v1', 'u*v2']
    >>> split_formulas("u*v1;;u*v2", what="--phi")
    Traceback (most recent call last):
        ...
    conslaws.core.errors.InvalidExpressionError: --phi "u*v1;;u*v2": component 2 is empty
    """
    parts = [part.strip() for part in _check_text(text, what).split(separator)]
    empty = next((i for i, part in enumerate(parts, 1) if not part), None)
    if empty is not None:
        raise InvalidExpressionError(f'{what} "{_short(text)}": component {empty} is empty')
    return parts
