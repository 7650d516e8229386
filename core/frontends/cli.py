"""The ``conslaws`` command line (contract: docs/cli.md).

::

    conslaws count ARCH [ARCH OPTIONS] [--backend B] [--seed N] [--point VALUES]
                   [--mode phi|data] [--json]
    conslaws count --onnx FILE [--loss L] [--backend B] ...   (laws too)
    conslaws laws  ARCH [ARCH OPTIONS] --degree K [--backend B]
                   [--format text|json|latex|sage|mathematica|maple]
    conslaws list
    conslaws sweep FILE [--jobs N | --dask ADDRESS] [--backend B] [--json]
    conslaws simulate ARCH [ARCH OPTIONS] --optimizer gd|sgd|momentum [--plot FILE]
    conslaws --version

Every architecture registered through entry points gets its own sub-command
parser, built from its declared options, so ``conslaws count relu --help``
lists exactly the options of ``relu``.

Errors: any :class:`ConslawsError` and any usage error becomes one line on
stderr and exit status 2.  Library errors name API arguments (``fixed_time``);
:func:`error_message` shows the matching flag (``--fixed-time``) instead, from
the one table :data:`ARGUMENT_FLAGS`.  No input prints a traceback: an
unexpected exception is one line and status 1 (``CONSLAWS_DEBUG=1`` shows the
traceback), Ctrl-C is ``conslaws: interrupted`` and status 130, and a closed
pipe (``conslaws list | head -1``) ends quietly with status 141, as a program
killed by SIGPIPE.

Examples
--------
>>> from conslaws.core.errors import InvalidOptionError
>>> error_message(InvalidOptionError("fixed_time must be positive", argument="fixed_time"))
'--fixed-time must be positive'
>>> error_message(InvalidOptionError("lrs: step sizes must lie in (0, 1)", argument="lrs"))
'--lr: step sizes must lie in (0, 1)'
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import inspect
import os
import re
import secrets
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

# Only light modules at import time: the program installs its Ctrl-C handler
# in main(), and what is imported before that cannot be interrupted cleanly.
from conslaws.core.errors import ConslawsError, InvalidOptionError, PluginError
from conslaws.core.frontends.results import FORMATS
from conslaws.core.plugins.registry import architectures, backends, flows

if TYPE_CHECKING:
    from conslaws.core.plugins.architecture import Architecture, Option

__all__ = ["ARGUMENT_FLAGS", "build_parser", "count_arguments", "error_message", "main"]

#: API argument names whose flag is not ``--`` + the name with dashes.
ARGUMENT_FLAGS: dict[str, str] = {
    "lrs": "--lr",
    "architecture": "ARCH",
    "path": "FILE",
}
#: Exit statuses.
BAD_INPUT, INTERNAL_ERROR, INTERRUPTED, BROKEN_PIPE = 2, 1, 130, 141
#: Seeds drawn when none is given lie in [0, SEED_RANGE), like the library's.
SEED_RANGE = 2**32
#: ``count --onnx FILE`` (and ``laws``) is parsed as ``count :onnx --onnx FILE``: the
#: file stands in place of ARCH, and this sub-parser (a name no entry point can
#: register) holds its options.
ONNX_ROUTE = ":onnx"

EPILOG_TOP = """\
examples:
  conslaws count relu --widths 3,4,2 --bias       how many laws, certified
  conslaws laws linear --widths 2,3,2 --degree 2  the laws themselves
  conslaws simulate relu --widths 2,3,1           how they drift under gradient descent
  conslaws sweep cases.json --jobs 2              many counts from a file

terms:
  trace          the span W(theta) of the vector fields of the Lie algebra generated
                 by the flow's fields (the gradients of phi), at one point theta;
                 W_0 is the span of the fields, W_k adds k levels of brackets
  Lie dimension  dim W(theta) at a generic point; the flow has exactly
                 D - (Lie dimension) independent conservation laws (D parameters)
  certified      proved: the exact rank at a point bounds the number of laws from
                 above, independent polynomial laws verified exactly bound it from
                 below, and the two meet; otherwise both bounds are printed

