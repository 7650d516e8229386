"""The architecture-plugin contract and the option parsers plugins share.

An architecture is a class with a registry ``name``, a one-line ``summary``,
declarative ``options`` and a :meth:`Architecture.build` method returning a
:class:`~conslaws.core.models.model.Model`.  Options are declared once and serve both
the CLI (``--widths 3,4,2``) and the Python API (``widths=(3, 4, 2)``): each
option's converter accepts the command-line string or a Python value and
raises :class:`~conslaws.core.errors.InvalidOptionError` naming the option.

Examples
--------
>>> parse_widths("3,4,2")
(3, 4, 2)
>>> parse_widths("3,a")
Traceback (most recent call last):
    ...
conslaws.core.errors.InvalidOptionError: --widths: '3,a' is not a list ... ('a' is not an integer)
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

from conslaws.core.errors import InvalidOptionError
from conslaws.core.models.model import Model
from conslaws.core.validation import ModelSize, check_model_size, exact_number

__all__ = [
    "Architecture",
    "Option",
    "parse_flag",
    "parse_positive_int",
    "parse_widths",
]


@dataclass(frozen=True)
class Option:
    """One option of an architecture.

    Attributes
    ----------
    name : str
        Python keyword (``hidden_width``); the CLI flag is ``--hidden-width``.
    convert : callable
        ``convert(value, flag)`` returns the normalised value or raises
        :class:`InvalidOptionError`; ``value`` is a CLI string or a Python value.
    help : str
        One line for ``--help``.
    required : bool
        Whether the option must be given.
    default : object
        Value used when the option is not given and not required.
    flag : bool
        A switch without a value (``--bias``).
    metavar : str
        Placeholder shown in ``--help``.
    """

    name: str
    convert: Callable[[Any, str], Any]
    help: str
    required: bool = False
    default: Any = None
    flag: bool = False
    metavar: str | None = None

    @property
    def cli_flag(self) -> str:
        """The command-line spelling, ``--name-with-dashes``."""
        return "--" + self.name.replace("_", "-")


class Architecture(ABC):
    """Base class of architecture plugins.

    Subclasses set ``name``, ``summary`` and ``options`` and implement
    :meth:`build`, which receives every option already converted.  Users call
    :meth:`model`.  A subclass may also implement :meth:`estimate`, the size of
    the model computed from the options alone, so that too large a model is
    refused before anything is allocated.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    options: ClassVar[tuple[Option, ...]] = ()

    @abstractmethod
    def build(self, **options: Any) -> Model:
        """Build the model from converted options."""

    def estimate(self, **options: Any) -> ModelSize | None:
        """The size of the model :meth:`build` would make, from converted options.

        Arithmetic only (no allocation); ``None`` (the default) when unknown.
        """
        return None

    def model(self, **options: Any) -> Model:
        """Validate and convert ``options``, check the size, then :meth:`build` the model.

        Raises
        ------
        InvalidOptionError
            An option is unknown, missing or has a bad value.
        ModelTooLargeError
            :meth:`estimate` exceeds a limit of :mod:`conslaws.core.validation`.
        """
        converted = convert_options(self.name, self.options, options)
        check_model_size(f"{self.name} {describe_options(converted)}".strip(),
                         self.estimate(**converted))
        return self.build(**converted)


def convert_options(owner: str, declared: Sequence[Option], given: Mapping[str, Any]
                    ) -> dict[str, Any]:
    """Check ``given`` against the ``declared`` options of a plugin and convert them.

    Unknown and missing options raise :class:`InvalidOptionError` naming ``owner``;
    absent ones take their defaults.
    """
    known = {o.name: o for o in declared}
    unknown = sorted(set(given) - set(known))
    if unknown:
        names = ", ".join("--" + u.replace("_", "-") for u in unknown)
        allowed = ", ".join(o.cli_flag for o in declared) or "none"
        raise InvalidOptionError(f"{owner}: unknown option(s) {names} (options: {allowed})")
    converted: dict[str, Any] = {}
    for opt in declared:
        value = given.get(opt.name)
        if value is None or (opt.flag and value is False):
            if opt.required:
                raise InvalidOptionError(f"{owner}: {opt.cli_flag} is required")
            converted[opt.name] = opt.default
        else:
            converted[opt.name] = opt.convert(value, opt.cli_flag)
    return converted


def _as_int(item: Any, flag: str, whole: Any) -> int:
    what = "a positive integer" if item is whole else "a list of positive integers"
    if isinstance(item, bool):
        raise InvalidOptionError(f"{flag}: {_shown(whole)} is not {what}")
    if isinstance(item, numbers.Integral):  # int, numpy.int64, sympy.Integer
        return int(item)
    if not isinstance(item, str):
        detail = "" if item is whole else f" ({_shown(item)} is not an integer)"
        raise InvalidOptionError(f"{flag}: {_shown(whole)} is not {what}{detail}")
    text = item.strip()
    digits = text[1:] if text[:1] in "+-" else text
    # Plain ASCII digits only: int() would also read "1_000" and other scripts' digits.
    if not (digits.isascii() and digits.isdigit()):
        detail = "" if item is whole else f" ({text!r} is not an integer)"
        raise InvalidOptionError(f"{flag}: {_shown(whole)} is not {what}{detail}")
    if len(digits) > 100:
        raise InvalidOptionError(f"{flag}: {_shown(text, 30)} has {len(digits)} digits; "
                                 f"that is far too large")
    return int(text)


