"""Shared test configuration.

* ``tests/`` is put on ``sys.path`` so that test modules can ``import reference``
  (the naive sympy reference of ``tests/reference.py``); pytest runs with
  ``--import-mode=importlib``, which does not do it.
* ``exact_backend``: the registry name of every registered backend whose class
  is exact, one test per backend.  The modular backend runs twice: with
  ``count``'s default engine (``auto``: the probe engine on graph models) and
  with ``engine="fields"`` made the default, so the architecture tests check
  both engines against their references.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conslaws.core.errors import ConslawsError
from conslaws.core.frontends.api import count
from conslaws.core.plugins.registry import backends

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)


def _exact_backend_names() -> list[str]:
    names = []
    for name in backends.names():
        try:
            cls = backends.load(name)
        except ConslawsError:
            continue  # a broken plugin fails its own contract tests (tests/backends)
        if getattr(cls, "exact", False) is True:
            names.append(name)
    return names


EXACT_BACKEND_NAMES = _exact_backend_names()
_BACKEND_ENGINES = [(name, "auto") for name in EXACT_BACKEND_NAMES] + [
    (name, "fields") for name in EXACT_BACKEND_NAMES if name == "modular"
]


@pytest.fixture(params=_BACKEND_ENGINES,
                ids=[n if e == "auto" else f"{n}-{e}" for n, e in _BACKEND_ENGINES])
def exact_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Name of one exact backend (``modular``, ``rational``, ...)."""
    name, engine = request.param
    monkeypatch.setitem(count.__kwdefaults__, "engine", engine)
    return str(name)