exit status: 0 done, 1 a sweep case failed (or an internal error), 2 bad input,
130 interrupted.  Run 'conslaws COMMAND --help' for the options of a command.
"""

EPILOG_COUNT = """\
examples:
  conslaws count relu --widths 3,4,2 --bias        4 laws, one per hidden neuron
  conslaws count linear --widths 2,3,3,2 --json    machine-readable
  conslaws count custom --phi "u*v1; u*v2"         any polynomial map phi
  conslaws count linear --widths 2,2,2 --point 1,2,3,4,5,6,7,8 --seed 1

A count is certified when its two bounds meet (see 'conslaws --help' for the
terms); otherwise both bounds are printed with what is and is not proved.
'--onnx FILE' in place of ARCH counts the network of an ONNX file (exported
from PyTorch, say; needs pip install 'conslaws[onnx]').
"""

EPILOG_LAWS = """\
examples:
  conslaws laws linear --widths 2,3,2 --degree 2   the entries of W1 W1^T - W2^T W2
  conslaws laws relu --widths 2,3,1 --degree 2     one balance law per hidden neuron
  conslaws laws custom --phi "x**3 - 3*x*y**2" --degree 3 --json
  conslaws laws linear --widths 2,3,2 --degree 2 --format mathematica

--format sage, mathematica or maple prints one comment line (how the names
are written there: Mathematica has W1x2x3 for W1_2_3), then one law per line.

The laws printed are a basis of the vector space of all polynomial laws of
degree 1..K, each verified exactly; "complete" means they account for every
law of the flow (the count is certified).  '--onnx FILE' in place of ARCH
reads the network of an ONNX file.
"""

EPILOG_SIMULATE = """\
examples:
  conslaws simulate linear --widths 2,2,1                  drift ~ lr^2 (slope 2)
  conslaws simulate relu --widths 2,3,1 --optimizer sgd --seed 0
  conslaws simulate linear --widths 2,2,1 --fixed-time 1   drift ~ lr (slope 1)
  conslaws simulate linear --widths 2,2,1 --optimizer momentum --tau 0.5 --plot drift.pdf

A run whose numbers overflow (too large a step size) is reported as diverged
(null in --json).  The seed used is printed; give it back with --seed.
"""

EPILOG_SWEEP = """\
example:
  conslaws sweep anchor-relu.json --jobs 2 --seed 0
  conslaws sweep anchor-relu.json --dask tcp://scheduler:8786 --seed 0

FILE holds {"cases": [{"args": ["relu", "--widths", "3,4,2"], "laws": 4}, ...]}:
each case's args are what follows 'conslaws count' (strings, or numbers), its
optional "laws" the expected count.  A case that fails is reported with its
error and the sweep goes on; the exit status is 1 when a case fails, does not
match or is not certified.
"""


class UsageError(InvalidOptionError):
    """A command line argparse cannot parse (an unknown option, a missing value)."""


class _Parser(argparse.ArgumentParser):
    """argparse whose errors raise :class:`UsageError` (one line, exit status 2, in main).

    Raising instead of exiting lets sweeps parse their cases' arguments with
    the very parser of the command line.
    """

    def error(self, message: str) -> NoReturn:
        # The --onnx route stands in place of ARCH: say so, instead of naming the route.
        message = message.replace(f", '{ONNX_ROUTE}')", "; or --onnx FILE)").replace(
            "required: ARCH", "required: ARCH (or --onnx FILE)")
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """``parser.parse_args(argv)``, with unknown options pointed at the sub-command's help."""
    args, extras = parser.parse_known_args(_route_onnx(sys.argv[1:] if argv is None else argv))
    if extras:
        arch = getattr(args, "architecture", None)
        where = " ".join(str(part) for part in (parser.prog, getattr(args, "command", None),
                                                "--onnx FILE" if arch == ONNX_ROUTE else arch)
                         if part)
        raise UsageError(f"unrecognized arguments: {' '.join(extras)} (see '{where} --help')")
    return args


