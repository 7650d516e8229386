"""Rotation symmetries of φ and the momentum laws lifted from them.

Expected values come from outside the code under test:

* the space of antisymmetric A with ∇φ_i·Aθ ≡ 0, solved here by sympy as a linear
  system in the unknowns a_jk (j < k);
* the theory's momentum counts: r(r-1)/2 for a factorization U Vᵀ of inner size r
  (the rotations U → UR, V → VR), d1(d1 - 1) for one attention head (one so(d1) for
  the query and key weights, one for the value and output weights);
* the monomial law search of the same flow (rotations switched off), a different
  algorithm on the same fields;
* a numerical integration of the heavy-ball ODE, along which each law stays constant.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy

import conslaws.core as cl
from conslaws.core.engine.rotations import find_rotations, is_rotation
from conslaws.core.frontends.api import build_model
from conslaws.flows.builtin import MomentumFlow, NesterovFlow


def _sympy_rotation_space(phi: list[str], names: tuple[str, ...]) -> list[sympy.Matrix]:
    """A basis of the antisymmetric A with ∇φ_i·Aθ = 0, by a sympy linear solve."""
    theta = sympy.symbols(names)
    local = dict(zip(names, theta, strict=True))
    pairs = list(itertools.combinations(range(len(names)), 2))
    unknowns = sympy.symbols(f"a0:{len(pairs)}")
    image = [sympy.Integer(0)] * len(names)
    for a, (j, k) in zip(unknowns, pairs, strict=True):
        image[j] += a * theta[k]
        image[k] -= a * theta[j]
    equations = []
    for formula in phi:
        f = sympy.sympify(formula, locals=local)
        expr = sympy.expand(sum(sympy.diff(f, t) * v for t, v in zip(theta, image,
                                                                     strict=True)))
        if expr != 0:
            equations += sympy.Poly(expr, *theta).coeffs()
    if not equations:
        return [sympy.Matrix([int(i == c) for i in range(len(pairs))])
                for c in range(len(pairs))]
    matrix, _ = sympy.linear_eq_to_matrix(equations, unknowns)
    return matrix.nullspace()


def _as_vector(rotation: list[tuple[int, int, int]], size: int) -> sympy.Matrix:
    pairs = list(itertools.combinations(range(size), 2))
    where = {pair: i for i, pair in enumerate(pairs)}
    vector = [0] * len(pairs)
    for j, k, c in rotation:
        vector[where[(j, k)]] = c
    return sympy.Matrix(vector)


@pytest.mark.parametrize(("phi", "names"), [
    (["u1*v1 + u2*v2"], ("u1", "u2", "v1", "v2")),                   # so(2, 2) ∩ so(4)
    (["u1**2 + u2**2 + u3**2"], ("u1", "u2", "u3")),                  # so(3)
    (["x1*x2*x3"], ("x1", "x2", "x3")),                               # none
    (["u1*v1 + u2*v2", "u1*v2 - u2*v1"], ("u1", "u2", "v1", "v2")),   # complex product
    (["a*b + c*d", "a*d + 2*b*c"], ("a", "b", "c", "d")),            # a coefficient 2
])
def test_the_rotations_are_the_sympy_space(phi: list[str], names: tuple[str, ...]) -> None:
    model = cl.Model.from_phi(names, phi)
    found = find_rotations(model, backend=cl.make_backend("modular"))
    expected = _sympy_rotation_space(phi, names)
    vectors = [_as_vector(r, len(names)) for r in found]
    width = len(names) * (len(names) - 1) // 2
    got = sympy.Matrix.hstack(*vectors) if vectors else sympy.zeros(width, 0)
    want = sympy.Matrix.hstack(*expected) if expected else sympy.zeros(width, 0)
    assert got.rank() == len(found) == want.rank()
    assert sympy.Matrix.hstack(got, want).rank() == want.rank()
    assert all(is_rotation(model, r) for r in found)


@pytest.mark.parametrize("p", [3, 7, 1_000_003])
def test_a_small_prime_of_the_backend_loses_nothing(p: int) -> None:
    """The backend's own prime screens first (3 divides the coefficient 3 of φ)."""
    names = ("a", "b", "c", "d")
    phi = ["a*b + c*d", "3*a*d + 3*b*c"]
    model = cl.Model.from_phi(names, phi)
    found = find_rotations(model, backend=cl.make_backend("modular", modulus=p))
    assert len(found) == len(_sympy_rotation_space(phi, names))


def test_is_rotation_refuses_a_symmetric_map() -> None:
    model = cl.Model.from_phi(("u", "v"), ["u*v"])
    assert not is_rotation(model, [(0, 1, 1)])  # the hyperbolic rescaling is not antisymmetric


@pytest.mark.parametrize("d1", [2, 3])
def test_attention_rotations_are_two_copies_of_so_d1(d1: int) -> None:
    model = build_model("attention", dim=d1, head_dim=d1)
    assert len(find_rotations(model, backend=cl.make_backend("modular"))) == d1 * (d1 - 1)


@pytest.mark.parametrize(("flow", "options"), [("momentum", {"tau": 1}),
                                                ("momentum", {"tau": 0}),
                                                ("nesterov", {})])
