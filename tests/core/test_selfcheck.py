"""The self-checks behind "certified", and the choice of a witness prime.

A certificate must survive a bug in the search that found its laws: the tests
inject a quantity that is not conserved (u² + v² for φ = u v, whose only law is
u² − v², by hand: ∇(u²+v²)·(v, u) = 4uv ≠ 0) where the search's output is
used, and check that the count is then not called certified.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from cli_runner import run_cli

import conslaws.core as cl
from conslaws.core.engine.laws import LawSearch
from conslaws.core.engine.oracles import GradientOracle
from conslaws.core.engine.selfcheck import (
    SelfCheckError,
    check_conserved_at_points,
    check_conserved_on_probes,
    check_independent,
    check_rank,
)
from conslaws.core.engine.witness import poor_witness_reasons, witness_prime
from conslaws.core.frontends import api
from conslaws.core.models.model import Model
from conslaws.core.models.probes import ModularNetwork
from conslaws.flows.builtin import GradientFlow

MERSENNE = 2**61 - 1


def test_checks_accept_a_law_and_reject_a_non_law() -> None:
    model = Model.from_phi(("u", "v"), ["u*v"])
    law, fake = model.ring.from_sympy("u^2 - v^2"), model.ring.from_sympy("u^2 + v^2")
    rng = random.Random(0)
    assert "conservation" in check_conserved_at_points(model, [law], rng)
    with pytest.raises(SelfCheckError):
        check_conserved_at_points(model, [fake], rng)
    assert "rank 1" in check_independent([law], [2, 3])
    with pytest.raises(SelfCheckError):
        check_independent([law, 2 * law], [2, 3])
    with pytest.raises(SelfCheckError):
        check_rank([[1, 2, 3]] * 2)
    big = [[int(i == j) for j in range(600)] for i in range(400)]  # above EXACT_ENTRIES
    assert "fresh prime" in check_rank(big, random.Random(1))


def test_a_wrong_law_from_the_search_is_not_certified(monkeypatch: pytest.MonkeyPatch) -> None:
    model = Model.from_phi(("u", "v"), ["u*v"])
    fake = model.ring.from_sympy("u^2 + v^2")

    def broken_search(*args: Any, **kwargs: Any) -> LawSearch:
        return LawSearch(laws=[fake])

    monkeypatch.setattr(api, "find_polynomial_laws", broken_search)
    result = cl.count(model, seed=1)
    assert (result.laws_upper_bound, result.certified, result.laws_lower_bound) == (1, False, 0)
    assert "self-check failed" in result.statement


def test_a_wrong_structural_law_is_not_certified(monkeypatch: pytest.MonkeyPatch) -> None:
    honest = cl.count("relu", widths="2,2,1", engine="probes", seed=3)
    assert honest.certified and honest.laws == 2  # one rescaling per hidden neuron
    assert any("fresh probes" in c for c in honest.checks)
    # θ_0² alone: an input weight's square, not a balance (a rescaling moves it).
    monkeypatch.setattr(GradientFlow, "lift_laws",
                        lambda self, laws, model: [[(1, ((0, 2),))], [(1, ((1, 2),))]])
    result = cl.count("relu", widths="2,2,1", engine="probes", seed=3)
    assert not result.certified and "self-check failed" in result.statement


def test_probe_check_rejects_a_non_law() -> None:
    graph = cl.build_model("relu", widths="2,2,1").graph
    with pytest.raises(SelfCheckError):
        check_conserved_on_probes(lambda q: GradientOracle(ModularNetwork(graph, q)),
                                  [[(1, ((0, 2),))]], random.Random(5))


def test_poor_witness_is_detected_from_the_fields() -> None:
    # phi = x*y + z/p: scaled by p, the field of phi_1 has coefficients p and 1.
    model = Model.from_phi(("x", "y", "z"), [f"x*y + z/{MERSENNE}", "x"])
    assert poor_witness_reasons(model, MERSENNE)
    assert not poor_witness_reasons(model, 101)
    assert witness_prime(model, MERSENNE) < MERSENNE


@pytest.mark.parametrize(("argv", "truth"), [
    # x*y + z/p; x: fields (y, x, 1/p) and (1, 0, 0) span R^3 at a generic point.
    (["custom", "--phi", f"x*y + z/{MERSENNE}; x"], 0),
    # balance laws of a 2,2,2 linear network under weight decay: W1 W1^T - W2^T W2
    # times e^{2 lambda t}: 3 (the symmetric 2x2 entries).
    # (The fields engine's witness; the probe engine runs mod its own smaller prime.)
    (["linear", "--widths", "2,2,2", "--flow", "weight-decay", "--decay", str(MERSENNE),
      "--engine", "fields"], 3),
])
def test_default_prime_dividing_the_model_is_replaced(
        argv: list[str], truth: int, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(["count", *argv, "--seed", "2", "--json"], capsys)
    assert status == 0
    result = json.loads(out)
    assert result["certified"] and result["laws"] == truth
    assert result["backend_details"]["modulus"] != MERSENNE
    assert any(c.startswith("witness prime") for c in result["checks"])


def test_a_chosen_poor_prime_says_so_and_claims_nothing(
        capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(["count", "linear", "--widths", "2,2,2", "--flow", "momentum",
                              "--tau", "1/3", "--modulus", "3", "--json"], capsys)
    result = json.loads(out)
    assert status == 0 and not result["certified"]
    assert result["backend_details"]["modulus"] == 3
    assert "poor witness" in result["statement"] and "likely" not in result["statement"]


def test_certified_json_lists_the_checks_that_ran(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(["count", "linear", "--widths", "2,2,2", "--engine", "fields",
                              "--json", "--seed", "1"], capsys)
    checks = json.loads(out)["checks"]
    assert status == 0 and any("re-checked by exact evaluation" in c for c in checks)
    assert any("independence re-checked" in c for c in checks)
    status, out, _ = run_cli(["laws", "linear", "--widths", "2,2,2", "--degree", "2",
                              "--json", "--seed", "1"], capsys)
    assert status == 0 and any("re-checked" in c for c in json.loads(out)["checks"])
