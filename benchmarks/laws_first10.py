"""Degree-2 polynomial laws for the first 10 cases of each reference sweep.

For each case: ``find_laws(..., degree=2)``, which also runs the Lie closure so
that ``complete`` (the laws account for every law) is decided.  Prints the wall
time of each set of 10 and whether every case came out complete.

    python benchmarks/laws_first10.py [--bench DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import conslaws.core as cl
from conslaws.core.frontends.cli import build_parser

DEFAULT_BENCH = Path(__file__).resolve().parent / "data"


def options_of(args: list[str]) -> tuple[str, dict[str, object]]:
    namespace = build_parser().parse_args(["laws", *args, "--degree", "2"])
    options = {key[5:]: value for key, value in vars(namespace).items()
               if key.startswith("arch_") and value not in (None, False)}
    return namespace.architecture, options


def laws_of(job: tuple[int, list[str], int]) -> tuple[int, bool]:
    """Degree-2 laws of one case: (number found, complete with the expected count)."""
    seed, args, expected = job
    arch, options = options_of(args)
    result = cl.find_laws(arch, 2, seed=seed, **options)
    return len(result.laws), result.complete and result.independent == expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print("| sweep | cases | jobs | laws found | all complete | wall (s) |")
    print("|---|---|---|---|---|---|")
    for name in ("anchor-linear.json", "anchor-relu.json"):
        cases = json.loads((args.bench / name).read_text())["cases"][:10]
        work = [(i, c["args"], c["laws"]) for i, c in enumerate(cases)]
        for jobs in args.jobs:
            start = time.perf_counter()
            if jobs == 1:
                outcomes = [laws_of(job) for job in work]
            else:
                with ProcessPoolExecutor(jobs) as pool:
                    outcomes = list(pool.map(laws_of, work))
            wall = time.perf_counter() - start
            found = sum(n for n, _ in outcomes)
            complete = all(ok for _, ok in outcomes)
            print(f"| {name} | {len(cases)} | {jobs} | {found} | {complete} | {wall:.1f} |")


if __name__ == "__main__":
    main()
