"""The backend contract, run on every registered backend.

Each check of :mod:`conslaws.core.plugins.testing` is its own test, for every backend
the registry knows (built-in ones arrive through entry points, so discovery is
exercised too), followed by hypothesis properties that hold in any field.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conslaws.backends.rational import RationalBackend
from conslaws.core.plugins.backend import Backend, Rows
from conslaws.core.plugins.registry import backends
from conslaws.core.plugins.testing import backend_checks, check_backend, check_exact_backends_agree

BACKEND_NAMES = backends.names()
# The check names are the same for every backend; take them from one that is
# always importable so a broken plugin fails its tests instead of collection.
CHECK_NAMES = [name for name, _ in backend_checks(RationalBackend())]

Matrix = list[list[int]]


def _instance(name: str) -> Backend:
    instance: Backend = backends.load(name)()
    return instance


@pytest.fixture(scope="module", params=BACKEND_NAMES)
def backend(request: pytest.FixtureRequest) -> Backend:
    return _instance(request.param)


@pytest.fixture(scope="module")
def exact_backends() -> list[Backend]:
    return [b for b in (_instance(name) for name in BACKEND_NAMES) if b.exact]


def test_builtin_backends_are_registered() -> None:
    assert {"modular", "rational", "float"} <= set(BACKEND_NAMES)


@pytest.mark.parametrize("check_name", CHECK_NAMES)
def test_contract(backend: Backend, check_name: str) -> None:
    dict(backend_checks(backend))[check_name]()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_backends_agree(exact_backends: list[Backend], seed: int) -> None:
    assert len(exact_backends) >= 2
    check_exact_backends_agree(exact_backends, seed=seed)


# --- hypothesis properties ----------------------------------------------------


@st.composite
def int_matrices(draw: st.DrawFn, max_side: int = 6, max_entry: int = 5) -> tuple[Matrix, int]:
    nrows = draw(st.integers(0, max_side))
    ncols = draw(st.integers(0, max_side))
    entry = st.integers(-max_entry, max_entry)
    rows = draw(
        st.lists(st.lists(entry, min_size=ncols, max_size=ncols), min_size=nrows, max_size=nrows)
    )
    return rows, ncols


@st.composite
def planted_products(draw: st.DrawFn) -> tuple[Matrix, int, int]:
    """An n x m product of random n x k and k x m integer matrices: rank <= k."""
    n, m, k = draw(st.integers(0, 7)), draw(st.integers(0, 7)), draw(st.integers(0, 4))
    entry = st.integers(-4, 4)
    left = draw(st.lists(st.lists(entry, min_size=k, max_size=k), min_size=n, max_size=n))
    right = draw(st.lists(st.lists(entry, min_size=m, max_size=m), min_size=k, max_size=k))
    rows = [[sum(left[i][t] * right[t][j] for t in range(k)) for j in range(m)] for i in range(n)]
    return rows, m, k


def _transpose(rows: Rows, ncols: int) -> list[list[Any]]:
    return [[row[j] for row in rows] for j in range(ncols)]


PROPERTY_SETTINGS = settings(max_examples=60, deadline=None)


@PROPERTY_SETTINGS
@given(matrix=int_matrices())
def test_rank_of_transpose(backend: Backend, matrix: tuple[Matrix, int]) -> None:
    rows, ncols = matrix
    assert backend.rank(rows, ncols) == backend.rank(_transpose(rows, ncols), len(rows))


@PROPERTY_SETTINGS
@given(matrix=int_matrices())
def test_kernel_dimension_plus_rank_is_ncols(backend: Backend, matrix: tuple[Matrix, int]) -> None:
    rows, ncols = matrix
    basis = backend.kernel(rows, ncols)
    assert len(basis) + backend.rank(rows, ncols) == ncols
    assert all(len(vector) == ncols for vector in basis)


@PROPERTY_SETTINGS
@given(matrix=int_matrices())
def test_pivots_count_is_rank(backend: Backend, matrix: tuple[Matrix, int]) -> None:
    rows, ncols = matrix
    rank = backend.rank(rows, ncols)
    assert len(backend.pivot_rows(rows, ncols)) == rank
    assert len(backend.pivot_columns(rows, ncols)) == rank


@PROPERTY_SETTINGS
@given(product=planted_products())
def test_planted_rank_bound(backend: Backend, product: tuple[Matrix, int, int]) -> None:
    rows, ncols, k = product
    assert backend.rank(rows, ncols) <= k


@PROPERTY_SETTINGS
@given(product=planted_products(), halve=st.booleans())
def test_exact_backends_agree_on_products(
    exact_backends: list[Backend], product: tuple[Matrix, int, int], halve: bool
) -> None:
    rows, ncols, k = product
    matrix: list[list[Any]] = [list(row) for row in rows]
    if halve and matrix:
        matrix[-1] = [Fraction(x, 2) for x in matrix[-1]]
    results = {
        b.name: (
            b.rank(matrix, ncols),
            b.pivot_rows(matrix, ncols),
            b.pivot_columns(matrix, ncols),
        )
        for b in exact_backends
    }
    assert len(set(map(repr, results.values()))) == 1, results
    assert next(iter(results.values()))[0] <= k


# --- the conformance module catches broken backends ---------------------------


class _Broken(RationalBackend):
    """A rational backend with one deliberate contract violation, chosen by ``flaw``."""

    name = "broken"

    def __init__(self, flaw: str) -> None:
        self.flaw = flaw

    def rank(self, rows: Rows, ncols: int) -> int:
        rank = super().rank(rows, ncols)
        return rank + 1 if self.flaw == "rank" and rank else rank

    def pivot_columns(self, rows: Rows, ncols: int) -> list[int]:
        pivots = super().pivot_columns(rows, ncols)
        return pivots[::-1] if self.flaw == "pivot_order" else pivots

    def kernel(self, rows: Rows, ncols: int) -> list[list[Fraction]]:
        basis = super().kernel(rows, ncols)
        if self.flaw == "kernel_scaled":
            return [[2 * x for x in vector] for vector in basis]
        if self.flaw == "kernel_wrong" and basis:
            basis[0][0] += 1
        return basis

    def row_basis(self, ncols: int) -> Any:
        basis = super().row_basis(ncols)
        if self.flaw == "row_basis_forgets":
            # Forgets the rows of earlier steps: a second step re-adds them.
            original = basis.add

            def add(rows: Any) -> list[int]:
                added = original(rows)
                basis.rows.clear()
                basis.rank = 0
                return added

            basis.add = add  # type: ignore[method-assign]
        return basis

    def describe(self) -> dict[str, Any]:
        facts = super().describe()
        if self.flaw == "describe":
            facts["exact"] = "yes"
        return facts


@pytest.mark.parametrize(
    ("flaw", "check_name"),
    [
        ("rank", "rank"),
        ("pivot_order", "pivot_columns"),
        ("kernel_scaled", "kernel"),
        ("kernel_wrong", "kernel"),
        ("describe", "describe"),
        ("row_basis_forgets", "row_basis"),
    ],
)
def test_checks_catch_violations(flaw: str, check_name: str) -> None:
    with pytest.raises(AssertionError, match=f"fails {check_name}"):
        dict(backend_checks(_Broken(flaw)))[check_name]()
    with pytest.raises(AssertionError):
        check_backend(_Broken(flaw))


def test_check_backend_wants_an_instance() -> None:
    with pytest.raises(TypeError, match="instantiate it first"):
        check_backend(RationalBackend)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Backend instance"):
        check_backend(object())  # type: ignore[arg-type]


def test_agreement_check_refuses_inexact_backends() -> None:
    inexact = [_instance(name) for name in BACKEND_NAMES if not _instance(name).exact]
    if not inexact:
        pytest.skip("no inexact backend registered")
    with pytest.raises(ValueError, match="exact backends"):
        check_exact_backends_agree([RationalBackend(), *inexact])
