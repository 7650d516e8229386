"""``conslaws sweep``: many counts from a JSON file, optionally in parallel.

The sweep files are written here in the format of benchmarks/data/anchor-relu.json
(``{"cases": [{"args": [...], "laws": N}]}``), with expectations taken from
theory.md section 5 (ReLU: one law per hidden neuron, with or without bias;
two linear layers with r <= n + m: r(r+1)/2; momentum on two linear layers:
r(r-1)/2), never from an earlier run.
"""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_cli

from conslaws.core.frontends.sweep import load_cases, run_sweep

# (args, number of laws from theory.md section 5)
THEORY: list[tuple[list[str], int]] = [
    (["relu", "--widths", "2,3,1"], 3),  # one per hidden neuron
    (["relu", "--widths", "2,2,2", "--bias"], 2),  # one per hidden neuron, with bias
    (["relu", "--widths", "3,2,2,1"], 4),  # deep ReLU: Σ hidden widths
    (["linear", "--widths", "2,2,2"], 3),  # r(r+1)/2, r = 2
    (["linear", "--widths", "2,3,2"], 6),  # r(r+1)/2, r = 3
    (["linear", "--widths", "2,2,2", "--flow", "momentum", "--tau", "1"], 1),  # r(r-1)/2
]
FIELDS = ("architecture", "flow", "parameters", "parameter_names", "trace_dimensions",
          "lie_dimension", "laws", "certified", "laws_lower_bound", "laws_upper_bound",
          "backend", "seed", "seconds")


def write(tmp_path: Path, document: Any, name: str = "sweep.json") -> str:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return str(path)


def theory_cases() -> list[dict[str, Any]]:
    return [{"args": args, "laws": laws} for args, laws in THEORY]




def test_json_report_has_every_case_with_its_count_and_expectation(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, {"protocol": "theory.md section 5", "cases": theory_cases()})
    status, out, _ = run_cli(["sweep", path, "--json", "--seed", "0"], capsys)
    document = json.loads(out)
    assert status == 0
    assert set(document) >= {"results", "total_seconds"}
    assert isinstance(document["total_seconds"], float) and document["total_seconds"] >= 0
    results = document["results"]
    assert len(results) == len(THEORY)
    for i, ((args, laws), entry) in enumerate(zip(THEORY, results, strict=True)):
        assert all(key in entry for key in FIELDS), sorted(set(FIELDS) - set(entry))
        assert entry["args"] == args
        assert entry["laws"] == laws
        assert entry["expected"] == laws
        assert entry["matches"] is True
        assert entry["certified"] is True
        assert entry["laws_lower_bound"] == entry["laws_upper_bound"] == laws
        assert entry["parameters"] - entry["lie_dimension"] == laws
        assert entry["seed"] == i  # case i uses seed base + i
    assert results[-1]["flow"] == "momentum"
    assert results[-1]["parameters"] == 2 * 8 + 1


