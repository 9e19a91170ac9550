"""Run options: how to run a plan (outputs, store, workers, warm starts...), each rule once.

``run``, ``sensitivity``, ``sweep``, the command line and sweep files all build one frozen
:class:`RunOptions` with :func:`run_options`, which checks every option before anything
starts, and hand it whole to :func:`~py3r_script.running.execute.execute_plan`. The planner
checks *what* to run; this module checks *how*. Adding an option means: a field and its
check here, the keyword in the public signatures, a flag and a sweep-file key.
"""

from __future__ import annotations

import difflib
import os
import shutil
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, fields
from typing import Any, Callable, Union

from ..designs.inspection import ScriptInfo
from ..errors import OptionError, ParameterError, ParameterTypeError

__all__ = ["RunOptions", "check_option", "resolve_outputs", "resolve_python", "run_options",
           "worker_count", "workdir_root"]

StorePath = Union[str, "os.PathLike[str]", None]
NEEDS_STORE = ("backup", "rerun", "workdir")  # options that work with a study


@dataclass(frozen=True)
class RunOptions:
    """How to run a plan; the same for every front end, built and checked by :func:`run_options`."""

    outputs: Sequence[str] | None = None
    stop_after_outputs: bool = False
    timeout: float | None = None
    store: StorePath = None
    rerun: bool = False
    dry_run: bool = False
    backup: bool = False
    workdir: bool | str | os.PathLike[str] | None = None
    max_workers: int | str = 1
    executor: Executor | None = None
    progress: bool | None = None
    capture_limit: int = 20_000
    warm: bool = False
    preload: Sequence[str] | None = None
    label: str | None = None
    env: Mapping[str, str] | None = None
    argv: Sequence[str] | None = None
    python: str | None = None
    chunk_size: int | None = None
    prepare: bool = False


def run_options(**options: Any) -> RunOptions:
    """Check run options (the keywords of :class:`RunOptions`) and return them as one value.

    Each option is checked alone (:func:`check_option`), then with the others: ``executor``
    does not take ``max_workers``, ``chunk_size`` needs an ``executor``, and ``backup``,
    ``rerun`` and ``workdir=True`` need a ``store`` (an
    :class:`~py3r_script.errors.OptionError` whose ``needs`` is ``"store"``).

    Examples
    --------
    >>> run_options(timeout=60, max_workers="auto").timeout
    60
    >>> run_options(rerun=True)
    Traceback (most recent call last):
    ...
    py3r_script.errors.OptionError: rerun=True needs store=... (a study database)
    """
    unknown = sorted(set(options) - {f.name for f in fields(RunOptions)})
    if unknown:
        raise TypeError(f"unknown run option(s): {', '.join(unknown)}")
    for name, value in options.items():
        check_option(name, value)
    checked = RunOptions(**options)
    _check_together(checked)
    return checked


def check_option(name: str, value: Any) -> None:
    """Check one run option alone (a sweep file checks each key as it reads it).

    >>> check_option("capture_limit", -1)
    Traceback (most recent call last):
    ...
    py3r_script.errors.OptionError: capture_limit must be a non-negative int, got -1
    """
    check = _CHECKS.get(name)
    if check is not None:
        check(value)


def resolve_python(python: str | None) -> str | None:
    """The interpreter to run children with: ``python`` (a path or a command) made absolute.

    ``None`` stays ``None``: each machine that launches children uses the Python it runs
    (the driver's own, a Dask worker's own), which need not live at the driver's path.

    >>> resolve_python(None) is None
    True
    """
    if python is None:
        return None
    found = shutil.which(python) if isinstance(python, str) else None
    if found is None:
        raise OptionError(
            f"python={python!r} is not an executable Python interpreter; give the path of "
            "one (e.g. /path/to/venv/bin/python) or a command on PATH", "python")
    return os.path.abspath(found)


def _check_outputs(outputs: Any) -> None:
    if outputs is None:
        return
    if isinstance(outputs, str) or not isinstance(outputs, Sequence):
        raise ParameterTypeError(
            f"outputs must be a list of output names, e.g. outputs=[{outputs!r}], "
            f"got {type(outputs).__name__}"
        )
    if not outputs:
        raise ParameterError("outputs is an empty list: name at least one, or pass None for all")
    for name in outputs:
        if not isinstance(name, str):
            raise ParameterTypeError(f"output names must be str, got {name!r}")


def _check_stop_after_outputs(stop: Any) -> None:
    if not isinstance(stop, bool):
        raise ParameterTypeError(f"stop_after_outputs must be True or False, got {stop!r}")


def _check_timeout(timeout: Any) -> None:
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not timeout > 0):
        raise OptionError(f"timeout must be a positive number of seconds, got {timeout!r}",
                          "timeout")


def _check_store(store: Any) -> None:
    if store is not None and (isinstance(store, bool) or not isinstance(store, (str, os.PathLike))):
        raise ParameterTypeError(
            f"store= takes the path of a study database file, e.g. store='study.db', "
            f"not {type(store).__name__} {store!r}")


def _check_max_workers(workers: Any) -> None:
    if workers != "auto" and (isinstance(workers, bool) or not isinstance(workers, int)
                              or workers < 1):
        raise OptionError(f"max_workers must be a positive int or 'auto', got {workers!r}",
                          "max_workers")


