"""The command line under bad conditions: closed pipes, Ctrl-C, unexpected errors, --version,
--help, and the seeds it draws.

Expectations are independent of the code under test: the version comes from the installed
package's metadata, exit statuses from the documented conventions (2 bad input, 130 = 128 +
SIGINT, 141 = 128 + SIGPIPE), defaults from the signatures of the library functions, and
reproductions from re-running with the seed that was printed.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_cli

import conslaws.core.frontends.api as api
from conslaws.core.errors import InvalidOptionError, InvalidPointError
from conslaws.core.frontends.cli import error_message
from conslaws.core.frontends.simulate import simulate


def python_cli(*argv: str, **options: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conslaws.core", *argv], text=True,
                          timeout=120, check=False, **options)


def one_error_line(status: int, out: str, err: str, expected_status: int = 2) -> str:
    assert status == expected_status, err
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


# --------------------------------------------------------------------------- --version


def test_version_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(["--version"], capsys)
    assert (status, out, err) == (0, f"conslaws {version('conslaws')}\n", "")


def test_version_in_a_subprocess(tmp_path: Path) -> None:
    # Outside the source tree, whose build metadata (conslaws.egg-info) may be newer than
    # the installed package's that this process reads.
    process = python_cli("--version", capture_output=True, cwd=tmp_path)
    assert process.returncode == 0
    assert process.stdout == f"conslaws {version('conslaws')}\n"
    assert process.stderr == ""


# --------------------------------------------------------------------------- broken pipes


@pytest.mark.parametrize("argv", [
    ["list"],
    ["count", "custom", "--phi", "u*v", "--seed", "1"],
    ["count", "custom", "--phi", "u*v", "--seed", "1", "--json"],
    ["laws", "custom", "--phi", "u*v", "--degree", "2", "--seed", "1"],
    ["count", "relu", "--help"],
    ["--version"],
], ids=" ".join)
def test_a_closed_pipe_ends_quietly(argv: list[str]) -> None:
    # A pipe whose reader is gone: every write fails with EPIPE, as after `| head -c1`.
    reader, writer = os.pipe()
    os.close(reader)
    try:
        process = python_cli(*argv, stdout=writer, stderr=subprocess.PIPE)
    finally:
        os.close(writer)
    assert process.stderr == ""
    # argparse swallows write errors of --help and --version itself: those exit 0.
    assert process.returncode in ((0,) if "--help" in argv or "--version" in argv else (141,))


def test_head_in_a_shell_pipeline() -> None:
    command = f"{shlex.quote(sys.executable)} -m conslaws.core list | head -c1"
    for _ in range(3):  # the race (reader gone before or after the write) both ways
        process = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                                 timeout=120, check=False)
        assert process.returncode == 0
        assert process.stdout == "a"  # "architectures:"
        assert process.stderr == ""


# --------------------------------------------------------------------------- Ctrl-C, bugs


def _raise(error: BaseException) -> Any:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error

    return fail


def test_keyboard_interrupt_is_one_line_and_status_130(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(api, "count", _raise(KeyboardInterrupt()))
    line = one_error_line(*run_cli(["count", "relu", "--widths", "2,3,1"], capsys),
                          expected_status=130)
    assert line == "conslaws: interrupted"


@pytest.mark.parametrize("error", [RuntimeError("boom\nsecond line"), ZeroDivisionError(),
                                   RecursionError("maximum recursion depth exceeded"),
                                   MemoryError()], ids=lambda e: type(e).__name__)
def test_an_unexpected_exception_is_one_line_without_traceback(
        error: Exception, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("CONSLAWS_DEBUG", raising=False)
    monkeypatch.setattr(api, "count", _raise(error))
    line = one_error_line(*run_cli(["count", "relu", "--widths", "2,3,1"], capsys),
                          expected_status=1)
    assert line.startswith("conslaws: ")
    if not isinstance(error, MemoryError):
        assert type(error).__name__ in line


def test_debug_variable_shows_the_traceback(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CONSLAWS_DEBUG", "1")
    monkeypatch.setattr(api, "count", _raise(RuntimeError("boom")))
    status, _, err = run_cli(["count", "relu", "--widths", "2,3,1"], capsys)
    assert status == 1
    assert "Traceback" in err and err.rstrip().splitlines()[-1].startswith("conslaws: internal")


# --------------------------------------------------------------------------- flags in errors


def test_library_argument_names_become_flags(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(api, "count", _raise(InvalidOptionError(
        "certify_degree must be at least 0, got -1", argument="certify_degree")))
    line = one_error_line(*run_cli(["count", "relu", "--widths", "2,3,1"], capsys))
    assert line == "conslaws: error: --certify-degree must be at least 0, got -1"


@pytest.mark.parametrize(("message", "argument", "shown"), [
    ("fixed_time must be positive", "fixed_time", "--fixed-time must be positive"),
    ("tau must be finite", "tau", "--tau must be finite"),
    ("seed must be non-negative", "seed", "--seed must be non-negative"),
    ("plot: folder 'x' does not exist", "plot", "--plot: folder 'x' does not exist"),
    ("lrs: step sizes must lie in (0, 1)", "lrs", "--lr: step sizes must lie in (0, 1)"),
    ("seeds must differ", "seed", "seeds must differ"),  # another word: left alone
    ("--widths: width 0", "widths", "--widths: width 0"),  # already a flag
    ("point has 3\nvalues", None, "point has 3 values"),  # one line
])
def test_error_message(message: str, argument: str | None, shown: str) -> None:
    assert error_message(InvalidPointError(message, argument=argument)) == shown


# --------------------------------------------------------------------------- seeds


SEEDED = re.compile(r"seed (\d+)")


@pytest.mark.parametrize("command", [
    ["count", "custom", "--phi", "u*v1; u*v2", "--point", "1,2,3/2"],
    ["laws", "custom", "--phi", "u*v1; u*v2", "--point", "1,2,3/2", "--degree", "2"],
], ids=["count", "laws"])
def test_a_point_without_seed_draws_one_and_reports_it(
        command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli([*command, "--json"], capsys)
    assert status == 0, err
    document = json.loads(out)
    seed = document["seed"]
    assert isinstance(seed, int) and not isinstance(seed, bool)
    again = json.loads(run_cli([*command, "--json", "--seed", str(seed)], capsys)[1])
    volatile = {"seconds", "timings"}
    assert {k: v for k, v in again.items() if k not in volatile} == {
        k: v for k, v in document.items() if k not in volatile}
    status, out, _ = run_cli(command, capsys)
    assert status == 0
    assert SEEDED.search(out), out


def test_count_text_prints_the_seed_it_drew(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(["count", "relu", "--widths", "2,3,1"], capsys)
    assert status == 0
    (seed,) = SEEDED.findall(out)
    status, again, _ = run_cli(["count", "relu", "--widths", "2,3,1", "--seed", seed], capsys)
    assert status == 0
    assert again.splitlines()[:-1] == out.splitlines()[:-1]  # all but the time


# --------------------------------------------------------------------------- --help


def _help(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> str:
    """``--help`` output, with long lines (argparse wraps at $COLUMNS, even at a hyphen)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", "1000")
        status, out, err = run_cli([*argv, "--help"], capsys)
    assert (status, err) == (0, "")
    return out


