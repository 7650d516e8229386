"""Any polynomial parameterization φ, or raw polynomial vector fields.

From the command line, ``--phi "u*v1; u*v2"`` gives the components of φ
separated by semicolons; ``--params "u,v1,v2"`` fixes the parameter order
(otherwise the symbols are sorted naturally: ``x2`` before ``x10``).  From
Python, ``phi`` may also be a list of sympy expressions, and ``fields`` a list
of vector fields, each a list of D component formulas (``--fields "v; u | u; 0"``
on the command line: fields separated by ``|``).

Examples
--------
>>> model = CustomArchitecture().model(phi="u*v1; u*v2")
>>> model.parameter_names
('u', 'v1', 'v2')
>>> CustomArchitecture().model(phi="exp(u)")
Traceback (most recent call last):
    ...
conslaws.core.errors.InvalidExpressionError: cannot use a function call in formula "exp(u)": ...
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

from conslaws.core.algebra.parsing import parse_formula, parse_name
from conslaws.core.algebra.polynomials import is_sympy_object, sympify_expression
from conslaws.core.errors import InvalidExpressionError, InvalidOptionError
from conslaws.core.models.model import Model
from conslaws.core.plugins.architecture import Architecture, Option
from conslaws.core.validation import is_sympy_matrix

__all__ = ["CustomArchitecture"]


def _split(value: Any, flag: str, separator: str = ";") -> tuple[Any, ...]:
    if isinstance(value, str):
        items = tuple(part.strip() for part in value.split(separator))
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raise InvalidOptionError(f"{flag}: expected formulas, got bytes {value!r:.40} (decode "
                                 "it first)")
    elif isinstance(value, Sequence) or is_sympy_matrix(value):
        items = tuple(value)  # a sympy Matrix: its entries, row by row
    else:
        items = (value,)  # one sympy expression or number
    if not items or any(isinstance(i, str) and not i for i in items):
        raise InvalidOptionError(f"{flag}: empty formula in {value!r}")
    return items


def _parse_phi(value: Any, flag: str) -> tuple[Any, ...]:
    return _split(value, flag)


def _parse_fields(value: Any, flag: str) -> tuple[tuple[Any, ...], ...]:
    if isinstance(value, str):
        return tuple(_split(field, flag) for field in value.split("|"))
    if is_sympy_matrix(value):
        return tuple(tuple(row) for row in value.tolist())  # one field per row
    if not isinstance(value, Sequence) or isinstance(value, (bytes, bytearray)):
        raise InvalidOptionError(f"{flag}: expected a sequence of fields (each a sequence of "
                                 f"components) or text like 'y; -x | x; y', got {value!r:.40}")
    return tuple(_split(field, flag) for field in value)


def _parse_params(value: Any, flag: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = tuple(p.strip() for p in value.split(","))
    elif not isinstance(value, Sequence) or isinstance(value, (bytes, bytearray)):
        raise InvalidOptionError(f"{flag}: expected names like 'u,v1,v2' or a sequence of "
                                 f"names, got {value!r:.40}")
    if not all(isinstance(name, str) or (is_sympy_object(name) and name.is_Symbol)
               for name in value):
        raise InvalidOptionError(f"{flag}: parameter names must be strings (or sympy Symbols)")
    names = tuple(parse_name(str(name), what=f"{flag} name") for name in value)
    if len(set(names)) != len(names):
        raise InvalidOptionError(f"{flag}: parameter names must be distinct")
    return names


def _natural_key(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


class CustomArchitecture(Architecture):
    """A user-given polynomial map φ (or raw fields)."""

    name: ClassVar[str] = "custom"
    summary: ClassVar[str] = "any polynomial map phi given as formulas (or raw vector fields)"
    options: ClassVar[tuple[Option, ...]] = (
        Option("phi", _parse_phi, 'components of phi separated by ";", e.g. "u*v1; u*v2"',
               metavar="E1;E2;..."),
        Option("params", _parse_params, "parameter order, e.g. u,v1,v2 (default: sorted names)",
               metavar="A,B,..."),
        Option("fields", _parse_fields,
               'vector fields instead of phi: D components separated by ";", fields by "|"',
               metavar="F1;..;FD|..."),
    )

    def build(self, **options: Any) -> Model:
        phi, fields, params = options["phi"], options["fields"], options["params"]
        if (phi is None) == (fields is None):
            raise InvalidOptionError("custom: give exactly one of --phi and --fields")
        formulas = phi if phi is not None else [c for f in fields for c in f]
        names = params or self._infer_names(formulas)
        if not names:
            raise InvalidExpressionError("custom: the formulas contain no parameter")
        label = "phi=" + "; ".join(map(str, phi)) if phi is not None else "fields"
        if phi is not None:
            return Model.from_phi(names, phi, name=f"custom {label}", options=options)
        return Model.from_fields(names, fields, name=f"custom {label}", options=options)

    @staticmethod
    def _infer_names(formulas: Sequence[Any]) -> tuple[str, ...]:
        symbols: set[str] = set()
        for formula in formulas:
            if isinstance(formula, str):
                symbols |= set(parse_formula(formula).names)
            else:
                expr = sympify_expression(formula, {})
                symbols |= {str(s) for s in expr.free_symbols if s.is_Symbol}
        return tuple(sorted(symbols, key=_natural_key))
