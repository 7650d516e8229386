"""Time the two reference sweeps from scratch, as a user runs them.

Runs ``conslaws sweep FILE --json`` in a fresh interpreter (so import time is
included) with 1 and 2 worker processes, and checks that every count matches
the file's expectation and is certified.

    python benchmarks/sweeps.py [--jobs 1 2] [--bench DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"


def run(file: Path, jobs: int) -> tuple[float, int, int, int]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "conslaws.core", "sweep", str(file), "--json", "--seed", "0",
         "--jobs", str(jobs)],
        capture_output=True, text=True, check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr)
    results = json.loads(done.stdout)["results"]
    matched = sum(1 for r in results if r.get("matches"))
    certified = sum(1 for r in results if r.get("certified"))
    return wall, len(results), matched, certified


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    args = parser.parse_args()
    print("| sweep | jobs | cases | matched | certified | wall (s) | reference (s, 64 cores) |")
    print("|---|---|---|---|---|---|---|")
    for name in ("anchor-linear.json", "anchor-relu.json"):
        file = args.bench / name
        anchor = json.loads(file.read_text())["anchor_seconds"]
        for jobs in args.jobs:
            wall, cases, matched, certified = run(file, jobs)
            print(f"| {name} | {jobs} | {cases} | {matched} | {certified} | {wall:.1f} "
                  f"| {anchor} |")


if __name__ == "__main__":
    main()