class _VersionAction(argparse.Action):
    """``--version``: the version is read from the package metadata only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 help: str | None = "show the version and exit") -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        import conslaws.core

        # Written as argparse's own version action writes (stdout, errors ignored).
        parser._print_message(f"conslaws {conslaws.core.__version__}\n", sys.stdout)
        parser.exit()


def _draw_seed() -> int:
    return secrets.randbelow(SEED_RANGE)


def _default(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


def _with_default(help_text: str, default: Any) -> str:
    """``help_text`` with ``(default X)`` appended, unless it already states one."""
    if default is None or default is False or "default" in help_text:
        return help_text
    return f"{help_text} (default {_default(default)})"


def _add_common(parser: argparse.ArgumentParser, command: str) -> None:
    group = parser.add_argument_group("computation")
    group.add_argument("--backend", default="modular", metavar="B",
                       help=f"arithmetic for ranks: {', '.join(backends.names())}; modular "
                            "(default, GF(p), exact), rational (exact over Q) or float "
                            "(numpy, an estimate)")
    group.add_argument("--modulus", type=_int_arg("--modulus"), metavar="P",
                       help="prime for the modular backend (default 2**61 - 1; the probe "
                            "engine uses a prime below 2**22)")
    group.add_argument("--tolerance", type=_float_arg("--tolerance"), metavar="T",
                       help="singular-value tolerance of the float backend (default: automatic)")
    group.add_argument("--seed", type=_int_arg("--seed"), metavar="N",
                       help="seed of every random choice (default: drawn, and printed)")
    group.add_argument("--point", metavar="VALUES",
                       help="evaluate at this point: 1,-2,3/2 in parameter order, or "
                            "name=value pairs (default: a random point)")
    group.add_argument("--mode", default="phi", choices=["phi", "data"],
                       help="phi: fields from the parameterization (default); data: sampled")
    if command == "count":
        group.add_argument("--engine", default="auto", choices=["auto", "fields", "probes"],
                           help="probes: gated forward passes mod a prime below 2**22, no "
                                "path listing (networks of 10^4 parameters); fields: list the "
                                "generating fields (a network's paths) and bracket them, "
                                "seeking laws of every degree; auto (default): probes where "
                                "they apply, fields when probes do not certify a network of "
                                "at most 20,000 paths")
        group.add_argument("--certify-degree", type=_int_arg("--certify-degree"), metavar="K",
                           help="highest degree of the laws sought to certify the count "
                                f"(default: the flow's, {_certify_defaults()}; 0 skips "
                                "the search)")
    else:
        group.add_argument("--degree", type=_int_arg("--degree"), required=True, metavar="K",
                           help="highest degree of the polynomial laws sought (required)")
    _add_flow_options(parser)
    out = parser.add_argument_group("output")
    alias = command == "laws"  # laws has --format; --json and --latex are two of its values
    if alias:
        out.add_argument("--format", choices=FORMATS, metavar="F",
                         help=f"output: {', '.join(FORMATS)} (default text); sage, "
                              "mathematica and maple print one law per line")
    out.add_argument("--json", action="store_true",
                     help="print one JSON document" + (" (--format json)" if alias else ""))
    out.add_argument("--latex", action="store_true",
                     help="print LaTeX instead of text" + (" (--format latex)" if alias else ""))
    out.add_argument("--no-progress", action="store_true",
                     help="no progress bars (they show only on a terminal anyway)")


def _certify_defaults() -> str:
    parts = []
    for name in flows.names():
        try:
            parts.append(f"{name} {flows.load(name).certify_degree}")
        except PluginError:
            continue
    return ", ".join(parts)


def _add_flow_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("flow")
    names = flows.names()
    group.add_argument("--flow", default="gradient", metavar="FLOW",
                       help=f"training flow: {', '.join(names)} (default gradient)")
    seen: set[str] = set()
    for name in names:
        try:
            flow = flows.load(name)
        except PluginError:
            continue
        for opt in flow.options:
            if opt.name in seen:
                continue
            seen.add(opt.name)
            group.add_argument(opt.cli_flag, dest=f"flow_{opt.name}", metavar=opt.metavar,
                               help=f"({name}) {_with_default(opt.help, opt.default)}")


def _flow_options(args: argparse.Namespace) -> dict[str, Any]:
    return {key[len("flow_"):]: value for key, value in vars(args).items()
            if key.startswith("flow_") and value is not None}


def _int_arg(flag: str) -> Any:
    def convert(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag}: {text!r} is not an integer") from None

    return convert


def _float_arg(flag: str) -> Any:
    def convert(text: str) -> float:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag}: {text!r} is not a number") from None

    return convert


def _float_list(flag: str) -> Any:
    def convert(text: str) -> tuple[float, ...]:
        try:
            return tuple(float(part) for part in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag}: {text!r} is not a list of numbers like 0.02,0.01"
            ) from None

    return convert


def _load_architecture(sub: Any, name: str) -> type[Architecture] | None:
    try:
        arch: type[Architecture] = architectures.load(name)
    except PluginError as error:
        sub.add_parser(name, help=f"(unavailable: {error})")
        return None
    return arch


def _add_architecture(sub: Any, name: str, command: str, add_help: bool) -> None:
    arch = _load_architecture(sub, name)
    if arch is None:
        return
    epilog = EPILOG_COUNT if command == "count" else EPILOG_LAWS
    parser = sub.add_parser(name, help=arch.summary, description=f"{name}: {arch.summary}",
                            epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter,
                            add_help=add_help)
    _add_architecture_options(parser, name, arch.options)
    _add_common(parser, command)
    parser.set_defaults(architecture=name)


def _add_onnx(sub: Any, command: str, add_help: bool) -> None:
    """The options of ``conslaws COMMAND --onnx FILE`` (see :data:`ONNX_ROUTE`)."""
    from conslaws.core.plugins.architecture import LOSS_OPTION

    # No help=: the route is not listed among the architectures (the epilog shows it).
    parser = sub.add_parser(
        ONNX_ROUTE, prog=f"conslaws {command}",
        description="the network of an ONNX file (Gemm/MatMul, Conv, Relu, LeakyRelu, "
                    "MaxPool, AveragePool, Add, Flatten, Reshape; needs pip install "
                    "'conslaws[onnx]')",
        epilog=EPILOG_COUNT if command == "count" else EPILOG_LAWS,
        formatter_class=argparse.RawDescriptionHelpFormatter, add_help=add_help)
    group = parser.add_argument_group("network")
    group.add_argument("--onnx", required=True, metavar="FILE",
                       help="the ONNX file, in place of ARCH (required)")
    group.add_argument(LOSS_OPTION.cli_flag, dest=f"arch_{LOSS_OPTION.name}",
                       metavar=LOSS_OPTION.metavar, help=LOSS_OPTION.help)
    _add_common(parser, command)
    parser.set_defaults(architecture=ONNX_ROUTE)


def _route_onnx(argv: Sequence[str]) -> list[str]:
    """``COMMAND --onnx FILE ...`` as ``COMMAND :onnx --onnx FILE ...`` (:data:`ONNX_ROUTE`)."""
    items = list(argv)
    if (len(items) > 1 and items[0] in ("count", "laws") and isinstance(items[1], str)
            and (items[1] == "--onnx" or items[1].startswith("--onnx="))):
        return [items[0], ONNX_ROUTE, *items[1:]]
    return items


def _network(args: argparse.Namespace) -> Any:
    """The architecture name, or for ``--onnx FILE`` the file as a path (which the API imports)."""
    from pathlib import Path

    if args.architecture == ONNX_ROUTE:
        return Path(args.onnx)
    return args.architecture


def _add_architecture_options(parser: argparse.ArgumentParser, name: str,
                              options: Sequence[Option]) -> None:
    """The declared options of one architecture, as ``--flags`` stored under ``arch_*``."""
    group = parser.add_argument_group(f"{name} options")
    for opt in options:
        if opt.flag:
            group.add_argument(opt.cli_flag, dest=f"arch_{opt.name}", action="store_true",
                               help=opt.help)
        else:
            if opt.required:
                text = f"{opt.help} (required)"
            else:
                text = _with_default(opt.help, opt.default)
            group.add_argument(opt.cli_flag, dest=f"arch_{opt.name}", metavar=opt.metavar,
                               help=text)


def _add_simulate_architecture(sub: Any, name: str, defaults: dict[str, Any]) -> None:
    arch = _load_architecture(sub, name)
    if arch is None:
        return
    parser = sub.add_parser(name, help=arch.summary, description=f"{name}: {arch.summary}",
                            epilog=EPILOG_SIMULATE,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_architecture_options(parser, name, arch.options)
    training = parser.add_argument_group("training")
    training.add_argument("--optimizer", default=defaults["optimizer"],
                          choices=["gd", "sgd", "momentum"],
                          help="gd (full batch), sgd (mini-batches) or momentum (heavy ball); "
                               f"default {defaults['optimizer']}")
    training.add_argument("--steps", type=_int_arg("--steps"), default=defaults["steps"],
                          metavar="N",
                          help=f"steps per step size (default {defaults['steps']}: drift ~ "
                               "lr^2 while N lr is small; long runs converge and give drift "
                               "~ lr)")
    lrs = ",".join(f"{lr:g}" for lr in defaults["lrs"])
    training.add_argument("--lr", type=_float_list("--lr"), default=defaults["lrs"],
                          metavar="LR,...", help=f"step sizes in (0, 1) (default {lrs})")
    training.add_argument("--tau", type=_float_arg("--tau"), default=defaults["tau"],
                          metavar="T",
                          help="momentum friction, 0 or positive: beta = 1 - T sqrt(lr) "
                               f"(default {defaults['tau']:g})")
    training.add_argument("--samples", type=_int_arg("--samples"), default=defaults["samples"],
                          metavar="M", help=f"random data points (default {defaults['samples']})")
    training.add_argument("--batch", type=_int_arg("--batch"), default=defaults["batch"],
                          metavar="B", help=f"SGD mini-batch size (default {defaults['batch']})")
    training.add_argument("--fixed-time", type=_float_arg("--fixed-time"), metavar="T",
                          help="run T / lr steps per step size (drift ~ lr) instead of --steps "
                               "(default: off)")
    training.add_argument("--seed", type=_int_arg("--seed"), metavar="N",
                          help="non-negative seed of data, initial point and mini-batches "
                               "(default: drawn, and printed)")
    out = parser.add_argument_group("output")
    out.add_argument("--plot", metavar="FILE",
                     help="write the drift plots to exactly FILE, in the format of its "
                          "extension (png, pdf, svg, ...; png without one; needs matplotlib)")
    out.add_argument("--json", action="store_true", help="print the numbers as JSON")
    out.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(architecture=name)


def build_parser(*, add_help: bool = True, command: str | None = None) -> argparse.ArgumentParser:
    """The full parser (architectures discovered through entry points).

    With ``add_help=False`` the ``count`` and ``laws`` parsers have no
    ``--help`` (nor ``--version``): sweeps parse their cases with it, and a
    case must not print help into the report.  With ``command`` (``"count"``, ...)
    the ``simulate`` command gets its architectures only when it is the one
    parsed: they come from the simulator, whose imports (sympy, networkx) a count
    never needs.
    """
    parser = _Parser(
        prog="conslaws",
        description="Exact conservation laws of neural-network training flows: the number of "
                    "independent laws (certified), and the laws themselves as formulas.",
        epilog=EPILOG_TOP, formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=add_help,
    )
    if add_help:
        parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for verb, text, epilog in (
            ("count", "count the independent conservation laws", EPILOG_COUNT),
            ("laws", "find the polynomial laws up to a degree", EPILOG_LAWS)):
        sub_parser = commands.add_parser(verb, help=text, description=text, epilog=epilog,
                                         formatter_class=argparse.RawDescriptionHelpFormatter,
                                         add_help=add_help)
        archs = sub_parser.add_subparsers(dest="architecture", metavar="ARCH",
                                          parser_class=_Parser)
        archs.required = True
        for name in architectures.names():
            _add_architecture(archs, name, verb, add_help)
        _add_onnx(archs, verb, add_help)
    if not add_help:
        return parser
    simulate = commands.add_parser(
        "simulate", help="train with finite steps and plot how the laws drift",
        description="Train the network on random data (squared loss) with several step sizes "
                    "and record the drift |h(theta_k) - h(theta_0)| of every law of the "
                    "matching flow; the drift scales like lr^2 at a fixed number of steps.  "
                    "ARCH is one of the architectures with a network graph.",
        epilog=EPILOG_SIMULATE, formatter_class=argparse.RawDescriptionHelpFormatter)
    sim_archs = simulate.add_subparsers(dest="architecture", metavar="ARCH", parser_class=_Parser)
    sim_archs.required = True
    if command in (None, "simulate"):
        from conslaws.core.frontends import simulate as simulation

        defaults = {name: p.default for name, p in
                    inspect.signature(simulation.simulate).parameters.items()
                    if p.default is not inspect.Parameter.empty}
        for name in simulation.simulatable_architectures():
            _add_simulate_architecture(sim_archs, name, defaults)
    commands.add_parser("list", help="list architectures, backends and their options")
    sweep = commands.add_parser(
        "sweep", help="count every case of a JSON file (optionally in parallel)",
        description="Run every case of FILE and report whether each count matches and is "
                    "certified.",
        epilog=EPILOG_SWEEP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sweep.add_argument("file", metavar="FILE", help="the sweep file (JSON, at most 10 MB)")
    sweep.add_argument("--backend", default="modular", metavar="B",
                       help=f"arithmetic backend of every case: {', '.join(backends.names())} "
                            "(default modular)")
    sweep.add_argument("--jobs", type=_int_arg("--jobs"), metavar="N",
                       help="worker processes (default 1; at most the number of cases and "
                            "of CPUs)")
    sweep.add_argument("--dask", metavar="ADDRESS",
                       help="run the cases on the Dask cluster whose scheduler is at ADDRESS "
                            "(tcp://host:8786; needs pip install 'conslaws[dask]'; not with "
                            "--jobs)")
    sweep.add_argument("--seed", type=_int_arg("--seed"), metavar="N",
                       help="base seed: case i uses N + i (default: drawn, and printed)")
    sweep.add_argument("--json", action="store_true",
                       help='print {"results": [...], "total_seconds": ...}')
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _case_parser() -> argparse.ArgumentParser:
    """The parser of sweep cases, built once per set of registered plugins."""
    return _cached_case_parser(tuple(architectures.names()), tuple(flows.names()))


@functools.lru_cache(maxsize=4)
def _cached_case_parser(architecture_names: tuple[str, ...],
                        flow_names: tuple[str, ...]) -> argparse.ArgumentParser:
    return build_parser(add_help=False)


def _architecture_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        key[len("arch_"):]: value
        for key, value in vars(args).items()
        if key.startswith("arch_") and value is not None and value is not False
    }


def _list() -> str:
    lines = ["architectures:"]
    for name in architectures.names():
        try:
            arch = architectures.load(name)
        except ConslawsError as error:
            lines.append(f"  {name:<10} unavailable: {error}")
            continue
        lines.append(f"  {name:<10} {arch.summary}")
        flags = " ".join(
            o.cli_flag if o.flag else f"{o.cli_flag} {o.metavar or 'VALUE'}" for o in arch.options
        )
        lines.append(f"  {'':<10} options: {flags}")
    lines.append("flows:")
    for name in flows.names():
        try:
            flow = flows.load(name)
        except ConslawsError as error:
            lines.append(f"  {name:<13} unavailable: {error}")
            continue
        flags = " ".join(f"{o.cli_flag} {o.metavar or 'VALUE'}" for o in flow.options)
        lines.append(f"  {name:<13} {flow.summary}" + (f"   [{flags}]" if flags else ""))
    lines.append("backends:")
    for name in backends.names():
        try:
            lines.append(f"  {name:<10} {backends.load(name).description}")
        except ConslawsError as error:
            lines.append(f"  {name:<10} unavailable: {error}")
    return "\n".join(lines)


def _count_keywords(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :func:`~conslaws.core.frontends.api.count` a parsed command line
    gives."""
    return dict(backend=args.backend, seed=args.seed, point=args.point, mode=args.mode,
                modulus=args.modulus, tolerance=args.tolerance,
                certify_degree=args.certify_degree, flow=args.flow, engine=args.engine,
                flow_options=_flow_options(args), **_architecture_options(args))


