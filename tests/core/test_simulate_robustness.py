"""``simulate`` under bad input and divergence.

* Bad arguments are refused in their API names (``fixed_time``, ``tau``, ``seed``, ``plot``,
  ``lrs``) by the library and in flags by the CLI, before anything is built or trained: the
  tests make building, the law search and the gradient fail if they are reached.
* Divergence: a gradient made infinite at a chosen step must be reported at exactly that
  step, with ``null`` (never NaN) in strict JSON; genuinely large step sizes must give the
  same kind of report.
* Plots: the file written is exactly the name given, in the format of its extension
  (checked by the files' magic bytes).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from cli_runner import run_cli

import conslaws.core.frontends.api as api
from conslaws.core.errors import ConslawsError, InvalidOptionError
from conslaws.core.frontends.simulate import simulate
from conslaws.core.models.numeric import GraphNetwork

SMALL: dict[str, Any] = {"widths": (2, 2, 1), "steps": 4, "lrs": (0.01, 0.005), "seed": 0}


def strict(text: str) -> Any:
    def reject(constant: str) -> Any:
        raise AssertionError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=reject)


@pytest.fixture
def nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a model is built, laws are sought or a gradient is taken."""
    def reached(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("reached: the bad argument must be refused first")

    monkeypatch.setattr(api, "build_model", reached)
    monkeypatch.setattr(api, "find_laws", reached)
    monkeypatch.setattr(GraphNetwork, "loss_and_gradient", reached)


BAD_API: dict[str, tuple[str, dict[str, Any]]] = {
    "fixed_time nan": ("fixed_time", {"fixed_time": math.nan}),
    "fixed_time inf": ("fixed_time", {"fixed_time": math.inf}),
    "fixed_time -1": ("fixed_time", {"fixed_time": -1.0}),
    "fixed_time 0": ("fixed_time", {"fixed_time": 0.0}),
    "fixed_time too long": ("fixed_time", {"fixed_time": 1e300}),
    "fixed_time text": ("fixed_time", {"fixed_time": "1"}),
    "tau nan": ("tau", {"tau": math.nan, "optimizer": "momentum"}),
    "tau inf": ("tau", {"tau": math.inf, "optimizer": "momentum"}),
    "tau -1": ("tau", {"tau": -1.0, "optimizer": "momentum"}),
    "seed -1": ("seed", {"seed": -1}),
    "seed 1.5": ("seed", {"seed": 1.5}),
    "seed True": ("seed", {"seed": True}),
    "lr nan": ("lrs", {"lrs": (0.01, math.nan)}),
    "lr inf": ("lrs", {"lrs": (math.inf,)}),
    "lr 0": ("lrs", {"lrs": (0.0,)}),
    "lr negative": ("lrs", {"lrs": (-0.01,)}),
    "lr 1": ("lrs", {"lrs": (1.0,)}),
    "lrs a string": ("lrs", {"lrs": "0.01"}),
    "lrs alike": ("lrs", {"lrs": (0.01, 0.0100000001)}),
    "steps 0": ("steps", {"steps": 0}),
    "steps huge": ("steps", {"steps": 10**12}),
    "steps float": ("steps", {"steps": 2.5}),
    "samples 0": ("samples", {"samples": 0}),
    "batch 0": ("batch", {"batch": 0}),
    "optimizer": ("optimizer", {"optimizer": "adam"}),
}


@pytest.mark.parametrize("case", list(BAD_API), ids=list(BAD_API))
@pytest.mark.usefixtures("nothing_runs")
def test_bad_arguments_are_refused_in_api_names_before_training(case: str) -> None:
    argument, options = BAD_API[case]
    with pytest.raises(InvalidOptionError) as info:
        simulate("linear", **{**SMALL, **options})
    assert info.value.argument == argument
    assert str(info.value).startswith(argument)
    assert "--" not in str(info.value)


@pytest.mark.usefixtures("nothing_runs")
def test_bad_plot_targets_are_refused_before_training(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    for target in (tmp_path / "missing" / "d.png", tmp_path / "d.unknownformat", tmp_path):
        with pytest.raises(InvalidOptionError) as info:
            simulate("linear", **SMALL, plot=str(target))
        assert info.value.argument == "plot"
        assert str(info.value).startswith("plot")
    assert list(tmp_path.iterdir()) == []


BAD_CLI: dict[str, tuple[str, list[str]]] = {
    "fixed-time nan": ("--fixed-time", ["--fixed-time", "nan"]),
    "fixed-time inf": ("--fixed-time", ["--fixed-time", "inf"]),
    "fixed-time -1": ("--fixed-time", ["--fixed-time", "-1"]),
    "tau nan": ("--tau", ["--optimizer", "momentum", "--tau", "nan"]),
    "tau inf": ("--tau", ["--optimizer", "momentum", "--tau", "inf"]),
    "seed -1": ("--seed", ["--seed", "-1"]),
    "lr nan": ("--lr", ["--lr", "nan"]),
    "lr inf": ("--lr", ["--lr", "0.01,inf"]),
    "lr 0": ("--lr", ["--lr", "0"]),
    "lr negative": ("--lr", ["--lr", "-0.5"]),
    "plot into a missing folder": ("--plot", ["--plot", "MISSING/d.png"]),
    "plot with an unknown extension": ("--plot", ["--plot", "TMP/d.xyz"]),
    "steps huge": ("--steps", ["--steps", str(10**9)]),
}


@pytest.mark.parametrize("case", list(BAD_CLI), ids=list(BAD_CLI))
@pytest.mark.usefixtures("nothing_runs")
def test_cli_bad_arguments_are_one_line_naming_the_flag(
        case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if "--plot" in BAD_CLI[case][1]:
        pytest.importorskip("matplotlib")
    flag, extra = BAD_CLI[case]
    extra = [a.replace("MISSING", str(tmp_path / "missing")).replace("TMP", str(tmp_path))
             for a in extra]
    status, out, err = run_cli(["simulate", "linear", "--widths", "2,2,1", *extra], capsys)
    assert status == 2
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith(f"conslaws: error: {flag}"), line
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- plots


MAGIC = {"png": b"\x89PNG", "pdf": b"%PDF", "svg": b"<?xml"}


@pytest.mark.parametrize(("name", "kind"), [("drift", "png"), ("drift.svg", "svg"),
                                            ("drift.PDF", "pdf"), ("d.png", "png")])
def test_plot_writes_exactly_the_name_given(name: str, kind: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / name
    status, out, err = run_cli(["simulate", "linear", "--widths", "2,2,1", "--steps", "3",
                                "--lr", "0.01,0.005", "--seed", "0", "--plot", str(target)],
                               capsys)
    assert status == 0, err
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert target.read_bytes().startswith(MAGIC[kind])
    assert f"plot written to {target}" in out


# --------------------------------------------------------------------------- divergence


def test_an_infinite_gradient_is_reported_as_divergence(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    real = GraphNetwork.loss_and_gradient
    calls = {"n": 0}

    def blows_up_at_the_third_step(self: GraphNetwork, *args: Any) -> Any:
        calls["n"] += 1
        loss, grad = real(self, *args)
        return (loss, grad * math.inf) if calls["n"] == 3 else (loss, grad)

    monkeypatch.setattr(GraphNetwork, "loss_and_gradient", blows_up_at_the_third_step)
    # The first run (lr 0.01) takes steps 1, 2, 3: θ_3 is infinite; the second runs 10 steps.
    result = simulate("linear", widths=(2, 2, 1), steps=10, lrs=(0.01, 0.005), seed=0)
    assert result.diverged == {"0.01": 3}
    assert result.divergence == {"0.01": "parameters"}
    assert calls["n"] == 3 + 10
    document = strict(result.to_json())
    assert document["diverged"] == {"0.01": 3}
    assert document["final_drift"]["0.01"] is None
    assert document["law_drift"]["0.01"][-1] is None
    assert document["recorded_steps"]["0.01"][-1] == 3
    assert all(value is not None for value in document["law_drift"]["0.005"])
    assert document["slope"] is None  # one usable step size: no slope
    json.dumps(result.to_dict(), allow_nan=False)
    text = str(result)
    assert "diverged" in text and "nan" not in text.lower()

    calls["n"] = 0
    status, out, err = run_cli(["simulate", "linear", "--widths", "2,2,1", "--steps", "10",
                                "--lr", "0.01,0.005", "--seed", "0", "--json"], capsys)
    assert status == 0, err
    assert strict(out)["diverged"] == {"0.01": 3}
    calls["n"] = 0
    status, out, _ = run_cli(["simulate", "linear", "--widths", "2,2,1", "--steps", "10",
                              "--lr", "0.01,0.005", "--seed", "0"], capsys)
    assert status == 0 and "diverged" in out


def test_large_step_sizes_diverge_into_strict_json() -> None:
    # A step of 0.99 on a 3-3-3 linear network overflows from most starting points.
    diverged = 0
    for seed in range(8):
        result = simulate("linear", widths=(3, 3, 3), steps=50, lrs=(0.99, 0.01), seed=seed)
        document = strict(result.to_json())
        assert "0.01" not in result.diverged
        if "0.99" in result.diverged:
            diverged += 1
            assert document["final_drift"]["0.99"] is None
            assert document["recorded_steps"]["0.99"][-1] == result.diverged["0.99"] < 50
    assert diverged >= 1


def test_no_warnings_on_overflow(recwarn: pytest.WarningsRecorder) -> None:
    simulate("linear", widths=(3, 3, 3), steps=50, lrs=(0.99,), seed=2)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


# --------------------------------------------------------------------------- seeds


def test_the_seed_is_drawn_recorded_and_reproduces(capsys: pytest.CaptureFixture[str]) -> None:
    first = simulate("linear", widths=(2, 2, 1), steps=5, lrs=(0.01, 0.005))
    assert isinstance(first.seed, int) and first.seed >= 0
    again = simulate("linear", widths=(2, 2, 1), steps=5, lrs=(0.01, 0.005), seed=first.seed)
    assert again.final == first.final and again.laws == first.laws
    status, out, err = run_cli(["simulate", "linear", "--widths", "2,2,1", "--steps", "5",
                                "--lr", "0.01,0.005", "--json"], capsys)
    assert status == 0, err
    document = strict(out)
    assert isinstance(document["seed"], int)
    replay = simulate("linear", widths=(2, 2, 1), steps=5, lrs=(0.01, 0.005),
                      seed=document["seed"])
    assert document["final_drift"] == pytest.approx(replay.final, rel=1e-12)
    status, out, _ = run_cli(["simulate", "linear", "--widths", "2,2,1", "--steps", "5",
                              "--lr", "0.01,0.005"], capsys)
    assert status == 0 and "seed " in out


def test_the_architecture_error_lists_what_simulate_runs() -> None:
    with pytest.raises(ConslawsError) as info:
        simulate("custom", phi="u*v", steps=2, lrs=(0.01,))
    for name in ("linear", "relu", "conv", "resnet", "maxpool"):
        assert name in str(info.value)
    assert "attention" not in str(info.value)


def test_a_momentum_law_that_overflows_is_told_apart() -> None:
    # Momentum laws carry the factor e^{τt}; a float overflows past τt = 709.78, so with
    # τ = 5 and time step sqrt(0.01) = 0.1 the laws overflow at k = 1420 (t = 142, τt = 710),
    # while the parameters of the damped run stay finite.
    result = simulate("linear", widths=(2, 2, 1), optimizer="momentum", tau=5.0,
                      lrs=(0.01,), fixed_time=200.0, seed=1)
    assert result.divergence == {"0.01": "laws"}
    assert result.diverged["0.01"] == math.ceil(math.log(float.fromhex("0x1.fffffffffffffp+1023"))
                                                / 5 / 0.1)
    assert "laws' values overflow" in str(result)
    strict(result.to_json())
