"""Gated forward passes mod p: fields of a network without listing its paths.

theory.md section 2.4.  For a network graph, g(θ, x, γ) = Σ_key φ_key(θ)
m_key(x, γ) (:mod:`conslaws.core.graph`), so for any values of the inputs x,
the gates γ and output weights w the scalar F(θ) = w · g(θ, x, γ) is a fixed
linear combination of the φ_key, and ∇F(θ*) is an element of W_0 at θ*.
Such a *probe* costs one forward and one backward pass, whatever the number
of paths.  Two probes F, G give the bracket [∇F, ∇G](θ*) = H_G ∇F - H_F ∇G,
an element of W_1, from two Hessian-vector products (forward-mode tangents
carried through both passes).

Everything is computed exactly in GF(p) with int64 numpy arrays, one column
per probe: with p < 2**22 a sum of up to 2**19 products of residues stays
below 2**63.  Rows computed this way are exact images mod p of vectors of the
Lie algebra's trace, so their rank mod p is a proved lower bound of its
dimension, however the probes were drawn.

Examples
--------
One linear neuron y = u v x: ∇F = w x (v, u).

>>> import numpy as np
>>> from conslaws.core.api import build_model
>>> net = ModularNetwork(build_model("linear", widths=(1, 1, 1)).graph, modulus=101)
>>> probes = Probes(inputs=np.array([[2]]), outputs=np.array([[3]]), node_gates={},
...                 edge_gates={})
>>> gradient, _ = net.passes(np.array([5, 7]), probes)
>>> gradient[:, 0].tolist()           # 3 * 2 * (7, 5)
[42, 30]
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from conslaws.core.errors import InvalidModulusError
from conslaws.core.modrank import PROBE_PRIME
from conslaws.core.numeric import GraphNetwork

__all__ = ["ModularNetwork", "Probes"]

IntArray = NDArray[np.int64]

#: int64 sums of products of residues stay exact below this modulus.
MAX_PROBE_MODULUS = 2**22


@dataclass
class Probes:
    """Random values of everything but θ, one column per probe.

    Attributes
    ----------
    inputs : array (inputs, K)
        The input x.
    outputs : array (outputs, K)
        The output weights w.
    node_gates : dict
        For each ReLU node index, its gate γ (K,).
    edge_gates : dict
        For each max-pool node index, the gates of its incoming edges
        (in-degree, K).
    """

    inputs: IntArray
    outputs: IntArray
    node_gates: dict[int, IntArray]
    edge_gates: dict[int, IntArray]

    @property
    def count(self) -> int:
        """Number of probes K."""
        return int(self.outputs.shape[1])


class ModularNetwork:
    """A network graph compiled for exact batched passes mod p.

    Parameters
    ----------
    graph : networkx.DiGraph
        A network in the format of :mod:`conslaws.core.graph`.
    modulus : int
        A prime below 2**22.
    """

    def __init__(self, graph: nx.DiGraph, modulus: int = PROBE_PRIME) -> None:
        if not 2 < modulus < MAX_PROBE_MODULUS:
            raise InvalidModulusError(
                f"probe modulus {modulus} must be a prime below {MAX_PROBE_MODULUS}")
        compiled = GraphNetwork(graph)
        self.modulus = modulus
        self.dimension = compiled.size
        self.kind = compiled.kind
        self.inputs = compiled.inputs
        self.outputs = compiled.outputs
        self.predecessors = [np.array([p for p, _ in edges], dtype=np.intp)
                             for edges in compiled.incoming]
        self.slots = [np.array([s for _, s in edges], dtype=np.intp)
                      for edges in compiled.incoming]

    def draw(self, rng: np.random.Generator, count: int) -> Probes:
        """``count`` probes with uniform random residues."""
        p = self.modulus

        def uniform(*shape: int) -> IntArray:
            return rng.integers(0, p, size=shape, dtype=np.int64)

        return Probes(
            inputs=uniform(len(self.inputs), count),
            outputs=uniform(len(self.outputs), count),
            node_gates={i: uniform(count) for i, k in enumerate(self.kind) if k == "relu"},
            edge_gates={i: uniform(len(self.predecessors[i]), count)
                        for i, k in enumerate(self.kind) if k == "maxpool"},
        )

    def passes(self, theta: IntArray, probes: Probes, tangent: IntArray | None = None
               ) -> tuple[IntArray, IntArray | None]:
        """∇F(θ) for every probe, and H_F t when a tangent is given.

        Parameters
        ----------
        theta : array (D,)
            The point, as integers (reduced mod p here).
        probes : Probes
            K probes.
        tangent : array (D, K), optional
            One direction t per probe.

        Returns
        -------
        gradient : array (D, K)
            Column k is ∇F_k(θ) mod p.
        hessian_times_tangent : array (D, K) or None
            Column k is H_{F_k}(θ) t_k mod p.
        """
        p = self.modulus
        theta = np.mod(np.asarray(theta, dtype=np.int64), p)
        size = len(self.kind)
        k = probes.count
        carry = tangent is not None
        weights = [np.where(s >= 0, theta[np.maximum(s, 0)], 1) for s in self.slots]
        value = np.zeros((size, k), dtype=np.int64)
        value_t = np.zeros((size, k), dtype=np.int64)
        for column, i in enumerate(self.inputs):
            value[i] = probes.inputs[column]
        for i, kind in enumerate(self.kind):
            if kind == "bias":
                value[i] = 1
            if kind in ("input", "bias"):
                continue
            source = self._gated(value[self.predecessors[i]], probes, i)
            pre = weights[i] @ source % p
            if carry:
                assert tangent is not None
                source_t = self._gated(value_t[self.predecessors[i]], probes, i)
                pre_t = ((self._edge_tangent(tangent, i) * source % p).sum(axis=0)
                         + weights[i] @ source_t) % p
            gate = probes.node_gates.get(i)
            value[i] = pre if gate is None else pre * gate % p
            if carry:
                value_t[i] = pre_t if gate is None else pre_t * gate % p
        adjoint = np.zeros((size, k), dtype=np.int64)
        adjoint_t = np.zeros((size, k), dtype=np.int64)
        for column, i in enumerate(self.outputs):
            adjoint[i] = (adjoint[i] + probes.outputs[column]) % p
        gradient = np.zeros((self.dimension, k), dtype=np.int64)
        gradient_t = np.zeros((self.dimension, k), dtype=np.int64) if carry else None
        for i in reversed(range(size)):
            if self.kind[i] in ("input", "bias"):
                continue
            gate = probes.node_gates.get(i)
            delta = adjoint[i] if gate is None else adjoint[i] * gate % p
            edge_delta = self._gated(np.broadcast_to(delta, (len(self.slots[i]), k)), probes, i)
            preds, slots = self.predecessors[i], self.slots[i]
            adjoint[preds] = (adjoint[preds] + weights[i][:, None] * edge_delta) % p
            params = slots >= 0
            np.add.at(gradient, slots[params], edge_delta[params] * value[preds[params]] % p)
            if carry:
                assert tangent is not None and gradient_t is not None
                delta_t = adjoint_t[i] if gate is None else adjoint_t[i] * gate % p
                edge_delta_t = self._gated(
                    np.broadcast_to(delta_t, (len(slots), k)), probes, i)
                tangent_edges = self._edge_tangent(tangent, i)
                adjoint_t[preds] = (adjoint_t[preds] + tangent_edges * edge_delta % p
                                    + weights[i][:, None] * edge_delta_t) % p
                np.add.at(gradient_t, slots[params],
                          (edge_delta_t[params] * value[preds[params]] % p
                           + edge_delta[params] * value_t[preds[params]] % p))
                gradient_t[slots[params]] %= p
            gradient[slots[params]] %= p
        return gradient, gradient_t

    def _gated(self, rows: IntArray, probes: Probes, node: int) -> IntArray:
        """Per-edge values times the node's edge gates (max-pool), mod p."""
        gates = probes.edge_gates.get(node)
        return np.asarray(rows) if gates is None else rows * gates % self.modulus

    def _edge_tangent(self, tangent: IntArray, node: int) -> IntArray:
        """The tangent's component on each incoming edge's parameter (0 on constant edges)."""
        slots = self.slots[node]
        return np.where((slots >= 0)[:, None], tangent[np.maximum(slots, 0)], 0)

    def gradient_rows(self, theta: IntArray, probes: Probes) -> IntArray:
        """``∇F_k(θ)`` for every probe, as rows (K, D)."""
        return self.passes(theta, probes)[0].T

    def bracket_rows(self, theta: IntArray, first: Probes, second: Probes) -> IntArray:
        """``[∇F_k, ∇G_k](θ) = H_G ∇F - H_F ∇G`` for probe pairs, as rows (K, D)."""
        grad_f, _ = self.passes(theta, first)
        grad_g, _ = self.passes(theta, second)
        _, hg_f = self.passes(theta, second, tangent=grad_f)
        _, hf_g = self.passes(theta, first, tangent=grad_g)
        assert hg_f is not None and hf_g is not None
        return ((hg_f - hf_g) % self.modulus).T
