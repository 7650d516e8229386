"""1-D multi-channel circular convolution, one hidden ReLU layer.

Expected values come from outside the code under test:

* theory.md section 5: D = c1 (c2 nu + c0 nv), c1 laws,
  Σ_k ‖u_{k,j}‖² - Σ_i ‖v_{j,i}‖² per hidden channel j;
* φ built here independently: the network output written with sympy (inputs
  x, one gate symbol per hidden unit), expanded, and its coefficients in the
  monomials of (x, gates) read off; and φ written by hand for the smallest case;
* the naive closure of ``tests/reference.py`` run on that φ.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
import sympy
from reference import (
    check_law_basis,
    check_trace,
    plain,
    random_point,
    reference_lie_rank,
    same_span,
    sympy_is_conserved,
)

from conslaws.core import build_model, count, find_laws
from conslaws.core.cli import main

SEED = 20240620

Shape = tuple[tuple[int, int, int], tuple[int, int], int, int]

# (channels c0,c1,c2), (kernels nv,nu), length p, stride s
SHAPES: list[Shape] = [
    ((1, 1, 1), (2, 1), 2, 1),
    ((1, 2, 1), (2, 2), 3, 1),
    ((2, 1, 1), (2, 1), 4, 2),
    ((1, 1, 2), (2, 1), 4, 2),
    ((1, 2, 1), (3, 2), 5, 2),  # p not a multiple of s: hidden length 3, wrap-around
    ((2, 2, 2), (2, 2), 4, 2),
    ((2, 3, 2), (2, 2), 3, 1),
]


def shape_id(shape: Shape) -> str:
    (c0, c1, c2), (nv, nu), p, s = shape
    return f"c{c0},{c1},{c2}-k{nv},{nu}-p{p}-s{s}"


def options(shape: Shape) -> dict[str, Any]:
    channels, kernels, length, stride = shape
    return {"channels": channels, "kernels": kernels, "length": length, "stride": stride}


@cache
def conv_network(shape: Shape) -> tuple[list[sympy.Symbol], list[sympy.Expr]]:
    """Parameters (documented order) and φ of the gated circular convolution.

    Hidden channel j at position τ: g_{j,τ} · Σ_i Σ_a v{j}_{i}_{a} x_i[(s τ + a - 1) mod p];
    output channel k at τ: Σ_j Σ_b u{k}_{j}_{b} h_j[(τ + b - 1) mod q], q = ceil(p / s).
    φ = the coefficients of the outputs in the monomials of (x, g).
    """
    (c0, c1, c2), (nv, nu), p, s = shape
    q = -(-p // s)
    v = {(j, i, a): sympy.Symbol(f"v{j}_{i}_{a}") for j in range(1, c1 + 1)
         for i in range(1, c0 + 1) for a in range(1, nv + 1)}
    u = {(k, j, b): sympy.Symbol(f"u{k}_{j}_{b}") for k in range(1, c2 + 1)
         for j in range(1, c1 + 1) for b in range(1, nu + 1)}
    x = {(i, t): sympy.Symbol(f"x{i}_{t}") for i in range(1, c0 + 1) for t in range(p)}
    g = {(j, t): sympy.Symbol(f"g{j}_{t}") for j in range(1, c1 + 1) for t in range(q)}
    hidden = {
        (j, t): g[j, t] * sum(v[j, i, a] * x[i, (s * t + a - 1) % p]
                              for i in range(1, c0 + 1) for a in range(1, nv + 1))
        for j in range(1, c1 + 1) for t in range(q)
    }
    phi: list[sympy.Expr] = []
    for k in range(1, c2 + 1):
        for t in range(q):
            out = sum(u[k, j, b] * hidden[j, (t + b - 1) % q]
                      for j in range(1, c1 + 1) for b in range(1, nu + 1))
            phi += sympy.Poly(sympy.expand(out), *x.values(), *g.values()).coeffs()
    return [*v.values(), *u.values()], phi


def channel_laws(shape: Shape) -> list[sympy.Expr]:
    """Σ_k Σ_b u{k}_{j}_{b}² - Σ_i Σ_a v{j}_{i}_{a}² for each hidden channel j."""
    (c0, c1, c2), (nv, nu), _, _ = shape
    return [
        sum(sympy.Symbol(f"u{k}_{j}_{b}") ** 2 for k in range(1, c2 + 1) for b in range(1, nu + 1))
        - sum(sympy.Symbol(f"v{j}_{i}_{a}") ** 2 for i in range(1, c0 + 1)
              for a in range(1, nv + 1))
        for j in range(1, c1 + 1)
    ]


def model_phi(shape: Shape) -> list[sympy.Expr]:
    model = build_model("conv", **options(shape))
    return [plain(model.ring.to_sympy(p)) for p in model.phi]


def test_hand_derived_phi_of_the_smallest_convolution() -> None:
    # channels 1,1,1, kernels 2,1, length 2 (hidden length 2):
    # h_τ = relu(v1 x_τ + v2 x_{τ+1 mod 2}), y_τ = u h_τ: paths u·v1 and u·v2 only.
    v1, v2, u = sympy.symbols("v1_1_1 v1_1_2 u1_1_1")
    hand = [u * v1, u * v2]
    shape = SHAPES[0]
    symbols, expanded = conv_network(shape)
    assert symbols == [v1, v2, u]
    assert set(expanded) == set(hand)
    assert set(model_phi(shape)) == set(hand)
    law = u**2 - v1**2 - v2**2
    assert sympy_is_conserved(law, hand, symbols)
    result = find_laws("conv", degree=2, seed=SEED, **options(shape))
    assert same_span([plain(h) for h in result.laws], [law], symbols)
    assert result.complete


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_parameter_names_and_phi_match_the_independent_expansion(shape: Shape) -> None:
    symbols, expanded = conv_network(shape)
    model = build_model("conv", **options(shape))
    assert model.parameter_names == tuple(s.name for s in symbols)
    # Several positions give the same path product: compare the sets of components.
    assert set(model_phi(shape)) == set(expanded)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_count_is_the_number_of_hidden_channels(exact_backend: str, shape: Shape) -> None:
    (c0, c1, c2), (nv, nu), _, _ = shape
    result = count("conv", backend=exact_backend, seed=SEED, **options(shape))
    assert result.parameters == c1 * (c2 * nu + c0 * nv)
    assert result.laws == c1
    assert result.certified


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_laws_are_one_balance_per_hidden_channel(exact_backend: str, shape: Shape) -> None:
    symbols, phi = conv_network(shape)
    expected = channel_laws(shape)
    assert all(sympy_is_conserved(h, phi, symbols) for h in expected)

    result = find_laws("conv", degree=2, backend=exact_backend, seed=SEED, **options(shape))
    check_law_basis(result.laws, expected, phi, symbols)
    assert result.independent == shape[0][1]
    assert result.complete


@pytest.mark.parametrize("shape", [SHAPES[1], SHAPES[2]], ids=shape_id)
def test_count_matches_the_naive_reference_on_the_independent_phi(exact_backend: str,
                                                                  shape: Shape) -> None:
    symbols, phi = conv_network(shape)
    ranks = reference_lie_rank(phi, symbols, random_point(len(symbols), SEED))
    result = count("conv", backend=exact_backend, seed=SEED, **options(shape))
    assert result.laws == len(symbols) - ranks[-1]
    check_trace(result, ranks)


@pytest.mark.parametrize("argv", [
    ["--channels", "1,1,1", "--kernels", "4,1", "--length", "3"],  # nv longer than p
    ["--channels", "1,1,1", "--kernels", "2,3", "--length", "4", "--stride", "2"],  # nu > q
    ["--channels", "1,1,1", "--kernels", "2,1", "--length", "3", "--stride", "0"],
], ids=["kernel-longer-than-signal", "kernel-longer-than-hidden-signal", "stride-0"])
def test_bad_convolution_options_print_one_error_line(argv: list[str],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["count", "conv", *argv])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("conslaws: error:")
