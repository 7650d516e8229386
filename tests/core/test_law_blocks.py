"""The vectorized law search: monomial tables, block codes, evaluated systems, stacks.

Each piece is compared with an independent path: itertools for the monomials,
flint's ``nmod_mat.rref`` for the stacked elimination, sympy derivatives for the
evaluated rows, a brute-force GF(2) span for the character codes, and a sympy
linear solve for the law spaces (tests/core/test_laws.py's reference).
"""

from __future__ import annotations

import itertools
import random

import flint
import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import conslaws.core as cl
from conslaws.backends.modular import ModularBackend
from conslaws.core.algebra.batch_elimination import batch_rref, kernel_basis
from conslaws.core.algebra.symmetry import GF2Span
from conslaws.core.engine import laws as law_module
from conslaws.core.engine.law_blocks import EvaluationRows, MonomialTable, block_matrices
from conslaws.core.engine.laws import find_polynomial_laws
from conslaws.core.plugins.registry import backends
from tests.core.test_laws import assert_same_span, sympy_law_space

SETTINGS = settings(max_examples=40, deadline=None)


@pytest.mark.parametrize(("size", "degree"), [(1, 1), (1, 4), (3, 2), (4, 3), (5, 1)])
def test_monomial_table_is_every_multiset(size: int, degree: int) -> None:
    table = MonomialTable(size, degree)
    got = [tuple(table.factors(g)) for g in range(len(table))]
    expected = [c for d in range(1, degree + 1)
                for c in itertools.combinations_with_replacement(range(size), d)]
    assert sorted(got) == sorted(expected) and len(got) == len(expected)
    assert table.degrees().tolist() == [len(f) for f in got]
    for g, factors in enumerate(got):
        assert table.monomial(g) == tuple((j, factors.count(j)) for j in sorted(set(factors)))


@SETTINGS
@given(data=st.data(), shape=st.tuples(st.integers(1, 6), st.integers(1, 7), st.integers(1, 6)),
       p=st.sampled_from([2, 3, 7, 101, 4194301]))
def test_batch_rref_matches_flint(data: st.DataObject, shape: tuple[int, int, int],
                                  p: int) -> None:
    n, rows, cols = shape
    entries = data.draw(st.lists(st.integers(-3, 3), min_size=n * rows * cols,
                                 max_size=n * rows * cols))
    stack = np.array(entries, dtype=np.int64).reshape(shape)
    echelon = batch_rref(stack, p)
    for k in range(n):
        reduced, rank = flint.nmod_mat(stack[k].tolist(), p).rref()
        assert int(echelon.rank[k]) == rank
        assert echelon.reduced[k].tolist() == [[int(v) for v in r] for r in reduced.tolist()]
        kernel = kernel_basis(echelon, k, p)
        assert kernel.shape == (cols - rank, cols)
        assert not (stack[k] @ kernel.T % p).any()


def test_batch_rref_refuses_a_prime_whose_products_overflow() -> None:
    with pytest.raises(ValueError, match="below 2"):
        batch_rref(np.zeros((1, 1, 1), dtype=np.int64), 2**31 + 11)


def _members(bits: int, size: int) -> list[int]:
    return [j for j in range(size) if bits >> j & 1]


@SETTINGS
@given(rows=st.lists(st.integers(1, 2**7 - 1), max_size=5),
       probes=st.lists(st.integers(0, 2**7 - 1), min_size=2, max_size=8))
def test_character_codes_separate_exactly_the_classes(rows: list[int], probes: list[int]) -> None:
    span = GF2Span()
    for r in rows:
        span.add(r)
    codes = span.codes(7, np.random.default_rng(0))

    def code(v: int) -> int:
        out = 0
        for j in _members(v, 7):
            out ^= int(codes[j])
        return out

    for r in rows:
        assert code(r) == 0, "a vector of the span has code 0"
    for v, w in itertools.product(probes, repeat=2):
        same = span.reduce(v) == span.reduce(w)
        # Distinct classes collide with probability 2**-64 for this fixed seed.
        assert (code(v) == code(w)) == same


