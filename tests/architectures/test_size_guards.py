"""Size guards before building, the architectures' size estimates, degenerate shapes,
options that must change the model (or be refused), and the models' notes.

Expected values come from outside the code under test:

* parameter counts and graph sizes are closed forms counted by hand from each
  architecture's documented structure (module docstrings of architectures/);
* the number of terms of (x + y + z + w)^200 is C(203, 3) (monomials of degree 200 in
  4 variables), and other bounds are checked against sympy's own expansion;
* laws of degenerate shapes: theory.md section 5 (one law per hidden ReLU neuron, the
  balance of a linear layer pair) or by hand for one-parameter products;
* the scalar-input note: the network x -> W2 relu(W1 x) is written out with sympy at a
  point, and the rank of its data fields (gradients of f(1) and f(-1)) compared with
  the rank of the path lifting φ_i = W2_i W1_i.
"""

from __future__ import annotations

import math
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import networkx as nx
import pytest
import sympy

import conslaws.core.models.model as model_module
import conslaws.core.validation as validation
from conslaws.core import build_model, count
from conslaws.core.errors import InvalidExpressionError, InvalidOptionError, ModelTooLargeError
from conslaws.core.models.model import Model
from conslaws.core.plugins.registry import architectures

LIMIT = validation.MAX_PARAMETERS


