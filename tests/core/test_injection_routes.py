"""Every route by which a formula reaches conslaws refuses code and runs nothing.

The parser itself is tested in test_parsing.py; here the same injections go in
through the command line (``--phi``, ``--fields``, ``laws``, ``--point``, a sweep
file) and the Python API (``Model.from_phi``, ``Model.from_fields``,
``is_conserved``, ``count``, ``find_laws``), and each must end in a one-line
refusal with no file created.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from conslaws.core.engine.laws import is_conserved
from conslaws.core.errors import ConslawsError
from conslaws.core.frontends.api import count, find_laws
from conslaws.core.models.model import Model
from tests.cli_runner import run_cli

PAYLOADS = [
    "x*y + 0*__import__('os').system('touch {p}')",
    "__import__('pathlib').Path('{p}').touch()",
    "(lambda: __import__('pathlib').Path('{p}').touch())()",
    "[__import__('pathlib').Path('{p}').touch() for _ in '1']",
    "(y := __import__('pathlib').Path('{p}').touch())",
    "x.__class__.__base__.__subclasses__()",
]


def _cli_routes(text: str, tmp_path: Path) -> list[list[str]]:
    sweep = tmp_path / "cases.json"
    sweep.write_text(json.dumps({"cases": [{"args": ["custom", "--phi", text], "laws": 1}]}))
    return [
        ["count", "custom", "--phi", text],
        ["count", "custom", "--fields", f"{text}; x"],
        ["laws", "custom", "--phi", text, "--degree", "2"],
        ["count", "custom", "--phi", "x*y", "--point", f"{text},1"],
        ["sweep", str(sweep)],
    ]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_cli_routes_refuse_code(payload: str, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "pwned"
    for argv in _cli_routes(payload.format(p=target), tmp_path):
        status, out, err = run_cli(argv, capsys)
        assert not target.exists(), argv
        if argv[0] == "sweep":
            # A sweep records the failing case and goes on; it never runs the text.
            assert "error" in out.lower() or status == 2, (argv, out, err)
        else:
            assert status == 2, (argv, out, err)
            assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


API_ROUTES: list[Callable[[str], object]] = [
    lambda text: Model.from_phi(("x", "y"), [text]),
    lambda text: Model.from_fields(("x", "y"), [[text, "x"]]),
    lambda text: is_conserved(Model.from_phi(("x", "y"), ["x*y"]), text),
    lambda text: count("custom", phi=text),
    lambda text: find_laws("custom", 2, phi=text),
]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("route", range(len(API_ROUTES)))
def test_api_routes_refuse_code(payload: str, route: int, tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    with pytest.raises(ConslawsError):
        API_ROUTES[route](payload.format(p=target))
    assert not target.exists()
