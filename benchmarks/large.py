"""Counts of larger networks (modular backend), with wall time and peak memory.

    python benchmarks/large.py
"""

from __future__ import annotations

import resource
import time

import conslaws.core as cl

CASES = [
    ("relu", {"widths": (9, 9, 8, 8, 8), "bias": True}),
    ("relu", {"widths": (8, 8, 8, 9, 9), "bias": True}),
    ("linear", {"widths": (5, 4, 4, 5, 5)}),
    ("conv", {"channels": (3, 4, 3), "kernels": (3, 3), "length": 8}),
    ("relu", {"widths": (16, 16, 16, 8)}),
]


def main() -> None:
    print("| model | D | laws | certified | closure (s) | law search (s) | wall (s) |")
    print("|---|---|---|---|---|---|---|")
    for arch, options in CASES:
        start = time.perf_counter()
        result = cl.count(arch, seed=0, **options)
        wall = time.perf_counter() - start
        print(f"| {result.model} | {result.parameters} | {result.laws} | {result.certified} | "
              f"{result.timings.get('closure', 0):.1f} | {result.timings.get('law_search', 0):.1f}"
              f" | {wall:.1f} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory: {peak:.0f} MB")


if __name__ == "__main__":
    main()
