"""The floating-point backend: tolerance handling and near-singular matrices."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from conslaws.backends.floating import FloatBackend
from conslaws.backends.rational import RationalBackend
from conslaws.core.errors import InvalidOptionError, InvalidPointError

NEARLY_SINGULAR = [[1, 1], [1, 1 + Fraction(1, 10**9)]]


def test_describe_says_estimate() -> None:
    backend = FloatBackend()
    facts = backend.describe()
    assert facts["backend"] == "float"
    assert facts["exact"] is False
    assert facts["field"] == "R (float64)"
    assert facts["tolerance"] == "auto"
    assert facts["tolerance_used"] is None  # no call yet
    assert "never certified" in facts["note"]
    assert FloatBackend.exact is False


def test_auto_tolerance_is_numpy_default_and_reported() -> None:
    rows = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [1, 0, 1]]
    backend = FloatBackend()
    assert backend.rank(rows, 3) == np.linalg.matrix_rank(np.array(rows, dtype=float)) == 3
    singular_values = np.linalg.svd(np.array(rows, dtype=float), compute_uv=False)
    expected = singular_values.max() * 4 * np.finfo(np.float64).eps
    assert backend.last_tolerance == pytest.approx(expected, rel=1e-12)
    assert backend.describe()["tolerance"] == "auto"
    assert backend.describe()["tolerance_used"] == backend.last_tolerance


def test_fixed_tolerance_is_reported() -> None:
    backend = FloatBackend(tolerance=1e-6)
    assert backend.describe()["tolerance"] == 1e-6
    backend.rank([[1, 0], [0, 1]], 2)
    assert backend.describe()["tolerance_used"] == 1e-6
    assert "tolerance=1e-06" in repr(backend)


def test_tolerance_of_the_last_call_is_kept() -> None:
    backend = FloatBackend()
    backend.rank([[1000, 0], [0, 1]], 2)
    large = backend.last_tolerance
    backend.rank([[1, 0], [0, 1]], 2)
    assert backend.last_tolerance is not None and large is not None
    assert backend.last_tolerance < large


@pytest.mark.parametrize("tolerance", [-1.0, math.nan, math.inf, "1e-9", True])
def test_invalid_tolerance(tolerance: Any) -> None:
    with pytest.raises(InvalidOptionError, match="tolerance must be"):
        FloatBackend(tolerance=tolerance)


def test_near_singular_matrix_depends_on_tolerance() -> None:
    auto, loose = FloatBackend(), FloatBackend(tolerance=1e-6)
    assert auto.rank(NEARLY_SINGULAR, 2) == 2
    assert auto.pivot_columns(NEARLY_SINGULAR, 2) == [0, 1]
    assert auto.kernel(NEARLY_SINGULAR, 2) == []
    assert loose.rank(NEARLY_SINGULAR, 2) == 1
    assert loose.pivot_columns(NEARLY_SINGULAR, 2) == [0]
    assert loose.pivot_rows(NEARLY_SINGULAR, 2) == [0]
    (vector,) = loose.kernel(NEARLY_SINGULAR, 2)
    assert vector[1] == 1.0  # the identity entry is set exactly
    assert vector[0] == pytest.approx(-1.0, abs=1e-8)


def test_below_float_resolution_the_rank_is_wrong() -> None:
    """A perturbation below float64 resolution is lost: the estimate undercounts."""
    rows = [[1, 1], [1, 1 + Fraction(1, 10**17)]]
    assert RationalBackend().rank(rows, 2) == 2
    assert FloatBackend().rank(rows, 2) == 1


def test_hilbert_matrix_is_numerically_deficient() -> None:
    n = 12
    hilbert = [[Fraction(1, i + j + 1) for j in range(n)] for i in range(n)]
    backend = FloatBackend()
    assert RationalBackend().rank(hilbert, n) == n
    rank = backend.rank(hilbert, n)
    assert rank < n
    assert len(backend.pivot_columns(hilbert, n)) == rank
    assert len(backend.kernel(hilbert, n)) == n - rank


def test_kernel_is_reduced_and_annihilated() -> None:
    rows = [[1, 2, 0, 1, 3], [0, 1, 1, 0, 1], [1, 3, 1, 1, 4], [0, 0, 0, 1, 1]]
    backend = FloatBackend()
    basis = np.array(backend.kernel(rows, 5))
    assert basis.shape == (2, 5)
    np.testing.assert_array_equal(basis[:, [2, 4]], np.eye(2))
    np.testing.assert_allclose(np.array(rows, dtype=float) @ basis.T, 0, atol=1e-12)
    exact = RationalBackend().kernel(rows, 5)
    np.testing.assert_allclose(basis, np.array(exact, dtype=float), atol=1e-12)


def test_greedy_pivots_skip_dependent_columns() -> None:
    # column 1 = 2 * column 0, column 3 = column 0 + column 2
    rows = [[1, 2, 0, 1], [2, 4, 1, 3], [3, 6, 1, 4]]
    backend = FloatBackend()
    assert backend.pivot_columns(rows, 4) == [0, 2]
    assert backend.pivot_rows(rows, 4) == [0, 1]


def test_tall_matrix_pivots() -> None:
    rng = np.random.default_rng(0)
    left = rng.integers(-3, 4, size=(60, 3))
    right = rng.integers(-3, 4, size=(3, 8))
    rows = (left @ right).tolist()
    backend = FloatBackend()
    exact = RationalBackend()
    assert backend.rank(rows, 8) == exact.rank(rows, 8)
    assert backend.pivot_columns(rows, 8) == exact.pivot_columns(rows, 8)
    assert backend.pivot_rows(rows, 8) == exact.pivot_rows(rows, 8)


def test_convert() -> None:
    backend = FloatBackend()
    assert backend.convert(Fraction(1, 4)) == 0.25
    assert backend.convert(-3) == -3.0
    assert isinstance(backend.convert(2), float)
    with pytest.raises(InvalidPointError, match="too large"):
        backend.convert(10**400)
    with pytest.raises(InvalidPointError, match="not an exact rational"):
        backend.convert(0.5)  # type: ignore[arg-type]


def test_empty_matrices() -> None:
    backend = FloatBackend()
    assert backend.rank([], 2) == 0
    assert backend.kernel([], 2) == [[1.0, 0.0], [0.0, 1.0]]
    assert backend.kernel([[], []], 0) == []
    assert backend.pivot_rows([[], []], 0) == []
    assert backend.pivot_columns([[0, 0]], 2) == []
