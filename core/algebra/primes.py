"""The next and the previous prime, by flint's primality test.

sympy's ``nextprime``/``prevprime`` would do the same, at the price of importing
sympy (about 0.3 s) in every count.

Examples
--------
>>> next_prime(4_194_300), previous_prime(4_194_301), previous_prime(3)
(4194301, 4194287, 2)
"""

from __future__ import annotations

import flint

__all__ = ["next_prime", "previous_prime"]


def next_prime(n: int) -> int:
    """The smallest prime greater than ``n``."""
    candidate = max(n + 1, 2)
    while not flint.fmpz(candidate).is_prime():
        candidate += 1
    return candidate


def previous_prime(n: int) -> int:
    """The largest prime smaller than ``n`` (which must be at least 3)."""
    if n < 3:
        raise ValueError(f"no prime below {n}")
    candidate = n - 1
    while not flint.fmpz(candidate).is_prime():
        candidate -= 1
    return candidate