def test_a_wrong_expectation_fails_the_sweep(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    cases = theory_cases()[:2]
    cases[1] = {"args": cases[1]["args"], "laws": 5}  # theory says 2
    path = write(tmp_path, {"cases": cases})
    status, out, _ = run_cli(["sweep", path, "--json", "--seed", "0"], capsys)
    results = json.loads(out)["results"]
    assert status == 1
    assert [r["matches"] for r in results] == [True, False]
    assert (results[1]["laws"], results[1]["expected"]) == (2, 5)

    status, out, _ = run_cli(["sweep", path, "--seed", "0"], capsys)
    assert status == 1
    assert "NO" in out.splitlines()[2]
    assert "1 of 2 cases" in out


def test_a_case_without_expectation_is_counted_and_does_not_fail(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, {"cases": [{"args": ["relu", "--widths", "2,3,1"]}]})
    status, out, _ = run_cli(["sweep", path, "--json", "--seed", "3"], capsys)
    (entry,) = json.loads(out)["results"]
    assert status == 0
    assert entry["laws"] == 3 and entry["seed"] == 3
    assert "expected" not in entry


def test_a_case_with_bad_arguments_is_reported_and_fails_the_sweep(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = [{"args": ["relu", "--widths", "2,0,1"], "laws": 0}, *theory_cases()[:1]]
    path = write(tmp_path, {"cases": cases})
    status, out, _ = run_cli(["sweep", path, "--json", "--seed", "0"], capsys)
    results = json.loads(out)["results"]
    assert status == 1
    assert "error" in results[0] and results[0]["matches"] is False
    assert results[1]["matches"] is True and results[1]["laws"] == 3


def test_text_output_lists_every_case(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, {"cases": theory_cases()})
    status, out, _ = run_cli(["sweep", path, "--seed", "0"], capsys)
    assert status == 0
    lines = out.splitlines()
    assert len(lines) == len(THEORY) + 2  # header, one line per case, summary
    for (args, laws), line in zip(THEORY, lines[1:-1], strict=True):
        assert line.startswith(" ".join(args)[:34])
        assert line.split()[-5:-2] == [str(laws), str(laws), "yes"]
    assert f"{len(THEORY)} of {len(THEORY)} cases" in lines[-1]


def summary(results: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["args"], r["laws"], r["lie_dimension"], r["trace_dimensions"], r["certified"],
             r["seed"], r.get("matches")) for r in results]


def test_two_jobs_give_the_same_counts_as_one(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, {"cases": theory_cases()})
    reports = []
    for jobs in ("1", "2"):
        status, out, _ = run_cli(["sweep", path, "--json", "--seed", "5", "--jobs", jobs], capsys)
        assert status == 0
        reports.append(summary(json.loads(out)["results"]))
    assert reports[0] == reports[1]
    assert [r[1] for r in reports[0]] == [laws for _, laws in THEORY]


@pytest.mark.parametrize("kind", ["process", "thread"])
def test_run_sweep_accepts_any_executor(kind: str) -> None:
    cases = theory_cases()
    serial = run_sweep(cases, seed=11)
    pool = ProcessPoolExecutor(2) if kind == "process" else ThreadPoolExecutor(2)
    with pool:
        parallel = run_sweep(cases, seed=11, executor=pool)
    assert summary(parallel.results) == summary(serial.results)
    assert parallel.all_match and serial.all_match
    assert [r["laws"] for r in parallel.results] == [laws for _, laws in THEORY]


def test_load_cases_reads_the_benchmark_format(tmp_path: Path) -> None:
    document = {"protocol": "p", "anchor_seconds": 1, "cases": theory_cases()}
    assert load_cases(write(tmp_path, json.dumps(document, indent=1))) == theory_cases()


BAD_FILES: dict[str, Any] = {
    "not-json": "{cases: [",
    "no-cases": {"protocol": "x"},
    "cases-not-a-list": {"cases": {"args": ["relu"]}},
    "top-level-list": [{"args": ["relu", "--widths", "2,3,1"]}],
    "args-a-list-inside": {"cases": [{"args": ["relu", "--widths", [2, 3, 1]], "laws": 3}]},
    "args-null": {"cases": [{"args": ["relu", "--widths", None], "laws": 3}]},
    "args-bool": {"cases": [{"args": ["relu", "--bias", True], "laws": 3}]},
    "args-missing": {"cases": [{"laws": 3}]},
    "args-a-string": {"cases": [{"args": "relu --widths 2,3,1", "laws": 3}]},
    "laws-not-an-integer": {"cases": [{"args": ["relu", "--widths", "2,3,1"], "laws": "3"}]},
}


@pytest.mark.parametrize("content", list(BAD_FILES.values()), ids=list(BAD_FILES))
def test_bad_sweep_file_is_one_line_and_status_2(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 content: Any) -> None:
    path = write(tmp_path, content)
    status, out, err = run_cli(["sweep", path, "--json"], capsys)
    assert status == 2
    assert out == ""
    assert err.startswith("conslaws: error:") and err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize("argv", [["sweep", "MISSING"], ["sweep", "FILE", "--jobs", "0"],
                                  ["sweep", "FILE", "--jobs", "two"]],
                         ids=["missing-file", "zero-jobs", "jobs-not-a-number"])
def test_bad_sweep_invocation_is_one_line_and_status_2(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str],
                                                       argv: list[str]) -> None:
    good = write(tmp_path, {"cases": theory_cases()[:1]})
    missing = str(tmp_path / "does-not-exist.json")
    argv = [good if a == "FILE" else missing if a == "MISSING" else a for a in argv]
    status, out, err = run_cli(argv, capsys)
    assert status == 2
    assert out == ""
    assert err.startswith("conslaws: error:") and err.count("\n") == 1

