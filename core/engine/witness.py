"""Primes that divide a model's data: poor witnesses of its rank.

Every exact rank computed mod p is the rank of the *reductions* of exact values
(reduction commutes with the sums, products and derivatives that make a
bracket), so it is always a valid lower bound of the rank over Q.  But when p
divides a coefficient of the generating fields (a coefficient of φ, a friction
τ, a decay λ, a denominator cleared when the fields were scaled to integers) or
a coordinate of the point, the reduced fields are those of another model, and
the rank mod p can be far below the truth: the upper bound D - rank on the
number of laws stays true but may be useless, and the Schwartz-Zippel argument
("the rank at a random point is generic with probability >= 1 - deg/p") no
longer applies.  Such a prime is a *poor witness*.

:func:`poor_witness_reasons` detects it from the integer generating fields;
:func:`witness_prime` picks, when the user did not choose the prime, the
largest prime below the default that divides none of the model's data.

Examples
--------
>>> from conslaws.core.models.model import Model
>>> model = Model.from_phi(("x",), ["x^3"])      # the field 3 x^2 vanishes mod 3
>>> poor_witness_reasons(model, 3)
['3 divides a coefficient of the generating fields (3)']
>>> poor_witness_reasons(model, 5)
[]
>>> witness_prime(model, 3)
2
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

from conslaws.core.algebra.primes import previous_prime

if TYPE_CHECKING:
    from conslaws.core.algebra.polynomials import Number
    from conslaws.core.models.model import Model

__all__ = ["field_coefficients", "poor_witness_reasons", "witness_prime"]

#: Primes tried by :func:`witness_prime` before giving up (each step is cheap).
PRIMES_TRIED = 64


def field_coefficients(model: Model) -> Iterator[int]:
    """The nonzero integer coefficients of every component of every generating field.

    A graph model lists its fields here (its coefficients are path multiplicities);
    the probe engine, which never lists them, does not call this.
    """
    for generator in model.generators:
        for component in generator.components.values():
            for coefficient in component.coeffs():
                if coefficient:
                    yield int(coefficient)


def poor_witness_reasons(model: Model, p: int,
                         point: Sequence[Number] | None = None) -> list[str]:
    """Why ``p`` is a poor witness of the model's rank (empty when it is not).

    Parameters
    ----------
    model : Model
        The model whose generating fields are scanned.
    p : int
        The characteristic of the backend (0 for Q and floating point).
    point : sequence of rationals, optional
        The point: a coordinate that is nonzero over Q but vanishes mod p (or
        whose denominator p divides) is a reason too.

    Examples
    --------
    >>> from conslaws.core.models.model import Model
    >>> model = Model.from_phi(("x", "y"), ["x*y"])
    >>> poor_witness_reasons(model, 7, [14, 1])
    ['the point has a coordinate that is nonzero but vanishes mod 7 (x = 14)']
    """
    if p <= 1:
        return []
    reasons = []
    witness = next((c for c in field_coefficients(model) if c % p == 0), None)
    if witness is not None:
        shown = str(witness) if len(str(witness)) <= 30 else f"a multiple of {p}"
        reasons.append(f"{p} divides a coefficient of the generating fields ({shown})")
    for name, value in zip(model.parameter_names, point or (), strict=False):
        exact = Fraction(value)
        if exact and (exact.numerator % p == 0 or exact.denominator % p == 0):
            reasons.append(f"the point has a coordinate that is nonzero but vanishes mod {p} "
                           f"({name} = {exact})")
            break
    return reasons


def witness_prime(model: Model, start: int) -> int:
    """``start`` if it divides none of the model's field coefficients, else a smaller prime.

    The primes below ``start`` are tried in decreasing order; a model whose
    coefficients are divisible by :data:`PRIMES_TRIED` consecutive primes keeps
    ``start`` (its statement will then say that the prime is a poor witness).
    """
    coefficients = sorted({abs(c) for c in field_coefficients(model)})
    candidate = start
    for _ in range(PRIMES_TRIED):
        if not any(c % candidate == 0 for c in coefficients):
            return candidate
        if candidate <= 2:
            break
        candidate = previous_prime(candidate)
    return start
