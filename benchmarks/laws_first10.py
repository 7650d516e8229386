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
from pathlib import Path

import conslaws.core as cl
from conslaws.core.cli import build_parser

DEFAULT_BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"


def options_of(args: list[str]) -> tuple[str, dict[str, object]]:
    namespace = build_parser().parse_args(["laws", *args, "--degree", "2"])
    options = {key[5:]: value for key, value in vars(namespace).items()
               if key.startswith("arch_") and value not in (None, False)}
    return namespace.architecture, options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    args = parser.parse_args()
    print("| sweep | cases | laws found | all complete | wall (s) |")
    print("|---|---|---|---|---|")
    for name in ("anchor-linear.json", "anchor-relu.json"):
        cases = json.loads((args.bench / name).read_text())["cases"][:10]
        start = time.perf_counter()
        found, complete = 0, True
        for i, case in enumerate(cases):
            arch, options = options_of(case["args"])
            result = cl.find_laws(arch, 2, seed=i, **options)
            found += len(result.laws)
            complete &= result.complete and result.independent == case["laws"]
        wall = time.perf_counter() - start
        print(f"| {name} | {len(cases)} | {found} | {complete} | {wall:.1f} |")


if __name__ == "__main__":
    main()