def test_evaluated_rows_are_directional_derivatives() -> None:
    # Rows ∇θ^α(x)·X(x) mod p, against sympy's derivative of the monomial at the point
    # and the field evaluated from its formula.
    model = cl.Model.from_phi(("a", "b", "c"), ["a*b - c**2", "a**2*c + 3*b"])
    p = 101
    rows = EvaluationRows(model, p, np.random.default_rng(5), per_point=2)
    table = MonomialTable(3, 3)
    members = np.arange(len(table))[None, :]
    values = block_matrices(table, members, rows, 4)[0]
    points, fields = rows.rows(4)
    syms = sympy.symbols("a b c")
    for r in range(4):
        x = dict(zip(syms, points[r].tolist(), strict=True))
        for g in range(len(table)):
            monomial = sympy.Mul(*(syms[j] for j in table.factors(g)))
            expected = sum(sympy.diff(monomial, s).subs(x) * int(fields[r, k])
                           for k, s in enumerate(syms))
            assert values[r, g] == int(expected) % p
    # The fields are elements of W_0 = span ∇φ at the point: rank <= 2 per point.
    assert np.linalg.matrix_rank(fields[:2].astype(float)) <= 2


@pytest.mark.parametrize("prime", [3, 7, 101])
def test_a_coefficient_divisible_by_the_prime_changes_no_law(prime: int) -> None:
    # φ = 7uv + 21w: mod 7 every evaluated row vanishes, so nothing is screened out
    # and the kernels mod 7 are everything; the candidates fail the exact check and the
    # search moves to other primes.  The laws are the sympy ones for every prime.
    names = ("u", "v", "w")
    model = cl.Model.from_phi(names, ["7*u*v + 21*w", "u*w"])
    search = find_polynomial_laws(model, 2, backend=ModularBackend(prime), seed=prime)
    fields = [[sympy.diff(sympy.sympify(f), s) for s in sympy.symbols(names)]
              for f in ["7*u*v + 21*w", "u*w"]]
    assert_same_span(search.laws, sympy_law_space(fields, names, 2), names)


def test_large_coefficients_are_lifted_from_several_primes() -> None:
    # (a y, -b x) with a, b of 27 and 20 bits: the law is b x² + a y², whose
    # coefficients need more than one prime below 2**22 to reconstruct.
    a, b = 123456791, 987659
    names = ("x", "y")
    model = cl.Model.from_fields(names, [[f"{a}*y", f"-{b}*x"]])
    search = find_polynomial_laws(model, 2, backend=backends.load("modular")(), seed=1)
    assert_same_span(search.laws, [sympy.sympify(f"{b}*x**2 + {a}*y**2")], names)
    assert search.blocks_exact == 0, "lifted by Chinese remaindering, not solved symbolically"


def test_the_exact_fallback_finds_the_same_laws(monkeypatch: pytest.MonkeyPatch) -> None:
    # With no lifting attempt every surviving block is solved from the symbolic fields.
    model = cl.build_model("linear", widths=(2, 3, 2))
    fast = find_polynomial_laws(model, 2, backend=backends.load("modular")(), seed=3)
    monkeypatch.setattr(law_module, "LIFT_ATTEMPTS", 0)
    slow = find_polynomial_laws(model, 2, backend=backends.load("modular")(), seed=3)
    assert slow.blocks_exact == slow.blocks_solved > 0 and fast.blocks_exact == 0
    names = model.parameter_names
    assert_same_span(fast.laws, [model.ring.to_sympy(h) for h in slow.laws], names)