def count_arguments(argv: Sequence[str]) -> tuple[Any, dict[str, Any]]:
    """The architecture and :func:`~conslaws.core.frontends.api.count` keywords of
    ``conslaws count ARGV``.

    ``argv`` is what follows ``conslaws count``, parsed by the command line's
    own parser (so a sweep case means what it means on the command line);
    nothing is printed and nothing exits: a bad argument raises
    :class:`UsageError`, and ``--help`` is an unknown option.  The architecture
    is a name, or for ``--onnx FILE`` the file as a ``pathlib.Path``.

    Examples
    --------
    >>> name, keywords = count_arguments(["relu", "--widths", "3,4,2", "--bias"])
    >>> name, keywords["widths"], keywords["bias"], keywords["backend"]
    ('relu', '3,4,2', True, 'modular')
    >>> count_arguments(["relu", "--help"])
    Traceback (most recent call last):
        ...
    conslaws.core.frontends.cli.UsageError: unrecognized arguments: --help ...
    """
    items = list(argv)
    if not all(isinstance(item, str) for item in items):
        raise UsageError(f"arguments must be strings, got {items!r}")
    args = _parse(_case_parser(), ["count", *items])
    return _network(args), _count_keywords(args)


def count_from_arguments(argv: Sequence[str]) -> Any:
    """Run ``conslaws count ...`` given as an argument list (``["count", ...]``).

    Returns the :class:`~conslaws.core.frontends.results.CountResult`; a usage error
    raises :class:`UsageError` instead of exiting.
    """
    from conslaws.core.frontends.api import count

    items = list(argv)
    if items[:1] != ["count"]:
        raise UsageError(f"expected ['count', ARCH, ...], got {items!r}")
    architecture, keywords = count_arguments(items[1:])
    return count(architecture, **keywords)


