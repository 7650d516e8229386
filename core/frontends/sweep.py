"""Sweeps: many counts from a JSON file, optionally in parallel.

The file has the format of the repository's ``benchmarks/data/*.json``:
``{"cases": [{"args": ["relu", "--widths", "3,4,2"], "laws": 4}, ...]}``.
Each case's ``args`` are exactly what follows ``conslaws count`` (strings;
a number stands for its decimal text); ``laws`` is the expected number, used
only to report whether the count matches (the count never sees it).  The
arguments are parsed by the command line's own parser
(:func:`conslaws.core.frontends.cli.count_arguments`) and counted by
:func:`conslaws.core.frontends.api.count`; the sweep's backend and seed (``seed + i``
for case i) replace any a case gives.

A sweep file is data: it is read with a size cap (:data:`MAX_FILE_BYTES`, so
``/dev/zero`` is refused too), must be UTF-8 JSON, and its structure is
checked before any case runs; nothing in it is evaluated.  A case that fails
(a bad argument, or any other error) gets ``"error"`` in its result, does not
match, and the sweep goes on.

Any :class:`concurrent.futures.Executor` can run the cases: a process pool
(``--jobs N``), or a Dask cluster (``dask=ADDRESS``, ``--dask ADDRESS``: one
task per case, through :func:`dask_executor`; needs the ``dask`` extra).
Workers receive and return plain data (argument lists and dicts), because
flint objects do not pickle.

Examples
--------
>>> cases = [{"args": ["relu", "--widths", "2,2,1"], "laws": 2},
...          {"args": ["relu", "--widths", "2,0,1"]}]
>>> report = run_sweep(cases, seed=0)
>>> report.results[0]["matches"], report.results[0]["certified"]
(True, True)
>>> report.results[1]["error"]
'--widths: width 0 must be a positive integer'
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import os
import random
import signal
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conslaws.core.errors import ConslawsError, InvalidOptionError
from conslaws.core.frontends.progress import progress_bar

__all__ = ["DASK_TIMEOUT", "MAX_FILE_BYTES", "SweepReport", "check_cases", "dask_executor",
           "ignore_interrupts", "load_cases", "run_case", "run_sweep", "stop_pool",
           "worker_count"]

#: Largest sweep file read (10 MB: the reference sweeps are a few kB).
MAX_FILE_BYTES = 10_000_000

#: Seconds to wait for a Dask scheduler before its address is refused.
DASK_TIMEOUT = 5.0


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_cases(path: str | Path) -> list[dict[str, Any]]:
    """Read and check a sweep file; raise :class:`InvalidOptionError` naming the problem.

    Examples
    --------
    >>> load_cases("/dev/zero")
    Traceback (most recent call last):
        ...
    conslaws.core.errors.InvalidOptionError: sweep: /dev/zero is larger than 10 MB
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise InvalidOptionError(f"sweep: cannot read {path}: {error.strerror or error}"
                                 ) from None
    if len(data) > MAX_FILE_BYTES:
        raise InvalidOptionError(f"sweep: {path} is larger than {MAX_FILE_BYTES // 10**6} MB")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise InvalidOptionError(
            f"sweep: {path} is not UTF-8 text (byte {data[error.start]:#04x} at offset "
            f"{error.start})") from None
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise InvalidOptionError(
            f"sweep: {path} is not JSON ({error.msg}, line {error.lineno})"
        ) from None
    except ValueError as error:
        raise InvalidOptionError(f"sweep: {path} is not JSON ({error})") from None
    except RecursionError:
        raise InvalidOptionError(f"sweep: {path} is nested too deeply") from None
    if not isinstance(document, dict) or not isinstance(document.get("cases"), list):
        raise InvalidOptionError(f"sweep: {path} has no list 'cases' (expected "
                                 '{"cases": [{"args": [...], "laws": N}, ...]})')
    return check_cases(document["cases"])


def _argument_text(value: Any, i: int, j: int) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    raise InvalidOptionError(f"sweep: case {i}: args[{j}] must be a string or a number, "
                             f"got {_kind(value)}")


def check_cases(cases: Any) -> list[dict[str, Any]]:
    """The cases, checked: each a mapping with non-empty ``args`` and an optional ``laws``.

    Numbers among the ``args`` become their text; other keys are kept.

    Examples
    --------
    >>> check_cases([{"args": ["linear", "--widths", "2,2"], "laws": 1}])
    [{'args': ['linear', '--widths', '2,2'], 'laws': 1}]
    >>> check_cases([{"args": ["linear", "--widths", [2, 2]]}])
    Traceback (most recent call last):
        ...
    conslaws.core.errors.InvalidOptionError: sweep: case 0: args[2] must be a string or ...
    """
    if isinstance(cases, (str, bytes, Mapping)) or not isinstance(cases, Sequence):
        raise InvalidOptionError(f"sweep: 'cases' must be a list, got {_kind(cases)}")
    checked = []
    for i, case in enumerate(cases):
        if not isinstance(case, Mapping):
            raise InvalidOptionError(f"sweep: case {i} must be an object with 'args', "
                                     f"got {_kind(case)}")
        args = case.get("args")
        if not isinstance(args, list) or not args:
            raise InvalidOptionError(f"sweep: case {i} needs 'args', a non-empty list of "
                                     f"strings (got {_kind(args)})")
        laws = case.get("laws")
        if "laws" in case and (isinstance(laws, bool) or not isinstance(laws, int)
                               or laws < 0):
            raise InvalidOptionError(f"sweep: case {i} has a 'laws' that is not a "
                                     f"non-negative integer ({laws!r})")
        checked.append({**case, "args": [_argument_text(a, i, j) for j, a in enumerate(args)]})
    return checked


