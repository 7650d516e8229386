"""Backend discovery through entry points and in-process registration."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import pytest

from conslaws.backends.rational import RationalBackend
from conslaws.core.errors import PluginError, UnknownNameError
from conslaws.core.plugins.backend import Backend, Rational, Rows
from conslaws.core.plugins.registry import backends
from conslaws.core.plugins.testing import check_backend


def test_builtin_backends_discovered() -> None:
    names = backends.names()
    assert {"modular", "rational", "float"} <= set(names)
    assert names == sorted(names)


@pytest.mark.parametrize("name", ["modular", "rational", "float"])
def test_builtin_backends_load(name: str) -> None:
    cls = backends.load(name)
    assert issubclass(cls, Backend)
    assert cls.name == name
    assert backends.load(name) is cls  # loaded once


def test_unknown_backend_lists_known_names() -> None:
    with pytest.raises(UnknownNameError) as raised:
        backends.load("quaternion")
    message = str(raised.value)
    assert "'quaternion'" in message
    for known in ("modular", "rational", "float"):
        assert known in message


class _NoKernel(Backend):
    name = "no-kernel"

    def convert(self, value: Rational) -> Any:
        return value

    def rank(self, rows: Rows, ncols: int) -> int:
        return 0

    def pivot_columns(self, rows: Rows, ncols: int) -> list[int]:
        return []


def _not_a_class() -> None:
    """A function is not a backend."""


@pytest.mark.parametrize("obj", [object(), 42, _not_a_class, RationalBackend(), dict])
def test_register_non_backend(obj: object) -> None:
    with pytest.raises(PluginError, match="backend plugin 'test-bogus' must be a subclass"):
        backends.register("test-bogus", obj)
    assert "test-bogus" not in backends.names()


def test_register_incomplete_backend() -> None:
    with pytest.raises(PluginError, match=r"'test-incomplete'.*kernel"):
        backends.register("test-incomplete", _NoKernel)
    assert "test-incomplete" not in backends.names()


class WrappedRational(Backend):
    """A minimal third-party backend: delegates to RationalBackend."""

    name = "test-wrapped"
    exact = True
    description = "rational arithmetic, wrapped (test plugin)"

    def __init__(self) -> None:
        self._inner = RationalBackend()

    def convert(self, value: Rational) -> Fraction:
        return self._inner.convert(value)

    def rank(self, rows: Rows, ncols: int) -> int:
        return self._inner.rank(rows, ncols)

    def pivot_columns(self, rows: Rows, ncols: int) -> list[int]:
        return self._inner.pivot_columns(rows, ncols)

    def kernel(self, rows: Rows, ncols: int) -> list[list[Fraction]]:
        return self._inner.kernel(rows, ncols)


@pytest.fixture
def wrapped_backend() -> Iterator[str]:
    backends.register(WrappedRational.name, WrappedRational)
    try:
        yield WrappedRational.name
    finally:
        backends.unregister(WrappedRational.name)


def test_third_party_backend_passes_the_contract(wrapped_backend: str) -> None:
    assert wrapped_backend in backends.names()
    cls = backends.load(wrapped_backend)
    assert cls is WrappedRational
    # pivot_rows comes from the Backend default (through the transpose).
    check_backend(cls())


def test_unregister_removes_the_plugin(wrapped_backend: str) -> None:
    backends.unregister(wrapped_backend)
    assert wrapped_backend not in backends.names()
    with pytest.raises(UnknownNameError):
        backends.load(wrapped_backend)
