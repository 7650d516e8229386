"""Conformance checks that any plugin can run against itself.

Like scikit-learn's ``estimator_checks``: a third-party backend proves it
follows the contract of :mod:`conslaws.core.plugins.backend` by passing
:func:`check_backend`, and a test suite can run each check as its own test
through :func:`backend_checks`::

    import pytest
    from conslaws.core.plugins.testing import backend_checks

    @pytest.mark.parametrize("name, check", list(backend_checks(MyBackend())))
    def test_contract(name, check):
        check()

Every check raises :class:`AssertionError` with a message naming the backend,
the check and the matrix involved.  The module uses the public Backend API, the
standard library and numpy (the law search hands backends numpy stacks), so it
ships in the package and needs no pytest.

The known matrices have the same rank and pivots over Q and over GF(p) for
every prime p >= 3 (their denominators are powers of 2 and the minors that
decide their ranks are units), so a modular backend passes with any modulus it
accepts.
"""

from __future__ import annotations

import copy
import json
import math
import random
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from typing import Any, NamedTuple

from conslaws.core.plugins.backend import Backend, Rational

__all__ = ["backend_checks", "check_backend", "check_exact_backends_agree"]

Matrix = list[list[Rational]]


class _Case(NamedTuple):
    """A matrix with its rank and pivots over Q (and GF(p), p >= 3)."""

    name: str
    rows: Matrix
    ncols: int
    rank: int
    pivot_rows: list[int]
    pivot_columns: list[int]
    #: Skipped for inexact backends (entries too far apart in scale for float64).
    exact_only: bool = False


_HALF = Fraction(1, 2)
_QUARTER = Fraction(1, 4)

_CASES: tuple[_Case, ...] = (
    _Case("empty 0x0", [], 0, 0, [], []),
    _Case("no rows 0x3", [], 3, 0, [], []),
    _Case("no columns 3x0", [[], [], []], 0, 0, [], []),
    _Case("zero 3x4", [[0] * 4 for _ in range(3)], 4, 0, [], []),
    _Case(
        "identity 4x4",
        [[int(i == j) for j in range(4)] for i in range(4)],
        4,
        4,
        [0, 1, 2, 3],
        [0, 1, 2, 3],
    ),
    _Case(
        # row 2 = row 0 + row 1; column 2 = column 1 - 2 * column 0
        "rank-deficient 4x5",
        [[1, 2, 0, 1, 3], [0, 1, 1, 0, 1], [1, 3, 1, 1, 4], [0, 0, 0, 1, 1]],
        5,
        3,
        [0, 1, 3],
        [0, 1, 3],
    ),
    _Case(
        "dependent leading rows 4x3",
        [[0, 0, 0], [1, 2, 3], [2, 4, 6], [0, 1, 1]],
        3,
        2,
        [1, 3],
        [0, 1],
    ),
    _Case("zero leading column 2x3", [[0, 1, 0], [0, 0, 1]], 3, 2, [0, 1], [1, 2]),
    _Case("single entry 2x2", [[0, 0], [0, -1]], 2, 1, [1], [1]),
    _Case("wide 2x4", [[1, 1, 1, 1], [1, 2, 3, 4]], 4, 2, [0, 1], [0, 1]),
    _Case("tall 5x2", [[1, 0], [2, 0], [0, 0], [3, 1], [1, 1]], 2, 2, [0, 3], [0, 1]),
    _Case(
        # row 1 = row 0 / 2; column 2 = (column 0 + column 1) / 2
        "fractions 3x3",
        [[_HALF, 3 * _HALF, 1], [_QUARTER, 3 * _QUARTER, _HALF], [0, 1, _HALF]],
        3,
        2,
        [0, 2],
        [0, 1],
    ),
    _Case("large entries 2x2", [[-1, 2**70], [2, -(2**71)]], 2, 1, [0], [0], exact_only=True),
)


