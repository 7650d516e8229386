"""A third-party GF(p) backend (the four documented methods only) on the probe engine.

    python benchmarks/third_party_backend.py

The backend below is what a user would write outside conslaws: ``convert``, ``rank``,
``pivot_columns`` and ``kernel`` over GF(1,000,003) with python-flint.  The probe
engine takes every rank from it through the default ``Backend.row_basis`` (its
``pivot_rows``), so the count below never touches the built-in modular backend.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import flint

from conslaws.core import Backend, count
from conslaws.core.plugins.backend import densify, leading_columns


class FlintField(Backend):
    """GF(p) with python-flint ``nmod_mat``, written against the public contract only."""

    name = "third-party"
    exact = True
    prime_field = True

    def __init__(self, p: int = 1_000_003) -> None:
        self.characteristic = p

    def convert(self, value: Any) -> int:
        value = Fraction(value)
        p = self.characteristic
        return value.numerator * pow(value.denominator, -1, p) % p

    def _matrix(self, rows: Any, ncols: int) -> Any:
        dense = densify(rows, ncols)
        if not dense or ncols == 0:
            return flint.nmod_mat(len(dense), ncols, self.characteristic)
        return flint.nmod_mat(flint.fmpz_mat([[int(v) for v in row] for row in dense]),
                              self.characteristic)

    def rank(self, rows: Any, ncols: int) -> int:
        return int(self._matrix(rows, ncols).rank())

    def pivot_columns(self, rows: Any, ncols: int) -> list[int]:
        reduced, rank = self._matrix(rows, ncols).rref()
        return leading_columns(reduced, int(rank))

    def kernel(self, rows: Any, ncols: int) -> list[list[Any]]:
        raise NotImplementedError("not needed by the probe engine")


if __name__ == "__main__":
    print("| model | D | backend | rank method | laws | certified | wall (s) |")
    print("|---|---|---|---|---|---|---|")
    for widths in ("20,20,20,10", "32,32,32,10"):
        start = time.perf_counter()
        result = count("relu", widths=widths, backend=FlintField(), seed=0)
        wall = time.perf_counter() - start
        print(f"| relu widths={widths} | {len(result.parameter_names)} | {result.backend} | "
              f"{result.backend_details['rank']} | {result.laws} | {result.certified} | "
              f"{wall:.1f} |")
