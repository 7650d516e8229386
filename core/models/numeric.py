"""Floating-point forward and backward passes over a network graph (numpy).

Discrete training (:mod:`conslaws.core.frontends.simulate`) needs the network itself,
not its φ: this module runs the graph of :mod:`conslaws.core.models.graph` on a batch
of inputs (ReLU, max-pool, shared weights and constant-1 skip edges included)
and back-propagates the squared-error loss to the parameters.

Examples
--------
>>> import numpy as np
>>> from conslaws.core.frontends.api import build_model
>>> net = GraphNetwork(build_model("linear", widths=(1, 1, 1)).expansion.graph)
>>> theta = np.array([2.0, 3.0])           # y = 3 * 2 * x
>>> net.forward(theta, np.array([[1.0]]))
array([[6.]])
>>> loss, grad = net.loss_and_gradient(theta, np.array([[1.0]]), np.array([[0.0]]))
>>> float(loss), grad.tolist()             # L = (6)^2 / 2, dL/dW1 = 6 * 3, dL/dW2 = 6 * 2
(18.0, [18.0, 12.0])
"""

from __future__ import annotations

from collections.abc import Hashable

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from conslaws.core.models.graph import Activation, unit_activation, validate_graph

__all__ = ["GraphNetwork"]

Array = NDArray[np.float64]


class GraphNetwork:
    """A network graph compiled for numpy: node order, edges and parameter slots."""

    def __init__(self, graph: nx.DiGraph) -> None:
        validate_graph(graph)
        self.graph = graph
        self.order: list[Hashable] = list(nx.topological_sort(graph))
        self.index = {node: i for i, node in enumerate(self.order)}
        slot = {name: i for i, name in enumerate(graph.graph["parameters"])}
        self.size = len(slot)
        self.inputs = [self.index[n] for n in graph.graph["inputs"]]
        self.outputs = [self.index[n] for n in graph.graph["outputs"]]
        self.kind = [graph.nodes[n]["kind"] for n in self.order]
        self.activation: list[Activation | None] = [unit_activation(graph, n) for n in self.order]
        # For each node: (predecessor index, parameter slot or -1 for the constant 1).
        self.incoming: list[list[tuple[int, int]]] = [
            [(self.index[p], slot[graph.edges[p, n]["param"]])
             if graph.edges[p, n].get("param") is not None else (self.index[p], -1)
             for p in graph.predecessors(n)]
            for n in self.order
        ]

    def _forward(self, theta: Array, x: Array) -> tuple[list[Array], list[Array]]:
        """Node values and, per node, the weighted inputs (kept for the backward pass)."""
        batch = x.shape[0]
        values: list[Array] = [np.zeros(batch)] * len(self.order)
        weighted: list[Array] = [np.zeros((0, batch))] * len(self.order)
        for column, i in enumerate(self.inputs):
            values[i] = x[:, column]
        for i, kind in enumerate(self.kind):
            if kind == "input":
                continue
            if kind == "bias":
                values[i] = np.ones(batch)
                continue
            terms = np.array([values[p] * (theta[s] if s >= 0 else 1.0)
                              for p, s in self.incoming[i]]).reshape(-1, batch)
            weighted[i] = terms
            activation = self.activation[i]
            if activation is None:  # max-pool
                values[i] = terms.max(axis=0)
            else:
                values[i] = _activate(activation, terms.sum(axis=0))
        return values, weighted

    def forward(self, theta: Array, x: Array) -> Array:
        """Outputs for a batch ``x`` of shape (N, inputs): shape (N, outputs)."""
        values, _ = self._forward(theta, x)
        return np.stack([values[i] for i in self.outputs], axis=1)

    def loss_and_gradient(self, theta: Array, x: Array, y: Array) -> tuple[float, Array]:
        """Squared error ``Σ ‖g(θ, x_n) - y_n‖² / (2N)`` and its gradient in θ."""
        values, weighted = self._forward(theta, x)
        batch = x.shape[0]
        residual = np.stack([values[i] for i in self.outputs], axis=1) - y
        loss = float((residual**2).sum() / (2 * batch))
        upstream: list[Array] = [np.zeros(batch) for _ in self.order]
        for column, i in enumerate(self.outputs):
            upstream[i] = upstream[i] + residual[:, column] / batch
        grad = np.zeros(self.size)
        for i in reversed(range(len(self.order))):
            kind = self.kind[i]
            if kind in ("input", "bias"):
                continue
            delta = upstream[i]
            activation = self.activation[i]
            if activation is not None:
                delta = delta * _derivative(activation, weighted[i].sum(axis=0))
            for row, (p, s) in enumerate(self.incoming[i]):
                local = delta
                if kind == "maxpool":
                    local = delta * (weighted[i].argmax(axis=0) == row)
                if s >= 0:
                    grad[s] += float(local @ values[p])
                    upstream[p] = upstream[p] + local * theta[s]
                else:
                    upstream[p] = upstream[p] + local
        return loss, grad


def _activate(activation: Activation, s: Array) -> Array:
    """The unit's output at pre-activations ``s``
    (:class:`~conslaws.core.models.graph.Activation`)."""
    power = s**activation.degree
    if not activation.gated:
        return power
    return np.where(s > 0, power, float(activation.slope) * power)


def _derivative(activation: Activation, s: Array) -> Array:
    """The derivative of :func:`_activate` in ``s`` (at s = 0 that of the s < 0 side)."""
    k = activation.degree
    rate = k * s ** (k - 1) if k > 1 else np.ones_like(s)
    if not activation.gated:
        return rate
    return np.where(s > 0, rate, float(activation.slope) * rate)
