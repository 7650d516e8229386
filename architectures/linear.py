"""Deep linear networks x -> W_q ⋯ W_1 x (φ = entries of the product).

Examples
--------
>>> model = LinearArchitecture().model(widths="2,3,2")
>>> model.dimension, len(model.generators)
(12, 4)
"""

from __future__ import annotations

from typing import Any, ClassVar

from conslaws.architectures.layered import layered_graph, layered_size
from conslaws.core.models.model import Model
from conslaws.core.plugins.architecture import (
    LOSS_OPTION,
    Architecture,
    Option,
    describe_options,
    parse_widths,
)
from conslaws.core.validation import ModelSize

__all__ = ["LinearArchitecture"]


class LinearArchitecture(Architecture):
    """Linear network with widths n0 (input), n1, ..., nq (output)."""

    name: ClassVar[str] = "linear"
    summary: ClassVar[str] = "deep linear network x -> W_q ... W_1 x"
    options: ClassVar[tuple[Option, ...]] = (
        Option("widths", parse_widths, "layer widths from input to output, e.g. 2,3,2",
               required=True, metavar="N0,N1,..."),
        LOSS_OPTION,
    )

    def estimate(self, **options: Any) -> ModelSize:
        return layered_size(options["widths"])

    def build(self, **options: Any) -> Model:
        graph = layered_graph(options["widths"], hidden_kind="linear")
        return Model.from_graph(
            graph, name=f"linear {describe_options(options)}", architecture=self.name,
            options=options,
        )