def flag_of(argument: str) -> str:
    """The command-line spelling of an API argument (``fixed_time`` -> ``--fixed-time``)."""
    return ARGUMENT_FLAGS.get(argument, "--" + argument.replace("_", "-"))


def error_message(error: BaseException) -> str:
    """The one line shown for ``error``, naming flags instead of API arguments.

    An error that carries an ``argument`` and whose message starts with that
    name gets the flag instead; line breaks are folded, so the message stays
    on one line.
    """
    text = " ".join(str(error).split()) or type(error).__name__
    argument = getattr(error, "argument", None)
    if isinstance(argument, str) and argument:
        leading = re.match(rf"{re.escape(argument)}(?![\w-])", text)
        if leading:
            text = flag_of(argument) + text[leading.end():]
    return text


def _output_format(args: argparse.Namespace) -> str:
    """The output asked for: ``--format``, or its aliases ``--json`` and ``--latex``."""
    chosen = getattr(args, "format", None)
    asked = [name for name in ("json", "latex") if getattr(args, name, False)]
    if len(asked) > 1 or (asked and chosen not in (None, asked[0])):
        given = [f"--{name}" for name in asked] + ([f"--format {chosen}"] if chosen else [])
        raise InvalidOptionError(f"{' and '.join(given)} ask for different outputs; give one")
    return chosen or (asked[0] if asked else "text")


