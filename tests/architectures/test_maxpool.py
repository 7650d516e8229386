"""Max-pooling networks x -> U maxpool_{k,s}(relu(V x)).

No closed form is known from the literature (theory.md section 3 lists
max-pooling as open), so every expectation comes from an independent path:

* φ written by hand from the gated view with one gate per pooled edge: the
  output o meets hidden unit i (in window w) from input j only through the
  path monomial U_o_w · V_i_j; units in no window reach no output;
* the naive closure of ``tests/reference.py`` on that φ, and its brute-force
  polynomial laws;
* closed forms derived by hand for non-overlapping windows: one balance law
  Σ_{i in w} ‖V_i‖² - Σ_o U_{o,w}² per window (the window is one "neuron"
  with k·m incoming and n outgoing weights), and every weight of a unit in no
  window is conserved on its own;
* for ``--mode data`` on 2-D inputs: every linear region enumerated exactly
  (``tests/regions2d.py``) and the naive closure of the local outputs.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from functools import cache

import pytest
import sympy
from reference import (
    check_law_basis,
    plain,
    random_point,
    reference_lie_rank,
    reference_polynomial_laws,
    same_span,
    sympy_is_conserved,
)
from regions2d import region_points

from conslaws.core import build_model, count, find_laws
from conslaws.core.frontends.cli import main

SEED = 20240622

Shape = tuple[int, int, int, int, int]  # input m, hidden r, pool k, stride s, output n


def shape_id(shape: Shape) -> str:
    return "m{}-r{}-k{}-s{}-n{}".format(*shape)


def options(shape: Shape) -> dict[str, int]:
    m, r, k, s, n = shape
    return {"input": m, "hidden": r, "pool": k, "stride": s, "output": n}


def windows(shape: Shape) -> list[list[int]]:
    """Hidden units (from 1) of each window: w·s+1 .. w·s+k while the window fits."""
    _, r, k, s, _ = shape
    return [list(range(w * s + 1, w * s + k + 1)) for w in range((r - k) // s + 1)]


def V(i: int, j: int) -> sympy.Symbol:
    return sympy.Symbol(f"V_{i}_{j}")


def U(o: int, w: int) -> sympy.Symbol:
    return sympy.Symbol(f"U_{o}_{w}")


@cache
def maxpool_phi(shape: Shape) -> tuple[list[sympy.Symbol], list[sympy.Expr]]:
    """Parameters (documented order) and the hand-written gated-view φ."""
    m, r, _, _, n = shape
    wins = windows(shape)
    symbols = [V(i, j) for i in range(1, r + 1) for j in range(1, m + 1)]
    symbols += [U(o, w) for o in range(1, n + 1) for w in range(1, len(wins) + 1)]
    phi = [U(o, w) * V(i, j) for o in range(1, n + 1) for w, units in enumerate(wins, 1)
           for i in units for j in range(1, m + 1)]
    return symbols, phi


def uncovered(shape: Shape) -> list[int]:
    covered = {i for units in windows(shape) for i in units}
    return [i for i in range(1, shape[1] + 1) if i not in covered]


def overlapping(shape: Shape) -> bool:
    return shape[3] < shape[2]


def expected_quadratic_laws(shape: Shape) -> list[sympy.Expr]:
    """Non-overlapping windows: a basis of the laws of degree 1..2, by hand.

    One balance per window, and every polynomial of degree 1..2 in the weights
    of the units in no window (those weights never move).
    """
    m, _, _, _, n = shape
    laws = [sum(V(i, j) ** 2 for i in units for j in range(1, m + 1))
            - sum(U(o, w) ** 2 for o in range(1, n + 1))
            for w, units in enumerate(windows(shape), 1)]
    free = [V(i, j) for i in uncovered(shape) for j in range(1, m + 1)]
    laws += free
    laws += [a * b for a, b in itertools.combinations_with_replacement(free, 2)]
    return laws


def expected_count(shape: Shape) -> int:
    """Non-overlapping windows: one law per window, plus m per unit in no window."""
    return len(windows(shape)) + shape[0] * len(uncovered(shape))


def reference_laws(shape: Shape) -> int:
    symbols, phi = maxpool_phi(shape)
    return len(symbols) - reference_lie_rank(phi, symbols, random_point(len(symbols), SEED))[-1]


DISJOINT = [
    (2, 2, 2, 2, 1),
    (2, 2, 2, 2, 2),
    (2, 4, 2, 2, 1),
    (2, 5, 2, 2, 1),  # unit 5 in no window
    (2, 4, 2, 2, 2),
    (3, 3, 3, 3, 1),
    (2, 3, 1, 1, 1),  # window 1: a plain ReLU network 2,3,1 (3 laws, theory.md section 5)
    (1, 2, 2, 2, 1),  # scalar input
]
OVERLAP = [
    (2, 3, 2, 1, 1),
    (2, 4, 2, 1, 1),
    (2, 5, 3, 2, 1),
    (1, 3, 2, 1, 1),
]


def test_the_smallest_pool_by_hand() -> None:
    # input 2, hidden 2, pool 2, output 1: the paths x_j -> h_i -> pool -> y are
    # U_1_1·V_i_j; one window of 4 incoming and 1 outgoing weight: one law.
    hand = [U(1, 1) * V(1, 1), U(1, 1) * V(1, 2), U(1, 1) * V(2, 1), U(1, 1) * V(2, 2)]
    shape = (2, 2, 2, 2, 1)
    symbols, phi = maxpool_phi(shape)
    assert phi == hand
    model = build_model("maxpool", **options(shape))
    assert {plain(model.ring.to_sympy(p)) for p in model.phi} == set(hand)
    law = V(1, 1) ** 2 + V(1, 2) ** 2 + V(2, 1) ** 2 + V(2, 2) ** 2 - U(1, 1) ** 2
    assert sympy_is_conserved(law, hand, symbols)
    assert reference_laws(shape) == 1
    assert count("maxpool", seed=SEED, **options(shape)).laws == 1


@pytest.mark.parametrize("shape", DISJOINT + OVERLAP, ids=shape_id)
def test_parameter_names_and_phi_match_the_hand_written_phi(shape: Shape) -> None:
    symbols, phi = maxpool_phi(shape)
    model = build_model("maxpool", **options(shape))
    assert model.parameter_names == tuple(s.name for s in symbols)
    assert {plain(model.ring.to_sympy(p)) for p in model.phi} == set(phi)


@pytest.mark.parametrize("shape", DISJOINT + OVERLAP, ids=shape_id)
def test_count_matches_the_naive_reference_on_the_hand_phi(exact_backend: str,
                                                           shape: Shape) -> None:
    expected = reference_laws(shape)
    if not overlapping(shape):
        assert expected == expected_count(shape)  # the reference agrees with the hand count
    result = count("maxpool", backend=exact_backend, seed=SEED, **options(shape))
    assert result.parameters == len(maxpool_phi(shape)[0])
    assert result.laws == expected
    assert result.certified


@pytest.mark.parametrize("shape", DISJOINT, ids=shape_id)
def test_disjoint_windows_laws_are_window_balances_and_free_weights(exact_backend: str,
                                                                    shape: Shape) -> None:
    symbols, phi = maxpool_phi(shape)
    expected = expected_quadratic_laws(shape)
    assert all(sympy_is_conserved(h, phi, symbols) for h in expected)

    result = find_laws("maxpool", degree=2, backend=exact_backend, seed=SEED, **options(shape))
    check_law_basis(result.laws, expected, phi, symbols)
    assert result.independent == expected_count(shape)
    assert result.complete


def test_unit_in_no_window_keeps_its_weights() -> None:
    # hidden 5, pool 2: windows {1,2}, {3,4}; unit 5 reaches no output.
    result = find_laws("maxpool", degree=1, seed=SEED, input=2, hidden=5, pool=2, output=1)
    assert same_span([plain(h) for h in result.laws], [V(5, 1), V(5, 2)],
                     maxpool_phi((2, 5, 2, 2, 1))[0])


@pytest.mark.parametrize("shape", OVERLAP, ids=shape_id)
def test_overlapping_windows_laws_match_the_brute_force_reference(shape: Shape) -> None:
    symbols, phi = maxpool_phi(shape)
    expected = reference_polynomial_laws(phi, symbols, 2)
    result = find_laws("maxpool", degree=2, seed=SEED, **options(shape))
    laws = [plain(h) for h in result.laws]
    assert all(sympy_is_conserved(h, phi, symbols) for h in laws)
    assert same_span(laws, expected, symbols)
    assert result.independent == reference_laws(shape)
    assert result.complete


def test_overlapping_windows_tie_into_one_balance() -> None:
    # hidden 3, pool 2, stride 1: windows {1,2} and {2,3} share unit 2, so one
    # rescaling of all three units is left: the single law, by hand.
    shape = (2, 3, 2, 1, 1)
    symbols, phi = maxpool_phi(shape)
    law = sum(V(i, j) ** 2 for i in (1, 2, 3) for j in (1, 2)) - U(1, 1) ** 2 - U(1, 2) ** 2
    assert sympy_is_conserved(law, phi, symbols)
    assert reference_laws(shape) == 1
    result = find_laws("maxpool", degree=2, seed=SEED, **options(shape))
    assert same_span([plain(h) for h in result.laws], [law], symbols)


# -- the data-sampled trace on 2-D inputs -------------------------------------------


def exact_data_laws(shape: Shape, point: list[Fraction]) -> int:
    """Laws of the whole data trace at ``point`` (input dimension 2).

    Every region of R^2 is enumerated; on each, a window passes on its unique
    largest positive unit (or 0 when all its units are off) and the outputs are
    polynomials in θ.
    """
    m, r, _, _, n = shape
    assert m == 2
    symbols, _ = maxpool_phi(shape)
    values = dict(zip(symbols, point, strict=True))
    rows = {i: (values[V(i, 1)], values[V(i, 2)]) for i in range(1, r + 1)}
    forms = list(rows.values())
    for units in windows(shape):
        forms += [(rows[a][0] - rows[b][0], rows[a][1] - rows[b][1])
                  for a, b in itertools.combinations(units, 2)]
    local = []
    for pair in region_points(lambda _c: forms):
        for x in pair:
            pre = {i: row[0] * x[0] + row[1] * x[1] for i, row in rows.items()}
            pooled = []
            for units in windows(shape):
                best = max(units, key=lambda i: pre[i])
                on = pre[best] > 0
                pooled.append(V(best, 1) * x[0] + V(best, 2) * x[1] if on else 0)
            for o in range(1, n + 1):
                out = sympy.expand(sum(U(o, w) * p for w, p in enumerate(pooled, 1)))
                if out != 0:
                    local.append(out)
    ranks = reference_lie_rank(local, symbols, point)
    return len(symbols) - ranks[-1]


PLANAR = [(2, 2, 2, 2, 1), (2, 4, 2, 2, 1), (2, 5, 2, 2, 1), (2, 3, 2, 1, 1),
          (2, 4, 2, 2, 2)]


@pytest.mark.parametrize("shape", PLANAR, ids=shape_id)
def test_data_mode_equals_phi_mode_and_the_exact_region_trace(shape: Shape) -> None:
    # Windows of k <= m units: every unit of a window wins on an open cone.
    phi = count("maxpool", seed=SEED, **options(shape))
    data = count("maxpool", mode="data", seed=0, **options(shape))
    assert data.data_samples > 0
    assert data.laws == phi.laws
    assert exact_data_laws(shape, [Fraction(v) for v in data.point]) == phi.laws


@pytest.mark.parametrize("seed", range(6))
def test_sampled_data_trace_never_claims_fewer_laws_than_the_exact_one(seed: int) -> None:
    # The sampled rank is a lower bound on the true data-trace rank at the point.
    shape = (2, 4, 2, 2, 1)
    data = count("maxpool", mode="data", seed=seed, **options(shape))
    assert data.laws >= exact_data_laws(shape, [Fraction(v) for v in data.point])


# Sampling can in principle miss thin regions (then the data-mode count is too
# high; test above).  At these seeds every region is seen since boundary ties
# among shut ReLU units are no longer skipped; the comparison is with the exact
# enumeration of every region, independent of conslaws.
@pytest.mark.parametrize("seed", [2, 3])
def test_sampled_data_trace_sees_every_region(seed: int) -> None:
    shape = (2, 4, 2, 2, 1)
    data = count("maxpool", mode="data", seed=seed, **options(shape))
    assert data.laws == exact_data_laws(shape, [Fraction(v) for v in data.point]) == 2


def test_window_wider_than_the_input_makes_the_data_count_region_dependent() -> None:
    # input 2, hidden 3, one window of 3.  V_3 = (1, 1) lies inside the triangle
    # 0, V_1 = (5, 1), V_2 = (1, 5): unit 3 never wins (an open set of θ), so the
    # data trace is that of U_1_1·V_i_j for i = 1, 2 only: one balance law on
    # (V_1, V_2, U) plus V_3_1, V_3_2 conserved = 3 laws; phi mode counts 1.
    shape = (2, 3, 3, 3, 1)
    point = "5,1,1,5,1,1,2"
    symbols = maxpool_phi(shape)[0]
    local = [U(1, 1) * V(i, j) for i in (1, 2) for j in (1, 2)]
    values = [Fraction(v) for v in point.split(",")]
    assert len(symbols) - reference_lie_rank(local, symbols, values)[-1] == 3
    assert exact_data_laws(shape, values) == 3
    assert count("maxpool", mode="data", point=point, **options(shape)).laws == 3
    assert count("maxpool", point=point, **options(shape)).laws == 1


@pytest.mark.parametrize("argv", [
    ["--input", "2", "--hidden", "3", "--pool", "5", "--output", "1"],
    ["--input", "2", "--hidden", "3", "--pool", "2", "--stride", "0", "--output", "1"],
], ids=["window-larger-than-layer", "stride-0"])
def test_bad_pooling_options_print_one_error_line(argv: list[str],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["count", "maxpool", *argv])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("conslaws: error:")


# -- average pooling: the pool unit is linear -----------------------------------------------

def avgpool_phi(shape: Shape) -> tuple[list[sympy.Symbol], list[sympy.Expr]]:
    """The gated view of x -> U avgpool(relu(V x)), written by hand.

    Only the hidden gates γ_i, the inputs x_j and the output weights w_o vary, so
    φ has one component per (o, i, j): V_ij times the sum of U_ow over the windows
    w that contain unit i (the mean's 1/k is a common constant factor, dropped).
    """
    symbols, _ = maxpool_phi(shape)
    m, r, _, _, n = shape
    wins = windows(shape)
    phi = [V(i, j) * sum((U(o, w) for w, units in enumerate(wins, 1) if i in units),
                         sympy.Integer(0))
           for o in range(1, n + 1) for i in range(1, r + 1) for j in range(1, m + 1)]
    return symbols, [p for p in phi if p != 0]


@pytest.mark.parametrize("shape", DISJOINT[:4] + OVERLAP, ids=shape_id)
def test_average_pooling_matches_the_hand_phi(exact_backend: str, shape: Shape) -> None:
    symbols, phi = avgpool_phi(shape)
    truth = len(symbols) - reference_lie_rank(phi, symbols,
                                              random_point(len(symbols), SEED))[-1]
    result = count("maxpool", backend=exact_backend, seed=SEED, pooling="avg", **options(shape))
    assert result.parameter_names == tuple(x.name for x in symbols)
    assert result.certified and result.laws == truth


def test_pooling_option_changes_the_model() -> None:
    shape = (1, 3, 2, 1, 1)  # unit 2 is in both windows
    kinds = {pooling: {build_model("maxpool", pooling=pooling, **options(shape)).graph.nodes[
        ("pool", 1)]["kind"]} for pooling in ("max", "avg")}
    assert kinds == {"max": {"maxpool"}, "avg": {"linear"}}
    # The hand phi of the mean is not the max-pooling one (fewer, summed components).
    assert len(avgpool_phi(shape)[1]) < len(maxpool_phi(shape)[1])
