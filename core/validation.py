"""Checks of user arguments and size guards, run before anything is built.

Every public entry point (:func:`~conslaws.core.frontends.api.count`, ``find_laws``,
``build_model``, ``make_backend``, ``make_flow``, the ``Model`` constructors and
the architecture plugins) validates its arguments here first, so that a bad
value raises one :class:`~conslaws.core.errors.ConslawsError` naming the
argument, and an input too large to handle is refused from arithmetic on the
options, before gigabytes are allocated.

Limits
------
* :data:`MAX_PARAMETERS`: parameters of a model.  The probe engine, which
  counts the largest networks, needs a D x D matrix of 8-byte entries: 40,000
  parameters would take 12 GiB, above its 8 GiB limit.
* :data:`MAX_GRAPH_SIZE`: nodes plus edges of a network graph (weight sharing
  and pooling give graphs many more edges than parameters).  A convolution graph
  of 2.1 million nodes and edges took 11 s and 1.1 GB to build.
* :data:`MAX_FORMULA_SIZE`: the expanded size of formulas, estimated from their
  tree without expanding them: terms times degree.  ``(x+y)**2000`` (2,001 terms
  of degree 2,000, size 4 million) takes about 20 s to count; ``(x+y+z+w)**200``
  (1.4 million terms, size 275 million) took 10 s just to expand.
* :data:`MAX_DEGREE`: the degree of one formula (exact values of x**(10**6) at a
  point took two minutes).
* :data:`MAX_DENSE_SIZE`: terms times parameters.  flint stores the D exponents of
  every term (about a byte each): a sum of 20,000 cubic terms in 20,002 variables
  needs gigabytes, and its conversion crashed the process.
* law searches: ``C(D + K, K) - 1`` unknown coefficients for degree K in D
  variables, bounded by :data:`conslaws.core.engine.laws.MAX_MONOMIALS`.

Examples
--------
>>> law_unknowns(3, 2)              # x, y, z and their 6 products
9
>>> check_model_size("relu widths=3000,3000,1", ModelSize(parameters=9_003_000))
Traceback (most recent call last):
    ...
conslaws.core.errors.ModelTooLargeError: relu widths=3000,3000,1 has 9,003,000 parameters, ...
>>> formula_size("(x + y + z + w)**200")
FormulaSize(terms=1373701, degree=200)
>>> integer_argument(True, "seed")
Traceback (most recent call last):
    ...
conslaws.core.errors.InvalidOptionError: seed must be an integer, got True
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NamedTuple

from conslaws.core.algebra.parsing import parse_formula, parse_name, parse_rational
from conslaws.core.errors import (
    ConslawsError,
    InvalidExpressionError,
    InvalidModulusError,
    InvalidOptionError,
    InvalidPointError,
    ModelTooLargeError,
)

if TYPE_CHECKING:
    from conslaws.core.models.model import Model
    from conslaws.core.plugins.architecture import Architecture
    from conslaws.core.plugins.backend import Backend
    from conslaws.core.plugins.flow import Flow

__all__ = [
    "MAX_DEGREE",
    "MAX_DENSE_SIZE",
    "MAX_FORMULA_SIZE",
    "MAX_GRAPH_SIZE",
    "MAX_PARAMETERS",
    "FormulaSize",
    "ModelSize",
    "RunArguments",
    "architecture_argument",
    "backend_argument",
    "capped_comb",
    "check_flow_names",
    "check_formula_sizes",
    "check_model_size",
    "check_run_arguments",
    "check_search_size",
    "exact_number",
    "flag_argument",
    "flow_argument",
    "flow_options_argument",
    "formula_size",
    "formulas_argument",
    "integer_argument",
    "law_unknowns",
    "modulus_argument",
    "names_argument",
    "point_argument",
    "rows_argument",
    "search_degree_argument",
    "seed_argument",
]

#: Most parameters of a model (see the module notes).
MAX_PARAMETERS = 40_000
#: Most nodes plus edges of a network graph.
MAX_GRAPH_SIZE = 500_000
#: Largest estimated expanded size (terms times degree, summed) of formulas.
MAX_FORMULA_SIZE = 10_000_000
#: Highest total degree of a formula: exact values at a point of x**(10**5) take 3 s,
#: of x**(10**6) two minutes.
MAX_DEGREE = 100_000
#: Largest number of exponents stored for the terms of phi or of listed paths (terms
#: times parameters): flint keeps all D exponents of every term, about a byte each.
MAX_DENSE_SIZE = 1_000_000_000


def _refuse(kind: type[ConslawsError], argument: str | None, message: str) -> ConslawsError:
    """``kind(message)``, with the API ``argument`` at fault attached (the CLI shows
    its flag when the message starts with it)."""
    if argument is None:
        return kind(message)
    try:
        factory: Any = kind
        error: ConslawsError = factory(message, argument=argument)
        return error
    except TypeError:
        return kind(message)


def _shown(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_name(value: object) -> str:
    kind = type(value)
    module = kind.__module__.split(".")[0]
    return kind.__name__ if module == "builtins" else f"{module} {kind.__name__}"


# -- scalars ---------------------------------------------------------------------------------


def integer_argument(value: Any, argument: str, *, minimum: int | None = None,
                     kind: type[ConslawsError] = InvalidOptionError) -> int:
    """``value`` as an int: any integral number (``numpy.int64`` too), not a bool.

    Examples
    --------
    >>> import numpy
    >>> integer_argument(numpy.int64(3), "seed")
    3
    >>> integer_argument(2.5, "certify_degree", minimum=0)
    Traceback (most recent call last):
        ...
    conslaws.core.errors.InvalidOptionError: certify_degree must be an integer, got 2.5
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _refuse(kind, argument, f"{argument} must be an integer, got {_shown(value)}")
    number = int(value)
    if minimum is not None and number < minimum:
        raise _refuse(kind, argument, f"{argument} must be at least {minimum}, got {number}")
    return number


