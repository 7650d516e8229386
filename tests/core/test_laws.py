"""Polynomial law search, exact law checks and the GF(2) character blocks.

Expected law spaces are derived by hand (in the comments) or computed in the
test by solving the linear system ∇h·w ≡ 0 for a generic polynomial h with
sympy; spaces are compared as vector spaces (rank of stacked coefficient
vectors), never as printed strings.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import conslaws.core as cl
from conslaws.core.algebra.symmetry import GF2Span, character_span, parity
from conslaws.core.errors import InvalidExpressionError

SETTINGS = settings(max_examples=50, deadline=None)


# --------------------------------------------------------------------------- helpers


def _plain(expr: Any, names: tuple[str, ...]) -> sympy.Expr:
    """An expression from conslaws (or a string) in plain symbols of these names."""
    local = {n: sympy.Symbol(n) for n in names}
    if isinstance(expr, sympy.Basic):
        expr = expr.xreplace({s: local[s.name] for s in expr.free_symbols if s.name in local})
        return sympy.expand(expr)
    return sympy.expand(sympy.sympify(str(expr), locals=local))


def _coefficient_matrix(exprs: list[sympy.Expr], syms: tuple[Any, ...]) -> sympy.Matrix:
    polys = [sympy.Poly(e, *syms) for e in exprs]
    monomials = sorted({m for p in polys for m in p.monoms()})
    return sympy.Matrix([[p.coeff_monomial(m) for m in monomials] for p in polys])


def _rank(exprs: list[sympy.Expr], syms: tuple[Any, ...]) -> int:
    exprs = [e for e in exprs if e != 0]
    return _coefficient_matrix(exprs, syms).rank() if exprs else 0


def assert_same_span(got: list[Any], expected: list[sympy.Expr], names: tuple[str, ...]) -> None:
    syms = sympy.symbols(names)
    got = [_plain(h, names) for h in got]
    expected = [sympy.expand(e) for e in expected]
    r_got, r_expected = _rank(got, syms), _rank(expected, syms)
    assert r_got == len(got), f"the laws returned are not linearly independent: {got}"
    assert r_got == r_expected, f"{got} vs {expected}"
    assert _rank(got + expected, syms) == r_expected, f"{got} vs {expected}"


def sympy_law_space(fields: list[list[Any]], names: tuple[str, ...],
                    degree: int) -> list[sympy.Expr]:
    """A basis of the polynomial laws of degree 1..degree, by a sympy linear solve."""
    syms = sympy.symbols(names)
    fields = [[sympy.sympify(c, locals=dict(zip(names, syms, strict=True))) for c in f]
              for f in fields]
    monomials = [sympy.Mul(*m) for d in range(1, degree + 1)
                 for m in itertools.combinations_with_replacement(syms, d)]
    unknowns = sympy.symbols(f"c0:{len(monomials)}")
    h = sum(c * m for c, m in zip(unknowns, monomials, strict=True))
    equations = []
    for f in fields:
        expr = sympy.expand(sum(sympy.diff(h, s) * c for s, c in zip(syms, f, strict=True)))
        if expr != 0:
            equations += sympy.Poly(expr, *syms).coeffs()
    if not equations:
        return monomials
    matrix, _ = sympy.linear_eq_to_matrix(equations, unknowns)
    return [sympy.expand(sum(v[i] * monomials[i] for i in range(len(monomials))))
            for v in matrix.nullspace()]


def sympy_is_law(h: Any, fields: list[list[Any]], names: tuple[str, ...]) -> bool:
    syms = sympy.symbols(names)
    local = dict(zip(names, syms, strict=True))
    h = _plain(h, names)
    return all(
        sympy.expand(sum(sympy.diff(h, s) * sympy.sympify(c, locals=local)
                         for s, c in zip(syms, f, strict=True))) == 0
        for f in fields
    )


def _gradients(phi: list[str], names: tuple[str, ...]) -> list[list[sympy.Expr]]:
    syms = sympy.symbols(names)
    local = dict(zip(names, syms, strict=True))
    return [[sympy.diff(sympy.sympify(p, locals=local), s) for s in syms] for p in phi]


# --------------------------------------------------------------------------- hand-derived laws


def test_product_of_two_parameters() -> None:
    # φ = u v: ∇φ = (v, u); h = u² - v² has ∇h·∇φ = 2uv - 2vu = 0.  Degree <= 2 laws:
    # a h with h_u v + h_v u = 0: only multiples of u² - v².
    result = cl.find_laws("custom", phi="u*v", degree=2, seed=0)
    assert_same_span(result.laws, [sympy.sympify("u**2 - v**2")], ("u", "v"))
    assert result.homogeneous
    assert (result.independent, result.complete) == (1, True)


def test_rotation_field() -> None:
    # (y, -x): ∇(x² + y²)·(y, -x) = 2xy - 2yx = 0; degree 1 laws would need a y - b x = 0.
    model = cl.Model.from_fields(("x", "y"), [["y", "-x"]])
    result = cl.find_laws(model, degree=2, seed=0)
    assert_same_span(result.laws, [sympy.sympify("x**2 + y**2")], ("x", "y"))
    assert result.complete


def test_triple_product() -> None:
    # φ = x1 x2 x3, ∇φ = (x2 x3, x1 x3, x1 x2): x1² - x2² gives 2 x1 x2 x3 - 2 x2 x1 x3 = 0,
    # likewise x1² - x3²; two laws for D - rank = 3 - 1.
    names = ("x1", "x2", "x3")
    result = cl.find_laws("custom", phi="x1*x2*x3", degree=2, seed=1)
    expected = [sympy.sympify("x1**2 - x2**2"), sympy.sympify("x1**2 - x3**2")]
    assert_same_span(result.laws, expected, names)
    assert (result.independent, result.complete) == (2, True)
    assert result.parameter_names == names


def test_two_paths_through_one_neuron() -> None:
    # φ = (u v1, u v2): u² - v1² - v2² (theory.md table: v1² + v2² - u²).
    names = ("u", "v1", "v2")
    result = cl.find_laws("custom", phi="u*v1; u*v2", degree=2, seed=3)
    assert_same_span(result.laws, [sympy.sympify("u**2 - v1**2 - v2**2")], names)


def test_two_layer_linear_laws_are_the_gram_differences() -> None:
    # widths 2,2,1: W1 (2x2), W2 (1x2); the laws are the entries of W1 W1^T - W2^T W2.
    result = cl.find_laws("linear", widths=(2, 2, 1), degree=2, seed=0)
    names = result.parameter_names
    w1 = sympy.Matrix(2, 2, lambda i, j: sympy.Symbol(f"W1_{i + 1}_{j + 1}"))
    w2 = sympy.Matrix(1, 2, lambda i, j: sympy.Symbol(f"W2_{i + 1}_{j + 1}"))
    gram = w1 * w1.T - w2.T * w2
    expected = [gram[0, 0], gram[1, 1], gram[0, 1]]
    assert_same_span(result.laws, expected, names)
    assert (result.independent, result.complete) == (3, True)


def test_every_returned_law_is_verified_by_sympy() -> None:
    names = ("a", "b", "c", "d")
    phi = ["a*c + b*d", "a*d - b*c"]
    result = cl.find_laws(cl.Model.from_phi(names, phi), degree=2, seed=2)
    fields = _gradients(phi, names)
    assert result.laws
    for h in result.laws:
        assert sympy_is_law(h, fields, names), h
    assert_same_span(result.laws, sympy_law_space(fields, names, 2), names)


def test_non_homogeneous_phi_mixes_degrees() -> None:
    # φ = x y + x = x (y + 1): ∇φ = (y + 1, x).  g = x² - (y + 1)² is a law:
    # 2x (y + 1) - 2(y + 1) x = 0, and the laws are the polynomials in g.  Without
    # constant terms: degree <= 2 gives x² - y² - 2y (mixed degrees 2 and 1);
    # degree <= 4 adds g² - 1 = (x² - y² - 2y)² - 2 (x² - y² - 2y).
    names = ("x", "y")
    g = sympy.sympify("x**2 - y**2 - 2*y")
    low = cl.find_laws("custom", phi="x*y + x", degree=2, seed=0)
    assert not low.homogeneous
    assert_same_span(low.laws, [g], names)
    high = cl.find_laws("custom", phi="x*y + x", degree=4, seed=0)
    assert_same_span(high.laws, [g, g**2], names)
    assert_same_span(high.laws, sympy_law_space(_gradients(["x*y + x"], names), names, 4), names)
    assert high.independent == 1 and high.complete


def test_non_homogeneous_phi_without_polynomial_laws() -> None:
    # φ = x + y²: ∇φ = (1, 2y).  Writing P = Σ p_k(x) y^k, P_x + 2y P_y = 0 gives
    # p_k' = -2k p_k, so p_k = c e^{-2kx}: only constants are polynomial laws.
    # The one law (D - rank = 1) is y e^{-2x}, not a polynomial.
    result = cl.find_laws("custom", phi="x + y**2", degree=3, seed=0)
    assert not result.homogeneous
    assert result.laws == []
    assert (result.independent, result.laws_upper_bound, result.complete) == (0, 1, False)


_TERMS = st.tuples(st.lists(st.integers(0, 2), min_size=3, max_size=3),
                   st.sampled_from([-2, -1, 1, 3]))


def _random_polynomial(data: Any, syms: tuple[Any, ...], low: int, high: int) -> sympy.Expr:
    parts = data.draw(st.lists(_TERMS.filter(lambda t: low <= sum(t[0]) <= high),
                               min_size=1, max_size=2))
    return sympy.expand(sum(c * sympy.Mul(*(s**e for s, e in zip(syms, exps, strict=True)))
                            for exps, c in parts))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_law_space_matches_sympy_solve(data: Any) -> None:
    # Random φ (gradient fields) or random direct fields, homogeneous or not.
    names = ("a", "b", "c")
    syms = sympy.symbols(names)
    if data.draw(st.booleans()):
        phi = [p for p in (_random_polynomial(data, syms, 1, 3)
                           for _ in range(data.draw(st.integers(1, 2)))) if p != 0]
        phi = [str(p) for p in phi] or ["a*b*c"]
        model = cl.Model.from_phi(names, phi)
        fields = _gradients(phi, names)
    else:
        fields = [[_random_polynomial(data, syms, 0, 2) if data.draw(st.booleans()) else 0
                   for _ in names] for _ in range(data.draw(st.integers(1, 2)))]
        fields = [f for f in fields if any(c != 0 for c in f)] or [[syms[1], -syms[0], 0]]
        model = cl.Model.from_fields(names, [[str(c) for c in f] for f in fields])
    degree = data.draw(st.integers(1, 2))
    result = cl.find_laws(model, degree=degree, seed=data.draw(st.integers(0, 1000)))
    expected = sympy_law_space(fields, names, degree)
    assert_same_span(result.laws, expected, names)


# --------------------------------------------------------------------------- is_conserved


def test_is_conserved_true_and_false() -> None:
    model = cl.Model.from_phi(("u", "v1", "v2"), ["u*v1", "u*v2"])
    assert cl.is_conserved(model, "u**2 - v1**2 - v2**2")
    assert cl.is_conserved(model, "(u**2 - v1**2 - v2**2)**2 + 3*(u**2 - v1**2 - v2**2)")
    assert not cl.is_conserved(model, "u**2 - v1**2")
    assert not cl.is_conserved(model, "u**2 + v1**2 + v2**2")
    assert not cl.is_conserved(model, "v1")
    # A sympy expression in plain symbols is matched to the parameters by name.
    u, v1, v2 = sympy.symbols("u v1 v2")
    assert cl.is_conserved(model, u**2 / 2 - v1**2 / 2 - v2**2 / 2)
    # A law of the ring itself (flint polynomial).
    assert cl.is_conserved(model, model.ring.from_sympy("u**2 - v1**2 - v2**2"))


def test_is_conserved_on_direct_fields() -> None:
    model = cl.Model.from_fields(("x", "y"), [["y", "-x"]])
    assert cl.is_conserved(model, "x**2 + y**2")
    assert not cl.is_conserved(model, "x**2 - y**2")


@pytest.mark.parametrize("law", ["exp(u)", "1/u", "sqrt(u)", "u**2 - w**2", "u +* v1"])
def test_is_conserved_rejects_non_polynomials(law: str) -> None:
    model = cl.Model.from_phi(("u", "v1", "v2"), ["u*v1", "u*v2"])
    with pytest.raises(InvalidExpressionError):
        cl.is_conserved(model, law)


# --------------------------------------------------------------------------- GF(2) characters


def _brute_span(vectors: list[int]) -> set[int]:
    span = {0}
    for v in vectors:
        span |= {s ^ v for s in span}
    return span


vectors = st.lists(st.integers(0, 2**6 - 1), max_size=6)


@SETTINGS
@given(basis=vectors, probes=st.lists(st.integers(0, 2**6 - 1), min_size=1, max_size=8))
def test_gf2span_reduce_is_a_canonical_form(basis: list[int], probes: list[int]) -> None:
    span = GF2Span()
    seen: list[int] = []
    for v in basis:
        assert span.add(v) == (v not in _brute_span(seen))
        seen.append(v)
    members = _brute_span(seen)
    assert 2 ** len(span) == len(members)
    for v in probes:
        r = span.reduce(v)
        assert (r == 0) == (v in members)
        assert r ^ v in members, "reduce only subtracts elements of the span"
        assert span.reduce(r) == r, "reduce is idempotent"
        for s in members:
            assert span.reduce(v ^ s) == r
    for v, w in itertools.product(probes, repeat=2):
        assert (span.reduce(v) == span.reduce(w)) == ((v ^ w) in members)


def test_parity_of_exponents() -> None:
    # x0² x1 x3³: odd exponents at 1 and 3.
    assert parity(((0, 2), (1, 1), (3, 3))) == 0b1010
    assert parity(()) == 0


def _bits(names: tuple[str, ...], *chosen: str) -> int:
    return sum(1 << names.index(n) for n in chosen)


def test_character_span_of_one_hidden_layer_of_two() -> None:
    # widths 1,2,1: φ = W2_1_1 W1_1_1 + W2_1_2 W1_2_1.  The parities of the two
    # terms differ by all four bits, so S^⊥ = {0, 1111}: the sign flips allowed
    # are the even ones (hidden neuron k: W1_k_1 and W2_1_k; or all of layer 1).
    model = cl.build_model("linear", widths=(1, 2, 1))
    names = model.parameter_names
    span = character_span(model.generators)
    assert len(span) == 1
    everything = _bits(names, *names)
    assert span.reduce(everything) == 0
    neuron1, neuron2 = _bits(names, "W1_1_1", "W2_1_1"), _bits(names, "W1_2_1", "W2_1_2")
    assert span.reduce(neuron1) == span.reduce(neuron2)  # W1_1_1 W2_1_1 ~ W1_2_1 W2_1_2
    assert span.reduce(_bits(names, "W1_1_1")) != span.reduce(_bits(names, "W1_2_1"))
    assert span.reduce(0) != span.reduce(neuron1)  # W1_1_1² and W1_1_1 W2_1_1 apart


def _linear_term_parities(widths: tuple[int, ...], names: tuple[str, ...]) -> list[list[int]]:
    """For each entry of W_q ⋯ W_1, the parities of its paths (written out here)."""
    out = []
    for i, j in itertools.product(range(widths[-1]), range(widths[0])):
        terms = []
        for hidden in itertools.product(*(range(w) for w in widths[1:-1])):
            units = (j, *hidden, i)
            edges = [f"W{layer + 1}_{units[layer + 1] + 1}_{units[layer] + 1}"
                     for layer in range(len(widths) - 1)]
            terms.append(_bits(names, *edges))
        out.append(terms)
    return out


@pytest.mark.parametrize("widths", [(1, 2, 1), (2, 2, 1), (2, 2, 2), (1, 2, 2, 1), (2, 3, 1)])
def test_character_span_of_linear_networks(widths: tuple[int, ...]) -> None:
    model = cl.build_model("linear", widths=widths)
    names = model.parameter_names
    span = character_span(model.generators)
    members = {v for v in range(2 ** len(names)) if span.reduce(v) == 0}
    # S^⊥ is spanned by differences of the term parities within each φ_ij.
    differences = [t ^ terms[0] for terms in _linear_term_parities(widths, names) for t in terms]
    assert members == _brute_span(differences)
    # Flipping a hidden neuron (its incoming and outgoing weights) is a symmetry:
    # it is orthogonal to S^⊥, so monomials of different hidden-neuron characters
    # never share a block.
    for layer in range(1, len(widths) - 1):
        for k in range(1, widths[layer] + 1):
            incoming = [f"W{layer}_{k}_{j}" for j in range(1, widths[layer - 1] + 1)]
            outgoing = [f"W{layer + 1}_{i}_{k}" for i in range(1, widths[layer + 1] + 1)]
            flip = _bits(names, *incoming, *outgoing)
            assert all(bin(flip & d).count("1") % 2 == 0 for d in members)


def test_gram_law_monomials_share_a_block() -> None:
    # widths 2,2,1: the law W1_1_1 W1_2_1 + W1_1_2 W1_2_2 - W2_1_1 W2_1_2 must be found
    # in one block, so its three monomials reduce alike; W1_1_1² is elsewhere.
    model = cl.build_model("linear", widths=(2, 2, 1))
    names = model.parameter_names
    span = character_span(model.generators)
    blocks = {span.reduce(_bits(names, *pair))
              for pair in (("W1_1_1", "W1_2_1"), ("W1_1_2", "W1_2_2"), ("W2_1_1", "W2_1_2"))}
    assert len(blocks) == 1
    assert span.reduce(0) not in blocks


def test_character_span_of_a_path_lifting_is_trivial() -> None:
    # Each component of a path lifting is one monomial: no relation between terms.
    model = cl.build_model("relu", widths=(2, 2, 1))
    assert len(character_span(model.generators)) == 0


# --------------------------------------------------------------------------- backends


class _FourMethodField(cl.Backend):
    """A GF(p) backend written outside conslaws: convert, rank, pivot_columns, kernel."""

    name = "four-methods"
    description = "GF(p) by flint rref, kernels one matrix at a time"
    exact = True
    prime_field = True

    def __init__(self, p: int = 1_000_003) -> None:
        self.characteristic = p
        self.kernel_calls = 0

    def convert(self, value: Any) -> int:
        value = sympy.Rational(value)
        return int(value.p) * pow(int(value.q), -1, self.characteristic) % self.characteristic

    def _rref(self, rows: Any, ncols: int) -> tuple[Any, int]:
        import flint

        from conslaws.core.plugins.backend import densify

        dense = [[self.convert(v) for v in row] for row in densify(rows, ncols)]
        matrix = flint.nmod_mat(len(dense), ncols, [v for row in dense for v in row],
                                self.characteristic)
        reduced, rank = matrix.rref()
        return reduced, int(rank)

    def rank(self, rows: Any, ncols: int) -> int:
        return self._rref(rows, ncols)[1] if rows and ncols else 0

    def pivot_columns(self, rows: Any, ncols: int) -> list[int]:
        from conslaws.core.plugins.backend import leading_columns

        if not rows or not ncols:
            return []
        return leading_columns(*self._rref(rows, ncols))

    def kernel(self, rows: Any, ncols: int) -> list[list[int]]:
        self.kernel_calls += 1
        pivots = self.pivot_columns(rows, ncols)
        reduced = self._rref(rows, ncols)[0] if pivots else None
        basis = []
        for f in (j for j in range(ncols) if j not in pivots):
            vector = [0] * ncols
            vector[f] = 1
            for i, c in enumerate(pivots):
                vector[c] = -int(reduced[i, f]) % self.characteristic
            basis.append(vector)
        return basis


def test_the_law_search_takes_its_kernels_from_the_backend() -> None:
    """A backend with only the documented methods finds the same laws through its own
    ``kernel`` (at its prime; the search's other primes use the modular backend)."""
    from conslaws.core.engine.laws import find_polynomial_laws
    from conslaws.core.plugins.testing import check_backend

    backend = _FourMethodField()
    check_backend(backend)
    backend.kernel_calls = 0
    model = cl.Model.from_phi(("u1", "u2", "v1", "v2"), ["u1*v1 + u2*v2", "u1*v2 - u2*v1"])
    search = find_polynomial_laws(model, 2, backend=backend)
    builtin = find_polynomial_laws(model, 2, backend=cl.make_backend("modular"))
    assert backend.kernel_calls > 0
    assert search.kernels_by[0] == "four-methods mod 1000003"
    assert all(entry.startswith("modular mod ") for entry in builtin.kernels_by)
    assert [str(h) for h in search.laws] == [str(h) for h in builtin.laws]
    # Independently: the laws are those of the symbolic system solved by sympy.
    names = ("u1", "u2", "v1", "v2")
    phi = ["u1*v1 + u2*v2", "u1*v2 - u2*v1"]
    assert_same_span([model.ring.to_sympy(h) for h in search.laws],
                     sympy_law_space(_gradients(phi, names), names, 2), names)
