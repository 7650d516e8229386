"""Multi-layer 1-D and 2-D circular convolutions with biases, against independent values.

Expected values come from outside the code under test:

* a naive gated network written here with sympy: every hidden ReLU unit's output
  multiplied by its own gate symbol (docs/theory.md section 3), the outputs
  expanded, φ read off as their coefficients in the monomials of (x, gates).  The
  convolution is written from the input side (for each input pixel, the tap that
  reaches it, if any), not from the taps as architectures/conv.py does.  That φ is
  counted as a ``custom`` model (fields engine, no graph) and by the naive closure
  of ``tests/reference.py``;
* closed forms derived by hand: a 1 x 1 kernel (or a length-1 signal) repeats one
  fully connected network at every position with the same weights, so φ is that
  network's path lifting and the count is one per hidden neuron (theory.md
  section 5, deep ReLU); a first kernel as long as the signal with stride p is a
  fully connected first layer on all c0·p^d inputs; one layer is linear in θ
  (each φ component is one weight): no law; the balances Σ in² + b² - Σ out² of
  every hidden channel are laws (checked with sympy);
* the probe engine's count against the fields engine's, both certified.
"""

from __future__ import annotations

from functools import cache
from itertools import pairwise, product
from typing import Any

import pytest
import sympy
from reference import (
    check_law_basis,
    check_trace,
    plain,
    reference_count,
    sympy_is_conserved,
)

from conslaws.core import build_model, count, find_laws

SEED = 20240701

# (dims, channels, kernels, length p, stride s, bias)
Shape = tuple[int, tuple[int, ...], tuple[int, ...], int, int, bool]

SHAPES: list[Shape] = [
    (1, (1, 2, 1), (2, 2), 3, 1, True),  # the original two layers, with biases b1_j
    (1, (1, 2, 2, 1), (2, 1, 2), 3, 1, False),  # three layers
    (1, (2, 1, 1, 1), (2, 2, 1), 4, 2, True),  # stride, channel counts of 1
    (1, (2, 3), (2,), 3, 1, True),  # one linear layer: --bias is inert
    (1, (1, 1, 1), (3, 1), 3, 3, True),  # kernel == length, hidden length 1
    (1, (1, 1, 1), (1, 1), 1, 1, True),  # length 1, kernel 1
    (1, (1, 2, 1), (3, 3), 3, 1, False),  # kernels == length in both layers
    (2, (1, 2, 1), (2, 2), 2, 1, False),  # 2-D, kernel == side
    (2, (1, 1, 2), (2, 1), 3, 2, True),  # 2-D, stride 2: hidden side 2, wrap-around
    (2, (2, 1, 1, 1), (1, 2, 2), 2, 1, True),  # 2-D, three layers, biases
    (2, (1, 2), (2,), 2, 1, False),  # 2-D, one layer
    (2, (1, 1, 1), (1, 1), 1, 1, True),  # 2-D, a 1 x 1 image
]


def shape_id(shape: Shape) -> str:
    dims, channels, kernels, p, s, bias = shape
    return (f"{dims}d-c{','.join(map(str, channels))}-k{','.join(map(str, kernels))}-p{p}-s{s}"
            + ("-bias" if bias else ""))


def options(shape: Shape) -> dict[str, Any]:
    dims, channels, kernels, p, s, bias = shape
    return {"dims": dims, "channels": channels, "kernels": kernels, "length": p, "stride": s,
            "bias": bias}


def weight_symbol(shape: Shape, layer: int, out: int, into: int,
                  taps: tuple[int, ...]) -> sympy.Symbol:
    """The documented names: v/u for two 1-D layers, W{l}_{o}_{i}_{taps} otherwise."""
    dims, channels = shape[0], shape[1]
    tail = "_".join(str(n) for n in (out, into, *taps))
    if dims == 1 and len(channels) == 3:
        return sympy.Symbol(("v" if layer == 1 else "u") + tail)
    return sympy.Symbol(f"W{layer}_{tail}")