def seed_argument(seed: Any) -> int | None:
    """The seed as an int (any integral number), or None."""
    return None if seed is None else integer_argument(seed, "seed")


def modulus_argument(modulus: Any) -> int | None:
    """The modulus as an int, or None; primality is checked here too (as the backend does).

    Examples
    --------
    >>> modulus_argument(0)
    Traceback (most recent call last):
        ...
    conslaws.core.errors.InvalidModulusError: modulus must be a prime between 3 and 2**64, got 0
    """
    if modulus is None:
        return None
    from conslaws.backends.modular import check_modulus

    return check_modulus(integer_argument(modulus, "modulus", kind=InvalidModulusError))


def flag_argument(value: Any, argument: str) -> bool:
    """A switch: True or False (numpy booleans too)."""
    if type(value).__name__ in ("bool", "bool_") and value in (True, False):
        return bool(value)
    raise _refuse(InvalidOptionError, argument,
                  f"{argument} must be True or False, got {_shown(value)}")


def exact_number(value: Any, argument: str = "point",
                 kind: type[ConslawsError] = InvalidPointError) -> Fraction:
    """An exact rational from an int, Fraction, sympy Rational, numpy integer or text.

    Floats are refused: their binary value is rarely the number meant.

    Examples
    --------
    >>> import sympy
    >>> exact_number(sympy.Rational(1, 3)), exact_number("-3/2"), exact_number(4)
    (Fraction(1, 3), Fraction(-3, 2), Fraction(4, 1))
    >>> exact_number(0.5)
    Traceback (most recent call last):
        ...
    conslaws.core.errors.InvalidPointError: point: 0.5 is a float, not exact: give ...
    """
    if isinstance(value, str):
        return parse_rational(value, what=argument, error=kind)
    if isinstance(value, bool):
        raise _refuse(kind, argument, f"{argument}: {value!r} is not a number")
    if isinstance(value, numbers.Integral):
        return parse_rational(int(value), what=argument, error=kind)
    if isinstance(value, numbers.Rational):
        return parse_rational(Fraction(int(value.numerator), int(value.denominator)),
                              what=argument, error=kind)
    if isinstance(value, numbers.Real):
        raise _refuse(kind, argument,
                      f"{argument}: {_shown(value)} is a float, not exact: give an int, a "
                      "Fraction or a string like '1/2'")
    raise _refuse(kind, argument, f"{argument}: {_shown(value)} ({_type_name(value)}) is not "
                  "an exact rational (int, Fraction or a string like '3/2')")