def _progress(args: argparse.Namespace) -> bool:
    machine = args.json or getattr(args, "format", None) not in (None, "text")
    return not (machine or args.no_progress) and sys.stderr.isatty()


def _sweep(args: argparse.Namespace) -> tuple[str, int]:
    from conslaws.core.frontends.sweep import load_cases, run_sweep, worker_count

    if args.jobs is not None and args.jobs < 1:
        raise InvalidOptionError(f"--jobs must be at least 1, got {args.jobs}")
    if args.dask is not None and args.jobs is not None:
        raise InvalidOptionError("--dask and --jobs both choose where cases run (the "
                                 "cluster's workers are the jobs); give one")
    backends.load(args.backend)  # an unknown backend is refused before any case runs
    cases = load_cases(args.file)
    seed = args.seed if args.seed is not None else _draw_seed()
    jobs = worker_count(args.jobs or 1, len(cases))
    if args.dask is not None:
        report = run_sweep(cases, backend=args.backend, seed=seed, dask=args.dask,
                           progress=_progress(args))
    elif jobs > 1:
        report = _parallel_sweep(cases, args.backend, seed, jobs, _progress(args))
    else:
        report = run_sweep(cases, backend=args.backend, seed=seed, progress=_progress(args))
    text = report.to_json() if args.json else str(report)
    return text, 0 if report.all_match else 1


