"""The command line against its contract (docs/cli.md).

Most runs call :func:`conslaws.core.frontends.cli.main` in-process; a few go through
``python -m conslaws.core`` in a subprocess to check real exit statuses and
streams.  Expected counts and laws come from theory.md's reference table or are
derived in the comments and checked with sympy.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import pytest
import sympy
from cli_runner import run_cli as run

COUNT_FIELDS: dict[str, Any] = {
    "architecture": str,
    "flow": str,
    "parameters": int,
    "parameter_names": list,
    "trace_dimensions": list,
    "lie_dimension": int,
    "laws": int,
    "certified": bool,
    "laws_lower_bound": int,
    "laws_upper_bound": int,
    "backend": str,
    "seed": (int, type(None)),
    "seconds": float,
}
VOLATILE = ("seconds", "timings")




def run_json(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    status, out, err = run([*argv, "--json"], capsys)
    assert status == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def subprocess_run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conslaws.core", *argv],
                          capture_output=True, text=True, timeout=120, check=False)


def _stable(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in VOLATILE}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------------------- count --json


def test_count_json_has_every_contract_field(capsys: pytest.CaptureFixture[str]) -> None:
    # relu 3,4,2 with bias: D = 3*4 + 4 + 4*2 = 24; one law per hidden neuron (4).
    document = run_json(["count", "relu", "--widths", "3,4,2", "--bias", "--seed", "1"], capsys)
    for name, kind in COUNT_FIELDS.items():
        assert name in document, name
        assert isinstance(document[name], kind), (name, document[name])
        if kind is int:
            assert _is_int(document[name]), name
    assert all(isinstance(n, str) for n in document["parameter_names"])
    assert all(_is_int(d) for d in document["trace_dimensions"])
    assert document["architecture"] == "relu"
    assert document["flow"] == "gradient"
    assert document["backend"] == "modular"
    assert document["seed"] == 1
    assert document["parameters"] == 24 == len(document["parameter_names"])
    assert len(set(document["parameter_names"])) == 24
    assert document["laws"] == 4
    assert document["certified"] is True
    assert document["laws_lower_bound"] == document["laws_upper_bound"] == 4
    assert document["lie_dimension"] == 20 == document["trace_dimensions"][-1]
    assert document["seconds"] >= 0


@pytest.mark.parametrize("backend", ["modular", "rational", "float"])
def test_count_json_per_backend(backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    # linear 2,2,2: r (r + 1) / 2 = 3 laws (theory.md table); the float backend never certifies.
    document = run_json(["count", "linear", "--widths", "2,2,2", "--seed", "2",
                         "--backend", backend], capsys)
    assert document["backend"] == backend
    assert document["parameters"] == 8
    assert document["laws"] == 3
    assert document["certified"] is (backend != "float")


def test_seed_reproduces_point_and_result(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["count", "relu", "--widths", "2,3,1", "--bias", "--seed", "12345"]
    first, second = run_json(argv, capsys), run_json(argv, capsys)
    assert _stable(first) == _stable(second)
    assert first["seed"] == 12345
    assert len(first["point"]) == first["parameters"]
    other = run_json([*argv[:-1], "12346"], capsys)
    assert other["point"] != first["point"]


def test_seed_is_reported_when_not_given(capsys: pytest.CaptureFixture[str]) -> None:
    document = run_json(["count", "custom", "--phi", "u*v"], capsys)
    assert _is_int(document["seed"])
    again = run_json(["count", "custom", "--phi", "u*v", "--seed", str(document["seed"])], capsys)
    assert again["point"] == document["point"]


def test_point_positional_and_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["count", "custom", "--phi", "u*v1; u*v2", "--seed", "4"]
    positional = run_json([*base, "--point", "1,2,3/2"], capsys)
    named = run_json([*base, "--point", "v2=3/2,u=1,v1=2"], capsys)
    assert positional["parameter_names"] == ["u", "v1", "v2"]
    assert positional["point"] == ["1", "2", "3/2"]
    assert _stable(positional) == _stable(named)
    # At (1, 2, 3/2) the two gradients (v1, u, 0), (v2, 0, u) are independent: one law.
    assert (positional["trace_dimensions"][0], positional["laws"]) == (2, 1)
    assert positional["certified"] is True


# --------------------------------------------------------------------------- laws --json


def test_laws_json(capsys: pytest.CaptureFixture[str]) -> None:
    document = run_json(["laws", "linear", "--widths", "2,2,1", "--degree", "2", "--seed", "0"],
                        capsys)
    assert document["degree"] == 2
    assert isinstance(document["laws"], list)
    assert _is_int(document["independent"])
    assert isinstance(document["complete"], bool)
    names = document["parameter_names"]
    local = {n: sympy.Symbol(n) for n in names}
    # φ = W2 W1 written out here: φ_j = W2_1_1 W1_1_j + W2_1_2 W1_2_j.
    phi = [local["W2_1_1"] * local[f"W1_1_{j}"] + local["W2_1_2"] * local[f"W1_2_{j}"]
           for j in (1, 2)]
    laws = [sympy.sympify(text, locals=local) for text in document["laws"]]
    for h in laws:
        assert h.free_symbols <= set(local.values())
        for p in phi:
            assert sympy.expand(sum(sympy.diff(h, s) * sympy.diff(p, s)
                                    for s in local.values())) == 0
    # Entries of W1 W1^T - W2^T W2 (2x2 symmetric): 3 laws, all independent, complete.
    assert len(laws) == 3
    assert (document["independent"], document["complete"]) == (3, True)


def test_laws_json_incomplete(capsys: pytest.CaptureFixture[str]) -> None:
    # φ = x³ - 3xy²: its only law is 3x²y - y³ (degree 3), so degree 2 finds nothing.
    document = run_json(["laws", "custom", "--phi", "x**3 - 3*x*y**2", "--degree", "2"], capsys)
    assert document["laws"] == []
    assert (document["independent"], document["complete"]) == (0, False)
    document = run_json(["laws", "custom", "--phi", "x**3 - 3*x*y**2", "--degree", "3"], capsys)
    (law,) = [sympy.sympify(t) for t in document["laws"]]
    x, y = sympy.symbols("x y")
    assert sympy.simplify(law / (3 * x**2 * y - y**3)).is_constant()
    assert document["complete"] is True


# --------------------------------------------------------------------------- text, latex, list


def test_count_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["count", "custom", "--phi", "u*v1; u*v2", "--seed", "1"], capsys)
    assert status == 0, err
    assert "1 conservation law" in out
    assert "certified" in out and "not certified" not in out
    status, out, _ = run(["count", "custom", "--phi", "x**3 - 3*x*y**2", "--seed", "1"], capsys)
    assert status == 0
    assert "1 conservation law" in out
    assert "not certified: between 0 and 1" in out


def test_laws_text_and_latex(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["laws", "custom", "--phi", "u*v", "--degree", "2"], capsys)
    assert status == 0
    assert "u**2 - v**2" in out
    status, out, _ = run(["laws", "custom", "--phi", "u*v", "--degree", "2", "--latex"], capsys)
    assert status == 0 and "\\begin" in out
    status, out, _ = run(["count", "custom", "--phi", "u*v", "--latex"], capsys)
    assert status == 0 and "\\begin" in out


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["list"], capsys)
    assert status == 0
    head, _, tail = out.partition("backends:")
    assert "architectures:" in head
    listed_archs = {line.split()[0] for line in head.splitlines()[1:]
                    if line.startswith("  ") and not line.startswith("   ")}
    listed_backends = {line.split()[0] for line in tail.splitlines() if line.startswith("  ")}
    assert {"linear", "relu", "custom"} <= listed_archs
    assert {"modular", "rational", "float"} <= listed_backends
    assert "--widths" in head and "--bias" in head


def test_help_of_count_relu(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["count", "relu", "--help"], capsys)
    assert status == 0
    assert "--widths" in out and "--bias" in out


# --------------------------------------------------------------------------- errors

BAD_INPUTS = {
    "unknown architecture": ["count", "nope"],
    "unknown architecture for laws": ["laws", "nope", "--degree", "2"],
    "unknown option": ["count", "linear", "--widths", "2,2", "--frobnicate"],
    "unknown backend": ["count", "linear", "--widths", "2,2", "--backend", "nope"],
    "width 0": ["count", "linear", "--widths", "3,0"],
    "width not an integer": ["count", "linear", "--widths", "3,a"],
    "single width": ["count", "linear", "--widths", "3"],
    "composite modulus": ["count", "linear", "--widths", "2,2", "--modulus", "15"],
    "composite 61-bit modulus": ["count", "linear", "--widths", "2,2",
                                 "--modulus", str(2**61 - 2)],
    "exp phi": ["count", "custom", "--phi", "exp(u)"],
    "rational function phi": ["count", "custom", "--phi", "1/u"],
    "sqrt phi": ["count", "custom", "--phi", "sqrt(u)"],
    "laws of a non-polynomial phi": ["laws", "custom", "--phi", "u*v; exp(u)", "--degree", "2"],
    "point too long": ["count", "linear", "--widths", "2,2", "--point", "1,2,3,4,5"],
    "point too short": ["count", "custom", "--phi", "u*v", "--point", "1"],
    "point unknown name": ["count", "custom", "--phi", "u*v", "--point", "u=1,w=2"],
    "point not a number": ["count", "custom", "--phi", "u*v", "--point", "1,x"],
    "seed not an integer": ["count", "linear", "--widths", "2,2", "--seed", "x"],
    "degree zero": ["laws", "linear", "--widths", "2,2", "--degree", "0"],
    "degree negative": ["laws", "linear", "--widths", "2,2", "--degree", "-1"],
    "degree missing": ["laws", "linear", "--widths", "2,2"],
    "bogus mode": ["count", "linear", "--widths", "2,2", "--mode", "bogus"],
    "no command": [],
}


@pytest.mark.parametrize("argv", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_bad_input_is_one_line_and_status_2(argv: list[str],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(argv, capsys)
    assert status == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("conslaws: error:")
    assert "Traceback" not in err


@pytest.mark.parametrize("argv", [
    BAD_INPUTS["unknown architecture"],
    BAD_INPUTS["composite modulus"],
    BAD_INPUTS["exp phi"],
    BAD_INPUTS["point too long"],
], ids=["architecture", "modulus", "phi", "point"])
def test_bad_input_in_a_subprocess(argv: list[str]) -> None:
    process = subprocess_run(*argv)
    assert process.returncode == 2
    assert process.stdout == ""
    lines = process.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("conslaws: error:"), process.stderr


def test_subprocess_count_json_and_help() -> None:
    process = subprocess_run("count", "custom", "--phi", "x1*x2*x3", "--seed", "3", "--json")
    assert process.returncode == 0, process.stderr
    document = json.loads(process.stdout)
    # theory.md: φ = x1 x2 x3 has 2 laws (x1² - x2², x1² - x3²).
    assert (document["parameters"], document["laws"], document["certified"]) == (3, 2, True)
    assert document["parameter_names"] == ["x1", "x2", "x3"]
    process = subprocess_run("count", "relu", "--help")
    assert process.returncode == 0
    assert "--widths" in process.stdout and "--bias" in process.stdout