def test_factorization_momentum_counts_are_r_choose_2(flow: str, options: dict[str, int]
                                                       ) -> None:
    m, n, r = 3, 3, 3
    phi = "; ".join(" + ".join(f"U{i}_{k}*V{j}_{k}" for k in range(1, r + 1))
                    for i in range(1, m + 1) for j in range(1, n + 1))
    result = cl.count("custom", phi=phi, flow=flow, flow_options=options, seed=0)
    assert result.certified and result.laws == r * (r - 1) // 2
    assert any("rotation symmetries of phi" in line for line in result.checks)


@pytest.mark.parametrize("flow", [MomentumFlow, NesterovFlow])
def test_rotation_laws_match_the_monomial_search(monkeypatch: pytest.MonkeyPatch,
                                                 flow: type[MomentumFlow]) -> None:
    """The same count without rotations: the monomial law search up to the laws' degree
    (3 for momentum, s θ θ'; 5 for Nesterov, t³ θ θ', beyond its default degree)."""
    phi = "u1*v1 + u2*v2"
    with_rotations = cl.count("custom", phi=phi, flow=flow.name, seed=3)
    monkeypatch.setattr(flow, "lifts_rotations", False)
    searched = cl.count("custom", phi=phi, flow=flow.name, seed=3,
                        certify_degree=3 if flow is MomentumFlow else 5)
    assert with_rotations.certified and searched.certified
    assert with_rotations.laws == searched.laws == 2
    assert not any("rotation" in line for line in searched.checks)


def test_momentum_laws_stay_constant_along_the_flow() -> None:
    """RK4 on θ'' + τθ' = -∇L for L = (φ - y)²/2, φ = u1 v1 + u2 v2, written here."""
    tau = 0.5
    result = cl.count("custom", phi="u1*v1 + u2*v2", flow="momentum",
                      flow_options={"tau": "1/2"}, seed=0)
    assert result.certified and result.laws == 2
    names = result.parameter_names  # s, the parameters, their velocities
    t = sympy.Symbol("t")
    symbols = sympy.symbols(names[1:])
    laws = [sympy.lambdify((t, *symbols), law) for law in result.verified_laws]

    def acceleration(state: np.ndarray) -> np.ndarray:
        u1, u2, v1, v2 = state[:4]
        velocity = state[4:]
        residual = u1 * v1 + u2 * v2 - 0.7
        gradient = residual * np.array([v1, v2, u1, u2])
        return np.concatenate([velocity, -tau * velocity - gradient])

    state = np.array([0.3, -0.8, 1.1, 0.4, 0.2, -0.5, 0.1, 0.9])
    h, time = 1e-3, 0.0
    start = [law(time, *state) for law in laws]
    for _ in range(2000):
        k1 = acceleration(state)
        k2 = acceleration(state + h / 2 * k1)
        k3 = acceleration(state + h / 2 * k2)
        k4 = acceleration(state + h * k3)
        state = state + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        time += h
    end = [law(time, *state) for law in laws]
    assert np.allclose(start, end, rtol=1e-8, atol=1e-9)
    assert abs(state[0] * state[0] - start[0]) > 1e-3  # the state did move


# --------------------------------------------------------------------------- weight decay


def _factorization(m: int, n: int, r: int) -> str:
    return "; ".join(" + ".join(f"U{i}_{k}*V{j}_{k}" for k in range(1, r + 1))
                     for i in range(1, m + 1) for j in range(1, n + 1))


def test_weight_decay_lifts_the_gradient_laws() -> None:
    """θ' + λθ = -∇L keeps H(sθ) = s² H(θ) for the r(r+1)/2 laws UᵀU - VᵀV of U Vᵀ."""
    r = 3
    result = cl.count("custom", phi=_factorization(4, 3, r), flow="weight-decay", seed=0)
    assert result.certified and result.laws == r * (r + 1) // 2
    assert any("laws of degree <= 2 of the gradient flow of phi" in line
               for line in result.checks)


def test_weight_decay_laws_match_the_monomial_search(monkeypatch: pytest.MonkeyPatch) -> None:
    from conslaws.flows.builtin import WeightDecayFlow

    phi = _factorization(2, 2, 2)
    lifted = cl.count("custom", phi=phi, flow="weight-decay", seed=5)
    monkeypatch.setattr(WeightDecayFlow, "lifts_gradient_laws", False)
    searched = cl.count("custom", phi=phi, flow="weight-decay", seed=5)
    assert lifted.certified and searched.certified
    assert lifted.laws == searched.laws == 3
    assert not any("lifted" in line for line in searched.checks)


def test_an_inhomogeneous_gradient_law_is_not_lifted() -> None:
    from conslaws.flows.builtin import WeightDecayFlow

    flow = WeightDecayFlow()
    model = cl.Model.from_phi(("u", "v"), ["u*v"])
    laws = flow.lift_gradient_laws([[(1, ((0, 2),)), (-1, ((1, 2),))],    # u² - v²
                                    [(1, ((0, 2),)), (1, ((1, 1),))]],    # u² + v
                                   model)
    assert laws == [[(1, ((0, 2), (1, 2))), (-1, ((0, 2), (2, 2)))]]
