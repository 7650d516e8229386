"""The ``conslaws`` command line (contract: shared/docs/cli.md).

::

    conslaws count ARCH [ARCH OPTIONS] [--backend B] [--seed N] [--point VALUES]
                   [--mode phi|data] [--json]
    conslaws laws  ARCH [ARCH OPTIONS] --degree K [--backend B] [--json]
    conslaws list
    conslaws sweep FILE [--jobs N] [--backend B] [--json]
    conslaws simulate ARCH [ARCH OPTIONS] --optimizer gd|sgd|momentum [--plot FILE]

Every architecture registered through entry points gets its own sub-command
parser, built from its declared options, so ``conslaws count relu --help``
lists exactly the options of ``relu``.  Any :class:`ConslawsError` becomes one
line on stderr and exit status 2; so does any argparse usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from conslaws.core.architecture import Architecture
from conslaws.core.errors import ConslawsError, InvalidOptionError, PluginError
from conslaws.core.registry import architectures, backends, flows

__all__ = ["main"]

EPILOG_COUNT = """\
examples:
  conslaws count relu --widths 3,4,2 --bias        4 laws, one per hidden neuron
  conslaws count linear --widths 2,3,3,2 --json    machine-readable
  conslaws count custom --phi "u*v1; u*v2"         any polynomial map phi
  conslaws count linear --widths 2,2,2 --point 1,2,3,4,5,6,7,8

A count is "certified" when the exact rank of the Lie algebra at a point
(an upper bound on the number of laws) meets the number of independent
polynomial laws verified exactly (a lower bound); otherwise both bounds are
printed with what is and is not proved.
"""

EPILOG_LAWS = """\
examples:
  conslaws laws linear --widths 2,3,2 --degree 2   the entries of W1 W1^T - W2^T W2
  conslaws laws relu --widths 2,3,1 --degree 2     one balance law per hidden neuron

The laws printed are a basis of the vector space of all polynomial laws of
degree 1..K, each verified exactly; "complete" means they account for every
law of the flow (the count is certified).
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"conslaws: error: {message} (see '{self.prog} --help')\n")


def _add_common(parser: argparse.ArgumentParser, command: str) -> None:
    group = parser.add_argument_group("computation")
    group.add_argument("--backend", default="modular", metavar="B",
                       help="arithmetic for ranks: modular (default, GF(p), exact), "
                            "rational (exact over Q) or float (numpy, an estimate)")
    group.add_argument("--modulus", type=_int_arg("--modulus"), metavar="P",
                       help="prime for the modular backend (default 2**61 - 1)")
    group.add_argument("--tolerance", type=_float_arg("--tolerance"), metavar="T",
                       help="singular-value tolerance of the float backend (default: automatic)")
    group.add_argument("--seed", type=_int_arg("--seed"), metavar="N",
                       help="seed of every random choice (printed when not given)")
    group.add_argument("--point", metavar="VALUES",
                       help="evaluate at this point: 1,-2,3/2 in parameter order, or name=value")
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
                                "(default 2, 3 for momentum flows; 0 skips the search)")
    else:
        group.add_argument("--degree", type=_int_arg("--degree"), required=True, metavar="K",
                           help="highest degree of the polynomial laws sought")
    _add_flow_options(parser)
    out = parser.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print one JSON document")
    out.add_argument("--latex", action="store_true", help="print LaTeX instead of text")
    out.add_argument("--no-progress", action="store_true",
                     help="no progress bars (they show only on a terminal anyway)")


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
                               help=f"({name}) {opt.help}")


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


def _add_architecture(sub: Any, name: str, command: str) -> None:
    try:
        arch: type[Architecture] = architectures.load(name)
        summary = arch.summary
    except PluginError as error:
        sub.add_parser(name, help=f"(unavailable: {error})")
        return
    epilog = EPILOG_COUNT if command == "count" else EPILOG_LAWS
    parser = sub.add_parser(name, help=summary, description=f"{name}: {summary}",
                            epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_architecture_options(parser, name, arch)
    _add_common(parser, command)
    parser.set_defaults(architecture=name)


def _add_architecture_options(parser: argparse.ArgumentParser, name: str,
                              arch: type[Architecture]) -> None:
    """The declared options of one architecture, as ``--flags`` stored under ``arch_*``."""
    group = parser.add_argument_group(f"{name} options")
    for opt in arch.options:
        if opt.flag:
            group.add_argument(opt.cli_flag, dest=f"arch_{opt.name}", action="store_true",
                               help=opt.help)
        else:
            group.add_argument(opt.cli_flag, dest=f"arch_{opt.name}", metavar=opt.metavar,
                               help=opt.help + (" (required)" if opt.required else ""))


def _float_list(flag: str) -> Any:
    def convert(text: str) -> tuple[float, ...]:
        try:
            return tuple(float(part) for part in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag}: {text!r} is not a list of numbers like 0.02,0.01"
            ) from None

    return convert


