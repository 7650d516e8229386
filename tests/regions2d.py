"""Exact enumeration of the linear regions of a network with a 2-D input (no conslaws).

A ReLU / max-pool / residual network without biases is positively homogeneous in
its input x, so its linear regions in R^2 are open angular sectors.  Starting
from the four quadrants, a sector (d1, d2) is split at the zero of any linear
form (valid on the region of the sector's midpoint d1 + d2) that changes sign
between d1 and d2; a sector with no sign change is one region.  Each region
yields two interior points 2 d1 + d2 and d1 + 2 d2, which span R^2, so the
local outputs at these points span the local outputs at every x of the region.

This gives the *whole* data trace at a point θ (every region, however thin),
the independent ground truth for ``--mode data`` on 2-D inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction

__all__ = ["region_points"]

Vector = tuple[Fraction, Fraction]


def region_points(
    forms: Callable[[Vector], Sequence[Sequence[Fraction]]],
) -> list[tuple[Vector, Vector]]:
    """Two interior points of every linear region of R^2.

    ``forms(c)`` returns the linear forms (2-vectors) whose signs define the
    region that contains ``c``: every pre-activation, and every difference of
    two candidates of a max-pool unit, as linear functions of x on that region.
    """
    quadrants: list[Vector] = [(Fraction(1), Fraction(0)), (Fraction(0), Fraction(1)),
                               (Fraction(-1), Fraction(0)), (Fraction(0), Fraction(-1))]
    stack = [(quadrants[i], quadrants[(i + 1) % 4]) for i in range(4)]
    points = []
    while stack:
        d1, d2 = stack.pop()
        middle = (d1[0] + d2[0], d1[1] + d2[1])
        split = None
        for f in forms(middle):
            a = f[0] * d1[0] + f[1] * d1[1]
            b = f[0] * d2[0] + f[1] * d2[1]
            if a * b < 0:
                # |b| d1 + |a| d2 is the zero of f strictly inside the sector.
                split = (abs(b) * d1[0] + abs(a) * d2[0], abs(b) * d1[1] + abs(a) * d2[1])
                break
        if split is None:
            points.append(((2 * d1[0] + d2[0], 2 * d1[1] + d2[1]),
                           (d1[0] + 2 * d2[0], d1[1] + 2 * d2[1])))
        else:
            stack += [(d1, split), (split, d2)]
    return points
