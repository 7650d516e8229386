"""The one exception hierarchy of conslaws.

Every problem a user can cause (bad widths, an unknown name, a composite
modulus, a non-polynomial formula, a point of the wrong length) raises a
subclass of :class:`ConslawsError`.  The CLI turns any of them into one line on
stderr and exit status 2; library callers catch the class they care about.

Examples
--------
>>> from conslaws.core.errors import ConslawsError, InvalidOptionError
>>> try:
...     raise InvalidOptionError("--widths: width 0 must be a positive integer")
... except ConslawsError as error:
...     print(error)
--widths: width 0 must be a positive integer
"""

from __future__ import annotations

__all__ = [
    "ConslawsError",
    "InvalidExpressionError",
    "InvalidGraphError",
    "InvalidModulusError",
    "InvalidOptionError",
    "InvalidPointError",
    "ModelTooLargeError",
    "PluginError",
    "UnknownNameError",
]


class ConslawsError(Exception):
    """Base class of every error conslaws raises on bad input or a bad plugin.

    Parameters
    ----------
    *args
        The message (as for any exception).
    argument : str, optional
        The API argument at fault (``"fixed_time"``), when there is one: the
        message speaks in that name, and the CLI shows its flag instead
        (``--fixed-time``).

    Examples
    --------
    >>> error = ConslawsError("fixed_time must be positive, got -1", argument="fixed_time")
    >>> error.argument, str(error)
    ('fixed_time', 'fixed_time must be positive, got -1')
    """

    def __init__(self, *args: object, argument: str | None = None) -> None:
        super().__init__(*args)
        self.argument = argument


class InvalidOptionError(ConslawsError, ValueError):
    """An architecture, flow or backend option has a bad value (``--widths 3,0``)."""


class UnknownNameError(ConslawsError, LookupError):
    """No registered architecture, backend or flow has this name."""


class InvalidModulusError(ConslawsError, ValueError):
    """A modulus for the modular backend is not a prime in the supported range."""


class InvalidExpressionError(ConslawsError, ValueError):
    """A formula could not be parsed, or is not a polynomial with rational coefficients."""


class InvalidPointError(ConslawsError, ValueError):
    """A point has the wrong length, an unknown name, or a value that is not rational."""


class PluginError(ConslawsError, TypeError):
    """A plugin failed to load, or does not provide what its entry-point group requires."""


class InvalidGraphError(ConslawsError, ValueError):
    """An architecture's network graph does not follow the format of conslaws.core.models.graph."""


class ModelTooLargeError(ConslawsError, ValueError):
    """A computation would list more generating fields (network paths) than fit."""
