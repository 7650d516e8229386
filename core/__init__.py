"""conslaws: exact conservation laws of neural-network training flows.

The public API:

* :func:`count` — the number of independent conservation laws, certified when proved;
* :func:`find_laws` — the polynomial laws up to a degree, verified exactly;
* :func:`is_conserved` — exact check of one candidate law;
* :func:`build_model`, :class:`Model` — architectures and custom parameterizations;
* :func:`lie_closure` — the Lie-algebra closure at a point;
* :mod:`conslaws.core.plugins.registry` — plugins (backends, architectures).

Examples
--------
>>> import conslaws.core as cl
>>> cl.count("linear", widths=(2, 3, 2), seed=0).laws
6
>>> model = cl.Model.from_phi(("u", "v"), ["u*v"])
>>> cl.is_conserved(model, "u**2 - v**2")
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Names are imported on first use (PEP 562): ``import conslaws.backends.modular`` as a
# script's first line must not drag in the whole API (nor meet a half-built module),
# and the command line starts faster.
_HOME = {
    "build_model": "frontends.api",
    "count": "frontends.api",
    "find_laws": "frontends.api",
    "make_backend": "frontends.api",
    "Architecture": "plugins.architecture",
    "Option": "plugins.architecture",
    "Backend": "plugins.backend",
    "Closure": "engine.closure",
    "lie_closure": "engine.closure",
    "ConslawsError": "errors",
    "InvalidExpressionError": "errors",
    "InvalidGraphError": "errors",
    "InvalidModulusError": "errors",
    "InvalidOptionError": "errors",
    "InvalidPointError": "errors",
    "ModelTooLargeError": "errors",
    "PluginError": "errors",
    "UnknownNameError": "errors",
    "VectorField": "algebra.vector_fields",
    "find_polynomial_laws": "engine.laws",
    "is_conserved": "engine.laws",
    "Model": "models.model",
    "CountResult": "frontends.results",
    "LawsResult": "frontends.results",
}

if TYPE_CHECKING:
    from conslaws.core.algebra.vector_fields import VectorField
    from conslaws.core.engine.closure import Closure, lie_closure
    from conslaws.core.engine.laws import find_polynomial_laws, is_conserved
    from conslaws.core.errors import (
        ConslawsError,
        InvalidExpressionError,
        InvalidGraphError,
        InvalidModulusError,
        InvalidOptionError,
        InvalidPointError,
        ModelTooLargeError,
        PluginError,
        UnknownNameError,
    )
    from conslaws.core.frontends.api import build_model, count, find_laws, make_backend
    from conslaws.core.frontends.results import CountResult, LawsResult
    from conslaws.core.models.model import Model
    from conslaws.core.plugins.architecture import Architecture, Option
    from conslaws.core.plugins.backend import Backend


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value = _installed_version()
        globals()[name] = value
        return value
    if name in _HOME:
        value = getattr(importlib.import_module(f"conslaws.core.{_HOME[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'conslaws.core' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME, "__version__"})


__all__ = [
    "Architecture",
    "Backend",
    "Closure",
    "ConslawsError",
    "CountResult",
    "InvalidExpressionError",
    "InvalidGraphError",
    "InvalidModulusError",
    "InvalidOptionError",
    "InvalidPointError",
    "LawsResult",
    "Model",
    "ModelTooLargeError",
    "Option",
    "PluginError",
    "UnknownNameError",
    "VectorField",
    "build_model",
    "count",
    "find_laws",
    "find_polynomial_laws",
    "is_conserved",
    "lie_closure",
    "make_backend",
]

def _installed_version() -> str:
    """The installed distribution's version, read from its metadata when first asked."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("conslaws")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "0+unknown"
