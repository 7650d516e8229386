"""1-D multi-channel circular convolution, one hidden ReLU layer.

Expected values come from outside the code under test:

* theory.md section 5: D = c1 (c2 nu + c0 nv), c1 laws,
  Σ_k ‖u_{k,j}‖² - Σ_i ‖v_{j,i}‖² per hidden channel j;
* φ built here independently: the network output written with sympy (inputs
  x, one gate symbol per hidden unit), expanded, and its coefficients in the
  monomials of (x, gates) read off; and φ written by hand for the smallest case;
* the naive closure of ``tests/reference.py`` run on that φ.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
import sympy
from reference import (
    check_law_basis,
    check_trace,
    plain,
    random_point,
    reference_lie_rank,
    same_span,
    sympy_is_conserved,
)

from conslaws.core import build_model, count, find_laws
from conslaws.core.errors import InvalidOptionError
from conslaws.core.frontends.cli import main
from conslaws.core.plugins.architecture import convert_options
from conslaws.core.plugins.registry import architectures

SEED = 20240620

Shape = tuple[tuple[int, int, int], tuple[int, int], int, int]

# (channels c0,c1,c2), (kernels nv,nu), length p, stride s
SHAPES: list[Shape] = [
    ((1, 1, 1), (2, 1), 2, 1),
    ((1, 2, 1), (2, 2), 3, 1),
    ((2, 1, 1), (2, 1), 4, 2),
    ((1, 1, 2), (2, 1), 4, 2),
    ((1, 2, 1), (3, 2), 5, 2),  # p not a multiple of s: hidden length 3, wrap-around
    ((2, 2, 2), (2, 2), 4, 2),
    ((2, 3, 2), (2, 2), 3, 1),
]


def shape_id(shape: Shape) -> str:
    (c0, c1, c2), (nv, nu), p, s = shape
    return f"c{c0},{c1},{c2}-k{nv},{nu}-p{p}-s{s}"


def options(shape: Shape) -> dict[str, Any]:
    channels, kernels, length, stride = shape
    return {"channels": channels, "kernels": kernels, "length": length, "stride": stride}


@cache
def conv_network(shape: Shape) -> tuple[list[sympy.Symbol], list[sympy.Expr]]:
    """Parameters (documented order) and φ of the gated circular convolution.

    Hidden channel j at position τ: g_{j,τ} · Σ_i Σ_a v{j}_{i}_{a} x_i[(s τ + a - 1) mod p];
    output channel k at τ: Σ_j Σ_b u{k}_{j}_{b} h_j[(τ + b - 1) mod q], q = ceil(p / s).
    φ = the coefficients of the outputs in the monomials of (x, g).
    """
    (c0, c1, c2), (nv, nu), p, s = shape
    q = -(-p // s)
    v = {(j, i, a): sympy.Symbol(f"v{j}_{i}_{a}") for j in range(1, c1 + 1)
         for i in range(1, c0 + 1) for a in range(1, nv + 1)}
    u = {(k, j, b): sympy.Symbol(f"u{k}_{j}_{b}") for k in range(1, c2 + 1)
         for j in range(1, c1 + 1) for b in range(1, nu + 1)}
    x = {(i, t): sympy.Symbol(f"x{i}_{t}") for i in range(1, c0 + 1) for t in range(p)}
    g = {(j, t): sympy.Symbol(f"g{j}_{t}") for j in range(1, c1 + 1) for t in range(q)}
    hidden = {
        (j, t): g[j, t] * sum(v[j, i, a] * x[i, (s * t + a - 1) % p]
                              for i in range(1, c0 + 1) for a in range(1, nv + 1))
        for j in range(1, c1 + 1) for t in range(q)
    }
    phi: list[sympy.Expr] = []
    for k in range(1, c2 + 1):
        for t in range(q):
            out = sum(u[k, j, b] * hidden[j, (t + b - 1) % q]
                      for j in range(1, c1 + 1) for b in range(1, nu + 1))
            phi += sympy.Poly(sympy.expand(out), *x.values(), *g.values()).coeffs()
    return [*v.values(), *u.values()], phi


def channel_laws(shape: Shape) -> list[sympy.Expr]:
    """Σ_k Σ_b u{k}_{j}_{b}² - Σ_i Σ_a v{j}_{i}_{a}² for each hidden channel j."""
    (c0, c1, c2), (nv, nu), _, _ = shape
    return [
        sum(sympy.Symbol(f"u{k}_{j}_{b}") ** 2 for k in range(1, c2 + 1) for b in range(1, nu + 1))
        - sum(sympy.Symbol(f"v{j}_{i}_{a}") ** 2 for i in range(1, c0 + 1)
              for a in range(1, nv + 1))
        for j in range(1, c1 + 1)
    ]


def model_phi(shape: Shape) -> list[sympy.Expr]:
    model = build_model("conv", **options(shape))
    return [plain(model.ring.to_sympy(p)) for p in model.phi]


def test_hand_derived_phi_of_the_smallest_convolution() -> None:
    # channels 1,1,1, kernels 2,1, length 2 (hidden length 2):
    # h_τ = relu(v1 x_τ + v2 x_{τ+1 mod 2}), y_τ = u h_τ: paths u·v1 and u·v2 only.
    v1, v2, u = sympy.symbols("v1_1_1 v1_1_2 u1_1_1")
    hand = [u * v1, u * v2]
    shape = SHAPES[0]
    symbols, expanded = conv_network(shape)
    assert symbols == [v1, v2, u]
    assert set(expanded) == set(hand)
    assert set(model_phi(shape)) == set(hand)
    law = u**2 - v1**2 - v2**2
    assert sympy_is_conserved(law, hand, symbols)
    result = find_laws("conv", degree=2, seed=SEED, **options(shape))
    assert same_span([plain(h) for h in result.laws], [law], symbols)
    assert result.complete


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_parameter_names_and_phi_match_the_independent_expansion(shape: Shape) -> None:
    symbols, expanded = conv_network(shape)
    model = build_model("conv", **options(shape))
    assert model.parameter_names == tuple(s.name for s in symbols)
    # Several positions give the same path product: compare the sets of components.
    assert set(model_phi(shape)) == set(expanded)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_count_is_the_number_of_hidden_channels(exact_backend: str, shape: Shape) -> None:
    (c0, c1, c2), (nv, nu), _, _ = shape
    result = count("conv", backend=exact_backend, seed=SEED, **options(shape))
    assert result.parameters == c1 * (c2 * nu + c0 * nv)
    assert result.laws == c1
    assert result.certified


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_laws_are_one_balance_per_hidden_channel(exact_backend: str, shape: Shape) -> None:
    symbols, phi = conv_network(shape)
    expected = channel_laws(shape)
    assert all(sympy_is_conserved(h, phi, symbols) for h in expected)

    result = find_laws("conv", degree=2, backend=exact_backend, seed=SEED, **options(shape))
    check_law_basis(result.laws, expected, phi, symbols)
    assert result.independent == shape[0][1]
    assert result.complete


@pytest.mark.parametrize("shape", [SHAPES[1], SHAPES[2]], ids=shape_id)
def test_count_matches_the_naive_reference_on_the_independent_phi(exact_backend: str,
                                                                  shape: Shape) -> None:
    symbols, phi = conv_network(shape)
    ranks = reference_lie_rank(phi, symbols, random_point(len(symbols), SEED))
    result = count("conv", backend=exact_backend, seed=SEED, **options(shape))
    assert result.laws == len(symbols) - ranks[-1]
    check_trace(result, ranks)


@pytest.mark.parametrize("argv", [
    ["--channels", "1,1,1", "--kernels", "4,1", "--length", "3"],  # nv longer than p
    ["--channels", "1,1,1", "--kernels", "2,3", "--length", "4", "--stride", "2"],  # nu > q
    ["--channels", "1,1,1", "--kernels", "2,1", "--length", "3", "--stride", "0"],
    ["--channels", "1,1,1", "--kernels", "2,1", "--length", "2", "--stride", "3"],
    ["--channels", "1,2,2,1", "--kernels", "2,2", "--length", "3"],  # 3 layers, 2 kernels
    ["--channels", "1,2,1", "--kernels", "2,2,2", "--length", "3"],
    ["--channels", "2", "--kernels", "1", "--length", "3"],  # no layer
    ["--channels", "1,1,1", "--kernels", "1,1", "--length", "3", "--dims", "3"],
    ["--channels", "1,1,1", "--kernels", "1,1", "--length", "3", "--dims", "0"],
    ["--channels", "1,1,1", "--kernels", "1,1", "--length", "3", "--dims", "two"],
    ["--channels", "1,1,1", "--kernels", "3,1", "--length", "2", "--dims", "2"],
    ["--channels", "1,1,1,1", "--kernels", "1,1,3", "--length", "4", "--stride", "2",
     "--dims", "2"],  # third kernel longer than the hidden side 2
    ["--channels", "1,1,1", "--kernels", "1,1", "--length", "3", "--bias", "yes"],
], ids=["kernel-longer-than-signal", "kernel-longer-than-hidden-signal", "stride-0",
        "stride-longer-than-signal", "too-few-kernels", "too-many-kernels", "one-channel-count",
        "dims-3", "dims-0", "dims-text", "2d-kernel-wider-than-image",
        "2d-deep-kernel-wider-than-hidden", "bias-with-value"])
def test_bad_convolution_options_print_one_error_line(argv: list[str],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["count", "conv", *argv])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("conslaws: error:")


@pytest.mark.parametrize(("argv", "words"), [
    ({"channels": (1, 2, 2, 1), "kernels": (2, 2), "length": 3},
     ["--kernels", "2 value(s)", "--channels 1,2,2,1", "3 layer(s)"]),
    ({"channels": (1, 1), "kernels": (1,), "length": 3, "dims": 3}, ["--dims", "1 or 2"]),
    ({"channels": (1, 1, 1), "kernels": (3, 1), "length": 2, "dims": 2},
     ["--kernels", "kernel 3 of layer 1", "side of the 2x2 image"]),
    ({"channels": (1, 1, 1), "kernels": (1, 3), "length": 3, "stride": 2, "dims": 2},
     ["--kernels", "kernel 3 of layer 2", "hidden 2x2 image (2 = ceil(3/2))"]),
    ({"channels": (1, 1, 1, 1), "kernels": (1, 1, 3), "length": 4, "stride": 2},
     ["--kernels", "kernel 3 of layer 3", "hidden signal (2 = ceil(4/2))"]),
    ({"channels": (1, 1, 1), "kernels": (1, 1), "length": 2, "stride": 3},
     ["--stride 3", "signal (2)"]),
    ({"channels": (1, 1, 1), "kernels": (1, 1), "length": 2, "stride": 3, "dims": 2},
     ["--stride 3", "side of the 2x2 image"]),
], ids=["kernel-count", "dims", "2d-kernel-layer-1", "2d-kernel-layer-2", "kernel-layer-3",
        "stride", "2d-stride"])
def test_errors_name_the_option(argv: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(InvalidOptionError) as error:
        build_model("conv", **argv)
    message = str(error.value)
    assert message.startswith("conv: ") or message.startswith("--dims")
    assert all(word in message for word in words), message


# -- sizes, names, graph -------------------------------------------------------------------

SIZE_SHAPES: list[dict[str, Any]] = [
    {"channels": (1, 2, 1), "kernels": (2, 2), "length": 3},
    {"channels": (2, 3, 2), "kernels": (3, 2), "length": 7, "stride": 2},
    {"channels": (2, 3, 2), "kernels": (3, 2), "length": 7, "stride": 2, "bias": True},
    {"channels": (1, 1), "kernels": (1,), "length": 1},
    {"channels": (3, 2), "kernels": (2,), "length": 4, "bias": True},
    {"channels": (1, 2, 3, 1), "kernels": (2, 3, 1), "length": 5, "stride": 2, "bias": True},
    {"channels": (2, 1, 1, 1, 2), "kernels": (4, 1, 1, 1), "length": 4, "stride": 4},
    {"channels": (1, 2, 1), "kernels": (2, 2), "length": 3, "dims": 2},
    {"channels": (2, 2, 3), "kernels": (3, 2), "length": 5, "stride": 2, "dims": 2,
     "bias": True},
    {"channels": (1, 3, 2, 1), "kernels": (1, 2, 2), "length": 2, "dims": 2, "bias": True},
    {"channels": (2, 1), "kernels": (3,), "length": 3, "dims": 2, "bias": True},
    {"channels": (1, 1, 1), "kernels": (1, 1), "length": 1, "dims": 2},
    {"channels": (3, 4, 4, 2), "kernels": (3, 2, 2), "length": 6, "stride": 3, "dims": 2,
     "bias": True},
]


def _size_id(opts: dict[str, Any]) -> str:
    return "-".join(f"{k}{','.join(map(str, v)) if isinstance(v, tuple) else v}"
                    for k, v in opts.items())


@pytest.mark.parametrize("opts", SIZE_SHAPES, ids=_size_id)
def test_estimate_is_the_size_of_the_built_graph(opts: dict[str, Any]) -> None:
    arch = architectures.load("conv")()
    size = arch.estimate(**convert_options(arch.name, arch.options, opts))
    model = build_model("conv", **opts)
    graph = model.graph
    assert graph is not None
    assert size.parameters == model.dimension == len(graph.graph["parameters"])
    assert size.graph == graph.number_of_nodes() + graph.number_of_edges()
    # Independently: Σ_l c_l c_{l-1} K_l^d weights, a bias per hidden channel; c_l n^d units
    # per layer (n = p for the input, ceil(p/s) after it), one edge per weight or bias and
    # position of its layer.
    channels, kernels = opts["channels"], opts["kernels"]
    d, p, s = opts.get("dims", 1), opts["length"], opts.get("stride", 1)
    n = -(-p // s)
    weights = [c * b * k**d for c, b, k in zip(channels[1:], channels, kernels, strict=False)]
    biases = list(channels[1:-1]) if opts.get("bias") else []
    assert model.dimension == sum(weights) + sum(biases)
    units = channels[0] * p**d + sum(channels[1:]) * n**d
    edges = (sum(weights) + sum(biases)) * n**d
    assert size.graph == units + sum(biases) + edges  # one bias node per hidden channel


@pytest.mark.parametrize("opts", SIZE_SHAPES, ids=_size_id)
def test_layers_number_every_parameter_by_its_name(opts: dict[str, Any]) -> None:
    model = build_model("conv", **opts)
    expected = []
    for name in model.parameter_names:
        if name[0] == "v":
            expected.append(1)
        elif name[0] == "u":
            expected.append(2)
        else:  # W{l}_... and b{l}_...
            expected.append(int(name[1:].split("_")[0]))
    assert model.layers == tuple(expected)
    assert sorted(set(expected)) == list(range(1, len(opts["channels"])))


def test_a_bias_is_one_parameter_on_every_position_of_its_channel() -> None:
    # 2-D, side 5, stride 2: hidden side 3, so each hidden bias sits on 9 edges.
    model = build_model("conv", channels=(1, 2, 1), kernels=(2, 2), length=5, stride=2, dims=2,
                        bias=True)
    graph = model.graph
    assert graph is not None
    for c in (1, 2):
        edges = [(u, v) for u, v, param in graph.edges(data="param") if param == f"b1_{c}"]
        assert len(edges) == 9
        assert len({u for u, _ in edges}) == 1  # one bias node
        assert graph.nodes[edges[0][0]]["kind"] == "bias"
        assert all(graph.nodes[v]["kind"] == "relu" for _, v in edges)
    assert [n for n in model.parameter_names if n.startswith("b")] == ["b1_1", "b1_2"]


def test_the_original_model_keeps_its_name_and_graph() -> None:
    # 1-D is the default: --dims 1 given or not, and no bias, is the model of old.
    base = build_model("conv", channels=(1, 2, 1), kernels=(2, 2), length=3)
    again = build_model("conv", channels="1,2,1", kernels="2,2", length="3", dims="1")
    assert base.name == again.name == "conv channels=1,2,1 kernels=2,2 length=3 stride=1"
    assert base.graph is not None and again.graph is not None
    assert list(base.graph.nodes(data=True)) == list(again.graph.nodes(data=True))
    assert list(base.graph.edges(data=True)) == list(again.graph.edges(data=True))
    assert ("h", 1, 0) in base.graph and ("y", 1, 2) in base.graph
    assert base.graph.graph["inputs"] == [("x", 1, 0), ("x", 1, 1), ("x", 1, 2)]


def test_two_layers_with_bias_keep_the_v_u_names() -> None:
    model = build_model("conv", channels=(1, 2, 1), kernels=(2, 1), length=2, bias=True)
    assert model.parameter_names == ("v1_1_1", "v1_1_2", "v2_1_1", "v2_1_2", "b1_1", "b1_2",
                                     "u1_1_1", "u1_2_1")


def test_bias_on_one_layer_is_inert_and_noted() -> None:
    with_bias = build_model("conv", channels=(2, 3), kernels=(2,), length=3, bias=True)
    without = build_model("conv", channels=(2, 3), kernels=(2,), length=3)
    assert with_bias.parameter_names == without.parameter_names
    assert [str(p) for p in with_bias.phi] == [str(p) for p in without.phi]
    assert any("no bias was added" in note for note in with_bias.notes)
    assert not any("bias" in note for note in without.notes)


@pytest.mark.parametrize("layers", ["1", "2", "1,2"])
def test_mirror_layers_act_like_those_of_the_dense_network(layers: str) -> None:
    # A 1 x 1 kernel on a length-1 signal is the dense ReLU network 2,3,2 with the same
    # layer numbers (W{l} of relu is layer l of the convolution).
    flow = {"flow": "mirror", "flow_options": {"mirror_layers": layers}, "seed": SEED}
    conv = count("conv", channels=(2, 3, 2), kernels=(1, 1), length=1, bias=True, **flow)
    dense = count("relu", widths=(2, 3, 2), bias=True, **flow)
    assert conv.certified and dense.certified
    assert (conv.parameters, conv.laws) == (dense.parameters, dense.laws)


def test_mirror_layers_name_the_layers_of_a_deep_convolution() -> None:
    with pytest.raises(InvalidOptionError, match=r"no layer 4 \(layers: 1,2,3\)"):
        count("conv", channels=(1, 2, 2, 1), kernels=(2, 1, 2), length=3, flow="mirror",
              flow_options={"mirror_layers": "4"})


def test_the_command_line_counts_a_2d_convolution(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["count", "conv", "--dims", "2", "--channels", "1,2,1", "--kernels", "2,2",
                   "--length", "3", "--bias", "--seed", "1"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "conv channels=1,2,1 kernels=2,2 length=3 stride=1 dims=2 bias" in out
    assert "2 conservation laws" in out and "[certified]" in out
