"""Soundness of certified counts and verified laws, above all when the prime divides the model.

A count is only as good as its two bounds: the exact modular rank K of the Lie
algebra's trace is a lower bound on the Lie dimension, hence D - K an *upper*
bound on the number of laws, and k exactly verified independent laws are a
*lower* bound.  Whatever the prime p, the model's coefficients or the flow's
rates (p may divide them, or their denominators), a result must therefore:

* contain the truth:  ``laws_lower_bound <= truth <= laws_upper_bound``;
* be right when certified:  ``certified`` implies ``laws == truth``;

or the input is refused with one line (a ``cl.ConslawsError``, exit status 2).
And every law ``find_laws`` returns must be conserved.

The truth never comes from the code under test.  Each flow's generating fields
are written here in sympy from their definitions (theory.md section 4), and
the number of laws is the phase-space dimension minus the rank over Q of the
naive reference closure of ``tests/reference.py`` at a random rational point
(the generic rank, with overwhelming probability).  Laws are checked by the
polynomial identity ∇h·w ≡ 0 for every field w written here, after the printed
clock (e^{τt}, e^{λt}, or t) is put back as the phase-space coordinate s.

Only the public API (``cl.count``, ``cl.find_laws``, ``cl.Model.from_phi``)
and the command line (``tests/cli_runner.py``) are used.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import pytest
import sympy
from cli_runner import run_cli
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from reference import (
    functional_rank,
    linear_phi,
    plain,
    random_point,
    reference_fields_lie_rank,
    relu_phi,
)

import conslaws.core as cl

MERSENNE = 2**61 - 1  # the modular backend's default prime
S = sympy.Symbol("s")
T = sympy.Symbol("t")

Field = list[sympy.Expr]


# --------------------------------------------------------------------------
# The flows' fields, written from their definitions (nothing from conslaws)
# --------------------------------------------------------------------------


def rational(value: Any) -> sympy.Rational:
    fraction = Fraction(str(value))
    return sympy.Rational(fraction.numerator, fraction.denominator)


def gradients(theta: Sequence[sympy.Symbol], phi: Sequence[sympy.Expr]) -> list[Field]:
    return [[sympy.diff(p, x) for x in theta] for p in phi]


def flow_space(theta: Sequence[sympy.Symbol], phi: Sequence[sympy.Expr], flow: str,
               options: Mapping[str, Any]) -> tuple[list[sympy.Symbol], list[Field]]:
    """Coordinates and generating fields of ``flow`` for the parameterization φ.

    * gradient: ∇φ_i on θ;
    * momentum (heavy ball, friction τ) on z = (s, θ, θ'): χ_0 = (τs, θ', -τθ')
      for τ > 0, (1, θ', 0) for τ = 0, and χ_i = (0, 0, ∇φ_i(θ));
    * weight decay θ' + λθ = -∇L on (s, θ): χ_0 = (λs, -λθ), χ_i = (0, ∇φ_i(θ));
    * mirror: diag(θ)∇φ_i on θ;
    * mirror-momentum: the momentum drift, χ_i = (0, 0, diag(τθ + θ')∇φ_i(θ)) (every
      coordinate mirrored; for τ = 0 the drift is (1, θ', 0) and the metric diag(θ')).
    """
    theta = list(theta)
    zero = [sympy.Integer(0)] * len(theta)
    grads = gradients(theta, phi)
    if flow == "gradient":
        return theta, grads
    if flow == "mirror":
        return theta, [[x * g for x, g in zip(theta, grad, strict=True)] for grad in grads]
    if flow in ("momentum", "mirror-momentum"):
        tau = rational(options.get("tau", 1))
        velocity = [sympy.Symbol(f"{x.name}_dot") for x in theta]
        drift: Field = ([tau * S, *velocity, *(-tau * v for v in velocity)] if tau
                        else [sympy.Integer(1), *velocity, *zero])
        if flow == "mirror-momentum":
            grads = [[(tau * x + v) * g for x, v, g in zip(theta, velocity, grad, strict=True)]
                     for grad in grads]
        lifted = [[sympy.Integer(0), *zero, *grad] for grad in grads]
        return [S, *theta, *velocity], [drift, *lifted]
    if flow == "weight-decay":
        lam = rational(options.get("decay", 1))
        drift = [lam * S, *(-lam * x for x in theta)]
        return [S, *theta], [drift, *([sympy.Integer(0), *grad] for grad in grads)]
    raise ValueError(f"no reference fields for the flow {flow!r}")


def reference_laws(symbols: Sequence[sympy.Symbol], fields: Sequence[Field],
                   seed: int) -> int:
    """Dimension minus the naive closure's rank over Q at a random rational point."""
    ranks = reference_fields_lie_rank(fields, symbols, random_point(len(symbols), seed))
    return len(symbols) - ranks[-1]


def unclock(law: Any, flow: str, options: Mapping[str, Any]) -> sympy.Expr:
    """A printed law back on the phase space: s = e^{rate t}, or s = t when the rate is 0."""
    law = plain(sympy.sympify(law))
    if T in law.free_symbols:
        rate = {"momentum": options.get("tau", 1), "mirror-momentum": options.get("tau", 1),
                "weight-decay": options.get("decay", 1)}.get(flow)
        assert rate is not None, f"a {flow} law with a clock: {law}"
        law = law.subs(T, S if rational(rate) == 0 else sympy.log(S) / rational(rate))
    return sympy.expand(law)


def conserved(h: sympy.Expr, symbols: Sequence[sympy.Symbol],
              fields: Sequence[Field]) -> bool:
    """∇h·w expands to 0 for every field w (h in the coordinates ``symbols`` only)."""
    strangers = h.free_symbols - set(symbols)
    assert not strangers, f"{h} uses {sorted(map(str, strangers))}, not coordinates"
    gradient = [sympy.diff(h, x) for x in symbols]
    return all(
        sympy.expand(sum((g * c for g, c in zip(gradient, w, strict=True)),
                         sympy.Integer(0))) == 0
        for w in fields
    )


def assert_sound(result: Any, truth: int, context: str) -> None:
    """The bounds contain the truth, and a certified count is the truth."""
    lower, upper = result.laws_lower_bound, result.laws_upper_bound
    assert lower <= truth <= upper, (
        f"{context}: bounds [{lower}, {upper}] do not contain the true count {truth}"
        f" (laws {result.laws}, certified {result.certified})")
    assert lower <= result.laws <= upper, f"{context}: laws {result.laws} not in [{lower}, {upper}]"
    if result.certified:
        assert result.laws == truth, (
            f"{context}: certified {result.laws} laws, the true count is {truth}")
        assert lower == upper == truth, f"{context}: certified with bounds [{lower}, {upper}]"


def assert_laws_sound(found: Any, symbols: Sequence[sympy.Symbol], fields: Sequence[Field],
                      flow: str, options: Mapping[str, Any], truth: int, context: str,
                      seed: int = 0) -> list[sympy.Expr]:
    """Every law returned is conserved; the independence claimed holds; at most the truth."""
    laws = [unclock(h, flow, options) for h in found.laws]
    for printed, h in zip(found.laws, laws, strict=True):
        assert conserved(h, symbols, fields), f"{context}: {printed} is not conserved"
    if laws:
        rank = functional_rank(laws, symbols, random_point(len(symbols), seed))
        assert found.independent <= rank, (
            f"{context}: {found.independent} laws claimed independent, gradients of rank {rank}")
    assert found.independent <= truth, f"{context}: {found.independent} > {truth} laws"
    if found.complete:
        assert found.independent == truth, (
            f"{context}: complete with {found.independent} laws, the true count is {truth}")
    return laws


# --------------------------------------------------------------------------
# 1. The commands that used to print wrong certified counts
# --------------------------------------------------------------------------


def _symbol_matrix(prefix: str, rows: int, cols: int) -> sympy.Matrix:
    return sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"{prefix}_{i + 1}_{j + 1}"))


def attention_one_token(dim: int, head_dim: int) -> tuple[list[sympy.Symbol], list[sympy.Expr]]:
    """One head, one token: φ = entries of VᵀO; Q and K are parameters in no component."""
    q, k, v, o = (_symbol_matrix(f"{name}1", head_dim, dim) for name in "QKVO")
    symbols = [x for m in (q, k, v, o) for x in m]
    return symbols, [sympy.expand(e) for e in v.T * o]


def custom_phi(names: str, *formulas: str) -> Callable[[], tuple[list[Any], list[Any]]]:
    def build() -> tuple[list[Any], list[Any]]:
        symbols = list(sympy.symbols(names, seq=True))
        return symbols, [sympy.sympify(f, locals={s.name: s for s in symbols})
                         for f in formulas]
    return build


@dataclass(frozen=True)
class Case:
    """One of the commands; ``truth`` is what the issue states, cross-checked below."""

    name: str
    truth: int
    architecture: str
    options: dict[str, Any]
    phi: Callable[[], tuple[list[Any], list[Any]]]
    argv: tuple[str, ...]
    degree: int
    flow: str = "gradient"
    flow_options: dict[str, Any] = field(default_factory=dict)
    modulus: int | None = None

    def space(self) -> tuple[list[sympy.Symbol], list[Field]]:
        theta, phi = self.phi()
        return flow_space(theta, phi, self.flow, self.flow_options)

    def model(self) -> Any:
        if self.architecture == "custom":
            theta, phi = self.phi()
            return cl.Model.from_phi([x.name for x in theta], [str(p) for p in phi])
        return self.architecture


CASES = [
    Case("x^3 mod 3", 0, "custom", {}, custom_phi("x", "x**3"),
         ("custom", "--phi", "x^3", "--modulus", "3"), degree=3, modulus=3),
    Case("momentum tau=1/3 mod 3", 1, "linear", {"widths": (2, 2, 2)},
         lambda: linear_phi((2, 2, 2)),
         ("linear", "--widths", "2,2,2", "--flow", "momentum", "--tau", "1/3",
          "--modulus", "3"),
         degree=3, flow="momentum", flow_options={"tau": "1/3"}, modulus=3),
    Case("relu weight decay 5 mod 5", 2, "relu", {"widths": (1, 2, 3)},
         lambda: relu_phi((1, 2, 3)),
         ("relu", "--widths", "1,2,3", "--flow", "weight-decay", "--decay", "5",
          "--modulus", "5"),
         degree=4, flow="weight-decay", flow_options={"decay": "5"}, modulus=5),
    Case("z/p", 0, "custom", {}, custom_phi("x y z", f"x*y + z/{MERSENNE}", "x"),
         ("custom", "--phi", f"x*y + z/{MERSENNE}; x"), degree=3),
    Case("weight decay p", 3, "linear", {"widths": (2, 2, 2)},
         lambda: linear_phi((2, 2, 2)),
         ("linear", "--widths", "2,2,2", "--flow", "weight-decay", "--decay", str(MERSENNE)),
         degree=4, flow="weight-decay", flow_options={"decay": str(MERSENNE)}),
    Case("attention one token", 11, "attention", {"dim": 2, "head_dim": 2, "tokens": 1},
         lambda: attention_one_token(2, 2),
         ("attention", "--dim", "2", "--head-dim", "2", "--tokens", "1"), degree=2),
]
CLI_CASES = [case for case in CASES if case.name in ("x^3 mod 3", "weight decay p")]


def _ids(case: Case) -> str:
    return case.name.replace(" ", "-")


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_the_stated_truth_is_the_reference_closure(case: Case) -> None:
    symbols, fields = case.space()
    for seed in (1, 2):
        assert reference_laws(symbols, fields, seed) == case.truth


@pytest.mark.parametrize("seed", [0, 1, 7])
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_count_is_never_certified_wrong(case: Case, seed: int) -> None:
    symbols, _ = case.space()
    try:
        result = cl.count(case.model(), seed=seed, flow=case.flow,
                          flow_options=case.flow_options, modulus=case.modulus,
                          **case.options)
    except cl.ConslawsError as error:  # an honest refusal, in one line
        assert str(error) and "\n" not in str(error)
        return
    assert result.parameters == len(symbols)
    assert_sound(result, case.truth, f"{case.name}, seed {seed}")


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_count_on_the_rational_backend_is_sound(case: Case) -> None:
    result = cl.count(case.model(), seed=3, backend="rational", flow=case.flow,
                      flow_options=case.flow_options, **case.options)
    assert_sound(result, case.truth, f"{case.name}, rational")


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_find_laws_returns_only_conserved_laws(case: Case) -> None:
    symbols, fields = case.space()
    try:
        found = cl.find_laws(case.model(), case.degree, seed=5, flow=case.flow,
                             flow_options=case.flow_options, modulus=case.modulus,
                             **case.options)
    except cl.ConslawsError as error:
        assert str(error) and "\n" not in str(error)
        return
    assert found.parameter_names == tuple(x.name for x in symbols)
    assert_laws_sound(found, symbols, fields, case.flow, case.flow_options, case.truth,
                      case.name)


@pytest.mark.parametrize("case", CLI_CASES, ids=_ids)
def test_cli_count_is_never_certified_wrong(case: Case,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    symbols, _ = case.space()
    status, out, err = run_cli(["count", *case.argv, "--seed", "1", "--json"], capsys)
    if status == 2:  # a refusal: one line on stderr, nothing on stdout
        assert not out.strip() and len(err.strip().splitlines()) == 1
        return
    assert status == 0, err
    document = json.loads(out)
    assert document["parameters"] == len(symbols)
    lower, upper = document["laws_lower_bound"], document["laws_upper_bound"]
    assert lower <= case.truth <= upper, f"{case.name}: [{lower}, {upper}] vs {case.truth}"
    if document["certified"]:
        assert document["laws"] == case.truth


@pytest.mark.parametrize("case", CLI_CASES, ids=_ids)
def test_cli_laws_json_are_conserved(case: Case, capsys: pytest.CaptureFixture[str]) -> None:
    symbols, fields = case.space()
    status, out, err = run_cli(["laws", *case.argv, "--degree", str(case.degree), "--seed", "1",
                                "--json"], capsys)
    if status == 2:
        assert not out.strip() and len(err.strip().splitlines()) == 1
        return
    assert status == 0, err
    document = json.loads(out)
    assert document["parameter_names"] == [x.name for x in symbols]
    names = {name: sympy.Symbol(name) for name in [*document["parameter_names"], "t"]}
    for text in document["laws"]:
        h = unclock(sympy.sympify(text, locals=names), case.flow, case.flow_options)
        assert conserved(h, symbols, fields), f"{case.name}: {text} is not conserved"
    assert document["independent"] <= case.truth
    if document["complete"]:
        assert document["independent"] == case.truth


def test_the_weight_decay_law_check_rejects_a_broken_law() -> None:
    # Guards the guard: the balance law without its clock s^2 = e^{2λt} is not a law.
    case = next(c for c in CASES if c.name == "weight decay p")
    symbols, fields = case.space()
    w = {x.name: x for x in symbols}
    balance = w["W1_1_1"]**2 + w["W1_1_2"]**2 - w["W2_1_1"]**2 - w["W2_2_1"]**2
    assert not conserved(balance, symbols, fields)
    printed = balance * sympy.exp(2 * MERSENNE * T)
    assert conserved(unclock(printed, case.flow, case.flow_options), symbols, fields)
    assert not conserved(unclock(balance * sympy.exp(T), case.flow, case.flow_options),
                         symbols, fields)


# --------------------------------------------------------------------------
# 2, 3. Random small models, random primes dividing their data
# --------------------------------------------------------------------------

PRIMES = (3, 5, 7, 11, 101, None)  # None: the backend's default prime


@dataclass(frozen=True)
class RandomModel:
    names: tuple[str, ...]
    phi: tuple[sympy.Expr, ...]
    prime: int  # the prime the coefficients were drawn around

    @property
    def symbols(self) -> list[sympy.Symbol]:
        return [sympy.Symbol(name) for name in self.names]

    def model(self) -> Any:
        return cl.Model.from_phi(self.names, [str(p) for p in self.phi])


@st.composite
def random_models(draw: Any, primes: Sequence[int | None] = PRIMES) -> RandomModel:
    """1-3 polynomials in 2-4 variables: 1-3 monomials of degree 1-3 each.

    Coefficients are small integers, multiples k·p of the prime, or k/p.
    """
    p = draw(st.sampled_from(primes)) or MERSENNE
    size = draw(st.integers(2, 4))
    symbols = sympy.symbols(" ".join(f"x{i}" for i in range(1, size + 1)), seq=True)
    small = st.sampled_from([-3, -2, -1, 1, 2, 3])
    coefficient = st.one_of(small, small, st.builds(lambda k: k * p, small),
                            st.builds(lambda k: sympy.Rational(k, p), small))
    monomial = st.integers(1, 3).flatmap(
        lambda d: st.lists(st.sampled_from(symbols), min_size=d, max_size=d))
    term = st.tuples(coefficient, monomial)
    phi = []
    for _ in range(draw(st.integers(1, 3))):
        terms = draw(st.lists(term, min_size=1, max_size=3))
        polynomial = sympy.expand(sum((c * sympy.Mul(*m) for c, m in terms), sympy.Integer(0)))
        if polynomial != 0:
            phi.append(polynomial)
    if not phi:
        phi = [symbols[0] * symbols[1]]
    return RandomModel(tuple(s.name for s in symbols), tuple(phi), p)


@st.composite
def random_flows(draw: Any, prime: int) -> tuple[str, dict[str, str]]:
    flow = draw(st.sampled_from(["gradient", "momentum", "weight-decay", "mirror",
                                 "mirror-momentum"]))
    if flow in ("momentum", "mirror-momentum"):
        return flow, {"tau": draw(st.sampled_from(["0", "1", f"1/{prime}", str(prime),
                                                   "1/3", "5"]))}
    if flow == "weight-decay":
        return flow, {"decay": draw(st.sampled_from(["1", str(prime), f"1/{prime}"]))}
    return flow, {}


def _count_or_refusal(model: Any, **kwargs: Any) -> Any:
    try:
        return cl.count(model, **kwargs)
    except cl.ConslawsError as error:
        assert str(error) and "\n" not in str(error), f"a refusal in more than one line: {error}"
        event(f"refused: {type(error).__name__}")
        return None


def _outcome(result: Any, truth: int | None = None) -> str:
    if result.certified:
        return "certified"
    gap = ""
    if truth is not None:
        gap = f", truth {'at' if truth == result.laws_upper_bound else 'below'} upper"
    return f"bounds {result.laws_upper_bound - result.laws_lower_bound} apart{gap}"


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_models_are_never_certified_wrong(data: Any) -> None:
    random_model = data.draw(random_models(), label="model")
    p = random_model.prime
    flow, options = data.draw(random_flows(p), label="flow")
    backend = data.draw(st.sampled_from(["modular"] * 4 + ["rational"]), label="backend")
    modulus = None if backend == "rational" or p == MERSENNE else p
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")

    symbols, fields = flow_space(random_model.symbols, random_model.phi, flow, options)
    truth = reference_laws(symbols, fields, seed)
    result = _count_or_refusal(random_model.model(), backend=backend, modulus=modulus,
                               flow=flow, flow_options=options, seed=seed)
    if result is None:
        return
    event(f"{backend}: {_outcome(result, truth)}")
    assert result.parameters == len(symbols)
    assert_sound(result, truth, f"phi {list(random_model.phi)}, {flow} {options}, "
                                f"{backend} modulus {modulus}, seed {seed}")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_rational_and_modulus_101_agree_when_both_certified(data: Any) -> None:
    random_model = data.draw(random_models(primes=(101, 101, *PRIMES)), label="model")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    model = random_model.model()
    over_q = _count_or_refusal(model, backend="rational", seed=seed)
    mod_101 = _count_or_refusal(model, modulus=101, seed=seed)
    if over_q is None or mod_101 is None:
        return
    # Both contain the truth, so the two intervals meet.
    assert max(over_q.laws_lower_bound, mod_101.laws_lower_bound) <= min(
        over_q.laws_upper_bound, mod_101.laws_upper_bound)
    event(f"rational {_outcome(over_q)}; modulus 101 {_outcome(mod_101)}")
    if over_q.certified and mod_101.certified:
        assert over_q.laws == mod_101.laws


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_models_laws_are_conserved(data: Any) -> None:
    random_model = data.draw(random_models(), label="model")
    p = random_model.prime
    flow, options = data.draw(random_flows(p), label="flow")
    modulus = None if p == MERSENNE else p
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    degree = {"momentum": 3, "mirror-momentum": 3, "weight-decay": 4}.get(flow, 2)

    symbols, fields = flow_space(random_model.symbols, random_model.phi, flow, options)
    truth = reference_laws(symbols, fields, seed)
    try:
        found = cl.find_laws(random_model.model(), degree, modulus=modulus, flow=flow,
                             flow_options=options, seed=seed)
    except cl.ConslawsError as error:
        assert str(error) and "\n" not in str(error)
        return
    assert_laws_sound(found, symbols, fields, flow, options, truth,
                      f"phi {list(random_model.phi)}, {flow} {options}, modulus {modulus}, "
                      f"seed {seed}", seed=seed)