@cache
def gated_network(shape: Shape) -> tuple[list[sympy.Symbol], list[sympy.Expr]]:
    """Parameters in the documented order and φ of the gated network, by brute force."""
    dims, channels, kernels, p, s, bias = shape
    depth = len(kernels)
    q = (p + s - 1) // s
    sides = [p] + [q] * depth
    symbols: list[sympy.Symbol] = []
    for layer in range(1, depth + 1):
        taps = list(product(range(1, kernels[layer - 1] + 1), repeat=dims))
        symbols += [weight_symbol(shape, layer, o, i, t) for o in range(1, channels[layer] + 1)
                    for i in range(1, channels[layer - 1] + 1) for t in taps]
        if bias and layer < depth:
            symbols += [sympy.Symbol(f"b{layer}_{o}") for o in range(1, channels[layer] + 1)]
    variables: list[sympy.Symbol] = []
    signal: dict[tuple[int, tuple[int, ...]], sympy.Expr] = {}
    for i in range(1, channels[0] + 1):
        for t in product(range(p), repeat=dims):
            signal[i, t] = sympy.Symbol("x" + "_".join(map(str, (i, *t))))
            variables.append(signal[i, t])
    for layer in range(1, depth + 1):
        stride, before, kernel = (s if layer == 1 else 1), sides[layer - 1], kernels[layer - 1]
        new: dict[tuple[int, tuple[int, ...]], sympy.Expr] = {}
        for o in range(1, channels[layer] + 1):
            for tau in product(range(sides[layer]), repeat=dims):
                total = sympy.Integer(0)
                # From the input side: pixel t is reached by tap t - stride·τ (mod the side)
                # when that offset is below the kernel size on every axis.
                for (i, t), value in signal.items():
                    offset = tuple((tc - stride * c) % before for tc, c in zip(t, tau,
                                                                               strict=True))
                    if all(d < kernel for d in offset):
                        taps = tuple(d + 1 for d in offset)
                        total += weight_symbol(shape, layer, o, i, taps) * value
                if bias and layer < depth:
                    total += sympy.Symbol(f"b{layer}_{o}")
                if layer < depth:
                    gate = sympy.Symbol("g" + "_".join(map(str, (layer, o, *tau))))
                    variables.append(gate)
                    total = gate * total
                new[o, tau] = total
        signal = new
    phi: list[sympy.Expr] = []
    for output in signal.values():
        phi += sympy.Poly(sympy.expand(output), *variables).coeffs()
    return symbols, phi


def model_phi(shape: Shape) -> set[sympy.Expr]:
    model = build_model("conv", **options(shape))
    return {plain(model.ring.to_sympy(p)) for p in model.phi}


def hidden_channels(shape: Shape) -> int:
    return sum(shape[1][1:-1])


def balances(shape: Shape) -> list[sympy.Expr]:
    """Σ (incoming weights² + bias²) - Σ outgoing weights², per hidden channel."""
    dims, channels, kernels, _, _, bias = shape

    def squares(layer: int, outs: range, intos: range) -> sympy.Expr:
        taps = product(range(1, kernels[layer - 1] + 1), repeat=dims)
        return sum((weight_symbol(shape, layer, o, i, t) ** 2
                    for t in taps for o in outs for i in intos), sympy.Integer(0))

    laws = []
    for layer in range(1, len(channels) - 1):
        for c in range(1, channels[layer] + 1):
            law = (squares(layer, range(c, c + 1), range(1, channels[layer - 1] + 1))
                   - squares(layer + 1, range(1, channels[layer + 1] + 1), range(c, c + 1)))
            if bias:
                law += sympy.Symbol(f"b{layer}_{c}") ** 2
            laws.append(law)
    return laws


