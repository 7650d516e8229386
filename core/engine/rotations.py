"""Antisymmetric linear symmetries of φ: the rotations a momentum flow keeps.

docs/theory.md section 2.3.  An antisymmetric matrix A (A_kj = -A_jk) whose linear
field θ ↦ Aθ is tangent to every level set of φ, ``∇φ_i(θ)·Aθ = 0`` for all i, is
a rotation symmetry of every loss L(φ(θ)).  Heavy-ball momentum θ'' + τθ' = -∇L then
keeps e^{τt}⟨Aθ, θ'⟩ (``d/dt ⟨Aθ, θ'⟩ = θ'ᵀAθ' - τ⟨Aθ, θ'⟩ - ⟨Aθ, ∇L⟩`` and both
end terms vanish), Nesterov's flow t³⟨Aθ, θ'⟩: the flows lift them
(:meth:`Flow.lift_rotations <conslaws.core.plugins.flow.Flow.lift_rotations>`).
Their laws have degree 3 to 5 in 1 + 2D phase coordinates, far beyond a monomial
search at D = 1,000; the rotations themselves are D(D - 1)/2 unknowns.

The unknown a_jk (j < k) meets the fields as the monomial θ_jθ_k does (the term
``w_j θ_k`` of the equation has the weight and the sign character of θ_jθ_k's
``θ_k w_j``), so the search runs on the law search's blocks
(:mod:`conslaws.core.engine.law_blocks`): screened and lifted exactly as laws are,
each evaluated entry ``X_j x_k - X_k x_j``, each candidate verified exactly against
every generating field.  Blocks too large to evaluate, or whose kernel does not lift,
are left out: the rotations found are proved, not claimed to be all of them.

Examples
--------
>>> from conslaws.core.models.model import Model
>>> from conslaws.core.plugins.registry import backends
>>> model = Model.from_phi(("u1", "u2", "v1", "v2"), ["u1*v1 + u2*v2"])  # <u, v>: so(2, 2) ∩ so(4)
>>> find_rotations(model, backend=backends.load("modular")())
[[(0, 1, 1), (2, 3, 1)], [(1, 2, 1), (0, 3, -1)]]
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from conslaws.core.engine.law_blocks import MonomialTable, block_partition, rotation_matrices
from conslaws.core.engine.laws import lift_blocks, screen_blocks, search_setup
from conslaws.core.models.model import Model
from conslaws.core.plugins.backend import Backend

__all__ = ["Rotation", "find_rotations", "is_rotation"]

#: An antisymmetric matrix A by its upper triangle: ``(j, k, A_jk)`` with j < k.
Rotation = list[tuple[int, int, int]]


def find_rotations(model: Model, *, backend: Backend, seed: int = 0) -> list[Rotation]:
    """A basis of proved rotation symmetries of the model's generating fields.

    Parameters
    ----------
    model : Model
        A model given by φ (or by fields): the generating fields are W_0.
    backend : Backend
        Computes the blocks' kernels at its prime when it is a prime field below
        2**22; the modular backend does at the search's other primes.
    seed : int
        Seed of the evaluation points.

    Returns
    -------
    list of Rotation
        Linearly independent, each verified exactly: ``w·Aθ = 0`` for every
        generating field w.  Blocks that could not be lifted contribute nothing.
    """
    size = model.dimension
    if size < 2 or not model.generators:
        return []
    setup = search_setup(model, backend, seed, grading_seed=2)
    table = MonomialTable(size, 2)
    pairs = table.tables[1]
    off_diagonal = np.zeros(len(table), dtype=bool)
    off_diagonal[table.offsets[1] + np.flatnonzero(pairs[:, 0] != pairs[:, 1])] = True
    partition = block_partition(table, setup.weights, setup.codes).restricted(off_diagonal)
    survivors = screen_blocks(table, partition, setup.evaluations[0], setup.arithmetic,
                              matrices=rotation_matrices)

    def verified(block: int, vectors: list[list[Fraction]]) -> list[Any] | None:
        members = [table.factors(int(g)) for g in partition.members(block)]
        candidates = [_rotation(members, vector) for vector in vectors]
        return candidates if all(is_rotation(model, r) for r in candidates) else None

    found, _ = lift_blocks(model, table, partition, survivors, setup.arithmetic,
                           setup.evaluations, verified, matrices=rotation_matrices)
    return [rotation for block in sorted(found, key=lambda b: int(partition.members(b).min()))
            for rotation in found[block]]


def _rotation(members: list[list[int]], vector: list[Fraction]) -> Rotation:
    """The rotation with the kernel vector's entries, scaled to primitive integers."""
    terms = [(pair, Fraction(value)) for pair, value in zip(members, vector, strict=True)
             if value]
    scale = math.lcm(*(value.denominator for _, value in terms))
    integers = [int(value * scale) for _, value in terms]
    common = math.gcd(*integers) * (1 if integers[0] > 0 else -1)
    return [(j, k, c // common) for ((j, k), _), c in zip(terms, integers, strict=True)]


def is_rotation(model: Model, rotation: Rotation) -> bool:
    """Whether ``w·Aθ = 0`` holds exactly for every generating field w.

    Examples
    --------
    >>> model = Model.from_phi(("u", "v"), ["u**2 + v**2"])
    >>> is_rotation(model, [(0, 1, 1)]), is_rotation(Model.from_phi(("u", "v"), ["u*v"]),
    ...                                              [(0, 1, 1)])
    (True, False)
    """
    gens = model.ring.gens
    # (Aθ)_j = Σ_k A_jk θ_k: a_jk θ_k in component j, -a_jk θ_j in component k.
    image: dict[int, Any] = {}
    for j, k, c in rotation:
        image[j] = image.get(j, model.ring.zero()) + c * gens[k]
        image[k] = image.get(k, model.ring.zero()) - c * gens[j]
    touching = sorted({i for j in image for i in model.generators_by_variable.get(j, ())})
    for i in touching:
        components = model.generators[i].components
        total = model.ring.zero()
        for j, value in image.items():
            if j in components:
                total += components[j] * value
        if total != 0:
            return False
    return True
