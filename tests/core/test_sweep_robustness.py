"""``conslaws sweep`` under bad files, failing cases, bad options and Ctrl-C.

Expected counts come from theory.md section 5 (ReLU: one law per hidden neuron); a case's
result is compared with :func:`conslaws.core.frontends.api.count` called directly, the route the
sweep must take.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_cli

import conslaws.core.frontends.api as api
import conslaws.core.frontends.sweep as sweep
from conslaws.core.errors import ConslawsError, UnknownNameError
from conslaws.core.frontends.sweep import (
    MAX_FILE_BYTES,
    load_cases,
    run_case,
    run_sweep,
    worker_count,
)

RELU = {"args": ["relu", "--widths", "2,3,1"], "laws": 3}  # one law per hidden neuron
VOLATILE = ("seconds", "timings")


def write(tmp_path: Path, content: Any, name: str = "sweep.json") -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def one_error_line(status: int, out: str, err: str) -> str:
    assert status == 2, err
    assert out == ""
    assert "Traceback" not in err
    (line,) = err.splitlines()
    assert line.startswith("conslaws: error: ")
    return line


# --------------------------------------------------------------------------- the file is data


BAD_FILES: dict[str, tuple[Any, str]] = {
    "not UTF-8": (b'{"cases": [{"args": ["relu\xff"]}]}', "UTF-8"),
    "UTF-16": ('{"cases": []}'.encode("utf-16"), "UTF-8"),
    "NaN": ('{"cases": [{"args": ["relu"], "laws": NaN}]}', "NaN"),
    "Infinity": ('{"cases": [{"args": ["relu", "--seed", Infinity]}]}', "Infinity"),
    "1e400": ('{"cases": [{"args": ["relu", "--seed", 1e400]}]}', "number"),
    "nested too deeply": ("[" * 200_000 + "]" * 200_000, "nested"),
    "cases a list of lists": ({"cases": [["relu", "--widths", "2,3,1"]]}, "case 0"),
    "cases an object": ({"cases": {"args": ["relu"]}}, "cases"),
    "case args an object": ({"cases": [{"args": {"relu": 1}}]}, "case 0"),
    "case args empty": ({"cases": [{"args": []}]}, "case 0"),
    "an arg an object": ({"cases": [RELU, {"args": ["relu", {"w": 1}]}]}, "case 1"),
    "laws negative": ({"cases": [{"args": ["relu", "--widths", "2,3,1"], "laws": -1}]},
                      "laws"),
    "laws a bool": ({"cases": [{"args": ["relu", "--widths", "2,3,1"], "laws": True}]},
                    "laws"),
    "top level a string": ('"cases"', "cases"),
}


@pytest.mark.parametrize("case", list(BAD_FILES), ids=list(BAD_FILES))
def test_bad_files_are_refused_in_one_line(case: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sweep, "run_case", _must_not_run)
    content, named = BAD_FILES[case]
    line = one_error_line(*run_cli(["sweep", write(tmp_path, content), "--json"], capsys))
    assert named in line


def _must_not_run(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a case ran")


def test_a_file_over_the_cap_is_refused_unread(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    case = json.dumps(RELU)
    count = MAX_FILE_BYTES // (len(case) + 1) + 1
    text = '{"cases": [' + ",".join([case] * count) + "]}"
    assert len(text) > MAX_FILE_BYTES
    line = one_error_line(*run_cli(["sweep", write(tmp_path, text)], capsys))
    assert "larger than 10 MB" in line


def test_an_endless_file_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    start = time.perf_counter()
    line = one_error_line(*run_cli(["sweep", "/dev/zero"], capsys))
    assert "larger than" in line
    assert time.perf_counter() - start < 30


def test_a_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error_line(*run_cli(["sweep", str(tmp_path)], capsys))
    assert "cannot read" in line


def test_numbers_in_args_stand_for_their_text(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    cases = [{"args": ["relu", "--widths", "2,3,1", "--certify-degree", 2], "laws": 3}]
    status, out, err = run_cli(["sweep", write(tmp_path, {"cases": cases}), "--json",
                                "--seed", "0"], capsys)
    assert status == 0, err
    (entry,) = json.loads(out)["results"]
    assert entry["args"] == ["relu", "--widths", "2,3,1", "--certify-degree", "2"]
    assert (entry["laws"], entry["matches"], entry["verified_degree"]) == (3, True, 2)


def test_the_repository_benchmarks_load() -> None:
    data = Path(__file__).resolve().parents[2] / "benchmarks" / "data"
    files = sorted(data.glob("*.json"))
    if not files:
        pytest.skip("no benchmark data")
    for path in files:
        cases = load_cases(path)
        assert cases and all(isinstance(a, str) for c in cases for a in c["args"])


# --------------------------------------------------------------------------- failing cases


def test_every_kind_of_failing_case_is_recorded_and_the_sweep_goes_on(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = api.count

    def count(architecture: Any, **options: Any) -> Any:
        if options.get("widths") == "2,4,1":
            raise RuntimeError("an unexpected failure")
        return real(architecture, **options)

    monkeypatch.setattr(api, "count", count)
    cases = [
        {"args": ["relu", "--widths", "2,0,1"], "laws": 0},  # a ConslawsError
        {"args": ["relu", "--widths", "2,4,1"], "laws": 4},  # any other exception
        {"args": ["relu", "--frobnicate"]},  # a usage error
        {"args": ["relu", "--widths", "2,3,1", "--help"]},  # help is not printed
        RELU,
    ]
    status, out, err = run_cli(["sweep", write(tmp_path, {"cases": cases}), "--json",
                                "--seed", "0"], capsys)
    assert status == 1
    assert err == ""
    results = json.loads(out)["results"]  # stdout is only the report
    assert [r["matches"] for r in results] == [False] * 4 + [True]
    width, unexpected, usage, helped, good = results
    assert width["error"] == "--widths: width 0 must be a positive integer"
    assert width["expected"] == 0 and width["seed"] == 0
    assert unexpected["error"] == "RuntimeError: an unexpected failure"
    assert "--frobnicate" in usage["error"]
    assert "--help" in helped["error"]
    assert good["laws"] == 3 and good["certified"] is True
    status, out, _ = run_cli(["sweep", write(tmp_path, {"cases": cases}), "--seed", "0"], capsys)
    assert status == 1
    assert "error: RuntimeError: an unexpected failure" in out
    assert "1 of 5 cases match and are certified, 4 failed" in out


def test_run_case_is_the_api_count() -> None:
    through_sweep = run_case(["relu", "--widths", "2,3,1", "--bias"], "rational", 7)
    direct = api.count("relu", widths=(2, 3, 1), bias=True, backend="rational", seed=7).to_dict()
    assert {k: v for k, v in through_sweep.items() if k not in VOLATILE} == {
        k: v for k, v in direct.items() if k not in VOLATILE}


def test_the_sweep_backend_and_seed_replace_a_case_own() -> None:
    report = run_sweep([{"args": ["relu", "--widths", "2,3,1", "--backend", "float",
                                  "--seed", "99"]}], backend="rational", seed=5)
    (entry,) = report.results
    assert (entry["backend"], entry["seed"]) == ("rational", 5)


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize("jobs", ["0", "-1", "-100"])
def test_jobs_below_one_are_refused(jobs: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error_line(*run_cli(["sweep", write(tmp_path, {"cases": [RELU]}), "--jobs", jobs],
                                   capsys))
    assert "--jobs" in line


def test_jobs_are_capped_by_cases_and_cpus(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert worker_count(1000, 3) == min(3, cpus or 1)
    assert worker_count(1000, 10**6) == cpus
    assert worker_count(2, 1) == 1
    with pytest.raises(ConslawsError):
        worker_count(0, 5)

    # One case with --jobs 64: run in-process, no pool is started.
    import concurrent.futures

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", _must_not_run)
    status, out, err = run_cli(["sweep", write(tmp_path, {"cases": [RELU]}), "--jobs", "64",
                                "--json", "--seed", "1"], capsys)
    assert status == 0, err
    assert json.loads(out)["results"][0]["laws"] == 3


def test_an_unknown_backend_is_refused_before_any_case(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sweep, "run_case", _must_not_run)
    line = one_error_line(*run_cli(["sweep", write(tmp_path, {"cases": [RELU]}),
                                    "--backend", "nope"], capsys))
    assert "nope" in line
    with pytest.raises(UnknownNameError):
        run_sweep([RELU], backend="nope")


# --------------------------------------------------------------------------- Ctrl-C


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(c) for c in handle.read().split()]
    except OSError:
        return []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_stops_a_parallel_sweep_at_once(presses: int, tmp_path: Path) -> None:
    # Each case lists and brackets the fields of a 5-layer linear network: seconds of work,
    # so waiting for the running cases would take far longer than the limit below.
    case = {"args": ["linear", "--widths", "5,5,5,5,5", "--engine", "fields"]}
    path = write(tmp_path, {"cases": [case] * 8})
    process = subprocess.Popen([sys.executable, "-m", "conslaws.core", "sweep", path,
                                "--jobs", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(_children(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = _children(process.pid)
        assert len(workers) >= 2
        time.sleep(1.0)  # the workers are inside their first cases
        # A terminal's Ctrl-C signals the whole foreground process group.
        pressed = time.monotonic()
        for _ in range(presses):
            os.killpg(process.pid, signal.SIGINT)
            time.sleep(0.05)
        out, err = process.communicate(timeout=60)
        elapsed = time.monotonic() - pressed
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == 130
    assert err == "conslaws: interrupted\n"
    assert out == ""
    assert elapsed < 4, elapsed
    time.sleep(0.2)
    assert not [pid for pid in workers if os.path.exists(f"/proc/{pid}")]
