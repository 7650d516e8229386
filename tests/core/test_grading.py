"""Weight gradings of the law search (core/symmetry.grading), derived by hand.

A weight vector w is a grading when every field is a homogeneous derivation:
w·α - w_j is the same for every monomial α of every component j of a field.
"""

from __future__ import annotations

import random

import conslaws.core as cl
from conslaws.core.algebra.symmetry import grading
from conslaws.core.plugins.registry import backends
from conslaws.flows.builtin import MomentumFlow


def _grading(model: cl.Model) -> list | None:
    return grading(model.generators, backends.load("rational")(), backends.load("modular")(),
                   random.Random(0))


def test_path_monomials_tie_every_weight() -> None:
    # φ = x1 x2 x3: ∂_1 φ = x2 x3 on component 1 gives w2 + w3 - w1, and so on;
    # equal for all components iff w1 = w2 = w3.
    weights = _grading(cl.Model.from_phi(("x1", "x2", "x3"), ["x1*x2*x3"]))
    assert weights is not None
    assert weights[0] == weights[1] == weights[2] != 0


def test_momentum_phase_space_gives_the_clock_its_own_weight() -> None:
    # Fields (τ s, v, -τ v) and (0, 0, ∇φ(θ)) for φ = u v:
    #   drift: s -> w_s - w_s = 0, θ_j: w_{v_j} - w_{θ_j}, v_j: 0  =>  w_v = w_θ;
    #   ∇φ on v_u: v (weight w_v) - w_{u_dot}, on v_v: u - w_{v_dot}  =>  w_v = w_u.
    # The clock s is free: the kernel has dimension 2 (θ and θ' together, s alone).
    base = cl.Model.from_phi(("u", "v"), ["u*v"])
    model = MomentumFlow(tau="1").transform(base)
    weights = _grading(model)
    assert weights is not None
    s, u, v, u_dot, v_dot = weights
    assert u == v == u_dot == v_dot
    assert s != u  # a random combination separates the two directions


def test_rotation_field_forces_equal_weights() -> None:
    # (y, -x): component x has y (w_y - w_x), component y has x (w_x - w_y): equal iff
    # w_x = w_y.
    model = cl.Model.from_fields(("x", "y"), [["y", "-x"]])
    weights = _grading(model)
    assert weights is not None and weights[0] == weights[1]


def test_non_homogeneous_field_has_no_grading() -> None:
    # φ = x + y**2: ∇φ = (1, 2y): component x has monomial 1 (weight 0 - w_x),
    # component y has y (w_y - w_y = 0)  =>  w_x = 0; the kernel is w_y only
    # (w = (0, 1)), which is a grading: y may carry any weight.
    weights = _grading(cl.Model.from_phi(("x", "y"), ["x + y**2"]))
    assert weights is not None
    assert weights[0] == 0 and weights[1] != 0


def test_grading_changes_no_law() -> None:
    # The split must not lose laws: Nesterov on linear 2,2,2 (phase space of dimension
    # 17) has the t^3 (U^T U' - ...) law of degree 5, found and certified; its count
    # equals momentum's r(r-1)/2 (theory.md section 5).
    nesterov = cl.count("linear", widths=(2, 2, 2), flow="nesterov", seed=0, certify_degree=5)
    momentum = cl.count("linear", widths=(2, 2, 2), flow="momentum", seed=0)
    assert nesterov.certified and momentum.certified
    assert nesterov.laws == momentum.laws == 1  # r(r-1)/2 with r = 2
