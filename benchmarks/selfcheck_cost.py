"""What the self-checks cost on the reference sweeps.

Every certified count re-checks its laws by an independent path before it is
called certified (``conslaws.core.engine.selfcheck``).  This runs every case of each
sweep in ``benchmarks/data`` in-process, with the self-check functions wrapped
by timers, and prints the time spent in them against the total time of the
counts.  (Timing the sweep with and without the checks measures the same thing
but drowns it in the noise of a shared machine.)

    python benchmarks/selfcheck_cost.py [--files NAME ...]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

from conslaws.core.engine import probe_count
from conslaws.core.errors import ConslawsError
from conslaws.core.frontends import api
from conslaws.core.frontends.sweep import load_cases

DATA = Path(__file__).resolve().parent / "data"
CHECKS = [(api, "check_laws"), (probe_count, "check_conserved_on_probes"),
          (probe_count, "check_rank")]


def timed(function: Callable[..., Any], spent: list[float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start
    return wrapper


def measure(cases: list[dict[str, Any]]) -> tuple[float, float]:
    """(seconds in all counts, seconds in the self-checks)."""
    spent = [0.0]
    patches = [mock.patch.object(module, name, timed(getattr(module, name), spent))
               for module, name in CHECKS]
    total = 0.0
    for patch in patches:
        patch.start()
    try:
        for case in cases:
            try:
                start = time.perf_counter()
                api_count(case["args"])
                total += time.perf_counter() - start
            except ConslawsError:
                pass
    finally:
        for patch in patches:
            patch.stop()
    return total, spent[0]


def api_count(args: list[str]) -> None:
    from conslaws.core.frontends.cli import main

    with mock.patch("sys.stdout"), mock.patch("sys.stderr") as stderr:
        stderr.isatty.return_value = False  # no progress bars
        main(["count", *args, "--seed", "0", "--no-progress"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="+", default=sorted(p.name for p in DATA.glob("*.json")))
    args = parser.parse_args()
    print("| sweep | cases | counts (s) | self-checks (s) | share |")
    print("|---|---|---|---|---|")
    for name in args.files:
        cases = load_cases(DATA / name)
        total, checks = measure(cases)
        share = f"{100 * checks / total:.1f}%" if total else "-"
        print(f"| {name} | {len(cases)} | {total:.2f} | {checks:.3f} | {share} |")


if __name__ == "__main__":
    main()
