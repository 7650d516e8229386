"""Counts of models given by φ (attention, custom φ at D of about 1,000), certified.

    python benchmarks/phi_models.py            # every case
    python benchmarks/phi_models.py --quick    # skip attention with d = 24, Nesterov
    python benchmarks/phi_models.py factorization:25,25,20:momentum   # one case

These models have no graph, so their certificate rests on the polynomial law
search (conslaws.core.engine.laws): each case runs ``conslaws.core.count`` in a
fresh interpreter, with wall time (start-up included) and peak memory.  The
custom φ are written out here, in the child, because they are too long for a
command line (the factorization's φ has 625 components of 20 terms each).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from large import HEADER, row

RUNNER = """
import json, resource, sys
import conslaws.core as cl
kind, sizes = sys.argv[1], [int(v) for v in sys.argv[2].split(",")]
flow = sys.argv[3]
if kind == "attention":
    result = cl.count("attention", dim=sizes[0], head_dim=sizes[1], flow=flow, seed=0)
elif kind == "chain":
    # phi_k = x_{2k-1} x_{2k} x_{2k+1}: cubic monomials sharing every other variable.
    n = sizes[0]
    phi = "; ".join(f"x{2*k-1}*x{2*k}*x{2*k+1}" for k in range(1, n + 1))
    params = ",".join(f"x{i}" for i in range(1, 2 * n + 2))
    result = cl.count("custom", phi=phi, params=params, flow=flow, seed=0)
else:
    # Matrix factorization phi = U V^T, U: m x r, V: n x r.
    m, n, r = sizes
    phi = "; ".join(" + ".join(f"U{i}_{k}*V{j}_{k}" for k in range(1, r + 1))
                    for i in range(1, m + 1) for j in range(1, n + 1))
    params = ",".join([f"U{i}_{k}" for i in range(1, m + 1) for k in range(1, r + 1)]
                      + [f"V{j}_{k}" for j in range(1, n + 1) for k in range(1, r + 1)])
    result = cl.count("custom", phi=phi, params=params, flow=flow, seed=0)
out = result.to_dict()
if kind != "attention":  # a flow's model name is "<model> | <flow>"
    out["model"] = " | ".join([f"{kind} {sys.argv[2]}", *out["model"].split(" | ")[1:]])
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""

# (kind, sizes, flow, skipped by --quick)
CASES: list[tuple[str, str, str, bool]] = [
    ("attention", "8,8", "gradient", False),
    ("attention", "16,16", "gradient", False),
    ("attention", "24,24", "gradient", True),
    ("chain", "500", "gradient", False),          # D = 1,001
    ("factorization", "25,25,20", "gradient", False),  # D = 1,000
    # Momentum-type flows: laws lifted from the rotations of phi (2D + 1 coordinates);
    # weight decay: from the gradient flow's laws (D + 1 coordinates).
    ("attention", "16,16", "momentum", False),
    ("attention", "16,16", "nesterov", True),
    ("factorization", "25,25,20", "momentum", False),
    ("factorization", "25,25,20", "weight-decay", False),
]


def measure(kind: str, sizes: str, flow: str) -> tuple[dict[str, Any], float]:
    """One case in a fresh interpreter: its JSON and wall time."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", RUNNER, kind, sizes, flow], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out), time.perf_counter() - start


if __name__ == "__main__":
    quick = "--quick" in sys.argv[1:]
    print(HEADER)
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    for kind, sizes, flow, heavy in CASES:
        if only and f"{kind}:{sizes}:{flow}" not in only:
            continue
        if not (heavy and quick):
            print(row(*measure(kind, sizes, flow)), flush=True)
