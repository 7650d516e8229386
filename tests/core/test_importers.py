"""Models from PyTorch modules and ONNX files (conslaws.core.frontends.importers).

Three independent checks: an imported network has the certified count of the
built-in architecture with the same map (built by other code, from the theory's
formulas); the graph's forward pass (conslaws.core.models.numeric, with the module's own
weights read by parameter name) agrees with the module's forward pass; and the
ONNX export of a module imports to the same graph sizes, names and numbers.
"""

from __future__ import annotations

import contextlib
import doctest
import importlib
import io
import json
import sys
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
import sympy
from cli_runner import run_cli

from conslaws.architectures.conv import ConvArchitecture
from conslaws.architectures.layered import layered_graph
from conslaws.core.errors import InvalidOptionError
from conslaws.core.frontends import api
from conslaws.core.frontends.importers import import_network, importable
from conslaws.core.frontends.importers.graph_builder import GraphBuilder, UnsupportedNetworkError
from conslaws.core.models.model import Model
from conslaws.core.models.numeric import GraphNetwork

torch = pytest.importorskip("torch")
nn = torch.nn



def _installed(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


HAS_ONNX = _installed("onnx")
#: torch's default (dynamo) exporter needs onnxscript.  The deprecated TorchScript
#: exporter writes other operators (circular and reflect padding as Slice, Concat,
#: ConstantOfShape, Mod, ...) and renames some initializers: export tests use dynamo.
CAN_EXPORT = HAS_ONNX and _installed("onnxscript")
needs_onnx = pytest.mark.skipif(not CAN_EXPORT, reason="onnx or onnxscript is not installed")


def export(module: Any, shape: tuple[int, ...], path: Path) -> Path:
    """``torch.onnx.export`` of the module in eval mode, quietly."""
    module.eval()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.zeros(1, *shape),), str(path), dynamo=True)
    return path


def forward_error(module: Any, network: Any, shape: tuple[int, ...], seed: int = 0) -> float:
    """Largest difference between the module's outputs and the imported graph's."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(7, *shape, generator=generator, dtype=torch.float64)
    module.eval()
    with torch.no_grad():
        want = module.double()(x).reshape(7, -1).numpy()
    module.float()
    got = GraphNetwork(network.graph).forward(network.theta(), x.reshape(7, -1).numpy())
    return float(np.abs(want - got * float(network.output_scale)).max())


def same_count(left: Any, right: Any) -> None:
    assert (left.laws, left.certified, left.parameters) == (
        right.laws, right.certified, right.parameters)
    assert left.certified


class Residual(nn.Module):
    """x -> x + U_l relu(V_l x), block by block (the resnet architecture)."""

    def __init__(self, width: int, hidden: int, blocks: int) -> None:
        super().__init__()
        self.v = nn.ModuleList(nn.Linear(width, hidden, bias=False) for _ in range(blocks))
        self.u = nn.ModuleList(nn.Linear(hidden, width, bias=False) for _ in range(blocks))

    def forward(self, x: Any) -> Any:
        for v, u in zip(self.v, self.u, strict=True):
            x = x + u(torch.relu(v(x)))
        return x


class Functional(nn.Module):
    """Functions and methods instead of modules, and one module called twice."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, 3, padding=1)
        self.pool = nn.MaxPool1d(2)
        self.shared = nn.Linear(4, 4)
        self.out = nn.Linear(4, 1, bias=False)

    def forward(self, x: Any) -> Any:
        h = torch.nn.functional.relu(self.conv(x))
        h = torch.flatten(self.pool(h), 1)
        h = h.view(h.size(0), -1)
        h = nn.functional.leaky_relu(self.shared(h), 0.2)
        h = h + self.shared(h).relu()
        return self.out(h)


