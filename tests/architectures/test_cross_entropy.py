"""Cross-entropy loss (``--loss cross-entropy``) against a hand-written φ and closed forms.

With a softmax output layer the loss sees the outputs only up to a common shift, so
the output directions w are those with Σ w = 0 ("Transformative or Conservative?",
arXiv 2506.06194).  Written by hand for a one-hidden-layer ReLU network x -> W2
relu(W1 x + b1): the gated view's coefficient of x_j γ_h is W2_{o,h} W1_{h,j} for
output o (and W2_{o,h} b1_h for the bias), and Σ_o w_o (...) with Σ w = 0 spans the
differences between outputs.  Closed form: one law per hidden neuron (the balances)
plus one per column of W2 (Σ_o W2_{o,h}), when there are at least two outputs; with one
output every parameter is conserved (the softmax of one logit is constant).
"""

from __future__ import annotations

import json

import pytest
import sympy
from cli_runner import run_cli
from reference import reference_count, sympy_is_conserved

import conslaws.core as cl


def ce_phi(widths: tuple[int, int, int], bias: bool) -> tuple[list[sympy.Symbol],
                                                               list[sympy.Expr]]:
    m, r, n = widths
    w1 = [[sympy.Symbol(f"W1_{h}_{j}") for j in range(1, m + 1)] for h in range(1, r + 1)]
    b1 = [sympy.Symbol(f"b1_{h}") for h in range(1, r + 1)]
    w2 = [[sympy.Symbol(f"W2_{o}_{h}") for h in range(1, r + 1)] for o in range(1, n + 1)]
    symbols = [s for row in w1 for s in row] + (b1 if bias else []) + [
        s for row in w2 for s in row]
    phi = []
    for h in range(r):
        sources = [w1[h][j] for j in range(m)] + ([b1[h]] if bias else [])
        for source in sources:
            phi += [(w2[o][h] - w2[n - 1][h]) * source for o in range(n - 1)]
    return symbols, phi


SHAPES = [(2, 3, 2), (1, 2, 3), (3, 2, 2), (2, 2, 1), (2, 1, 3)]


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("widths", SHAPES, ids=lambda w: ",".join(map(str, w)))
@pytest.mark.parametrize("engine", ["probes", "fields"])
def test_count_matches_the_hand_phi(widths: tuple[int, int, int], bias: bool,
                                    engine: str) -> None:
    symbols, phi = ce_phi(widths, bias)
    truth, _ = reference_count(phi, symbols, seed=5)
    _, r, n = widths
    closed = len(symbols) if n == 1 else 2 * r
    assert truth == closed
    result = cl.count("relu", widths=widths, bias=bias, loss="cross-entropy", engine=engine,
                      seed=5)
    assert result.parameter_names == tuple(s.name for s in symbols)
    assert result.laws_lower_bound <= truth <= result.laws_upper_bound
    if engine == "probes" and n == 1:
        # One output: no field at all, but the probes prove only the structural laws
        # (the input weights' conservation is not structural); "auto" lists the paths.
        assert not result.certified
        result = cl.count("relu", widths=widths, bias=bias, loss="cross-entropy", seed=5)
    assert result.certified and result.laws == truth


def test_column_sums_are_laws_and_found(capsys: pytest.CaptureFixture[str]) -> None:
    symbols, phi = ce_phi((2, 3, 2), True)
    sums = [sympy.Symbol(f"W2_1_{h}") + sympy.Symbol(f"W2_2_{h}") for h in (1, 2, 3)]
    assert all(sympy_is_conserved(h, phi, symbols) for h in sums)
    status, out, _ = run_cli(["count", "relu", "--widths", "2,3,2", "--bias", "--loss",
                              "cross-entropy", "--json", "--seed", "1"], capsys)
    result = json.loads(out)
    assert status == 0 and result["certified"] and result["laws"] == 6
    verified = [sympy.expand(sympy.sympify(h)) for h in result["verified_laws"]]
    assert all(any(sympy.expand(h - s) == 0 for h in verified) for s in sums)


def test_data_mode_honours_the_loss() -> None:
    squared = cl.count("relu", widths=(2, 3, 2), bias=True, mode="data", seed=2)
    ce = cl.count("relu", widths=(2, 3, 2), bias=True, mode="data", loss="cross-entropy",
                  seed=2)
    assert (squared.laws, ce.laws) == (3, 6)


def test_loss_option_is_checked() -> None:
    with pytest.raises(cl.InvalidOptionError):
        cl.count("relu", widths=(2, 3, 2), loss="hinge")
