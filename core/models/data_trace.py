"""The data-sampled trace (``--mode data``), docs/theory.md section 3.

At a rational point θ the generating fields of the flow are the gradients in θ
of the network's outputs for each input x, on the activation pattern that x
selects at θ.  This module samples integer inputs, computes every ReLU sign
and max-pool choice exactly over Q (:func:`~conslaws.core.models.graph.activation_pattern`),
forms the local polynomial of each output on that pattern, and keeps the
gradients as fields.  The result can be smaller than the path-lifting trace
(one-dimensional inputs, residual networks, max-pooling) and then there are
more laws than the parameterization predicts; the count depends on θ's region.

Stopping rule (documented in the README): inputs are drawn one at a time, with
integer coordinates uniform in ``[-2**16, 2**16]``; each gives one field per
output.  Sampling stops when ``patience`` consecutive inputs (default 40) have
added nothing to the rank of the fields at θ, when the rank reaches D, or
after ``max_samples`` inputs (default ``50 * D + 200``).  Inputs on a region
boundary (a pre-activation exactly 0, a tie in a max-pool) are skipped.  The
rank is taken by the chosen backend at θ itself, so with an exact backend the
final rank is a rigorous lower bound on the dimension of the data trace there.

Examples
--------
>>> import random
>>> from conslaws.core.frontends.api import build_model
>>> from conslaws.core.plugins.registry import backends
>>> model = build_model("relu", widths=(2, 3, 1))
>>> trace = sample_data_trace(model, [1, -2, 3, 1, -1, 2, 1, 1, 1], backends.load("rational")(),
...                           random.Random(0))
>>> trace.rank, len(trace.patterns)  # at most 6 = D - 3: one law per hidden neuron
(6, 4)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from conslaws.core.algebra.polynomials import Number
from conslaws.core.algebra.vector_fields import VectorField
from conslaws.core.errors import InvalidOptionError
from conslaws.core.models.graph import activation_pattern, difference_of_outputs
from conslaws.core.models.model import Model
from conslaws.core.plugins.backend import Backend

__all__ = ["DataTrace", "sample_data_trace"]

#: Bound of the integer input coordinates.
INPUT_BOUND = 2**16
#: Consecutive inputs that add no rank before sampling stops.
PATIENCE = 40


@dataclass
class DataTrace:
    """Fields sampled from data at one point.

    Attributes
    ----------
    fields : list of VectorField
        Sampled fields whose values at θ are independent (a frame of the trace).
    rank : int
        Their rank at θ.
    samples : int
        Inputs used (boundary inputs excluded).
    skipped : int
        Inputs skipped because they lay on a region boundary.
    patterns : dict
        Each activation pattern seen (a string of 0/1 gate values, in gate
        order) with the number of inputs that selected it.
    """

    fields: list[VectorField] = field(default_factory=list)
    rank: int = 0
    samples: int = 0
    skipped: int = 0
    patterns: dict[str, int] = field(default_factory=dict)


def sample_data_trace(
    model: Model,
    theta: Sequence[Number],
    backend: Backend,
    rng: random.Random,
    *,
    patience: int = PATIENCE,
    max_samples: int | None = None,
) -> DataTrace:
    """Sample the data trace of a graph-built model at ``theta`` (see module doc)."""
    expansion = model.expansion
    if expansion is None:
        raise InvalidOptionError(
            f"--mode data needs a network graph; {model.architecture!r} gives only phi"
        )
    size = model.dimension
    limit = max_samples if max_samples is not None else 50 * size + 200
    n_inputs = len(expansion.graph.graph["inputs"])
    trace = DataTrace()
    basis: list[list[Number]] = []
    idle = 0
    while idle < patience and trace.samples + trace.skipped < limit and len(basis) < size:
        x = [rng.randint(-INPUT_BOUND, INPUT_BOUND) for _ in range(n_inputs)]
        gates = activation_pattern(expansion, theta, x)
        if gates is None:
            trace.skipped += 1
            continue
        trace.samples += 1
        pattern = "".join(str(gates[k]) for k in sorted(gates))
        trace.patterns[pattern] = trace.patterns.get(pattern, 0) + 1
        outputs = expansion.local_outputs(x, gates)
        if expansion.cross_entropy:
            # Σ w = 0: only differences of the outputs reach the loss.
            outputs = difference_of_outputs(
                model.ring, len(outputs), [((o, 0), poly) for o, poly in enumerate(outputs)])
        candidates = [
            VectorField.gradient(model.ring, poly, label=f"∇g_{o + 1}(x{trace.samples})")
            for o, poly in enumerate(outputs)
            if poly.total_degree() > 0
        ]
        rows = []
        for f in candidates:
            value = f.value_at(theta)
            rows.append([value.get(j, 0) for j in range(size)])
        known = len(basis)
        added = [i - known for i in backend.pivot_rows(basis + rows, size) if i >= known]
        for i in added:
            basis.append(rows[i])
            trace.fields.append(candidates[i])
        idle = 0 if added else idle + 1
    trace.rank = len(basis)
    return trace
