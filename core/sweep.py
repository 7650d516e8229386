"""Sweeps: many counts from a JSON file, optionally in parallel.

The file has the format of ``shared/bench/anchor-relu.json``:
``{"cases": [{"args": ["relu", "--widths", "3,4,2"], "laws": 4}, ...]}``.
Each case's ``args`` are exactly what follows ``conslaws count``; ``laws`` is
the expected number, used only to report whether the count matches (the count
never sees it).

Any :class:`concurrent.futures.Executor` can run the cases: a process pool
(``--jobs N``), or a Dask cluster's ``client.get_executor()``.  Workers
receive and return plain data (argument lists and dicts), because flint
objects do not pickle.

Examples
--------
>>> cases = [{"args": ["relu", "--widths", "2,2,1"], "laws": 2}]
>>> report = run_sweep(cases, seed=0)
>>> report.results[0]["matches"], report.results[0]["certified"]
(True, True)
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conslaws.core.errors import ConslawsError, InvalidOptionError
from conslaws.core.progress import progress_bar

__all__ = ["SweepReport", "load_cases", "run_case", "run_sweep"]


def load_cases(path: str | Path) -> list[dict[str, Any]]:
    """Read and check a sweep file; raise :class:`InvalidOptionError` naming the problem."""
    try:
        document = json.loads(Path(path).read_text())
    except OSError as error:
        raise InvalidOptionError(f"sweep: cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise InvalidOptionError(
            f"sweep: {path} is not JSON ({error.msg}, line {error.lineno})"
        ) from None
    cases = document.get("cases") if isinstance(document, dict) else None
    if not isinstance(cases, list):
        raise InvalidOptionError(f"sweep: {path} has no list 'cases'")
    for i, case in enumerate(cases):
        if not (isinstance(case, dict) and isinstance(case.get("args"), list)
                and all(isinstance(a, str) for a in case["args"])):
            raise InvalidOptionError(f"sweep: case {i} needs 'args', a list of strings")
        if "laws" in case and not isinstance(case["laws"], int):
            raise InvalidOptionError(f"sweep: case {i} has a non-integer 'laws'")
    return cases


def run_case(args: Sequence[str], backend: str, seed: int) -> dict[str, Any]:
    """Run ``conslaws count ARGS`` and return its JSON dict (a worker function)."""
    from conslaws.core.cli import count_from_arguments

    result = count_from_arguments(["count", *args, "--backend", backend, "--seed", str(seed)])
    report: dict[str, Any] = result.to_dict()
    return report


@dataclass
class SweepReport:
    """Per-case count fields plus ``expected`` and ``matches``, and the total time."""

    results: list[dict[str, Any]] = field(default_factory=list)
    total_seconds: float = 0.0
    seed: int = 0

    @property
    def all_match(self) -> bool:
        """True when every case with an expected count got it, certified."""
        return all(r.get("matches", True) and r.get("certified", False) for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """``{"results": [...], "total_seconds": ...}`` (and the base seed)."""
        return {"results": self.results, "total_seconds": round(self.total_seconds, 6),
                "seed": self.seed}

    def to_json(self, indent: int | None = 2) -> str:
        """The document printed by ``conslaws sweep --json``."""
        return json.dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        lines = [f"{'case':<34} {'D':>5} {'laws':>5} {'expected':>8} {'match':>5} "
                 f"{'certified':>9} {'seconds':>8}"]
        for r in self.results:
            name = " ".join(r["args"])[:34]
            if "error" in r:
                lines.append(f"{name:<34} error: {r['error']}")
                continue
            expected = r.get("expected")
            lines.append(
                f"{name:<34} {r['parameters']:>5} {r['laws']:>5} "
                f"{'' if expected is None else expected:>8} "
                f"{'yes' if r.get('matches', True) else 'NO':>5} "
                f"{'yes' if r['certified'] else 'no':>9} {r['seconds']:>8.3f}"
            )
        ok = sum(1 for r in self.results if r.get("matches") and r.get("certified"))
        lines.append(f"{ok} of {len(self.results)} cases match and are certified; "
                     f"total {self.total_seconds:.2f} s (seed {self.seed})")
        return "\n".join(lines)


def run_sweep(
    cases: Sequence[Mapping[str, Any]],
    *,
    backend: str = "modular",
    seed: int | None = None,
    executor: Executor | None = None,
    progress: bool = False,
) -> SweepReport:
    """Count every case; with ``executor``, in parallel.

    Case i uses seed ``seed + i``, so a sweep is reproducible whatever the
    order in which workers finish.
    """
    start = time.perf_counter()
    base = seed if seed is not None else random.SystemRandom().randrange(2**31)
    report = SweepReport(seed=base)
    jobs = [(list(c["args"]), backend, base + i) for i, c in enumerate(cases)]
    outcomes: Iterator[dict[str, Any] | BaseException]
    if executor is None:
        outcomes = (_guarded(*job) for job in jobs)
    else:
        futures: list[Future[dict[str, Any]]] = [executor.submit(run_case, *job) for job in jobs]
        outcomes = (_result(f) for f in futures)
    for case, outcome in zip(cases, progress_bar(outcomes, "sweep", progress, len(jobs), minimum=2),
                             strict=True):
        entry: dict[str, Any] = {"args": list(case["args"])}
        if isinstance(outcome, BaseException):
            entry["error"] = str(outcome)
            entry["matches"] = False
        else:
            entry.update(outcome)
            if "laws" in case:
                entry["expected"] = case["laws"]
                entry["matches"] = outcome["laws"] == case["laws"]
        report.results.append(entry)
    report.total_seconds = time.perf_counter() - start
    return report


def _guarded(args: list[str], backend: str, seed: int) -> dict[str, Any] | BaseException:
    try:
        return run_case(args, backend, seed)
    except ConslawsError as error:
        return error


def _result(future: Future[dict[str, Any]]) -> dict[str, Any] | BaseException:
    try:
        return future.result()
    except ConslawsError as error:
        return error
