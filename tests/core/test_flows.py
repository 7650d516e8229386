"""Flows other than the Euclidean gradient flow (theory.md section 4).

Expected values come from outside the code under test:

* the flow rows of theory.md section 5 (momentum on linear networks:
  r(r-1)/2 laws e^{τt}(U^T U' - U'^T U + V^T V' - V'^T V); momentum on ReLU
  networks: none; mirror diag(θ) on linear networks: r laws
  Σ_i U_ik - Σ_j V_jk), and section 4 (weight decay: the laws H(s θ) of the
  gradient-flow laws H; Nesterov: the momentum laws with t^3);
* the phase-space fields written here from the definitions of section 4
  (drift χ_0 = (ṡ, θ', -τ θ') and χ_i = (0, 0, ∇φ_i) on (s, θ, θ'), ...): each
  law is checked with ∇h·χ ≡ 0 in sympy, and for degenerate shapes the count
  is compared with the naive closure of ``tests/reference.py`` on these fields;
* numerical integration of the flows themselves (a numpy RK4 written here, the
  loss gradient of the network computed by hand on random data): every law
  reported stays constant along a trajectory while a non-law drifts.

Parameters of a linear network are W1 (hidden × input) and W2 (output ×
hidden); in the notation of theory.md, φ = U V^T with U = W2 and V = W1^T.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import cache

import numpy as np
import pytest
import sympy
from cli_runner import run_cli
from reference import (
    check_trace,
    linear_phi,
    plain,
    random_point,
    reference_fields_lie_rank,
    relu_phi,
    span_rank,
)

from conslaws.core import count, find_laws
from conslaws.core.frontends.cli import main

SEED = 20240611
S = sympy.Symbol("s")
T = sympy.Symbol("t")

Shape = tuple[int, ...]
Field = list[sympy.Expr]


def shape_id(widths: Shape) -> str:
    return ",".join(map(str, widths))


def rate(value: str) -> sympy.Rational:
    return sympy.Rational(Fraction(value).numerator, Fraction(value).denominator)


# --------------------------------------------------------------------------
# The flows' fields, written from theory.md section 4 (nothing from conslaws)
# --------------------------------------------------------------------------


def velocities(theta: Sequence[sympy.Symbol]) -> list[sympy.Symbol]:
    return [sympy.Symbol(f"{t.name}_dot") for t in theta]


def momentum_fields(theta: Sequence[sympy.Symbol], phi: Sequence[sympy.Expr],
                    tau: str) -> tuple[list[sympy.Symbol], list[Field]]:
    """Heavy ball on z = (s, θ, θ'): χ_0 = (ṡ, θ', -τθ') with ṡ = τs (τ > 0) or 1 (τ = 0)."""
    friction = rate(tau)
    vel = velocities(theta)
    zero = [sympy.Integer(0)] * len(theta)
    drift: Field = [friction * S if friction else sympy.Integer(1), *vel,
                    *(-friction * v for v in vel)]
    lifted: list[Field] = [[sympy.Integer(0), *zero, *(sympy.diff(p, t) for t in theta)]
                           for p in phi]
    return [S, *theta, *vel], [drift, *lifted]


def nesterov_fields(theta: Sequence[sympy.Symbol],
                    phi: Sequence[sympy.Expr]) -> tuple[list[sympy.Symbol], list[Field]]:
    """θ'' + (3/t)θ' = -∇L with s = t: t·χ_0 = (t, t θ', -3θ') and χ_i = (0, 0, ∇φ_i)."""
    vel = velocities(theta)
    zero = [sympy.Integer(0)] * len(theta)
    drift: Field = [S, *(S * v for v in vel), *(-3 * v for v in vel)]
    lifted: list[Field] = [[sympy.Integer(0), *zero, *(sympy.diff(p, t) for t in theta)]
                           for p in phi]
    return [S, *theta, *vel], [drift, *lifted]


def decay_fields(theta: Sequence[sympy.Symbol], phi: Sequence[sympy.Expr],
                 decay: str) -> tuple[list[sympy.Symbol], list[Field]]:
    """θ' + λθ = -∇L on (s, θ), s = e^{λt}: χ_0 = (λs, -λθ), χ_i = (0, ∇φ_i)."""
    lam = rate(decay)
    drift: Field = [lam * S, *(-lam * t for t in theta)]
    lifted: list[Field] = [[sympy.Integer(0), *(sympy.diff(p, t) for t in theta)] for p in phi]
    return [S, *theta], [drift, *lifted]


def mirror_fields(theta: Sequence[sympy.Symbol], phi: Sequence[sympy.Expr],
                  scaled: Sequence[bool]) -> list[Field]:
    """θ' = -M(θ)∇L with M = diag(θ_j on the scaled coordinates, 1 elsewhere)."""
    return [[(t if k else 1) * sympy.diff(p, t) for t, k in zip(theta, scaled, strict=True)]
            for p in phi]


def is_conserved(h: sympy.Expr, symbols: Sequence[sympy.Symbol],
                 fields: Sequence[Field]) -> bool:
    """∇h·χ expands to 0 for every field χ."""
    strangers = sympy.sympify(h).free_symbols - set(symbols)
    if strangers:
        raise ValueError(f"symbols {sorted(map(str, strangers))} are not coordinates")
    gradient = [sympy.diff(h, x) for x in symbols]
    return all(
        sympy.expand(sum((g * c for g, c in zip(gradient, field, strict=True)),
                         sympy.Integer(0))) == 0
        for field in fields
    )


def in_span(laws: Sequence[sympy.Expr], expected: Sequence[sympy.Expr],
            symbols: Sequence[sympy.Symbol]) -> bool:
    """Every expected polynomial is a linear combination of the laws."""
    return span_rank([*laws, *expected], symbols) == span_rank(laws, symbols)


def clock_laws(laws: Sequence[sympy.Expr], clock_rate: str | None) -> list[sympy.Expr]:
    """Printed laws back in the clock variable s (s = e^{rate t}, or s = t without a rate)."""
    out = []
    for law in laws:
        law = plain(law)
        if clock_rate is None or rate(clock_rate) == 0:
            law = law.subs(T, S)
        else:
            law = law.subs(T, sympy.log(S) / rate(clock_rate))
        out.append(sympy.expand(law))
    return out


def matrix(symbols: Sequence[sympy.Symbol], prefix: str, rows: int, cols: int,
           suffix: str = "") -> sympy.Matrix:
    by_name = {x.name: x for x in symbols}
    return sympy.Matrix(rows, cols, lambda i, j: by_name[f"{prefix}_{i + 1}_{j + 1}{suffix}"])


def angular_momentum_laws(widths: Shape, clock: sympy.Expr) -> list[sympy.Expr]:
    """Entries i < j of clock·(U^T U' - U'^T U + V^T V' - V'^T V), U = W2, V = W1^T."""
    m, r, n = widths
    theta, _ = linear_phi(widths)
    vel = velocities(theta)
    u, du = matrix(theta, "W2", n, r), matrix(vel, "W2", n, r, "_dot")
    v, dv = matrix(theta, "W1", r, m).T, matrix(vel, "W1", r, m, "_dot").T
    a = u.T * du - du.T * u + v.T * dv - dv.T * v
    return [sympy.expand(clock * a[i, j]) for i in range(r) for j in range(i + 1, r)]


def balance_laws(widths: Shape) -> list[sympy.Expr]:
    """Entries i <= j of W1 W1^T - W2^T W2 (the gradient-flow laws of two linear layers)."""
    m, r, n = widths
    theta, _ = linear_phi(widths)
    w1, w2 = matrix(theta, "W1", r, m), matrix(theta, "W2", n, r)
    b = w1 * w1.T - w2.T * w2
    return [sympy.expand(b[i, j]) for i in range(r) for j in range(i, r)]


# --------------------------------------------------------------------------
# Momentum (heavy ball)
# --------------------------------------------------------------------------

# n + m >= 3 and 2 <= r <= 2(n + m): theory.md section 5 gives r(r-1)/2.
MOMENTUM_SHAPES = [(2, 2, 2), (1, 2, 2), (2, 3, 2), (2, 4, 1), (3, 2, 2)]


@pytest.mark.parametrize("tau", ["1", "0"])
@pytest.mark.parametrize("widths", MOMENTUM_SHAPES, ids=shape_id)
def test_momentum_on_two_linear_layers_has_r_r_minus_1_over_2_laws(
        exact_backend: str, widths: Shape, tau: str) -> None:
    m, r, n = widths
    result = count("linear", backend=exact_backend, seed=SEED, widths=widths, flow="momentum",
                   flow_options={"tau": tau})
    assert result.flow == "momentum"
    assert result.parameters == 2 * (n + m) * r + 1
    assert result.parameter_names[0] == "s"
    assert result.laws == r * (r - 1) // 2
    assert result.certified  # certify degree 3 by default for momentum


def test_the_angular_momentum_law_is_conserved_by_the_phase_space_fields() -> None:
    # Guards the guard: the theory's law against the fields written here.
    widths = (2, 3, 2)
    theta, phi = linear_phi(widths)
    for tau, clock in (("1", S), ("1/2", S), ("0", sympy.Integer(1))):
        symbols, fields = momentum_fields(theta, phi, tau)
        laws = angular_momentum_laws(widths, clock)
        assert len(laws) == 3
        assert all(is_conserved(h, symbols, fields) for h in laws)
    # ... and a plain kinetic or balance quantity is not.
    symbols, fields = momentum_fields(theta, phi, "1")
    assert not is_conserved(balance_laws(widths)[0], symbols, fields)
    assert not is_conserved(sum(v**2 for v in velocities(theta)), symbols, fields)


@pytest.mark.parametrize(("widths", "tau"), [((2, 2, 2), "1"), ((2, 3, 2), "1"),
                                             ((1, 2, 2), "1/2"), ((2, 2, 2), "0")],
                         ids=lambda v: v if isinstance(v, str) else shape_id(v))
def test_momentum_laws_span_the_angular_momentum(exact_backend: str, widths: Shape,
                                                 tau: str) -> None:
    r = widths[1]
    theta, phi = linear_phi(widths)
    symbols, fields = momentum_fields(theta, phi, tau)
    clock = S if rate(tau) else sympy.Integer(1)
    expected = angular_momentum_laws(widths, clock)

    result = find_laws("linear", 3, backend=exact_backend, seed=SEED, widths=widths,
                       flow="momentum", flow_options={"tau": tau})
    assert result.parameter_names == tuple(x.name for x in symbols)
    if rate(tau):
        # Printed with e^{τt} in place of s.
        assert all(h.has(sympy.exp) for h in result.laws)
    laws = clock_laws(result.laws, tau)
    assert laws and all(is_conserved(h, symbols, fields) for h in laws)
    assert span_rank(laws, symbols) == len(laws)
    assert in_span(laws, expected, symbols)
    assert result.independent == r * (r - 1) // 2
    assert result.complete


@pytest.mark.parametrize("tau", ["1", "0"])
@pytest.mark.parametrize(("widths", "bias"), [((2, 2, 1), False), ((2, 3, 1), False),
                                              ((2, 2, 2), True)],
                         ids=["2,2,1", "2,3,1", "2,2,2+bias"])
def test_momentum_on_relu_networks_has_no_law(exact_backend: str, widths: Shape, bias: bool,
                                              tau: str) -> None:
    theta, _ = relu_phi(widths, bias)
    result = count("relu", backend=exact_backend, seed=SEED, widths=widths, bias=bias,
                   flow="momentum", flow_options={"tau": tau})
    assert result.parameters == 2 * len(theta) + 1
    assert (result.laws, result.certified) == (0, True)


# --------------------------------------------------------------------------
# Degenerate shapes: the naive closure on the fields written here
# --------------------------------------------------------------------------

# r = 1, scalar input and output, a hidden layer wider than 2(n + m).
DEGENERATE = [(1, 1, 1), (2, 1, 2), (3, 1, 1), (1, 2, 1), (1, 6, 1), (2, 2, 1)]


@cache
def reference_momentum(widths: Shape, tau: str) -> tuple[int, list[int]]:
    theta, phi = linear_phi(widths)
    symbols, fields = momentum_fields(theta, phi, tau)
    ranks = reference_fields_lie_rank(fields, symbols, random_point(len(symbols), SEED))
    return len(symbols) - ranks[-1], ranks


@pytest.mark.parametrize("tau", ["1", "0"])
@pytest.mark.parametrize("widths", DEGENERATE, ids=shape_id)
def test_momentum_degenerate_shapes_match_the_naive_reference(exact_backend: str,
                                                              widths: Shape, tau: str) -> None:
    expected, ranks = reference_momentum(widths, tau)
    result = count("linear", backend=exact_backend, seed=SEED, widths=widths, flow="momentum",
                   flow_options={"tau": tau})
    assert result.parameters == 2 * len(linear_phi(widths)[0]) + 1
    assert result.laws == expected
    # Same closure definition (W_{k+1} = W_k + [W_0, W_k]), same stopping rule.
    check_trace(result, ranks)


@cache
def reference_nesterov(widths: Shape) -> int:
    theta, phi = linear_phi(widths)
    symbols, fields = nesterov_fields(theta, phi)
    ranks = reference_fields_lie_rank(fields, symbols, random_point(len(symbols), SEED))
    return len(symbols) - ranks[-1]


@cache
def reference_mirror(widths: Shape, layers: tuple[int, ...] | None) -> int:
    theta, phi = linear_phi(widths)
    scaled = [layers is None or int(x.name[1:].split("_")[0]) in layers for x in theta]
    fields = mirror_fields(theta, phi, scaled)
    ranks = reference_fields_lie_rank(fields, theta, random_point(len(theta), SEED))
    return len(theta) - ranks[-1]


# --------------------------------------------------------------------------
# Nesterov
# --------------------------------------------------------------------------


@pytest.mark.parametrize("widths", [(2, 2, 2), (1, 2, 2), (2, 3, 2)], ids=shape_id)
def test_nesterov_counts_equal_the_momentum_counts(exact_backend: str, widths: Shape) -> None:
    r = widths[1]
    nesterov = count("linear", backend=exact_backend, seed=SEED, widths=widths, flow="nesterov")
    momentum = count("linear", backend=exact_backend, seed=SEED, widths=widths, flow="momentum")
    assert nesterov.flow == "nesterov"
    assert nesterov.parameters == momentum.parameters
    # Laws t^3(...) have degree 5: the count need not be certified, but the
    # exact rank bounds it, and it is the momentum count.
    assert nesterov.laws == nesterov.laws_upper_bound == momentum.laws == r * (r - 1) // 2


@pytest.mark.parametrize("widths", [(1, 2, 2), (1, 2, 1)], ids=shape_id)
def test_nesterov_count_matches_the_naive_reference(widths: Shape) -> None:
    result = count("linear", seed=SEED, widths=widths, flow="nesterov", certify_degree=0)
    assert result.laws == reference_nesterov(widths)


def test_nesterov_t_cubed_angular_momentum_is_conserved() -> None:
    widths = (2, 3, 2)
    theta, phi = linear_phi(widths)
    symbols, fields = nesterov_fields(theta, phi)
    laws = angular_momentum_laws(widths, S**3)
    assert all(is_conserved(h, symbols, fields) for h in laws)
    # The heavy-ball clock does not fit Nesterov's friction.
    assert not any(is_conserved(h, symbols, fields) for h in angular_momentum_laws(widths, S))


# --------------------------------------------------------------------------
# Mirror (NMF)
# --------------------------------------------------------------------------


def nmf_laws(widths: Shape) -> list[sympy.Expr]:
    """Σ_i U_ik - Σ_j V_jk = Σ_i W2_i_k - Σ_j W1_k_j, one per hidden neuron k."""
    m, r, n = widths
    theta, _ = linear_phi(widths)
    w1, w2 = matrix(theta, "W1", r, m), matrix(theta, "W2", n, r)
    return [sum(w2[:, k]) - sum(w1[k, :]) for k in range(r)]


@pytest.mark.parametrize("widths", [(2, 2, 2), (2, 3, 2), (3, 2, 2), (2, 4, 3)], ids=shape_id)
def test_mirror_on_two_linear_layers_has_r_laws(exact_backend: str, widths: Shape) -> None:
    r = widths[1]
    theta, phi = linear_phi(widths)
    fields = mirror_fields(theta, phi, [True] * len(theta))
    expected = nmf_laws(widths)
    assert all(is_conserved(h, theta, fields) for h in expected)

    result = count("linear", backend=exact_backend, seed=SEED, widths=widths, flow="mirror")
    assert result.parameters == len(theta)
    assert (result.laws, result.certified) == (r, True)

    found = find_laws("linear", 1, backend=exact_backend, seed=SEED, widths=widths,
                      flow="mirror")
    laws = [plain(h) for h in found.laws]
    assert all(is_conserved(h, theta, fields) for h in laws)
    # The linear laws are exactly these: c·diag(θ)∇φ_ab = 0 forces c = (-α_k, α_k).
    assert span_rank(laws, theta) == len(laws) == r
    assert in_span(laws, expected, theta)
    assert (found.independent, found.complete) == (r, True)


@pytest.mark.parametrize(("widths", "layers"), [((2, 2, 2), "1,2"), ((2, 2, 2), "2"),
                                                ((1, 2, 1), None), ((2, 1, 2), None),
                                                ((2, 3, 2), "1")],
                         ids=lambda v: v if isinstance(v, str) or v is None else shape_id(v))
def test_mirror_counts_match_the_naive_reference(widths: Shape, layers: str | None) -> None:
    chosen = None if layers is None else tuple(int(x) for x in layers.split(","))
    options = {} if layers is None else {"mirror_layers": layers}
    result = count("linear", seed=SEED, widths=widths, flow="mirror", flow_options=options)
    assert result.laws == reference_mirror(widths, chosen)


# --------------------------------------------------------------------------
# Weight decay
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("architecture", "widths", "bias"),
                         [("linear", (2, 2, 2), False), ("linear", (2, 3, 2), False),
                          ("linear", (1, 2, 2), False), ("linear", (2, 3, 1), False),
                          ("relu", (2, 3, 1), False), ("relu", (2, 2, 2), True)],
                         ids=["lin2,2,2", "lin2,3,2", "lin1,2,2", "lin2,3,1", "relu2,3,1",
                              "relu2,2,2+bias"])