# -- collections -----------------------------------------------------------------------------


def _is_text(value: object) -> bool:
    return isinstance(value, (str, bytes, bytearray, memoryview))


def _as_list(value: Any) -> list[Any] | None:
    """``value`` as a list when it is a sequence (not text), a sympy Matrix or a 1-D array."""
    if _is_text(value) or isinstance(value, Mapping):
        return None
    if isinstance(value, Sequence):
        return list(value)
    if is_sympy_matrix(value):
        return list(value)  # a sympy Matrix iterates over its entries, row by row
    if getattr(value, "ndim", None) == 1 and hasattr(value, "tolist"):
        result: list[Any] = value.tolist()  # a numpy vector
        return result
    return None


def is_sympy_matrix(value: object) -> bool:
    """Whether ``value`` is a sympy Matrix, asked without importing sympy.

    Examples
    --------
    >>> import sympy
    >>> is_sympy_matrix(sympy.Matrix([[1, 2]])), is_sympy_matrix([[1, 2]])
    (True, False)
    """
    return any(c.__name__ == "MatrixBase" and c.__module__.startswith("sympy")
               for c in type(value).__mro__)


def point_argument(point: Any) -> str | list[Any] | None:
    """Check the type of ``point``: None, ``"1,2,3/2"``, a sequence or a mapping by name.

    A mapping becomes the text ``"u=1,v=3/2"`` (its values checked here); names,
    values and the length are checked against the model by
    :mod:`conslaws.core.models.point`.

    Examples
    --------
    >>> point_argument({"u": 1, "v": Fraction(3, 2)})
    'u=1,v=3/2'
    """
    if point is None or isinstance(point, str):
        return point
    if isinstance(point, Mapping):
        pairs = []
        for name, value in point.items():
            key = _symbol_name(name)
            if key is None:
                raise _refuse(InvalidPointError, "point",
                              f"point: {_shown(name)} is not a parameter name")
            pairs.append(f"{key}={exact_number(value, f'point[{key!r}]')}")
        return ",".join(pairs) if pairs else ""
    values = _as_list(point)
    if values is None:
        raise _refuse(InvalidPointError, "point",
                      f"point must be a string like '1,2,3/2', a sequence of exact rationals "
                      f"or a mapping name -> value, got {_shown(point)} ({_type_name(point)})")
    return values


def names_argument(names: Any, argument: str = "names") -> tuple[str, ...]:
    """Parameter names: a sequence of strings or sympy Symbols, each a valid name.

    A single string is refused, not split into characters.

    Examples
    --------
    >>> import sympy
    >>> names_argument((sympy.Symbol("u"), "v1"))
    ('u', 'v1')
    >>> names_argument("u,v")
    Traceback (most recent call last):
        ...
    conslaws.core.errors.InvalidExpressionError: names must be a sequence of names like ...
    """
    items = None if isinstance(names, Mapping) else _as_list(names)
    if items is None and isinstance(names, (set, frozenset)):
        raise _refuse(InvalidExpressionError, argument,
                      f"{argument} must be an ordered sequence (a set has no order)")
    if items is None:
        raise _refuse(InvalidExpressionError, argument,
                      f"{argument} must be a sequence of names like ('u', 'v'), got "
                      f"{_shown(names)} ({_type_name(names)})")
    if len(items) > MAX_PARAMETERS:
        raise _refuse(ModelTooLargeError, argument,
                      f"{argument}: {len(items):,} parameters, more than conslaws handles "
                      f"(MAX_PARAMETERS = {MAX_PARAMETERS:,})")
    checked = []
    for item in items:
        name = _symbol_name(item)
        if name is None:
            raise _refuse(InvalidExpressionError, argument,
                          f"{argument}: {_shown(item)} ({_type_name(item)}) is not a name")
        checked.append(parse_name(name, what=f"{argument}: name"))
    seen: set[str] = set()
    for name in checked:
        if name in seen:
            raise _refuse(InvalidExpressionError, argument,
                          f"{argument}: {name!r} is given twice (names must be distinct)")
        seen.add(name)
    return tuple(checked)


