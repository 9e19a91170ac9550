"""Job arrays without a live driver: prepare a sweep, run its shares as tasks, collect.

For clusters where no long-running driver is allowed (or it may die with the login node)::

    sweep(..., store="s.db", prepare=True)      the plan, every iteration pending, in s.db
    py3r-script work s.db --task I --of N       task I's share; records to s.db-inbox/ only
    py3r-script collect s.db                    the inbox into s.db (any opening does too)

A task's share is fixed by the plan (every N-th pending item from the I-th), so a task
killed midway and run again redoes only what it had not finished: what is in the study
or the inbox already is skipped. Tasks never write the SQLite file.
"""

from __future__ import annotations

import math
import os
import shlex
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import OptionError
from ..paramset import ParamSet
from ..store import inbox, pending
from ..store.study import Study
from .chunks import WarmStart, run_chunk
from .task import IterationTask

__all__ = ["PreparedSweep", "batch_script", "collect", "prepare_items", "task_fields",
           "work", "work_share"]

_ARRAY_ENV = ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT")


@dataclass(frozen=True)
class PreparedSweep:
    """A sweep planned into its study for job-array tasks; ``str()`` says how to run it.

    >>> print(sweep("p.py", {"x": [1, 2]}, store="s.db", prepare=True))  # doctest: +SKIP
    """

    store: str
    sweep_id: str
    n_pending: int
    n_reused: int
    tasks: int

    def __str__(self) -> str:
        db = shlex.quote(self.store)
        return (
            f"prepared sweep {self.sweep_id[:8]} in {self.store}: {self.n_pending} iteration(s) "
            f"pending, {self.n_reused} reused. Run them as {self.tasks} task(s), each:\n"
            f"  py3r-script work {db} --task I --of {self.tasks}    (I = 0 .. {self.tasks - 1};"
            " in a SLURM job array, --task and --of come from SLURM_ARRAY_TASK_ID/COUNT)\n"
            f"or write a SLURM job-array script to read, edit and sbatch:\n"
            f"  py3r-script batch {db} --slurm --tasks {self.tasks} > sweep.sbatch\n"
            f"then ingest what finished (and see how far it got):\n"
            f"  py3r-script collect {db}")


def task_fields(task: IterationTask) -> dict[str, Any]:
    """A task as plain JSON values (what ``pending_items`` stores).

    >>> task_fields(IterationTask("/a.py", ParamSet({"x": 1})))["params"]
    [['x', 1]]
    """
    fields = asdict(task)
    fields["params"] = [[name, value] for name, value in task.params.items()]
    for name in ("stop_file", "driver", "inbox"):  # the driver's, or the worker's to set
        fields.pop(name, None)
    return fields


def _task(fields: dict[str, Any]) -> IterationTask:
    values = dict(fields)
    values["params"] = ParamSet({name: value for name, value in values["params"]})
    for name in ("outputs", "inject"):
        if values.get(name) is not None:
            values[name] = tuple(values[name])
    values["argv"] = tuple(values.get("argv") or ())
    values["env"] = tuple(tuple(pair) for pair in values.get("env") or ())
    return IterationTask(**values)


def prepare_items(study: Study, sweep_id: str, tasks: list[IterationTask], n_reused: int,
                  chunk_size: int | None) -> PreparedSweep:
    """Store ``tasks`` as the sweep's pending iterations (the driver's side of ``prepare``).

    >>> prepare_items(study, sweep_id, tasks, 0, None).n_pending  # doctest: +SKIP
    12
    """
    pending.add_pending(study.path, sweep_id, [
        (task.index, task.iteration_id, task_fields(task)) for task in tasks])
    os.makedirs(inbox.inbox_dir(study.path), exist_ok=True)
    count = max(1, math.ceil(len(tasks) / chunk_size)) if chunk_size else min(len(tasks), 10)
    return PreparedSweep(str(study.path), sweep_id, len(tasks), n_reused, max(count, 1))