def _cases(backend: Backend) -> tuple[_Case, ...]:
    return tuple(case for case in _CASES if backend.exact or not case.exact_only)


def _transpose(rows: Matrix, ncols: int) -> Matrix:
    return [[row[j] for row in rows] for j in range(ncols)]


def _require(condition: bool, backend: Backend, check: str, message: str) -> None:
    # An explicit raise, not ``assert``: the checks must survive ``python -O``.
    if not condition:
        raise AssertionError(
            f"{type(backend).__name__} ({backend.name!r}) fails {check}: {message}"
        )


def _close(a: Any, b: Any) -> bool:
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))


def _same(backend: Backend, a: Any, b: Any) -> bool:
    """Equal field elements: exactly, or within a relative 1e-9 for inexact backends."""
    return bool(a == b) if backend.exact else _close(a, b)


def _annihilates(backend: Backend, row: Sequence[Rational], vector: Sequence[Any]) -> bool:
    """True iff the dot product of ``row`` (converted) and ``vector`` is zero in the field."""
    converted = [backend.convert(value) for value in row]
    total: Any = 0
    for a, x in zip(converted, vector, strict=True):
        total = total + a * x
    if backend.exact:
        if total == 0:
            return True
        # Elements kept as plain ints (residues) reduce through convert.
        return isinstance(total, int | Fraction) and backend.convert(total) == 0
    scale = sum(abs(float(a) * float(x)) for a, x in zip(converted, vector, strict=True))
    return abs(float(total)) <= 1e-8 * max(1.0, scale)


# --- Backend checks ---------------------------------------------------------


def _check_attributes(backend: Backend) -> None:
    check = "attributes"
    _require(
        isinstance(backend.name, str) and bool(backend.name),
        backend,
        check,
        f"name must be a non-empty str, got {backend.name!r}",
    )
    _require(
        isinstance(backend.exact, bool),
        backend,
        check,
        f"exact must be a bool, got {backend.exact!r}",
    )
    _require(
        isinstance(backend.description, str) and bool(backend.description),
        backend,
        check,
        f"description must be a non-empty str, got {backend.description!r}",
    )


def _check_describe(backend: Backend) -> None:
    check = "describe"
    facts = backend.describe()
    _require(isinstance(facts, dict), backend, check, f"describe() returned {type(facts).__name__}")
    _require(
        facts.get("backend") == backend.name,
        backend,
        check,
        f"describe()['backend'] is {facts.get('backend')!r}, expected {backend.name!r}",
    )
    _require(
        facts.get("exact") is backend.exact,
        backend,
        check,
        f"describe()['exact'] is {facts.get('exact')!r}, expected {backend.exact!r}",
    )
    try:
        json.dumps(facts)
    except (TypeError, ValueError) as error:
        raise AssertionError(
            f"{type(backend).__name__} ({backend.name!r}) fails {check}: "
            f"describe() is not JSON-serialisable ({error})"
        ) from error


def _check_convert(backend: Backend) -> None:
    check = "convert"
    for n in (0, 1, -1, 7, -(2**70), 2**70):
        _require(
            _same(backend, backend.convert(Fraction(n)), backend.convert(n)),
            backend,
            check,
            f"convert(Fraction({n})) differs from convert({n})",
        )
    _require(
        _same(backend, backend.convert(Fraction(6, 4)), backend.convert(Fraction(3, 2))),
        backend,
        check,
        "convert(Fraction(6, 4)) differs from convert(Fraction(3, 2))",
    )
    # The kernel of [[a, b]] with a != 0 is (-b/a, 1): converted values must
    # agree with the backend's own arithmetic.
    for a, b, expected in (
        (1, 0, Fraction(0)),
        (1, 5, Fraction(-5)),
        (2, -1, Fraction(1, 2)),
        (2, 1, Fraction(-1, 2)),
        (4, -3, Fraction(3, 4)),
    ):
        basis = backend.kernel([[a, b]], 2)
        _require(len(basis) == 1, backend, check, f"kernel([[{a}, {b}]]) has {len(basis)} vectors")
        _require(
            _same(backend, basis[0][0], backend.convert(expected))
            and _same(backend, basis[0][1], backend.convert(1)),
            backend,
            check,
            f"kernel([[{a}, {b}]]) is {basis}, expected [[convert({expected}), convert(1)]]",
        )