def _symbol_name(item: object) -> str | None:
    if isinstance(item, str):
        return item
    if type(item).__module__.startswith("sympy") and getattr(item, "is_Symbol", False):
        name = getattr(item, "name", None)
        return name if isinstance(name, str) else None
    return None


def formulas_argument(formulas: Any, argument: str = "phi") -> list[Any]:
    """Formulas: a sequence (or sympy Matrix, or 1-D array) of strings, sympy expressions
    or numbers.  A single string or expression is refused with the fix."""
    items = _as_list(formulas)
    if items is None:
        if isinstance(formulas, str) or type(formulas).__module__.startswith("sympy"):
            raise _refuse(InvalidExpressionError, argument,
                          f"{argument} must be a sequence of formulas; for one formula give "
                          f"[{_shown(formulas)}]")
        raise _refuse(InvalidExpressionError, argument,
                      f"{argument} must be a sequence of formulas (strings or sympy "
                      f"expressions), got {_shown(formulas)} ({_type_name(formulas)})")
    return items


def rows_argument(fields: Any, dimension: int, argument: str = "fields") -> list[Any]:
    """Vector fields: a sequence of fields (each D components), or a sympy Matrix whose
    rows are the fields.  Components are returned as lists; VectorFields pass unchanged."""
    if is_sympy_matrix(fields):
        rows: list[Any] = fields.tolist()
        if rows and len(rows[0]) != dimension:
            raise _refuse(InvalidExpressionError, argument,
                          f"{argument}: each row of the Matrix is one field of {dimension} "
                          f"components, got rows of {len(rows[0])} (transpose the Matrix if "
                          "its columns are the fields)")
        return rows
    items = _as_list(fields)
    if items is None:
        raise _refuse(InvalidExpressionError, argument,
                      f"{argument} must be a sequence of vector fields, each a sequence of "
                      f"{dimension} components, got {_shown(fields)} ({_type_name(fields)})")
    from conslaws.core.algebra.vector_fields import VectorField

    result: list[Any] = []
    for i, field in enumerate(items, 1):
        if isinstance(field, VectorField):
            result.append(field)
            continue
        components = _as_list(field)
        if components is None:
            raise _refuse(InvalidExpressionError, argument,
                          f"{argument}: field {i} must be a sequence of {dimension} components, "
                          f"got {_shown(field)}")
        result.append(components)
    return result


# -- plugins ---------------------------------------------------------------------------------


def architecture_argument(architecture: Any) -> str | Architecture | Model:
    """An architecture name, an Architecture (instance or class) or a built Model."""
    from conslaws.core.models.model import Model
    from conslaws.core.plugins.architecture import Architecture

    if isinstance(architecture, (str, Architecture, Model)):
        return architecture
    if isinstance(architecture, type) and issubclass(architecture, Architecture):
        return architecture()
    hint = ""
    if type(architecture).__module__.startswith("networkx"):
        hint = "; build a model from a network graph with Model.from_graph(graph)"
    elif type(architecture).__module__.startswith("sympy"):
        hint = "; for a formula use build_model('custom', phi=[...])"
    raise _refuse(InvalidOptionError, "architecture",
                  f"architecture must be a registry name (str), an Architecture or a Model, "
                  f"got {_type_name(architecture)}{hint}")


def backend_argument(backend: Any) -> str | Backend:
    """A backend name or a Backend instance."""
    from conslaws.core.plugins.backend import Backend

    if isinstance(backend, (str, Backend)):
        return backend
    raise _refuse(InvalidOptionError, "backend",
                  f"backend must be a registry name (str) or a Backend instance, got "
                  f"{_shown(backend)}")


def flow_argument(flow: Any) -> str | Flow:
    """A flow name or a Flow instance."""
    from conslaws.core.plugins.flow import Flow

    if isinstance(flow, (str, Flow)):
        return flow
    raise _refuse(InvalidOptionError, "flow",
                  f"flow must be a registry name (str) or a Flow instance, got {_shown(flow)}")