def test_weight_decay_count_equals_the_gradient_flow_count(
        exact_backend: str, architecture: str, widths: Shape, bias: bool) -> None:
    options = {"bias": True} if bias else {}
    gradient = count(architecture, backend=exact_backend, seed=SEED, widths=widths, **options)
    decay = count(architecture, backend=exact_backend, seed=SEED, widths=widths,
                  flow="weight-decay", flow_options={"decay": "1/2"}, **options)
    assert decay.parameters == gradient.parameters + 1
    assert decay.laws == gradient.laws
    assert decay.certified


def test_weight_decay_laws_are_gradient_laws_of_s_theta(exact_backend: str) -> None:
    widths = (2, 2, 2)
    theta, phi = linear_phi(widths)
    symbols, fields = decay_fields(theta, phi, "1")
    # s^2 (‖W1 row k‖^2 - ‖W2 col k‖^2) = H(s θ) for the balance law H.
    expected = [sympy.expand(S**2 * h) for h in balance_laws(widths)]
    assert all(is_conserved(h, symbols, fields) for h in expected)
    assert not any(is_conserved(h, symbols, fields) for h in balance_laws(widths))

    result = find_laws("linear", 4, backend=exact_backend, seed=SEED, widths=widths,
                       flow="weight-decay")
    assert result.parameter_names == tuple(x.name for x in symbols)
    laws = clock_laws(result.laws, "1")
    assert all(is_conserved(h, symbols, fields) for h in laws)
    assert in_span(laws, expected, symbols)
    assert (result.independent, result.complete) == (3, True)