class Aliases(nn.Module):
    """A tensor used twice, once through a reshape: its units must stay linear."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Linear(2, 2)
        self.out = nn.Linear(2, 1)

    def forward(self, x: Any) -> Any:
        y = self.inner(x)
        h = torch.relu(y.view(y.size(0), -1))
        return self.out(y + h + h)


def mlp(bias: bool = False, last_bias: bool = False) -> Any:
    return nn.Sequential(nn.Linear(3, 4, bias=bias), nn.ReLU(), nn.Linear(4, 2, bias=last_bias))


# -- the same counts as the built-in architectures ---------------------------------------


def test_mlp_has_the_count_of_relu(tmp_path: Path) -> None:
    net = mlp()
    imported = api.count(net, input_shape=(3,), seed=1)
    reference = api.count("relu", widths=(3, 4, 2), seed=1)
    same_count(imported, reference)
    assert imported.laws == 4  # one rescaling per hidden neuron (docs/theory.md 5)
    same_count(api.count(net, input_shape=(3,), seed=2, engine="fields"), reference)
    assert imported.parameter_names[:2] == ("p0_weight_0_0", "p0_weight_0_1")
    if CAN_EXPORT:
        onnx_count = api.count(export(net, (3,), tmp_path / "mlp.onnx"), seed=1)
        same_count(onnx_count, reference)
        assert onnx_count.parameter_names == imported.parameter_names


def test_hidden_biases_have_the_count_of_relu_bias() -> None:
    net = mlp(bias=True)
    same_count(api.count(net, input_shape=3, seed=1),
               api.count("relu", widths=(3, 4, 2), bias=True, seed=1))


def test_output_biases_as_a_hand_built_graph() -> None:
    # torch's default Linear has a bias on the output layer too: the layered graph
    # with a bias node on each output unit is the same map.
    graph = layered_graph((3, 4, 2), hidden_kind="relu", bias=True)
    for i in (1, 2):
        graph.add_node(("one", 2, i), kind="bias")
        graph.add_edge(("one", 2, i), ("u", 2, i), param=f"b2_{i}")
        graph.graph["parameters"].append(f"b2_{i}")
    del graph.graph["layers"]
    reference = api.count(Model.from_graph(graph, name="relu 3,4,2 biases"), seed=1)
    same_count(api.count(mlp(bias=True, last_bias=True), input_shape=3, seed=1), reference)


@pytest.mark.parametrize(("stride", "kernels"), [(1, (3, 3)), (2, (3, 1))])
def test_circular_conv1d_has_the_count_of_conv(stride: int, kernels: tuple[int, int]) -> None:
    # The conv architecture reads x[(s·τ + a) mod p]; torch's circular padding P reads
    # x[(s·τ + a - P) mod p]: the same network up to a relabelling of the positions.
    nv, nu = kernels
    net = nn.Sequential(
        nn.Conv1d(2, 2, nv, stride=stride, padding=nv // 2, padding_mode="circular",
                  bias=False),
        nn.ReLU(),
        nn.Conv1d(2, 1, nu, padding=nu // 2, padding_mode="circular", bias=False))
    reference = api.count("conv", channels=(2, 2, 1), kernels=kernels, length=5,
                          stride=stride, seed=1)
    same_count(api.count(net, input_shape=(2, 5), seed=1), reference)


def test_circular_conv_with_bias_and_in_2d() -> None:
    names = {option.name for option in ConvArchitecture.options}
    if not {"bias", "dims"} <= names:
        pytest.skip("the conv architecture has no --bias or --dims")
    hidden_bias = nn.Sequential(
        nn.Conv1d(1, 2, 3, padding=1, padding_mode="circular"), nn.ReLU(),
        nn.Conv1d(2, 1, 3, padding=1, padding_mode="circular", bias=False))
    same_count(api.count(hidden_bias, input_shape=(1, 4), seed=1),
               api.count("conv", channels=(1, 2, 1), kernels=(3, 3), length=4, bias=True,
                         seed=1))
    images = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1, padding_mode="circular", bias=False), nn.ReLU(),
        nn.Conv2d(2, 1, 1, bias=False))
    same_count(api.count(images, input_shape=(1, 3, 3), seed=1),
               api.count("conv", channels=(1, 2, 1), kernels=(3, 1), length=3, dims=2,
                         seed=1))


@pytest.mark.parametrize("pooling", ["max", "avg"])
def test_pooling_has_the_count_of_maxpool(pooling: str) -> None:
    pool = nn.MaxPool1d(2, stride=1) if pooling == "max" else nn.AvgPool1d(2, stride=1)
    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.ReLU(), nn.Unflatten(1, (1, 4)), pool,
                        nn.Flatten(), nn.Linear(3, 2, bias=False))
    reference = api.count("maxpool", input=3, hidden=4, pool=2, stride=1, output=2,
                          pooling=pooling, seed=1)
    same_count(api.count(net, input_shape=3, seed=1), reference)


def test_residual_blocks_have_the_count_of_resnet(tmp_path: Path) -> None:
    net = Residual(2, 2, 2)
    reference = api.count("resnet", width=2, hidden=2, blocks=2, seed=1)
    same_count(api.count(net, input_shape=2, seed=1), reference)
    if CAN_EXPORT:
        same_count(api.count(export(net, (2,), tmp_path / "res.onnx"), seed=1), reference)


def test_find_laws_of_a_module() -> None:
    # The balance laws |row i of W1|^2 - |column i of W2|^2, one per hidden neuron.
    laws = api.find_laws(nn.Sequential(nn.Linear(1, 2, bias=False), nn.ReLU(),
                                       nn.Linear(2, 1, bias=False)), 2, input_shape=1, seed=1)
    assert laws.complete and laws.independent == 2 and len(laws.laws) == 2
    v1, v2, u1, u2 = sympy.symbols("p0_weight_0_0 p0_weight_1_0 p2_weight_0_0 p2_weight_0_1")
    by_hand = [v1**2 - u1**2, v2**2 - u2**2]
    # The laws found span the same space as the ones by hand.
    a, b = sympy.symbols("a b")
    for h in laws.laws:
        residual = sympy.Poly(h - a * by_hand[0] - b * by_hand[1], v1, v2, u1, u2)
        assert sympy.solve(residual.coeffs(), [a, b], dict=True)


# -- the graph computes what the module computes -----------------------------------------

LAYERS: dict[str, tuple[Any, tuple[int, ...]]] = {
    "linear": (lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)), (3,)),
    "conv1d-zeros": (lambda: nn.Sequential(
        nn.Conv1d(2, 3, 3, padding=2, stride=2, dilation=2), nn.ReLU(),
        nn.Conv1d(3, 1, 2)), (2, 7)),
    "conv1d-circular": (lambda: nn.Sequential(
        nn.Conv1d(1, 2, 3, padding=1, padding_mode="circular"), nn.ReLU(),
        nn.Conv1d(2, 1, 3, padding=1, padding_mode="circular", bias=False)), (1, 5)),
    "conv1d-reflect-groups": (lambda: nn.Sequential(
        nn.Conv1d(2, 4, 3, padding=2, padding_mode="reflect", groups=2), nn.ReLU(),
        nn.Conv1d(4, 2, 3, padding="same", padding_mode="replicate")), (2, 5)),
    "conv2d": (lambda: nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1, stride=2), nn.ReLU(), nn.Flatten(),
        nn.Linear(18, 1)), (1, 5, 5)),
    "leaky-relu": (lambda: nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(0.1),
                                         nn.Linear(3, 1)), (2,)),
    "maxpool": (lambda: nn.Sequential(
        nn.Conv1d(1, 2, 2), nn.ReLU(), nn.MaxPool1d(2, stride=1, padding=1), nn.Flatten(),
        nn.Linear(10, 1)), (1, 5)),
    "maxpool2d-avgpool2d": (lambda: nn.Sequential(
        nn.Conv2d(1, 2, 2), nn.ReLU(), nn.MaxPool2d(2, stride=1), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(2, 1, bias=False)), (1, 5, 5)),
    "avgpool1d": (lambda: nn.Sequential(
        nn.Linear(3, 4), nn.ReLU(), nn.Unflatten(1, (1, 4)), nn.AvgPool1d(2, padding=1),
        nn.Flatten(), nn.Linear(3, 2, bias=False)), (3,)),
    "residual": (lambda: Residual(3, 2, 2), (3,)),
    "identity-dropout": (lambda: nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Identity(),
                                               nn.ReLU(), nn.Linear(2, 1)), (2,)),
    "functional": (Functional, (1, 4)),
    "aliases": (Aliases, (2,)),
}


def _slopes_supported() -> bool:
    """Whether the graph format's relu units honour a leaky ``slope`` (the lead's change)."""
    graph = nx.DiGraph(parameters=["w"], inputs=["x"], outputs=["h"])
    graph.add_node("x", kind="input")
    graph.add_node("h", kind="relu", slope=Fraction(1, 2))
    graph.add_edge("x", "h", param="w")
    try:
        out = GraphNetwork(graph).forward(np.array([1.0]), np.array([[-2.0]]))
    except Exception:
        return False
    return bool(out[0, 0] == -1.0)


def _layer_cases() -> list[Any]:
    cases = []
    for name in LAYERS:
        marks = []
        if name in ("leaky-relu", "functional") and not _slopes_supported():
            marks.append(pytest.mark.xfail(strict=True, reason="relu units without slopes"))
        cases.append(pytest.param(name, marks=marks))
    return cases


@pytest.mark.parametrize("name", _layer_cases())
def test_forward_pass_agrees_with_torch(name: str, tmp_path: Path) -> None:
    make, shape = LAYERS[name]
    torch.manual_seed(3)
    net = make()
    imported = import_network(net, input_shape=shape)
    assert forward_error(net, imported, shape) < 1e-12
    if CAN_EXPORT:
        exported = import_network(export(net, shape, tmp_path / f"{name}.onnx"))
        assert forward_error(net, exported, shape) < 1e-12
        assert exported.graph.number_of_nodes() == imported.graph.number_of_nodes()
        assert exported.graph.number_of_edges() == imported.graph.number_of_edges()
        assert exported.graph.graph["parameters"] == imported.graph.graph["parameters"]


def test_structure_of_imported_units() -> None:
    imported = import_network(LAYERS["leaky-relu"][0](), input_shape=(2,))
    graph = imported.graph
    hidden = [n for n, kind in graph.nodes(data="kind") if kind == "relu"]
    # The bias and the activation are merged into the Linear layer's units.
    assert len(hidden) == 3 and all(graph.nodes[n]["slope"] == Fraction(1, 10) for n in hidden)
    assert imported.framework_names["p0_weight_2_1"] == "0.weight[2,1]"
    assert graph.graph["layers"]["p0_bias_0"] == 1 and graph.graph["layers"]["p2_weight_0_0"] == 2
    pooled = import_network(LAYERS["avgpool1d"][0](), input_shape=(3,))
    assert pooled.output_scale == Fraction(1, 2)


def test_a_module_called_twice_shares_its_weights() -> None:
    imported = import_network(Functional(), input_shape=(1, 4))
    names = imported.graph.graph["parameters"]
    assert len(names) == len(set(names)) == 2 * 3 + 2 + 4 * 4 + 4 + 4
    uses = sum(1 for *_, p in imported.graph.edges(data="param") if p == "shared_weight_0_0")
    assert uses == 2


# -- what is refused ---------------------------------------------------------------------


def one_line(error: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(error.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize(("module", "shape", "named"), [
    (nn.Sequential(nn.Linear(2, 2), nn.Tanh()), (2,), "Tanh"),
    (nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)), (2,), "BatchNorm1d"),
    (nn.Sequential(nn.Conv1d(1, 1, 2), nn.MaxPool1d(2, ceil_mode=True)), (1, 5), "ceil_mode"),
    (nn.Sequential(nn.Linear(2, 4), nn.Unflatten(1, (1, 4)), nn.AvgPool1d(2), nn.Flatten(),
                   nn.Linear(2, 1)), (2,), "average pool"),
])
def test_unsupported_modules_are_named(module: Any, shape: tuple[int, ...], named: str) -> None:
    with pytest.raises(UnsupportedNetworkError) as error:
        api.count(module, input_shape=shape, seed=1)
    assert named in one_line(error)


def test_torch_arguments_are_checked() -> None:
    with pytest.raises(UnsupportedNetworkError, match="input_shape is required") as error:
        api.count(mlp(), seed=1)
    assert error.value.argument == "input_shape"
    with pytest.raises(UnsupportedNetworkError, match="input_shape must be"):
        api.build_model(mlp(), input_shape=(0, 3))
    with pytest.raises(InvalidOptionError, match="widths"):
        api.count(mlp(), input_shape=3, widths=(3, 4, 2))
    with pytest.raises(UnsupportedNetworkError, match="receives a tensor of shape"):
        api.count(mlp(), input_shape=5)
    assert not importable("relu") and importable(mlp())


@needs_onnx
def test_onnx_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tanh = export(nn.Sequential(nn.Linear(2, 2), nn.Tanh()), (2,), tmp_path / "tanh.onnx")
    with pytest.raises(UnsupportedNetworkError, match="unsupported ONNX operator Tanh") as e:
        api.count(tanh, seed=1)
    one_line(e)
    with pytest.raises(UnsupportedNetworkError, match="input_shape is for torch"):
        api.count(tanh, input_shape=2)
    status, out, err = run_cli(["count", "--onnx", str(tanh)], capsys)
    assert (status, out) == (2, "")
    assert err.startswith("conslaws: error: unsupported ONNX operator Tanh")
    assert err.count("\n") == 1
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00not a protobuf")
    status, out, err = run_cli(["count", "--onnx", str(garbage)], capsys)
    assert status == 2 and err.startswith("conslaws: error: ONNX file") and out == ""
    status, _, err = run_cli(["count", "--onnx", str(tmp_path / "missing.onnx")], capsys)
    assert status == 2 and "no such file" in err


def test_onnx_files_need_the_onnx_package(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    with pytest.raises(UnsupportedNetworkError, match=r"pip install 'conslaws\[onnx\]'"):
        api.count(tmp_path / "net.onnx", seed=1)


# -- the command line --------------------------------------------------------------------


@needs_onnx
def test_cli_counts_and_finds_laws_of_an_onnx_file(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = str(export(mlp(), (3,), tmp_path / "mlp.onnx"))
    status, out, _ = run_cli(["count", "--onnx", path, "--seed", "1", "--json"], capsys)
    report = json.loads(out)
    assert status == 0 and (report["laws"], report["certified"]) == (4, True)
    assert report["architecture"] == "onnx"
    status, out, _ = run_cli(["laws", f"--onnx={path}", "--degree", "2", "--seed", "1",
                              "--json"], capsys)
    assert status == 0 and json.loads(out)["complete"] is True
    status, out, _ = run_cli(["count", "--onnx", path, "--loss", "cross-entropy", "--seed", "1",
                              "--json"], capsys)
    # Cross-entropy adds the column sums of the last layer (4 hidden units) as laws.
    reference = api.count("relu", widths=(3, 4, 2), loss="cross-entropy", seed=1)
    assert status == 0 and json.loads(out)["laws"] == reference.laws
    status, _, err = run_cli(["count", "--onnx", path, "--widths", "3"], capsys)
    assert status == 2 and "--onnx FILE --help" in err
    status, _, err = run_cli(["count"], capsys)
    assert status == 2 and "ARCH (or --onnx FILE)" in err
    from conslaws.core.frontends.sweep import run_case

    assert run_case(["--onnx", path], "modular", 1)["laws"] == 4


# -- the importers' own examples ---------------------------------------------------------


@pytest.mark.parametrize("name", ["conslaws.core.frontends.importers",
                                  "conslaws.core.frontends.importers.graph_builder",
                                  "conslaws.core.frontends.importers.torch_import",
                                  "conslaws.core.frontends.importers.onnx_import"])
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_builder_refuses_mixed_average_pool_scales() -> None:
    builder = GraphBuilder()
    x = builder.inputs((1, 1, 2))
    pooled = builder.pool(x, "avg", kernel=(2,), stride=(2,), dilation=(1,),
                          padding=[(0, 0)])
    with pytest.raises(UnsupportedNetworkError, match="residual addition"):
        builder.add(pooled, x[..., :1])


@pytest.mark.skipif(not HAS_ONNX, reason="onnx is not installed")
def test_onnx_shape_arithmetic_slices_and_matmul() -> None:
    # What torch's legacy exporter writes: x.view(x.size(0), -1) as Shape, Gather,
    # Unsqueeze, Concat, Reshape; a circular pad as Slice and Concat; MatMul then Add.
    onnx = pytest.importorskip("onnx")
    h, numpy_helper = onnx.helper, onnx.numpy_helper
    w = np.arange(8.0).reshape(4, 2) - 3.0
    nodes = [
        h.make_node("Shape", ["x"], ["shape"]),
        h.make_node("Gather", ["shape", "zero"], ["batch"], axis=0),
        h.make_node("Unsqueeze", ["batch", "axes"], ["batch1"]),
        h.make_node("Concat", ["batch1", "minus_one"], ["target"], axis=0),
        h.make_node("Reshape", ["x", "target"], ["flat"]),
        h.make_node("Slice", ["flat", "start", "end", "axis1"], ["tail"]),
        h.make_node("Concat", ["tail", "flat"], ["wrapped"], axis=1),
        h.make_node("MatMul", ["wrapped", "w"], ["y"]),
        h.make_node("Add", ["y", "b"], ["z"]),
        h.make_node("Relu", ["z"], ["out"]),
    ]
    constants = {"zero": np.array(0), "axes": np.array([0]), "minus_one": np.array([-1]),
                 "start": np.array([2]), "end": np.array([3]), "axis1": np.array([1])}
    initializers = [numpy_helper.from_array(value.astype(np.int64), name)
                    for name, value in constants.items()]
    initializers += [numpy_helper.from_array(w, "w"),
                     numpy_helper.from_array(np.array([0.5, -1.0]), "b")]
    graph = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", 1, [1, 1, 3])],
                         [h.make_tensor_value_info("out", 1, [1, 2])], initializers)
    imported = import_network(h.make_model(graph))
    assert imported.graph.graph["parameters"][:2] == ["w_0_0", "w_0_1"]
    x = np.array([[1.0, -2.0, 0.5], [0.3, 0.2, -0.1]])
    wrapped = np.concatenate([x[:, 2:], x], axis=1)
    want = np.maximum(wrapped @ w + np.array([0.5, -1.0]), 0.0)
    got = GraphNetwork(imported.graph).forward(imported.theta(), x)
    assert np.abs(want - got).max() < 1e-12
    assert imported.graph.graph["layers"]["b_1"] == imported.graph.graph["layers"]["w_0_0"]