def run_case(args: Sequence[str], backend: str, seed: int) -> dict[str, Any]:
    """Count ``conslaws count ARGS`` with the API and return its JSON dict (a worker function).

    Raises what the count raises (:class:`~conslaws.core.errors.ConslawsError`
    for bad arguments).
    """
    from conslaws.core.frontends.api import count
    from conslaws.core.frontends.cli import count_arguments

    architecture, keywords = count_arguments(args)
    keywords.update(backend=backend, seed=seed)
    report: dict[str, Any] = count(architecture, **keywords).to_dict()
    return report


def _describe(error: BaseException) -> str:
    """One line for a case's error, in command-line flag names."""
    from conslaws.core.frontends.cli import error_message

    message = error_message(error)
    if isinstance(error, ConslawsError):
        return message
    return f"{type(error).__name__}: {message}" if str(error) else type(error).__name__


def _guarded_case(args: Sequence[str], backend: str, seed: int) -> dict[str, Any]:
    """:func:`run_case`, with any error returned as ``{"error": message}``."""
    try:
        return run_case(args, backend, seed)
    except Exception as error:  # a failing case must not stop the sweep
        return {"error": _describe(error)}


def _outcome(future: Future[dict[str, Any]]) -> dict[str, Any]:
    try:
        return future.result()
    except Exception as error:  # a worker that died, a result that did not pickle, ...
        return {"error": _describe(error)}