def _check_rank(backend: Backend) -> None:
    for case in _cases(backend):
        got = backend.rank(case.rows, case.ncols)
        _require(
            isinstance(got, int) and got == case.rank,
            backend,
            "rank",
            f"rank of {case.name} {case.rows} is {got!r}, expected {case.rank}",
        )


def _check_rank_transpose(backend: Backend) -> None:
    for case in _cases(backend):
        got = backend.rank(_transpose(case.rows, case.ncols), len(case.rows))
        _require(
            got == case.rank,
            backend,
            "rank_transpose",
            f"rank of the transpose of {case.name} is {got!r}, expected {case.rank}",
        )


def _check_pivots(backend: Backend, kind: str) -> None:
    check = f"{kind}s"
    method = backend.pivot_rows if kind == "pivot_row" else backend.pivot_columns
    for case in _cases(backend):
        got = method(case.rows, case.ncols)
        expected = case.pivot_rows if kind == "pivot_row" else case.pivot_columns
        _require(
            isinstance(got, list) and all(isinstance(i, int) for i in got),
            backend,
            check,
            f"{check} of {case.name} returned {got!r}, expected a list of int",
        )
        _require(
            list(got) == expected,
            backend,
            check,
            f"{check} of {case.name} {case.rows} is {got}, expected {expected} "
            "(the first maximal independent set, increasing)",
        )


def _check_pivot_rows(backend: Backend) -> None:
    _check_pivots(backend, "pivot_row")


def _check_pivot_columns(backend: Backend) -> None:
    _check_pivots(backend, "pivot_column")


def _check_pivot_rows_transpose(backend: Backend) -> None:
    for case in _cases(backend):
        rows = backend.pivot_rows(case.rows, case.ncols)
        columns = backend.pivot_columns(_transpose(case.rows, case.ncols), len(case.rows))
        _require(
            rows == columns,
            backend,
            "pivot_rows_transpose",
            f"pivot_rows of {case.name} is {rows} but pivot_columns of its transpose is {columns}",
        )


def _check_row_basis(backend: Backend) -> None:
    """``row_basis`` agrees with ``pivot_rows`` however the rows are split into steps."""
    if not backend.exact:
        return
    for case in _cases(backend):
        # Integer rows (each row times its denominators) have the same pivot rows.
        rows = [[int(v * math.lcm(*(Fraction(x).denominator for x in row))) for v in row]
                for row in case.rows]
        for split in range(len(rows) + 1):
            basis = backend.row_basis(case.ncols)
            first = basis.add(rows[:split])
            second = [split + i for i in basis.add(rows[split:])]
            _require(
                first + second == case.pivot_rows and basis.rank == case.rank,
                backend,
                "row_basis",
                f"row_basis of {case.name} added in two steps at row {split} kept "
                f"{first + second} (rank {basis.rank}), expected {case.pivot_rows}",
            )


def _check_kernel(backend: Backend) -> None:
    check = "kernel"
    for case in _cases(backend):
        basis = backend.kernel(case.rows, case.ncols)
        nullity = case.ncols - case.rank
        _require(
            isinstance(basis, list) and len(basis) == nullity,
            backend,
            check,
            f"kernel of {case.name} has {len(basis)} vectors, expected ncols - rank = {nullity}",
        )
        free = [j for j in range(case.ncols) if j not in case.pivot_columns]
        for k, vector in enumerate(basis):
            _require(
                len(vector) == case.ncols,
                backend,
                check,
                f"kernel vector {k} of {case.name} has length {len(vector)}, expected {case.ncols}",
            )
            for m, column in enumerate(free):
                _require(
                    _same(backend, vector[column], backend.convert(int(m == k))),
                    backend,
                    check,
                    f"kernel vector {k} of {case.name} is {vector}: not reduced (entry at "
                    f"non-pivot column {column} should be {int(m == k)})",
                )
            for i, row in enumerate(case.rows):
                _require(
                    _annihilates(backend, row, vector),
                    backend,
                    check,
                    f"kernel vector {k} of {case.name} is {vector}: row {i} {row} times it "
                    "is not zero",
                )


