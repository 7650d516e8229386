"""``--mode data``: the data-sampled trace (theory.md section 3).

Expected values come from outside the code under test:

* where the path lifting is minimal (one hidden layer, inputs of dimension
  >= 2; linear networks; convolutions; one residual block), the data trace is
  the φ trace and the counts are theory.md section 5's closed forms;
* with a scalar input the only regions are x > 0 and x < 0 (the networks are
  positively homogeneous in x): the fields, and so the count, derived by hand
  from the signs of the first-layer weights;
* for a residual network of two blocks on R^2: every linear region enumerated
  exactly (``tests/regions2d.py``) and the naive closure of the local outputs.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import pytest
import sympy
from reference import reference_lie_rank
from regions2d import region_points

from conslaws.core import count
from conslaws.core.errors import InvalidOptionError
from conslaws.core.frontends.cli import main

SEED = 20240624

# (architecture, options, laws from theory.md section 5)
MINIMAL: list[tuple[str, dict[str, Any], int]] = [
    ("linear", {"widths": (2, 3, 2)}, 6),  # r (r + 1) / 2, r = 3 <= n + m
    ("linear", {"widths": (2, 2, 2, 2)}, 6),  # 3 per hidden layer of width 2
    ("relu", {"widths": (2, 3, 2)}, 3),  # one per hidden neuron
    ("relu", {"widths": (2, 3, 2), "bias": True}, 3),
    ("relu", {"widths": (3, 2, 1), "bias": True}, 2),
    ("conv", {"channels": (1, 2, 1), "kernels": (2, 2), "length": 3}, 2),  # c1
    ("conv", {"channels": (2, 1, 1), "kernels": (2, 1), "length": 4, "stride": 2}, 1),
    ("resnet", {"width": 2, "hidden": 2, "blocks": 1}, 2),  # one per hidden neuron
    ("resnet", {"width": 3, "hidden": 1, "blocks": 1}, 1),
]


def case_id(case: tuple[str, dict[str, Any], int]) -> str:
    name, opts, _ = case
    return name + "-" + "-".join(f"{k}{v}" for k, v in opts.items())


@pytest.mark.parametrize("backend", ["modular", "rational"])
@pytest.mark.parametrize("case", MINIMAL, ids=case_id)
def test_data_mode_agrees_with_phi_mode_where_phi_is_minimal(
        case: tuple[str, dict[str, Any], int], backend: str) -> None:
    name, opts, expected = case
    phi = count(name, backend=backend, seed=SEED, **opts)
    data = count(name, backend=backend, seed=SEED, mode="data", **opts)
    assert data.mode == "data"
    assert data.data_samples > 0
    assert phi.laws == data.laws == expected
    assert phi.lie_dimension == data.lie_dimension
    assert data.certified


def scalar_relu_data_laws(point: list[Fraction]) -> int:
    """relu 1,r,1 without bias, data trace: parameters W1_k_1 (k = 1..r), then W2_1_k.

    x > 0 opens the units with W1_k_1 > 0, x < 0 those with W1_k_1 < 0: at most two
    fields ∇(Σ_{k in P} W2_1_k W1_k_1) and ∇(Σ_{k in N} ...), on disjoint variables,
    so they commute: the Lie dimension is the number of nonempty sign classes.
    """
    r = len(point) // 2
    first = point[:r]
    classes = int(any(w > 0 for w in first)) + int(any(w < 0 for w in first))
    return 2 * r - classes


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_scalar_input_relu_has_more_data_laws_than_phi_laws(seed: int) -> None:
    # relu 1,3,1: phi mode has one law per hidden neuron (3 of D = 6); the data
    # trace has at most 2 fields (theory.md section 3): at least 4 laws.
    phi = count("relu", seed=seed, widths=(1, 3, 1))
    data = count("relu", seed=seed, mode="data", widths=(1, 3, 1))
    assert phi.laws == 3
    assert data.laws == scalar_relu_data_laws([Fraction(v) for v in data.point])
    assert data.laws > phi.laws
    assert not data.certified
    assert data.laws_lower_bound == 3  # the verified laws are those of phi
    assert data.laws_upper_bound == data.laws


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    status = main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def test_count_json_reports_the_sampled_data(capsys: pytest.CaptureFixture[str]) -> None:
    document = run_json(["count", "relu", "--widths", "2,3,2", "--mode", "data",
                         "--seed", str(SEED)], capsys)
    assert document["mode"] == "data"
    assert isinstance(document["data_samples"], int)
    assert document["data_samples"] > 0
    patterns = document["activation_patterns"]
    assert isinstance(patterns, dict)
    assert patterns
    for key, hits in patterns.items():
        assert set(key) <= {"0", "1"}
        assert len(key) == 3  # one gate per hidden ReLU unit
        assert isinstance(hits, int)
        assert hits > 0
    assert sum(patterns.values()) == document["data_samples"]


@pytest.mark.parametrize(("point", "patterns", "laws"), [
    # W1_1_1, W1_2_1 > 0: x > 0 opens both units, x < 0 neither: one field
    # ∇(W2_1_1 W1_1_1 + W2_1_2 W1_2_1), D - 1 = 3 laws.
    ("1,2,3,5", {"11", "00"}, 3),
    # Opposite signs: x > 0 opens unit 1 only, x < 0 unit 2 only: two commuting
    # fields, 2 laws (as in phi mode).
    ("1,-2,3,5", {"10", "01"}, 2),
], ids=["same-signs", "opposite-signs"])
def test_point_chooses_the_region(point: str, patterns: set[str], laws: int,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    document = run_json(["count", "relu", "--widths", "1,2,1", "--mode", "data",
                         "--point", point, "--seed", str(SEED)], capsys)
    assert document["point"] == point.split(",")
    assert set(document["activation_patterns"]) == patterns
    assert document["laws"] == laws


# -- two residual blocks on R^2: exact region enumeration ----------------------------


def resnet_symbols(m: int, r: int, q: int) -> tuple[list[sympy.Symbol], list[list[list[Any]]],
                                                    list[list[list[Any]]]]:
    symbols: list[sympy.Symbol] = []
    vs, us = [], []
    for block in range(1, q + 1):
        v = [[sympy.Symbol(f"V{block}_{i}_{j}") for j in range(1, m + 1)] for i in range(1, r + 1)]
        u = [[sympy.Symbol(f"U{block}_{i}_{j}") for j in range(1, r + 1)] for i in range(1, m + 1)]
        symbols += [s for row in v for s in row] + [s for row in u for s in row]
        vs.append(v)
        us.append(u)
    return symbols, vs, us


def resnet_region(point: list[Fraction], x: tuple[Fraction, Fraction], r: int, q: int
                  ) -> tuple[list[list[Fraction]], list[list[int]], list[sympy.Expr]]:
    """On the region of x: pre-activations as linear forms in x, gates, local outputs."""
    m = 2
    symbols, vs, us = resnet_symbols(m, r, q)
    value = dict(zip(symbols, point, strict=True))
    z = [[Fraction(int(i == c)) for c in range(m)] for i in range(m)]  # z_i = z[i]·x
    out: list[sympy.Expr] = [sympy.Rational(x[0]), sympy.Rational(x[1])]
    forms, gates = [], []
    for v, u in zip(vs, us, strict=True):
        pre = [[sum(value[v[i][j]] * z[j][c] for j in range(m)) for c in range(m)]
               for i in range(r)]
        forms += pre
        g = [int(p[0] * x[0] + p[1] * x[1] > 0) for p in pre]
        gates.append(g)
        hidden = [g[i] * sum(v[i][j] * out[j] for j in range(m)) for i in range(r)]
        out = [out[i] + sum(u[i][k] * hidden[k] for k in range(r)) for i in range(m)]
        z = [[z[i][c] + sum(value[u[i][k]] * g[k] * pre[k][c] for k in range(r))
              for c in range(m)] for i in range(m)]
    return forms, gates, [sympy.expand(e) for e in out]


def exact_resnet_data(point: list[Fraction], r: int, q: int) -> tuple[int, set[tuple[int, ...]]]:
    """Laws of the whole data trace at ``point``, and the gate patterns of all regions."""
    symbols = resnet_symbols(2, r, q)[0]
    local, seen = [], set()
    for pair in region_points(lambda c: resnet_region(point, c, r, q)[0]):
        for x in pair:
            _, gates, outputs = resnet_region(point, x, r, q)
            seen.add(tuple(g for block in gates for g in block))
            local += [e for e in outputs if e.free_symbols]
    ranks = reference_lie_rank(local, symbols, point)
    return len(symbols) - ranks[-1], seen


# At this point the image of block 1 (a piecewise-linear map of R^2) misses the
# half-plane where unit 2 of block 2 is active: that unit never fires, an open
# condition on θ.  Its 4 weights are then conserved on top of the 3 balances
# of the other units: 7 laws, against 4 in phi mode.
DEAD_UNIT_POINT = ("-651328767,-850528597,332800430,-142840089,-862410140,126373092,"
                   "-773620058,370794246,-562038513,-55060789,583573872,-353944515,"
                   "621998644,186226022,833077304,-381801490")


def test_two_blocks_data_count_is_the_exact_region_trace_at_a_dead_unit_point() -> None:
    point = [Fraction(v) for v in DEAD_UNIT_POINT.split(",")]
    laws, patterns = exact_resnet_data(point, r=2, q=2)
    assert all(p[3] == 0 for p in patterns)  # gate of block 2, unit 2: never open
    assert laws == 3 + 4
    data = count("resnet", width=2, hidden=2, blocks=2, mode="data", point=DEAD_UNIT_POINT,
                 seed=SEED)
    phi = count("resnet", width=2, hidden=2, blocks=2, point=DEAD_UNIT_POINT)
    assert data.laws == laws
    assert phi.laws == 4


@pytest.mark.parametrize(("r", "seed"), [(1, 0), (1, 1), (2, 0)])
def test_two_blocks_data_count_is_the_exact_region_trace(r: int, seed: int) -> None:
    data = count("resnet", width=2, hidden=r, blocks=2, mode="data", seed=seed)
    laws, _ = exact_resnet_data([Fraction(v) for v in data.point], r=r, q=2)
    assert data.laws == laws
    assert laws >= 2 * r  # never fewer than phi's one law per hidden neuron


@pytest.mark.parametrize(("name", "opts"), [
    ("attention", {"dim": 2, "head_dim": 1}),
    ("custom", {"phi": "u*v1; u*v2"}),
])
def test_models_without_a_network_graph_refuse_data_mode(name: str,
                                                         opts: dict[str, Any]) -> None:
    with pytest.raises(InvalidOptionError, match="data"):
        count(name, mode="data", seed=SEED, **opts)
