"""The flow contract, run on every registered flow (and on flows that break it).

Each check of :mod:`conslaws.core.plugins.flow_testing` is its own test, for every flow
the registry knows with its default options and with the options where formulas change
(τ = 0, a rational decay).  The checks compare each flow with the exact symbolic
fields of its own ``transform``: laws are verified by ∇h·w ≡ 0 over Q, the oracle by
the span of those fields at a random point.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from conslaws.core.plugins.flow import Flow
from conslaws.core.plugins.flow_testing import check_flow, flow_checks
from conslaws.core.plugins.registry import flows
from conslaws.flows.builtin import MomentumFlow, WeightDecayFlow

CHECK_NAMES = [name for name, _ in flow_checks(flows.load("gradient")())]
SETTINGS: list[tuple[str, dict[str, Any]]] = [
    *((name, {}) for name in flows.names()),
    ("momentum", {"tau": 0}),
    ("momentum", {"tau": "1/3"}),
    ("weight-decay", {"decay": "1/2"}),
]


@pytest.mark.parametrize("check_name", CHECK_NAMES)
@pytest.mark.parametrize(("name", "options"), SETTINGS,
                         ids=[f"{n}{options or ''}" for n, options in SETTINGS])
def test_contract(name: str, options: dict[str, Any], check_name: str) -> None:
    flow = flows.load(name)(**options)
    dict(flow_checks(flow))[check_name]()


class _ForgetsTheClock(MomentumFlow):
    """⟨Aθ, θ'⟩ without e^{τt}: conserved only when τ = 0."""

    name: ClassVar[str] = "forgets-the-clock"

    def _clock_factor(self) -> tuple[tuple[int, int], ...]:
        return ()


class _ClaimsWithoutLaws(WeightDecayFlow):
    name: ClassVar[str] = "claims-without-laws"

    def lift_gradient_laws(self, laws: Any, model: Any) -> list[Any]:
        return []


def test_a_wrong_rotation_law_fails_its_check() -> None:
    with pytest.raises(AssertionError, match=r"fails lift_rotations: law 1 .* not conserved"):
        dict(flow_checks(_ForgetsTheClock()))["lift_rotations"]()
    dict(flow_checks(_ForgetsTheClock(tau=0)))["lift_rotations"]()  # right when τ = 0


def test_a_declared_capability_must_give_laws() -> None:
    with pytest.raises(AssertionError, match="lifts_gradient_laws is set"):
        check_flow(_ClaimsWithoutLaws())


def test_flow_checks_wants_an_instance() -> None:
    with pytest.raises(TypeError, match="expected a Flow instance"):
        list(flow_checks(MomentumFlow))  # type: ignore[arg-type]
    assert issubclass(MomentumFlow, Flow)