def _add_simulate_architecture(sub: Any, name: str) -> None:
    try:
        arch: type[Architecture] = architectures.load(name)
    except PluginError as error:
        sub.add_parser(name, help=f"(unavailable: {error})")
        return
    parser = sub.add_parser(
        name, help=arch.summary, description=f"{name}: {arch.summary}",
        epilog="example:\n  conslaws simulate relu --widths 2,3,1 --optimizer gd --steps 200 "
               "--plot drift.png", formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_architecture_options(parser, name, arch)
    training = parser.add_argument_group("training")
    training.add_argument("--optimizer", default="gd", choices=["gd", "sgd", "momentum"],
                          help="gd (full batch), sgd (mini-batches) or momentum (heavy ball)")
    training.add_argument("--steps", type=_int_arg("--steps"), default=20, metavar="N",
                          help="steps per step size (default 20: drift ~ lr^2 while N lr is "
                               "small; long runs converge and give drift ~ lr)")
    training.add_argument("--lr", type=_float_list("--lr"), default=(0.02, 0.01, 0.005, 0.0025),
                          metavar="LR,...", help="step sizes (default 0.02,0.01,0.005,0.0025)")
    training.add_argument("--tau", type=_float_arg("--tau"), default=1.0, metavar="T",
                          help="momentum friction: beta = 1 - T sqrt(lr) (default 1)")
    training.add_argument("--samples", type=_int_arg("--samples"), default=16, metavar="M",
                          help="random data points (default 16)")
    training.add_argument("--batch", type=_int_arg("--batch"), default=4, metavar="B",
                          help="SGD mini-batch size (default 4)")
    training.add_argument("--fixed-time", type=_float_arg("--fixed-time"), metavar="T",
                          help="run T / lr steps per step size (drift ~ lr) instead of --steps")
    training.add_argument("--seed", type=_int_arg("--seed"), metavar="N",
                          help="seed of data, initial point and mini-batches")
    out = parser.add_argument_group("output")
    out.add_argument("--plot", metavar="FILE.png", help="write the drift plots (matplotlib)")
    out.add_argument("--json", action="store_true", help="print the numbers as JSON")
    out.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(architecture=name)


def build_parser() -> argparse.ArgumentParser:
    """The full parser (architectures discovered through entry points)."""
    parser = _Parser(
        prog="conslaws",
        description="Exact conservation laws of neural-network training flows: the number of "
                    "independent laws (certified), and the laws themselves as formulas.",
        epilog="run 'conslaws count ARCH --help' for the options of one architecture",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for command, text in (("count", "count the independent conservation laws"),
                          ("laws", "find the polynomial laws up to a degree")):
        sub_parser = commands.add_parser(command, help=text, description=text)
        archs = sub_parser.add_subparsers(dest="architecture", metavar="ARCH",
                                          parser_class=_Parser)
        archs.required = True
        for name in architectures.names():
            _add_architecture(archs, name, command)
    simulate = commands.add_parser(
        "simulate", help="train with finite steps and plot how the laws drift",
        description="Train the network on random data (squared loss) with several step sizes "
                    "and record the drift |h(theta_k) - h(theta_0)| of every law of the "
                    "matching flow; the drift scales like lr^2 at a fixed number of steps.")
    sim_archs = simulate.add_subparsers(dest="architecture", metavar="ARCH", parser_class=_Parser)
    sim_archs.required = True
    for name in architectures.names():
        _add_simulate_architecture(sim_archs, name)
    commands.add_parser("list", help="list architectures, backends and their options")
    sweep = commands.add_parser(
        "sweep", help="count every case of a JSON file (optionally in parallel)",
        description="Run every case of FILE ({\"cases\": [{\"args\": [...], \"laws\": N}]}, "
                    "as shared/bench/anchor-relu.json) and report whether each count matches "
                    "and is certified.  Exit status 1 when one does not.",
        epilog="example:\n  conslaws sweep anchor-relu.json --jobs 2",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sweep.add_argument("file", metavar="FILE", help="the sweep file")
    sweep.add_argument("--backend", default="modular", metavar="B",
                       help="arithmetic backend (default modular)")
    sweep.add_argument("--jobs", type=_int_arg("--jobs"), metavar="N",
                       help="worker processes (default 1)")
    sweep.add_argument("--seed", type=_int_arg("--seed"), metavar="N",
                       help="base seed: case i uses N + i")
    sweep.add_argument("--json", action="store_true",
                       help='print {"results": [...], "total_seconds": ...}')
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


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


def count_from_arguments(argv: Sequence[str]) -> Any:
    """Run ``conslaws count ...`` given as an argument list; return the CountResult.

    Used by sweeps, whose cases are argument lists.  Usage errors raise
    :class:`~conslaws.core.errors.InvalidOptionError` instead of exiting.
    """
    from conslaws.core.api import count

    try:
        args = build_parser().parse_args(list(argv))
    except SystemExit:
        raise InvalidOptionError(f"bad arguments: {' '.join(argv)}") from None
    return count(args.architecture, backend=args.backend, seed=args.seed, point=args.point,
                 mode=args.mode, modulus=args.modulus, tolerance=args.tolerance,
                 certify_degree=args.certify_degree, flow=args.flow, engine=args.engine,
                 flow_options=_flow_options(args), **_architecture_options(args))


def _sweep(args: argparse.Namespace) -> tuple[str, int]:
    from conslaws.core.sweep import load_cases, run_sweep

    cases = load_cases(args.file)
    progress = not (args.json or args.no_progress) and sys.stderr.isatty()
    if args.jobs is not None and args.jobs < 1:
        raise InvalidOptionError(f"--jobs must be at least 1, got {args.jobs}")
    if args.jobs and args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            report = run_sweep(cases, backend=args.backend, seed=args.seed, executor=pool,
                               progress=progress)
    else:
        report = run_sweep(cases, backend=args.backend, seed=args.seed, progress=progress)
    text = report.to_json() if args.json else str(report)
    return text, 0 if report.all_match else 1


def _simulate(args: argparse.Namespace) -> str:
    from conslaws.core.simulate import simulate

    progress = not (args.json or args.no_progress) and sys.stderr.isatty()
    result = simulate(args.architecture, optimizer=args.optimizer, steps=args.steps,
                      lrs=args.lr, tau=args.tau, samples=args.samples, batch=args.batch,
                      fixed_time=args.fixed_time, seed=args.seed, plot=args.plot,
                      progress=progress, **_architecture_options(args))
    if args.json:
        return result.to_json()
    text = str(result)
    return text + (f"\n  plot written to {args.plot}" if args.plot else "")


def _run(args: argparse.Namespace) -> str:
    from conslaws.core.api import count, find_laws

    progress = not (args.json or args.no_progress) and sys.stderr.isatty()
    common = dict(backend=args.backend, seed=args.seed, point=args.point, mode=args.mode,
                  modulus=args.modulus, progress=progress, flow=args.flow,
                  flow_options=_flow_options(args))
    options = _architecture_options(args)
    result: Any
    if args.command == "count":
        result = count(args.architecture, certify_degree=args.certify_degree,
                       tolerance=args.tolerance, engine=args.engine, **common, **options)
    else:
        if args.tolerance is not None:
            raise ConslawsError("--tolerance applies to counts only")
        result = find_laws(args.architecture, args.degree, **common, **options)
    if args.json:
        return str(result.to_json())
    if args.latex:
        return str(result.to_latex())
    return str(result)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status (0, or 2 on bad input)."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command == "list":
            print(_list())
            return 0
        status = 0
        if args.command == "sweep":
            output, status = _sweep(args)
        elif args.command == "simulate":
            output = _simulate(args)
        else:
            output = _run(args)
    except ConslawsError as error:
        print(f"conslaws: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("conslaws: interrupted", file=sys.stderr)
        return 130
    print(output)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
