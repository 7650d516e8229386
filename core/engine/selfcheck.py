"""Self-checks run on every certified count before it is called certified.

A certificate rests on laws: k of them, each conserved by every generating
field and independent at a point, prove at least k laws.  The law search
verifies conservation by exact polynomial arithmetic (``conserved`` in
:mod:`conslaws.core.engine.laws`) and independence with the backend's rank; the
checks here re-verify both claims by other code paths, so that a bug in one
of them cannot produce a wrong certificate unnoticed:

* **conservation, fields engine** (:func:`check_conserved_at_points`):
  ∇h(x)·w(x) is evaluated exactly over Z at fresh random integer points x, for
  every generating field w sharing a variable with h.  A polynomial that is not
  identically zero vanishes at such a point with probability at most deg/2**32
  (Schwartz-Zippel), so a non-law is caught.
* **conservation, probe engine** (:func:`check_conserved_on_probes`): the
  structural laws are dotted with fresh probe vectors (random elements of the
  trace of W_0) at a fresh random point, modulo a fresh prime below 2**22.
* **independence** (:func:`check_independent`): the rank of the laws'
  gradients at the certificate's point, recomputed by flint over Z (or modulo
  a fresh random prime when the matrix is large), an implementation other than
  the backend's.

Each check returns a one-line description of what ran, recorded in the
result's ``checks``; a failure raises :class:`SelfCheckError`.

Examples
--------
>>> import random
>>> from conslaws.core.models.model import Model
>>> model = Model.from_phi(("u", "v"), ["u*v"])
>>> law = model.ring.from_sympy("u^2 - v^2")
>>> check_conserved_at_points(model, [law], random.Random(0))
'conservation re-checked by exact evaluation at 1 fresh random integer point'
>>> check_independent([law], [3, 5])
'independence re-checked: rank 1 over Z (flint fmpz_mat)'
>>> check_conserved_at_points(model, [model.ring.from_sympy("u^2 + v^2")], random.Random(0))
Traceback (most recent call last):
    ...
conslaws.core.engine.selfcheck.SelfCheckError: self-check failed: law 1 is not conserved ...
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import flint
import numpy as np

from conslaws.core.algebra.polynomials import Number, SparseTerms
from conslaws.core.algebra.primes import next_prime
from conslaws.core.errors import ConslawsError
from conslaws.core.models.model import Model

if TYPE_CHECKING:
    from conslaws.core.engine.oracles import FieldOracle
    from conslaws.core.models.structural import SparseLaw

__all__ = ["SelfCheckError", "check_conserved_at_points", "check_conserved_on_probes",
           "check_independent", "check_laws", "check_rank"]

#: Fresh random points at which each law is re-evaluated (one suffices: a non-law
#: vanishes at a random point with probability at most deg / 2**32).
POINTS = 1
#: Coordinates of those points are drawn from [-2**31, 2**31].
POINT_BOUND = 2**31
#: Random integer combinations of the generating fields each law is dotted with.
COMBINATIONS = 2
#: Above this many matrix entries, independence is re-checked mod a fresh prime.
EXACT_ENTRIES = 20_000
#: Probes (random trace vectors) per check on the probe engine, per level.
PROBES = 4


class SelfCheckError(ConslawsError, ArithmeticError):
    """An independent re-check contradicted a certificate (a bug: please report it)."""


def check_conserved_at_points(model: Model, laws: Sequence[Any], rng: random.Random,
                              points: int = POINTS) -> str:
    """Re-check ``∇h·w = 0`` for each law h and generating field w, at random points.

    Each ∇h(x) is dotted with random integer combinations of all the fields at x
    (:data:`COMBINATIONS` of them), which catches any single nonzero ∇h(x)·w_i(x).

    Parameters
    ----------
    model : Model
        The model whose generating fields the laws must annihilate.
    laws : sequence of flint polynomials
        The laws, in ``model.ring``.
    rng : random.Random
        Source of the fresh points.
    points : int
        How many points.

    Returns
    -------
    str
        What ran.

    Raises
    ------
    SelfCheckError
        A law is not conserved at one of the points.
    """
    compiled = [SparseTerms(h) for h in laws]
    for _ in range(points):
        x = [rng.randint(-POINT_BOUND, POINT_BOUND) for _ in range(model.dimension)]
        # ∇h(x)·w_i(x) for every field i would cost laws x fields products; a random
        # integer combination Σ c_i w_i(x) is orthogonal to ∇h(x) for all of them at
        # once, and misses a nonzero one with probability <= 2**-31 per combination.
        combinations = [[rng.randint(1, POINT_BOUND) for _ in model.generators]
                        for _ in range(COMBINATIONS)]
        fields: list[dict[int, Number]] = [{} for _ in combinations]
        for i, generator in enumerate(model.generators):
            for j, v in generator.value_at(x).items():
                for combined, c in zip(fields, combinations, strict=True):
                    combined[j] = combined.get(j, 0) + c[i] * v
        for number, terms in enumerate(compiled, 1):
            gradient = terms.gradient(x)
            for combined in fields:
                if sum(g * combined.get(j, 0) for j, g in gradient.items()):
                    raise SelfCheckError(
                        f"self-check failed: law {number} is not conserved by a random "
                        f"combination of the generating fields at a random point")
    return (f"conservation re-checked by exact evaluation at {points} fresh random "
            f"integer point{'s' if points != 1 else ''}")


def check_independent(laws: Sequence[Any], point: Sequence[Number],
                      rng: random.Random | None = None) -> str:
    """Re-check that the laws' gradients at ``point`` have full rank.

    Over Z with flint's ``fmpz_mat`` (rows cleared of denominators) when the
    matrix is small, modulo a fresh random 62-bit prime otherwise: a rank mod q
    is a lower bound of the rank over Q, so full rank there proves it too.

    Raises
    ------
    SelfCheckError
        The gradients are dependent.
    """
    if not laws:
        return "independence: no law to check"
    size = len(point)
    rows = []
    for h in laws:
        gradient = SparseTerms(h).gradient(point)
        # Rows cleared of denominators (a rational point): only the nonzero entries.
        scale = math.lcm(*(Fraction(v).denominator for v in gradient.values()))
        row = [0] * size
        for j, v in gradient.items():
            row[j] = int(v * scale)
        rows.append(row)
    return check_rank(rows, rng)


def check_rank(rows: Sequence[Sequence[int]], rng: random.Random | None = None) -> str:
    """Re-check that integer ``rows`` (gradients of laws at a point) are independent.

    Examples
    --------
    >>> check_rank([[1, 2], [2, 4]])
    Traceback (most recent call last):
        ...
    conslaws.core.engine.selfcheck.SelfCheckError: self-check failed: the 2 laws ...
    """
    if not rows:
        return "independence: no law to check"
    if len(rows) * len(rows[0]) <= EXACT_ENTRIES:
        rank, method = int(flint.fmpz_mat(rows).rank()), "over Z (flint fmpz_mat)"
    else:
        q = _random_prime(rng or random.Random(), 2**61, 2**62)
        rank = int(flint.nmod_mat(flint.fmpz_mat(rows), q).rank())
        method = f"mod the fresh prime {q}"
    if rank != len(rows):
        raise SelfCheckError(
            f"self-check failed: the {len(rows)} laws have gradient rank {rank} at the point")
    return f"independence re-checked: rank {rank} {method}"


def check_conserved_on_probes(make_oracle: Callable[[int], FieldOracle],
                              laws: Sequence[SparseLaw], rng: random.Random,
                              probes: int = PROBES) -> str:
    """Re-check laws against fresh probes of the trace of W_0.

    A fresh prime q below 2**22, the oracle ``make_oracle(q)``, a fresh random point
    and fresh draws: random elements of W_0 are evaluated mod q, and each law's
    gradient must be orthogonal to all of them.

    Raises
    ------
    SelfCheckError
        A law fails on a probe.
    """
    from conslaws.core.engine.oracles import nested_bracket_rows
    from conslaws.core.models.probes import MAX_PROBE_MODULUS
    from conslaws.core.models.structural import gradient_rows

    q = _random_prime(rng, MAX_PROBE_MODULUS // 2, MAX_PROBE_MODULUS)
    oracle = make_oracle(q)
    generator = np.random.default_rng(rng.randrange(2**63))
    point = np.array([rng.randrange(1, q) for _ in range(oracle.dimension)], dtype=np.int64)
    # A law orthogonal to the generating fields at every point is a law (W_0 generates
    # the algebra), so random elements of W_0 at a random point are the test.
    rows = nested_bracket_rows(oracle, point, [oracle.draw(generator, probes)])
    gradients = gradient_rows(laws, [int(v) for v in point])
    for number, row in enumerate(gradients, 1):
        gradient = np.array([v % q for v in row], dtype=np.int64)
        # Entries are below 2**22, so a product fits in int64 and sums are reduced in chunks.
        products = rows % q * gradient % q
        if np.any(products.sum(axis=1, dtype=object) % q):
            raise SelfCheckError(
                f"self-check failed: structural law {number} is not orthogonal to a fresh "
                f"probe of the trace mod {q}")
    return (f"structural laws re-checked on {probes} fresh probes of W_0 at a fresh random "
            f"point mod the fresh prime {q}")


def check_laws(model: Model, laws: Sequence[Any], point: Sequence[Number],
               rng: random.Random) -> list[str]:
    """Both re-checks of the fields engine's laws; what ran, one line each.

    Raises
    ------
    SelfCheckError
        A law is not conserved, or the laws are dependent at ``point``.
    """
    return [check_conserved_at_points(model, laws, rng), check_independent(laws, point, rng)]


def _random_prime(rng: random.Random, low: int, high: int) -> int:
    return next_prime(rng.randrange(low, high - 1000))
