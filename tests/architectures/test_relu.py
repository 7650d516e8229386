"""ReLU networks (path lifting), with and without hidden biases.

Expected values come from outside the code under test:

* the rows of theory.md section 5 (two layers: r laws, ‖in_k‖² + b_k² - ‖out_k‖²
  per hidden neuron; deep ReLU, ± bias: one law per hidden neuron);
* for degenerate shapes, the naive sympy reference of ``tests/reference.py`` run
  on the path lifting built by explicit path enumeration.
"""

from __future__ import annotations

import itertools
from functools import cache

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import (
    check_law_basis,
    check_trace,
    functional_rank,
    plain,
    random_point,
    reference_count,
    reference_polynomial_laws,
    relu_phi,
    same_span,
    span_rank,
    sympy_is_conserved,
)

from conslaws.core import build_model, count, find_laws

SEED = 20240612


def shape_id(widths: tuple[int, ...]) -> str:
    return ",".join(map(str, widths))


# Two layers, input m, hidden r, output n, all widths >= 2.
TWO_LAYER = [(2, 2, 2), (2, 3, 2), (3, 4, 2), (2, 3, 3), (3, 2, 4)]
DEEP = [(2, 3, 3, 2), (3, 2, 2, 2), (2, 3, 2, 3, 2), (4, 3, 2)]
# Shapes where theory.md says the formulas may change: the expectation is computed.
DEGENERATE = [
    (1, 1, 1),  # width 1 everywhere
    (3, 2),  # no hidden layer
    (1, 1),  # no hidden layer, scalar
    (3, 2, 1),  # scalar output
    (1, 3, 2),  # scalar input
    (1, 2, 1),  # scalar input and output
    (2, 5, 2),  # hidden layer wider than its two neighbours together
    (2, 1, 2, 2),  # deeper, width-1 bottleneck
    (2, 1, 1, 2),  # two width-1 layers
    (1, 2, 2, 1),  # deep, scalar input and output
]
GENERIC = [(2, 3, 2), (2, 2, 2, 1)]


def neuron_laws(widths: tuple[int, ...], bias: bool) -> list[sympy.Expr]:
    """Σ_j W{l}_i_j² (+ b{l}_i²) - Σ_k W{l+1}_k_i² for every hidden neuron i of layer l."""
    laws = []
    for layer in range(1, len(widths) - 1):
        for i in range(1, widths[layer] + 1):
            incoming = sum(sympy.Symbol(f"W{layer}_{i}_{j}") ** 2
                           for j in range(1, widths[layer - 1] + 1))
            if bias:
                incoming += sympy.Symbol(f"b{layer}_{i}") ** 2
            outgoing = sum(sympy.Symbol(f"W{layer + 1}_{k}_{i}") ** 2
                           for k in range(1, widths[layer + 1] + 1))
            laws.append(incoming - outgoing)
    return laws


@cache
def reference(widths: tuple[int, ...], bias: bool) -> tuple[list[sympy.Symbol], list[sympy.Expr],
                                                            int, list[int]]:
    symbols, phi = relu_phi(widths, bias)
    laws, ranks = reference_count(phi, symbols, seed=SEED)
    return symbols, phi, laws, ranks


@cache
def reference_quadratic_laws(widths: tuple[int, ...], bias: bool) -> tuple[list[sympy.Expr], int]:
    """Reference basis of the laws of degree <= 2 and how many are functionally independent."""
    symbols, phi, _, _ = reference(widths, bias)
    laws = reference_polynomial_laws(phi, symbols, 2)
    return laws, functional_rank(laws, symbols, random_point(len(symbols), SEED + 1))


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("widths", [(2, 3, 2), (3, 1, 2), (2, 3, 3, 2), (1, 1), (1, 2, 2, 1)],
                         ids=shape_id)
def test_parameter_names_follow_the_documented_convention(widths: tuple[int, ...],
                                                          bias: bool) -> None:
    symbols, _ = relu_phi(widths, bias)
    model = build_model("relu", widths=widths, bias=bias)
    assert model.parameter_names == tuple(s.name for s in symbols)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("widths", [(2, 3, 2), (2, 2, 2, 1)], ids=shape_id)