def _parallel_sweep(cases: Sequence[Any], backend: str, seed: int, jobs: int,
                    progress: bool) -> Any:
    """``run_sweep`` on a process pool that Ctrl-C stops at once."""
    from concurrent.futures import ProcessPoolExecutor

    from conslaws.core.frontends.sweep import ignore_interrupts, run_sweep, stop_pool

    pool = ProcessPoolExecutor(max_workers=jobs, initializer=ignore_interrupts)
    try:
        report = run_sweep(cases, backend=backend, seed=seed, executor=pool, progress=progress)
    except BaseException:
        # Ctrl-C (or an error): cancel what is pending and end the running
        # workers now, instead of waiting for their cases in shutdown().
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)
    return report


def _simulate(args: argparse.Namespace) -> str:
    from conslaws.core.frontends.simulate import simulate

    seed = args.seed if args.seed is not None else _draw_seed()
    result = simulate(args.architecture, optimizer=args.optimizer, steps=args.steps,
                      lrs=args.lr, tau=args.tau, samples=args.samples, batch=args.batch,
                      fixed_time=args.fixed_time, seed=seed, plot=args.plot,
                      progress=_progress(args), **_architecture_options(args))
    if args.json:
        return result.to_json()
    text = str(result)
    return text + (f"\n  plot written to {args.plot}" if args.plot else "")