def _same_kernel(backend: Backend, got: Any, expected: list[list[Any]]) -> bool:
    """A kernel from ``kernels`` (lists, or a 2-D array) equals the one from ``kernel``."""
    vectors = got.tolist() if hasattr(got, "tolist") else got
    return len(vectors) == len(expected) and all(
        len(v) == len(e) and all(_same(backend, a, b) for a, b in zip(v, e, strict=True))
        for v, e in zip(vectors, expected, strict=True))


def _check_kernels(backend: Backend) -> None:
    """``kernels`` of several matrices is ``kernel`` of each: as lists, and as one 3-D
    integer array (how the law search hands over its evaluated blocks)."""
    import numpy as np  # a dependency of conslaws; the law search sends numpy stacks

    check = "kernels"
    by_width: dict[int, list[_Case]] = {}
    for case in _cases(backend):
        by_width.setdefault(case.ncols, []).append(case)
    for ncols, cases in by_width.items():
        got = backend.kernels([case.rows for case in cases], ncols)
        _require(len(got) == len(cases), backend, check,
                 f"{len(got)} kernels for {len(cases)} matrices of width {ncols}")
        for case, kernel in zip(cases, got, strict=True):
            _require(_same_kernel(backend, kernel, backend.kernel(case.rows, case.ncols)),
                     backend, check, f"kernels gives {kernel!r} for {case.name}, kernel "
                     "gives another basis")
    rng = random.Random(11)
    for rows, ncols in ((3, 4), (5, 3), (2, 6)):
        matrices = []
        for m in range(6):
            matrix = [[rng.randint(-3, 3) for _ in range(ncols)] for _ in range(rows)]
            if m % 2:
                matrix[-1] = [a + b for a, b in zip(matrix[0], matrix[1], strict=True)]
            matrices.append(matrix)
        got = backend.kernels(np.array(matrices, dtype=np.int64), ncols)
        _require(len(got) == len(matrices), backend, check,
                 f"{len(got)} kernels for a stack of {len(matrices)} matrices")
        for matrix, kernel in zip(matrices, got, strict=True):
            _require(_same_kernel(backend, kernel, backend.kernel(matrix, ncols)),
                     backend, check, f"kernels of a numpy stack gives {kernel!r} for "
                     f"{matrix}, kernel gives another basis")


def _gives_the_case(backend: Backend, rows: Any, case: _Case) -> bool:
    """Whether ``rows`` (the case's matrix in another form) give the case's rank, pivots
    and nullity."""
    return (backend.rank(rows, case.ncols) == case.rank
            and backend.pivot_columns(rows, case.ncols) == case.pivot_columns
            and backend.pivot_rows(rows, case.ncols) == case.pivot_rows
            and len(backend.kernel(rows, case.ncols)) == case.ncols - case.rank)


def _check_row_types(backend: Backend) -> None:
    check = "row_types"
    case = next(case for case in _CASES if case.name == "rank-deficient 4x5")
    as_tuples = tuple(tuple(row) for row in case.rows)
    _require(
        _gives_the_case(backend, as_tuples, case),
        backend,
        check,
        f"rows given as tuples of {case.name} do not give the results of lists",
    )
    mixed = [
        [Fraction(x) if (i + j) % 2 else x for j, x in enumerate(row)]
        for i, row in enumerate(case.rows)
    ]
    _require(
        backend.rank(mixed, case.ncols) == case.rank
        and backend.pivot_columns(mixed, case.ncols) == case.pivot_columns,
        backend,
        check,
        f"{case.name} with a mix of int and Fraction entries gives other results than ints",
    )


