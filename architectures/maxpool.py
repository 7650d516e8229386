"""Max-pooling networks x -> U maxpool_{k,s}(relu(V x)).

V is r×m, the r hidden ReLU units are pooled by windows of k consecutive units
with stride s (window w covers units w·s+1 .. w·s+k; overlapping windows when
s < k; units past the last full window are in no window), and U maps the
pooled units to n outputs.  In the graph a max-pool unit has constant-1 edges
from its window; the gated view puts one gate on each of them.

``pooling="avg"`` averages each window instead: the pool unit is linear.  Its
factor 1/k multiplies every path of the network by the same constant (each path
crosses one pool unit), which scales every field and leaves the Lie algebra, hence
the count and the laws, unchanged; the graph therefore carries a plain sum.

Parameters, in order: ``V_{i}_{j}`` (hidden unit i from input j), then
``U_{i}_{w}`` (output i from pooled unit w).

Examples
--------
>>> model = MaxpoolArchitecture().model(input=2, hidden=4, pool=2, output=1)
>>> model.dimension
10
"""

from __future__ import annotations

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
    parse_positive_int,
)
from conslaws.core.validation import ModelSize

__all__ = ["MaxpoolArchitecture"]


def _parse_pooling(value: Any, flag: str) -> str:
    """``max`` or ``avg``."""
    if value not in ("max", "avg"):
        raise InvalidOptionError(f"{flag} must be max or avg, got {value!r}")
    return str(value)


class MaxpoolArchitecture(Architecture):
    """One hidden ReLU layer followed by 1-D max-pooling and a linear layer."""

    name: ClassVar[str] = "maxpool"
    summary: ClassVar[str] = "x -> U maxpool(relu(V x)), window k, stride s (overlap allowed)"
    options: ClassVar[tuple[Option, ...]] = (
        Option("input", parse_positive_int, "input dimension m", required=True, metavar="M"),
        Option("hidden", parse_positive_int, "hidden ReLU units r", required=True, metavar="R"),
        Option("pool", parse_positive_int, "pooling window k", required=True, metavar="K"),
        Option("stride", parse_positive_int, "pooling stride s (default: k, no overlap)",
               metavar="S"),
        Option("output", parse_positive_int, "output dimension n", required=True, metavar="N"),
        Option("pooling", _parse_pooling, "max (default) or avg: the maximum or the mean of "
               "each window", default="max", metavar="max|avg"),
        LOSS_OPTION,
        ACTIVATION_OPTION,
        SLOPE_OPTION,
    )

    def estimate(self, **options: Any) -> ModelSize:
        m, r, k, n = options["input"], options["hidden"], options["pool"], options["output"]
        s = options["stride"] or k
        windows = (r - k) // s + 1 if k <= r else 0
        return ModelSize(parameters=r * m + n * windows,
                         graph=m + r + windows + n + r * m + windows * k + n * windows)

    def build(self, **options: Any) -> Model:
        m, r, k, n = options["input"], options["hidden"], options["pool"], options["output"]
        s = options["stride"] or k
        if k > r:
            raise InvalidOptionError(f"maxpool: window --pool {k} is larger than the layer ({r})")
        windows = (r - k) // s + 1
        if windows == 1 and options["stride"] is not None and s != k:
            # Every stride >= r - k + 1 leaves the one window at units 1..k: the same model.
            raise InvalidOptionError(
                f"maxpool: --stride {s} changes nothing: with --pool {k} on {r} hidden units "
                f"only one window fits (a second one needs a stride of at most {r - k})"
                if r > k else
                f"maxpool: --stride {s} changes nothing: the one window of --pool {k} covers "
                f"all {r} hidden units")
        graph = nx.DiGraph()
        inputs = [("x", j) for j in range(1, m + 1)]
        for node in inputs:
            graph.add_node(node, kind="input")
        parameters = [f"V_{i}_{j}" for i in range(1, r + 1) for j in range(1, m + 1)]
        for i in range(1, r + 1):
            graph.add_node(("h", i), kind="relu")
            for j in range(1, m + 1):
                graph.add_edge(("x", j), ("h", i), param=f"V_{i}_{j}")
        for w in range(1, windows + 1):
            graph.add_node(("pool", w), kind="maxpool" if options["pooling"] == "max" else "linear")
            for i in range((w - 1) * s + 1, (w - 1) * s + k + 1):
                graph.add_edge(("h", i), ("pool", w), param=None)
        outputs = [("y", i) for i in range(1, n + 1)]
        for i in range(1, n + 1):
            graph.add_node(("y", i), kind="linear")
            for w in range(1, windows + 1):
                parameters.append(f"U_{i}_{w}")
                graph.add_edge(("pool", w), ("y", i), param=f"U_{i}_{w}")
        graph.graph.update(parameters=parameters, inputs=inputs, outputs=outputs)
        options = {**options, "stride": s}
        return Model.from_graph(graph, name=f"maxpool {describe_options(options)}",
                                architecture=self.name, options=options)