def refused_at_once(call: Callable[[], Any], error: type[Exception], *words: str) -> str:
    """The error's message; the refusal must take well under a second and no memory."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(error) as info:
            call()
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert elapsed < 0.5, f"refusal took {elapsed:.2f} s"
    assert peak < 20 * 2**20, f"refusal allocated {peak / 2**20:.0f} MiB"
    assert "\n" not in message
    for word in words:
        assert word in message, (word, message)
    return message


# -- refused before building ------------------------------------------------------------------

HUGE: list[tuple[str, dict[str, Any], int]] = [
    # (architecture, options, parameters counted by hand)
    ("linear", {"widths": (10**9, 1)}, 10**9),
    ("linear", {"widths": (10**9, 10**9)}, 10**18),
    ("relu", {"widths": (3000, 3000, 1)}, 3000 * 3000 + 3000),
    ("relu", {"widths": (200, 200, 200), "bias": True}, 2 * 200 * 200 + 200),
    ("linear", {"widths": (1,) * 50_001}, 50_000),
    # 4 matrices Q, K, V, O of d1 x d entries
    ("attention", {"dim": 10**5, "head_dim": 10**5}, 4 * 10**10),
    # 2 m r weights per block
    ("resnet", {"width": 10**5, "hidden": 1, "blocks": 1}, 2 * 10**5),
    ("resnet", {"width": 1, "hidden": 1, "blocks": 10**5}, 2 * 10**5),
    ("resnet", {"width": 10**5, "hidden": 10**5, "blocks": 10**5}, 2 * 10**15),
    # r m weights of V and n x windows of U, windows = (r - k) // s + 1
    ("maxpool", {"input": 1, "hidden": 10**5, "pool": 5 * 10**4, "stride": 1, "output": 1},
     10**5 + 5 * 10**4 + 1),
    ("maxpool", {"input": 10**5, "hidden": 10**5, "pool": 1, "output": 10**5},
     10**10 + 10**10),
    # c1 c0 nv + c2 c1 nu filter weights
    ("conv", {"channels": (10**5, 1, 1), "kernels": (1, 1), "length": 1}, 10**5 + 1),
    ("conv", {"channels": (10**5, 10**5, 10**5), "kernels": (10**5, 10**5), "length": 10**5},
     2 * 10**15),
]


@pytest.mark.parametrize("architecture, options, parameters", HUGE,
                         ids=[f"{a}-{i}" for i, (a, _, _) in enumerate(HUGE)])
def test_too_many_parameters_are_refused_before_building(
        architecture: str, options: dict[str, Any], parameters: int) -> None:
    assert parameters > LIMIT
    refused_at_once(lambda: build_model(architecture, **options), ModelTooLargeError,
                    f"{parameters:,} parameters", "MAX_PARAMETERS")
    refused_at_once(lambda: count(architecture, seed=1, **options), ModelTooLargeError,
                    f"{parameters:,} parameters")


def test_weight_sharing_graphs_are_bounded_by_their_size() -> None:
    # channels 2,2,2, kernels 3,3, length p = 10^5 (stride 1, q = p): 12 weights, but
    # nodes c0 p + c1 q + c2 q and edges q c1 (c0 nv) + q c2 (c1 nu).
    p = 10**5
    size = 2 * p + 2 * p + 2 * p + p * 2 * 2 * 3 + p * 2 * 2 * 3
    refused_at_once(lambda: build_model("conv", channels=(2, 2, 2), kernels=(3, 3), length=p),
                    ModelTooLargeError, f"{size:,} nodes and edges", "MAX_GRAPH_SIZE")
    # Max-pooling with overlapping windows: 1 input, r = 20,000 units, k = 10,000, s = 1:
    # 10,001 windows of 10,000 edges each, although D = r + windows stays below the limit.
    r, k = 20_000, 10_000
    windows = r - k + 1
    assert r + windows <= LIMIT
    size = 1 + r + windows + 1 + r + windows * k + windows
    refused_at_once(lambda: build_model("maxpool", input=1, hidden=r, pool=k, stride=1,
                                        output=1),
                    ModelTooLargeError, f"{size:,} nodes and edges")


def test_attention_terms_in_many_parameters_are_refused() -> None:
    # dim = head_dim = 100: D = 4 * 100 * 100 = 40,000 (at the limit), phi has 2 d^2
    # products of d1 terms each, 4 million terms of degree 2 in 40,000 variables.
    message = refused_at_once(lambda: build_model("attention", dim=100, head_dim=100),
                              ModelTooLargeError, "40,000 parameters", "GB")
    assert "MAX_DENSE_SIZE" in message


def test_models_below_the_limits_still_build() -> None:
    assert build_model("relu", widths=(100, 100, 1), bias=True).dimension == 100 * 100 + 100 + 100
    assert build_model("conv", channels=(2, 2, 2), kernels=(3, 3), length=1000).dimension == 24
    assert build_model("linear", widths=(1,) * 40_001).dimension == LIMIT


# -- formulas ---------------------------------------------------------------------------------


def test_a_dense_blow_up_is_refused_with_its_size() -> None:
    terms = math.comb(200 + 3, 3)  # monomials of degree 200 in 4 variables
    assert terms == 1_373_701
    refused_at_once(lambda: build_model("custom", phi="(x+y+z+w)**200"), ModelTooLargeError,
                    f"{terms:,} terms", "degree 200")
    x, y, z, w = sympy.symbols("x y z w")
    refused_at_once(lambda: Model.from_phi((x, y, z, w), [(x + y + z + w) ** 200]),
                    ModelTooLargeError, f"{terms:,} terms")


def test_huge_exponents_are_refused() -> None:
    refused_at_once(lambda: build_model("custom", phi="x**(10**10)*y"), InvalidExpressionError,
                    "exponent")
    # Nested powers within the parser's exponent limit: degree 100^3 + 1.
    refused_at_once(lambda: build_model("custom", phi="((x**100)**100)**100*y"),
                    ModelTooLargeError, "1,000,001", "MAX_DEGREE")
    x, y = sympy.symbols("x y")
    refused_at_once(lambda: Model.from_phi((x, y), [sympy.Pow(x, 10**10, evaluate=False) * y]),
                    ModelTooLargeError, "MAX_DEGREE")


def test_many_terms_in_many_variables_are_refused() -> None:
    # 20,000 cubic terms in 20,002 variables: flint stores 20,002 exponents per term.
    phi = " + ".join(f"x{i}*x{i + 1}*x{i + 2}" for i in range(20_000))
    start = time.perf_counter()
    with pytest.raises(ModelTooLargeError, match=r"20,002 parameters.*GB"):
        build_model("custom", phi=phi)
    assert time.perf_counter() - start < 10


@pytest.mark.parametrize("text", [
    "(x + y)**3", "(x + y)**3 - x*y", "(x - y)*(x + y)", "x*(y + z)**4 + (x + 1)**5",
    "(a + b + c)**6 * (a - b)**2", "((x + y)**2)**3 + y**7", "x/3 + (y/2)**4", "0*(x + y)**9",
], ids=str)
def test_formula_bounds_hold(text: str) -> None:
    expression = sympy.expand(sympy.sympify(text))
    bound = validation.formula_size(text)
    if expression == 0:
        assert bound.terms == 0
        return
    poly = sympy.Poly(expression, *sorted(expression.free_symbols, key=str))
    assert bound.terms >= len(poly.terms())
    assert bound.degree >= poly.total_degree()


def test_formula_bounds_are_exact_without_cancellation() -> None:
    # Binomial and multinomial expansions have no cancellation: C(n + k - 1, n - 1) terms.
    for variables, exponent in [(2, 7), (3, 5), (4, 60)]:
        names = [f"x{i}" for i in range(variables)]
        text = f"({' + '.join(names)})**{exponent}"
        terms = math.comb(exponent + variables - 1, variables - 1)
        assert validation.formula_size(text) == (terms, exponent)


# -- graphs given directly ----------------------------------------------------------------------


def _chain(length: int) -> nx.DiGraph:
    """x -> h1 -> ... -> y, weights w1..w_length."""
    names = [f"w{i}" for i in range(1, length + 1)]
    graph = nx.DiGraph(parameters=names, inputs=["x"], outputs=["y"])
    nodes = ["x", *[f"h{i}" for i in range(1, length)], "y"]
    for i, node in enumerate(nodes):
        graph.add_node(node, kind="input" if i == 0 else "linear")
    for i, name in enumerate(names):
        graph.add_edge(nodes[i], nodes[i + 1], param=name)
    return graph


def test_a_graph_over_the_size_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = _chain(10)  # 11 nodes and 10 edges
    monkeypatch.setattr(validation, "MAX_GRAPH_SIZE", 20)
    with pytest.raises(ModelTooLargeError, match="21 nodes and edges"):
        Model.from_graph(graph)
    monkeypatch.setattr(validation, "MAX_GRAPH_SIZE", 21)
    assert Model.from_graph(graph).dimension == 10


def test_listing_paths_is_bounded_by_their_exponents(monkeypatch: pytest.MonkeyPatch) -> None:
    # relu 2,3,2: 12 paths (2 * 3 * 2) in D = 12 parameters, 144 exponents.
    model = build_model("relu", widths=(2, 3, 2))
    monkeypatch.setattr(model_module, "MAX_DENSE_SIZE", 143)
    with pytest.raises(ModelTooLargeError, match="12 paths in 12 parameters"):
        _ = model.generators
    monkeypatch.setattr(model_module, "MAX_DENSE_SIZE", 144)
    assert len(model.generators) == 12


# -- the estimates are the sizes actually built ---------------------------------------------------

SHAPES: list[tuple[str, dict[str, Any]]] = [
    ("linear", {"widths": (2, 3, 2)}), ("linear", {"widths": (1, 1)}),
    ("relu", {"widths": (3, 4, 2), "bias": True}), ("relu", {"widths": (2, 1, 3, 1)}),
    ("relu", {"widths": (3, 2), "bias": True}),
    ("conv", {"channels": (1, 2, 1), "kernels": (2, 2), "length": 3}),
    ("conv", {"channels": (2, 3, 2), "kernels": (3, 2), "length": 7, "stride": 2}),
    ("resnet", {"width": 2, "hidden": 3, "blocks": 2}), ("resnet", {"width": 1, "hidden": 1,
                                                                    "blocks": 1}),
    ("maxpool", {"input": 2, "hidden": 5, "pool": 3, "stride": 2, "output": 2}),
    ("maxpool", {"input": 2, "hidden": 4, "pool": 2, "output": 1}),
    ("attention", {"dim": 3, "head_dim": 2, "heads": 2}),
    ("attention", {"dim": 2, "head_dim": 3, "tokens": 1}),
]


@pytest.mark.parametrize("architecture, options", SHAPES,
                         ids=[f"{a}-{i}" for i, (a, _) in enumerate(SHAPES)])
def test_estimates_match_the_built_models(architecture: str, options: dict[str, Any]) -> None:
    arch = architectures.load(architecture)()
    from conslaws.core.plugins.architecture import convert_options

    size = arch.estimate(**convert_options(arch.name, arch.options, options))
    model = build_model(architecture, **options)
    assert size is not None and size.parameters == model.dimension
    if model.graph is not None:
        assert size.graph == model.graph.number_of_nodes() + model.graph.number_of_edges()
    else:
        assert model.phi is not None
        assert size.formula == sum(len(p) * p.total_degree() for p in model.phi)


# -- degenerate shapes build and count right -----------------------------------------------------

DEGENERATE: list[tuple[str, dict[str, Any], int, int]] = [
    # (architecture, options, D, laws)
    ("linear", {"widths": (1, 1)}, 1, 0),  # phi = w: no law
    ("linear", {"widths": (1, 1, 1)}, 2, 1),  # phi = a b: a^2 - b^2
    ("relu", {"widths": (1, 1)}, 1, 0),
    ("relu", {"widths": (1, 1, 1)}, 2, 1),  # one law per hidden neuron
    ("relu", {"widths": (1, 1, 1), "bias": True}, 3, 1),
    ("conv", {"channels": (1, 1, 1), "kernels": (1, 1), "length": 1}, 2, 1),  # phi = u v
    ("resnet", {"width": 1, "hidden": 1, "blocks": 1}, 2, 1),  # x + u relu(v x): u v
    ("maxpool", {"input": 1, "hidden": 1, "pool": 1, "output": 1}, 2, 1),  # u v
    ("attention", {"dim": 1, "head_dim": 1}, 4, 2),  # (q k, v o): q^2 - k^2, v^2 - o^2
    ("attention", {"dim": 1, "head_dim": 1, "tokens": 1}, 4, 3),  # v o: q, k, v^2 - o^2
    ("custom", {"phi": "x"}, 1, 0),
]


@pytest.mark.parametrize("architecture, options, dimension, laws", DEGENERATE,
                         ids=[f"{a}-{i}" for i, (a, *_) in enumerate(DEGENERATE)])
def test_degenerate_shapes(architecture: str, options: dict[str, Any], dimension: int,
                           laws: int) -> None:
    result = count(architecture, seed=3, **options)
    assert (result.parameters, result.laws, result.certified) == (dimension, laws, True)


# -- every option changes the model, or is refused -------------------------------------------------

VARIANTS: list[tuple[str, dict[str, Any], str, Any]] = [
    # (architecture, base options, option changed, other value)
    ("linear", {"widths": (2, 3, 2)}, "widths", (2, 2, 2)),
    ("relu", {"widths": (2, 3, 2)}, "widths", (2, 3, 1)),
    ("relu", {"widths": (2, 3, 2)}, "bias", True),
    ("conv", {"channels": (1, 2, 1), "kernels": (2, 2), "length": 4}, "channels", (1, 1, 1)),
    ("conv", {"channels": (1, 2, 1), "kernels": (2, 2), "length": 4}, "kernels", (2, 1)),
    ("conv", {"channels": (1, 2, 1), "kernels": (2, 2), "length": 4}, "length", 5),
    ("conv", {"channels": (1, 2, 1), "kernels": (2, 2), "length": 4}, "stride", 2),
    ("resnet", {"width": 2, "hidden": 1, "blocks": 1}, "width", 3),
    ("resnet", {"width": 2, "hidden": 1, "blocks": 1}, "hidden", 2),
    ("resnet", {"width": 2, "hidden": 1, "blocks": 1}, "blocks", 2),
    ("maxpool", {"input": 2, "hidden": 4, "pool": 2, "output": 1}, "input", 3),
    ("maxpool", {"input": 2, "hidden": 4, "pool": 2, "output": 1}, "hidden", 5),
    ("maxpool", {"input": 2, "hidden": 4, "pool": 2, "output": 1}, "pool", 3),
    ("maxpool", {"input": 2, "hidden": 4, "pool": 2, "output": 1}, "stride", 1),
    ("maxpool", {"input": 2, "hidden": 4, "pool": 2, "output": 1}, "output", 2),
    ("attention", {"dim": 2, "head_dim": 2}, "dim", 3),
    ("attention", {"dim": 2, "head_dim": 2}, "head_dim", 4),
    ("attention", {"dim": 2, "head_dim": 2}, "heads", 2),
    ("attention", {"dim": 2, "head_dim": 2}, "tokens", 1),
    ("custom", {"phi": "x*y"}, "phi", "x*y + y"),
    ("custom", {"phi": "x*y"}, "params", "y,x"),
    ("custom", {"phi": "x*y"}, "params", "x,y,z"),
]


def _fingerprint(model: Model) -> tuple[tuple[str, ...], list[str]]:
    fields = [str(f.to_sympy()) for f in model.generators]
    return model.parameter_names, sorted(fields)


@pytest.mark.parametrize("architecture, options, option, value", VARIANTS,
                         ids=[f"{a}-{o}-{i}" for i, (a, _, o, _) in enumerate(VARIANTS)])
def test_each_option_changes_the_model(architecture: str, options: dict[str, Any], option: str,
                                       value: Any) -> None:
    base = build_model(architecture, **options)
    other = build_model(architecture, **{**options, option: value})
    assert _fingerprint(base) != _fingerprint(other)


def test_a_maxpool_stride_that_changes_nothing_is_refused() -> None:
    # hidden 4, pool 3: windows start at 1 and 1 + s; a second one fits only for s <= 1.
    # Strides 2 and 3 both leave the one window 1..3, the model of the default (s = k = 3).
    refused = [2, 4, 9]
    for stride in refused:
        with pytest.raises(InvalidOptionError, match=f"--stride {stride} changes nothing"):
            build_model("maxpool", input=2, hidden=4, pool=3, stride=stride, output=1)
    one = build_model("maxpool", input=2, hidden=4, pool=3, output=1)
    same = build_model("maxpool", input=2, hidden=4, pool=3, stride=3, output=1)
    assert _fingerprint(one) == _fingerprint(same) and one.dimension == 4 * 2 + 1
    assert build_model("maxpool", input=2, hidden=4, pool=3, stride=1, output=1).dimension \
        == 4 * 2 + 2
    with pytest.raises(InvalidOptionError, match="covers all 2 hidden units"):
        build_model("maxpool", input=1, hidden=2, pool=2, stride=1, output=1)


# -- notes --------------------------------------------------------------------------------------


def test_scalar_input_relu_data_fields_are_fewer_than_phi() -> None:
    # x -> sum_i W2_i relu(W1_i x) at W1 = (1, 2, -3), W2 = (5, 7, 11): for x > 0 units 1, 2
    # are on, for x < 0 unit 3.  f(1) = W2_1 W1_1 + W2_2 W1_2, f(-1) = -W2_3 W1_3.
    w1 = sympy.symbols("W1_1_1 W1_2_1 W1_3_1")
    w2 = sympy.symbols("W2_1_1 W2_1_2 W2_1_3")
    theta = [*w1, *w2]
    at = dict(zip(theta, [1, 2, -3, 5, 7, 11], strict=True))
    data = [w2[0] * w1[0] + w2[1] * w1[1], -w2[2] * w1[2]]
    phi = [w2[i] * w1[i] for i in range(3)]

    def rank(functions: list[sympy.Expr]) -> int:
        return int(sympy.Matrix([[sympy.diff(f, t).subs(at) for t in theta]
                                 for f in functions]).rank())

    assert (rank(data), rank(phi)) == (2, 3)
    model = build_model("relu", widths=(1, 3, 1))
    assert model.parameter_names == tuple(str(t) for t in theta)
    assert len(model.notes) == 1
    assert "scalar input" in model.notes[0] and "mode='data'" in model.notes[0]


@pytest.mark.parametrize("architecture, options", [
    ("relu", {"widths": (1, 3, 1)}),
    ("relu", {"widths": (1, 2, 2, 1)}),
    ("maxpool", {"input": 1, "hidden": 4, "pool": 2, "output": 1}),
    ("conv", {"channels": (1, 3, 1), "kernels": (1, 1), "length": 1}),
    ("resnet", {"width": 1, "hidden": 2, "blocks": 2}),
])
def test_positively_homogeneous_networks_carry_the_note(architecture: str,
                                                        options: dict[str, Any]) -> None:
    assert any("positively homogeneous" in note
               for note in build_model(architecture, **options).notes)


@pytest.mark.parametrize("architecture, options", [
    ("relu", {"widths": (2, 3, 1)}),  # input of dimension 2: minimal (theory.md 1)
    ("relu", {"widths": (1, 3, 1), "bias": True}),  # biases move the breakpoints
    ("relu", {"widths": (1, 2, 1)}),  # 2 paths, no more than f(1) and f(-1)
    ("linear", {"widths": (1, 3, 1)}),  # phi = the product, minimal
    ("resnet", {"width": 1, "hidden": 2, "blocks": 1}),  # 2 weighted paths
    ("attention", {"dim": 2, "head_dim": 2}),
    ("custom", {"phi": "x*y"}),
])
def test_minimal_parameterizations_carry_no_note(architecture: str,
                                                 options: dict[str, Any]) -> None:
    assert build_model(architecture, **options).notes == ()


def test_inert_options_are_noted() -> None:
    one_token = build_model("attention", dim=2, head_dim=1, tokens=1)
    assert len(one_token.notes) == 1 and "one token" in one_token.notes[0]
    # From 2 tokens on, phi = (Q^T K, V^T O) does not depend on the number of tokens.
    two, five = (build_model("attention", dim=2, head_dim=1, tokens=n) for n in (2, 5))
    assert _fingerprint(two) == _fingerprint(five)
    assert two.notes == () and len(five.notes) == 1 and "tokens=5" in five.notes[0]
    no_hidden = build_model("relu", widths=(3, 2), bias=True)
    assert len(no_hidden.notes) == 1 and "no hidden layer" in no_hidden.notes[0]
    assert build_model("relu", widths=(3, 2)).notes == ()
