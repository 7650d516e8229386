"""ONNX files as network graphs.

The nodes of the ONNX graph are replayed in order on an input of the shape the file
declares (a symbolic batch dimension counts as 1) by
:class:`~conslaws.core.frontends.importers.graph_builder.GraphBuilder`.  Initializers that are
weights (of ``Gemm``, ``MatMul``, ``Conv``) or biases (of ``Gemm``, ``Conv``, or an
``Add`` to a tensor) are the parameters, named ``initializer_i_j`` for the entry
``[i, j]`` (:func:`~conslaws.core.frontends.importers.graph_builder.parameter_name`); torch's
exporter names initializers after the module's parameters (``fc1.weight``), so a module
and its export have the same parameter names.  Other initializers and ``Constant`` nodes are
shapes and pads.

Supported operators: ``Gemm`` (alpha = beta = 1, either transposition of the
weight), ``MatMul`` by a weight, ``Add`` (a bias, or two tensors: a skip connection),
``Conv`` (any strides, dilations, group, pads or ``auto_pad``), ``Pad`` (modes
``constant`` with value 0, ``wrap``, ``reflect``, ``edge``), ``Relu``, ``LeakyRelu``,
``MaxPool`` and ``AveragePool`` (``ceil_mode`` 0), ``Flatten``, ``Reshape``,
``Squeeze``, ``Unsqueeze``, ``Slice``, ``Concat``, ``Identity`` and ``Dropout`` (the
identity, as in inference), and ``Shape``/``Gather`` on shapes (torch's legacy
exporter computes ``x.view(x.size(0), -1)`` so, and circular padding by slices).
Anything else raises :class:`UnsupportedNetworkError` naming it.

Examples
--------
>>> import onnx  # doctest: +SKIP
>>> network_from_onnx("net.onnx").graph.graph["parameters"][:1]  # doctest: +SKIP
['p0_weight_0_0']
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Any

import numpy as np

from conslaws.core.frontends.importers.graph_builder import (
    GraphBuilder,
    ImportedNetwork,
    Tensor,
    UnsupportedNetworkError,
    padded_index,
)

__all__ = ["is_onnx_model", "network_from_onnx"]

#: Operators whose output shares its input's units (rearranged).
ALIASES = frozenset({"Identity", "Dropout", "Flatten", "Reshape", "Squeeze", "Unsqueeze",
                     "Pad", "Slice", "Concat"})
#: ONNX Pad modes and the padding modes of the graph builder (torch's names).
PAD_MODES = {"constant": "zeros", "wrap": "circular", "reflect": "reflect",
             "edge": "replicate"}


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise UnsupportedNetworkError(
            "reading ONNX files needs the onnx package: pip install 'conslaws[onnx]'"
        ) from None
    return onnx


def is_onnx_model(obj: Any) -> bool:
    """Whether ``obj`` looks like a loaded ``onnx.ModelProto`` (duck typing).

    Examples
    --------
    >>> is_onnx_model(object())
    False
    """
    graph = getattr(obj, "graph", None)
    return all(hasattr(graph, name) for name in ("node", "initializer", "input", "output"))


def _load(source: Any) -> Any:
    if is_onnx_model(source):
        return source
    onnx = _onnx()
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise UnsupportedNetworkError(f"ONNX file {path!r}: no such file")
    try:
        return onnx.load(path)
    except Exception as error:  # protobuf's DecodeError and friends
        raise UnsupportedNetworkError(
            f"ONNX file {path!r} cannot be read: {' '.join(str(error).split())[:200]}"
        ) from None


class _Replay:
    """Replays an ONNX graph on node tensors."""

    def __init__(self, model: Any) -> None:
        onnx = _onnx()
        self.helper, self.numpy_helper = onnx.helper, onnx.numpy_helper
        self.graph = model.graph
        self.initializers = {t.name: t for t in self.graph.initializer}
        self.builder = GraphBuilder()
        self.env: dict[str, Any] = {}
        self.uses: dict[str, int] = {}
        for node in self.graph.node:
            for name in node.input:
                self.uses[name] = self.uses.get(name, 0) + 1
        for out in self.graph.output:
            self.uses[out.name] = self.uses.get(out.name, 0) + 1
        self.producer = {name: node for node in self.graph.node for name in node.output}
        self.layers: dict[str, int] = {}
        # Weights and biases, registered in initializer order (torch's parameter order).
        # The layer of a parameter (for --mirror-layers) is the rank of its node among
        # those with parameters; a bias Add belongs to the layer it adds to.
        layer_of_node: dict[str, int] = {}
        positions = {"Gemm": (1, 2), "Conv": (1, 2), "MatMul": (0, 1), "Add": (0, 1)}
        for node in self.graph.node:
            found = [name for k, name in enumerate(node.input)
                     if k in positions.get(node.op_type, ()) and name in self.initializers]
            if not found:
                continue
            source = next((self.producer[name] for name in node.input
                           if name in self.producer), None)
            if node.op_type == "Add" and source is not None and source.output[0] in (
                    layer_of_node):
                layer = layer_of_node[source.output[0]]
            else:
                layer = len(set(layer_of_node.values())) + 1
            layer_of_node[node.output[0]] = layer
            for name in found:
                self.layers.setdefault(name, layer)
        self.parameters = {
            t.name: self.builder.parameter_array(t.name, self.array(t.name),
                                                 layer=self.layers[t.name])
            for t in self.graph.initializer if t.name in self.layers}

    def array(self, name: str) -> Any:
        return self.numpy_helper.to_array(self.initializers[name])

    def constant(self, name: str) -> Any:
        """The value of a constant input (an initializer or a Constant node's output)."""
        if name in self.initializers:
            return self.array(name)
        value = self.env.get(name)
        if isinstance(value, _Constant):
            return value.value
        raise UnsupportedNetworkError(f"input {name!r} must be a constant (a shape or pads)")

    def tensor(self, name: str, op: str) -> Tensor:
        value = self.env.get(name)
        if isinstance(value, np.ndarray):
            return value
        if name in self.parameters:
            raise UnsupportedNetworkError(f"{op}: a weight where the network's data is "
                                          "expected (a product of two weights) is not supported")
        raise UnsupportedNetworkError(f"{op}: input {name!r} is not a tensor of the network")

    def attributes(self, node: Any) -> dict[str, Any]:
        values = {a.name: self.helper.get_attribute_value(a) for a in node.attribute}
        return {k: v.decode() if isinstance(v, bytes) else v for k, v in values.items()}

    def run(self) -> ImportedNetwork:
        inputs = [i for i in self.graph.input if i.name not in self.initializers]
        if len(inputs) != 1 or len(self.graph.output) != 1:
            raise UnsupportedNetworkError(
                f"the ONNX graph has {len(inputs)} inputs and {len(self.graph.output)} "
                "outputs; one of each is supported")
        dims = [d.dim_value if d.HasField("dim_value") else 1
                for d in inputs[0].type.tensor_type.shape.dim]
        if len(dims) > 1:
            dims[0] = 1  # the batch axis: one sample
        if not dims or min(dims) < 1:
            raise UnsupportedNetworkError(f"the ONNX input {inputs[0].name!r} has no "
                                          "usable shape")
        self.env[inputs[0].name] = self.builder.inputs(dims)
        for node in self.graph.node:
            outputs = self.apply(node)
            for name, value in zip(node.output, outputs, strict=False):
                self.env[name] = value
        result = self.env.get(self.graph.output[0].name)
        if not isinstance(result, np.ndarray):
            raise UnsupportedNetworkError("the ONNX output is not computed from the input")
        return self.builder.finish(result[0] if result.ndim > 1 else result)

    def fuse(self, name: str) -> bool:
        """Whether the tensor ``name`` has one use (and so has what a reshape of it shares)."""
        while self.uses.get(name, 0) == 1:
            node = self.producer.get(name)
            if node is None or node.op_type not in ALIASES:
                return True
            name = node.input[0]
        return False

    def apply(self, node: Any) -> list[Any]:
        op, b = node.op_type, self.builder
        attrs = self.attributes(node)
        ins = list(node.input)
        if op == "Constant":
            value = attrs.get("value")
            if value is None:
                raise UnsupportedNetworkError("Constant: only the 'value' attribute is supported")
            return [_Constant(self.numpy_helper.to_array(value))]
        if op in ("Identity", "Dropout"):
            return [self.env.get(ins[0]) if ins[0] in self.env else _Constant(
                self.constant(ins[0]))]
        if op == "Gemm":
            if attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0 or attrs.get(
                    "transA", 0):
                raise UnsupportedNetworkError("Gemm with alpha or beta other than 1, or transA, "
                                              "is not supported")
            weight = self.weight(ins[1], op)
            y = b.dense(self.tensor(ins[0], op), weight if attrs.get("transB", 0) else weight.T)
            if len(ins) > 2 and ins[2]:
                y = b.add_bias(y, self.weight(ins[2], op).reshape(-1), fuse=True)
            return [y]
        if op == "MatMul":
            return [b.dense(self.tensor(ins[0], op), self.weight(ins[1], op).T)]
        if op == "Add":
            return [self.add(ins)]
        if op == "Conv":
            return [self.conv(node, attrs, ins)]
        if op == "Pad":
            return [self.pad(attrs, ins)]
        if op == "Relu":
            return [b.activation(self.tensor(ins[0], op), fuse=self.fuse(ins[0]))]
        if op == "LeakyRelu":
            # alpha is a float32: its shortest decimal (0.1, not 0.100000001...).
            slope = Fraction(str(np.float32(attrs.get("alpha", 0.01))))
            return [b.activation(self.tensor(ins[0], op), slope=slope, fuse=self.fuse(ins[0]))]
        if op in ("MaxPool", "AveragePool"):
            return self.pool(op, attrs, ins)
        if op == "Flatten":
            x = self.tensor(ins[0], op)
            axis = int(attrs.get("axis", 1))
            axis = axis + x.ndim if axis < 0 else axis
            return [x.reshape((int(np.prod(x.shape[:axis])), -1))]
        if op == "Reshape":
            x = self.tensor(ins[0], op)
            shape = [int(d) for d in self.constant(ins[1])]
            if not attrs.get("allowzero", 0):
                shape = [x.shape[k] if d == 0 else d for k, d in enumerate(shape)]
            try:
                return [x.reshape(shape)]
            except ValueError:
                raise UnsupportedNetworkError(
                    f"Reshape of a tensor of shape {x.shape} to {shape}") from None
        if op in ("Squeeze", "Unsqueeze"):
            return [self.squeeze(op, attrs, ins)]
        if op == "Slice":
            return [self.slice(ins)]
        if op == "Concat":
            parts: list[Any] = [self.env.get(name) if isinstance(self.env.get(name), np.ndarray)
                                else self.constant(name) for name in ins]
            joined: Any = np.concatenate(parts, axis=int(attrs["axis"]))
            return [joined if any(isinstance(self.env.get(n), np.ndarray) for n in ins)
                    else _Constant(joined)]
        if op == "Shape":
            return [_Constant(np.array(self.tensor(ins[0], op).shape, dtype=np.int64))]
        if op == "Gather":
            data, indices = self.constant(ins[0]), self.constant(ins[1])
            return [_Constant(np.take(data, indices, axis=int(attrs.get("axis", 0))))]
        raise UnsupportedNetworkError(
            f"unsupported ONNX operator {op} (node {node.name or node.output[0]!r})")

    def weight(self, name: str, op: str) -> Any:
        if name not in self.parameters:
            raise UnsupportedNetworkError(
                f"{op}: the weight {name!r} must be an initializer (a product of two tensors "
                "of the network is not supported)")
        return self.parameters[name]

    def add(self, ins: list[str]) -> Tensor:
        b = self.builder
        left, right = ins
        if right in self.parameters or left in self.parameters:
            data, bias = (left, right) if right in self.parameters else (right, left)
            x = self.tensor(data, "Add")
            names = self.parameters[bias]
            return b.add_bias(x, names, fuse=self.fuse(data))
        return b.add(self.tensor(left, "Add"), self.tensor(right, "Add"),
                     fuse_a=self.fuse(left) and left != right,
                     fuse_b=self.fuse(right) and left != right)

    @staticmethod
    def pads(attrs: dict[str, Any], spatial: tuple[int, ...], kernel: list[int],
             stride: list[int], dilation: list[int], op: str) -> list[tuple[int, int]]:
        axes = len(kernel)
        auto = attrs.get("auto_pad", "NOTSET")
        if auto in ("NOTSET", "VALID"):
            pads = list(attrs.get("pads", [0] * (2 * axes))) if auto == "NOTSET" else [0] * (
                2 * axes)
            return [(int(pads[k]), int(pads[k + axes])) for k in range(axes)]
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            result = []
            for n, k, s, d in zip(spatial, kernel, stride, dilation, strict=True):
                out = -(-n // s)
                total = max(0, (out - 1) * s + d * (k - 1) + 1 - n)
                small, large = total // 2, total - total // 2
                result.append((small, large) if auto == "SAME_UPPER" else (large, small))
            return result
        raise UnsupportedNetworkError(f"{op}: auto_pad {auto!r} is not supported")

    def conv(self, node: Any, attrs: dict[str, Any], ins: list[str]) -> Tensor:
        x = self.tensor(ins[0], "Conv")
        weight = self.weight(ins[1], "Conv")
        kernel = [int(k) for k in weight.shape[2:]]
        axes = len(kernel)
        stride = [int(s) for s in attrs.get("strides", [1] * axes)]
        dilation = [int(d) for d in attrs.get("dilations", [1] * axes)]
        padding = self.pads(attrs, x.shape[2:], kernel, stride, dilation, "Conv")
        y = self.builder.convolution(x, weight, stride=stride, dilation=dilation,
                                     padding=padding, groups=int(attrs.get("group", 1)))
        if len(ins) > 2 and ins[2]:
            bias = self.weight(ins[2], "Conv")
            y = self.builder.add_bias(y, bias.reshape((-1,) + (1,) * axes), fuse=True)
        return y

    def pad(self, attrs: dict[str, Any], ins: list[str]) -> Tensor:
        x = self.tensor(ins[0], "Pad")
        mode = attrs.get("mode", "constant")
        if mode not in PAD_MODES:
            raise UnsupportedNetworkError(f"Pad: mode {mode!r} is not supported")
        if len(ins) > 2 and ins[2] and np.any(self.constant(ins[2])):
            raise UnsupportedNetworkError("Pad: a constant other than 0 is not supported")
        if len(ins) > 3 and ins[3]:
            raise UnsupportedNetworkError("Pad: the axes input is not supported")
        pads = [int(p) for p in self.constant(ins[1])]
        n = x.ndim
        if len(pads) != 2 * n or min(pads) < 0:
            raise UnsupportedNetworkError(f"Pad: pads {pads} (negative pads, or not one pair "
                                          "per axis) are not supported")
        shape = tuple(s + pads[k] + pads[k + n] for k, s in enumerate(x.shape))
        result = np.empty(shape, dtype=object)
        for index in np.ndindex(*shape):
            source = [padded_index(i, x.shape[k], pads[k], PAD_MODES[mode])
                      for k, i in enumerate(index)]
            result[index] = None if None in source else x[tuple(source)]
        return result

    def pool(self, op: str, attrs: dict[str, Any], ins: list[str]) -> list[Any]:
        x = self.tensor(ins[0], op)
        kernel = [int(k) for k in attrs["kernel_shape"]]
        axes = len(kernel)
        if attrs.get("ceil_mode", 0):
            raise UnsupportedNetworkError(f"{op} with ceil_mode=1 is not supported")
        stride = [int(s) for s in attrs.get("strides", [1] * axes)]
        dilation = [int(d) for d in attrs.get("dilations", [1] * axes)]
        padding = self.pads(attrs, x.shape[-axes:], kernel, stride, dilation, op)
        if op == "MaxPool":
            return [self.builder.pool(x, "max", kernel=kernel, stride=stride,
                                      dilation=dilation, padding=padding)]
        if not attrs.get("count_include_pad", 0) and any(p for pair in padding for p in pair):
            raise UnsupportedNetworkError(
                "AveragePool with count_include_pad=0 and pads divides border windows by "
                "fewer entries: not supported")
        return [self.builder.pool(x, "avg", kernel=kernel, stride=stride, dilation=dilation,
                                  padding=padding)]

    def slice(self, ins: list[str]) -> Any:
        """``Slice`` (opset 10 and later: starts, ends, axes and steps are inputs)."""
        value = self.env.get(ins[0])
        x = value if isinstance(value, np.ndarray) else self.constant(ins[0])
        starts, ends = self.constant(ins[1]), self.constant(ins[2])
        axes = self.constant(ins[3]) if len(ins) > 3 and ins[3] else range(len(starts))
        steps = self.constant(ins[4]) if len(ins) > 4 and ins[4] else [1] * len(starts)
        index: list[slice] = [slice(None)] * x.ndim
        for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
            # ONNX clamps out-of-range bounds (ends of ±2**63 - 1 mean "to the end") as
            # Python slices do.
            index[int(axis)] = slice(int(start), int(end), int(step))
        result = x[tuple(index)]
        return result if isinstance(value, np.ndarray) else _Constant(result)

    def squeeze(self, op: str, attrs: dict[str, Any], ins: list[str]) -> Any:
        value = self.env.get(ins[0])
        if not isinstance(value, np.ndarray):  # shape arithmetic on a constant
            data = np.asarray(self.constant(ins[0]))
            axes = ([int(a) for a in self.constant(ins[1])] if len(ins) > 1 and ins[1]
                    else [int(a) for a in attrs.get("axes", [])])
            if op == "Unsqueeze":
                return _Constant(np.expand_dims(data, tuple(axes)))
            return _Constant(np.squeeze(data, tuple(axes)) if axes else np.squeeze(data))
        x = self.tensor(ins[0], op)
        if len(ins) > 1 and ins[1]:
            axes = [int(a) for a in self.constant(ins[1])]
        else:
            axes = [int(a) for a in attrs.get("axes", [])]
        if op == "Squeeze":
            axes = [a % x.ndim for a in axes] or [k for k, d in enumerate(x.shape) if d == 1]
            return x.reshape([d for k, d in enumerate(x.shape) if k not in axes])
        rank = x.ndim + len(axes)
        shape = list(x.shape)
        for a in sorted(a % rank for a in axes):
            shape.insert(a, 1)
        return x.reshape(shape)


class _Constant:
    """A constant value of the ONNX graph (a shape, pads), not a tensor of the network."""

    def __init__(self, value: Any) -> None:
        self.value = value


def network_from_onnx(source: Any) -> ImportedNetwork:
    """The network graph of an ONNX model (see the module docstring for what is supported).

    Parameters
    ----------
    source : path or onnx.ModelProto
        An ``.onnx`` file (a path: ``str`` or ``os.PathLike``) or a loaded model.

    Returns
    -------
    ImportedNetwork
        The graph, the initializers' values by parameter name, and the output scale.

    Raises
    ------
    UnsupportedNetworkError
        A missing or unreadable file, or an operator or attribute the graph format
        cannot express, named.
    """
    return _Replay(_load(source)).run()
