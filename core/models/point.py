"""Points of parameter space: random ones, and the ``--point`` syntax.

Every computation happens at one point θ*.  A random point comes from the
backend (:meth:`Backend.sample_point`), drawn with a seeded
:class:`random.Random` so that ``--seed`` reproduces it.  A given point is a
list of exact rationals, written ``1,-2,3/2`` in the order of
``parameter_names`` or ``u=1,v=3/2`` by name.

Examples
--------
>>> parse_point("1,-2,3/2", ("a", "b", "c"))
[Fraction(1, 1), Fraction(-2, 1), Fraction(3, 2)]
>>> parse_point("b=2, a=1, c=0", ("a", "b", "c"))
[Fraction(1, 1), Fraction(2, 1), Fraction(0, 1)]
>>> parse_point("1,2", ("a", "b", "c"))
Traceback (most recent call last):
    ...
conslaws.core.errors.InvalidPointError: --point has 2 values ... 3 parameters (a, b, c)
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from conslaws.core.algebra.parsing import parse_rational
from conslaws.core.errors import InvalidPointError
from conslaws.core.validation import exact_number

__all__ = ["as_point", "given_point", "parse_point"]


def _rational(text: str, where: str) -> Fraction:
    what = f"--point {where.rstrip('=')}" if where else "--point"
    return parse_rational(text, what=what, error=InvalidPointError)


def parse_point(text: str, names: Sequence[str]) -> list[Fraction]:
    """Parse ``--point``: positional values or ``name=value`` pairs (all names)."""
    items = [item for item in text.split(",")]
    if any(not item.strip() for item in items):
        raise InvalidPointError(f"--point: empty value in {text!r}")
    if all("=" in item for item in items):
        index = {name: i for i, name in enumerate(names)}
        values: list[Fraction | None] = [None] * len(names)
        for item in items:
            name, _, raw = item.partition("=")
            name = name.strip()
            if name not in index:
                raise InvalidPointError(f"--point: unknown parameter {name!r}")
            if values[index[name]] is not None:
                raise InvalidPointError(f"--point: {name} is given twice")
            values[index[name]] = _rational(raw, f"{name}=")
        missing = [n for n, v in zip(names, values, strict=False) if v is None]
        if missing:
            shown = ", ".join(missing[:8]) + (", ..." if len(missing) > 8 else "")
            raise InvalidPointError(f"--point: no value for {shown}")
        return [v for v in values if v is not None]
    if any("=" in item for item in items):
        raise InvalidPointError("--point: mix of positional values and name=value pairs")
    return as_point([_rational(item, "") for item in items], names)


def as_point(values: Sequence[Any], names: Sequence[str]) -> list[Fraction]:
    """Check length and exactness of a point given from Python.

    Values may be ints (numpy integers too), Fractions, sympy Rationals or text
    like ``"3/2"``; floats are refused (their binary value is rarely the one meant).

    Examples
    --------
    >>> import sympy
    >>> as_point([sympy.Rational(1, 2), Fraction(1, 3), 2], ("u", "v1", "v2"))
    [Fraction(1, 2), Fraction(1, 3), Fraction(2, 1)]
    """
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise InvalidPointError(f"--point: expected a sequence of values, got {values!r:.60}")
    if len(values) != len(names):
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        raise InvalidPointError(
            f"--point has {len(values)} values but the model has {len(names)} parameters ({shown})"
        )
    return [exact_number(v, "--point") for v in values]


def given_point(point: str | Sequence[Any], names: Sequence[str]) -> list[Fraction]:
    """A point given as text (:func:`parse_point`) or as values (:func:`as_point`).

    Examples
    --------
    >>> given_point("1,-2", ("u", "v")) == given_point([1, -2], ("u", "v"))
    True
    """
    if isinstance(point, str):
        return parse_point(point, names)
    return as_point(point, names)
