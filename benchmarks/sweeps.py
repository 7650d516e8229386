"""Time the reference sweeps from scratch, as a user runs them.

Runs ``conslaws sweep FILE --json`` in a fresh interpreter (so import time is
included) with 1 and 2 worker processes, and checks that every count matches
the file's expectation and is certified.  The files are in ``benchmarks/data``:
the random test sweeps of the reference notebooks (NeurIPS 2023: linear and
ReLU under gradient flow; ICML 2024: momentum and mirror flows).  A sweep whose
flow conslaws does not have yet is reported as such.

    python benchmarks/sweeps.py [--jobs 1 2] [--files NAME ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


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
    parser.add_argument("--files", nargs="+", default=sorted(p.name for p in DATA.glob("*.json")))
    args = parser.parse_args()
    print("| sweep | jobs | cases | matched | certified | wall (s) | reference (s, 64 cores) |")
    print("|---|---|---|---|---|---|---|")
    for name in args.files:
        file = DATA / name
        anchor = json.loads(file.read_text())["anchor_seconds"]
        for jobs in args.jobs:
            try:
                wall, cases, matched, certified = run(file, jobs)
            except SystemExit as failure:
                print(f"| {name} | {jobs} | - | - | - | not run: {str(failure).strip()[-80:]} "
                      f"| {anchor} |")
                continue
            print(f"| {name} | {jobs} | {cases} | {matched} | {certified} | {wall:.1f} "
                  f"| {anchor} |")


if __name__ == "__main__":
    main()
