"""Run the command line in-process for tests: ``run_cli(argv, capsys)``."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from conslaws.core.frontends.cli import main

__all__ = ["run_cli"]


def run_cli(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``main(argv)`` in-process: (exit status, stdout, stderr).

    argparse raises SystemExit on usage errors and ``--help``; its code is
    returned like ``main``'s own status.
    """
    try:
        status = main(list(argv))
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err