def work_share(task: int | None, of: int | None) -> tuple[int, int]:
    """Which share to run: ``task`` of ``of``, else SLURM's array task id and count.

    >>> work_share(2, 4)
    (2, 4)
    """
    if task is None or of is None:
        given = [os.environ.get(name) for name in _ARRAY_ENV]
        if None in given or "" in given:
            raise OptionError(
                "say which share to run: --task I --of N (or run as a SLURM array task, which "
                f"sets {' and '.join(_ARRAY_ENV)})", "task")
        task = int(given[0]) if task is None else task  # type: ignore[arg-type]
        of = int(given[1]) if of is None else of  # type: ignore[arg-type]
    if of < 1 or not 0 <= task < of:
        raise OptionError(f"--task must be in 0..{of - 1} for --of {of}, got {task}", "task")
    return task, of


def work(store: str | os.PathLike[str], task: int | None = None, of: int | None = None, *,
         warm: bool = False, preload: list[str] | None = None) -> list[Any]:
    """Run this task's share of the study's pending iterations; records go to the inbox.

    Returns the records it ran (none when everything in its share is done already).

    Examples
    --------
    >>> records = work("s.db", 0, 4, warm=True)  # doctest: +SKIP
    """
    from ..designs.inspection import inspect_script
    from .warm import sweep_preload

    task, of = work_share(task, of)
    path = Path(store)
    if not path.is_file():
        raise OptionError(f"no study at {path}: prepare one with sweep(..., prepare=True) or "
                          "py3r-script sweep ... --prepare", "store")
    folder = inbox.inbox_dir(path)
    try:  # a merged or copied study may have none yet; without it, records would be lost
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise OptionError(f"cannot make the study's inbox {folder} ({exc}): work writes its "
                          "records there; make it writable for this task", "store") from None
    waiting = inbox.records_waiting(folder)
    items = pending.pending_items(path)
    mine = [item for n, item in enumerate(items) if n % of == task]
    todo = [_task(item.task) for item in mine
            if not item.done and item.iteration_id not in waiting]
    if not todo:
        return []
    start = None
    if warm:
        names, strict = sweep_preload(inspect_script(todo[0].script).imports, preload)
        start = WarmStart(tuple(names), todo[0].python, strict)
    return run_chunk(todo, start, folder, (task, of))


def collect(store: str | os.PathLike[str]) -> list[pending.SweepProgress]:
    """Ingest the inbox into the study (the one writer) and mark finished the prepared
    sweeps with nothing left pending; returns each prepared sweep's progress.

    >>> [p.done for p in collect("s.db")]  # doctest: +SKIP
    [12]
    """
    with Study(store) as study:  # opening it ingests the inbox
        progress = pending.sweep_progress(study.path)
        for sweep in progress:
            if sweep.status == "prepared" and sweep.pending == sweep.running == 0:
                study.finish_sweep(sweep.sweep_id, "finished")
    return pending.sweep_progress(Path(store))


def batch_script(store: str | os.PathLike[str], tasks: int, *, warm: bool = False,
                 resources: dict[str, str] | None = None) -> str:
    """An sbatch job-array script running ``tasks`` shares of the study's pending work.

    >>> print(batch_script("s.db", 4, resources={"time": "01:00:00"}))  # doctest: +SKIP
    """
    if tasks < 1:
        raise OptionError(f"--tasks must be at least 1, got {tasks}", "tasks")
    if not os.path.isfile(store):
        raise OptionError(f"no study at {store}: prepare one first with "
                          "py3r-script sweep ... --store DB --prepare", "store")
    db = shlex.quote(os.path.abspath(store))
    lines = ["#!/bin/bash", "#SBATCH --job-name=py3r-script", f"#SBATCH --array=0-{tasks - 1}"]
    lines += [f"#SBATCH --{name}={value}" for name, value in (resources or {}).items()]
    lines += [f"#SBATCH --chdir={shlex.quote(os.getcwd())}", "",
              "# each array task runs its share; records go to the study's inbox only",
              f"{shlex.quote(sys.executable)} -m py3r_script work {db} "
              f"--task \"$SLURM_ARRAY_TASK_ID\" --of {tasks}{' --warm' if warm else ''}",
              "", f"# once they are done (or any time): py3r-script collect {db}", ""]
    return "\n".join(lines)
