"""Residual networks: q blocks x -> x + U_l relu(V_l x).

Expected values come from outside the code under test:

* theory.md section 5: x + g(θ, x) has the laws of g for generic inputs of
  dimension >= 2: one per hidden neuron, ‖row i of V_l‖² - ‖column i of U_l‖²;
* φ built here independently: the network output written with sympy (input
  x, one gate symbol per hidden unit), expanded, and its coefficients in the
  monomials of (x, gates) read off; for one block also written by hand;
* the naive closure of ``tests/reference.py`` on that φ (scalar stream, m = 1);
* for ``--mode data`` with a scalar stream: the input space R splits into the
  two regions x > 0 and x < 0 only (the network is positively homogeneous in
  x), so the local outputs at x = 1 and x = -1, computed here with the gates
  the point selects, give the whole data trace.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache

import pytest
import sympy
from reference import (
    check_law_basis,
    check_trace,
    plain,
    random_point,
    reference_lie_rank,
    sympy_is_conserved,
)

from conslaws.core import build_model, count, find_laws
from conslaws.core.frontends.cli import main

SEED = 20240621

Shape = tuple[int, int, int]  # width m, hidden r, blocks q


def shape_id(shape: Shape) -> str:
    return "m{}-r{}-q{}".format(*shape)


def options(shape: Shape) -> dict[str, int]:
    m, r, q = shape
    return {"width": m, "hidden": r, "blocks": q}


def resnet_symbols(shape: Shape) -> tuple[list[sympy.Symbol], list[sympy.Matrix],
                                          list[sympy.Matrix]]:
    """Parameters in the documented order (per block: V row by row, then U), V_l, U_l."""
    m, r, q = shape
    symbols: list[sympy.Symbol] = []
    vs, us = [], []
    for block in range(1, q + 1):
        v = sympy.Matrix([[sympy.Symbol(f"V{block}_{i}_{j}") for j in range(1, m + 1)]
                          for i in range(1, r + 1)])
        u = sympy.Matrix([[sympy.Symbol(f"U{block}_{i}_{j}") for j in range(1, r + 1)]
                          for i in range(1, m + 1)])
        symbols += list(v) + list(u)  # sympy matrices iterate row by row
        vs.append(v)
        us.append(u)
    return symbols, vs, us


def forward(shape: Shape, x: list[sympy.Expr], gates: list[list[sympy.Expr]]) -> sympy.Matrix:
    """The output z_q with z_l = z_{l-1} + U_l diag(gates_l) V_l z_{l-1}, z_0 = x."""
    _, vs, us = resnet_symbols(shape)
    z = sympy.Matrix(x)
    for v, u, g in zip(vs, us, gates, strict=True):
        z = z + u * sympy.diag(*g) * v * z
    return z.applyfunc(sympy.expand)


@cache
def resnet_phi(shape: Shape) -> tuple[list[sympy.Symbol], list[sympy.Expr]]:
    """Parameters and the nonconstant coefficients of the gated output in (x, gates)."""
    m, r, q = shape
    symbols, _, _ = resnet_symbols(shape)
    x = list(sympy.symbols(f"x1:{m + 1}"))
    gates = [list(sympy.symbols(f"g{block}_1:{r + 1}")) for block in range(1, q + 1)]
    phi = []
    gate_symbols = [g for block in gates for g in block]
    for out in forward(shape, x, gates):
        phi += [c for c in sympy.Poly(out, *x, *gate_symbols).coeffs() if c.free_symbols]
    return symbols, phi


def neuron_laws(shape: Shape) -> list[sympy.Expr]:
    """Σ_j V{l}_i_j² - Σ_k U{l}_k_i² for every block l and hidden unit i."""
    m, r, q = shape
    return [
        sum(sympy.Symbol(f"V{block}_{i}_{j}") ** 2 for j in range(1, m + 1))
        - sum(sympy.Symbol(f"U{block}_{k}_{i}") ** 2 for k in range(1, m + 1))
        for block in range(1, q + 1) for i in range(1, r + 1)
    ]


def model_phi(shape: Shape) -> set[sympy.Expr]:
    model = build_model("resnet", **options(shape))
    return {e for e in (plain(model.ring.to_sympy(p)) for p in model.phi) if e.free_symbols}


WIDE = [(2, 1, 1), (2, 2, 1), (3, 2, 1), (2, 1, 2), (2, 2, 2), (3, 1, 2)]
SCALAR = [(1, 1, 1), (1, 2, 1), (1, 1, 2), (1, 2, 2)]


def test_one_block_phi_is_the_hand_derived_path_lifting() -> None:
    # x + U relu(V x): the skip path has the constant coefficient 1 (no field);
    # the path x_j -> hidden k -> output i has the coefficient U1_i_k V1_k_j.
    shape = (2, 2, 1)
    hand = {sympy.Symbol(f"U1_{i}_{k}") * sympy.Symbol(f"V1_{k}_{j}")
            for i in (1, 2) for k in (1, 2) for j in (1, 2)}
    assert set(resnet_phi(shape)[1]) == hand
    assert model_phi(shape) == hand


@pytest.mark.parametrize("shape", WIDE + SCALAR, ids=shape_id)
def test_parameter_names_and_phi_match_the_independent_expansion(shape: Shape) -> None:
    symbols, phi = resnet_phi(shape)
    assert build_model("resnet", **options(shape)).parameter_names == tuple(
        s.name for s in symbols)
    assert model_phi(shape) == set(phi)


@pytest.mark.parametrize("shape", WIDE, ids=shape_id)
def test_count_is_one_law_per_hidden_neuron(exact_backend: str, shape: Shape) -> None:
    m, r, q = shape
    result = count("resnet", backend=exact_backend, seed=SEED, **options(shape))
    assert result.parameters == 2 * m * r * q
    assert result.laws == q * r
    assert result.certified


@pytest.mark.parametrize("shape", WIDE, ids=shape_id)
def test_laws_are_the_block_balances(exact_backend: str, shape: Shape) -> None:
    symbols, phi = resnet_phi(shape)
    expected = neuron_laws(shape)
    assert all(sympy_is_conserved(h, phi, symbols) for h in expected)

    result = find_laws("resnet", degree=2, backend=exact_backend, seed=SEED, **options(shape))
    check_law_basis(result.laws, expected, phi, symbols)
    assert result.independent == shape[1] * shape[2]
    assert result.complete


@pytest.mark.parametrize("shape", SCALAR, ids=shape_id)
def test_scalar_stream_phi_mode_matches_the_naive_reference(exact_backend: str,
                                                            shape: Shape) -> None:
    symbols, phi = resnet_phi(shape)
    ranks = reference_lie_rank(phi, symbols, random_point(len(symbols), SEED))
    result = count("resnet", backend=exact_backend, seed=SEED, **options(shape))
    assert result.laws == len(symbols) - ranks[-1]
    check_trace(result, ranks)
    # What the reference gives (recorded for the README, not the expectation's source):
    # one law per hidden neuron here too.
    assert result.laws == shape[1] * shape[2]


def scalar_data_laws(shape: Shape, point: list[Fraction]) -> int:
    """Laws of the whole data trace at ``point`` for a scalar stream (m = 1).

    Only two regions: x > 0 and x < 0.  On each, the gates are the signs of the
    pre-activations at x = ±1 (propagated block by block), and the local output
    is a polynomial in θ; its gradient is the only field of that region.
    """
    symbols, vs, us = resnet_symbols(shape)
    values = dict(zip(symbols, point, strict=True))
    local = []
    for x in (1, -1):
        z = sympy.Matrix([x])
        gates = []
        for v, u in zip(vs, us, strict=True):
            pre = (v * z).subs(values)
            g = [sympy.Integer(1 if p > 0 else 0) for p in pre]
            assert all(p != 0 for p in pre), "the point lies on a region boundary"
            gates.append(g)
            z = z + u * sympy.diag(*g) * v * z
        out = sympy.expand(forward(shape, [sympy.Integer(x)], gates)[0])
        if out.free_symbols:
            local.append(out)
    ranks = reference_lie_rank(local, symbols, point)
    return len(symbols) - ranks[-1]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("shape", SCALAR, ids=shape_id)
def test_scalar_stream_data_mode_is_the_two_region_trace(shape: Shape, seed: int) -> None:
    result = count("resnet", mode="data", seed=seed, **options(shape))
    point = [Fraction(v) for v in result.point]
    expected = scalar_data_laws(shape, point)
    assert result.laws == expected
    # The data trace is inside the φ trace: never fewer laws than φ predicts.
    assert expected >= shape[1] * shape[2]
    assert result.certified == (expected == shape[1] * shape[2])


@pytest.mark.parametrize(("point", "expected"), [
    ("1,2,3,5", 3),  # V1_1_1, V1_2_1 > 0: x > 0 opens both units, x < 0 none: one field
    ("1,-2,3,5", 2),  # opposite signs: each unit has its own region: two fields
])
def test_scalar_stream_one_block_data_count_depends_on_the_region(point: str,
                                                                   expected: int) -> None:
    # Parameters V1_1_1, V1_2_1, U1_1_1, U1_1_2; g = x + U1_1_1 relu(V1_1_1 x) + ...
    # Same signs: the only field is ∇(U1_1_1 V1_1_1 + U1_1_2 V1_2_1): D - 1 = 3 laws.
    # Opposite signs: ∇(U1_1_1 V1_1_1) and ∇(U1_1_2 V1_2_1) commute: D - 2 = 2 laws.
    data = count("resnet", width=1, hidden=2, blocks=1, mode="data", point=point)
    phi = count("resnet", width=1, hidden=2, blocks=1, point=point)
    assert data.laws == expected
    assert phi.laws == 2
    assert data.certified == (expected == 2)


def test_resnet_width_zero_prints_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["count", "resnet", "--width", "0", "--hidden", "1", "--blocks", "1"])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("conslaws: error:")
