"""The modular backend: modulus validation, GF(p) behaviour, kernel normalisation."""

from __future__ import annotations

import pickle
import random
from fractions import Fraction
from typing import Any

import flint
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conslaws.backends.modular import DEFAULT_MODULUS, ModularBackend, check_modulus
from conslaws.backends.rational import RationalBackend
from conslaws.core.errors import ConslawsError, InvalidModulusError, InvalidPointError


def _forbidden(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a mod-p flint object was created for an invalid modulus")


@pytest.fixture
def no_mod_p_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every mod-p flint constructor fail the test if it is reached."""
    for name in ("nmod", "nmod_mat", "nmod_poly", "fmpz_mod", "fmpz_mod_mat", "fmpz_mod_ctx"):
        if hasattr(flint, name):
            monkeypatch.setattr(flint, name, _forbidden)


@pytest.mark.parametrize(
    ("modulus", "message"),
    [
        (15, r"modulus 15 is not prime \(15 = 3 \* 5\)"),
        (2**61 - 2, r"is not prime \(2305843009213693950 = 2 \* 3\*\*2 \* 5\*\*2 \* 7"),
        (9, r"modulus 9 is not prime \(9 = 3\*\*2\)"),
        (1, r"must be a prime between 3 and 2\*\*64, got 1$"),
        (0, "got 0$"),
        (-7, "got -7$"),
        (2, "got 2$"),
        (2**64 + 13, "got 18446744073709551629$"),
        (2**64, "got 18446744073709551616$"),
        (4.0, "got 4.0$"),
        (7.0, "got 7.0$"),
        (True, "got True$"),
        ("7", "got '7'$"),
        (None, "got None$"),
    ],
)
def test_invalid_modulus_rejected_before_flint(
    no_mod_p_objects: None, modulus: Any, message: str
) -> None:
    with pytest.raises(InvalidModulusError, match=message) as raised:
        ModularBackend(modulus)
    assert "\n" not in str(raised.value)
    assert isinstance(raised.value, ConslawsError)
    assert isinstance(raised.value, ValueError)


def test_check_modulus_accepts_primes(no_mod_p_objects: None) -> None:
    for p in (3, 7, 2**31 - 1, 2**61 - 1, 2**64 - 59):
        assert check_modulus(p) == p


def test_default_modulus() -> None:
    backend = ModularBackend()
    assert backend.modulus == DEFAULT_MODULUS == 2**61 - 1
    facts = backend.describe()
    assert facts == {
        "backend": "modular",
        "exact": True,
        "modulus": 2**61 - 1,
        "field": "GF(2305843009213693951)",
    }
    assert ModularBackend.name == "modular"
    assert ModularBackend.exact is True
    assert ModularBackend.description


def test_largest_word_size_prime_works() -> None:
    backend = ModularBackend(2**64 - 59)
    assert backend.rank([[1, 2], [3, 4]], 2) == 2
    assert backend.kernel([[1, 2], [2, 4]], 2) == [[2**64 - 59 - 2, 1]]


def test_small_prime_drops_rank_where_q_does_not() -> None:
    rows = [[1, 1], [1, 8]]
    assert RationalBackend().rank(rows, 2) == 2
    assert ModularBackend().rank(rows, 2) == 2
    mod7 = ModularBackend(7)
    assert mod7.rank(rows, 2) == 1
    assert mod7.pivot_rows(rows, 2) == [0]
    assert mod7.pivot_columns(rows, 2) == [0]
    assert mod7.kernel(rows, 2) == [[6, 1]]


def test_convert() -> None:
    mod7 = ModularBackend(7)
    assert mod7.convert(Fraction(1, 2)) == 4
    assert mod7.convert(-1) == 6
    assert mod7.convert(Fraction(-3, 4)) == (-3 * pow(4, -1, 7)) % 7
    assert ModularBackend().convert(2**61) == 1
    assert ModularBackend().convert(-(2**200)) == (-(2**200)) % (2**61 - 1)


@pytest.mark.parametrize("value", [Fraction(1, 7), Fraction(3, 14), Fraction(-5, 49)])
def test_denominator_divisible_by_modulus(value: Fraction) -> None:
    mod7 = ModularBackend(7)
    with pytest.raises(InvalidPointError, match="divisible by the modulus 7"):
        mod7.convert(value)
    with pytest.raises(InvalidPointError):
        mod7.rank([[1, value]], 2)
    with pytest.raises(InvalidPointError):
        mod7.kernel([[1, 2], [value, 1]], 2)


@pytest.mark.parametrize("value", [0.5, 1.0, "1", None])
def test_non_rational_values_rejected(value: Any) -> None:
    backend = ModularBackend()
    with pytest.raises(InvalidPointError, match="not an exact rational"):
        backend.convert(value)
    with pytest.raises(InvalidPointError):
        backend.rank([[1, value]], 2)


def test_entries_are_reduced_mod_p() -> None:
    p = 2**61 - 1
    backend = ModularBackend()
    rows = [[p, 1], [2 * p, 2], [-p, 3 + p]]  # the first column is zero mod p
    assert backend.rank(rows, 2) == 1
    assert backend.pivot_columns(rows, 2) == [1]
    assert backend.pivot_rows(rows, 2) == [0]
    assert backend.kernel(rows, 2) == [[1, 0]]


def test_wrong_row_length() -> None:
    with pytest.raises(ValueError, match="row 1 has 1 entries, expected 2"):
        ModularBackend().rank([[1, 2], [3]], 2)


def test_empty_matrices() -> None:
    backend = ModularBackend(7)
    assert backend.rank([], 3) == 0
    assert backend.pivot_columns([], 3) == []
    assert backend.pivot_rows([], 3) == []
    assert backend.kernel([], 3) == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert backend.rank([[], []], 0) == 0
    assert backend.pivot_rows([[], []], 0) == []
    assert backend.kernel([[], []], 0) == []
    assert backend.kernel([], 0) == []


def test_pickles() -> None:
    backend = pickle.loads(pickle.dumps(ModularBackend(7)))
    assert backend.modulus == 7
    assert backend.rank([[1, 1], [1, 8]], 2) == 1


def test_planted_rank_at_realistic_size() -> None:
    rng = random.Random(0)
    p = 2**61 - 1
    left = [[rng.randrange(p) for _ in range(40)] for _ in range(300)]
    right = [[rng.randrange(p) for _ in range(62)] for _ in range(40)]
    rows = [
        [sum(a * b for a, b in zip(row, col, strict=True)) for col in zip(*right, strict=True)]
        for row in left
    ]
    backend = ModularBackend()
    assert backend.rank(rows, 62) == 40
    assert backend.pivot_columns(rows, 62) == list(range(40))
    basis = backend.kernel(rows, 62)
    assert len(basis) == 22
    for vector in basis[:3]:
        for row in rows[:5]:
            assert sum(a * x for a, x in zip(row, vector, strict=True)) % p == 0


@settings(max_examples=80, deadline=None)
@given(
    shape=st.tuples(st.integers(0, 6), st.integers(0, 6)),
    data=st.data(),
)
def test_kernel_is_rational_kernel_mod_p(shape: tuple[int, int], data: st.DataObject) -> None:
    """The reduced kernel over GF(p) is the reduced kernel over Q, reduced mod p."""
    nrows, ncols = shape
    entry = st.integers(-3, 3) | st.fractions(min_value=-3, max_value=3, max_denominator=4)
    rows = data.draw(
        st.lists(st.lists(entry, min_size=ncols, max_size=ncols), min_size=nrows, max_size=nrows)
    )
    modular, rational = ModularBackend(), RationalBackend()
    assert modular.pivot_columns(rows, ncols) == rational.pivot_columns(rows, ncols)
    assert modular.pivot_rows(rows, ncols) == rational.pivot_rows(rows, ncols)
    expected = [[modular.convert(x) for x in v] for v in rational.kernel(rows, ncols)]
    assert modular.kernel(rows, ncols) == expected


@settings(max_examples=60, deadline=None)
@given(st.data(), st.sampled_from([3, 7, 101, 4194301]),
       st.tuples(st.integers(1, 6), st.integers(0, 6), st.integers(1, 7)))
def test_batched_kernels_are_the_kernels_one_by_one(data: st.DataObject, p: int,
                                                     shape: tuple[int, int, int]) -> None:
    """The numpy stack path of ``kernels`` gives flint's reduced kernel of each matrix,
    also when p divides entries (multiples of p are drawn on purpose)."""
    import numpy as np

    count, rows, cols = shape
    entry = st.one_of(st.integers(-5, 5), st.integers(-3, 3).map(lambda k: k * p))
    stack = np.array(data.draw(st.lists(st.lists(st.lists(entry, min_size=cols, max_size=cols),
                                                 min_size=rows, max_size=rows),
                                        min_size=count, max_size=count)),
                     dtype=np.int64).reshape(count, rows, cols)
    backend = ModularBackend(p)
    batched = backend.kernels(stack, cols)
    assert [k.tolist() for k in batched] == [backend.kernel(m.tolist(), cols) for m in stack]
