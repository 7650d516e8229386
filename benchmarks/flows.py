"""Every flow on networks of about 10^3 and 10^4 parameters (probe engine).

    python benchmarks/flows.py            # every case
    python benchmarks/flows.py --quick    # the 10^3 cases only

Each case runs in a fresh interpreter, as in ``large.py`` (wall time includes
start-up; peak memory is that process's alone).  D in the table is the dimension of
the flow's space: 2D + 1 for the momentum flows, D + 1 for weight decay.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from large import run  # a sibling script, not a package

FLOWS = ["momentum --tau 1", "momentum --tau 0", "nesterov", "mirror", "mirror --mirror-layers 3",
         "weight-decay --decay 1", "mirror-momentum --tau 1"]
NETWORKS = ["relu --widths 20,20,20,10", "linear --widths 20,20,20,10"]
LARGE = "relu --widths 40,40,40,40,40,40,40,10"  # D = 10,000

CASES = [(f"{net} --flow {flow}", False) for net in NETWORKS for flow in FLOWS]
# At D = 10^4 the momentum flows live on 20,001 coordinates: about 4 minutes and 3 GB
# each, so --quick leaves every 10^4 case out.
CASES += [(f"{LARGE} --flow {flow}", True) for flow in FLOWS]

if __name__ == "__main__":
    run(CASES, "--quick" in sys.argv[1:])