def _shown(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_widths(value: Any, flag: str = "--widths", minimum_length: int = 2) -> tuple[int, ...]:
    """Comma-separated positive integers (``"3,4,2"``, the command-line form) or a
    sequence of integers (``(3, 4, 2)``, a 1-D numpy array too)."""
    items: Sequence[Any]
    if isinstance(value, str):
        items = value.split(",") if value.strip() else []
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raise InvalidOptionError(f"{flag}: expected integers, got bytes {_shown(value)} "
                                 "(decode it, or give a tuple of ints)")
    elif isinstance(value, Sequence):
        items = value
    elif getattr(value, "ndim", None) == 1 and hasattr(value, "tolist"):
        items = value.tolist()
    else:
        raise InvalidOptionError(
            f"{flag}: expected a sequence of integers or comma-separated integers, got "
            f"{_shown(value)}")
    widths = tuple(_as_int(item, flag, value) for item in items)
    for w in widths:
        if w < 1:
            raise InvalidOptionError(f"{flag}: width {w} must be a positive integer")
    if len(widths) < minimum_length:
        raise InvalidOptionError(
            f"{flag}: needs at least {minimum_length} values (input to output), got {len(widths)}"
        )
    return widths


def parse_int_list(length: int) -> Callable[[Any, str], tuple[int, ...]]:
    """A converter for exactly ``length`` positive integers (``--channels 2,3,2``)."""

    def convert(value: Any, flag: str) -> tuple[int, ...]:
        values = parse_widths(value, flag, minimum_length=1)
        if len(values) != length:
            raise InvalidOptionError(f"{flag}: needs exactly {length} values, got {len(values)}")
        return values

    return convert


def parse_positive_int(value: Any, flag: str) -> int:
    """One positive integer."""
    number = _as_int(value, flag, value)
    if number < 1:
        raise InvalidOptionError(f"{flag}: must be a positive integer, got {number}")
    return number


def parse_flag(value: Any, flag: str) -> bool:
    """A switch: accepts booleans only."""
    if not isinstance(value, bool):
        raise InvalidOptionError(f"{flag}: is a switch and takes no value (got {value!r})")
    return value


def parse_loss(value: Any, flag: str) -> str | None:
    """``squared`` (None: the default) or ``cross-entropy``.

    Examples
    --------
    >>> parse_loss("cross-entropy", "--loss"), parse_loss("squared", "--loss")
    ('cross-entropy', None)
    """
    if value in (None, "squared"):
        return None
    if value == "cross-entropy":
        return "cross-entropy"
    raise InvalidOptionError(f"{flag} must be squared or cross-entropy, got {value!r}")


#: The loss of a network: with cross-entropy (a softmax output layer) the loss sees the
#: outputs only up to a common shift, so the output directions w are those with
#: sum(w) = 0 (docs/theory.md section 3).  Graph architectures declare this option.
LOSS_OPTION = Option("loss", parse_loss, "squared (default) or cross-entropy (softmax "
                     "outputs: only differences of outputs matter)",
                     metavar="squared|cross-entropy")


def parse_activation(value: Any, flag: str) -> str | None:
    """``relu`` (None: the default), ``leaky-relu``, ``relu^K`` or ``x^K`` (K an integer >= 2).

    Examples
    --------
    >>> parse_activation("relu", "--activation"), parse_activation(" relu^2 ", "--activation")
    (None, 'relu^2')
    >>> parse_activation("x^1", "--activation")
    Traceback (most recent call last):
        ...
    conslaws.core.errors.InvalidOptionError: --activation x^1: K must be an integer >= 2 ...
    """
    text = value.strip() if isinstance(value, str) else value
    if text in (None, "relu"):
        return None
    if text == "leaky-relu":
        return "leaky-relu"
    if isinstance(text, str):
        base, caret, exponent = text.partition("^")
        if caret and base.strip() in ("relu", "x"):
            digits = exponent.strip()
            if not (digits.isascii() and digits.isdigit()) or len(digits) > 4 or int(digits) < 2:
                raise InvalidOptionError(
                    f"{flag} {text}: K must be an integer >= 2 (relu^1 is relu, x^1 the "
                    "identity), at most 9999")
            return f"{base.strip()}^{int(digits)}"
    raise InvalidOptionError(
        f"{flag} must be relu, leaky-relu, relu^K or x^K (K an integer >= 2), got {value!r}")


def parse_slope(value: Any, flag: str) -> Fraction:
    """A rational slope (``1/100``, ``0.2``, ``Fraction(1, 5)``); floats read as printed.

    Examples
    --------
    >>> parse_slope("1/100", "--slope"), parse_slope(0.2, "--slope")
    (Fraction(1, 100), Fraction(1, 5))
    """
    if isinstance(value, float) or type(value).__name__ in ("float32", "float64"):
        value = repr(float(value))
    return exact_number(value, flag, InvalidOptionError)


#: The activation of the hidden ReLU units of a graph network (every unit of kind
#: "relu" in its graph, see conslaws.core.models.graph.Activation).  Graph architectures
#: declare this option with SLOPE_OPTION; Model.from_graph applies both.
ACTIVATION_OPTION = Option("activation", parse_activation,
                           "hidden units: relu (default), leaky-relu (slope --slope below 0), "
                           "relu^K (max(s, 0)^K) or x^K (s^K), K an integer >= 2",
                           metavar="relu|leaky-relu|relu^K|x^K")
SLOPE_OPTION = Option("slope", parse_slope, "slope of --activation leaky-relu below 0 "
                      "(default 1/100)", metavar="A")


def describe_options(options: Mapping[str, Any]) -> str:
    """``widths=3,4,2 bias`` for titles and ``name`` fields."""
    parts = []
    for key, value in options.items():
        if value is None or value is False:
            continue
        if value is True:
            parts.append(key)
        elif isinstance(value, tuple):
            parts.append(f"{key}={','.join(map(str, value))}")
        else:
            parts.append(f"{key}={value}")
    return " ".join(parts)
