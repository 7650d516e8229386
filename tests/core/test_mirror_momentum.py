"""The mirror-momentum flow against independent values.

* the ICML 2024 notebooks' random sweeps (benchmarks/data), whose counts come
  from an independent exact reference: NMF (linear, all layers mirrored) and
  ICNN (ReLU, outer layer mirrored), both with τ = 0;
* the naive closure of tests/reference.py on fields written here from the
  definition, for τ > 0 and a small φ.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sympy
from reference import random_point, reference_fields_lie_rank

import conslaws.core as cl

DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "data"


def _cases(name: str) -> list[dict[str, object]]:
    return list(json.loads((DATA / name).read_text())["cases"])


@pytest.mark.parametrize("case", _cases("icml-nmf-momentum.json")[:8]
                         + _cases("icml-icnn-momentum.json")[:8],
                         ids=lambda c: " ".join(c["args"]))  # type: ignore[index]
def test_reference_sweep_cases(case: dict[str, object], capsys: pytest.CaptureFixture[str]
                               ) -> None:
    from cli_runner import run_cli

    status, out, _ = run_cli(["count", *case["args"], "--json", "--seed", "0"],  # type: ignore[misc]
                             capsys)
    result = json.loads(out)
    assert status == 0 and result["certified"] and result["laws"] == case["laws"]


@pytest.mark.parametrize("tau", ["1", "1/2"])
def test_count_matches_the_naive_closure(tau: str) -> None:
    u, v, w = sympy.symbols("u v w")
    theta, phi = [u, v, w], [u * v, v * w]
    s = sympy.Symbol("s")
    rate = sympy.Rational(tau)
    dots = [sympy.Symbol(f"{x}_dot") for x in theta]
    zero = [sympy.Integer(0)] * 3
    drift = [rate * s, *dots, *(-rate * d for d in dots)]
    fields = [drift] + [
        [sympy.Integer(0), *zero,
         *((rate * x + d) * sympy.diff(p, x) for x, d in zip(theta, dots, strict=True))]
        for p in phi]
    symbols = [s, *theta, *dots]
    truth = len(symbols) - reference_fields_lie_rank(fields, symbols, random_point(7, 3))[-1]
    result = cl.count("custom", phi="u*v; v*w", flow="mirror-momentum",
                      flow_options={"tau": tau}, seed=3)
    assert result.laws_lower_bound <= truth <= result.laws_upper_bound
    assert result.certified and result.laws == truth