def _check_executor(executor: Any) -> None:
    if executor is not None and not hasattr(executor, "submit"):
        raise ParameterTypeError(
            f"executor must be a concurrent.futures.Executor, got {type(executor).__name__}")


def _check_prepare(prepare: Any) -> None:
    if not isinstance(prepare, bool):
        raise ParameterTypeError(f"prepare must be True or False, got {prepare!r}")


def _check_chunk_size(size: Any) -> None:
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise OptionError(f"chunk_size must be a positive int (iterations per submitted job), "
                          f"got {size!r}", "chunk_size")


def _check_capture_limit(limit: Any) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise OptionError(f"capture_limit must be a non-negative int, got {limit!r}",
                          "capture_limit")


def _check_preload(preload: Any) -> None:
    if preload is not None and (isinstance(preload, str) or not all(
            isinstance(m, str) for m in preload)):
        raise ParameterTypeError(f"preload must be a list of module names, got {preload!r}")


def _check_label(label: Any) -> None:
    if label is not None and not isinstance(label, str):
        raise ParameterTypeError(f"label must be a str, got {label!r}")


def _check_env(env: Any) -> None:
    if not isinstance(env or {}, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in (env or {}).items()):
        raise ParameterTypeError(f"env must be a dict of str to str, got {env!r}")


def _check_argv(argv: Any) -> None:
    if isinstance(argv, str) or not all(isinstance(a, str) for a in argv or ()):
        raise ParameterTypeError(
            f"argv must be a list of str (the script's sys.argv[1:]), got {argv!r}")


_CHECKS: dict[str, Callable[[Any], object]] = {
    "outputs": _check_outputs,
    "stop_after_outputs": _check_stop_after_outputs,
    "timeout": _check_timeout,
    "store": _check_store,
    "max_workers": _check_max_workers,
    "executor": _check_executor,
    "capture_limit": _check_capture_limit,
    "chunk_size": _check_chunk_size,
    "prepare": _check_prepare,
    "preload": _check_preload,
    "label": _check_label,
    "env": _check_env,
    "argv": _check_argv,
    "python": resolve_python,  # an interpreter that is not there is refused now
}


def _check_together(options: RunOptions) -> None:
    """The rules between options."""
    if options.executor is not None and options.max_workers != 1:
        raise OptionError(
            "pass either max_workers (local processes) or executor (its own workers), not both",
            "max_workers")
    if options.prepare and (options.executor is not None or options.dry_run
                            or options.store is None):
        raise OptionError(
            "prepare=True plans the sweep into a study for job-array tasks to run later, so "
            "it needs store=... and takes neither executor= nor dry_run=True", "prepare",
            "store" if options.store is None else None)
    if options.chunk_size is not None and options.executor is None and not options.prepare:
        raise OptionError(
            "chunk_size= is the number of iterations per job submitted to an executor, so it "
            "needs executor=...; without one, use max_workers=N", "chunk_size", "executor")
    if options.store is not None:
        return
    if options.backup or options.rerun:
        flag = "backup" if options.backup else "rerun"
        raise OptionError(f"{flag}=True needs store=... (a study database)", flag, "store")
    if options.workdir is True:
        raise OptionError(
            "workdir=True puts iteration folders under the study, so it needs store=...; "
            "or pass workdir='some/folder'", "workdir", "store")


def workdir_root(options: RunOptions) -> str | None:
    """The folder each iteration's own working directory goes in, or ``None`` for none.

    >>> workdir_root(run_options()) is None
    True
    """
    if options.workdir is None or options.workdir is False:
        return None
    if options.workdir is True:
        return os.path.abspath(f"{options.store}-calc")
    return os.path.abspath(options.workdir)


def worker_count(options: RunOptions) -> int:
    """How many iterations run at once on this machine (``"auto"``: one per core).

    >>> worker_count(run_options(max_workers=3))
    3
    """
    if options.max_workers == "auto":
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:
            return os.cpu_count() or 1
    return int(options.max_workers)


def resolve_outputs(info: ScriptInfo, options: RunOptions) -> tuple[str, ...] | None:
    """The outputs to capture (``None``: all), checked against the script's declarations.

    >>> resolve_outputs(info, run_options(outputs=["summary"]))  # doctest: +SKIP
    ('summary',)
    """
    outputs = options.outputs
    if outputs is None:
        if not options.stop_after_outputs:
            return None
        if not info.outputs:
            raise ParameterError(
                f"stop_after_outputs=True stops after the last requested output, but "
                f"{info.path} declares no Output(...) and outputs= is not given"
            )
        return tuple(info.output_names)
    for name in outputs:
        if name not in info.output_names and not info.dynamic_outputs:
            close = difflib.get_close_matches(name, info.output_names, n=1)
            suggestion = f" Did you mean {close[0]!r}?" if close else ""
            declared = ", ".join(info.output_names) or "none"
            raise ParameterError(
                f"unknown output {name!r} for {info.path}.{suggestion} The script declares: "
                f"{declared}."
            )
    return tuple(dict.fromkeys(outputs))