def _check_sparse_rows(backend: Backend) -> None:
    """Rows given as ``{column: value}`` (the closure's bracket rows) mean the same matrix."""
    check = "sparse_rows"
    for case in _cases(backend):
        sparse = [{j: v for j, v in enumerate(row) if v} for row in case.rows]
        _require(
            _gives_the_case(backend, sparse, case),
            backend,
            check,
            f"{case.name} given as sparse rows gives other results than dense rows",
        )


def _check_prime_field(backend: Backend) -> None:
    """A ``prime_field`` backend computes in GF(characteristic), which the core relies on:
    the probe engine computes in the same field when the prime is small enough."""
    if not backend.prime_field:
        return
    check = "prime_field"
    p = backend.characteristic
    _require(isinstance(p, int) and p > 2 and all(p % d for d in range(2, min(p, 10**4))),
             backend, check, f"prime_field is set but characteristic {p!r} is not an odd prime")
    half, two = backend.convert(Fraction(1, 2)), backend.convert(2)
    _require(int(backend.convert(p)) % p == 0 and int(half * two) % p == 1,
             backend, check, f"convert does not compute modulo the characteristic {p}")


def _check_inputs_not_mutated(backend: Backend) -> None:
    for case in _cases(backend):
        rows = copy.deepcopy(case.rows)
        backend.rank(rows, case.ncols)
        backend.pivot_rows(rows, case.ncols)
        backend.pivot_columns(rows, case.ncols)
        backend.kernel(rows, case.ncols)
        _require(
            rows == case.rows,
            backend,
            "inputs_not_mutated",
            f"the rows of {case.name} were modified by the backend",
        )


_BACKEND_CHECKS: tuple[tuple[str, Callable[[Backend], None]], ...] = (
    ("attributes", _check_attributes),
    ("describe", _check_describe),
    ("convert", _check_convert),
    ("rank", _check_rank),
    ("rank_transpose", _check_rank_transpose),
    ("pivot_rows", _check_pivot_rows),
    ("pivot_columns", _check_pivot_columns),
    ("pivot_rows_transpose", _check_pivot_rows_transpose),
    ("kernel", _check_kernel),
    ("kernels", _check_kernels),
    ("row_basis", _check_row_basis),
    ("row_types", _check_row_types),
    ("sparse_rows", _check_sparse_rows),
    ("prime_field", _check_prime_field),
    ("inputs_not_mutated", _check_inputs_not_mutated),
)


def _require_instance(backend: object) -> Backend:
    if isinstance(backend, type):
        raise TypeError(
            f"expected a backend instance, got the class {backend.__name__}: instantiate it first"
        )
    if not isinstance(backend, Backend):
        raise TypeError(f"expected a Backend instance, got {type(backend).__name__}")
    return backend


def backend_checks(backend: Backend) -> Iterator[tuple[str, Callable[[], None]]]:
    """Yield ``(name, check)`` pairs, one per contract check, for parametrizing.

    Parameters
    ----------
    backend : Backend
        An instance of the backend under test.

    Yields
    ------
    name : str
        A short identifier of the check (``"rank"``, ``"kernel"``, ...).
    check : callable
        Runs the check on ``backend``; raises :class:`AssertionError` on failure.

    Examples
    --------
    >>> from conslaws.backends.rational import RationalBackend
    >>> names = [name for name, _ in backend_checks(RationalBackend())]
    >>> names[:4]
    ['attributes', 'describe', 'convert', 'rank']
    """
    instance = _require_instance(backend)
    for name, check in _BACKEND_CHECKS:

        def run(check: Callable[[Backend], None] = check) -> None:
            check(instance)

        run.__name__ = f"check_{name}"
        yield name, run


