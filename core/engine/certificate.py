"""The certificate of a count: what is proved, by what, and how it was re-checked.

docs/theory.md section 2.2.  A count of conservation laws is proved when two
independent halves meet:

* the **rank**: a lower bound of the dimension of the Lie algebra's trace, an exact
  rank (over Q, or mod p of exact images) at a witness point, which bounds the number
  of laws from above by ``dimension - rank``;
* the **laws**: laws proved conserved and independent at a point, which bound the
  number from below.

Both engines (the fields engine of :mod:`conslaws.core.frontends.api`, the probe engine of
:mod:`conslaws.core.engine.probe_count`) fill in one :class:`Certificate`; its
:meth:`~Certificate.statement` is the one sentence every result prints, and
:func:`count_result` builds the :class:`~conslaws.core.frontends.results.CountResult`.

Examples
--------
>>> certificate = Certificate(dimension=4, rank=3, exact=True,
...                           rank_source="of the Lie algebra's trace at a point",
...                           laws=["u**2 - v**2"], law_kind="independent polynomial",
...                           law_proof="of degree <= 2 verified exactly")
>>> certificate.certified, certificate.laws_upper_bound
(True, 1)
>>> certificate.statement()[:72]
"The exact rank 3 of the Lie algebra's trace at a point proves at most 1 "
>>> certificate.statement()[72:]
'law; 1 independent polynomial law of degree <= 2 verified exactly proves at least 1. Proved.'

"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from conslaws.core.engine.deferred_laws import DeferredLaws
from conslaws.core.frontends.results import CountResult, laws_phrase

__all__ = ["Certificate", "count_result"]


@dataclass
class Certificate:
    """The two halves of a count's proof, and what became of them.

    Attributes
    ----------
    dimension : int
        Dimension of the space the flow lives on.
    rank : int
        The trace dimension at the witness point (a proved lower bound when ``exact``).
    exact : bool
        Whether the rank was taken in exact arithmetic.
    rank_source : str
        How the rank was obtained, completing "The exact rank R ...".
    laws : list
        The proved laws, independent at the point (sympy expressions or strings).
    law_kind : str
        Their kind for the statement ("independent polynomial").
    law_proof : str
        How they were proved, completing "N laws ...".
    gap : str
        What to say when the bounds do not meet (after "The true count is between them.").
    checks : list of str
        The exact checks and self-checks that ran (the JSON ``checks``).
    caveats : list of str
        Sentences appended to the statement (poor witness, non-generic point, notes).
    failure : str, optional
        A self-check that failed: the laws then prove nothing and nothing is certified.
    """

    dimension: int
    rank: int
    exact: bool
    rank_source: str
    laws: Sequence[Any] = field(default_factory=list)
    law_kind: str = "independent"
    law_proof: str = ""
    gap: str = ""
    checks: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    failure: str | None = None

    @property
    def laws_upper_bound(self) -> int:
        """``dimension - rank`` when the rank is exact; the dimension otherwise."""
        return self.dimension - self.rank if self.exact else self.dimension

    @property
    def laws_lower_bound(self) -> int:
        """The number of proved independent laws (0 after a failed self-check)."""
        return 0 if self.failure else len(self.laws)

    @property
    def certified(self) -> bool:
        """Whether the bounds meet with an exact rank and every self-check passed."""
        return self.exact and self.failure is None and (
            self.laws_lower_bound == self.laws_upper_bound)

    def fail(self, reason: str) -> None:
        """Record a failed self-check: the count is no longer certified."""
        self.failure = reason

    def statement(self) -> str:
        """The sentence that says what is proved (and what is not)."""
        lower, upper = self.laws_lower_bound, self.laws_upper_bound
        count = len(self.laws)
        laws = f"{laws_phrase(count, self.law_kind)} {self.law_proof}".rstrip()
        if not self.exact:
            text = (f"Floating-point rank {self.rank} (an estimate: nothing is proved); "
                    f"{laws} {'was' if count == 1 else 'were'} verified exactly.")
            return self._with_caveats(text)
        rank_part = (f"The exact rank {self.rank} {self.rank_source} proves at most "
                     f"{laws_phrase(upper)}")
        if self.certified and upper == 0:
            return self._with_caveats(f"{rank_part}: none. Proved.")
        if self.certified:
            verb = "proves" if lower == 1 else "prove"
            return self._with_caveats(f"{rank_part}; {laws} {verb} at least {lower}. Proved.")
        verb = "proves" if count == 1 else "prove"
        text = f"{rank_part}; {laws} {verb} at least {lower}. The true count is between them."
        if self.failure:
            text += f" {self.failure}."
        elif self.gap:
            text += f" {self.gap}"
        return self._with_caveats(text)

    def _with_caveats(self, text: str) -> str:
        return "".join([text, *(f" {c}" for c in self.caveats if c)])


def count_result(certificate: Certificate, *, start: float, **run: Any) -> CountResult:
    """The :class:`~conslaws.core.frontends.results.CountResult` of a certificate and its run.

    ``run`` holds what the engine knows beyond the proof (architecture, model, flow,
    parameter names, trace dimensions, backend, seed, point, ...): every keyword of
    :class:`~conslaws.core.frontends.results.CountResult` except the ones the certificate fixes.
    """
    verified: Sequence[Any] = [] if certificate.failure else certificate.laws
    return CountResult(
        parameters=certificate.dimension,
        lie_dimension=certificate.rank,
        laws=certificate.dimension - certificate.rank,
        certified=certificate.certified,
        laws_lower_bound=certificate.laws_lower_bound,
        laws_upper_bound=certificate.laws_upper_bound,
        statement=certificate.statement(),
        verified_laws=verified if isinstance(verified, DeferredLaws) else list(verified),
        checks=list(certificate.checks),
        seconds=time.perf_counter() - start,
        **run,
    )