def custom_count(shape: Shape) -> Any:
    """The count of the gated φ as a plain polynomial map (fields engine, no graph)."""
    symbols, phi = gated_network(shape)
    model = build_model("custom", phi=phi, params=[s.name for s in symbols])
    return count(model, seed=SEED)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_names_and_phi_match_the_gated_network(shape: Shape) -> None:
    symbols, phi = gated_network(shape)
    model = build_model("conv", **options(shape))
    assert model.parameter_names == tuple(s.name for s in symbols)
    # Several positions give one path product: compare the sets of components.
    assert model_phi(shape) == set(phi)


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_count_matches_the_custom_model_of_the_gated_phi(exact_backend: str,
                                                         shape: Shape) -> None:
    truth = custom_count(shape)
    result = count("conv", backend=exact_backend, seed=SEED, **options(shape))
    assert truth.certified and result.certified
    assert (result.parameters, result.laws) == (truth.parameters, truth.laws)
    assert result.lie_dimension == truth.lie_dimension


# The naive closure brackets every field with every field: small φ only.
@pytest.mark.parametrize("shape", [s for s in SHAPES if len(gated_network(s)[0]) <= 14
                                   and len(gated_network(s)[1]) <= 60], ids=shape_id)
def test_count_and_trace_match_the_naive_closure(shape: Shape) -> None:
    symbols, phi = gated_network(shape)
    laws, ranks = reference_count(phi, symbols, seed=SEED)
    result = count("conv", engine="fields", seed=SEED, **options(shape))
    assert result.certified and result.laws == laws
    check_trace(result, ranks)


@pytest.mark.parametrize("shape", [s for s in SHAPES if len(s[1]) > 2], ids=shape_id)
def test_channel_balances_are_laws(shape: Shape) -> None:
    symbols, phi = gated_network(shape)
    laws = balances(shape)
    assert len(laws) == hidden_channels(shape)
    assert all(sympy_is_conserved(h, phi, symbols) for h in laws)


GENERIC: list[Shape] = [
    (1, (1, 2, 2, 1), (2, 1, 2), 3, 1, False),
    (1, (2, 1, 1, 1), (2, 2, 1), 4, 2, True),
    (2, (1, 2, 1), (2, 2), 2, 1, False),
    (2, (1, 1, 2), (2, 1), 3, 2, True),
]


@pytest.mark.parametrize("shape", GENERIC, ids=shape_id)
def test_laws_are_the_channel_balances(shape: Shape) -> None:
    symbols, phi = gated_network(shape)
    result = find_laws("conv", degree=2, seed=SEED, **options(shape))
    check_law_basis(result.laws, balances(shape), phi, symbols)
    assert result.independent == hidden_channels(shape)
    assert result.complete


# -- closed forms ---------------------------------------------------------------------------


def relu_renamed(shape: Shape, flat: bool) -> dict[str, str]:
    """conv weight name -> relu weight name W{l}_{o}_{j} of the equivalent dense network.

    With a 1 x 1 kernel every position applies the same dense layers (j = i); with
    ``flat`` the first layer sees the whole input: j runs over (channel, pixel).
    """
    symbols, _ = gated_network(shape)
    dims, _, kernels, _, _, _ = shape
    renamed = {}
    for s in symbols:
        if s.name.startswith("b"):
            renamed[s.name] = s.name
            continue
        if s.name[0] in "vu":
            layer, (out, into, *taps) = (1 if s.name[0] == "v" else 2), s.name[1:].split("_")
        else:
            first, out, into, *taps = s.name[1:].split("_")
            layer = int(first)
        j = int(into)
        if flat and layer == 1:
            side = kernels[0]
            pixel = 0
            for tap in taps:
                pixel = pixel * side + int(tap) - 1
            j = (j - 1) * side**dims + pixel + 1
        renamed[s.name] = f"W{layer}_{out}_{j}"
    return renamed


def relu_path_lifting(widths: tuple[int, ...], bias: bool) -> set[sympy.Expr]:
    """φ of the dense ReLU network, path by path (tests/reference.py)."""
    from reference import relu_phi

    return set(relu_phi(widths, bias)[1])


