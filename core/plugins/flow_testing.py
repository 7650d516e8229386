"""Conformance checks that a flow plugin can run against itself.

The flow counterpart of :mod:`conslaws.core.plugins.testing`: a third-party flow
proves that it follows the contract of :mod:`conslaws.core.plugins.flow` by passing
:func:`check_flow`, and a test suite runs each check as its own test through
:func:`flow_checks`::

    import pytest
    from conslaws.core.plugins.flow_testing import flow_checks

    @pytest.mark.parametrize("name, check", list(flow_checks(MyFlow())))
    def test_contract(name, check):
        check()

What is checked, on small models built here (a φ with a rotation symmetry, a
linear network with a graph):

* the class attributes have their documented types;
* :meth:`~Flow.transform` names its coordinates as :meth:`~Flow.coordinates` does;
* with ``transforms_oracles``, the oracle's random fields of W_0 span, at a random
  point mod p, what the transformed model's symbolic fields span there;
* every law :meth:`~Flow.lift_laws`, :meth:`~Flow.lift_rotations` and
  :meth:`~Flow.lift_gradient_laws` return is conserved, exactly, by every field of the
  transformed model, and a flow that declares ``lifts_rotations`` or
  ``lifts_gradient_laws`` returns at least one;
* :meth:`~Flow.express` turns a law into a sympy expression.

Every check raises :class:`AssertionError` naming the flow and the check.

Examples
--------
>>> from conslaws.core.plugins.registry import flows
>>> check_flow(flows.load("momentum")())  # silent when the flow conforms
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from conslaws.core.models.model import Model
from conslaws.core.models.structural import SparseLaw, to_polynomial
from conslaws.core.plugins.flow import Flow

__all__ = ["check_flow", "flow_checks"]

#: The prime of the oracle check (below the oracles' 2**22).
PRIME = 4_194_301


def _require(condition: bool, flow: Flow, check: str, message: str) -> None:
    # An explicit raise, not ``assert``: the checks must survive ``python -O``.
    if not condition:
        raise AssertionError(f"{type(flow).__name__} ({flow.name!r}) fails {check}: {message}")


def _phi_model() -> Model:
    """<u, v> for 2-vectors: two rotations, and the gradient law u1² + u2² - v1² - v2²."""
    return Model.from_phi(("u1", "u2", "v1", "v2"), ["u1*v1 + u2*v2"])


def _network() -> Model:
    from conslaws.core.frontends.api import build_model

    return build_model("linear", widths=(2, 2, 2))


def _check_attributes(flow: Flow) -> None:
    check = "attributes"
    for attribute in ("name", "summary"):
        value = getattr(flow, attribute)
        _require(isinstance(value, str) and bool(value), flow, check,
                 f"{attribute} must be a non-empty str, got {value!r}")
    _require(isinstance(flow.options, tuple), flow, check, "options must be a tuple")
    _require(isinstance(flow.certify_degree, int) and flow.certify_degree >= 0, flow, check,
             f"certify_degree must be an int >= 0, got {flow.certify_degree!r}")
    for flag in ("keeps_parameterization", "transforms_oracles", "lifts_rotations",
                 "lifts_gradient_laws"):
        _require(isinstance(getattr(flow, flag), bool), flow, check, f"{flag} must be a bool")


def _check_transform(flow: Flow) -> None:
    check = "transform"
    for model in (_phi_model(), _network()):
        flowing = flow.transform(model)
        _require(isinstance(flowing, Model), flow, check,
                 f"transform returned a {type(flowing).__name__}, not a Model")
        _require(flowing.parameter_names == tuple(flow.coordinates(model)), flow, check,
                 f"the coordinates {flowing.parameter_names} of the transformed model are "
                 f"not coordinates(model) = {tuple(flow.coordinates(model))}")
        _require(bool(flowing.generators), flow, check, "the transformed model has no field")
        if flow.keeps_parameterization:
            _require(flowing.dimension == model.dimension, flow, check,
                     "keeps_parameterization is set but the space changed")


def _check_oracle(flow: Flow) -> None:
    """The oracle's W_0 and the symbolic fields' span agree at a random point mod p."""
    if not flow.transforms_oracles:
        return
    from conslaws.backends.modular import ModularBackend
    from conslaws.core.engine.oracles import GradientOracle, nested_bracket_rows
    from conslaws.core.models.probes import ModularNetwork

    check = "oracle"
    model = _network()
    assert model.graph is not None
    flowing = flow.transform(model)
    oracle = flow.oracle(GradientOracle(ModularNetwork(model.graph, PRIME)), model)
    _require(oracle.dimension == flowing.dimension and oracle.modulus == PRIME, flow, check,
             f"the oracle lives on dimension {oracle.dimension} mod {oracle.modulus}, the "
             f"transformed model on {flowing.dimension}")
    rng = np.random.default_rng(7)
    point = rng.integers(1, PRIME, size=flowing.dimension, dtype=np.int64)
    probes = nested_bracket_rows(oracle, point, [oracle.draw(rng, 3 * flowing.dimension)])
    symbolic = []
    for field in flowing.generators:
        value = field.value_at([int(v) for v in point])
        symbolic.append([int(value.get(j, 0)) % PRIME for j in range(flowing.dimension)])
    backend = ModularBackend(PRIME)
    probed = [[int(v) for v in row] for row in probes]
    both = backend.rank(probed + symbolic, flowing.dimension)
    _require(backend.rank(probed, flowing.dimension) == both
             == backend.rank(symbolic, flowing.dimension), flow, check,
             "the oracle's fields and the transformed model's fields span different spaces "
             "at a random point")


def _conserved_by_the_flow(flow: Flow, check: str, model: Model, laws: Sequence[SparseLaw],
                           source: str) -> None:
    from conslaws.core.engine.laws import conserved

    flowing = flow.transform(model)
    polynomials = [to_polynomial(law, flowing.ring) for law in laws]
    for number, ok in enumerate(conserved(flowing, polynomials), 1):
        _require(ok, flow, check, f"law {number} of {source} is not conserved by the flow's "
                 f"fields: {polynomials[number - 1]}")


def _check_lift_laws(flow: Flow) -> None:
    from conslaws.core.models.structural import graph_laws

    model = _network()
    assert model.graph is not None
    laws = flow.lift_laws(graph_laws(model.graph), model)
    _conserved_by_the_flow(flow, "lift_laws", model, laws, "lift_laws on linear 2,2,2")


def _check_lift_rotations(flow: Flow) -> None:
    from conslaws.backends.modular import ModularBackend
    from conslaws.core.engine.rotations import find_rotations

    model = _phi_model()
    rotations = find_rotations(model, backend=ModularBackend(PRIME))
    laws = flow.lift_rotations(rotations, model)
    if flow.lifts_rotations:
        _require(bool(laws), flow, "lift_rotations", "lifts_rotations is set, but the two "
                 "rotations of <u, v> gave no law")
    _conserved_by_the_flow(flow, "lift_rotations", model, laws, "lift_rotations on <u, v>")


def _check_lift_gradient_laws(flow: Flow) -> None:
    from conslaws.backends.modular import ModularBackend
    from conslaws.core.algebra.polynomials import sparse_terms
    from conslaws.core.engine.laws import find_polynomial_laws

    model = _phi_model()
    found = find_polynomial_laws(model, 2, backend=ModularBackend(PRIME)).laws
    laws = flow.lift_gradient_laws([sparse_terms(h) for h in found], model)
    if flow.lifts_gradient_laws:
        _require(bool(laws), flow, "lift_gradient_laws", "lifts_gradient_laws is set, but "
                 "the gradient laws of <u, v> gave no law")
    _conserved_by_the_flow(flow, "lift_gradient_laws", model, laws,
                           "lift_gradient_laws on <u, v>")


def _check_express(flow: Flow) -> None:
    import sympy

    model = _phi_model()
    names = flow.coordinates(model)
    law = sympy.Add(*(sympy.Symbol(n) ** 2 for n in names[:2]))
    shown = flow.express(law, model)
    _require(isinstance(shown, sympy.Expr), flow, "express",
             f"express returned a {type(shown).__name__}, not a sympy expression")


_FLOW_CHECKS: tuple[tuple[str, Callable[[Flow], None]], ...] = (
    ("attributes", _check_attributes),
    ("transform", _check_transform),
    ("oracle", _check_oracle),
    ("lift_laws", _check_lift_laws),
    ("lift_rotations", _check_lift_rotations),
    ("lift_gradient_laws", _check_lift_gradient_laws),
    ("express", _check_express),
)


def flow_checks(flow: Flow) -> Iterator[tuple[str, Callable[[], None]]]:
    """Yield ``(name, check)`` pairs, one per contract check, for parametrizing.

    Parameters
    ----------
    flow : Flow
        An instance of the flow under test (with the options to test).

    Examples
    --------
    >>> from conslaws.core.plugins.registry import flows
    >>> [name for name, _ in flow_checks(flows.load("gradient")())][:3]
    ['attributes', 'transform', 'oracle']
    """
    if isinstance(flow, type) or not isinstance(flow, Flow):
        raise TypeError(f"expected a Flow instance, got {flow!r}")
    for name, check in _FLOW_CHECKS:

        def run(check: Callable[[Flow], None] = check) -> None:
            check(flow)

        run.__name__ = f"check_{name}"
        yield name, run


def check_flow(flow: Flow) -> None:
    """Run every contract check on ``flow``; raise AssertionError on the first failure."""
    for _, check in flow_checks(flow):
        check()
