"""Plots of discrete-training drift (matplotlib, an optional extra).

:func:`plot_target` checks a file name before any training runs (matplotlib
installed, a format it writes, an existing folder), so that a bad ``plot``
fails at once rather than after minutes of training.

Examples
--------
>>> from conslaws.core.frontends.plotting import matplotlib_available, plot_target
>>> isinstance(matplotlib_available(), bool)
True
>>> plot_target("drift.SVG"), plot_target("drift")   # nothing is written
(('drift.SVG', 'svg'), ('drift', 'png'))
>>> plot_target("drift.xyz")
Traceback (most recent call last):
    ...
conslaws.core.errors.InvalidOptionError: plot: 'drift.xyz': matplotlib cannot write .xyz files ...
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from conslaws.core.errors import ConslawsError, InvalidOptionError

__all__ = ["matplotlib_available", "plot_formats", "plot_simulation", "plot_target"]

#: The format of a file name without an extension (written under exactly that name).
DEFAULT_FORMAT = "png"


def matplotlib_available() -> bool:
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _pyplot() -> Any:
    """matplotlib.pyplot on the file-only Agg backend, or a ConslawsError naming the extra."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConslawsError("plot needs matplotlib: pip install 'conslaws[plot]'",
                            argument="plot") from None
    return plt


def plot_formats() -> list[str]:
    """The file formats matplotlib can write here (``png``, ``pdf``, ``svg``, ...)."""
    _pyplot()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return sorted(FigureCanvasAgg.get_supported_filetypes())


def plot_target(path: str | os.PathLike[str]) -> tuple[str, str]:
    """Check a plot file name; return it with the format to write.

    The format is the extension's (in any case); a name without an extension
    is written as PNG under exactly that name (matplotlib would append
    ``.png``).

    Raises
    ------
    InvalidOptionError
        The extension is not a format matplotlib writes, the folder does not
        exist or cannot be written, or the name is a folder.
    ConslawsError
        matplotlib is not installed.
    """
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)) or not str(path):
        raise InvalidOptionError(f"plot must be a file name, got {path!r}", argument="plot")
    name = str(path)
    target = Path(name)
    suffix = target.suffix[1:].lower()
    formats = plot_formats()
    if suffix and suffix not in formats:
        raise InvalidOptionError(
            f"plot: {name!r}: matplotlib cannot write .{suffix} files "
            f"(formats: {', '.join(formats)})", argument="plot")
    if target.is_dir():
        raise InvalidOptionError(f"plot: {name!r} is a folder, not a file name",
                                 argument="plot")
    folder = target.parent
    if not folder.is_dir():
        raise InvalidOptionError(f"plot: folder {str(folder)!r} does not exist",
                                 argument="plot")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidOptionError(f"plot: cannot write to folder {str(folder)!r}",
                                 argument="plot")
    return name, suffix or DEFAULT_FORMAT


def _shown(values: list[float]) -> list[float]:
    """Drifts for a log axis: zeros lifted to 1e-300, non-finite ones left as gaps."""
    return [max(d, 1e-300) if math.isfinite(d) else math.nan for d in values]


def plot_simulation(result: Any, path: str, file_format: str | None = None) -> None:
    """Write two panels: drift against steps, and final drift against step size.

    ``file_format`` defaults to the one :func:`plot_target` gives ``path``;
    the file is written under exactly ``path``.

    Raises
    ------
    ConslawsError
        matplotlib is not installed (``pip install 'conslaws[plot]'``), or the
        file cannot be written.
    """
    plt = _pyplot()
    if file_format is None:
        path, file_format = plot_target(path)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for lr in result.lrs:
        key = f"{lr:g}"
        steps = result.recorded[key][1:]
        left.plot(steps, _shown(result.drift[key][1:]), label=f"law, step {lr:g}")
        left.plot(steps, _shown(result.control[key][1:]), linestyle=":",
                  color=left.lines[-1].get_color(), label=f"‖θ‖² (not a law), step {lr:g}")
    left.set_yscale("log")
    left.set_xlabel("step k")
    left.set_ylabel("|h(θ_k) − h(θ_0)|")
    left.set_title(f"{result.model}: {result.optimizer}")
    left.legend(fontsize=7)
    pairs = [(lr, result.final[f"{lr:g}"]) for lr in result.lrs
             if math.isfinite(result.final[f"{lr:g}"]) and result.final[f"{lr:g}"] > 0]
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
    try:
        # An explicit format: matplotlib then writes exactly ``path``.
        figure.savefig(path, dpi=110, format=file_format)
    except OSError as error:
        raise ConslawsError(f"plot: cannot write {path!r}: {error.strerror or error}",
                            argument="plot") from None
    except (RuntimeError, ValueError) as error:  # e.g. pgf without a LaTeX installation
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConslawsError(f"plot: matplotlib could not write {path!r}: {first}",
                            argument="plot") from None
    finally:
        plt.close(figure)