def check_backend(backend: Backend) -> None:
    """Run every contract check on ``backend``; raise AssertionError on the first failure.

    Parameters
    ----------
    backend : Backend
        An instance of the backend under test.

    Raises
    ------
    AssertionError
        A check failed; the message names the backend, the check and the matrix.

    Examples
    --------
    >>> from conslaws.backends.rational import RationalBackend
    >>> check_backend(RationalBackend())  # silent when the backend conforms
    """
    for _, check in backend_checks(backend):
        check()


def _random_product(rng: random.Random) -> tuple[Matrix, int, int]:
    """A random n x m integer matrix of rank at most k (a product n x k by k x m)."""
    n, m, k = rng.randint(0, 7), rng.randint(0, 7), rng.randint(0, 4)
    left = [[rng.randint(-3, 3) for _ in range(k)] for _ in range(n)]
    right = [[rng.randint(-3, 3) for _ in range(m)] for _ in range(k)]
    rows: Matrix = [
        [sum(left[i][t] * right[t][j] for t in range(k)) for j in range(m)] for i in range(n)
    ]
    if rows and rng.random() < 0.3:
        # Scaling a row by 1/2 keeps the rank and exercises Fraction entries.
        rows[0] = [Fraction(x, 2) for x in rows[0]]
    return rows, m, k


def check_exact_backends_agree(
    backends: Sequence[Backend], seed: int = 0, trials: int = 30
) -> None:
    """Check that exact backends agree on random matrices of planted low rank.

    Each matrix is a product of random n x k and k x m integer matrices with
    small entries (n, m <= 7, k <= 4), so its rank is at most k.  Every backend
    must give the same rank, pivot rows, pivot columns and kernel dimension.
    Rank and pivots are decided by minors of size at most 4 with entries at
    most 36 in absolute value, below 2**25 by Hadamard's bound, so a modular
    backend agrees with Q for any prime modulus above 2**25.

    Parameters
    ----------
    backends : sequence of Backend
        Instances with ``exact = True``.
    seed : int, default 0
        Seed of the random matrices (reproducible failures).
    trials : int, default 30
        Number of random matrices.

    Raises
    ------
    AssertionError
        Two backends disagree, or a rank exceeds the planted bound k.
    ValueError
        A backend is not exact.

    Examples
    --------
    >>> from conslaws.backends.modular import ModularBackend
    >>> from conslaws.backends.rational import RationalBackend
    >>> check_exact_backends_agree([ModularBackend(), RationalBackend()], seed=1)
    """
    instances = [_require_instance(b) for b in backends]
    inexact = [b.name for b in instances if not b.exact]
    if inexact:
        raise ValueError(f"check_exact_backends_agree needs exact backends, got {inexact}")
    rng = random.Random(seed)
    for trial in range(trials):
        rows, ncols, bound = _random_product(rng)
        results = []
        for backend in instances:
            rank = backend.rank(rows, ncols)
            _require(
                rank <= bound,
                backend,
                "exact_backends_agree",
                f"rank {rank} exceeds the planted bound {bound} (seed {seed}, trial {trial}, "
                f"matrix {rows})",
            )
            results.append(
                (
                    rank,
                    backend.pivot_rows(rows, ncols),
                    backend.pivot_columns(rows, ncols),
                    len(backend.kernel(rows, ncols)),
                )
            )
        for backend, result in zip(instances[1:], results[1:], strict=True):
            _require(
                result == results[0],
                backend,
                "exact_backends_agree",
                f"(rank, pivot rows, pivot columns, nullity) = {result} but {instances[0].name!r} "
                f"gives {results[0]} (seed {seed}, trial {trial}, matrix {rows}, ncols {ncols})",
            )


# --- Architecture checks ------------------------------------------------------
# Conformance checks for architecture plugins (``architecture_checks``,
# ``check_architecture``) belong here, next to the backend checks.
