"""Attention layers: φ = (Q_h^T K_h, V_h^T O_h) for each head h.

softmax(X Q^T K X^T) X V^T O depends on the parameters only through the d×d
products Q_h^T K_h and V_h^T O_h (docs/theory.md section 1), which are a minimal
parameterization for at least 2 tokens.  The head dimension d1 is split evenly
among the H heads: Q_h, K_h, V_h, O_h are (d1/H)×d.

Parameters, in order, head by head: ``Q{h}_{c}_{a}``, ``K{h}_{c}_{a}``,
``V{h}_{c}_{a}``, ``O{h}_{c}_{a}`` (row c, column a, all from 1).

Examples
--------
>>> model = AttentionArchitecture().model(dim=2, head_dim=1)
>>> model.dimension, len(model.phi)
(8, 8)
"""

from __future__ import annotations

from typing import Any, ClassVar

from conslaws.core.algebra.polynomials import PolynomialRing
from conslaws.core.errors import InvalidOptionError
from conslaws.core.models.graph import sum_polynomials
from conslaws.core.models.model import Model
from conslaws.core.plugins.architecture import (
    Architecture,
    Option,
    describe_options,
    parse_positive_int,
)
from conslaws.core.validation import ModelSize

__all__ = ["AttentionArchitecture"]


class AttentionArchitecture(Architecture):
    """Single- or multi-head attention."""

    name: ClassVar[str] = "attention"
    summary: ClassVar[str] = "attention softmax(X Q^T K X^T) X V^T O, one or more heads"
    options: ClassVar[tuple[Option, ...]] = (
        Option("dim", parse_positive_int, "token dimension d", required=True, metavar="D"),
        Option("head_dim", parse_positive_int, "head dimension d1 (split among the heads)",
               required=True, metavar="D1"),
        Option("heads", parse_positive_int, "number of heads H (default 1)", default=1,
               metavar="H"),
        Option("tokens", parse_positive_int,
               "number of tokens N (default 2; phi is minimal for N >= 2; with one token "
               "softmax is constant and phi = V^T O)", default=2, metavar="N"),
    )

    def estimate(self, **options: Any) -> ModelSize:
        d, d1 = options["dim"], options["head_dim"]
        pairs = 2 if options["tokens"] >= 2 else 1
        # phi: pairs x H x d x d products, each a sum of d1 / H quadratic terms.
        return ModelSize(parameters=4 * d1 * d, formula=2 * pairs * d * d * d1)

    def build(self, **options: Any) -> Model:
        d, d1, heads = options["dim"], options["head_dim"], options["heads"]
        if d1 % heads:
            raise InvalidOptionError(
                f"attention: --heads {heads} does not divide --head-dim {d1}"
            )
        rows = d1 // heads
        names = [f"{m}{h}_{c}_{a}" for h in range(1, heads + 1) for m in "QKVO"
                 for c in range(1, rows + 1) for a in range(1, d + 1)]
        ring = PolynomialRing(names)
        var = dict(zip(names, ring.gens, strict=True))
        phi = []
        # With one token the attention weights are softmax of a 1x1 matrix, i.e. 1:
        # the output is x V^T O, and Q, K never move (each coordinate is a law).
        pairs = (("Q", "K"), ("V", "O")) if options["tokens"] >= 2 else (("V", "O"),)
        for h in range(1, heads + 1):
            for left, right in pairs:
                for a in range(1, d + 1):
                    for b in range(1, d + 1):
                        phi.append(sum_polynomials(ring, [
                            var[f"{left}{h}_{c}_{a}"] * var[f"{right}{h}_{c}_{b}"]
                            for c in range(1, rows + 1)
                        ]))
        tokens = options["tokens"]
        notes: tuple[str, ...] = ()
        if tokens == 1:
            notes = ("one token: softmax of a 1x1 matrix is 1, so the output is x V^T O; this "
                     "count is for phi = V^T O, and every coordinate of Q and K is conserved",)
        elif tokens > 2:
            notes = (f"tokens={tokens}: phi = (Q^T K, V^T O) is the same for every number of "
                     "tokens from 2 on, and so is this count",)
        return Model.from_phi(names, phi, name=f"attention {describe_options(options)}",
                              architecture=self.name, options=options, ring=ring, notes=notes)
