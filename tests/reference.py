"""A deliberately naive, slow reference for the architecture tests (sympy only).

Nothing here imports conslaws: the parameterizations are built independently
(a product of sympy matrices for linear networks, explicit path enumeration for
ReLU networks) and the Lie closure is the textbook one of theory.md section 2,
without the engine's frame pruning:

* W_0 is spanned by the gradients ∇φ_i (exactly zero ones dropped);
* W_{k+1} = W_k + [W_0, W_k], with *every* generator bracketed with *every*
  field the previous level added (no choice of a local frame at the point;
  only fields that are exactly zero, or exactly ± a field already listed, are
  dropped, which leaves the spanned space unchanged);
* the ranks are taken over Q at a rational point, until the rank stops growing
  (or reaches D, after which it cannot grow).

Bracketing only with the fields the previous level *added* spans the same space
as bracketing with all of W_k: [W_0, W_{k-1}] is already inside W_k.

Use it on small models only (D up to about 14, or closures that stop at level
1): the number of fields grows like (number of generators)^level.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

__all__ = [
    "check_law_basis",
    "check_trace",
    "functional_rank",
    "linear_phi",
    "plain",
    "random_point",
    "reference_count",
    "reference_fields_lie_rank",
    "reference_lie_rank",
    "reference_polynomial_laws",
    "relu_phi",
    "same_span",
    "span_rank",
    "sympy_is_conserved",
]


def _weight_matrices(widths: Sequence[int]) -> tuple[list[sympy.Symbol], list[sympy.Matrix]]:
    """Symbols W{l}_{i}_{j} (and nothing else) with the matrices W_l, rows = outputs."""
    symbols: list[sympy.Symbol] = []
    matrices = []
    for layer in range(1, len(widths)):
        rows, cols = widths[layer], widths[layer - 1]
        entries = [
            [sympy.Symbol(f"W{layer}_{i}_{j}") for j in range(1, cols + 1)]
            for i in range(1, rows + 1)
        ]
        symbols.extend(s for row in entries for s in row)
        matrices.append(sympy.Matrix(entries))
    return symbols, matrices


def linear_phi(widths: Sequence[int]) -> tuple[list[sympy.Symbol], list[sympy.Expr]]:
    """Symbols and the entries of W_q ⋯ W_1 (row by row) of a linear network."""
    symbols, matrices = _weight_matrices(widths)
    product = matrices[0]
    for matrix in matrices[1:]:
        product = matrix * product
    return symbols, [sympy.expand(e) for e in product]


def relu_phi(
    widths: Sequence[int], bias: bool = False
) -> tuple[list[sympy.Symbol], list[sympy.Expr]]:
    """Symbols and the path lifting of a ReLU network, by explicit path enumeration.

    One monomial per input-output path (the product of the weights along it)
    and, with ``bias``, one per path from the bias b{l}_{i} of a hidden unit to
    an output.  Symbols are ordered as in conslaws: W1 row by row, b1, W2, b2, ...
    """
    depth = len(widths) - 1
    symbols: list[sympy.Symbol] = []
    for layer in range(1, depth + 1):
        symbols += [
            sympy.Symbol(f"W{layer}_{i}_{j}")
            for i in range(1, widths[layer] + 1)
            for j in range(1, widths[layer - 1] + 1)
        ]
        if bias and layer < depth:
            symbols += [sympy.Symbol(f"b{layer}_{i}") for i in range(1, widths[layer] + 1)]

    def weight(layer: int, i: int, j: int) -> sympy.Symbol:
        return sympy.Symbol(f"W{layer}_{i}_{j}")

    def path_product(start_layer: int, units: Sequence[int]) -> sympy.Expr:
        # units[0] is a unit of layer start_layer, units[-1] an output unit.
        term = sympy.Integer(1)
        for offset in range(1, len(units)):
            term *= weight(start_layer + offset, units[offset], units[offset - 1])
        return term

    phi: list[sympy.Expr] = []
    ranges = [range(1, w + 1) for w in widths]
    for units in itertools.product(*ranges):
        phi.append(path_product(0, units))
    if bias:
        for layer in range(1, depth):
            for units in itertools.product(*ranges[layer:]):
                phi.append(sympy.Symbol(f"b{layer}_{units[0]}") * path_product(layer, units))
    return symbols, phi


def random_point(dimension: int, seed: int) -> list[Fraction]:
    """A random rational point with nonzero coordinates (numerators up to 999)."""
    rng = random.Random(seed)
    point = []
    for _ in range(dimension):
        numerator = rng.choice([-1, 1]) * rng.randint(1, 999)
        point.append(Fraction(numerator, rng.randint(1, 97)))
    return point


def _rank(rows: list[list[Fraction]], ncols: int) -> int:
    if not rows:
        return 0
    matrix = DomainMatrix([[QQ(x.numerator, x.denominator) for x in r] for r in rows],
                          (len(rows), ncols), QQ)
    return int(matrix.rank())


class _Field:
    """A vector field with sympy Poly components, its value and Jacobian at the point."""

    def __init__(self, components: tuple[sympy.Poly, ...], point: Sequence[Fraction]) -> None:
        self.components = components
        self.value = [_evaluate(c, point) for c in components]
        # Sparse Jacobian at the point: row i -> {j: ∂_j a_i(θ*)}, zeros left out.
        self.jacobian: list[dict[int, Fraction]] = []
        for c in components:
            row = {}
            if not c.is_zero:
                degrees = c.degree_list()
                for j, g in enumerate(c.gens):
                    if degrees[j]:
                        entry = _evaluate(c.diff(g), point)
                        if entry:
                            row[j] = entry
            self.jacobian.append(row)

    def key(self) -> tuple[tuple[tuple[tuple[int, ...], object], ...], ...]:
        return tuple(tuple(sorted(c.terms())) for c in self.components)

    def negated_key(self) -> tuple[tuple[tuple[tuple[int, ...], object], ...], ...]:
        return tuple(tuple(sorted((-c).terms())) for c in self.components)


def _fraction(rational: sympy.Rational) -> Fraction:
    return Fraction(int(rational.p), int(rational.q))


def _evaluate(poly: sympy.Poly, point: Sequence[Fraction]) -> Fraction:
    total = Fraction(0)
    for monomial, coefficient in poly.terms():
        term = _fraction(coefficient)
        for value, exponent in zip(point, monomial, strict=True):
            if exponent:
                term *= value**exponent
        total += term
    return total


def _bracket_value(a: _Field, b: _Field) -> list[Fraction]:
    """[a, b](θ*) = Da(θ*) b(θ*) - Db(θ*) a(θ*)."""
    out = []
    for da, db in zip(a.jacobian, b.jacobian, strict=True):
        total = Fraction(0)
        for j, entry in da.items():
            total += entry * b.value[j]
        for j, entry in db.items():
            total -= entry * a.value[j]
        out.append(total)
    return out


def _bracket(a: _Field, b: _Field) -> tuple[sympy.Poly, ...]:
    """The field [a, b] = Da b - Db a, symbolically (terms that are exactly 0 skipped)."""
    gens = a.components[0].gens
    out = []
    for ai, bi in zip(a.components, b.components, strict=True):
        total = ai * 0
        for j, g in enumerate(gens):
            if not b.components[j].is_zero and not ai.is_zero and ai.degree(g) > 0:
                total += ai.diff(g) * b.components[j]
            if not a.components[j].is_zero and not bi.is_zero and bi.degree(g) > 0:
                total -= bi.diff(g) * a.components[j]
        out.append(total)
    return tuple(out)


def reference_lie_rank(
    phi: Sequence[sympy.Expr], symbols: Sequence[sympy.Symbol], point: Sequence[Fraction]
) -> list[int]:
    """Ranks over Q at ``point`` of W_0, W_1, ... for the fields ∇φ_i.

    The last entry repeats the previous one when the closure stopped because
    the rank stopped growing; it does not when the rank reached D.
    """
    gradients = [
        [sympy.diff(expression, s) for s in symbols] for expression in phi
    ]
    return reference_fields_lie_rank(gradients, symbols, point)


def reference_count(
    phi: Sequence[sympy.Expr], symbols: Sequence[sympy.Symbol], seed: int = 0
) -> tuple[int, list[int]]:
    """(D - reference Lie rank, per-level ranks) at a random rational point."""
    ranks = reference_lie_rank(phi, symbols, random_point(len(symbols), seed))
    return len(symbols) - ranks[-1], ranks


def sympy_is_conserved(
    h: sympy.Expr, phi: Sequence[sympy.Expr], symbols: Sequence[sympy.Symbol]
) -> bool:
    """True when ∇h·∇φ_i expands to 0 for every component φ_i.

    Raises ValueError when h or φ uses a symbol outside ``symbols`` (a law in
    conslaws' *real* symbols would otherwise differentiate to 0: use ``plain``).
    """
    known = set(symbols)
    strangers = set().union(*(sympy.sympify(e).free_symbols for e in [h, *phi])) - known
    if strangers:
        raise ValueError(f"symbols {sorted(map(str, strangers))} are not among the parameters")
    gradient = [sympy.diff(h, s) for s in symbols]
    for component in phi:
        total = sum((dh * sympy.diff(component, s) for dh, s in zip(gradient, symbols,
                                                                     strict=True)),
                    sympy.Integer(0))
        if sympy.expand(total) != 0:
            return False
    return True


def _coefficient_rows(
    polynomials: Sequence[sympy.Expr], symbols: Sequence[sympy.Symbol]
) -> tuple[list[dict[tuple[int, ...], sympy.Rational]], set[tuple[int, ...]]]:
    rows = [dict(sympy.Poly(p, *symbols, domain=QQ).terms()) for p in polynomials]
    monomials = set().union(*(r.keys() for r in rows)) if rows else set()
    return rows, monomials


def span_rank(polynomials: Sequence[sympy.Expr], symbols: Sequence[sympy.Symbol]) -> int:
    """Dimension over Q of the linear span of the polynomials (coefficient vectors)."""
    rows, monomials = _coefficient_rows(polynomials, symbols)
    order = sorted(monomials)
    dense = [[_fraction(r[m]) if m in r else Fraction(0) for m in order] for r in rows]
    return _rank(dense, len(order))


def same_span(
    first: Sequence[sympy.Expr], second: Sequence[sympy.Expr], symbols: Sequence[sympy.Symbol]
) -> bool:
    """True when the two lists of polynomials span the same space over Q."""
    a, b = span_rank(first, symbols), span_rank(second, symbols)
    return a == b == span_rank([*first, *second], symbols)


def plain(expression: sympy.Expr) -> sympy.Expr:
    """The expression with each symbol replaced by a plain ``Symbol`` of the same name.

    conslaws returns laws in *real* symbols; the reference uses plain ones.
    """
    expression = sympy.sympify(expression)
    return expression.xreplace({s: sympy.Symbol(s.name) for s in expression.free_symbols})


def check_law_basis(
    returned: Sequence[sympy.Expr], expected: Sequence[sympy.Expr],
    phi: Sequence[sympy.Expr], symbols: Sequence[sympy.Symbol],
) -> list[sympy.Expr]:
    """Assert that laws returned by conslaws are a basis of the span of ``expected``.

    Each returned law must be conserved by the fields ∇φ_i (checked here with
    sympy), the laws must be linearly independent, and their span must equal
    that of the independently derived ``expected`` laws.  Returns the laws in
    plain (assumption-free) symbols.
    """
    laws = [plain(h) for h in returned]
    broken = [h for h in laws if not sympy_is_conserved(h, phi, symbols)]
    if broken:
        raise AssertionError(f"not conserved: {broken[0]}")
    if span_rank(laws, symbols) != len(laws):
        raise AssertionError(f"the {len(laws)} laws are linearly dependent")
    if not same_span(laws, expected, symbols):
        raise AssertionError(f"span of {laws} differs from span of {list(expected)}")
    return laws


def reference_polynomial_laws(
    phi: Sequence[sympy.Expr], symbols: Sequence[sympy.Symbol], degree: int
) -> list[sympy.Expr]:
    """A basis of the polynomial laws of degree 1..``degree``, by brute force.

    P = Σ a_α θ^α over all monomials of degree 1..degree; every coefficient of
    ∇P·∇φ_i in θ is a linear form in the a_α; the laws are the kernel over Q.
    """
    gens = list(symbols)
    monomials = [
        combo
        for d in range(1, degree + 1)
        for combo in itertools.combinations_with_replacement(range(len(gens)), d)
    ]
    polys = [sympy.Poly(p, *gens, domain=QQ) for p in phi]
    derivatives = [{j: p.diff(g) for j, g in enumerate(gens) if p.degree(g) > 0} for p in polys]
    equations: dict[tuple[int, tuple[int, ...]], dict[int, Fraction]] = {}
    for column, combo in enumerate(monomials):
        m = sympy.Poly(sympy.Mul(*(gens[j] for j in combo)), *gens, domain=QQ)
        dm = {j: m.diff(gens[j]) for j in set(combo)}
        for i, dphi in enumerate(derivatives):
            total = None
            for j, d in dm.items():
                if j in dphi:
                    total = d * dphi[j] if total is None else total + d * dphi[j]
            if total is None:
                continue
            for monomial, coefficient in total.terms():
                row = equations.setdefault((i, monomial), {})
                row[column] = row.get(column, Fraction(0)) + _fraction(coefficient)
    size = len(monomials)
    if equations:
        sparse = {
            r: {c: QQ(x.numerator, x.denominator) for c, x in row.items() if x}
            for r, row in enumerate(equations.values())
        }
        matrix = DomainMatrix({r: row for r, row in sparse.items() if row},
                              (len(equations), size), QQ)
        kernel = matrix.nullspace().to_Matrix()
        vectors = [list(kernel.row(k)) for k in range(kernel.rows)]
    else:
        vectors = [[sympy.Integer(int(k == c)) for c in range(size)] for k in range(size)]
    laws = []
    for vector in vectors:
        law = sympy.Add(*(c * sympy.Mul(*(gens[j] for j in combo))
                          for c, combo in zip(vector, monomials, strict=True) if c))
        if law != 0:
            laws.append(sympy.expand(law))
    return laws


def functional_rank(
    laws: Sequence[sympy.Expr], symbols: Sequence[sympy.Symbol], point: Sequence[Fraction]
) -> int:
    """Rank over Q of the gradients of ``laws`` at ``point`` (functional independence)."""
    gens = list(symbols)
    rows = []
    for law in laws:
        poly = sympy.Poly(law, *gens, domain=QQ)
        rows.append([_evaluate(poly.diff(g), point) if poly.degree(g) > 0 else Fraction(0)
                     for g in gens])
    return _rank(rows, len(gens))


def reference_fields_lie_rank(
    fields: Sequence[Sequence[sympy.Expr]], symbols: Sequence[sympy.Symbol],
    point: Sequence[Fraction],
) -> list[int]:
    """Ranks over Q at ``point`` of W_0, W_1, ... for explicitly given polynomial fields.

    The same naive closure as :func:`reference_lie_rank`, for generating fields
    that are not gradients (a flow's phase-space fields, a metric times ∇φ_i):
    each field is a sequence of sympy expressions, one per symbol.
    """
    size = len(symbols)
    point = [Fraction(x) for x in point]
    generators = []
    for field in fields:
        if len(field) != size:
            raise ValueError(f"a field has {len(field)} components for {size} symbols")
        components = tuple(sympy.Poly(c, *symbols, domain=QQ) for c in field)
        if any(not c.is_zero for c in components):
            generators.append(_Field(components, point))
    rows = [g.value for g in generators]
    ranks = [_rank(rows, size)]
    seen = {g.key() for g in generators}
    newest = generators
    while ranks[-1] < size and newest:
        values = [_bracket_value(g, f) for g in generators for f in newest]
        rows += [v for v in values if any(v)]
        ranks.append(_rank(rows, size))
        if ranks[-1] == ranks[-2] or ranks[-1] == size:
            break
        added = []
        for g in generators:
            for f in newest:
                components = _bracket(g, f)
                if all(c.is_zero for c in components):
                    continue
                field = _Field(components, point)
                if field.key() in seen or field.negated_key() in seen:
                    continue
                seen.add(field.key())
                added.append(field)
        newest = added
    return ranks


def check_trace(result: Any, ranks: Sequence[int]) -> None:
    """The count's trace dimensions against a reference closure's ranks.

    The fields engine reports every level up to stagnation, so its list must
    equal the reference.  The probe engine stops as soon as its rank meets the
    proved laws: its list must be a prefix of the reference, ending at the
    reference's Lie dimension when the count is certified.
    """
    trace = list(result.trace_dimensions)
    if result.engine == "fields":
        assert trace == list(ranks)
        return
    assert trace == list(ranks[:len(trace)])
    if result.certified:
        assert trace[-1] == ranks[-1]
