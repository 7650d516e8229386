"""Start-up of the command line: a small count in a fresh interpreter, wall time.

    python benchmarks/startup.py [--runs 11]

Each run is ``conslaws count linear --widths 2,2,2 --seed 0`` in a new process, so the
time is the interpreter, the imports and the count together.  Beside it, the floor:
a process that only imports the libraries a graph count needs (numpy, python-flint,
networkx), and the same with sympy, which the count no longer imports.

Python reads compiled modules from ``__pycache__``; with PYTHONDONTWRITEBYTECODE set
(or a read-only checkout) every module is compiled from source on every run, which
adds about 0.1 s.  The script runs each command once before timing, with that variable
removed, so the caches exist.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "conslaws count linear --widths 2,2,2": None,
    "import numpy, flint, networkx (the floor)": "import numpy, flint, networkx",
    "... and sympy": "import numpy, flint, networkx, sympy",
}


def _argv(label: str, code: str | None) -> list[str]:
    if code is not None:
        return [sys.executable, "-c", code]
    program = shutil.which("conslaws")
    if program is None:
        return [sys.executable, "-m", "conslaws.core", *label.split()[1:], "--seed", "0"]
    return [program, *label.split()[1:], "--seed", "0"]


def _time(argv: list[str], runs: int, env: dict[str, str]) -> list[float]:
    subprocess.run(argv, check=True, capture_output=True, env=env)  # writes the caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=11, help="timed runs per command")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    print("| command | min | median | runs |\n|---|---|---|---|")
    for label, code in COMMANDS.items():
        times = _time(_argv(label, code), args.runs, env)
        print(f"| {label} | {min(times):.2f} s | {statistics.median(times):.2f} s "
              f"| {args.runs} |")


if __name__ == "__main__":
    main()
