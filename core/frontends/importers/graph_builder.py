"""Network graphs from tensor operations: what the ONNX and PyTorch importers share.

A tensor of the imported network is a numpy array of *graph nodes* (dtype object),
one entry per scalar of the tensor; ``None`` stands for the constant 0 (a zero-padded
border).  Each supported operation (dense and convolution layers, biases, additions,
ReLU and leaky ReLU, max and average pooling) adds the units and edges of
:mod:`conslaws.core.models.graph` that compute it, and reshapes (flatten, view, identity,
dropout) only rearrange the array.

Exactness.  Every edge weight is a parameter or the constant 1, so an average pool's
factor 1/k is left out: its unit sums its window.  Each node records the constant c
with *network value = c × graph value*; ReLU, leaky ReLU and max-pooling are positively
homogeneous, so c passes through them.  A unit whose inputs carry different constants
(a bias or a skip connection added after an average pool) would need a constant edge
weight the format lacks: it is refused.  When every output carries the same c, the
network's φ is c times the graph's, which has the same fields up to scale, hence the
same Lie algebra, count and laws; ``ImportedNetwork.output_scale`` is that c.

Examples
--------
y = relu(w·x + b) on a scalar input, the bias and the ReLU merged into one unit:

>>> builder = GraphBuilder()
>>> x = builder.inputs((1, 1))
>>> w = builder.parameter_array("w", [[0.5]], layer=1)
>>> b = builder.parameter_array("b", [2.0], layer=1)
>>> h = builder.add_bias(builder.dense(x, w), b, fuse=True)
>>> y = builder.activation(h, fuse=True)
>>> net = builder.finish(y)
>>> net.graph.graph["parameters"], net.values
(['w_0_0', 'b_0'], {'w_0_0': 0.5, 'b_0': 2.0})
>>> net.framework_names
{'w_0_0': 'w[0,0]', 'b_0': 'b[0]'}
>>> sorted(kind for _, kind in net.graph.nodes(data="kind"))
['bias', 'input', 'relu']
"""

from __future__ import annotations

import itertools
import keyword
import math
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from conslaws.core.errors import ConslawsError

__all__ = ["PADDING_MODES", "GraphBuilder", "ImportedNetwork", "UnsupportedNetworkError",
           "padded_index", "parameter_name"]

#: A tensor: an object array of graph nodes (None: the constant 0).
Tensor = NDArray[np.object_]

#: Padding modes of convolutions and of ONNX ``Pad``: torch's names, ONNX's in brackets.
PADDING_MODES = ("zeros", "circular", "reflect", "replicate")


class UnsupportedNetworkError(ConslawsError, ValueError):
    """A network uses a layer, operation or option the importers cannot map to a graph."""


@dataclass
class ImportedNetwork:
    """An imported network: its graph, the framework's weights, and the scale c.

    Attributes
    ----------
    graph : networkx.DiGraph
        The graph of :mod:`conslaws.core.models.graph` (parameters in the framework's order,
        named by :func:`parameter_name`).
    values : dict of str to float
        Each parameter's value in the framework's model (its current weights).
    framework_names : dict of str to str
        Each parameter's entry in the framework: ``fc1_weight_3_5`` ->
        ``fc1.weight[3,5]`` (row-major indices into the tensor ``fc1.weight``).
    output_scale : Fraction
        The network's outputs are ``output_scale`` times the graph's (the average
        pools' factors, see the module docstring); 1 without average pooling.
    """

    graph: nx.DiGraph
    values: dict[str, float]
    framework_names: dict[str, str]
    output_scale: Fraction = Fraction(1)

    def theta(self) -> NDArray[np.float64]:
        """The framework's weights in the graph's parameter order (for numeric checks)."""
        return np.array([self.values[name] for name in self.graph.graph["parameters"]])