def _run(args: argparse.Namespace) -> str:
    from conslaws.core.frontends.api import count, find_laws

    output = _output_format(args)  # conflicting flags are refused before the run
    # The seed is drawn here, not left to the library, so that it is printed
    # and recorded also when --point is given (frames and checks use it).
    if args.seed is None:
        args.seed = _draw_seed()
    result: Any
    if args.command == "count":
        result = count(_network(args), progress=_progress(args), **_count_keywords(args))
    else:
        if args.tolerance is not None:
            raise InvalidOptionError("--tolerance applies to counts only")
        result = find_laws(_network(args), args.degree, backend=args.backend,
                           seed=args.seed, point=args.point, mode=args.mode,
                           modulus=args.modulus, progress=_progress(args), flow=args.flow,
                           flow_options=_flow_options(args), **_architecture_options(args))
    if output != "text":
        from conslaws.core.frontends.export import to_format

        return to_format(result, output)
    text = str(result)
    if args.command == "laws" and f"seed {result.seed}" not in text:
        text += f"\n  seed {result.seed}"
    return text


def _dispatch(argv: Sequence[str] | None) -> tuple[int, str]:
    words = list(sys.argv[1:] if argv is None else argv)
    args = _parse(build_parser(command=words[0] if words else None), argv)
    if args.command == "list":
        return 0, _list()
    if args.command == "sweep":
        output, status = _sweep(args)
        return status, output
    if args.command == "simulate":
        return 0, _simulate(args)
    return 0, _run(args)


def _say(line: str) -> None:
    """One line on stderr; a closed stderr is not worth a traceback."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


def _discard_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null, so the flush at exit is silent."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, descriptor)
    finally:
        os.close(devnull)


def _main(argv: Sequence[str] | None) -> int:
    try:
        status, output = _dispatch(argv)
    except SystemExit:
        # --help and --version: argparse wrote to stdout; flush here, where a
        # closed pipe is caught (at interpreter exit it would be reported).
        sys.stdout.flush()
        raise
    except ConslawsError as error:
        _say(f"conslaws: error: {error_message(error)}")
        return BAD_INPUT
    except KeyboardInterrupt:
        _say("conslaws: interrupted")
        return INTERRUPTED
    except BrokenPipeError:
        raise
    except MemoryError:
        _say("conslaws: error: out of memory")
        return INTERNAL_ERROR
    except Exception as error:
        # Not a ConslawsError: a bug (every bad input should raise one).
        if os.environ.get("CONSLAWS_DEBUG"):
            traceback.print_exc()
        _say(f"conslaws: internal error: {type(error).__name__}: {error_message(error)} "
             "(please report it; CONSLAWS_DEBUG=1 shows the traceback)")
        return INTERNAL_ERROR
    print(output, flush=True)
    return status


def _interrupt_once(signum: int, frame: Any) -> None:
    """SIGINT handler of the program: the first Ctrl-C stops it, later ones are ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status (0; 1 or 2 on failure, 130 on Ctrl-C).

    ``--help`` and ``--version`` exit through :class:`SystemExit` (status 0),
    as argparse does.  Without ``argv`` (``sys.argv`` is read) this is the
    program itself, which also makes every Ctrl-C after the first harmless:
    stopping is then under way, and a second one must not interrupt it.
    """
    if argv is None:
        with contextlib.suppress(ValueError):  # ValueError: not in the main thread
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                signal.signal(signal.SIGINT, _interrupt_once)
    try:
        return _main(argv)
    except BrokenPipeError:
        _discard_stdout()
        return BROKEN_PIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
