"""Run options: how to run a plan (outputs, store, workers, warm starts...) and their checks.

The planner checks *what* to run; this module checks *how*, before anything starts.
"""

from __future__ import annotations

import difflib
import os
import shutil
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Union

from ..designs.inspection import ScriptInfo
from ..errors import ParameterError, ParameterTypeError

__all__ = ["RunOptions", "check_options", "resolve_outputs", "resolve_python", "workdir_root"]

StorePath = Union[str, "os.PathLike[str]", None]


@dataclass(frozen=True)
class RunOptions:
    """How to run a plan; shared by ``run``, ``sensitivity`` and the command line."""

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
    argv: Sequence[str] | None = ()
    python: str | None = None


def workdir_root(options: RunOptions) -> str | None:
    if options.workdir is None or options.workdir is False:
        return None
    if options.workdir is True:
        if options.store is None:
            raise ParameterError(
                "workdir=True puts iteration folders under the study, so it needs store=...; "
                "or pass workdir='some/folder'"
            )
        return os.path.abspath(f"{options.store}-calc")
    return os.path.abspath(options.workdir)


def resolve_python(python: str | None) -> str | None:
    """The interpreter to run children with: ``python`` (a path or a command) made absolute.

    ``None`` stays ``None``: each machine that launches children uses the Python it runs
    (the driver's own, a Dask worker's own), which need not live at the driver's path.
    """
    if python is None:
        return None
    found = shutil.which(python) if isinstance(python, str) else None
    if found is None:
        raise ParameterError(
            f"python={python!r} is not an executable Python interpreter; give the path of "
            "one (e.g. /path/to/venv/bin/python) or a command on PATH")
    return os.path.abspath(found)


def check_options(options: RunOptions) -> int:
    """Validate the options that the planner does not see; returns the worker count."""
    timeout = options.timeout
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not timeout > 0):
        raise ParameterError(f"timeout must be a positive number of seconds, got {timeout!r}")
    workers = options.max_workers
    if workers == "auto":
        workers = _cpu_count()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"max_workers must be a positive int or 'auto', got {workers!r}")
    if options.executor is not None and options.max_workers != 1:
        raise ParameterError(
            "pass either max_workers (local processes) or executor (its own workers), not both"
        )
    if options.executor is not None and not hasattr(options.executor, "submit"):
        raise ParameterTypeError(
            f"executor must be a concurrent.futures.Executor, got {type(options.executor).__name__}"
        )
    if isinstance(options.capture_limit, bool) or not isinstance(options.capture_limit, int) \
            or options.capture_limit < 0:
        raise ParameterError(
            f"capture_limit must be a non-negative int, got {options.capture_limit!r}")
    if options.warm and options.executor is not None:
        raise ParameterError(
            "warm=True forks iterations on this machine; it does not combine with executor= "
            "(use max_workers=N for local parallel warm starts)"
        )
    if options.preload is not None and (isinstance(options.preload, str) or not all(
            isinstance(m, str) for m in options.preload)):
        raise ParameterTypeError(f"preload must be a list of module names, got {options.preload!r}")
    env = options.env or {}
    if not isinstance(env, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise ParameterTypeError(f"env must be a dict of str to str, got {options.env!r}")
    argv = options.argv or ()
    if isinstance(argv, str) or not all(isinstance(a, str) for a in argv):
        raise ParameterTypeError(
            f"argv must be a list of str (the script's sys.argv[1:]), got {options.argv!r}")
    resolve_python(options.python)
    if options.label is not None and not isinstance(options.label, str):
        raise ParameterTypeError(f"label must be a str, got {options.label!r}")
    store = options.store
    if store is not None and (isinstance(store, bool) or not isinstance(store, (str, os.PathLike))):
        raise ParameterTypeError(
            f"store= takes the path of a study database file, e.g. store='study.db', "
            f"not {type(store).__name__} {store!r}")
    if (options.backup or options.rerun) and options.store is None:
        flag = "backup" if options.backup else "rerun"
        raise ParameterError(f"{flag}=True needs store=... (a study database)")
    return workers


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def resolve_outputs(
    info: ScriptInfo, outputs: Sequence[str] | None, stop_after_outputs: bool
) -> tuple[str, ...] | None:
    """The outputs to capture, checked against the script's declarations."""
    if not isinstance(stop_after_outputs, bool):
        raise ParameterTypeError(
            f"stop_after_outputs must be True or False, got {stop_after_outputs!r}")
    if outputs is None:
        if not stop_after_outputs:
            return None
        if not info.outputs:
            raise ParameterError(
                f"stop_after_outputs=True stops after the last requested output, but "
                f"{info.path} declares no Output(...) and outputs= is not given"
            )
        return tuple(info.output_names)
    if isinstance(outputs, str) or not isinstance(outputs, Sequence):
        raise ParameterTypeError(
            f"outputs must be a list of output names, e.g. outputs=[{outputs!r}], "
            f"got {type(outputs).__name__}"
        )
    if not outputs:
        raise ParameterError("outputs is an empty list: name at least one, or pass None for all")
    names: dict[str, None] = {}
    for name in outputs:
        if not isinstance(name, str):
            raise ParameterTypeError(f"output names must be str, got {name!r}")
        if name not in info.output_names and not info.dynamic_outputs:
            close = difflib.get_close_matches(name, info.output_names, n=1)
            suggestion = f" Did you mean {close[0]!r}?" if close else ""
            declared = ", ".join(info.output_names) or "none"
            raise ParameterError(
                f"unknown output {name!r} for {info.path}.{suggestion} The script declares: "
                f"{declared}."
            )
        names[name] = None
    return tuple(names)