def test_the_reference_itself_reproduces_theory(widths: tuple[int, ...], bias: bool) -> None:
    # Guards the guard: the naive closure gives one law per hidden neuron.
    assert reference(widths, bias)[2] == sum(widths[1:-1])


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("widths", TWO_LAYER, ids=shape_id)
def test_two_layers_count_is_the_hidden_width(exact_backend: str, widths: tuple[int, ...],
                                              bias: bool) -> None:
    m, r, n = widths
    result = count("relu", backend=exact_backend, seed=SEED, widths=widths, bias=bias)
    assert result.parameters == (n + m + bias) * r
    assert result.laws == r
    assert result.certified


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("widths", DEEP, ids=shape_id)
def test_deep_relu_count_is_the_number_of_hidden_neurons(exact_backend: str,
                                                         widths: tuple[int, ...],
                                                         bias: bool) -> None:
    result = count("relu", backend=exact_backend, seed=SEED, widths=widths, bias=bias)
    assert result.laws == sum(widths[1:-1])
    assert result.certified


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("widths", [(2, 3, 2), (3, 2, 4), (2, 3, 3, 2), (2, 2, 2, 2, 1)],
                         ids=shape_id)
def test_laws_are_one_balance_per_hidden_neuron(exact_backend: str, widths: tuple[int, ...],
                                                bias: bool) -> None:
    symbols, phi = relu_phi(widths, bias)
    expected = neuron_laws(widths, bias)
    assert all(sympy_is_conserved(h, phi, symbols) for h in expected)

    result = find_laws("relu", degree=2, backend=exact_backend, seed=SEED, widths=widths,
                       bias=bias)
    check_law_basis(result.laws, expected, phi, symbols)
    assert result.independent == sum(widths[1:-1])
    assert result.complete


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("widths", DEGENERATE + GENERIC, ids=shape_id)
def test_count_and_trace_match_the_naive_reference(exact_backend: str, widths: tuple[int, ...],
                                                   bias: bool) -> None:
    symbols, _, expected, ranks = reference(widths, bias)
    result = count("relu", backend=exact_backend, seed=SEED, widths=widths, bias=bias)
    assert result.parameters == len(symbols)
    assert result.laws == expected
    assert result.laws_upper_bound == expected
    check_trace(result, ranks)
    _, independent = reference_quadratic_laws(widths, bias)
    assert result.laws_lower_bound == independent
    assert result.certified == (independent == expected)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("widths", DEGENERATE, ids=shape_id)
def test_degenerate_laws_match_the_reference_law_space(widths: tuple[int, ...],
                                                       bias: bool) -> None:
    symbols, phi, expected, _ = reference(widths, bias)
    reference_laws, independent = reference_quadratic_laws(widths, bias)
    result = find_laws("relu", degree=2, seed=SEED, widths=widths, bias=bias)
    laws = [plain(h) for h in result.laws]
    assert all(sympy_is_conserved(h, phi, symbols) for h in laws)
    assert len(laws) == span_rank(laws, symbols) == len(reference_laws)
    assert same_span(laws, reference_laws, symbols)
    assert result.independent == independent
    assert result.complete == (independent == expected)


def test_no_hidden_layer_has_no_law_and_ignores_bias(exact_backend: str) -> None:
    # Biases exist only on hidden layers: with none, relu 3,2 is the identity φ on R^6.
    for bias in (False, True):
        result = count("relu", backend=exact_backend, seed=SEED, widths=(3, 2), bias=bias)
        assert (result.parameters, result.laws, result.certified) == (6, 0, True)


def _parameters(widths: list[int], bias: bool) -> int:
    weights = sum(a * b for a, b in itertools.pairwise(widths))
    return weights + (sum(widths[1:-1]) if bias else 0)


@st.composite
def relu_shapes(draw: st.DrawFn) -> tuple[list[int], bool]:
    widths = draw(st.lists(st.integers(1, 3), min_size=2, max_size=4))
    bias = draw(st.booleans())
    return widths, bias


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(relu_shapes().filter(lambda shape: _parameters(*shape) <= 14))
def test_random_relu_networks_match_the_reference(shape: tuple[list[int], bool]) -> None:
    widths, bias = shape
    symbols, phi = relu_phi(widths, bias)
    expected, ranks = reference_count(phi, symbols, seed=SEED)
    result = count("relu", backend="modular", seed=SEED, widths=tuple(widths), bias=bias)
    assert result.laws == expected
    check_trace(result, ranks)
