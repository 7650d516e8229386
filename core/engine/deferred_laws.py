"""Laws that become sympy expressions only when someone reads them.

A count proves its laws on exact sparse polynomials (flint, or the structural laws'
term lists); the printed summary needs only how many there are.  Importing sympy
costs about 0.3 s, more than a whole small count, so a result holds its laws as a
:class:`DeferredLaws`: its length is known at once, and the sympy expressions are
built the first time an element is read (the JSON output, the notebook display, an
export, a caller's ``result.verified_laws[0]``).

Examples
--------
>>> built = []
>>> laws = DeferredLaws(2, lambda: built.append(1) or ["u**2 - v**2", "w"])
>>> len(laws), built
(2, [])
>>> laws[0], built
('u**2 - v**2', [1])
>>> laws == ["u**2 - v**2", "w"], list(laws[1:])
(True, ['w'])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

__all__ = ["DeferredLaws"]


class DeferredLaws(Sequence[Any]):
    """A sequence of ``length`` laws built by ``build()`` on first access.

    Parameters
    ----------
    length : int
        How many laws ``build`` returns (checked when it runs).
    build : callable
        Returns the laws as a list; called at most once.

    Notes
    -----
    Equality compares the built laws with any sequence, so a result holding deferred
    laws equals one holding the same laws as a list.  Pickling builds the laws and
    sends a plain list (the builder is usually a closure over the model).
    """

    def __init__(self, length: int, build: Callable[[], list[Any]]) -> None:
        self._length = length
        self._build: Callable[[], list[Any]] | None = build
        self._laws: list[Any] = []

    def _built(self) -> list[Any]:
        if self._build is not None:
            laws = list(self._build())
            if len(laws) != self._length:
                raise AssertionError(f"{len(laws)} laws built, {self._length} announced")
            self._laws, self._build = laws, None
        return self._laws

    @property
    def is_built(self) -> bool:
        """Whether the laws exist as objects yet (reading one builds them all)."""
        return self._build is None

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        return self._built()[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._built())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return self._built() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking, like a list

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (self._built(),))

    def __repr__(self) -> str:
        return repr(self._built())  # shown like the list it stands for
