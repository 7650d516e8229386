"""``conslaws sweep --dask``: the cases of a sweep as tasks of a Dask cluster.

The expected counts are the closed form of deep linear networks (theory.md
section 5: one law per pair i <= j of neurons of each hidden layer, so
sum of n(n+1)/2 over the hidden widths), checked against the numbers the
benchmark file records, and the local sweep with the same seed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_cli

from conslaws.core.errors import InvalidOptionError
from conslaws.core.frontends.sweep import load_cases, run_sweep

ANCHOR = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "anchor-linear.json"
CASES = 4  # the first cases of the anchor file: enough for several tasks, fast


def balancedness_laws(args: list[str]) -> int:
    """Closed form for ``linear --widths n0,...,nL``: sum of n(n+1)/2 over hidden layers."""
    widths = [int(w) for w in args[args.index("--widths") + 1].split(",")]
    return sum(n * (n + 1) // 2 for n in widths[1:-1])


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    distributed = pytest.importorskip("distributed")
    # Worker processes, as on a real cluster: tasks and results are pickled.
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        yield str(cluster.scheduler_address)


@pytest.fixture(scope="module")
def cases() -> list[dict[str, Any]]:
    return load_cases(ANCHOR)[:CASES]


def test_anchor_cases_match_the_closed_form(cases: list[dict[str, Any]]) -> None:
    assert [c["laws"] for c in cases] == [balancedness_laws(c["args"]) for c in cases]


def test_dask_sweep_counts_the_closed_form_and_equals_the_local_sweep(
        scheduler: str, cases: list[dict[str, Any]]) -> None:
    remote = run_sweep(cases, seed=7, dask=scheduler)
    local = run_sweep(cases, seed=7)
    assert remote.all_match and remote.seed == 7
    assert [r["laws"] for r in remote.results] == [balancedness_laws(c["args"]) for c in cases]
    assert [r["laws"] for r in remote.results] == [r["laws"] for r in local.results]
    for far, near in zip(remote.results, local.results, strict=True):
        assert set(far) == set(near)  # the same report format
        clock = {"seconds", "timings"}  # wall-clock times differ; nothing else may
        assert {k: v for k, v in far.items() if k not in clock} == \
            {k: v for k, v in near.items() if k not in clock}


def test_cli_dask_sweep_prints_the_local_format(
        scheduler: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = [*load_cases(ANCHOR)[:2], {"args": ["linear", "--widths", "2,0,2"]}]
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps({"cases": cases}))
    status, out, _ = run_cli(["sweep", str(path), "--dask", scheduler, "--json", "--seed", "0"],
                             capsys)
    results = json.loads(out)["results"]
    assert status == 1  # the third case fails, on the worker, and the sweep goes on
    assert [r["laws"] for r in results[:2]] == [balancedness_laws(c["args"]) for c in cases[:2]]
    assert results[2]["error"] == "--widths: width 0 must be a positive integer"


def test_dask_and_jobs_are_exclusive(tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(["sweep", str(ANCHOR), "--dask", "tcp://127.0.0.1:1",
                                "--jobs", "2"], capsys)
    assert (status, out) == (2, "")
    assert len(err.strip().splitlines()) == 1 and "--dask and --jobs" in err


def test_dask_and_executor_are_exclusive(cases: list[dict[str, Any]]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool, pytest.raises(InvalidOptionError) as error:
        run_sweep(cases, dask="tcp://127.0.0.1:1", executor=pool)
    assert error.value.argument == "dask"


def test_without_distributed_the_error_names_the_extra(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails: not installed
    status, out, err = run_cli(["sweep", str(ANCHOR), "--dask", "tcp://127.0.0.1:8786"],
                               capsys)
    assert (status, out) == (2, "")
    assert len(err.strip().splitlines()) == 1
    assert "pip install 'conslaws[dask]'" in err and "--dask" in err


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:1", "nonsense", "foo://host:1"])
def test_a_bad_address_is_one_line_and_exit_2(
        address: str, scheduler: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # nobody listens on port 1
    monkeypatch.setattr("conslaws.core.frontends.sweep.DASK_TIMEOUT", 1.0)
    status, out, err = run_cli(["sweep", str(ANCHOR), "--dask", address], capsys)
    assert (status, out) == (2, "")
    assert len(err.strip().splitlines()) == 1 and f"--dask: no Dask scheduler at {address}" in err