def _examples(text: str) -> list[list[str]]:
    block = text.split("examples:\n", 1)[1].split("\n\n", 1)[0]
    commands = []
    for line in block.splitlines():
        # Stop at the explanation: "   4 laws, one per hidden neuron".
        parts = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        words = shlex.split(parts[0])
        assert words[0] == "conslaws", line
        commands.append(words[1:])
    return commands


def test_top_level_help_explains_the_terms_once(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help([], capsys)
    for term in ("certified", "Lie dimension", "trace"):
        assert re.search(rf"^  {term} ", text, flags=re.MULTILINE), term
    for command in ("count", "laws", "simulate", "sweep", "list"):
        assert command in text
    assert "--version" in text


@pytest.mark.parametrize("command", [["count"], ["laws"], ["simulate"], ["count", "relu"],
                                     ["laws", "linear"], ["simulate", "linear"]], ids=" ".join)
def test_help_has_two_to_four_examples(command: list[str],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    examples = _examples(_help(command, capsys))
    assert 2 <= len(examples) <= 4
    assert all(example[0] == command[0] for example in examples)


@pytest.mark.parametrize("command", ["count", "laws", "simulate"])
def test_help_examples_run(command: str, capsys: pytest.CaptureFixture[str],
                           tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # simulate's example writes a plot here
    for example in _examples(_help([command], capsys)):
        if "--plot" in example:
            pytest.importorskip("matplotlib")
        status, out, err = run_cli([*example, "--seed", "1"] if "--seed" not in example
                                   else example, capsys)
        assert status == 0, (example, err)
        assert out


def test_simulate_help_shows_the_real_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    text = " ".join(_help(["simulate", "linear"], capsys).split())
    defaults = {name: p.default for name, p in inspect.signature(simulate).parameters.items()}
    assert f"(default {defaults['steps']}:" in text
    assert f"(default {','.join(f'{lr:g}' for lr in defaults['lrs'])})" in text
    assert f"(default {defaults['samples']})" in text
    assert f"(default {defaults['batch']})" in text
    assert f"(default {defaults['tau']:g})" in text
    assert f"default {defaults['optimizer']}" in text


def test_count_help_shows_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    from conslaws.backends.modular import DEFAULT_MODULUS
    from conslaws.core.plugins.registry import flows

    text = " ".join(_help(["count", "relu"], capsys).split())
    assert "default modular" in text or "(default," in text
    assert DEFAULT_MODULUS == 2**61 - 1 and "default 2**61 - 1" in text
    for name in flows.names():
        assert f"{name} {flows.load(name).certify_degree}" in text
    assert "default gradient" in text
    assert "(default 1)" in text  # --tau and --decay: Fraction(1)


def test_simulate_lists_only_the_architectures_it_can_run(
        capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["simulate"], capsys)
    listed = re.findall(r"^    ([a-z-]+)  ", text.split("ARCH\n", 1)[1], flags=re.MULTILINE)
    # The graph-built architectures: theory.md section 4 trains exactly these.
    assert set(listed) == {"linear", "relu", "conv", "resnet", "maxpool"}
    line = one_error_line(*run_cli(["simulate", "custom", "--phi", "u*v"], capsys))
    assert "'custom'" in line and "'linear'" in line and "'attention'" not in line


@pytest.mark.parametrize("modulus", ["91", "2"])
def test_a_bad_modulus_names_the_flag(modulus: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(["count", "relu", "--widths", "2,2,1", "--modulus", modulus],
                               capsys)
    assert (status, out) == (2, "") and err.count("\n") == 1 and "--modulus" in err