# --------------------------------------------------------------------------
# Verification by integration (numpy RK4 on random data)
# --------------------------------------------------------------------------

Vector = np.ndarray
Gradient = Callable[[Vector], Vector]


def rk4(f: Callable[[float, Vector], Vector], y0: Vector, t0: float, t1: float,
        steps: int) -> Vector:
    h = (t1 - t0) / steps
    y, t = y0.copy(), t0
    for _ in range(steps):
        k1 = f(t, y)
        k2 = f(t + h / 2, y + h / 2 * k1)
        k3 = f(t + h / 2, y + h / 2 * k2)
        k4 = f(t + h, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        t += h
    return y


def parameter_names(widths: Shape) -> list[str]:
    return [f"W{layer}_{i}_{j}" for layer in range(1, len(widths))
            for i in range(1, widths[layer] + 1) for j in range(1, widths[layer - 1] + 1)]


def network_gradient(widths: Shape, relu: bool, seed: int) -> Gradient:
    """∇L for L = (1/2N) Σ ‖W2 σ(W1 x_i) - y_i‖^2 on random data (σ = id or ReLU)."""
    m, r, n = widths
    rng = np.random.default_rng(seed)
    samples = 6
    x = rng.normal(size=(m, samples))
    y = rng.normal(size=(n, samples))

    def gradient(theta: Vector) -> Vector:
        w1 = theta[: r * m].reshape(r, m)
        w2 = theta[r * m:].reshape(n, r)
        z = w1 @ x
        hidden = np.maximum(z, 0.0) if relu else z
        residual = (w2 @ hidden - y) / samples
        g2 = residual @ hidden.T
        back = w2.T @ residual
        if relu:
            back = back * (z > 0)
        g1 = back @ x.T
        return np.concatenate([g1.ravel(), g2.ravel()])

    return gradient


@pytest.mark.parametrize("relu", [False, True], ids=["linear", "relu"])
def test_hand_written_gradient_matches_finite_differences(relu: bool) -> None:
    # Guards the guard: the same random data (seed 1), the loss written out directly.
    m, r, n = 2, 3, 2
    gradient = network_gradient((m, r, n), relu, 1)
    data = np.random.default_rng(1)
    x, y = data.normal(size=(m, 6)), data.normal(size=(n, 6))

    def loss(th: Vector) -> float:
        z = th[: r * m].reshape(r, m) @ x
        hidden = np.maximum(z, 0.0) if relu else z
        return float(np.sum((th[r * m:].reshape(n, r) @ hidden - y) ** 2) / 12)

    theta = np.random.default_rng(2).normal(size=12)
    eps = 1e-6
    numeric = np.array([(loss(theta + eps * e) - loss(theta - eps * e)) / (2 * eps)
                        for e in np.eye(12)])
    assert np.allclose(gradient(theta), numeric, atol=1e-7)


def evaluate(laws: Sequence[sympy.Expr], names: Sequence[str]) -> Callable[..., Vector]:
    arguments = [T, *(sympy.Symbol(n) for n in names)]
    function = sympy.lambdify(arguments, [plain(h) for h in laws], modules="numpy")
    return lambda t, z: np.array(function(t, *z), dtype=float)


def assert_conserved_along(laws: Sequence[sympy.Expr], names: Sequence[str], z0: Vector,
                           z1: Vector, t0: float, t1: float, theta_slice: slice) -> None:
    values = evaluate(laws, names)
    start, end = values(t0, z0), values(t1, z1)
    drift = np.abs(end - start)
    assert np.all(drift < 1e-8 * np.maximum(1.0, np.abs(start))), (drift, start)
    # A non-law moves by far more along the same trajectory.
    norm0, norm1 = np.sum(z0[theta_slice] ** 2), np.sum(z1[theta_slice] ** 2)
    assert abs(norm1 - norm0) > 1e-2, (norm0, norm1)


def test_gradient_flow_laws_stay_constant_along_a_linear_trajectory() -> None:
    widths = (2, 2, 2)
    gradient = network_gradient(widths, relu=False, seed=3)
    result = find_laws("linear", 2, seed=SEED, widths=widths)
    assert list(result.parameter_names) == parameter_names(widths)
    assert result.independent == 3
    theta0 = np.random.default_rng(4).normal(size=8)
    theta1 = rk4(lambda t, th: -gradient(th), theta0, 0.0, 1.0, 1000)
    assert_conserved_along(result.laws, result.parameter_names, theta0, theta1, 0.0, 1.0,
                           slice(None))


def test_gradient_flow_laws_stay_constant_along_a_relu_trajectory() -> None:
    widths = (2, 3, 1)
    gradient = network_gradient(widths, relu=True, seed=5)
    result = find_laws("relu", 2, seed=SEED, widths=widths)
    assert list(result.parameter_names) == parameter_names(widths)
    assert result.independent == 3
    theta0 = np.random.default_rng(6).normal(size=9)
    theta1 = rk4(lambda t, th: -gradient(th), theta0, 0.0, 0.5, 2000)
    assert_conserved_along(result.laws, result.parameter_names, theta0, theta1, 0.0, 0.5,
                           slice(None))


def test_momentum_laws_stay_constant_along_a_heavy_ball_trajectory() -> None:
    widths = (2, 2, 2)
    tau = 0.5
    gradient = network_gradient(widths, relu=False, seed=7)
    result = find_laws("linear", 3, seed=SEED, widths=widths, flow="momentum",
                       flow_options={"tau": "1/2"})
    assert result.independent == 1
    size = 8

    def field(t: float, z: Vector) -> Vector:
        theta, velocity = z[:size], z[size:]
        return np.concatenate([velocity, -tau * velocity - gradient(theta)])

    rng = np.random.default_rng(8)
    z0 = np.concatenate([rng.normal(size=size), rng.normal(size=size)])
    t0, t1 = 0.3, 1.3
    z1 = rk4(field, z0, t0, t1, 1000)
    # The printed laws depend on t through e^{t/2} and on θ, θ'.
    names = result.parameter_names[1:]
    assert all(h.has(T) for h in (plain(x) for x in result.laws))
    assert_conserved_along(result.laws, names, z0, z1, t0, t1, slice(0, size))


def test_mirror_laws_stay_constant_along_an_nmf_trajectory() -> None:
    widths = (2, 2, 2)
    gradient = network_gradient(widths, relu=False, seed=9)
    result = find_laws("linear", 2, seed=SEED, widths=widths, flow="mirror")
    assert result.independent == 2
    theta0 = np.random.default_rng(10).uniform(0.5, 1.5, size=8)
    theta1 = rk4(lambda t, th: -th * gradient(th), theta0, 0.0, 1.0, 1000)
    assert_conserved_along(result.laws, result.parameter_names, theta0, theta1, 0.0, 1.0,
                           slice(None))


def test_weight_decay_laws_stay_constant_along_a_decayed_trajectory() -> None:
    widths = (2, 2, 2)
    lam = 0.5
    gradient = network_gradient(widths, relu=False, seed=11)
    result = find_laws("linear", 4, seed=SEED, widths=widths, flow="weight-decay",
                       flow_options={"decay": "1/2"})
    assert result.independent == 3
    theta0 = np.random.default_rng(12).normal(size=8)
    theta1 = rk4(lambda t, th: -lam * th - gradient(th), theta0, 0.0, 1.0, 1000)
    assert_conserved_along(result.laws, result.parameter_names[1:], theta0, theta1, 0.0, 1.0,
                           slice(None))


# --------------------------------------------------------------------------
# Bad input: one line, exit status 2
# --------------------------------------------------------------------------

BAD = {
    "unknown-flow": ["--flow", "nosuch"],
    "option-of-another-flow": ["--flow", "gradient", "--tau", "1"],
    "decay-on-mirror": ["--flow", "mirror", "--decay", "1"],
    "negative-tau": ["--flow", "momentum", "--tau", "-1"],
    "tau-not-a-number": ["--flow", "momentum", "--tau", "abc"],
    "zero-decay": ["--flow", "weight-decay", "--decay", "0"],
    "missing-mirror-layer": ["--flow", "mirror", "--mirror-layers", "7"],
    "data-mode-with-momentum": ["--mode", "data", "--flow", "momentum"],
}


@pytest.mark.parametrize("command", ["count", "laws"])
@pytest.mark.parametrize("extra", list(BAD.values()), ids=list(BAD))
def test_bad_flow_input_is_one_line_and_status_2(capsys: pytest.CaptureFixture[str],
                                                 command: str, extra: list[str]) -> None:
    argv = [command, "linear", "--widths", "2,2,2", *extra]
    if command == "laws":
        argv += ["--degree", "2"]
    status, out, err = run_cli(argv, capsys)
    assert status == 2
    assert out == ""
    assert err.startswith("conslaws: error:")
    assert err.count("\n") == 1 and err.endswith("\n")
    assert "Traceback" not in err


def test_momentum_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    status = main(["count", "linear", "--widths", "2,3,2", "--flow", "momentum", "--tau", "1/2",
                   "--seed", "1", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert status == 0
    assert document["flow"] == "momentum"
    assert document["parameters"] == 25
    assert (document["laws"], document["certified"]) == (3, True)