def flow_options_argument(options: Any) -> dict[str, Any] | None:
    """Flow options: None or a mapping from option names (str) to values."""
    if options is None:
        return None
    if not isinstance(options, Mapping):
        shown = f"the string {options!r}" if isinstance(options, str) else _shown(options)
        raise _refuse(InvalidOptionError, "flow_options",
                      f"flow_options must be a mapping like {{'tau': '1/2'}}, got {shown}")
    bad = next((k for k in options if not isinstance(k, str)), None)
    if bad is not None:
        raise _refuse(InvalidOptionError, "flow_options",
                      f"flow_options: option names must be strings, got {_shown(bad)}")
    return dict(options)


def check_flow_names(label: str, names: Sequence[str], *, clock: str, time: str,
                     velocities: bool) -> None:
    """Refuse parameter names that a flow's own coordinates would shadow.

    The flow adds the clock ``clock`` (and, with ``velocities``, ``{name}_dot`` for
    every parameter) and prints its laws in the time ``time``: a parameter with one
    of these names would make the laws ambiguous.

    Examples
    --------
    >>> check_flow_names("flow momentum", ("x", "x_dot"), clock="s", time="t",
    ...                  velocities=True)
    Traceback (most recent call last):
        ...
    conslaws.core.errors.InvalidOptionError: flow momentum: parameter 'x_dot' is the name ...
    """
    for reserved, role in ((clock, "its clock"), (time, "the time in its laws")):
        if reserved in names:
            raise _refuse(InvalidOptionError, "flow",
                          f"{label}: parameter {reserved!r} is the name of {role}; "
                          "rename the parameter")
    if velocities:
        known = set(names)
        for name in names:
            if name.endswith("_dot") and name[: -len("_dot")] in known:
                raise _refuse(InvalidOptionError, "flow",
                              f"{label}: parameter {name!r} is the name of the velocity "
                              f"of {name[: -len('_dot')]!r}; rename the parameter")


@dataclass(frozen=True)
class RunArguments:
    """The arguments of ``count`` / ``find_laws``, checked and normalised."""

    architecture: str | Architecture | Model
    backend: str | Backend
    seed: int | None
    point: str | list[Any] | None
    flow: str | Flow
    flow_options: dict[str, Any] | None
    modulus: int | None
    progress: bool
    certify_degree: int | None = None


def check_run_arguments(*, architecture: Any, backend: Any, seed: Any, point: Any, flow: Any,
                        flow_options: Any, modulus: Any, progress: Any,
                        certify_degree: Any = None) -> RunArguments:
    """Check every argument of ``count`` and ``find_laws`` that needs no model.

    Examples
    --------
    >>> import numpy
    >>> check_run_arguments(architecture="relu", backend="modular", seed=numpy.int64(1),
    ...                     point=None, flow="gradient", flow_options=None, modulus=None,
    ...                     progress=False).seed
    1
    """
    return RunArguments(
        architecture=architecture_argument(architecture),
        backend=backend_argument(backend),
        seed=seed_argument(seed),
        point=point_argument(point),
        flow=flow_argument(flow),
        flow_options=flow_options_argument(flow_options),
        modulus=modulus_argument(modulus),
        progress=flag_argument(progress, "progress"),
        certify_degree=None if certify_degree is None else search_degree_argument(
            certify_degree, "certify_degree", minimum=0),
    )


# -- sizes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSize:
    """What building a model would allocate, computed from its options alone.

    Attributes
    ----------
    parameters : int
        Number of parameters D.
    graph : int
        Nodes plus edges of its network graph (0 when it has none).
    formula : int
        Expanded size of its formulas, terms times degree (0 when not known).
    """

    parameters: int
    graph: int = 0
    formula: int = 0