def parameter_name(tensor: str, index: Sequence[int]) -> str:
    """The name of entry ``index`` of the framework's tensor ``tensor``, as a law can use it.

    Laws are formulas, so names are identifiers: every character that is not a letter,
    digit or ``_`` becomes ``_``, the indices follow with ``_``, and a name that does
    not start with a letter gets a ``p`` in front (torch's ``nn.Sequential`` names its
    layers ``0``, ``1``, ...).

    Examples
    --------
    >>> parameter_name("fc1.weight", (3, 5)), parameter_name("0.bias", (2,))
    ('fc1_weight_3_5', 'p0_bias_2')
    >>> parameter_name("onnx::MatMul_8", (0, 1))
    'onnx__MatMul_8_0_1'
    """
    name = "_".join([re.sub(r"\W", "_", tensor, flags=re.ASCII), *map(str, index)])
    if not name[:1].isalpha() or keyword.iskeyword(name):
        name = "p" + name
    return name


def padded_index(position: int, size: int, before: int, mode: str) -> int | None:
    """The source index of ``position`` along an axis of ``size`` padded by ``before``.

    None when the position is zero padding.  ``mode`` is one of :data:`PADDING_MODES`
    (torch's meanings: circular wraps around, reflect mirrors without repeating the
    edge, replicate repeats the edge).

    Examples
    --------
    >>> [padded_index(k, 3, 2, "circular") for k in range(7)]
    [1, 2, 0, 1, 2, 0, 1]
    >>> [padded_index(k, 3, 2, "reflect") for k in range(7)]
    [2, 1, 0, 1, 2, 1, 0]
    >>> [padded_index(k, 3, 1, "zeros") for k in range(5)]
    [None, 0, 1, 2, None]
    """
    j = position - before
    if 0 <= j < size:
        return j
    if mode == "zeros":
        return None
    if mode == "circular":
        return j % size
    if mode == "replicate":
        return min(max(j, 0), size - 1)
    if mode == "reflect":
        if size == 1:
            return 0
        period = 2 * (size - 1)
        j %= period
        return j if j < size else period - j
    raise UnsupportedNetworkError(f"padding mode {mode!r} is not supported "
                                  f"(supported: {', '.join(PADDING_MODES)})")


@dataclass
class _Parameter:
    rank: tuple[int, int]
    value: float
    layer: int
    framework: str