POINTWISE: list[Shape] = [
    (1, (2, 3, 2), (1, 1), 3, 1, False),
    (1, (2, 3, 2), (1, 1), 3, 1, True),
    (1, (1, 1, 1, 1), (1, 1, 1), 4, 1, True),
    (1, (1, 2, 1, 2), (1, 1, 1), 1, 1, False),  # length 1: one position
    (2, (2, 1, 2, 1), (1, 1, 1), 2, 1, True),
    (2, (1, 2, 2), (1, 1), 3, 2, False),  # stride: fewer positions, the same φ
]


@pytest.mark.parametrize("shape", POINTWISE, ids=shape_id)
def test_a_one_by_one_kernel_is_the_dense_network_at_every_position(shape: Shape) -> None:
    _, channels, _, _, _, bias = shape
    renamed = relu_renamed(shape, flat=False)
    phi = {p.xreplace({sympy.Symbol(a): sympy.Symbol(b) for a, b in renamed.items()})
           for p in model_phi(shape)}
    assert phi == relu_path_lifting(channels, bias)
    result = count("conv", seed=SEED, **options(shape))
    weights = sum(a * b for a, b in pairwise(channels))
    assert result.parameters == weights + (sum(channels[1:-1]) if bias else 0)
    # theory.md section 5: deep ReLU, with or without bias: one law per hidden neuron.
    assert (result.laws, result.certified) == (sum(channels[1:-1]), True)


FULL_FIRST_KERNEL: list[Shape] = [
    (1, (2, 2, 1), (3, 1), 3, 3, True),
    (1, (1, 3, 2, 1), (4, 1, 1), 4, 4, False),
    (2, (1, 2, 2), (2, 1), 2, 2, True),
]


@pytest.mark.parametrize("shape", FULL_FIRST_KERNEL, ids=shape_id)
def test_a_kernel_as_long_as_the_signal_with_stride_p_is_a_dense_layer(shape: Shape) -> None:
    dims, channels, _, p, _, bias = shape
    renamed = relu_renamed(shape, flat=True)
    phi = {q.xreplace({sympy.Symbol(a): sympy.Symbol(b) for a, b in renamed.items()})
           for q in model_phi(shape)}
    widths = (channels[0] * p**dims, *channels[1:])
    assert phi == relu_path_lifting(widths, bias)
    result = count("conv", seed=SEED, **options(shape))
    assert (result.laws, result.certified) == (sum(channels[1:-1]), True)


@pytest.mark.parametrize("dims", [1, 2])
@pytest.mark.parametrize(("channels", "kernel", "p"), [((2, 3), 2, 3), ((1, 1), 1, 1),
                                                       ((3, 2), 3, 3)])
def test_one_layer_is_linear_in_theta_and_has_no_law(dims: int, channels: tuple[int, int],
                                                     kernel: int, p: int) -> None:
    # Each output's coefficient of one input pixel is one weight: φ is the identity.
    for bias in (False, True):
        shape: Shape = (dims, channels, (kernel,), p, 1, bias)
        symbols, _ = gated_network(shape)
        assert model_phi(shape) == set(symbols)
        result = count("conv", seed=SEED, **options(shape))
        assert result.parameters == channels[0] * channels[1] * kernel**dims
        assert (result.laws, result.certified) == (0, True)


# -- the probe engine against the fields engine ---------------------------------------------

ENGINE_SHAPES: list[Shape] = [*SHAPES, (1, (2, 2, 2, 2), (2, 2, 2), 3, 1, True),
                              (2, (2, 2, 2), (2, 2), 3, 1, True),
                              (2, (1, 2, 1, 2), (2, 1, 2), 4, 2, False)]


@pytest.mark.parametrize("shape", ENGINE_SHAPES, ids=shape_id)
def test_the_probe_engine_agrees_with_the_fields_engine(shape: Shape) -> None:
    truth = count("conv", engine="fields", seed=SEED, **options(shape))
    result = count("conv", engine="probes", seed=SEED, **options(shape))
    assert truth.certified and result.certified
    assert (result.engine, truth.engine) == ("probes", "fields")
    assert (result.parameters, result.laws, result.lie_dimension) == (
        truth.parameters, truth.laws, truth.lie_dimension)