def check_model_size(label: str, size: ModelSize | None) -> None:
    """Raise :class:`ModelTooLargeError` naming the size when a limit is exceeded."""
    if size is None:
        return
    if size.parameters > MAX_PARAMETERS:
        raise _refuse(ModelTooLargeError, None,
                      f"{label} has {size.parameters:,} parameters, more than conslaws "
                      f"handles (MAX_PARAMETERS = {MAX_PARAMETERS:,})")
    if size.graph > MAX_GRAPH_SIZE:
        raise _refuse(ModelTooLargeError, None,
                      f"{label} has a network graph of {size.graph:,} nodes and edges, more "
                      f"than conslaws builds (MAX_GRAPH_SIZE = {MAX_GRAPH_SIZE:,})")
    if size.formula > MAX_FORMULA_SIZE:
        raise _refuse(ModelTooLargeError, None,
                      f"{label}: phi has an expanded size (terms x degree) of "
                      f"{size.formula:,}, more than conslaws handles "
                      f"(MAX_FORMULA_SIZE = {MAX_FORMULA_SIZE:,})")
    if size.formula * size.parameters > MAX_DENSE_SIZE:
        raise _refuse(ModelTooLargeError, None,
                      f"{label}: phi's {size.formula:,} terms x degree in {size.parameters:,} "
                      f"parameters need about {size.formula * size.parameters / 1e9:.1f} GB "
                      f"of exponents (limit MAX_DENSE_SIZE = {MAX_DENSE_SIZE:,})")


def capped_comb(n: int, k: int, cap: int) -> int:
    """``math.comb(n, k)``, or ``cap + 1`` as soon as it exceeds ``cap`` (fast for huge n, k).

    Examples
    --------
    >>> capped_comb(10, 3, 1000), capped_comb(10**21, 10**20, 1000)
    (120, 1001)
    """
    k = min(k, n - k)
    if k < 0:
        return 0
    value = 1
    # C(n, i) grows with i up to n / 2: once above the cap it stays above.
    for i in range(k):
        value = value * (n - i) // (i + 1)
        if value > cap:
            return cap + 1
    return value


def law_unknowns(dimension: int, degree: int, cap: int | None = None) -> int:
    """Unknown coefficients of a law of degree 1..``degree`` in ``dimension`` variables.

    There are C(D + K, K) monomials of degree at most K, the constant one
    excluded; with ``cap``, any count above it is returned as ``cap + 1``.
    """
    if cap is None:
        return math.comb(dimension + degree, degree) - 1
    return min(capped_comb(dimension + degree, degree, cap + 1) - 1, cap + 1)


def _magnitude(number: int) -> str:
    """``1,234`` or, for huge numbers, ``about 10^41``."""
    return f"{number:,}" if number < 10**15 else f"about 10^{len(str(number)) - 1}"


def check_search_size(dimension: int, degree: int, argument: str = "degree") -> None:
    """Raise SearchTooLargeError when a law search of this degree would be refused.

    The bound of :mod:`conslaws.core.engine.laws` is applied before the model's closure is
    computed, with arithmetic that stays fast for any degree.

    Examples
    --------
    >>> check_search_size(5, 4_000_000_000, "certify_degree")
    Traceback (most recent call last):
        ...
    conslaws.core.engine.laws.SearchTooLargeError: certify_degree 4,000,000,000 in 5 ...
    """
    from conslaws.core.engine.laws import MAX_MONOMIALS, SearchTooLargeError

    if law_unknowns(dimension, degree, cap=MAX_MONOMIALS) <= MAX_MONOMIALS:
        return
    # The exact count is cheap when few factors enter C(D + K, min(D, K)).
    shown = (_magnitude(law_unknowns(dimension, degree)) if min(dimension, degree) <= 30
             else f"more than {MAX_MONOMIALS:,}")
    raise _refuse(SearchTooLargeError, argument,
                  f"{argument} {degree:,} in {dimension:,} variables means {shown} unknown "
                  f"coefficients (limit {MAX_MONOMIALS:,}); lower it")


