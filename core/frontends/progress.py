"""Progress bars for long computations (tqdm on stderr, off unless asked).

The CLI turns them on when stderr is a terminal and ``--json`` is not given;
library calls keep them off by default so notebooks and scripts stay quiet.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["progress_bar"]

T = TypeVar("T")

#: Fewer items than this never get a bar: it would flash for a few milliseconds.
MINIMUM_ITEMS = 2000


def progress_bar(items: Iterable[T], description: str, enabled: bool,
                 total: int | None = None, minimum: int = MINIMUM_ITEMS) -> Iterator[T]:
    """Iterate over ``items``, with a bar on stderr when ``enabled`` and worthwhile."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if not enabled or (total is not None and total < minimum):
        yield from items
        return
    from tqdm import tqdm  # imported when a bar is shown: most runs never draw one

    yield from tqdm(items, desc=description, total=total, leave=False, unit="it",
                    dynamic_ncols=True, mininterval=0.5)
