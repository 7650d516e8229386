"""Gated forward passes mod p: fields of a network without listing its paths.

docs/theory.md section 2.4.  For a network graph, g(θ, x, γ) = Σ_key φ_key(θ)
m_key(x, γ) (:mod:`conslaws.core.models.graph`), so for any values of the inputs x,
the gates γ and output weights w the scalar F(θ) = w · g(θ, x, γ) is a fixed
linear combination of the φ_key, and ∇F(θ*) is an element of W_0 at θ*.
Such a *probe* costs one forward and one backward pass, whatever the number
of paths.  Two probes F, G give the bracket [∇F, ∇G](θ*) = H_G ∇F - H_F ∇G,
an element of W_1, from two Hessian-vector products (forward-mode tangents
carried through both passes): :mod:`conslaws.core.engine.oracles` forms the brackets.

Everything is computed exactly in GF(p) with int64 numpy arrays, one column
per probe: with p < 2**22 a sum of up to 2**19 products of residues stays
below 2**63.  Rows computed this way are exact images mod p of vectors of the
Lie algebra's trace, so their rank mod p is a proved lower bound of its
dimension, however the probes were drawn.

Examples
--------
One linear neuron y = u v x: ∇F = w x (v, u).

>>> import numpy as np
>>> from conslaws.core.frontends.api import build_model
>>> net = ModularNetwork(build_model("linear", widths=(1, 1, 1)).graph, modulus=101)
>>> probes = Probes(inputs=np.array([[2]]), outputs=np.array([[3]]), node_gates={},
...                 edge_gates={})
>>> gradient, _ = net.passes(np.array([5, 7]), probes)
>>> gradient[:, 0].tolist()           # 3 * 2 * (7, 5)
[42, 30]
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from conslaws.core.algebra.modrank import PROBE_PRIME
from conslaws.core.errors import InvalidModulusError
from conslaws.core.models.numeric import GraphNetwork

__all__ = ["ModularNetwork", "Probes", "jet_multiply", "residue"]

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

    def columns(self, index: NDArray[np.intp]) -> Probes:
        """The probes at the given column indices."""
        return Probes(
            inputs=self.inputs[:, index],
            outputs=self.outputs[:, index],
            node_gates={i: g[index] for i, g in self.node_gates.items()},
            edge_gates={i: g[:, index] for i, g in self.edge_gates.items()},
        )

    def reduced(self, p: int) -> Probes:
        """The same probes with every value reduced mod p."""
        return Probes(
            inputs=np.mod(self.inputs, p), outputs=np.mod(self.outputs, p),
            node_gates={i: np.mod(g, p) for i, g in self.node_gates.items()},
            edge_gates={i: np.mod(g, p) for i, g in self.edge_gates.items()},
        )


def jet_multiply(x: IntArray, y: IntArray, p: int) -> IntArray:
    """Product mod p of two multilinear jets (first axis: 2^m coefficients).

    ``(xy)_S = Σ_{A ⊆ S} x_A y_{S \\ A}``; the other axes broadcast.

    Examples
    --------
    >>> a = np.array([2, 3])     # 2 + 3ε
    >>> b = np.array([5, 7])     # 5 + 7ε
    >>> jet_multiply(a, b, 101).tolist()   # 10 + (14 + 15)ε
    [10, 29]
    """
    terms = x.shape[0]
    if terms == 1:
        return np.asarray(x * y % p)
    shape = np.broadcast_shapes(x.shape, y.shape)
    first, second, starts = _subset_pairs(terms)
    if len(first) * math.prod(shape[1:]) <= VECTORIZED_ENTRIES:
        # Small jets: every (A, S \ A) pair in one numpy product, summed per S (sums of
        # at most 2^m products below p² stay far below 2**63).
        products = x[first] * y[second] % p
        return np.asarray(np.add.reduceat(products, starts, axis=0) % p)
    out = np.zeros(shape, dtype=np.int64)
    for s in range(terms):
        a = s
        while True:
            out[s] += x[a] * y[s ^ a] % p
            if a == 0:
                break
            a = (a - 1) & s
    return out % p


#: Above this many products a jet product loops over subsets instead of
#: materialising all of them at once (memory, not speed, is the limit).
VECTORIZED_ENTRIES = 2**22


@functools.cache
def _subset_pairs(terms: int) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """For the jets with ``terms`` = 2^m coefficients: the pairs (A, S \\ A) over all
    subsets A of every S, grouped by S, and where each group starts."""
    first: list[int] = []
    second: list[int] = []
    starts: list[int] = []
    for s in range(terms):
        starts.append(len(first))
        a = s
        while True:
            first.append(a)
            second.append(s ^ a)
            if a == 0:
                break
            a = (a - 1) & s
    return (np.array(first, dtype=np.intp), np.array(second, dtype=np.intp),
            np.array(starts, dtype=np.intp))


class ModularNetwork:
    """A network graph compiled for exact batched passes mod p.

    Parameters
    ----------
    graph : networkx.DiGraph
        A network in the format of :mod:`conslaws.core.models.graph`.
    modulus : int
        A prime below 2**22.
    """

    def __init__(self, graph: nx.DiGraph, modulus: int = PROBE_PRIME) -> None:
        if not 2 < modulus < MAX_PROBE_MODULUS:
            raise InvalidModulusError(
                f"probe modulus {modulus} must be a prime below {MAX_PROBE_MODULUS}")
        compiled = GraphNetwork(graph)
        self.modulus = modulus
        self.degree = [1 if a is None else a.degree for a in compiled.activation]
        # Gates are 0/1 in the network; drawing them uniformly mod p probes the same span
        # only while every φ_key is multilinear in the gates, i.e. no unit raises
        # anything to a power (then γ² = γ must hold and the gates are drawn in {0, 1}).
        self.binary_gates = max(self.degree, default=1) > 1
        # A gated unit's factor slope + (1 - slope) γ, as residues (slope, 1 - slope).
        self.gate_factor = {i: (residue(a.slope, modulus, "the activation slope"),
                                residue(1 - a.slope, modulus, "the activation slope"))
                            for i, a in enumerate(compiled.activation) if a is not None and a.gated}
        self.cross_entropy = graph.graph.get("loss") == "cross-entropy"
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

        outputs = uniform(len(self.outputs), count)
        if self.cross_entropy:
            # Output directions with Σ w = 0 (the loss sees outputs up to a shift).
            outputs[-1] = -outputs[:-1].sum(axis=0) % p
        return Probes(
            inputs=uniform(len(self.inputs), count),
            outputs=outputs,
            node_gates={i: rng.integers(0, 2, size=count, dtype=np.int64) if self.binary_gates
                        else uniform(count) for i in self.gate_factor},
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
        theta = np.mod(np.asarray(theta, dtype=np.int64), self.modulus)
        if tangent is None:
            return self.gradient_jet(theta[None, :, None], probes)[0], None
        point = np.stack([np.broadcast_to(theta[:, None], tangent.shape), tangent])
        jet = self.gradient_jet(point, probes)
        return jet[0], jet[1]

    def gradient_jet(self, point: IntArray, probes: Probes) -> IntArray:
        """∇F at a truncated multilinear jet point, for every probe.

        A jet in m nilpotent variables ε_0, ..., ε_{m-1} (ε_i² = 0) is an
        array whose first axis has 2^m entries: entry S holds the coefficient
        of Π_{i in S} ε_i (S a bit mask).  Passing θ + Σ ε_i t_i returns
        ∇F + Σ ε_i H_F t_i + ..., so every derivative of ∇F up to order m in
        the directions t_i comes out of one forward and one backward pass.

        Parameters
        ----------
        point : array (2^m, D, K) or (2^m, D, 1)
            The jet point, per probe or shared.
        probes : Probes
            K probes.

        Returns
        -------
        array (2^m, D, K)
            The jet of ∇F_k at the point, mod p.
        """
        p = self.modulus
        point = np.mod(point, p)
        probes = probes.reduced(p)
        terms, k = point.shape[0], probes.count
        size = len(self.kind)
        one = np.zeros((terms, 1, 1), dtype=np.int64)
        one[0] = 1
        weights = [np.where((s >= 0)[None, :, None], point[:, np.maximum(s, 0)], one)
                   for s in self.slots]
        value = np.zeros((terms, size, k), dtype=np.int64)
        # Units of degree K > 1 keep their pre-activation s for the backward pass.
        pre_activation: dict[int, IntArray] = {}
        factor = {i: (slope + rest * probes.node_gates[i]) % p
                  for i, (slope, rest) in self.gate_factor.items()}
        for column, i in enumerate(self.inputs):
            value[0, i] = probes.inputs[column]
        for i, kind in enumerate(self.kind):
            if kind == "bias":
                value[0, i] = 1
            if kind in ("input", "bias"):
                continue
            source = self._gated(value[:, self.predecessors[i]], probes, i)
            pre = jet_multiply(weights[i], source, p).sum(axis=1) % p
            if self.degree[i] > 1:
                pre_activation[i] = pre
                pre = _jet_power(pre, self.degree[i], p)
            value[:, i] = pre if i not in factor else pre * factor[i] % p
        adjoint = np.zeros((terms, size, k), dtype=np.int64)
        for column, i in enumerate(self.outputs):
            adjoint[0, i] = (adjoint[0, i] + probes.outputs[column]) % p
        gradient = np.zeros((terms, self.dimension, k), dtype=np.int64)
        for i in reversed(range(size)):
            if self.kind[i] in ("input", "bias"):
                continue
            preds, slots = self.predecessors[i], self.slots[i]
            delta = adjoint[:, i] if i not in factor else adjoint[:, i] * factor[i] % p
            if i in pre_activation:
                # d(s^K)/ds = K s^(K-1)
                derivative = self.degree[i] * _jet_power(pre_activation[i], self.degree[i] - 1, p)
                delta = jet_multiply(delta, derivative % p, p)
            edge_delta = self._gated(
                np.broadcast_to(delta[:, None, :], (terms, len(slots), k)), probes, i)
            adjoint[:, preds] = (adjoint[:, preds] + jet_multiply(weights[i], edge_delta, p)) % p
            params = slots >= 0
            contribution = jet_multiply(edge_delta[:, params], value[:, preds[params]], p)
            # Parameters may repeat (weight sharing): accumulate with add.at,
            # on a view with the parameter axis first.
            np.add.at(gradient.transpose(1, 0, 2), slots[params], contribution.transpose(1, 0, 2))
            gradient[:, slots[params]] %= p
        return gradient

    def _gated(self, rows: IntArray, probes: Probes, node: int) -> IntArray:
        """Per-edge jets (2^m, in-degree, K) times the node's edge gates (max-pool), mod p."""
        gates = probes.edge_gates.get(node)
        return np.asarray(rows) if gates is None else rows * gates % self.modulus

    def gradient_rows(self, theta: IntArray, probes: Probes) -> IntArray:
        """``∇F_k(θ)`` for every probe, as rows (K, D)."""
        gradient: IntArray = self.passes(theta, probes)[0]
        return np.asarray(gradient.T, dtype=np.int64)


def _jet_power(x: IntArray, exponent: int, p: int) -> IntArray:
    """``x**exponent`` mod p for a jet ``x`` (exponent >= 0), by repeated squaring."""
    result = np.zeros_like(x)
    result[0] = 1
    base = x
    while exponent:
        if exponent & 1:
            result = jet_multiply(result, base, p)
        exponent >>= 1
        if exponent:
            base = jet_multiply(base, base, p)
    return result


def residue(value: Fraction, p: int, what: str) -> int:
    """A rational number mod p; raises :class:`InvalidModulusError` naming ``what`` when p
    divides its denominator.

    Examples
    --------
    >>> residue(Fraction(1, 2), 7, "tau")
    4
    """
    if value.denominator % p == 0:
        raise InvalidModulusError(
            f"modulus {p} divides the denominator of {what} {value}: choose another prime")
    return value.numerator * pow(value.denominator, -1, p) % p
