"""Multi-layer 1-D and 2-D multi-channel circular convolutions with ReLU.

Channels ``c0,c1,...,cL`` give L convolution layers; layer l maps the c(l-1)
channels of layer l-1 to c(l) channels with kernel size K(l) (``--kernels``, one
per layer; in 2-D a kernel K has K x K taps).  Layer 0 is the input: c0 signals
of length p (``--dims 1``, the default) or c0 images of p x p pixels
(``--dims 2``, ``--length`` is the side).  Indices wrap around (circular
convolution), in both directions in 2-D.  Unit o of layer l at position τ is

``Σ_i Σ_a W · h_i[(s_l·τ + a - 1) mod n(l-1)]``  (1-D; in 2-D the same on each axis)

with stride s_1 = s (``--stride``) in the first layer and s_l = 1 after it, so
every layer after the input has side n = ceil(p / s).  Hidden layers 1..L-1 are
ReLU units (or another ``--activation``), layer L is linear.  With ``--bias``
every hidden unit also adds b{l}_{o}, one bias per hidden channel shared over
positions; the output layer
has none (as in :mod:`conslaws.architectures.layered`).  Each filter weight, and
each bias, sits on one edge per position of its layer (weight sharing).

Parameters, layer by layer, each layer's weights then its biases:

* two layers in 1-D (the original ``conv``): ``v{j}_{i}_{a}`` (hidden channel j,
  input channel i, tap a), ``b1_{j}`` with ``--bias``, then ``u{k}_{j}_{b}``
  (output channel k, hidden channel j, tap b);
* otherwise ``W{l}_{o}_{i}_{a}`` in 1-D or ``W{l}_{o}_{i}_{a}_{b}`` in 2-D (layer
  l, output channel o, input channel i, tap a, and tap b along the second axis),
  and ``b{l}_{o}``;

all counted from 1, weights ordered by o, then i, then taps.  Layer numbers
(``--flow mirror --mirror-layers``) are the l of each parameter: 1 for v and
b1, 2 for u.

Examples
--------
>>> model = ConvArchitecture().model(channels="1,2,1", kernels="2,2", length=3)
>>> model.dimension
8
>>> deep = ConvArchitecture().model(channels="1,2,1,1", kernels="2,1,2", length=3,
...                                 dims=2, bias=True)
>>> deep.parameter_names[:4], deep.dimension
(('W1_1_1_1_1', 'W1_1_1_1_2', 'W1_1_1_2_1', 'W1_1_1_2_2'), 17)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from itertools import product
from typing import Any, ClassVar

import networkx as nx

from conslaws.core.errors import InvalidOptionError
from conslaws.core.models.model import Model
from conslaws.core.plugins.architecture import (
    ACTIVATION_OPTION,
    LOSS_OPTION,
    SLOPE_OPTION,
    Architecture,
    Option,
    describe_options,
    parse_flag,
    parse_positive_int,
    parse_widths,
)
from conslaws.core.validation import ModelSize

__all__ = ["ConvArchitecture"]


def _parse_channels(value: Any, flag: str) -> tuple[int, ...]:
    """At least two channel counts, input to output."""
    return parse_widths(value, flag, minimum_length=2)


def _parse_kernels(value: Any, flag: str) -> tuple[int, ...]:
    """One kernel size per layer; their number is checked against ``--channels``."""
    return parse_widths(value, flag, minimum_length=1)


def _parse_dims(value: Any, flag: str) -> int:
    """1 (signals) or 2 (images)."""
    try:
        dims = parse_positive_int(value, flag)
    except InvalidOptionError:
        dims = 0
    if dims not in (1, 2):
        raise InvalidOptionError(f"{flag} must be 1 or 2, got {value!r}")
    return dims


@dataclass(frozen=True)
class _Layout:
    """The checked shape of a convolution, from its options alone.

    ``sides[l]`` is the side of layer l's signal (l = 0 is the input) and
    ``strides[l - 1]`` the stride of layer l.
    """

    dims: int
    channels: tuple[int, ...]
    kernels: tuple[int, ...]
    sides: tuple[int, ...]
    strides: tuple[int, ...]
    bias: bool

    @property
    def depth(self) -> int:
        """The number L of convolution layers."""
        return len(self.kernels)

    @property
    def classic(self) -> bool:
        """Two layers in 1-D: the original model, whose parameters are named v and u."""
        return self.dims == 1 and self.depth == 2

    def biased(self, layer: int) -> bool:
        """Whether ``layer`` has biases (hidden layers only)."""
        return self.bias and layer < self.depth

    def units(self, layer: int) -> int:
        """Positions of one channel of ``layer``."""
        return int(self.sides[layer] ** self.dims)

    def taps(self, layer: int) -> int:
        """Taps of one filter of ``layer`` (from one input channel)."""
        return int(self.kernels[layer - 1] ** self.dims)


def _layout(options: dict[str, Any]) -> _Layout:
    """Check the options against each other; arithmetic only, so huge shapes are cheap."""
    channels, kernels = options["channels"], options["kernels"]
    p, s, dims = options["length"], options["stride"], options["dims"]
    depth = len(channels) - 1
    if len(kernels) != depth:
        raise InvalidOptionError(
            f"conv: --kernels has {len(kernels)} value(s) but --channels "
            f"{','.join(map(str, channels))} has {depth} layer(s): give one kernel size per layer")
    if s > p:
        where = f"the signal ({p})" if dims == 1 else f"the side of the {p}x{p} image"
        raise InvalidOptionError(f"conv: --stride {s} is longer than {where}")
    q = -(-p // s)  # side of every layer after the input: ceil(p / s)
    sides = (p,) + (q,) * depth
    # Taps wrap around: a kernel longer than its input would put two taps on one edge.
    for layer, kernel in enumerate(kernels, start=1):
        if kernel > sides[layer - 1]:
            if dims == 1:
                where = (f"the signal ({p})" if layer == 1 else
                         f"the hidden signal ({q} = ceil({p}/{s}))")
            else:
                where = (f"the side of the {p}x{p} image" if layer == 1 else
                         f"the side of the hidden {q}x{q} image ({q} = ceil({p}/{s}))")
            raise InvalidOptionError(
                f"conv: --kernels: kernel {kernel} of layer {layer} is longer than {where}")
    return _Layout(dims, tuple(channels), tuple(kernels), sides, (s,) + (1,) * (depth - 1),
                   bool(options["bias"]))


def _node(layout: _Layout, layer: int, channel: int, position: tuple[int, ...]) -> Hashable:
    """``("x" | "h" | "h{l}" | "y", channel, *position)``: the original names in 1-D."""
    if layer == 0:
        label = "x"
    elif layer == layout.depth:
        label = "y"
    else:
        label = "h" if layer == 1 else f"h{layer}"
    return (label, channel, *position)


def _weight(layout: _Layout, layer: int, out: int, into: int, taps: tuple[int, ...]) -> str:
    """Name of the filter weight from channel ``into`` to channel ``out`` at ``taps``."""
    tail = "_".join(map(str, (out, into, *taps)))
    if layout.classic:
        return f"{'v' if layer == 1 else 'u'}{tail}"
    return f"W{layer}_{tail}"


def _positions(side: int, dims: int) -> Iterator[tuple[int, ...]]:
    return product(range(side), repeat=dims)


def _graph(layout: _Layout) -> nx.DiGraph:
    """The network graph of ``layout`` (see :mod:`conslaws.core.models.graph`)."""
    graph = nx.DiGraph()
    dims, channels = layout.dims, layout.channels
    inputs = [_node(layout, 0, i, t) for i in range(1, channels[0] + 1)
              for t in _positions(layout.sides[0], dims)]
    for node in inputs:
        graph.add_node(node, kind="input")
    parameters: list[str] = []
    layer_of: dict[str, int] = {}
    for layer in range(1, layout.depth + 1):
        previous, side = layout.sides[layer - 1], layout.sides[layer]
        stride = layout.strides[layer - 1]
        taps = list(product(range(1, layout.kernels[layer - 1] + 1), repeat=dims))
        kind = "linear" if layer == layout.depth else "relu"
        weights = [_weight(layout, layer, o, i, a) for o in range(1, channels[layer] + 1)
                   for i in range(1, channels[layer - 1] + 1) for a in taps]
        biases = ([f"b{layer}_{o}" for o in range(1, channels[layer] + 1)]
                  if layout.biased(layer) else [])
        for name in weights + biases:
            parameters.append(name)
            layer_of[name] = layer
        for o in range(1, channels[layer] + 1):
            if biases:
                graph.add_node(("one", layer, o), kind="bias")
            for tau in _positions(side, dims):
                unit = _node(layout, layer, o, tau)
                graph.add_node(unit, kind=kind)
                for i in range(1, channels[layer - 1] + 1):
                    for a in taps:
                        source = tuple((stride * t + d - 1) % previous
                                       for t, d in zip(tau, a, strict=True))
                        graph.add_edge(_node(layout, layer - 1, i, source), unit,
                                       param=_weight(layout, layer, o, i, a))
                if biases:
                    graph.add_edge(("one", layer, o), unit, param=f"b{layer}_{o}")
    outputs = [_node(layout, layout.depth, k, t) for k in range(1, channels[-1] + 1)
               for t in _positions(layout.sides[-1], dims)]
    graph.graph.update(parameters=parameters, inputs=inputs, outputs=outputs, layers=layer_of)
    return graph


def _size(layout: _Layout) -> ModelSize:
    """Parameters and nodes plus edges of :func:`_graph`, by arithmetic alone."""
    parameters = nodes = edges = 0
    nodes += layout.channels[0] * layout.units(0)
    for layer in range(1, layout.depth + 1):
        out, into = layout.channels[layer], layout.channels[layer - 1]
        weights = out * into * layout.taps(layer)
        biases = out if layout.biased(layer) else 0
        parameters += weights + biases
        nodes += out * layout.units(layer) + biases
        # Weight sharing: each weight and each bias sits on one edge per position.
        edges += (weights + biases) * layout.units(layer)
    return ModelSize(parameters=parameters, graph=nodes + edges)


class ConvArchitecture(Architecture):
    """Circular 1-D or 2-D convolution, channels c0 -> c1 (ReLU) -> ... -> cL.

    Examples
    --------
    Two hidden channels of a 2-D convolution, each with one bias shared by its 3 x 3
    positions:

    >>> model = ConvArchitecture().model(channels="1,2,1", kernels="2,2", length=3,
    ...                                  dims=2, bias=True)
    >>> model.dimension, model.parameter_names[8:10], model.layers[8:10]
    (18, ('b1_1', 'b1_2'), (1, 1))
    """

    name: ClassVar[str] = "conv"
    summary: ClassVar[str] = ("1-D or 2-D multi-channel circular convolution, ReLU hidden "
                              "layers, optional biases")
    options: ClassVar[tuple[Option, ...]] = (
        Option("channels", _parse_channels, "channels c0,c1,...,cL from input to output "
               "(L layers; hidden ones ReLU)", required=True, metavar="C0,C1,...,CL"),
        Option("kernels", _parse_kernels, "kernel size of each of the L layers (K: K x K "
               "taps in 2-D)", required=True, metavar="K1,...,KL"),
        Option("length", parse_positive_int, "signal length p (in 2-D: the side of the "
               "p x p image)", required=True, metavar="P"),
        Option("stride", parse_positive_int, "stride s of the first layer, on each axis "
               "(default 1)", default=1, metavar="S"),
        Option("dims", _parse_dims, "1 (signals, the default) or 2 (images)", default=1,
               metavar="1|2"),
        Option("bias", parse_flag, "add one bias per hidden channel, shared over positions",
               default=False, flag=True),
        LOSS_OPTION,
        ACTIVATION_OPTION,
        SLOPE_OPTION,
    )

    def estimate(self, **options: Any) -> ModelSize:
        return _size(_layout(options))

    def build(self, **options: Any) -> Model:
        layout = _layout(options)
        # 1-D is the default: a 1-D model keeps the name it had before --dims existed.
        shown = {k: v for k, v in options.items() if not (k == "dims" and v == 1)}
        model = Model.from_graph(_graph(layout), name=f"conv {describe_options(shown)}",
                                 architecture=self.name, options=options)
        if layout.bias and layout.depth == 1:
            # Biases sit on hidden units only, as in relu: one layer has none, so the
            # option is inert (the same map as without it).
            model.notes += (f"bias: --channels {','.join(map(str, layout.channels))} has one "
                            "layer and no hidden channel, so no bias was added (biases sit on "
                            "hidden channels)",)
        return model
