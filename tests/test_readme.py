"""The README and docs/ cannot go stale: their examples run, their links resolve.

* Every ``$ conslaws ...`` line of a ```console block of README.md is run
  in-process (``run_cli``) from the repository root and must exit with status
  0.  The lines shown under it are the expected output, compared as doctest
  compares (``ELLIPSIS | NORMALIZE_WHITESPACE``): ``...`` stands for any text,
  including whole lines, so a README shows what matters and elides times.
  Every example passes ``--seed``, so the output is deterministic.  A
  ``--plot FILE`` is redirected to a temporary folder.
* Every ```python block runs: as a doctest when it has ``>>>`` prompts
  (outputs checked), otherwise executed in a fresh namespace.
* Every relative link of README.md and docs/*.md points to an existing file
  (and, with ``#anchor``, to an existing heading of it); no tracked file
  mentions the steering folder outside the repository.
* docs/cli.md's tables of JSON fields name exactly the fields the program
  prints, and docs/theory.md has every section the code cites.

Expected values come from the documents, never from the code under test: a
change of output makes the README (or cli.md) wrong, and this test says where.
"""

from __future__ import annotations

import doctest
import json
import re
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_runner import run_cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MARKDOWN = [README, *sorted(DOCS.glob("*.md"))]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@dataclass(frozen=True)
class Block:
    """One fenced code block: its file, language, first line number and text."""

    path: Path
    language: str
    line: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"


def fenced_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file (```lang ... ```), in order."""
    blocks: list[Block] = []
    language: str | None = None
    start = 0
    body: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if language is None:
            opening = re.match(r"```\s*([\w+-]*)", line)
            if opening:
                language, start, body = opening.group(1), number + 1, []
        elif line.startswith("```"):
            blocks.append(Block(path, language, start, "\n".join(body) + "\n"))
            language = None
        else:
            body.append(line)
    assert language is None, f"{path.name}: a code block opened at line {start - 1} never closes"
    return blocks


@dataclass(frozen=True)
class Example:
    """One ``$ command`` of a console block and the output shown under it."""

    where: str
    command: str
    expected: str


def console_examples(path: Path) -> list[Example]:
    examples: list[Example] = []
    for block in fenced_blocks(path):
        if block.language != "console":
            continue
        current: list[str] | None = None
        command, where = "", ""
        for offset, text in enumerate(block.text.splitlines()):
            if text.startswith("$ "):
                if current is not None:
                    examples.append(Example(where, command, _joined(current)))
                command, current = text[2:], []
                where = f"{path.relative_to(ROOT).as_posix()}:{block.line + offset}"
            elif current is None:
                raise AssertionError(f"{path.name}:{block.line + offset}: console output "
                                     "before any '$ ' command")
            else:
                current.append(text)
        if current is not None:
            examples.append(Example(where, command, _joined(current)))
    return examples


def _joined(lines: list[str]) -> str:
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


README_EXAMPLES = console_examples(README)
EXAMPLES = [e for path in MARKDOWN for e in console_examples(path)]
BLOCKS = [b for path in MARKDOWN for b in fenced_blocks(path)]
PYTHON_BLOCKS = [b for b in BLOCKS if b.language == "python"]


def test_the_readme_has_examples_of_every_kind() -> None:
    commands = {shlex.split(e.command, comments=True)[1] for e in README_EXAMPLES}
    assert {"count", "laws", "list", "sweep", "simulate"} <= commands
    readme_python = [b for b in PYTHON_BLOCKS if b.path == README]
    assert any(">>>" in b.text for b in readme_python)
    assert any(">>>" not in b.text for b in readme_python)


def test_the_readme_starts_with_the_install_and_test_commands() -> None:
    first = fenced_blocks(README)[0]
    assert first.text.splitlines() == [
        "pip install . && conslaws count relu --widths 3,4,2 --bias",
        "pip install -e '.[test]' && pytest",
    ]


@pytest.mark.parametrize("example", EXAMPLES,
                         ids=[f"{e.where}:{e.command.split('#')[0].strip()}" for e in EXAMPLES])
def test_readme_console_example(example: Example, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    words = shlex.split(example.command, comments=True)
    assert words[0] == "conslaws", (
        f"{example.where}: only conslaws commands belong in console blocks")
    argv = words[1:]
    if "--plot" in argv:  # never write into the repository
        at = argv.index("--plot") + 1
        argv[at] = str(tmp_path / Path(argv[at]).name)
    assert "--seed" in argv or argv[0] == "list", (
        f"{example.where}: give a --seed so the output shown is reproducible")
    monkeypatch.chdir(ROOT)
    status, out, err = run_cli(argv, capsys)
    assert status == 0, f"{example.where}: status {status}: {err.strip()}"
    if example.expected:
        checker = doctest.OutputChecker()
        assert checker.check_output(example.expected, out, FLAGS), (
            f"{example.where}: the output shown is not the output printed\n"
            + checker.output_difference(doctest.Example("", example.expected), out, FLAGS))


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[b.where for b in PYTHON_BLOCKS])
def test_readme_python_block(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    name = block.where
    if ">>>" in block.text:
        test = doctest.DocTestParser().get_doctest(block.text, {}, name, str(block.path),
                                                   block.line - 1)
        report: list[str] = []
        runner = doctest.DocTestRunner(optionflags=FLAGS)
        result = runner.run(test, out=report.append)
        assert result.failed == 0, "".join(report)
    else:
        exec(compile(block.text, name, "exec"), {"__name__": "readme_example"})


JSON_BLOCKS = [b for b in BLOCKS if b.language == "json"]


@pytest.mark.parametrize("block", JSON_BLOCKS, ids=[b.where for b in JSON_BLOCKS])
def test_json_blocks_parse(block: Block, tmp_path: Path) -> None:
    document = json.loads(block.text)
    if isinstance(document, dict) and "cases" in document:  # a sweep file: loadable as one
        from conslaws.core.frontends.sweep import load_cases

        (tmp_path / "cases.json").write_text(block.text)
        assert len(load_cases(tmp_path / "cases.json")) == len(document["cases"])


# -- links and references ------------------------------------------------------------

def _slug(heading: str) -> str:
    """The anchor GitHub (and myst's heading anchors) give a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", text, re.MULTILINE)}


def _links(path: Path) -> Iterator[tuple[int, str]]:
    """(line, target) of every Markdown link outside code and math."""
    def blank(match: re.Match[str]) -> str:  # keep the line numbers
        return "\n" * match.group().count("\n")

    prose = re.sub(r"^```.*?^```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$", blank,
                   path.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    for match in re.finditer(r"\]\(([^)\s]+)\)", prose):
        yield prose.count("\n", 0, match.start()) + 1, match.group(1)


@pytest.mark.parametrize("path", MARKDOWN, ids=[p.relative_to(ROOT).as_posix() for p in MARKDOWN])
def test_relative_links_resolve(path: Path) -> None:
    broken = []
    for number, target in _links(path):
        if re.match(r"[a-z]+:", target):
            continue  # http:, https:, mailto:
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{path.name}:{number}: {target} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{path.name}:{number}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def _tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                                check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in listed if name]


def test_no_tracked_file_refers_outside_the_repository() -> None:
    # Spelled in two pieces so that this file does not match itself.
    forbidden = (".." + "/shared", "/work" + "/shared")
    offending = []
    for path in _tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary files (the plot) or a file deleted in the work tree
        for number, line in enumerate(text.splitlines(), 1):
            if any(word in line for word in forbidden):
                offending.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offending, "\n".join(offending)


def test_theory_has_every_section_the_code_cites() -> None:
    headings = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ",
                              (DOCS / "theory.md").read_text(encoding="utf-8"), re.MULTILINE))
    cited: dict[str, str] = {}
    for path in _tracked_files():
        if path.suffix != ".py" or not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"theory\.md,?\s+(?:sections?\s+)?(\d+(?:\.\d+)?)"
                                 r"(?:\s+and\s+(\d+(?:\.\d+)?))?", text):
            for number in filter(None, match.groups()):
                cited.setdefault(number, str(path.relative_to(ROOT)))
    missing = {n: where for n, where in cited.items() if n not in headings}
    assert cited and not missing, f"sections cited but absent from docs/theory.md: {missing}"


