"""SageMath interop: Sage polynomials in, conservation laws back as Sage polynomials.

Sage is optional and never imported here: the functions only call methods that
Sage's polynomial rings and their elements have (``variable_names``, ``gens``,
``base_ring``, ``parent``), so importing conslaws never imports Sage.  The minimal
install is the modularized Sage distribution ``passagemath-categories``
(``pip install 'conslaws[sage]'``); with it, ``from sage.all__sagemath_categories
import *`` gives ``PolynomialRing``, ``QQ`` and ``ZZ``.

* :func:`from_sage` reads a parameterization φ (or vector fields) given as Sage
  polynomials of one ring over QQ or ZZ into a :class:`~conslaws.core.models.model.Model`.
  Each polynomial goes through ``str()`` and the project's safe parser
  (:func:`~conslaws.core.algebra.parsing.parse_formula`, which reads Sage's ``^``);
  nothing is evaluated.
* :func:`to_sage` maps laws (sympy expressions, or a
  :class:`~conslaws.core.frontends.results.LawsResult`) back into a given Sage ring, built from
  their exact coefficients and exponents.  Sage's own reading of a polynomial string
  is not used: for its generic rings it runs ``sage_eval``, which is ``eval``.
* :func:`sage_laws` does both around :func:`~conslaws.core.frontends.api.find_laws`.

Examples
--------
A stand-in with the methods used (the tests use Sage itself):

>>> from conslaws.core.frontends.sage import from_sage
>>> class PolynomialRing:  # QQ[x, y] as far as from_sage looks
...     def variable_names(self): return ("x", "y")
...     def gens(self): return ()
...     def base_ring(self): return "Rational Field"
>>> class Poly:
...     def __init__(self, text): self.text = text
...     def parent(self): return RING
...     def __str__(self): return self.text
>>> RING = PolynomialRing()
>>> model = from_sage([Poly("x*y"), Poly("1/2*x^2")])
>>> model.parameter_names, [str(p) for p in model.phi]
(('x', 'y'), ['x*y', 'x^2'])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from conslaws.core.errors import InvalidExpressionError
from conslaws.core.models.model import Model

__all__ = ["from_sage", "sage_laws", "to_sage"]

# str() of a coefficient of these rings is an integer or a fraction p/q, which the
# safe parser reads exactly.  Other rings would be misread: GF(7) prints 6 for -1,
# and a number field's generator would be taken for a variable.
_BASE_RINGS = ("Rational Field", "Integer Ring")


def _short(obj: object, limit: int = 60) -> str:
    text = " ".join(str(obj).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_polynomial_ring(parent: Any) -> bool:
    # QQ itself and number fields have variable_names() too: ask for a polynomial ring's
    # class (Sage's are PolynomialRing_generic and MPolynomialRing_base, ...) by name.
    return hasattr(parent, "variable_names") and any(
        "PolynomialRing" in c.__name__ for c in type(parent).__mro__)


def _check_ring(ring: Any, argument: str = "ring") -> tuple[str, ...]:
    """The variable names of a Sage polynomial ring over QQ or ZZ; an error otherwise."""
    if not _is_polynomial_ring(ring) or not hasattr(ring, "base_ring"):
        raise InvalidExpressionError(
            f"{argument} must be a Sage polynomial ring such as PolynomialRing(QQ, names), "
            f"got {_short(ring)} ({type(ring).__name__})", argument=argument)
    names = tuple(str(n) for n in ring.variable_names())
    base = str(ring.base_ring())
    if base not in _BASE_RINGS:
        raise InvalidExpressionError(
            f"{argument} must be a polynomial ring over QQ or ZZ, got one over {_short(base)}",
            argument=argument)
    return names


def _sage_items(items: Any, argument: str) -> list[Any]:
    """``items`` as a list: a sequence, a Sage vector, or a Sage matrix (its entries)."""
    parent = items.parent() if hasattr(items, "parent") else None
    # A Sage polynomial is iterable (over its terms): one given alone is a mistake.
    if isinstance(items, (str, bytes)) or _is_polynomial_ring(parent):
        raise InvalidExpressionError(
            f"{argument} must be a sequence of Sage polynomials; for one polynomial give "
            f"[{_short(items)}]", argument=argument)
    if hasattr(items, "nrows") and hasattr(items, "list"):  # a Sage matrix: its entries
        return list(items.list())
    if not isinstance(items, Iterable):
        raise InvalidExpressionError(
            f"{argument} must be a sequence of Sage polynomials, got {_short(items)} "
            f"({type(items).__name__})", argument=argument)
    return list(items)


def _common_ring(polys: list[Any], ring: Any, argument: str) -> Any:
    """The ring given, else the one polynomial ring that the polynomials belong to."""
    if ring is not None:
        return ring
    parents: list[Any] = []
    for p in polys:
        parent = p.parent() if hasattr(p, "parent") else None
        if _is_polynomial_ring(parent) and all(q is not parent for q in parents):
            parents.append(parent)
    if len(parents) != 1:
        found = "none" if not parents else ", ".join(_short(q) for q in parents)
        raise InvalidExpressionError(
            f"{argument} must hold polynomials of one Sage polynomial ring (found {found}); "
            f"give ring= to say which", argument=argument)
    return parents[0]


def _text(p: Any, ring: Any, where: str, argument: str) -> str:
    """str() of ``p`` as an element of ``ring`` (Sage integers and rationals are constants)."""
    parent = p.parent() if hasattr(p, "parent") else None
    if parent is not ring:
        if isinstance(p, int) and not isinstance(p, bool):
            return str(p)
        # Sage's own coercion (QQ into QQ[x], QQ[x] into QQ[x, y]) is exact and parses nothing.
        coerce = getattr(ring, "has_coerce_map_from", None)
        if parent is None or coerce is None or not coerce(parent):
            raise InvalidExpressionError(
                f"{where} = {_short(p)} is not an element of {_short(ring)}", argument=argument)
        p = ring(p)
    return str(p)


def from_sage(phi: Any = None, *, fields: Any = None, ring: Any = None,
              name: str = "sage") -> Model:
    """A conslaws model from Sage polynomials.

    Parameters
    ----------
    phi : sequence of Sage polynomials, optional
        The parameterization φ (a list, a Sage vector, or a Sage matrix whose entries
        are the components): the model of the gradient flow, fields ∇φ_i.
    fields : sequence of sequences of Sage polynomials, optional
        Instead of ``phi``: the generating vector fields, each with one component per
        variable of the ring, in the ring's order.
    ring : Sage polynomial ring over QQ or ZZ, optional
        The parameter ring; its ``variable_names()`` are the model's parameter names,
        in order.  By default, the ring the polynomials belong to.
    name : str
        The model's name in results.

    Returns
    -------
    Model

    Raises
    ------
    InvalidExpressionError
        Neither or both of ``phi`` and ``fields``, a ring not over QQ or ZZ,
        polynomials of several rings, or a name the parser refuses.

    Examples
    --------
    With Sage (``pip install 'conslaws[sage]'``)::

        from sage.all__sagemath_categories import PolynomialRing, QQ
        R = PolynomialRing(QQ, ["u", "v1", "v2"])
        u, v1, v2 = R.gens()
        from_sage([u*v1, u*v2]).parameter_names   # ('u', 'v1', 'v2')
    """
    if (phi is None) == (fields is None):
        raise InvalidExpressionError("give exactly one of phi and fields", argument="phi")
    if phi is not None:
        polys = _sage_items(phi, "phi")
        ring = _common_ring(polys, ring, "phi")
        names = _check_ring(ring)
        texts = [_text(p, ring, f"phi[{i}]", "phi") for i, p in enumerate(polys)]
        return Model.from_phi(names, texts, name=name)
    rows = [_sage_items(f, "fields") for f in _sage_items(fields, "fields")]
    ring = _common_ring([c for row in rows for c in row], ring, "fields")
    names = _check_ring(ring)
    components = [[_text(c, ring, f"fields[{i}][{j}]", "fields") for j, c in enumerate(row)]
                  for i, row in enumerate(rows)]
    return Model.from_fields(names, components, name=name)


def to_sage(laws: Any, ring: Any) -> list[Any]:
    """Laws as elements of a Sage polynomial ring.

    Parameters
    ----------
    laws : LawsResult or sequence of sympy expressions or strings
        Polynomial laws in the ring's variable names (strings go through the safe
        parser).
    ring : Sage polynomial ring over QQ or ZZ

    Returns
    -------
    list
        One element of ``ring`` per law, with the law's exact coefficients.

    Raises
    ------
    InvalidExpressionError
        A law is not a polynomial in the ring's variables: it has a function (the
        ``exp(τ t)`` clock of a momentum or weight-decay flow), a name that is not a
        variable of the ring (the time ``t``), a division by a variable, or
        non-integer coefficients for a ring over ZZ.

    Examples
    --------
    With Sage::

        R = PolynomialRing(QQ, ["x", "y"])
        to_sage(["x^2 - y^2/2"], R)   # [x^2 - 1/2*y^2], elements of R
    """
    import sympy

    from conslaws.core.algebra.parsing import parse_formula

    names = _check_ring(ring)
    gens = list(ring.gens())
    base = ring.base_ring()
    integral = str(base) == "Integer Ring"
    items = getattr(laws, "laws", laws)
    if isinstance(items, (str, bytes, sympy.Basic)) or not isinstance(items, Iterable):
        raise InvalidExpressionError(
            f"laws must be a LawsResult or a sequence of laws, got {_short(items)}",
            argument="laws")
    out = []
    for i, law in enumerate(items):
        where = f"laws[{i}]"
        if isinstance(law, str):
            law = parse_formula(law, what=where).to_sympy()
        if not isinstance(law, sympy.Basic):
            raise InvalidExpressionError(
                f"{where} must be a sympy expression or a string, got {type(law).__name__}",
                argument="laws")
        functions = sorted({str(type(f).__name__) for f in law.atoms(sympy.Function)})
        if functions:
            raise InvalidExpressionError(
                f"{where} = {_short(law)} is not a polynomial in {', '.join(names)}: it has "
                f"{', '.join(functions)} (the exp(tau*t) clock of a momentum or weight-decay "
                f"flow), so it has no image in {_short(ring)}", argument="laws")
        by_name = {s.name: s for s in law.free_symbols if isinstance(s, sympy.Symbol)}
        extra = sorted(set(by_name) - set(names))
        if extra:
            raise InvalidExpressionError(
                f"{where} = {_short(law)} uses {', '.join(extra)}, which "
                f"{'is not a variable' if len(extra) == 1 else 'are not variables'} of "
                f"{_short(ring)}", argument="laws")
        symbols = [by_name.get(n, sympy.Symbol(n)) for n in names]
        if not law.is_polynomial(*symbols):
            raise InvalidExpressionError(
                f"{where} = {_short(law)} is not a polynomial in {', '.join(names)}",
                argument="laws")
        terms = sympy.Poly(law, *symbols, domain="QQ").terms()
        value = ring(0)
        for exponents, coefficient in terms:
            num, den = int(coefficient.p), int(coefficient.q)
            if integral and den != 1:
                raise InvalidExpressionError(
                    f"{where} = {_short(law)} has the coefficient {coefficient}, not in ZZ: "
                    f"use the ring over QQ (ring.change_ring(QQ))", argument="laws")
            term = base(num) / base(den) if den != 1 else base(num)
            for g, e in zip(gens, exponents, strict=True):
                if e:
                    term = term * g**e
            value = value + term
        out.append(ring(value))
    return out


def sage_laws(phi: Any, degree: int, *, ring: Any = None,
              **options: Any) -> tuple[list[Any], bool]:
    """The polynomial conservation laws of the gradient flow of a Sage φ, as Sage polynomials.

    Parameters
    ----------
    phi : sequence of Sage polynomials
        The parameterization, as for :func:`from_sage`.
    degree : int
        Highest degree of the laws sought.
    ring : Sage polynomial ring, optional
        The parameter ring (default: the one of ``phi``); the laws are its elements.
    **options
        Passed to :func:`~conslaws.core.frontends.api.find_laws` (``seed``, ``backend``, ...).

    Returns
    -------
    (list, bool)
        A basis of the laws of degree 1..``degree`` as elements of the ring, and
        whether they are complete (certified to be all laws the Lie closure allows).

    Examples
    --------
    With Sage::

        R = PolynomialRing(QQ, ["u", "v1", "v2"])
        u, v1, v2 = R.gens()
        sage_laws([u*v1, u*v2], 2)   # ([u^2 - v1^2 - v2^2], True)
    """
    from conslaws.core.frontends.api import find_laws

    polys = _sage_items(phi, "phi")
    ring = _common_ring(polys, ring, "phi")
    result = find_laws(from_sage(polys, ring=ring), degree, **options)
    return to_sage(result, ring), result.complete
