"""Predicted one-step drift of quadratic laws (:mod:`conslaws.core.frontends.drift`).

Expected values never come from the code under test:

* A, c and k are compared with coefficients read by hand, and h(θ) with
  sympy's own evaluation of the law;
* the closed forms of the module docstring (GD, weight decay, heavy ball) are
  re-derived symbolically here: the difference between the exact h(θ') and the
  closed form is a multiple of ∇h(θ)·g, which vanishes for a law;
* along real numpy training (:class:`GraphNetwork`), the measured change
  h(θ_{k+1}) - h(θ_k), with h evaluated by sympy's lambdify, must equal the
  prediction to rounding error.  The tolerance: the measured difference of two
  values of size |h| ~ 1 carries about 1e-16 absolute error, against changes of
  1e-6 or more here, so a relative 1e-9 (with an absolute floor of 1e-13);
* each law used is first checked to be a law (exact ``is_conserved``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import sympy

from conslaws.core.algebra.polynomials import PolynomialRing
from conslaws.core.engine.laws import is_conserved
from conslaws.core.errors import (
    ConslawsError,
    InvalidExpressionError,
    InvalidOptionError,
    InvalidPointError,
)
from conslaws.core.frontends.api import build_model, find_laws
from conslaws.core.frontends.drift import (
    MomentumLaw,
    NotQuadraticError,
    QuadraticLaw,
    no_closed_form,
    predicted_step_drift,
    quadratic_or_none,
)
from conslaws.core.models.numeric import GraphNetwork

RTOL, ATOL = 1e-9, 1e-13


def setting(architecture: str, widths: tuple[int, ...], **options: Any
            ) -> tuple[GraphNetwork, list[sympy.Expr], tuple[str, ...], Any]:
    """The network, its gradient-flow laws (checked exactly) and a sympy evaluator."""
    model = build_model(architecture, widths=widths, **options)
    found = find_laws(model, 2, seed=0)
    assert found.laws
    assert all(is_conserved(model, h) for h in found.laws)
    names = found.parameter_names
    evaluate = sympy.lambdify([sympy.Symbol(n) for n in names], list(found.laws), "numpy")
    return GraphNetwork(model.expansion.graph), list(found.laws), names, evaluate


def data(net: GraphNetwork, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(12, len(net.inputs)))
    y = rng.normal(size=(12, len(net.outputs)))
    return x, y, rng.normal(scale=0.7, size=net.size)


# --------------------------------------------------------------------------- extraction


def test_coefficients_by_hand() -> None:
    law = QuadraticLaw.from_polynomial("2*x**2 - 3*x*z + y/3 - 5", ("x", "y", "z"))
    # 2x² - 3xz = θᵀAθ with A_xx = 2, A_xz = A_zx = -3/2
    assert law.quadratic == {(0, 0): Fraction(2), (0, 2): Fraction(-3, 2)}
    assert law.linear == {1: Fraction(1, 3)}
    assert law.constant == Fraction(-5)
    expected = np.array([[2.0, 0, -1.5], [0, 0, 0], [-1.5, 0, 0]])
    np.testing.assert_array_equal(law.matrix, expected)
    np.testing.assert_allclose(law.vector, [0, 1 / 3, 0])
    assert law.degree == 2


@pytest.mark.parametrize("form", ["string", "sympy", "poly", "flint"])
def test_every_form_of_a_law_gives_the_same_matrix(form: str) -> None:
    names = ("a", "b", "c")
    a, b, c = sympy.symbols(names)
    expression = a**2 - 4 * b * c + 3 * a - 1
    ring = PolynomialRing(names)
    law_input: Any = {"string": "a**2 - 4*b*c + 3*a - 1", "sympy": expression,
                      "poly": sympy.Poly(expression, a, b, c),
                      "flint": ring.from_sympy(expression)}[form]
    law = QuadraticLaw.from_polynomial(law_input, names)
    assert law.quadratic == {(0, 0): 1, (1, 2): -2}
    assert law.linear == {0: 3} and law.constant == -1
    point = [0.3, -1.7, 2.2]
    assert law.value(point) == pytest.approx(float(expression.subs(dict(zip((a, b, c), point,
                                                                           strict=True)))),
                                             rel=1e-14)


def test_value_and_gradient_against_sympy() -> None:
    names = ("u", "v", "w")
    u, v, w = sympy.symbols(names)
    expression = 3 * u * v - w**2 / 2 + 7 * v
    law = QuadraticLaw.from_polynomial(expression, names)
    point = np.array([1.5, -0.5, 2.0])
    values = dict(zip((u, v, w), point.tolist(), strict=True))
    assert law.value(point) == pytest.approx(float(expression.subs(values)), rel=1e-14)
    expected = [float(sympy.diff(expression, s).subs(values)) for s in (u, v, w)]
    np.testing.assert_allclose(law.gradient(point), expected, rtol=1e-14)


def test_higher_degree_gets_no_prediction() -> None:
    with pytest.raises(NotQuadraticError, match="degree 3"):
        QuadraticLaw.from_polynomial("x*y*z", ("x", "y", "z"))
    assert quadratic_or_none("x*y*z", ("x", "y", "z")) is None
    # a momentum law: not a polynomial in the parameters
    assert quadratic_or_none(sympy.exp(sympy.Symbol("t")) * sympy.Symbol("x"), ("x",)) is None


def test_bad_laws_are_one_clear_line() -> None:
    with pytest.raises(InvalidExpressionError, match="unknown parameter"):
        QuadraticLaw.from_polynomial("x + q", ("x",))
    other = PolynomialRing(("p", "q"))
    with pytest.raises(NotQuadraticError, match="not in the model's parameters"):
        QuadraticLaw.from_polynomial(other.gens[0] ** 2, ("x", "y"))
    with pytest.raises(NotQuadraticError, match="3 parameters"):
        QuadraticLaw.from_polynomial(other.gens[0], ("x", "y", "z"))
    law = QuadraticLaw.from_polynomial("x*y", ("x", "y"))
    with pytest.raises(InvalidPointError, match="2 numbers"):
        law.value([1.0, 2.0, 3.0])
    with pytest.raises(InvalidOptionError, match="lr"):
        predicted_step_drift(law, [1.0, 2.0], [2.0, 1.0], -0.1)
    with pytest.raises(InvalidOptionError, match="momentum needs previous"):
        predicted_step_drift(law, [1.0, 2.0], [2.0, 1.0], 0.1, momentum=0.9)
    with pytest.raises(ConslawsError):
        predicted_step_drift(law, [1.0, 2.0], [2.0, 1.0], 0.1, decay=float("nan"))


# --------------------------------------------------------------------------- closed forms


def test_closed_forms_symbolically() -> None:
    # D = 2, a generic symmetric A, c, k; g constrained by (2Aθ + c)·g = 0 (a law).
    t1, t2, g1, g2, p1, p2 = sympy.symbols("t1 t2 g1 g2 p1 p2")
    a11, a12, a22, c1, c2, k, eta, lam, beta = sympy.symbols("a11 a12 a22 c1 c2 k eta lam beta")
    A = sympy.Matrix([[a11, a12], [a12, a22]])
    c = sympy.Matrix([c1, c2])
    theta, g, prev = sympy.Matrix([t1, t2]), sympy.Matrix([g1, g2]), sympy.Matrix([p1, p2])

    def h(z: sympy.Matrix) -> sympy.Expr:
        return (z.T * A * z)[0] + (c.T * z)[0] + k

    constraint = ((2 * A * theta + c).T * g)[0]
    g2_value = sympy.solve(constraint, g2)[0]
    Q, ell = (theta.T * A * theta)[0], (c.T * theta)[0]
    gAg, cg = (g.T * A * g)[0], (c.T * g)[0]
    # gradient descent: Δh = η² gᵀAg
    gd = h(theta - eta * g) - h(theta) - eta**2 * gAg
    assert sympy.simplify(gd.subs(g2, g2_value)) == 0
    # weight decay: h' = (1 - ηλ)² Q + (1 - ηλ) ℓ + k + η² gᵀAg - η² λ cᵀg
    decayed = h(theta - eta * (g + lam * theta)) - (
        (1 - eta * lam) ** 2 * Q + (1 - eta * lam) * ell + k + eta**2 * gAg - eta**2 * lam * cg)
    assert sympy.simplify(decayed.subs(g2, g2_value)) == 0
    # its rate per unit time t = kη tends to Kunin et al.'s dh/dt = -2λQ - λℓ as η → 0
    rate = sympy.expand((h(theta - eta * (g + lam * theta)) - h(theta)) / eta)
    limit = rate.subs(eta, 0) - (-2 * lam * Q - lam * ell)
    assert sympy.simplify(limit.subs(g2, g2_value)) == 0
    # heavy ball: Δh = β(2θᵀAv + cᵀv) + dᵀAd, d = βv - ηg
    v = theta - prev
    d = beta * v - eta * g
    ball = h(theta + d) - h(theta) - (beta * (2 * (theta.T * A * v)[0] + (c.T * v)[0])
                                      + (d.T * A * d)[0])
    assert sympy.simplify(ball.subs(g2, g2_value)) == 0


def _check(measured: float, predicted: float) -> None:
    assert predicted == pytest.approx(measured, rel=RTOL, abs=ATOL)


@pytest.mark.parametrize(("architecture", "widths"), [("relu", (2, 3, 2)), ("linear", (2, 3, 2)),
                                                     ("relu", (3, 2, 2, 1))])
def test_gd_measured_drift_is_the_prediction(architecture: str, widths: tuple[int, ...]) -> None:
    net, laws, names, evaluate = setting(architecture, widths)
    quadratic = [QuadraticLaw.from_polynomial(h, names) for h in laws]
    x, y, theta = data(net)
    lr, checked = 0.05, 0
    for _ in range(15):
        _, grad = net.loss_and_gradient(theta, x, y)
        after = theta - lr * grad
        measured = np.array(evaluate(*after)) - np.array(evaluate(*theta))
        for q, change in zip(quadratic, measured, strict=True):
            predicted = predicted_step_drift(q, theta, grad, lr)
            _check(float(change), predicted)
            # second path: η² gᵀAg with the dense matrix
            assert predicted == pytest.approx(lr**2 * grad @ q.matrix @ grad, rel=1e-12,
                                              abs=1e-18)
            checked += abs(change) > 1e-8
        theta = after
    assert checked > 0  # the drift is not vacuously zero


def test_sgd_mini_batches_are_predicted_too() -> None:
    net, laws, names, evaluate = setting("relu", (2, 3, 2), bias=True)
    quadratic = [QuadraticLaw.from_polynomial(h, names) for h in laws]
    x, y, theta = data(net, seed=1)
    rng = np.random.default_rng(5)
    for _ in range(10):
        rows = rng.integers(0, x.shape[0], size=3)
        _, grad = net.loss_and_gradient(theta, x[rows], y[rows])
        after = theta - 0.04 * grad
        measured = np.array(evaluate(*after)) - np.array(evaluate(*theta))
        for q, change in zip(quadratic, measured, strict=True):
            _check(float(change), predicted_step_drift(q, theta, grad, 0.04))
        theta = after


@pytest.mark.parametrize(("architecture", "widths"), [("relu", (2, 3, 2)), ("linear", (2, 3, 2))])
def test_weight_decay_drift(architecture: str, widths: tuple[int, ...]) -> None:
    net, laws, names, evaluate = setting(architecture, widths)
    quadratic = [QuadraticLaw.from_polynomial(h, names) for h in laws]
    assert all(not q.linear and not q.constant for q in quadratic)  # homogeneous laws
    x, y, theta = data(net, seed=2)
    lr, lam = 0.05, 0.3
    for _ in range(10):
        _, grad = net.loss_and_gradient(theta, x, y)
        after = theta - lr * (grad + lam * theta)
        before_values = np.array(evaluate(*theta))
        measured = np.array(evaluate(*after)) - before_values
        for q, h, change in zip(quadratic, before_values, measured, strict=True):
            predicted = predicted_step_drift(q, theta, grad, lr, decay=lam)
            _check(float(change), predicted)
            # the closed form h' = (1 - ηλ)² h + η² gᵀAg, with the dense matrix
            closed = (1 - lr * lam) ** 2 * h + lr**2 * grad @ q.matrix @ grad - h
            assert predicted == pytest.approx(closed, rel=1e-9, abs=1e-13)
        theta = after


@pytest.mark.parametrize(("architecture", "widths"), [("relu", (2, 3, 2)), ("linear", (2, 3, 2))])
@pytest.mark.parametrize("decay", [0.0, 0.2])
def test_heavy_ball_drift(architecture: str, widths: tuple[int, ...], decay: float) -> None:
    net, laws, names, evaluate = setting(architecture, widths)
    quadratic = [QuadraticLaw.from_polynomial(h, names) for h in laws]
    x, y, theta = data(net, seed=3)
    lr, beta = 0.03, 0.8
    previous = theta.copy()  # from rest
    last_change: np.ndarray | None = None
    for _ in range(12):
        _, grad = net.loss_and_gradient(theta, x, y)
        velocity = theta - previous
        step = beta * velocity - lr * (grad + decay * theta)
        after = theta + step
        measured = np.array(evaluate(*after)) - np.array(evaluate(*theta))
        for i, (q, change) in enumerate(zip(quadratic, measured, strict=True)):
            _check(float(change), predicted_step_drift(q, theta, grad, lr, decay=decay,
                                                        momentum=beta, previous=previous))
            if not decay and last_change is not None:
                # Δh_k = β(Δh_{k-1} + v_kᵀAv_k) + d_kᵀAd_k (module docstring)
                A = q.matrix
                recursion = beta * (last_change[i] + velocity @ A @ velocity) + step @ A @ step
                assert change == pytest.approx(recursion, rel=1e-8, abs=1e-13)
        last_change = measured
        previous, theta = theta, after


def test_linear_laws_of_cross_entropy_do_not_drift() -> None:
    # Two linear layers W2 W1 with softmax cross-entropy: ∂L/∂z = p - y sums to 0 over
    # the outputs, so the column sums of W2 are laws; a GD step leaves them unchanged.
    model = build_model("linear", widths=(2, 2, 3), loss="cross-entropy")
    found = find_laws(model, 2, seed=0)
    names = found.parameter_names
    laws = [QuadraticLaw.from_polynomial(h, names) for h in found.laws]
    linear = [q for q in laws if q.degree == 1]
    assert len(linear) == 2 and len(laws) > len(linear)
    rng = np.random.default_rng(4)
    w1, w2 = rng.normal(size=(2, 2)), rng.normal(size=(3, 2))
    x = rng.normal(size=(10, 2))
    labels = np.eye(3)[rng.integers(0, 3, size=10)]
    lr = 0.1
    for _ in range(5):
        theta = np.concatenate([w1.ravel(), w2.ravel()])
        z = x @ w1.T @ w2.T
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        delta = (p - labels) / x.shape[0]  # ∂L/∂z, by hand
        grad = np.concatenate([(w2.T @ delta.T @ x).ravel(), (delta.T @ (x @ w1.T)).ravel()])
        after = theta - lr * grad
        for q in laws:
            predicted = predicted_step_drift(q, theta, grad, lr)
            _check(q.value(after) - q.value(theta), predicted)
            if q.degree == 1:
                assert predicted == 0.0
                assert abs(q.value(after) - q.value(theta)) < 1e-14
        w1, w2 = after[:4].reshape(2, 2), after[4:].reshape(3, 2)


def test_optimizers_without_closed_form() -> None:
    for name in ("gd", "sgd", "momentum", "weight-decay"):
        assert no_closed_form(name) is None
    for name in ("adam", "Adam", "rmsprop", "nesterov"):
        reason = no_closed_form(name)
        assert reason is not None and "no closed form" in reason and "\n" not in reason


# --------------------------------------------------------------------------- momentum laws


NAMES = ("s", "u1", "u2", "v1", "v2", "u1_dot", "u2_dot", "v1_dot", "v2_dot")


def test_momentum_law_by_hand() -> None:
    law = MomentumLaw.from_polynomial("s*(u1*u2_dot - u2*u1_dot + v1*v2_dot - v2*v1_dot)",
                                      NAMES)
    assert law.clock_power == 1 and law.dimension == 4
    assert law.pairs == {(0, 1): 1, (1, 0): -1, (2, 3): 1, (3, 2): -1}
    theta, velocity = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, -1.0, 2.0, 1.0])
    assert law.bilinear(theta, velocity) == pytest.approx(1 * -1.0 - 2 * 0.5 + 3 * 1 - 4 * 2)
    with pytest.raises(NotQuadraticError, match="antisymmetric"):
        MomentumLaw.from_polynomial("s*(u1*u2_dot + u2*u1_dot)", NAMES)
    with pytest.raises(NotQuadraticError, match="one power"):
        MomentumLaw.from_polynomial("s*u1*u2_dot - u2*u1_dot", NAMES)
    with pytest.raises(NotQuadraticError, match="form"):
        MomentumLaw.from_polynomial("s*u1*u2", NAMES)


def test_heavy_ball_multiplies_the_bilinear_form_by_beta() -> None:
    # Two linear layers: the momentum laws e^{t}(...) are found (and verified) exactly,
    # read back on (s, θ, θ'), then followed along a numpy heavy-ball run.
    model = build_model("linear", widths=(2, 2, 2))
    found = find_laws(model, 3, seed=0, flow="momentum")
    t, s = sympy.Symbol("t"), sympy.Symbol("s")
    laws = [MomentumLaw.from_polynomial(h.subs(sympy.exp(t), s), found.parameter_names)
            for h in found.laws]
    assert laws and all(q.clock_power == 1 for q in laws)
    net = GraphNetwork(model.expansion.graph)
    x, y, theta = data(net, seed=6)
    velocity, lr, beta = np.random.default_rng(7).normal(size=net.size) * 0.1, 0.02, 0.85
    for _ in range(10):
        _, grad = net.loss_and_gradient(theta, x, y)
        predicted = [q.next_bilinear(theta, velocity, beta) for q in laws]
        velocity = beta * velocity - lr * grad
        theta = theta + velocity
        measured = [q.bilinear(theta, velocity) for q in laws]
        np.testing.assert_allclose(predicted, measured, rtol=1e-10, atol=1e-15)