def search_degree_argument(degree: Any, argument: str, minimum: int) -> int:
    """A law-search degree: an integer >= ``minimum`` that alone does not exceed the bound.

    With D >= 1 variables there are at least K unknowns for degree K, so a degree
    above the limit is refused before anything is built.

    Examples
    --------
    >>> search_degree_argument(10**21, "degree", 1)
    Traceback (most recent call last):
        ...
    conslaws.core.engine.laws.SearchTooLargeError: degree 1,000,000,000,000,000,000,000 ...
    """
    from conslaws.core.engine.laws import MAX_MONOMIALS, SearchTooLargeError

    value = integer_argument(degree, argument, minimum=minimum)
    if value > MAX_MONOMIALS:
        raise _refuse(SearchTooLargeError, argument,
                      f"{argument} {value:,} means at least {value:,} unknown coefficients "
                      f"in a law search (limit {MAX_MONOMIALS:,}); lower it")
    return value


# -- formulas --------------------------------------------------------------------------------


class FormulaSize(NamedTuple):
    """A bound on a formula's expansion: number of terms and total degree."""

    terms: int
    degree: int


_CAP = 10 * MAX_FORMULA_SIZE  # estimates above it are all "too large"


@dataclass(frozen=True)
class _Bound:
    terms: int
    degree: int
    names: frozenset[str]
    known: bool = True  # False: the node is not a polynomial (its conversion will refuse)

    def tightened(self) -> _Bound:
        """At most the number of monomials of degree <= d in the names that occur."""
        if self.terms <= 1:
            return self
        monomials = capped_comb(len(self.names) + self.degree, self.degree, _CAP)
        return _Bound(min(self.terms, monomials), self.degree, self.names, self.known)


_ZERO = _Bound(0, 0, frozenset())
_ONE = _Bound(1, 0, frozenset())


def _union(items: Iterable[_Bound]) -> frozenset[str]:
    names: set[str] = set()
    for item in items:
        names |= item.names
    return frozenset(names)


class _Estimate:
    """A :class:`~conslaws.core.algebra.parsing.FormulaAlgebra` bounding the expansion."""

    def number(self, value: Fraction) -> _Bound:
        return _ZERO if value == 0 else _ONE

    def name(self, name: str) -> _Bound:
        return _Bound(1, 1, frozenset((name,)))

    def add(self, items: list[_Bound]) -> _Bound:
        return _Bound(min(sum(i.terms for i in items), _CAP), max(i.degree for i in items),
                      _union(items), all(i.known for i in items)).tightened()

    def mul(self, items: list[_Bound]) -> _Bound:
        if any(i.terms == 0 for i in items):
            return _ZERO
        terms = 1
        for item in items:
            terms = min(terms * item.terms, _CAP)
        return _Bound(terms, sum(i.degree for i in items), _union(items),
                      all(i.known for i in items)).tightened()

    def neg(self, x: _Bound) -> _Bound:
        return x

    def div(self, x: _Bound, y: _Bound) -> _Bound:
        return x if y.degree == 0 else _Bound(x.terms, x.degree, x.names, False)

    def power(self, x: _Bound, exponent: int) -> _Bound:
        if exponent == 0:
            return _ONE
        if x.terms == 0:
            return _ZERO
        # A product of k terms chosen among t, with repetition and in any order.
        terms = capped_comb(x.terms + exponent - 1, exponent, _CAP)
        return _Bound(terms, x.degree * exponent, x.names, x.known).tightened()


def _sympy_bound(expression: Any) -> _Bound:
    """The same bound for a sympy expression, walked with an explicit stack."""
    import sympy

    algebra = _Estimate()
    out: list[_Bound] = []
    stack: list[tuple[Any, bool]] = [(expression, False)]
    while stack:
        node, ready = stack.pop()
        if isinstance(node, sympy.Symbol):
            out.append(algebra.name(node.name))
        elif isinstance(node, sympy.Rational):
            out.append(algebra.number(Fraction(int(node.p), int(node.q))))
        elif isinstance(node, sympy.Pow) and node.exp.is_Integer and node.exp >= 0:
            if ready:
                out.append(algebra.power(out.pop(), int(node.exp)))
            else:
                stack += [(node, True), (node.base, False)]
        elif isinstance(node, (sympy.Add, sympy.Mul)):
            if ready:
                items = out[len(out) - len(node.args):]
                del out[len(out) - len(node.args):]
                out.append(algebra.add(items) if isinstance(node, sympy.Add)
                           else algebra.mul(items))
            else:
                stack.append((node, True))
                stack.extend((a, False) for a in reversed(node.args))
        else:  # a function, a float, a negative power: refused when converted
            symbols: set[Any] = getattr(node, "free_symbols", set())
            out.append(_Bound(1, 1, frozenset(str(s) for s in symbols), False))
    return out[0]


