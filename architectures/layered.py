"""Fully connected layered networks as graphs, shared by ``linear`` and ``relu``.

Parameter names: ``W{l}_{i}_{j}`` is the weight from unit j of layer l-1 to
unit i of layer l (layers and units counted from 1, layer 0 is the input), so
``W{l}`` is the l-th weight matrix with rows indexed by outputs.  ``b{l}_{i}``
is the bias of hidden unit i of layer l.  Order: W1 row by row, then b1, then
W2, b2, ... (biases only on hidden layers, as in docs/theory.md section 5).

Examples
--------
>>> g = layered_graph((2, 1, 1), hidden_kind="relu", bias=True)
>>> g.graph["parameters"]
['W1_1_1', 'W1_1_2', 'b1_1', 'W2_1_1']
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import networkx as nx

from conslaws.core.validation import ModelSize

__all__ = ["layered_graph", "layered_size"]


def layered_size(widths: Sequence[int], *, bias: bool = False) -> ModelSize:
    """Parameters and graph size of :func:`layered_graph`, by arithmetic alone.

    Examples
    --------
    >>> layered_size((2, 1, 1), bias=True)
    ModelSize(parameters=4, graph=9, formula=0)
    """
    weights = sum(a * b for a, b in pairwise(widths))
    hidden = sum(widths[1:-1]) if bias else 0
    parameters = weights + hidden
    # Nodes: every unit, one bias node per biased unit; edges: one per parameter.
    return ModelSize(parameters=parameters, graph=sum(widths) + hidden + parameters)


def layered_graph(widths: Sequence[int], *, hidden_kind: str, bias: bool = False) -> nx.DiGraph:
    """Graph of a fully connected network with the given widths (input to output)."""
    graph = nx.DiGraph()
    parameters: list[str] = []
    layers = [[("x", 0, j) for j in range(1, widths[0] + 1)]]
    for node in layers[0]:
        graph.add_node(node, kind="input")
    depth = len(widths) - 1
    for layer in range(1, depth + 1):
        hidden = layer < depth
        kind = hidden_kind if hidden else "linear"
        units = [("u", layer, i) for i in range(1, widths[layer] + 1)]
        for node in units:
            graph.add_node(node, kind=kind)
        for _, _, i in units:
            for _, _, j in layers[-1]:
                name = f"W{layer}_{i}_{j}"
                parameters.append(name)
                graph.add_edge(layers[-1][j - 1], ("u", layer, i), param=name)
        if bias and hidden:
            for _, _, i in units:
                name = f"b{layer}_{i}"
                parameters.append(name)
                graph.add_node(("one", layer, i), kind="bias")
                graph.add_edge(("one", layer, i), ("u", layer, i), param=name)
        layers.append(units)
    # The layer of a parameter: the l of W{l}_... and b{l}_... (for --mirror-layers).
    layer_of = {name: int(name[1:].split("_")[0]) for name in parameters}
    graph.graph.update(parameters=parameters, inputs=layers[0], outputs=layers[-1],
                       layers=layer_of)
    return graph
