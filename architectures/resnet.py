"""Residual networks: q blocks x -> x + U_l relu(V_l x), U_l: m×r, V_l: r×m.

The skip connections are edges of constant weight 1 in the graph.

Parameters, in order, block by block: ``V{l}_{i}_{j}`` (hidden unit i of block
l from coordinate j), then ``U{l}_{i}_{j}`` (coordinate i from hidden unit j).

Examples
--------
>>> model = ResnetArchitecture().model(width=2, hidden=1, blocks=2)
>>> model.parameter_names
('V1_1_1', 'V1_1_2', 'U1_1_1', 'U1_2_1', 'V2_1_1', 'V2_1_2', 'U2_1_1', 'U2_2_1')
"""

from __future__ import annotations

from typing import Any, ClassVar

import networkx as nx

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

__all__ = ["ResnetArchitecture"]


class ResnetArchitecture(Architecture):
    """q residual blocks on a stream of width m, r hidden ReLU units per block."""

    name: ClassVar[str] = "resnet"
    summary: ClassVar[str] = "residual blocks x -> x + U_l relu(V_l x)"
    options: ClassVar[tuple[Option, ...]] = (
        Option("width", parse_positive_int, "width m of the residual stream", required=True,
               metavar="M"),
        Option("hidden", parse_positive_int, "hidden ReLU units r per block", required=True,
               metavar="R"),
        Option("blocks", parse_positive_int, "number q of blocks", required=True, metavar="Q"),
        LOSS_OPTION,
        ACTIVATION_OPTION,
        SLOPE_OPTION,
    )

    def estimate(self, **options: Any) -> ModelSize:
        m, r, q = options["width"], options["hidden"], options["blocks"]
        parameters = 2 * m * r * q
        # Nodes: the q + 1 streams and the hidden units; edges: parameters and skips.
        return ModelSize(parameters=parameters, graph=m * (q + 1) + r * q + parameters + m * q)

    def build(self, **options: Any) -> Model:
        m, r, q = options["width"], options["hidden"], options["blocks"]
        graph = nx.DiGraph()
        parameters: list[str] = []
        stream = [("z", 0, i) for i in range(1, m + 1)]
        for node in stream:
            graph.add_node(node, kind="input")
        inputs = list(stream)
        for block in range(1, q + 1):
            hidden = [("h", block, i) for i in range(1, r + 1)]
            for _, _, i in hidden:
                graph.add_node(("h", block, i), kind="relu")
                for _, _, j in stream:
                    name = f"V{block}_{i}_{j}"
                    parameters.append(name)
                    graph.add_edge(("z", block - 1, j), ("h", block, i), param=name)
            new_stream = [("z", block, i) for i in range(1, m + 1)]
            for _, _, i in new_stream:
                graph.add_node(("z", block, i), kind="linear")
                graph.add_edge(("z", block - 1, i), ("z", block, i), param=None)  # skip
                for _, _, j in hidden:
                    name = f"U{block}_{i}_{j}"
                    parameters.append(name)
                    graph.add_edge(("h", block, j), ("z", block, i), param=name)
            stream = new_stream
        graph.graph.update(parameters=parameters, inputs=inputs, outputs=stream)
        return Model.from_graph(graph, name=f"resnet {describe_options(options)}",
                                architecture=self.name, options=options)
