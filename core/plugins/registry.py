"""Plugin registries fed by entry points.

Three groups exist: ``conslaws.backends``, ``conslaws.architectures`` and (for
flows) ``conslaws.flows``.  The built-in plugins are declared in the project's
own ``pyproject.toml`` through the same groups, so discovery is exercised by
every run.  Names are listed without importing anything; a plugin is imported
on first use and validated then, with an error that names the plugin and the
missing member.  :meth:`Registry.register` adds a plugin in-process (tests,
notebooks) without packaging it.

Examples
--------
>>> from conslaws.core.plugins.registry import backends
>>> "modular" in backends.names()
True
>>> backends.load("modular").name
'modular'
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Generic, TypeVar

from conslaws.core.errors import PluginError, UnknownNameError

if TYPE_CHECKING:
    from conslaws.core.plugins.architecture import Architecture
    from conslaws.core.plugins.backend import Backend
    from conslaws.core.plugins.flow import Flow

__all__ = ["Registry", "architectures", "backends", "flows"]

T = TypeVar("T")


@functools.cache
def _installed_entry_points() -> dict[str, dict[str, EntryPoint]]:
    """Every installed entry point of the conslaws groups, by group, read in one scan.

    ``entry_points(group=...)`` reads the metadata of every installed distribution
    on each call; the three registries share one reading.
    """
    everything = entry_points()  # Python < 3.12: a mapping by group that also selects
    return {group: {ep.name: ep for ep in everything.select(group=group)}
            for group in everything.groups if group.startswith("conslaws.")}


class Registry(Generic[T]):
    """Lazily loaded plugins of one entry-point group.

    Parameters
    ----------
    group : str
        The entry-point group, e.g. ``"conslaws.backends"``.
    kind : str
        What a plugin is, for messages (``"backend"``).
    validate : callable
        Called with ``(name, loaded_object)``; returns the object to register
        or raises :class:`PluginError` naming what is missing.
    """

    def __init__(self, group: str, kind: str, validate: Callable[[str, object], T]) -> None:
        self.group = group
        self.kind = kind
        self._validate = validate
        self._loaded: dict[str, T] = {}
        self._manual: dict[str, T] = {}
        self._entry_points: dict[str, EntryPoint] | None = None

    def _discovered(self) -> dict[str, EntryPoint]:
        if self._entry_points is None:
            self._entry_points = dict(_installed_entry_points().get(self.group, {}))
        return self._entry_points

    def names(self) -> list[str]:
        """Registered names, discovered and manual, sorted; nothing is imported."""
        return sorted(set(self._discovered()) | set(self._manual))

    def load(self, name: str) -> T:
        """Import (once), validate and return the plugin called ``name``.

        Raises
        ------
        UnknownNameError
            No plugin has this name; the message lists the known ones.
        PluginError
            The plugin could not be imported or does not fit the contract.
        """
        if name in self._manual:
            return self._manual[name]
        if name in self._loaded:
            return self._loaded[name]
        entry = self._discovered().get(name)
        if entry is None:
            known = ", ".join(self.names()) or "none"
            raise UnknownNameError(f"unknown {self.kind} {name!r} (known: {known})")
        try:
            obj = entry.load()
        except Exception as error:  # any import failure of a third-party plugin
            raise PluginError(
                f"{self.kind} plugin {name!r} ({entry.value}) failed to load: {error}"
            ) from error
        plugin = self._validate(name, obj)
        self._loaded[name] = plugin
        return plugin

    def register(self, name: str, obj: object) -> T:
        """Register ``obj`` under ``name`` in this process, after validation."""
        plugin = self._validate(name, obj)
        self._manual[name] = plugin
        return plugin

    def unregister(self, name: str) -> None:
        """Remove an in-process registration (no effect on entry points)."""
        self._manual.pop(name, None)


def _require_members(kind: str, name: str, obj: object, members: tuple[str, ...]) -> None:
    missing = [m for m in members if not hasattr(obj, m)]
    if missing:
        raise PluginError(f"{kind} plugin {name!r} lacks required member(s): {', '.join(missing)}")


def _validate_backend(name: str, obj: object) -> type[Backend]:
    from conslaws.core.plugins.backend import Backend

    if not (isinstance(obj, type) and issubclass(obj, Backend)):
        raise PluginError(f"backend plugin {name!r} must be a subclass of Backend, got {obj!r}")
    _require_members("backend", name, obj, ("convert", "rank", "pivot_columns", "kernel"))
    if getattr(obj, "__abstractmethods__", None):
        missing = ", ".join(sorted(obj.__abstractmethods__))
        raise PluginError(f"backend plugin {name!r} does not implement: {missing}")
    return obj


def _validate_architecture(name: str, obj: object) -> type[Architecture]:
    from conslaws.core.plugins.architecture import Architecture

    if not (isinstance(obj, type) and issubclass(obj, Architecture)):
        raise PluginError(
            f"architecture plugin {name!r} must be a subclass of Architecture, got {obj!r}"
        )
    _require_members("architecture", name, obj, ("build", "options", "summary"))
    if getattr(obj, "__abstractmethods__", None):
        missing = ", ".join(sorted(obj.__abstractmethods__))
        raise PluginError(f"architecture plugin {name!r} does not implement: {missing}")
    return obj


def _validate_flow(name: str, obj: object) -> type[Flow]:
    from conslaws.core.plugins.flow import Flow

    if not (isinstance(obj, type) and issubclass(obj, Flow)):
        raise PluginError(f"flow plugin {name!r} must be a subclass of Flow, got {obj!r}")
    if getattr(obj, "__abstractmethods__", None):
        missing = ", ".join(sorted(obj.__abstractmethods__))
        raise PluginError(f"flow plugin {name!r} does not implement: {missing}")
    return obj


backends: Registry[type[Backend]] = Registry("conslaws.backends", "backend", _validate_backend)
architectures: Registry[type[Architecture]] = Registry(
    "conslaws.architectures", "architecture", _validate_architecture
)
flows: Registry[type[Flow]] = Registry("conslaws.flows", "flow", _validate_flow)
