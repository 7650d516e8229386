"""Shared test configuration.

* ``tests/`` is put on ``sys.path`` so that test modules can ``import reference``
  (the naive sympy reference of ``tests/reference.py``); pytest runs with
  ``--import-mode=importlib``, which does not do it.
* ``exact_backend``: the registry name of every registered backend whose class
  is exact, one test per backend.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conslaws.core.errors import ConslawsError
from conslaws.core.registry import backends

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


@pytest.fixture(params=EXACT_BACKEND_NAMES)
def exact_backend(request: pytest.FixtureRequest) -> str:
    """Name of one exact backend (``modular``, ``rational``, ...)."""
    return str(request.param)
