"""The built-in flow plugins (registered under the ``conslaws.flows`` entry points)."""

from conslaws.flows.builtin import (
    GradientFlow,
    MirrorFlow,
    MirrorMomentumFlow,
    MomentumFlow,
    NesterovFlow,
    WeightDecayFlow,
)

__all__ = ["GradientFlow", "MirrorFlow", "MirrorMomentumFlow", "MomentumFlow", "NesterovFlow",
           "WeightDecayFlow"]
