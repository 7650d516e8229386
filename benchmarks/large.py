"""Counts of larger networks (modular backend), with wall time and peak memory.

    python benchmarks/large.py            # every case
    python benchmarks/large.py --quick    # skip the 10,000-parameter network

Each case runs in a fresh interpreter (``conslaws count ... --json``), so the
wall time includes start-up and the peak memory is that case's alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

# (arguments of `conslaws count`, skipped by --quick)
CASES: list[tuple[str, bool]] = [
    ("relu --widths 9,9,8,8,8 --bias --engine fields", False),
    ("relu --widths 9,9,8,8,8 --bias", False),
    ("linear --widths 5,4,4,5,5", False),
    ("conv --channels 3,4,3 --kernels 3,3 --length 8", False),
    ("relu --widths 16,16,16,8", False),
    ("relu --widths 20,20,20,10", False),
    ("relu --widths 32,32,32,32,10 --bias", False),
    # The literature additions at D >= 1,000: activations, cross-entropy, average pooling.
    ("relu --widths 20,30,20,10 --bias --activation relu^2", False),
    ("relu --widths 20,30,20,10 --bias --activation leaky-relu", False),
    ("relu --widths 20,30,20,10 --bias --activation x^3", False),
    ("relu --widths 20,20,20,10 --loss cross-entropy", False),
    ("maxpool --input 30 --hidden 32 --pool 2 --output 10 --pooling avg", False),
    ("conv --dims 2 --channels 3,8,8,4 --kernels 3,3,3 --length 6 --bias", False),
    ("relu --widths 64,64,64,32,10 --bias", True),
]

RUNNER = """
import json, resource, sys
from conslaws.core.frontends.cli import count_from_arguments
result = count_from_arguments(["count", *sys.argv[1:]]).to_dict()
result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""

HEADER = ("| model | engine | D | laws | certified | closure (s) | law search (s) | wall (s) "
          "| peak memory (MB) |\n|---|---|---|---|---|---|---|---|---|")


def measure(args: str) -> tuple[dict[str, Any], float]:
    """``conslaws count ARGS --seed 0`` in a fresh interpreter: its JSON and wall time."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", RUNNER, *args.split(), "--seed", "0"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out), time.perf_counter() - start


def row(result: dict[str, Any], wall: float) -> str:
    """One table row of :data:`HEADER`."""
    timings = result["timings"]
    model = result["model"].replace(" | ", ", flow ")  # a flow's model name has a bar
    return (f"| {model} | {result['engine']} | {result['parameters']} | "
            f"{result['laws']} | {result['certified']} | {timings.get('closure', 0):.1f} | "
            f"{timings.get('law_search', 0):.1f} | {wall:.1f} | {result['peak_mb']:.0f} |")


def run(cases: Sequence[tuple[str, bool]], quick: bool) -> None:
    """Print the table for the cases (heavy ones skipped when ``quick``)."""
    print(HEADER)
    for args, heavy in cases:
        if not (heavy and quick):
            print(row(*measure(args)), flush=True)


if __name__ == "__main__":
    run(CASES, "--quick" in sys.argv[1:])