def _bound(formula: Any) -> _Bound | None:
    if isinstance(formula, str):
        bound: _Bound = parse_formula(formula).evaluate(_Estimate())
        return bound
    if type(formula).__module__.startswith("sympy") and hasattr(formula, "free_symbols"):
        return _sympy_bound(formula)
    return None  # numbers and flint polynomials are already expanded


def formula_size(formula: Any) -> FormulaSize:
    """A bound on the number of terms and the degree of a formula once expanded.

    Computed on the parsed tree (or the sympy tree) without expanding anything:
    a sum has at most the terms of its parts, a product their product, a power
    ``p**k`` of a t-term p at most C(t + k - 1, k), and a polynomial of degree d
    in n variables at most C(n + d, d).

    Examples
    --------
    >>> formula_size("(x + y)**3 - x*y")      # a bound: x*y cancels against a term
    FormulaSize(terms=5, degree=3)
    """
    bound = _bound(formula)
    return FormulaSize(bound.terms, bound.degree) if bound is not None else FormulaSize(1, 0)


def check_formula_sizes(formulas: Sequence[Any], dimension: int,
                        argument: str = "phi") -> None:
    """Refuse formulas whose expansion would be too large to handle.

    The estimated size of each formula is its terms times its degree (about the
    terms of its gradient); the sum over the formulas must stay within
    :data:`MAX_FORMULA_SIZE`, and, since flint stores every term with all
    ``dimension`` exponents, the sum times ``dimension`` within
    :data:`MAX_DENSE_SIZE`.

    Raises
    ------
    ModelTooLargeError
        Naming the formula, its estimated terms and degree.

    Examples
    --------
    >>> check_formula_sizes(["(x + y + z + w)**200"], 4)
    Traceback (most recent call last):
        ...
    conslaws.core.errors.ModelTooLargeError: phi: the formula '(x + y + z + w)**200' expands to ...
    """
    total = 0
    for i, formula in enumerate(formulas, 1):
        bound = _bound(formula)
        if bound is None:
            continue
        size = bound.terms * max(bound.degree, 1)
        total += size
        if (total <= MAX_FORMULA_SIZE and total * dimension <= MAX_DENSE_SIZE
                and bound.degree <= MAX_DEGREE):
            continue
        where = f"component {i}" if len(formulas) > 1 else "the formula"
        text = str(formula)
        excerpt = text if len(text) <= 40 else text[:37] + "..."
        expands = (f"{argument}: {where} {excerpt!r} expands to up to "
                   f"{_magnitude(bound.terms)} terms of degree {_magnitude(bound.degree)}")
        if bound.degree > MAX_DEGREE:
            raise _refuse(ModelTooLargeError, argument,
                          f"{argument}: {where} {excerpt!r} has degree up to "
                          f"{_magnitude(bound.degree)}; conslaws handles degrees up to "
                          f"MAX_DEGREE = {MAX_DEGREE:,}")
        if size < total:
            expands = (f"{argument}: the formulas up to {where} expand to an estimated "
                       f"{_magnitude(total)} terms x degree")
        if total > MAX_FORMULA_SIZE:
            raise _refuse(ModelTooLargeError, argument,
                          f"{expands}; conslaws handles an expanded size (terms x degree) of "
                          f"at most MAX_FORMULA_SIZE = {MAX_FORMULA_SIZE:,}")
        raise _refuse(ModelTooLargeError, argument,
                      f"{expands} in {dimension:,} parameters: about "
                      f"{total * dimension / 1e9:.1f} GB of exponents (each term stores all "
                      f"{dimension:,}; limit MAX_DENSE_SIZE = {MAX_DENSE_SIZE:,})")
