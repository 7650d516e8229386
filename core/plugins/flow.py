"""The flow-plugin contract: from an architecture's fields to a flow's fields.

A flow plugin turns the generating fields ∇φ_i of an architecture (the
Euclidean gradient flow) into the generating fields of another flow, on the
space that flow lives on (docs/theory.md section 4): the phase space (s, θ, θ') of
dimension 2D + 1 for momentum methods, θ itself with a metric for mirror
flows, (s, θ) for weight decay.  Counts and laws are then computed on that
space exactly as for gradient flow.

A flow also says how to print its laws: the clock variable ``s`` stands for
e^{τt} (heavy ball), t (τ = 0, Nesterov) or e^{∫λ} (weight decay), and
:meth:`Flow.express` substitutes it.

Examples
--------
>>> from conslaws.core.plugins.registry import flows
>>> flows.names()
['gradient', 'mirror', 'mirror-momentum', 'momentum', 'nesterov', 'weight-decay']
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from conslaws.core.models.model import Model
from conslaws.core.plugins.architecture import Option, convert_options

if TYPE_CHECKING:
    from collections.abc import Sequence

    import sympy

    from conslaws.core.engine.oracles import FieldOracle
    from conslaws.core.engine.rotations import Rotation
    from conslaws.core.models.structural import GraphLaws, SparseLaw

__all__ = ["Flow"]


class Flow(ABC):
    """Base class of flow plugins.

    Subclasses set ``name``, ``summary``, ``options`` (declared like an
    architecture's) and ``certify_degree`` (the default degree of the laws
    sought for a certificate: momentum laws are cubic), and implement
    :meth:`transform`.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    options: ClassVar[tuple[Option, ...]] = ()
    certify_degree: ClassVar[int] = 2
    #: True when :meth:`transform` returns the model itself (its fields are the
    #: gradients of φ): engines that work on the network directly, such as the
    #: probe engine, then apply.
    keeps_parameterization: ClassVar[bool] = False
    #: True when the flow implements :meth:`oracle` (and :meth:`coordinates`): the
    #: probe engine then counts it on any network graph without listing paths.
    transforms_oracles: ClassVar[bool] = False
    #: True when :meth:`lift_rotations` gives laws: a count of a model without a
    #: graph then searches the antisymmetric linear symmetries of its φ.
    lifts_rotations: ClassVar[bool] = False
    #: True when :meth:`lift_gradient_laws` gives laws: a count of a model without a
    #: graph then searches the gradient flow's laws of its φ first.
    lifts_gradient_laws: ClassVar[bool] = False

    def __init__(self, **options: Any) -> None:
        self.settings: dict[str, Any] = convert_options(f"flow {self.name}", self.options,
                                                        options)

    @abstractmethod
    def transform(self, model: Model) -> Model:
        """The model of this flow: fields on the flow's space, named coordinates."""

    def coordinates(self, model: Model) -> tuple[str, ...]:
        """The names of the coordinates of the flow's space (default: θ's)."""
        return model.parameter_names

    def oracle(self, base: FieldOracle, model: Model) -> FieldOracle:
        """The flow's trace oracle from the gradient flow's ``base`` oracle on θ.

        Implemented by flows with ``transforms_oracles``; its fields must be those
        :meth:`transform` gives, evaluated without listing them.
        """
        raise NotImplementedError(f"flow {self.name!r} does not transform trace oracles")

    def lift_laws(self, laws: GraphLaws, model: Model) -> list[SparseLaw]:
        """The flow's laws proved from the network's symmetries ``laws`` (default: none).

        Each law returned must be conserved by every field of the flow, by an argument
        that holds for every network with these symmetries (the probe engine re-checks
        them on fresh probes before a count is certified).
        """
        return []

    def lift_rotations(self, rotations: Sequence[Rotation], model: Model) -> list[SparseLaw]:
        """The flow's laws from antisymmetric linear symmetries of φ (default: none).

        Each rotation A (:mod:`conslaws.core.engine.rotations`, upper triangle
        ``(j, k, A_jk)``) satisfies ``∇φ_i(θ)·Aθ = 0`` for every i and θ.  Flows with
        ``lifts_rotations`` return laws on their own coordinates; the count verifies
        each exactly against the flow's fields before it uses it.
        """
        return []

    def lift_gradient_laws(self, laws: Sequence[SparseLaw], model: Model) -> list[SparseLaw]:
        """The flow's laws from laws of the gradient flow of φ (default: none).

        ``laws`` are conserved by every field ∇φ_i (a basis from the law search, each
        homogeneous); flows with ``lifts_gradient_laws`` return laws on their own
        coordinates, verified exactly by the count before it uses them.
        """
        return []

    def express(self, law: sympy.Expr, model: Model) -> sympy.Expr:
        """A law in the flow's coordinates, rewritten for printing (default: unchanged)."""
        return law

    def model_name(self, model: Model) -> str:
        """The name of the model the flow makes of ``model`` (both engines report it).

        The model's own name when the flow keeps its parameterization, else
        ``"<model> | <flow>"``.
        """
        return model.name if self.keeps_parameterization else f"{model.name} | {self.describe()}"

    def describe(self) -> str:
        """``momentum tau=1/2`` for titles and JSON."""
        # `is` tests: tau = 0 is a real setting (Fraction(0) == False would hide it).
        shown = " ".join(f"{k}={v}" for k, v in self.settings.items()
                         if v is not None and v is not False)
        return f"{self.name} {shown}".strip()
