"""PyTorch modules as network graphs, through ``torch.fx``.

The module is traced symbolically (:func:`torch.fx.symbolic_trace`) and each node of
the traced graph is replayed on an example input of shape ``(1, *input_shape)`` by
:class:`~conslaws.core.frontends.importers.graph_builder.GraphBuilder`.  Parameter names
are torch's own, made identifiers
(:func:`~conslaws.core.frontends.importers.graph_builder.parameter_name`):
``fc1_weight_3_5`` is ``dict(module.named_parameters())["fc1.weight"][3, 5]``, and
``p0_weight_3_5`` the entry of layer ``0`` of an ``nn.Sequential``; a module called
twice shares its weights.

Supported
---------
* modules: ``Linear``, ``Conv1d``/``Conv2d``/``Conv3d`` (any stride, dilation, groups,
  padding given as numbers, ``"valid"`` or ``"same"``, padding modes ``zeros``,
  ``circular``, ``reflect`` and ``replicate``), ``ReLU``, ``LeakyReLU``,
  ``MaxPool1d``/``2d`` and ``AvgPool1d``/``2d`` (``ceil_mode=False``), ``Flatten``,
  ``Unflatten``, ``Identity``, ``Dropout`` (as in eval mode: the identity);
* functions and methods: ``torch.relu``, ``F.relu``, ``F.leaky_relu``, ``operator.add``,
  ``torch.add``, ``torch.flatten``, ``x.relu()``, ``x.flatten()``, ``x.view``,
  ``x.reshape``, ``x.size``, ``x + y``.

Anything else raises :class:`UnsupportedNetworkError` naming it.

Examples
--------
>>> import torch  # doctest: +SKIP
>>> net = torch.nn.Sequential(torch.nn.Linear(3, 4, bias=False), torch.nn.ReLU(),
...                           torch.nn.Linear(4, 2, bias=False))  # doctest: +SKIP
>>> imported = network_from_torch(net, input_shape=(3,))  # doctest: +SKIP
>>> imported.graph.graph["parameters"][:2]  # doctest: +SKIP
['p0_weight_0_0', 'p0_weight_0_1']
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from conslaws.core.frontends.importers.graph_builder import (
    PADDING_MODES,
    GraphBuilder,
    ImportedNetwork,
    Tensor,
    UnsupportedNetworkError,
)

__all__ = ["network_from_torch"]


def _torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - a module was given, so torch is there
        raise UnsupportedNetworkError("importing a PyTorch module needs torch") from None
    return torch


def shape_argument(input_shape: Any) -> tuple[int, ...]:
    """``input_shape``: the shape of one sample, without the batch dimension.

    Examples
    --------
    >>> shape_argument([1, 5])
    (1, 5)
    >>> shape_argument(3)
    (3,)
    """
    if isinstance(input_shape, int) and not isinstance(input_shape, bool):
        input_shape = (input_shape,)
    try:
        dims = tuple(input_shape)
    except TypeError:
        dims = ()
    if not dims or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                           for d in dims):
        raise UnsupportedNetworkError(
            f"input_shape must be the shape of one sample (positive integers, without the "
            f"batch dimension), e.g. (3,) or (1, 16), got {input_shape!r}",
            argument="input_shape")
    return dims


def _tuple(value: Any, axes: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, tuple | list) else (int(value),) * axes


def _slope(value: float) -> Fraction:
    # The decimal the user wrote (0.01), not the binary double nearest to it.
    return Fraction(str(value))


class _Replay:
    """Replays one traced module on node tensors."""

    def __init__(self, module: Any) -> None:
        torch = _torch()
        self.torch = torch
        self.module = module
        try:
            self.traced = torch.fx.symbolic_trace(module)
        except Exception as error:  # fx raises many types for untraceable code
            raise UnsupportedNetworkError(
                f"torch.fx cannot trace {type(module).__name__}: "
                f"{' '.join(str(error).split())[:200]}") from None
        self.builder = GraphBuilder()
        # Tied weights: named_parameters lists a shared tensor once, under its first name.
        self.names = {id(p): name for name, p in module.named_parameters()}
        self.arrays: dict[str, Any] = {}

    def run(self, shape: tuple[int, ...]) -> ImportedNetwork:
        graph = self.traced.graph
        # Register every parameter tensor in named_parameters order, so the graph's
        # parameter order is torch's whatever order the layers are called in.
        # The layer of a parameter (for --mirror-layers): the rank of the first call
        # of its module among the calls of modules with parameters.
        layer_of: dict[str, int] = {}
        for node in graph.nodes:
            if node.op == "call_module":
                sub = self.traced.get_submodule(node.target)
                names = [self.names[id(p)] for p in sub.parameters(recurse=False)]
                layer = len(set(layer_of.values())) + 1
                for name in names:
                    layer_of.setdefault(name, layer)
        for name, p in self.module.named_parameters():
            if name in layer_of:
                self.arrays[name] = self.builder.parameter_array(
                    name, p.detach().cpu().double().numpy(), layer=layer_of[name])
        env: dict[Any, Any] = {}
        output: Any = None
        placeholders = [n for n in graph.nodes if n.op == "placeholder"]
        if len(placeholders) != 1:
            raise UnsupportedNetworkError(
                f"the module's forward takes {len(placeholders)} inputs; one is supported")
        for node in graph.nodes:
            if node.op == "placeholder":
                env[node] = self.builder.inputs((1, *shape))
            elif node.op == "output":
                output = self.value(node.args[0], env)
            elif node.op == "call_module":
                env[node] = self.call_module(node, env)
            elif node.op in ("call_function", "call_method"):
                env[node] = self.call_function(node, env)
            else:
                raise UnsupportedNetworkError(
                    f"unsupported operation {node.op} {node.target!r} (a tensor used directly "
                    f"in forward; wrap it in a supported module)")
        if not isinstance(output, np.ndarray) or output.ndim < 1 or output.shape[0] != 1:
            raise UnsupportedNetworkError(
                "the module's forward must return one tensor with the batch axis first")
        return self.builder.finish(output[0])

    def value(self, arg: Any, env: dict[Any, Any]) -> Any:
        if isinstance(arg, tuple | list):
            return type(arg)(self.value(a, env) for a in arg)
        return env[arg] if hasattr(arg, "op") else arg

    def fuse(self, node: Any, operand: int = 0) -> bool:
        """Whether the node's operand has no other use: its units may be merged into it.

        A reshape shares its input's units, so every tensor up the chain of reshapes
        must have this one use too.
        """
        value: Any = node.args[operand] if len(node.args) > operand else None
        while hasattr(value, "users"):
            if len(value.users) != 1:
                return False
            if not self.is_alias(value):
                return True
            value = value.args[0]
        return False

    def is_alias(self, node: Any) -> bool:
        """Whether the traced node only rearranges its input's units (a reshape)."""
        nn = self.torch.nn
        if node.op == "call_module":
            return isinstance(self.traced.get_submodule(node.target),
                              nn.Flatten | nn.Unflatten | nn.Identity | nn.Dropout)
        if node.op == "call_method":
            return node.target in ("view", "reshape", "flatten")
        return bool(node.op == "call_function" and node.target is self.torch.flatten)

    def tensor(self, value: Any, what: str) -> Tensor:
        if not isinstance(value, np.ndarray):
            raise UnsupportedNetworkError(f"{what} expects a tensor, got {value!r}")
        return value

    def call_module(self, node: Any, env: dict[Any, Any]) -> Any:
        nn = self.torch.nn
        sub = self.traced.get_submodule(node.target)
        args = [self.value(a, env) for a in node.args]
        if node.kwargs or len(args) != 1:
            raise UnsupportedNetworkError(f"module {node.target!r} ({type(sub).__name__}) "
                                          "called with more than one argument")
        x = self.tensor(args[0], f"module {node.target!r}")
        b = self.builder
        if isinstance(sub, nn.Linear):
            y = b.dense(x, self.arrays[self.names[id(sub.weight)]])
            if sub.bias is not None:
                y = b.add_bias(y, self.arrays[self.names[id(sub.bias)]], fuse=True)
            return y
        if isinstance(sub, nn.Conv1d | nn.Conv2d | nn.Conv3d):
            return self.conv(sub, x)
        if isinstance(sub, nn.ReLU):
            return b.activation(x, fuse=self.fuse(node))
        if isinstance(sub, nn.LeakyReLU):
            return b.activation(x, slope=_slope(sub.negative_slope), fuse=self.fuse(node))
        if isinstance(sub, nn.MaxPool1d | nn.MaxPool2d | nn.AvgPool1d | nn.AvgPool2d):
            return self.pool(sub, x)
        if isinstance(sub, nn.Flatten):
            return _flatten(x, sub.start_dim, sub.end_dim)
        if isinstance(sub, nn.Unflatten):
            dim = sub.dim % x.ndim
            return x.reshape((*x.shape[:dim], *sub.unflattened_size, *x.shape[dim + 1:]))
        if isinstance(sub, nn.Identity | nn.Dropout):
            return x
        raise UnsupportedNetworkError(
            f"unsupported module {node.target!r}: {type(sub).__name__} (supported: Linear, "
            "Conv1d/2d/3d, ReLU, LeakyReLU, MaxPool1d/2d, AvgPool1d/2d, Flatten, Unflatten, "
            "Identity, Dropout)")

    def conv(self, sub: Any, x: Tensor) -> Tensor:
        axes = x.ndim - 2
        if sub.padding_mode not in PADDING_MODES:
            raise UnsupportedNetworkError(f"padding_mode {sub.padding_mode!r} is not supported")
        kernel = _tuple(sub.kernel_size, axes)
        dilation = _tuple(sub.dilation, axes)
        if sub.padding == "valid":
            padding = [(0, 0)] * axes
        elif sub.padding == "same":
            # torch's split: the smaller half before, the larger after.
            totals = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
            padding = [(t // 2, t - t // 2) for t in totals]
        else:
            padding = [(p, p) for p in _tuple(sub.padding, axes)]
        y = self.builder.convolution(
            x, self.arrays[self.names[id(sub.weight)]], stride=_tuple(sub.stride, axes),
            dilation=dilation, padding=padding, mode=sub.padding_mode, groups=sub.groups)
        if sub.bias is not None:
            bias = self.arrays[self.names[id(sub.bias)]]
            y = self.builder.add_bias(y, bias.reshape((-1,) + (1,) * axes), fuse=True)
        return y

    def pool(self, sub: Any, x: Tensor) -> Tensor:
        nn = self.torch.nn
        axes = 1 if isinstance(sub, nn.MaxPool1d | nn.AvgPool1d) else 2
        name = type(sub).__name__
        if sub.ceil_mode:
            raise UnsupportedNetworkError(f"{name} with ceil_mode=True is not supported")
        kernel = _tuple(sub.kernel_size, axes)
        stride = _tuple(sub.stride if sub.stride not in (None, ()) else kernel, axes)
        padding = [(p, p) for p in _tuple(sub.padding, axes)]
        if isinstance(sub, nn.MaxPool1d | nn.MaxPool2d):
            if sub.return_indices:
                raise UnsupportedNetworkError(f"{name} with return_indices=True is not supported")
            return self.builder.pool(x, "max", kernel=kernel, stride=stride, padding=padding,
                                     dilation=_tuple(sub.dilation, axes))
        if not sub.count_include_pad and any(p for p, _ in padding):
            raise UnsupportedNetworkError(
                f"{name} with count_include_pad=False and padding divides border windows by "
                "fewer entries: not supported")
        divisor = getattr(sub, "divisor_override", None)
        return self.builder.pool(x, "avg", kernel=kernel, stride=stride, padding=padding,
                                 dilation=(1,) * axes, divisor=divisor)

    def call_function(self, node: Any, env: dict[Any, Any]) -> Any:
        torch, F = self.torch, self.torch.nn.functional
        args = [self.value(a, env) for a in node.args]
        kwargs = {k: self.value(v, env) for k, v in node.kwargs.items()}
        target = node.target
        b = self.builder
        if node.op == "call_method":
            x = args[0]
            if target == "size" and isinstance(x, np.ndarray):
                return x.shape if not args[1:] else x.shape[args[1]]
            if target in ("view", "reshape") and isinstance(x, np.ndarray):
                dims = args[1] if len(args) == 2 and isinstance(args[1], Sequence) else args[1:]
                return _reshape(x, dims)
            if target == "flatten":
                return _flatten(self.tensor(x, "flatten"), *args[1:], **kwargs)
            if target == "relu":
                return b.activation(self.tensor(x, "relu"), fuse=self.fuse(node))
            if target == "add" and not kwargs:
                return self.add(node, args)
            raise UnsupportedNetworkError(f"unsupported tensor method .{target}()")
        if target in (torch.relu, F.relu) and not kwargs.get("inplace", False):
            return b.activation(self.tensor(args[0], "relu"), fuse=self.fuse(node))
        if target is F.leaky_relu:
            slope = args[1] if len(args) > 1 else kwargs.get("negative_slope", 0.01)
            return b.activation(self.tensor(args[0], "leaky_relu"), slope=_slope(slope),
                                fuse=self.fuse(node))
        if target in (operator.add, torch.add) and not kwargs:
            return self.add(node, args)
        if target is torch.flatten:
            return _flatten(self.tensor(args[0], "torch.flatten"), *args[1:], **kwargs)
        if target is getattr and args[1:] == ["shape"] and isinstance(args[0], np.ndarray):
            return args[0].shape
        if target is operator.getitem and isinstance(args[0], tuple):
            return args[0][args[1]]
        name = getattr(target, "__name__", repr(target))
        raise UnsupportedNetworkError(f"unsupported function {name} (node {node.name!r})")

    def add(self, node: Any, args: list[Any]) -> Any:
        left, right = args
        if not (isinstance(left, np.ndarray) and isinstance(right, np.ndarray)):
            if isinstance(left, np.ndarray) or isinstance(right, np.ndarray):
                raise UnsupportedNetworkError(
                    "adding a constant to a tensor is not supported (only tensor + tensor, "
                    "a residual connection)")
            return left + right  # shape arithmetic
        return self.builder.add(left, right, fuse_a=self.fuse(node, 0),
                                fuse_b=self.fuse(node, 1))


def _flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    start, end = start_dim % x.ndim, end_dim % x.ndim
    return x.reshape((*x.shape[:start], -1, *x.shape[end + 1:]))


def _reshape(x: Tensor, dims: Sequence[Any]) -> Tensor:
    try:
        return x.reshape(tuple(int(d) for d in dims))
    except (TypeError, ValueError):
        raise UnsupportedNetworkError(
            f"cannot reshape a tensor of shape {x.shape} to {tuple(dims)!r}") from None


def network_from_torch(module: Any, *, input_shape: Any) -> ImportedNetwork:
    """The network graph of a PyTorch module (see the module docstring for what is supported).

    Parameters
    ----------
    module : torch.nn.Module
        The network; its forward must take one tensor and return one tensor.
    input_shape : int or sequence of int
        The shape of one input sample, without the batch dimension: ``(3,)`` for a
        ``Linear(3, ...)`` first layer, ``(channels, length)`` for ``Conv1d``.

    Returns
    -------
    ImportedNetwork
        The graph, the module's current weights by parameter name, and the output scale.

    Raises
    ------
    UnsupportedNetworkError
        A module, function or option that the graph format cannot express, named.
    """
    return _Replay(module).run(shape_argument(input_shape))
