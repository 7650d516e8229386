"""What a small count imports: the start-up budget of the command line.

``conslaws count linear --widths 2,2,2`` should start in about a third of a second, and
importing sympy alone takes about as long.  These tests pin the mechanism rather than
a time (timings belong in benchmarks/): a count printed as text never imports sympy,
its printers or tqdm, and its laws are built as sympy expressions only when read.
"""

from __future__ import annotations

import json
import subprocess
import sys

import sympy

from conslaws.core.engine.deferred_laws import DeferredLaws
from conslaws.core.frontends.api import count

HEAVY = ("sympy", "tqdm", "conslaws.core.frontends.export", "conslaws.core.frontends.simulate")


def _modules_after(argv: list[str]) -> tuple[dict[str, bool], str]:
    script = (
        "import contextlib, io, json, sys\n"
        "from conslaws.core.frontends.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    status = main({argv!r})\n"
        f"print(json.dumps({{m: m in sys.modules for m in {list(HEAVY)!r}}}))\n"
        "print(out.getvalue())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    first, _, rest = done.stdout.partition("\n")
    return json.loads(first), rest


def test_a_count_printed_as_text_imports_nothing_heavy() -> None:
    loaded, output = _modules_after(["count", "linear", "--widths", "2,2,2", "--seed", "0"])
    assert "3 conservation laws   [certified]" in output
    assert loaded == dict.fromkeys(HEAVY, False)


def test_json_output_builds_the_laws() -> None:
    loaded, output = _modules_after(["count", "linear", "--widths", "2,2,2", "--seed", "0",
                                     "--json"])
    assert loaded["sympy"]
    laws = json.loads(output)["verified_laws"]
    assert len(laws) == 3 and all(isinstance(h, str) for h in laws)


def test_verified_laws_are_built_on_first_reading() -> None:
    result = count("linear", widths=(2, 2, 2), seed=0)
    assert isinstance(result.verified_laws, DeferredLaws)
    assert not result.verified_laws.is_built
    assert len(result.verified_laws) == 3 and not result.verified_laws.is_built
    first = result.verified_laws[0]
    assert result.verified_laws.is_built and isinstance(first, sympy.Expr)
    # The laws are conserved by the symbolic gradient flow of one linear network,
    # read independently from the API's model (not from the engine's laws).
    symbols = sympy.symbols(result.parameter_names)
    (a, b, c, d, e, f, g, h) = symbols
    W1, W2 = sympy.Matrix([[a, b], [c, d]]), sympy.Matrix([[e, f], [g, h]])
    phi = list(W2 * W1)
    for law in result.verified_laws:
        gradient = [sympy.diff(law, s) for s in symbols]
        for component in phi:
            field = [sympy.diff(component, s) for s in symbols]
            assert sympy.expand(sum(x * y for x, y in zip(gradient, field, strict=True))) == 0


def test_deferred_laws_compare_and_pickle_as_lists() -> None:
    import pickle

    laws = DeferredLaws(2, lambda: [1, 2])
    assert laws == [1, 2] and laws != [2, 1] and list(reversed(laws)) == [2, 1]
    assert pickle.loads(pickle.dumps(laws)) == [1, 2]
    broken = DeferredLaws(3, lambda: [1])
    try:
        broken[0]
    except AssertionError as error:
        assert "1 laws built, 3 announced" in str(error)
    else:  # pragma: no cover
        raise AssertionError("a wrong length must not pass silently")