def test_attention_laws_are_the_gram_differences() -> None:
    # φ = (Q^T K, V^T O): Q -> A Q, K -> A^{-T} K leaves Q^T K alone, and the symmetric
    # part of A's generator gives the laws Q Q^T - K K^T (and V V^T - O O^T): two
    # symmetric d1 x d1 matrices, d1 (d1 + 1) laws in all.
    d, d1 = 3, 2
    model = cl.build_model("attention", dim=d, head_dim=d1)
    search = find_polynomial_laws(model, 2, backend=backends.load("modular")(),
                                  seed=random.Random(0).randrange(2**32))
    expected = []
    for left, right in (("Q", "K"), ("V", "O")):
        for c, e in itertools.combinations_with_replacement(range(1, d1 + 1), 2):
            expected.append(sum(
                sympy.Symbol(f"{left}1_{c}_{a}") * sympy.Symbol(f"{left}1_{e}_{a}")
                - sympy.Symbol(f"{right}1_{c}_{a}") * sympy.Symbol(f"{right}1_{e}_{a}")
                for a in range(1, d + 1)))
    assert_same_span(search.laws, expected, model.parameter_names)


def test_count_stops_at_the_lowest_degree_that_certifies() -> None:
    # Mirror flow θ' = -diag(θ)∇L on φ = (u v1, u v2): the rescaling u -> λu, v -> v/λ
    # gives the linear law u - v1 - v2 (d/dt = -u ∂_u L + v1 ∂_v1 L + v2 ∂_v2 L = 0 since
    # u ∂_u φ = v_i ∂_vi φ); one law of degree 1 certifies, degree 2 is not searched.
    result = cl.count("custom", phi="u*v1; u*v2", flow="mirror", seed=1)
    assert (result.laws, result.certified, result.verified_degree) == (1, True, 1)
    assert_same_span(result.verified_laws, [sympy.sympify("u - v1 - v2")], ("u", "v1", "v2"))


def test_a_default_degree_too_large_leaves_the_count_uncertified(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Weight decay seeks degree 4 by default; in 96 coordinates that is more than
    # 3,000,000 unknowns, so degrees 1..3 are searched and the count says why it stops.
    from conslaws.flows.builtin import WeightDecayFlow

    n = 47
    phi = "; ".join(f"x{2 * k - 1}*x{2 * k}*x{2 * k + 1}" for k in range(1, n + 1))
    params = ",".join(f"x{i}" for i in range(1, 2 * n + 2))
    # With the gradient flow's laws lifted to H(s θ), the count is proved, and it is the
    # gradient flow's own count (every law there is homogeneous).
    lifted = cl.count("custom", phi=phi, params=params, flow="weight-decay", seed=1)
    gradient = cl.count("custom", phi=phi, params=params, seed=1)
    assert lifted.certified and gradient.certified and lifted.laws == gradient.laws
    monkeypatch.setattr(WeightDecayFlow, "lifts_gradient_laws", False)
    result = cl.count("custom", phi=phi, params=params, flow="weight-decay", seed=1)
    assert not result.certified and result.verified_degree == 3
    assert "Laws of degree 4 were not sought" in result.statement
    # An explicit degree that is too large is still refused before any work.
    with pytest.raises(cl.ConslawsError, match="unknown coefficients"):
        cl.count("custom", phi=phi, params=params, flow="weight-decay", seed=1,
                 certify_degree=4)


def test_find_laws_on_a_phi_model_closes_on_the_oracle() -> None:
    # D = 4 d d1 = 100 >= the oracle's threshold: the Lie dimension comes from probes,
    # and must equal the symbolic closure's; d1 (d1 + 1) = 30 Gram laws, complete.
    from conslaws.core.engine.closure import lie_closure

    model = cl.build_model("attention", dim=5, head_dim=5)
    result = cl.find_laws(model, degree=2, seed=4)
    assert result.parameters == 100
    draw = random.Random(1)
    point = [draw.randrange(1, 1000) for _ in range(model.dimension)]
    symbolic = lie_closure(model.generators, point, backends.load("modular")())
    assert result.lie_dimension == symbolic.lie_dimension == 70
    assert (len(result.laws), result.independent, result.complete) == (30, 30, True)
