"""ReLU networks with optional hidden biases; φ is the path lifting.

Examples
--------
>>> model = ReluArchitecture().model(widths="3,4,2", bias=True)
>>> model.dimension, len(model.generators)
(24, 32)
"""

from __future__ import annotations

from typing import Any, ClassVar

from conslaws.architectures.layered import layered_graph, layered_size
from conslaws.core.models.model import Model
from conslaws.core.plugins.architecture import (
    ACTIVATION_OPTION,
    LOSS_OPTION,
    SLOPE_OPTION,
    Architecture,
    Option,
    describe_options,
    parse_flag,
    parse_widths,
)
from conslaws.core.validation import ModelSize

__all__ = ["ReluArchitecture"]


class ReluArchitecture(Architecture):
    """ReLU on every hidden layer; widths from input to output."""

    name: ClassVar[str] = "relu"
    summary: ClassVar[str] = "ReLU network (path lifting), optional hidden biases"
    options: ClassVar[tuple[Option, ...]] = (
        Option("widths", parse_widths, "layer widths from input to output, e.g. 3,4,2",
               required=True, metavar="N0,N1,..."),
        Option("bias", parse_flag, "add a bias to every hidden neuron", default=False,
               flag=True),
        LOSS_OPTION,
        ACTIVATION_OPTION,
        SLOPE_OPTION,
    )

    def estimate(self, **options: Any) -> ModelSize:
        return layered_size(options["widths"], bias=options["bias"])

    def build(self, **options: Any) -> Model:
        widths = options["widths"]
        graph = layered_graph(widths, hidden_kind="relu", bias=options["bias"])
        model = Model.from_graph(
            graph, name=f"relu {describe_options(options)}", architecture=self.name,
            options=options,
        )
        if options["bias"] and len(widths) < 3:
            # Biases sit on hidden neurons only (docs/theory.md section 5): the option is inert,
            # which tests and users rely on (relu 3,2 with or without bias is the same map).
            model.notes += (f"bias: widths {','.join(map(str, widths))} has no hidden layer, "
                            "so no bias was added (biases sit on hidden neurons)",)
        return model