@dataclass
class GraphBuilder:
    """Builds a network graph operation by operation (see the module docstring).

    ``fuse=True`` on an operation says that its operand has no other use: a fresh
    linear unit is then turned into the activation, or receives the bias or the
    skip edge, instead of feeding a new unit (the graphs of the built-in
    architectures have that shape).
    """

    graph: nx.DiGraph = field(default_factory=nx.DiGraph)
    _inputs: list[Hashable] = field(default_factory=list)
    _parameters: dict[str, _Parameter] = field(default_factory=dict)
    _tensors: int = 0
    _count: int = 0
    _open: set[Hashable] = field(default_factory=set)
    _scale: dict[Hashable, Fraction] = field(default_factory=dict)

    # -- tensors and parameters --------------------------------------------------------

    def inputs(self, shape: Sequence[int]) -> Tensor:
        """The network's input tensor of ``shape``: one input node per entry."""
        array = np.empty(tuple(shape), dtype=object)
        for index in np.ndindex(*array.shape):
            node = ("x", *index)
            self.graph.add_node(node, kind="input")
            self._scale[node] = Fraction(1)
            self._inputs.append(node)
            array[index] = node
        return array

    def parameter_array(self, name: str, values: Any, *, layer: int) -> NDArray[np.object_]:
        """Register the tensor ``name`` of the framework; its entries' names, same shape.

        Entry names are :func:`parameter_name`'s (``name[i,j]`` is ``name_i_j``).
        Tensors registered first come first in the graph's parameter order.
        """
        data = np.asarray(values, dtype=np.float64)
        names = np.empty(data.shape, dtype=object)
        tensor = self._tensors
        self._tensors += 1
        for flat, index in enumerate(np.ndindex(*data.shape)):
            entry = parameter_name(name, index)
            framework = f"{name}[{','.join(map(str, index))}]"
            known = self._parameters.get(entry)
            if known is not None and known.framework != framework:
                raise UnsupportedNetworkError(
                    f"parameters {known.framework} and {framework} would both be named "
                    f"{entry}; rename one of the tensors")
            self._parameters.setdefault(entry, _Parameter((tensor, flat), float(data[index]),
                                                          layer, framework))
            names[index] = entry
        return names

    # -- units ---------------------------------------------------------------------

    def _new(self, kind: str, prefix: str = "n", **attributes: Any) -> Hashable:
        self._count += 1
        node = (prefix, self._count)
        self.graph.add_node(node, kind=kind, **attributes)
        return node

    def _edge(self, source: Hashable, target: Hashable, param: str | None) -> None:
        """An edge; a second one between the same nodes goes through a relay unit."""
        self._open.discard(source)
        if self.graph.has_edge(source, target):
            relay = self._new("linear", "relay")
            self._scale[relay] = self._scale[source]
            self.graph.add_edge(source, relay, param=None)
            source = relay
        self.graph.add_edge(source, target, param=param)

    def _unit(self, kind: str, terms: Sequence[tuple[Hashable, str | None]],
              scale: Fraction = Fraction(1), what: str = "unit",
              attributes: dict[str, Any] | None = None) -> Hashable | None:
        """A unit summing ``terms`` (node, parameter); None for an empty sum (0)."""
        present = [(node, param) for node, param in terms if node is not None]
        if not present:
            return None
        scales = {self._scale[node] for node, _ in present}
        if len(scales) > 1:
            raise UnsupportedNetworkError(
                f"{what} adds values that an average pool scaled differently (factors "
                f"{', '.join(sorted(map(str, scales)))}); the graph format has no constant "
                "edge weights to express that: use max pooling, or no bias/skip after the "
                "average pool")
        node = self._new(kind, **(attributes or {}))
        for source, param in present:
            self._edge(source, node, param)
        self._scale[node] = scales.pop() * scale
        if kind == "linear":
            self._open.add(node)
        return node

    def _fusable(self, tensor: Tensor, fuse: bool) -> bool:
        """Whether each entry is a distinct fresh linear unit that may be changed in place."""
        if not fuse:
            return False
        nodes = [node for node in tensor.flat if node is not None]
        return len(set(nodes)) == len(nodes) and all(node in self._open for node in nodes)

    def _absorb(self, node: Hashable, sources: Sequence[tuple[Hashable, str | None]],
                what: str) -> None:
        """Add edges from ``sources`` into the open unit ``node`` (a fused sum)."""
        scales = {self._scale[node], *(self._scale[s] for s, _ in sources)}
        if len(scales) > 1:
            self._unit("linear", [(node, None), *sources], what=what)  # raises
        for source, param in sources:
            self._edge(source, node, param)

    def dense(self, x: Tensor, weight: NDArray[np.object_]) -> Tensor:
        """``y[..., o] = Σ_j weight[o, j] x[..., j]``: a fully connected layer."""
        out, width = weight.shape
        if x.shape[-1] != width:
            raise UnsupportedNetworkError(
                f"a dense layer of {width} inputs receives a tensor of shape {x.shape}")
        result = np.empty((*x.shape[:-1], out), dtype=object)
        for lead in np.ndindex(*x.shape[:-1]):
            for o in range(out):
                # Index tuples are built apart: mypy reads x[(*lead, j)] as 3.11 syntax.
                terms: list[tuple[Hashable, str | None]] = []
                for j in range(width):
                    source = (*lead, j)
                    terms.append((x[source], weight[o, j]))
                target = (*lead, o)
                result[target] = self._unit("linear", terms)
        return result

    def add_bias(self, x: Tensor, bias: NDArray[np.object_], *, fuse: bool = False) -> Tensor:
        """``x + bias``, ``bias`` broadcast to x's shape as numpy does (one bias node per unit).

        A dense layer's bias has shape (out,); a convolution's (channels, 1, ..., 1).
        """
        try:
            names = np.broadcast_to(bias, x.shape)
        except ValueError:
            raise UnsupportedNetworkError(
                f"a bias of shape {bias.shape} does not fit a tensor of shape {x.shape}"
            ) from None
        fusable = self._fusable(x, fuse)
        result = np.empty(x.shape, dtype=object)
        for index in np.ndindex(*x.shape):
            one = self._new("bias", "one")
            self._scale[one] = Fraction(1)
            node = x[index]
            if fusable and node is not None:
                self._absorb(node, [(one, names[index])], "a bias")
                result[index] = node
            else:
                result[index] = self._unit("linear", [(node, None), (one, names[index])],
                                           what="a bias")
        return result

    def add(self, a: Tensor, b: Tensor, *, fuse_a: bool = False,
            fuse_b: bool = False) -> Tensor:
        """``a + b`` elementwise (numpy broadcasting): a residual connection."""
        try:
            a, b = np.broadcast_arrays(a, b)
        except ValueError:
            raise UnsupportedNetworkError(
                f"cannot add tensors of shapes {a.shape} and {b.shape}") from None
        # An operand broadcast to several entries is not a set of distinct units.
        into_a, into_b = self._fusable(a, fuse_a), self._fusable(b, fuse_b)
        result = np.empty(a.shape, dtype=object)
        for index in np.ndindex(*a.shape):
            left, right = a[index], b[index]
            if left is None or right is None:
                result[index] = right if left is None else left
            elif left == right:  # x + x: two edges from one unit (a relay carries one)
                result[index] = self._unit("linear", [(left, None), (right, None)],
                                           what="a residual addition")
            elif into_b:
                self._absorb(right, [(left, None)], "a residual addition")
                result[index] = right
            elif into_a:
                self._absorb(left, [(right, None)], "a residual addition")
                result[index] = left
            else:
                result[index] = self._unit("linear", [(left, None), (right, None)],
                                           what="a residual addition")
        return result

    def activation(self, x: Tensor, *, slope: Fraction = Fraction(0),
                   fuse: bool = False) -> Tensor:
        """ReLU (``slope`` 0) or leaky ReLU: ``s`` for s > 0, ``slope·s`` below."""
        if slope == 1:
            return x
        attributes = {"slope": slope} if slope else {}
        if self._fusable(x, fuse):
            for node in {node for node in x.flat if node is not None}:
                self.graph.nodes[node].update(kind="relu", **attributes)
                self._open.discard(node)
            fused: Tensor = x.copy()
            return fused
        result = np.empty(x.shape, dtype=object)
        for index in np.ndindex(*x.shape):
            result[index] = self._unit("relu", [(x[index], None)], attributes=attributes)
        return result

    def convolution(self, x: Tensor, weight: NDArray[np.object_], *, stride: Sequence[int],
                    dilation: Sequence[int], padding: Sequence[tuple[int, int]],
                    mode: str = "zeros", groups: int = 1) -> Tensor:
        """An N-d convolution (cross-correlation, as in torch and ONNX) of ``x`` (N, C, ...).

        ``weight`` has shape (out channels, C / groups, kernel...); ``padding`` is
        (before, after) per spatial axis, filled as ``mode`` says; weight sharing puts
        each weight on one edge per output position.
        """
        channels, spatial = x.shape[1], x.shape[2:]
        out_channels, per_group, *kernel = weight.shape
        if channels != per_group * groups or out_channels % groups:
            raise UnsupportedNetworkError(
                f"a convolution with weight shape {weight.shape} and {groups} group(s) "
                f"receives {channels} channels")
        sizes = [(n + pb + pa - d * (k - 1) - 1) // s + 1
                 for n, (pb, pa), k, s, d in zip(spatial, padding, kernel, stride, dilation,
                                                 strict=True)]
        if min(sizes, default=1) < 1:
            raise UnsupportedNetworkError(
                f"a convolution with kernel {tuple(kernel)} does not fit the input {spatial}")
        result = np.empty((x.shape[0], out_channels, *sizes), dtype=object)
        out_per_group = out_channels // groups
        for batch, o in itertools.product(range(x.shape[0]), range(out_channels)):
            first = (o // out_per_group) * per_group
            for position in np.ndindex(*sizes):
                terms: list[tuple[Hashable, str | None]] = []
                for c, taps in itertools.product(range(per_group), np.ndindex(*kernel)):
                    source = []
                    for axis, (p, t) in enumerate(zip(position, taps, strict=True)):
                        source.append(padded_index(p * stride[axis] + t * dilation[axis],
                                                   spatial[axis], padding[axis][0], mode))
                    if None not in source:
                        entry, tap = (batch, first + c, *source), (o, c, *taps)
                        terms.append((x[entry], weight[tap]))
                target = (batch, o, *position)
                result[target] = self._unit("linear", terms)
        return result

    def pool(self, x: Tensor, kind: str, *, kernel: Sequence[int], stride: Sequence[int],
             dilation: Sequence[int], padding: Sequence[tuple[int, int]],
             divisor: int | None = None) -> Tensor:
        """Max (``kind="max"``) or average (``"avg"``) pooling over the last axes of ``x``.

        Padded positions are left out of a max; an average sums its window (zero
        padding adds nothing) and records the factor ``1/divisor`` (default: the
        window's size) as the unit's scale.
        """
        axes = len(kernel)
        lead, spatial = x.shape[:-axes], x.shape[-axes:]
        sizes = [(n + pb + pa - d * (k - 1) - 1) // s + 1
                 for n, (pb, pa), k, s, d in zip(spatial, padding, kernel, stride, dilation,
                                                 strict=True)]
        if min(sizes) < 1:
            raise UnsupportedNetworkError(
                f"a pooling window {tuple(kernel)} does not fit the input {spatial}")
        factor = Fraction(1, divisor or math.prod(kernel))
        result = np.empty((*lead, *sizes), dtype=object)
        for outer in np.ndindex(*lead):
            for position in np.ndindex(*sizes):
                terms: list[tuple[Hashable, str | None]] = []
                for taps in np.ndindex(*kernel):
                    source = [padded_index(p * s + t * d, n, pb, "zeros") for p, t, s, d, n, (pb, _)
                              in zip(position, taps, stride, dilation, spatial, padding,
                                     strict=True)]
                    if None in source:
                        continue
                    entry = (*outer, *source)
                    node: Hashable = x[entry]
                    if node is None and kind == "max":
                        raise UnsupportedNetworkError(
                            "max pooling over a zero-padded or constant-zero entry is not "
                            "supported (the graph's max-pool unit takes its inputs' maximum)")
                    terms.append((node, None))
                target = (*outer, *position)
                if kind == "max":
                    result[target] = self._unit("maxpool", terms)
                else:
                    result[target] = self._unit("linear", terms, scale=factor,
                                                what="an average pool")
        return result

    # -- the result ------------------------------------------------------------------

    def finish(self, outputs: Tensor) -> ImportedNetwork:
        """The graph with ``outputs`` (flattened, row-major) as its output units.

        Parameters on no edge (a tap that only ever meets zero padding, a module that
        is never called) are left out; the others keep the framework's order.
        """
        nodes = []
        for node in outputs.flat:
            if node is None:  # a constant 0 output: a unit with no inputs
                node = self._new("linear")
                self._scale[node] = Fraction(1)
            nodes.append(node)
        if len(set(nodes)) != len(nodes):
            # The same unit listed twice (a padded output): give each listing its own unit.
            seen: set[Hashable] = set()
            for k, node in enumerate(nodes):
                if node in seen:
                    copy = self._unit("linear", [(node, None)])
                    assert copy is not None
                    nodes[k] = copy
                seen.add(nodes[k])
        scales = {self._scale[node] for node in nodes}
        if len(scales) > 1:
            raise UnsupportedNetworkError(
                "the outputs are scaled by different average-pool factors "
                f"({', '.join(sorted(map(str, scales)))}); the graph format cannot express that")
        # Units that reach no output (a computation whose result is dropped) are removed:
        # their parameters would not affect the network.
        live = set(self._inputs).union(nodes, *(nx.ancestors(self.graph, n) for n in nodes))
        self.graph.remove_nodes_from([n for n in list(self.graph) if n not in live])
        used = {param for _, _, param in self.graph.edges(data="param") if param is not None}
        names = sorted(used, key=lambda name: self._parameters[name].rank)
        self.graph.graph.update(parameters=names, inputs=list(self._inputs), outputs=nodes,
                                layers={name: self._parameters[name].layer for name in names})
        values = {name: self._parameters[name].value for name in names}
        framework = {name: self._parameters[name].framework for name in names}
        return ImportedNetwork(self.graph, values, framework, scales.pop())
