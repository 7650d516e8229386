"""Polynomial rings over Z (python-flint) and their bridge to sympy.

The engine keeps every polynomial as a ``flint.fmpz_mpoly`` with integer
coefficients: a rational parameterization or field is scaled by the common
denominator first, which changes neither the span of the fields nor the Lie
algebra they generate.  sympy is used only at the edges: parsing user formulas
and printing laws.

:class:`SparseTerms` is a compiled copy of one polynomial (its terms with the
variables that actually occur) for evaluating values, gradients and Hessians at
a point in exact Python arithmetic.  flint's own evaluation converts all D
arguments on every call, which dominates when thousands of small polynomials
are evaluated at one point.

Examples
--------
>>> ring = PolynomialRing(("u", "v"))
>>> u, v = ring.gens
>>> p = ring.from_sympy("u**2/2 - v**2/3")
>>> p
3*u^2 - 2*v^2
>>> ring.to_sympy(p)
3*u**2 - 2*v**2
>>> SparseTerms(p).gradient([1, 2])
{0: 6, 1: -8}
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING, Any

import flint

from conslaws.core.algebra.parsing import parse_formula
from conslaws.core.errors import InvalidExpressionError

if TYPE_CHECKING:
    import sympy

__all__ = ["Number", "PolynomialRing", "SparseTerms", "primitive_part", "sparse_terms"]

#: An exact scalar: evaluation happens over Q in Python integers and fractions.
Number = int | Fraction


class PolynomialRing:
    """Z[θ_1, ..., θ_D] with named variables, backed by ``flint.fmpz_mpoly_ctx``.

    Parameters
    ----------
    names : sequence of str
        Variable names, in the order of ``parameter_names``; each must be a
        valid sympy symbol name.

    Examples
    --------
    >>> ring = PolynomialRing(("a", "b"))
    >>> ring.dimension
    2
    >>> ring.gens[0] * ring.gens[1]
    a*b
    """

    def __init__(self, names: Sequence[str]) -> None:
        self.names: tuple[str, ...] = tuple(names)
        if len(set(self.names)) != len(self.names):
            raise InvalidExpressionError("parameter names must be distinct")
        # flint's contexts take ASCII names only; other names (θ1) live in sympy
        # output, and flint works with internal ones.
        internal = self.names if all(n.isascii() for n in self.names) else tuple(
            f"x{i}" for i in range(len(self.names)))
        # degrevlex keeps printed laws in the natural "highest degree first" order.
        self.context: Any = flint.fmpz_mpoly_ctx.get(internal, "degrevlex")
        self.rational_context: Any = flint.fmpq_mpoly_ctx.get(internal, "degrevlex")
        self.index = {name: i for i, name in enumerate(self.names)}

    @property
    def dimension(self) -> int:
        """The number of variables D."""
        return len(self.names)

    @cached_property
    def gens(self) -> tuple[Any, ...]:
        """The variables as flint polynomials."""
        return tuple(self.context.gens())

    @cached_property
    def rational_gens(self) -> tuple[Any, ...]:
        """The variables as flint polynomials over Q (for parsing formulas)."""
        return tuple(self.rational_context.gens())

    @cached_property
    def sparse_ring(self) -> Any:
        """sympy's sparse ring Q[symbols], to read sympy expressions without recursion."""
        import sympy

        return sympy.polys.rings.PolyRing(self.symbols, sympy.QQ)

    @cached_property
    def symbols(self) -> tuple[sympy.Symbol, ...]:
        """The variables as plain sympy symbols, equal to a user's ``sympy.symbols(names)``."""
        import sympy

        return tuple(sympy.Symbol(name) for name in self.names)

    def zero(self) -> Any:
        """The zero polynomial."""
        return self.context.from_dict({})

    @cached_property
    def one(self) -> Any:
        """The constant polynomial 1."""
        return self.context.from_dict({(0,) * self.dimension: 1})

    def monomial(self, exponents: Iterable[tuple[int, int]], coefficient: int = 1) -> Any:
        """``coefficient * Π θ_j^e`` from sparse ``(j, e)`` pairs."""
        if self.dimension < 32:  # a dense exponent tuple is cheaper than products here
            dense = [0] * self.dimension
            for j, e in exponents:
                dense[j] += e
            return self.context.from_dict({tuple(dense): coefficient})
        # A product of generators: from_dict would build a dense exponent tuple of D
        # entries (0.2 ms at D = 2,000, for a monomial of two variables).
        result = self.one * coefficient
        for j, e in exponents:
            result *= self.gens[j] ** e
        return result

    def embed(self, poly: Any, offset: int) -> Any:
        """A polynomial of a smaller ring, its variable j become this ring's ``offset + j``.

        Built from the sparse terms: flint's ``compose`` (or ``project_to_context``)
        with thousands of generators costs a tenth of a second per polynomial.

        Examples
        --------
        >>> small, large = PolynomialRing(("u", "v")), PolynomialRing(("s", "u", "v", "w"))
        >>> u, v = small.gens
        >>> large.embed(3 * u * v**2 - 1, 1)
        3*u*v^2 - 1
        """
        terms = sparse_terms(poly)
        if len(terms) <= 16:  # a few products of generators beat D-long exponent tuples
            total = self.zero()
            for coefficient, support in terms:
                total += self.monomial([(offset + j, e) for j, e in support], coefficient)
            return total
        dense_terms: dict[tuple[int, ...], int] = {}
        for coefficient, support in terms:
            dense = [0] * self.dimension
            for j, e in support:
                dense[offset + j] = e
            dense_terms[tuple(dense)] = coefficient
        return self.context.from_dict(dense_terms)

    def from_dict(self, terms: Mapping[tuple[int, ...], int]) -> Any:
        """Polynomial from dense exponent tuples to integer coefficients."""
        return self.context.from_dict(dict(terms))

    def from_sympy(self, expression: Any, *, scale: bool = True) -> Any:
        """Convert a sympy expression (or a string) into an integer polynomial.

        Rational coefficients are cleared by the least common denominator when
        ``scale`` is true (the default); otherwise they must be integers.

        Raises
        ------
        InvalidExpressionError
            The expression does not parse, uses an unknown symbol, is not a
            polynomial, or has a non-rational coefficient.
        """
        poly, denominator = self.from_sympy_scaled(expression)
        if denominator != 1 and not scale:
            raise InvalidExpressionError(f"{expression!s} has non-integer coefficients")
        return poly

    def from_sympy_scaled(self, expression: Any) -> tuple[Any, int]:
        """``(q * expression, q)`` with q the least common denominator of the coefficients.

        A string is parsed by :func:`~conslaws.core.algebra.parsing.parse_formula` (nothing
        in it runs) and folded straight into flint; a sympy expression goes through sympy's
        sparse polynomial ring, so thousands of variables cost no recursion.
        """
        if isinstance(expression, str):
            rational = parse_formula(expression).evaluate(_FlintAlgebra(self, expression))
        elif isinstance(expression, (int, Fraction)) and not isinstance(expression, bool):
            rational = self.rational_context.from_dict(
                {(0,) * self.dimension: flint.fmpq(Fraction(expression).numerator,
                                                   Fraction(expression).denominator)})
        elif is_sympy_object(expression):
            rational = self._from_sympy_expression(expression)
        else:
            raise InvalidExpressionError(
                f"cannot read a {type(expression).__name__} as a formula: give a string, "
                "a sympy expression or a number")
        terms = rational.to_dict()
        denominator = math.lcm(*(int(c.q) for c in terms.values())) if terms else 1
        scaled = {m: int(c.p) * (denominator // int(c.q)) for m, c in terms.items()}
        return self.from_dict(scaled), denominator

    def _from_sympy_expression(self, expression: sympy.Basic) -> Any:
        import sympy

        expr = sympify_expression(expression, self.symbols_by_name)
        unknown = sorted(str(s) for s in expr.free_symbols if str(s) not in self.index)
        if unknown:
            raise InvalidExpressionError(
                f"{_excerpt(str(expression))}: unknown parameter(s) {', '.join(unknown[:5])}"
            )
        try:
            sparse = self.sparse_ring.from_expr(expr)
        except (ValueError, sympy.PolynomialError, sympy.CoercionFailed) as error:
            raise InvalidExpressionError(
                f"{_excerpt(str(expression))} is not a polynomial with rational coefficients"
            ) from error
        return self.rational_context.from_dict(
            {tuple(int(e) for e in monom): flint.fmpq(int(c.numerator), int(c.denominator))
             for monom, c in sparse.items() if c})

    @cached_property
    def symbols_by_name(self) -> dict[str, sympy.Symbol]:
        """Mapping used when parsing strings, so names resolve to our symbols."""
        return {name: sym for name, sym in zip(self.names, self.symbols, strict=False)}

    def to_sympy(self, poly: Any) -> sympy.Expr:
        """The polynomial as a sympy expression in :attr:`symbols`."""
        import sympy

        symbols = self.symbols
        terms = [
            sympy.Mul(sympy.Integer(coeff), *(symbols[j] ** e for j, e in support))
            for coeff, support in sparse_terms(poly)
        ]
        return sympy.Add(*terms) if terms else sympy.Integer(0)

    def __repr__(self) -> str:
        shown = ", ".join(self.names[:6]) + (", ..." if self.dimension > 6 else "")
        return f"PolynomialRing(Z[{shown}], D={self.dimension})"


def is_sympy_object(value: Any) -> bool:
    """Whether ``value`` is a sympy object, asked without importing sympy.

    sympy costs about 0.3 s to import; a value can only be one of its objects once
    some caller has imported it.

    Examples
    --------
    >>> is_sympy_object("u*v"), is_sympy_object(3)
    (False, False)
    >>> import sympy
    >>> is_sympy_object(sympy.Symbol("u") * 2)
    True
    """
    module = sys.modules.get("sympy")
    return module is not None and isinstance(value, module.Basic)


def sympify_expression(expression: Any, names: Mapping[str, sympy.Symbol]) -> sympy.Expr:
    """A formula as a sympy expression in our symbols; strings never reach sympy's parser.

    A string is parsed by the whitelist of :func:`~conslaws.core.algebra.parsing.parse_formula`
    and built from sympy objects; a sympy expression has its symbols mapped by name onto
    ``names`` (a user's ``Symbol("u", positive=True)`` is our ``u``).

    Examples
    --------
    >>> import sympy
    >>> u = sympy.Symbol("u")
    >>> sympify_expression("u^2/2", {"u": u})
    u**2/2
    >>> sympify_expression("__import__('os')", {})
    Traceback (most recent call last):
        ...
    conslaws.core.errors.InvalidExpressionError: cannot use a function call in formula "__imp...
    """
    import sympy

    if isinstance(expression, sympy.Poly):
        expression = expression.as_expr()  # a sympy polynomial: its expression
    if isinstance(expression, sympy.Basic):
        if not isinstance(expression, sympy.Expr):
            raise InvalidExpressionError(f"{expression!s} is not an expression")
        return expression.xreplace(
            {s: names[str(s)] for s in expression.free_symbols if str(s) in names}
        )
    if isinstance(expression, (int, Fraction)) and not isinstance(expression, bool):
        value = Fraction(expression)
        return sympy.Rational(value.numerator, value.denominator)
    if not isinstance(expression, str):
        raise InvalidExpressionError(
            f"cannot read a {type(expression).__name__} as a formula: give a string, "
            "a sympy expression or a number")
    result: sympy.Expr = parse_formula(expression).to_sympy(names)
    return result


class _FlintAlgebra:
    """Folds a parsed formula into ``flint.fmpq_mpoly`` (see ``Formula.evaluate``)."""

    def __init__(self, ring: PolynomialRing, text: str) -> None:
        self.ring, self.text = ring, text
        self.zero_exponents = (0,) * ring.dimension

    def number(self, value: Fraction) -> Any:
        return self.ring.rational_context.from_dict(
            {self.zero_exponents: flint.fmpq(value.numerator, value.denominator)})

    def name(self, name: str) -> Any:
        if name not in self.ring.index:
            raise InvalidExpressionError(f"{_excerpt(self.text)}: unknown parameter {name}")
        return self.ring.rational_gens[self.ring.index[name]]

    def add(self, items: list[Any]) -> Any:
        return _pairwise(items, lambda x, y: x + y)

    def mul(self, items: list[Any]) -> Any:
        return _pairwise(items, lambda x, y: x * y)

    def neg(self, x: Any) -> Any:
        return -x

    def div(self, x: Any, y: Any) -> Any:
        if not y.is_constant():
            raise InvalidExpressionError(
                f"{_excerpt(self.text)} is not a polynomial (it divides by a parameter)")
        if y.is_zero():
            raise InvalidExpressionError(f"{_excerpt(self.text)} divides by zero")
        return x / y.leading_coefficient()

    def power(self, x: Any, exponent: int) -> Any:
        return x**exponent


def _pairwise(items: list[Any], combine: Any) -> Any:
    """Fold by halving: summing n terms one at a time copies O(n^2) terms."""
    while len(items) > 1:
        items = [combine(items[i], items[i + 1]) if i + 1 < len(items) else items[i]
                 for i in range(0, len(items), 2)]
    return items[0]


def _excerpt(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def primitive_part(poly: Any) -> Any:
    """Divide by the content and make the leading coefficient positive."""
    if poly.is_zero():
        return poly
    content = poly.content()
    result = poly / content if content != 1 else poly
    if result.leading_coefficient() < 0:
        result = -result
    return result


_NONZERO = re.compile(b"[^\\x00]")


def _support(exponents: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """Nonzero ``(index, exponent)`` pairs of a dense exponent tuple.

    flint hands out dense tuples of length D; scanning them in Python costs
    more than everything else done with a small polynomial, so the scan runs in
    C through ``bytes`` and a regular expression when exponents fit in a byte.
    """
    try:
        packed = bytes(exponents)
    except ValueError:
        return tuple((j, int(e)) for j, e in enumerate(exponents) if e)
    return tuple((m.start(), packed[m.start()]) for m in _NONZERO.finditer(packed))


#: From this many variables on, terms are read off flint's printed form: ``to_dict``
#: builds a dense exponent tuple of length D per term (6 s for the 1,152 fields of a
#: d = 24 attention layer, against 0.3 s for printing them).
PRINTED_TERMS_FROM = 64

_SIMPLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# flint caches its contexts (one object per tuple of names), so they key this cache.
_NAME_INDEX: dict[Any, dict[str, int] | None] = {}


def _name_index(context: Any) -> dict[str, int] | None:
    """Variable name -> index, when every name is a plain identifier (else None)."""
    if context not in _NAME_INDEX:
        names = context.names()
        plain = all(_SIMPLE_NAME.match(n) for n in names)
        _NAME_INDEX[context] = {n: i for i, n in enumerate(names)} if plain else None
    return _NAME_INDEX[context]


def sparse_terms(poly: Any) -> list[tuple[int, tuple[tuple[int, int], ...]]]:
    """The terms ``(coefficient, ((j, e), ...))`` of a flint polynomial, j increasing."""
    context = poly.context()
    index = _name_index(context) if context.nvars() >= PRINTED_TERMS_FROM else None
    if index is not None and not poly.is_zero():
        terms = []
        # Printed as "c*x^e*y - z + 5": names are plain identifiers, so " + " and
        # " - " only ever separate terms.
        for text in str(poly).replace(" - ", " + -").split(" + "):
            sign = -1 if text.startswith("-") else 1
            factors = text.lstrip("-").split("*")
            coefficient = 1
            if factors[0][0].isdigit():
                coefficient = int(factors[0])
                factors = factors[1:]
            support = []
            for factor in factors:
                name, _, exponent = factor.partition("^")
                support.append((index[name], int(exponent) if exponent else 1))
            terms.append((sign * coefficient, tuple(sorted(support))))
        if len(terms) == len(poly):
            return terms
    return [(int(c), _support(exps)) for exps, c in poly.to_dict().items()]


class SparseTerms:
    """A polynomial compiled for repeated exact evaluation at points.

    Parameters
    ----------
    poly : flint.fmpz_mpoly
        The polynomial; its terms are read once.

    Examples
    --------
    >>> ring = PolynomialRing(("x", "y"))
    >>> x, y = ring.gens
    >>> t = SparseTerms(x**2 * y)
    >>> t.value([3, 2]), t.gradient([3, 2]), t.hessian([3, 2])
    (18, {0: 12, 1: 9}, {(0, 0): 4, (0, 1): 6, (1, 0): 6})
    """

    __slots__ = ("terms", "variables")

    def __init__(self, poly: Any) -> None:
        self.terms: list[tuple[int, tuple[tuple[int, int], ...]]] = sparse_terms(poly)
        self.variables: frozenset[int] = frozenset(j for _, s in self.terms for j, _ in s)

    def value(self, point: Sequence[Number]) -> Number:
        """The value at ``point``."""
        total: Number = 0
        for coeff, support in self.terms:
            term: Number = coeff
            for j, e in support:
                term *= point[j] ** e
            total += term
        return total

    def gradient(self, point: Sequence[Number]) -> dict[int, Number]:
        """Nonzero partial derivatives at ``point``, as ``{j: ∂_j p(point)}``."""
        grad: dict[int, Number] = {}
        for coeff, support in self.terms:
            for a, (j, e) in enumerate(support):
                term: Number = coeff * e * point[j] ** (e - 1)
                for b, (k, f) in enumerate(support):
                    if b != a:
                        term *= point[k] ** f
                grad[j] = grad.get(j, 0) + term
        return {j: v for j, v in grad.items() if v}

    def hessian(self, point: Sequence[Number]) -> dict[tuple[int, int], Number]:
        """Nonzero second derivatives at ``point``, as ``{(j, k): ∂_j ∂_k p}``."""
        hess: dict[tuple[int, int], Number] = {}
        for coeff, support in self.terms:
            for a, (j, e) in enumerate(support):
                for b, (k, f) in enumerate(support):
                    if a == b:
                        if e < 2:
                            continue
                        term: Number = coeff * e * (e - 1) * point[j] ** (e - 2)
                    else:
                        term = coeff * e * f * point[j] ** (e - 1) * point[k] ** (f - 1)
                    for c, (m, g) in enumerate(support):
                        if c != a and c != b:
                            term *= point[m] ** g
                    hess[(j, k)] = hess.get((j, k), 0) + term
        return {jk: v for jk, v in hess.items() if v}