# -- docs/cli.md's JSON tables against the program ------------------------------------

def _documented_fields(heading: str) -> set[str]:
    """Field names of the tables under ``heading`` in docs/cli.md, up to the next heading."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    start = text.index(heading + "\n")
    section = re.split(r"^#{2,3} ", text[start + len(heading):], maxsplit=1,
                       flags=re.MULTILINE)[0]
    return set(re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE))


def _json_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    status, out, err = run_cli(argv, capsys)
    assert status == 0, err
    document: dict[str, object] = json.loads(out)
    return document


def test_cli_md_documents_every_count_field(capsys: pytest.CaptureFixture[str]) -> None:
    documented = _documented_fields("## JSON of `conslaws count`")
    phi = _json_of(["count", "relu", "--widths", "2,2,1", "--seed", "1", "--json"], capsys)
    data = _json_of(["count", "relu", "--widths", "1,2,1", "--mode", "data", "--seed", "1",
                     "--json"], capsys)
    assert set(phi) == documented - {"data_samples", "activation_patterns"}
    assert set(data) == documented


def test_cli_md_documents_every_laws_field(capsys: pytest.CaptureFixture[str]) -> None:
    document = _json_of(["laws", "custom", "--phi", "u*v", "--degree", "2", "--seed", "1",
                         "--json"], capsys)
    assert set(document) == _documented_fields("## JSON of `conslaws laws`")


def test_cli_md_documents_every_sweep_field(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps({"cases": [{"args": ["relu", "--widths", "2,2,1"], "laws": 2}]}))
    document = _json_of(["sweep", str(cases), "--seed", "1", "--json"], capsys)
    assert set(document) == _documented_fields("### JSON of `conslaws sweep`")
    results = document["results"]
    assert isinstance(results, list)
    # A case carries the count's fields, plus its arguments and the comparison.
    assert set(results[0]) == _documented_fields("## JSON of `conslaws count`") - {
        "data_samples", "activation_patterns"} | {"args", "expected", "matches"}


def test_cli_md_documents_every_simulate_field(capsys: pytest.CaptureFixture[str]) -> None:
    document = _json_of(["simulate", "linear", "--widths", "2,1", "--steps", "2", "--lr",
                         "0.01,0.005", "--seed", "1", "--json"], capsys)
    assert set(document) == _documented_fields("### JSON of `conslaws simulate`")
