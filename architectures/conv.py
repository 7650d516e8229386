"""One-hidden-layer 1-D multi-channel circular convolution with ReLU.

x has c0 channels of length p.  Hidden channel j at position τ is
``relu(Σ_i Σ_a v{j}_{i}_{a} · x_i[(s·τ + a) mod p])`` for τ = 0..q-1 with
q = ceil(p / s) (stride s); output channel k at position τ is
``Σ_j Σ_b u{k}_{j}_{b} · h_j[(τ + b) mod q]``.  Each filter weight sits on many
edges of the graph (weight sharing).

Parameters, in order: ``v{j}_{i}_{a}`` (hidden channel j, input channel i, tap a),
then ``u{k}_{j}_{b}`` (output channel k, hidden channel j, tap b), all from 1.

Examples
--------
>>> model = ConvArchitecture().model(channels="1,2,1", kernels="2,2", length=3)
>>> model.dimension
8
"""

from __future__ import annotations

from typing import Any, ClassVar

import networkx as nx

from conslaws.core.architecture import (
    LOSS_OPTION,
    Architecture,
    Option,
    describe_options,
    parse_int_list,
    parse_positive_int,
)
from conslaws.core.errors import InvalidOptionError
from conslaws.core.model import Model
from conslaws.core.validation import ModelSize

__all__ = ["ConvArchitecture"]


class ConvArchitecture(Architecture):
    """Circular 1-D convolution, channels c0 -> c1 (ReLU) -> c2."""

    name: ClassVar[str] = "conv"
    summary: ClassVar[str] = "1-D multi-channel circular convolution, one hidden ReLU layer"
    options: ClassVar[tuple[Option, ...]] = (
        Option("channels", parse_int_list(3), "channels c0,c1,c2 (input, hidden, output)",
               required=True, metavar="C0,C1,C2"),
        Option("kernels", parse_int_list(2), "kernel sizes nv,nu of the two layers",
               required=True, metavar="NV,NU"),
        Option("length", parse_positive_int, "signal length p", required=True, metavar="P"),
        Option("stride", parse_positive_int, "stride s of the first layer (default 1)",
               default=1, metavar="S"),
        LOSS_OPTION,
    )

    def estimate(self, **options: Any) -> ModelSize:
        (c0, c1, c2), (nv, nu) = options["channels"], options["kernels"]
        p, s = options["length"], options["stride"]
        q = -(-p // s)
        # Weight sharing: each filter weight sits on one edge per output position.
        return ModelSize(parameters=c1 * c0 * nv + c2 * c1 * nu,
                         graph=c0 * p + (c1 + c2) * q + q * c1 * (c0 * nv + c2 * nu))

    def build(self, **options: Any) -> Model:
        (c0, c1, c2), (nv, nu) = options["channels"], options["kernels"]
        p, s = options["length"], options["stride"]
        if s > p:
            raise InvalidOptionError(f"conv: --stride {s} is longer than the signal ({p})")
        q = -(-p // s)  # hidden length ceil(p / s)
        if nv > p:
            raise InvalidOptionError(f"conv: kernel nv={nv} is longer than the signal ({p})")
        if nu > q:
            raise InvalidOptionError(
                f"conv: kernel nu={nu} is longer than the hidden signal ({q} = ceil({p}/{s}))"
            )
        graph = nx.DiGraph()
        v_names = [f"v{j}_{i}_{a}" for j in range(1, c1 + 1) for i in range(1, c0 + 1)
                   for a in range(1, nv + 1)]
        u_names = [f"u{k}_{j}_{b}" for k in range(1, c2 + 1) for j in range(1, c1 + 1)
                   for b in range(1, nu + 1)]
        inputs = [("x", i, t) for i in range(1, c0 + 1) for t in range(p)]
        for node in inputs:
            graph.add_node(node, kind="input")
        for j in range(1, c1 + 1):
            for tau in range(q):
                graph.add_node(("h", j, tau), kind="relu")
                for i in range(1, c0 + 1):
                    for a in range(1, nv + 1):
                        graph.add_edge(("x", i, (s * tau + a - 1) % p), ("h", j, tau),
                                       param=f"v{j}_{i}_{a}")
        outputs = [("y", k, tau) for k in range(1, c2 + 1) for tau in range(q)]
        for k, tau in ((k, tau) for _, k, tau in outputs):
            graph.add_node(("y", k, tau), kind="linear")
            for j in range(1, c1 + 1):
                for b in range(1, nu + 1):
                    graph.add_edge(("h", j, (tau + b - 1) % q), ("y", k, tau),
                                   param=f"u{k}_{j}_{b}")
        graph.graph.update(parameters=v_names + u_names, inputs=inputs, outputs=outputs)
        return Model.from_graph(graph, name=f"conv {describe_options(options)}",
                                architecture=self.name, options=options)