@dataclass
class SweepReport:
    """Per-case count fields plus ``expected`` and ``matches``, and the total time."""

    results: list[dict[str, Any]] = field(default_factory=list)
    total_seconds: float = 0.0
    seed: int = 0

    @property
    def all_match(self) -> bool:
        """True when every case ran and every one with an expected count got it, certified."""
        return all("error" not in r and r.get("matches", True) and r.get("certified", False)
                   for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """``{"results": [...], "total_seconds": ...}`` (and the base seed)."""
        return {"results": self.results, "total_seconds": round(self.total_seconds, 6),
                "seed": self.seed}

    def to_json(self, indent: int | None = 2) -> str:
        """The document printed by ``conslaws sweep --json``."""
        return json.dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        lines = [f"{'case':<34} {'D':>5} {'laws':>5} {'expected':>8} {'match':>5} "
                 f"{'certified':>9} {'seconds':>8}"]
        for r in self.results:
            name = " ".join(r["args"])[:34]
            if "error" in r:
                lines.append(f"{name:<34} error: {r['error']}")
                continue
            expected = r.get("expected")
            lines.append(
                f"{name:<34} {r['parameters']:>5} {r['laws']:>5} "
                f"{'' if expected is None else expected:>8} "
                f"{'yes' if r.get('matches', True) else 'NO':>5} "
                f"{'yes' if r['certified'] else 'no':>9} {r['seconds']:>8.3f}"
            )
        ok = sum(1 for r in self.results if r.get("matches") and r.get("certified"))
        failed = sum(1 for r in self.results if "error" in r)
        lines.append(f"{ok} of {len(self.results)} cases match and are certified"
                     + (f", {failed} failed" if failed else "")
                     + f"; total {self.total_seconds:.2f} s (seed {self.seed})")
        return "\n".join(lines)


@contextlib.contextmanager
def dask_executor(address: str, timeout: float | None = None) -> Iterator[Executor]:
    """An executor whose tasks run on the Dask cluster at ``address``; closed on exit.

    Raises :class:`InvalidOptionError` (argument ``dask``) when
    ``dask.distributed`` is not installed, or when no scheduler answers at
    ``address`` within ``timeout`` seconds (default :data:`DASK_TIMEOUT`).

    Examples
    --------
    >>> with dask_executor("tcp://127.0.0.1:1", timeout=0.5) as executor:  # doctest: +SKIP
    ...     pass
    Traceback (most recent call last):
        ...
    conslaws.core.errors.InvalidOptionError: dask: no Dask scheduler at tcp://127.0.0.1:1 ...
    """
    if not isinstance(address, str) or not address.strip():
        raise InvalidOptionError("dask must be a scheduler address such as tcp://host:8786, "
                                 f"got {address!r}", argument="dask")
    try:
        # Imported by name: distributed is an optional extra, absent from most
        # installs (and from the type-checked environment).
        distributed: Any = importlib.import_module("distributed")
    except ImportError:
        raise InvalidOptionError("dask needs dask.distributed, which is not installed: "
                                 "pip install 'conslaws[dask]'", argument="dask") from None
    try:
        # The address is resolved first: a Client built on a malformed one is
        # left half-made, and its finalizer then stalls the exit with a traceback.
        distributed.comm.resolve_address(address)
        client = distributed.Client(address, set_as_default=False,
                                    timeout=DASK_TIMEOUT if timeout is None else timeout)
    except (OSError, ValueError, TypeError) as error:  # unreachable, or not an address
        reason = " ".join(str(error).split()) or type(error).__name__
        raise InvalidOptionError(f"dask: no Dask scheduler at {address} ({reason})",
                                 argument="dask") from None
    try:
        # pure=False: every task runs, none is taken from the cluster's cache.
        yield client.get_executor(pure=False)
    finally:
        client.close()


def _check_backend(backend: Any) -> str:
    from conslaws.core.plugins.registry import backends

    if not isinstance(backend, str):
        # Workers receive plain data: a backend travels by its registry name.
        raise InvalidOptionError(f"backend must be a registry name, got {_kind(backend)}",
                                 argument="backend")
    backends.load(backend)  # UnknownNameError before any case runs
    return backend


def run_sweep(
    cases: Sequence[Mapping[str, Any]],
    *,
    backend: str = "modular",
    seed: int | None = None,
    executor: Executor | None = None,
    progress: bool = False,
    dask: str | None = None,
) -> SweepReport:
    """Count every case; with ``executor`` or ``dask``, in parallel.

    Case i uses seed ``seed + i``, so a sweep is reproducible whatever the
    order in which workers finish.  The cases and the backend are checked
    before any case runs; a case that fails is reported with its error.  If
    the sweep is interrupted (Ctrl-C), the cases not yet started are cancelled.
    ``dask`` is the address of a Dask scheduler (``tcp://host:8786``): each
    case becomes one task on its cluster, and the report is the same as a
    local sweep's.
    """
    start = time.perf_counter()
    checked = check_cases(cases)
    backend = _check_backend(backend)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InvalidOptionError(f"seed must be an integer, got {seed!r}", argument="seed")
    if dask is not None:
        if executor is not None:
            raise InvalidOptionError("dask and executor both choose where cases run; give one",
                                     argument="dask")
        with dask_executor(dask) as cluster:
            report = _sweep_on(checked, backend, seed, cluster, progress)
    else:
        report = _sweep_on(checked, backend, seed, executor, progress)
    report.total_seconds = time.perf_counter() - start
    return report


def _sweep_on(checked: list[dict[str, Any]], backend: str, seed: int | None,
              executor: Executor | None, progress: bool) -> SweepReport:
    """:func:`run_sweep` on checked cases (without the total time)."""
    base = seed if seed is not None else random.SystemRandom().randrange(2**31)
    report = SweepReport(seed=base)
    jobs = [(c["args"], backend, base + i) for i, c in enumerate(checked)]
    futures: list[Future[dict[str, Any]]] = []
    outcomes: Iterator[dict[str, Any]]
    if executor is None:
        outcomes = (_guarded_case(*job) for job in jobs)
    else:
        futures = [executor.submit(_guarded_case, *job) for job in jobs]
        outcomes = (_outcome(f) for f in futures)
    try:
        for case, job, outcome in zip(checked, jobs,
                                      progress_bar(outcomes, "sweep", progress, len(jobs),
                                                   minimum=2), strict=True):
            entry: dict[str, Any] = {"args": list(case["args"])}
            if "error" in outcome:
                entry.update(error=outcome["error"], seed=job[2], matches=False)
                if "laws" in case:
                    entry["expected"] = case["laws"]
            else:
                entry.update(outcome)
                if "laws" in case:
                    entry["expected"] = case["laws"]
                    entry["matches"] = outcome["laws"] == case["laws"]
            report.results.append(entry)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return report


def worker_count(jobs: int, cases: int) -> int:
    """Workers worth starting: ``jobs``, at most one per case and per available CPU.

    Examples
    --------
    >>> worker_count(64, 3) <= 3, worker_count(1, 100)
    (True, 1)
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise InvalidOptionError(f"jobs must be at least 1, got {jobs!r}", argument="jobs")
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(jobs, cases, cpus))


def ignore_interrupts() -> None:
    """Worker initializer: Ctrl-C is the parent's to handle (no traceback from each worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel a pool's pending cases and end its workers now (after Ctrl-C).

    ``shutdown(wait=True)`` would wait for every running case, and a second
    Ctrl-C would then interrupt the wait with a traceback: instead the pending
    futures are cancelled, the workers terminated, and further Ctrl-C ignored
    meanwhile.
    """
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals are not ours to set
        previous = None
    try:
        # The pool has no public way to end its workers before Python 3.14.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
