"""Plots of discrete-training drift (matplotlib, an optional extra).

Examples
--------
>>> from conslaws.core.plotting import matplotlib_available
>>> isinstance(matplotlib_available(), bool)
True
"""

from __future__ import annotations

import math
from typing import Any

from conslaws.core.errors import ConslawsError

__all__ = ["matplotlib_available", "plot_simulation"]


def matplotlib_available() -> bool:
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot_simulation(result: Any, path: str) -> None:
    """Write a two-panel PNG: drift against steps, and final drift against step size.

    Raises
    ------
    ConslawsError
        matplotlib is not installed (``pip install 'conslaws[plot]'``).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConslawsError(
            "--plot needs matplotlib: pip install 'conslaws[plot]'"
        ) from None
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for lr in result.lrs:
        key = f"{lr:g}"
        steps = result.recorded[key][1:]
        left.plot(steps, [max(d, 1e-300) for d in result.drift[key][1:]],
                  label=f"law, step {lr:g}")
        left.plot(steps, [max(d, 1e-300) for d in result.control[key][1:]], linestyle=":",
                  color=left.lines[-1].get_color(), label=f"‖θ‖² (not a law), step {lr:g}")
    left.set_yscale("log")
    left.set_xlabel("step k")
    left.set_ylabel("|h(θ_k) − h(θ_0)|")
    left.set_title(f"{result.model}: {result.optimizer}")
    left.legend(fontsize=7)
    pairs = [(lr, result.final[f"{lr:g}"]) for lr in result.lrs if result.final[f"{lr:g}"] > 0]
    if pairs:
        right.loglog([p[0] for p in pairs], [p[1] for p in pairs], "o-", label="final drift")
        if not math.isnan(result.slope):
            anchor_lr, anchor = pairs[0]
            right.loglog([p[0] for p in pairs],
                         [anchor * (p[0] / anchor_lr) ** result.slope for p in pairs], "--",
                         label=f"fitted slope {result.slope:.2f}")
    regime = "fixed training time" if result.fixed_time is not None else "fixed number of steps"
    right.set_xlabel("step size")
    right.set_ylabel("drift of the laws at the end")
    right.set_title(f"drift against step size ({regime})")
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
