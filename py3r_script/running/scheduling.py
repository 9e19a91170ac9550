"""Executing a planned sweep: who launches each child, and what happens to each record.

Iterations go to one of three places, and only *who launches the child* changes between
them, never what a record is: this thread (``max_workers=1``), a local thread pool (each
thread waits on its own child process), or any ``concurrent.futures.Executor`` the user
passes (Dask, loky, ``mpi4py.futures``), which receives the top-level function
:func:`~py3r_script.running.launch.run_iteration` and one picklable task per iteration. Records
are committed to the study store the moment they arrive, in completion order, and kept in
plan order in the results.

A sweep stops early on Ctrl-C, SIGTERM, SIGHUP, or a record the store cannot save: the
running iterations are killed wherever they run (see :class:`_Stopper`), and the error
raised carries every finished iteration.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ThreadPoolExecutor,
    as_completed,
    wait,
)
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Union

from ..child import boundary, processes
from ..errors import StoreWriteError
from ..records import IterationRecord
from ..results import ScriptResults
from ..store.study import Study
from .launch import IterationTask, allow_launches, cancel_running, run_iteration, stop_file

__all__ = ["SweepInterrupted", "execute"]

Item = Union[IterationTask, IterationRecord]
Launch = Callable[[IterationTask], IterationRecord]
Finished = Callable[[int, IterationRecord], None]

_STOP_WAIT_SECONDS = 2.0  # how long a stopped sweep waits for its iterations to report back
_STORE_RETRY_DELAYS = (1.0, 2.0, 4.0)  # seconds between attempts to save a record


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a sweep. ``results`` holds every iteration that had finished.

    It is a ``KeyboardInterrupt``, so a script still stops; in a notebook, get the partial
    results with ``sys.last_value.results`` or ``except KeyboardInterrupt as exc: exc.results``.
    SIGTERM and SIGHUP stop a sweep the same way. The message says what became of the
    iterations that were running.

    >>> try:  # doctest: +SKIP
    ...     sr = sensitivity("pipeline.py", {"window": [3, 5, 7]}, store="study.db")
    ... except KeyboardInterrupt as stop:
    ...     sr = stop.results  # the iterations that finished (also in study.db)
    """

    def __init__(self, results: ScriptResults, stopped: str = "running children were killed",
                 cause: str | None = None) -> None:
        why = f" ({cause})" if cause else ""
        super().__init__(
            f"sweep interrupted{why}: {len(results.records)} finished iteration(s) kept in "
            f".results (and in the store, if any); {stopped}"
        )
        self.results = results
        self._details = (stopped, cause)

    def __reduce__(self) -> tuple[type[SweepInterrupted], tuple[Any, ...]]:
        return (SweepInterrupted, (self.results, *self._details))


class _StoreFailed(Exception):
    """A record could not be saved: the sweep must stop (internal to ``execute``)."""


def execute(
    items: Sequence[Item],
    results: ScriptResults,
    *,
    study: Study | None = None,
    sweep_id: str | None = None,
    max_workers: int = 1,
    executor: Executor | None = None,
    progress: bool = False,
    launch: Launch = run_iteration,
) -> ScriptResults:
    """Run every task in ``items`` (records are reused as they are) and fill ``results``.

    Raises :class:`SweepInterrupted` (Ctrl-C, SIGTERM, SIGHUP) or
    :class:`~py3r_script.errors.StoreWriteError` (a record could not be saved), both with
    every finished iteration in ``.results``, once the running iterations are stopped.
    """
    slots: list[IterationRecord | None] = [None] * len(items)
    stopper = _Stopper(sweep_id, items, remote=executor is not None)
    pending = [(i, stopper.prepare(item)) for i, item in enumerate(items)
               if isinstance(item, IterationTask)]
    saver = _Saver(study, sweep_id)
    bar = _Progress(len(items), enabled=progress)

    def finished(index: int, record: IterationRecord) -> None:
        slots[index] = record  # kept even if saving it fails below
        bar.update(record)
        slots[index] = saver.add(record, index)  # as stored: with its sequence numbers

    status = "interrupted"
    allow_launches()
    try:
        with _termination_as_interrupt():
            for index, item in enumerate(items):
                if isinstance(item, IterationRecord):
                    slots[index] = item
                    bar.update(item)
                    saver.add_reused(item, index)
            if executor is None and max_workers == 1:
                for index, task in pending:
                    finished(index, launch(task))
            else:
                _run_concurrently(pending, finished, launch, executor, max_workers, stopper)
        status = "finished"
    except KeyboardInterrupt as interrupt:
        cancel_running()
        _fill(results, slots)
        saver.finish("interrupted", quietly=True)
        raise SweepInterrupted(results, stopper.summary(), str(interrupt) or None) from None
    except _StoreFailed as failure:
        cancel_running()
        _fill(results, slots)
        saver.finish("interrupted", quietly=True)
        raise StoreWriteError(saver.explain(results), results) from failure.__cause__
    finally:
        bar.close()
    _fill(results, slots)
    try:
        saver.finish(status)
    except _StoreFailed as failure:
        raise StoreWriteError(saver.explain(results), results) from failure.__cause__
    return results


@contextmanager
def _termination_as_interrupt() -> Iterator[None]:
    """During a sweep, SIGTERM and SIGHUP (a scheduler's time limit, a closed terminal)
    stop it like Ctrl-C: children killed, finished iterations kept."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(number: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"received {signal.Signals(number).name}")

    previous = {}
    for number in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(number) in (signal.SIG_DFL, None):
            previous[number] = signal.signal(number, interrupt)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _fill(results: ScriptResults, slots: Sequence[IterationRecord | None]) -> None:
    for record in slots:
        if record is not None:
            results._add(record)


def _run_concurrently(
    pending: Sequence[tuple[int, IterationTask]],
    finished: Finished,
    launch: Launch,
    executor: Executor | None,
    max_workers: int,
    stopper: _Stopper,
) -> None:
    pool = executor or ThreadPoolExecutor(max_workers, thread_name_prefix="py3r-script")
    futures: dict[Future[IterationRecord], tuple[int, IterationTask]] = {}
    try:
        for index, task in pending:
            try:
                futures[pool.submit(launch, task)] = (index, task)
            except Exception as exc:  # e.g. an executor already shut down: say so per task
                failed: Future[IterationRecord] = Future()
                failed.set_exception(exc)
                futures[failed] = (index, task)
        for future in as_completed(list(futures)):
            index, task = futures.pop(future)
            finished(index, _record_of(future, task))
    except BaseException:
        stopper.stop(futures, finished, local=executor is None)
        raise
    finally:
        if executor is None:
            pool.shutdown(wait=True, cancel_futures=True)


class _Stopper:
    """Stops a sweep's running iterations wherever they run, and says what it could check.

    This process's own children are killed at once (:func:`cancel_running`). Iterations
    sent to an executor run in other processes, maybe on other machines: the driver creates
    the sweep's stop file, which their workers look for while their child runs and before
    starting one (so the sweep's queued iterations start nothing), kills the sweep's
    processes on this machine (found by their environment), and waits a little for the
    iterations to report back. Workers on a machine whose driver has died stop too (the
    task names its driver).
    """

    def __init__(self, sweep_id: str | None, items: Sequence[Item], *, remote: bool) -> None:
        self.sweep_id = sweep_id
        self.remote = remote
        self.driver = processes.identity()
        self.path: str | None = None
        tasks = [item for item in items if isinstance(item, IterationTask)]
        if remote and sweep_id is not None and tasks:
            self.path = stop_file(_shared_folder(tasks[0]), sweep_id)
        self._problem: str | None = None
        self._unconfirmed = 0

    def prepare(self, task: IterationTask) -> IterationTask:
        return replace(task, stop_file=self.path, driver=self.driver)

    def stop(self, futures: dict[Future[IterationRecord], tuple[int, IterationTask]],
             finished: Finished, *, local: bool) -> None:
        """Stop every iteration of ``futures``; keep the records of those that finished."""
        cancel_running()
        if local:
            for future in futures:
                future.cancel()  # our own pool: a queued iteration never starts
        else:
            self._raise_flag()
        tag = boundary.sweep_tag(self.sweep_id) if self.sweep_id and not local else None
        outstanding = dict(futures)
        deadline = time.monotonic() + _STOP_WAIT_SECONDS
        try:
            while True:
                if tag is not None:
                    processes.kill_tagged(tag)
                for future in [f for f in outstanding if f.done()]:
                    index, task = outstanding.pop(future)
                    if future.cancelled():
                        continue
                    record = _record_of(future, task)
                    if record.status != "cancelled":  # it finished in the meantime: keep it
                        with contextlib.suppress(_StoreFailed):
                            finished(index, record)
                if not outstanding or time.monotonic() >= deadline:
                    break
                wait(list(outstanding), timeout=0.1, return_when=FIRST_COMPLETED)
        except KeyboardInterrupt:  # pressed again: stop waiting
            pass
        for future in outstanding:
            future.cancel()
        self._unconfirmed = len(outstanding)
        if self.path is not None:
            if self._unconfirmed:  # a worker elsewhere may see it late: leave it until exit
                atexit.register(self._lower_flag)
            else:
                self._lower_flag()

    def summary(self) -> str:
        """What became of the running iterations, for the interruption's message."""
        if not self.remote:
            return "running children were killed"
        if not self._unconfirmed:
            told = "the iterations running on the executor's workers were stopped"
        else:
            told = (f"{self._unconfirmed} iteration(s) sent to the executor had not reported "
                    f"back after {_STOP_WAIT_SECONDS:g} s; none is left running on this "
                    "machine, and a worker elsewhere stops its iteration when it sees "
                    f"{self.path} (so it needs a filesystem shared with this machine), "
                    "which stays until this Python process exits")
        if self._problem:
            told += f" (the stop file could not be created: {self._problem})"
        return told

    def _raise_flag(self) -> None:
        if self.path is None:
            return
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
            os.close(fd)
        except OSError as exc:
            self._problem = str(exc)

    def _lower_flag(self) -> None:
        if self.path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)


def _shared_folder(task: IterationTask) -> str:
    """A folder the workers see: where iterations run (every worker needs it); else the
    temporary folder, seen by the workers of this machine only."""
    folder = os.path.dirname(task.workdir) if task.workdir else (task.cwd or os.getcwd())
    if task.workdir:  # the workers create it anyway, with their iteration folders
        with contextlib.suppress(OSError):
            os.makedirs(folder, exist_ok=True)
    if os.path.isdir(folder) and os.access(folder, os.W_OK):
        return folder
    return tempfile.gettempdir()


class _Saver:
    """Saves records to the study as they arrive, retrying a write that fails.

    When a write still fails, it raises :class:`_StoreFailed` once (the sweep stops), and
    from then on only counts the records it could not save.
    """

    def __init__(self, study: Study | None, sweep_id: str | None) -> None:
        self.study = study if sweep_id is not None else None
        self.sweep_id = sweep_id or ""
        self.failure: tuple[str, Exception] | None = None
        self.unsaved = 0

    def add(self, record: IterationRecord, index: int) -> IterationRecord:
        """Save ``record``; return it as stored (with its sequence numbers in the study)."""
        if self.study is None:
            return record
        study = self.study
        stored = self._save(f"iteration #{index}", lambda: study.add(
            record, sweep_id=self.sweep_id, plan_index=index), record=True)
        return stored if isinstance(stored, IterationRecord) else record

    def add_reused(self, record: IterationRecord, index: int) -> None:
        if self.study is not None:
            study = self.study
            self._save(f"the reuse of iteration #{index}", lambda: study.add_reused(
                record.iteration_id, sweep_id=self.sweep_id, plan_index=index))

    def finish(self, status: str, *, quietly: bool = False) -> None:
        """Mark the sweep ``status``; ``quietly``: a failure is already being reported."""
        if self.study is None or (quietly and self.failure is not None):
            return
        study = self.study
        try:
            self._save(f"the sweep's end ({status})",
                       lambda: study.finish_sweep(self.sweep_id, status))
        except _StoreFailed:
            if not quietly:
                raise

    def _save(self, what: str, action: Callable[[], object], *, record: bool = False) -> object:
        if self.failure is not None:
            self.unsaved += record
            return None
        try:
            return _retried(action)
        except Exception as exc:
            self.failure = (what, exc)
            self.unsaved += record
            raise _StoreFailed(what) from exc

    def explain(self, results: ScriptResults) -> str:
        assert self.failure is not None and self.study is not None
        what, exc = self.failure
        cause = f"{type(exc).__name__}: {exc}"
        if "locked" in str(exc):
            advice = ("Another process kept the study locked (a long write, or a program "
                      "holding it open in a transaction): let it finish, then run the same "
                      "sweep again; the saved iterations are reused.")
        elif "full" in str(exc) or getattr(exc, "errno", None) == 28:
            advice = ("The disk is full: free some space, then run the same sweep again; "
                      "the saved iterations are reused.")
        else:
            advice = ("Fix the cause, then run the same sweep again; the saved iterations are "
                      "reused.")
        return (
            f"could not save {what} to the study {self.study.path}: {cause} (tried "
            f"{len(_STORE_RETRY_DELAYS) + 1} times over {sum(_STORE_RETRY_DELAYS):g} s). The "
            f"sweep was stopped and its running iterations killed; the "
            f"{len(results.records)} iteration(s) that finished are in this error's .results, "
            f"{self.unsaved} of them not saved in the study. {advice}"
        )


def _retried(action: Callable[[], object]) -> object:
    """``action()``, tried again after a pause while the database is busy or the disk fails."""
    for delay in (*_STORE_RETRY_DELAYS, None):
        try:
            return action()
        except (sqlite3.OperationalError, OSError):
            if delay is None:
                raise
            time.sleep(delay)
    raise AssertionError("unreachable")


def _record_of(future: Future[IterationRecord], task: IterationTask) -> IterationRecord:
    """The future's record, or a ``crashed`` record saying why the executor gave none."""
    try:
        return future.result()
    except Exception as exc:
        now = time.time()
        return IterationRecord(
            params=task.params, status="crashed", index=task.index,
            iteration_id=task.iteration_id, sweep_id=task.sweep_id, label=task.label,
            script=task.script,
            script_sha256=task.script_sha256, requested_outputs=task.outputs,
            workdir=task.workdir, started=now, finished=now,
            error=f"the executor could not run this iteration: {type(exc).__name__}: {exc}",
            error_type=type(exc).__name__,
        )


def interactive() -> bool:
    """Whether a progress bar should show by default: a terminal or a notebook, not CI."""
    if os.environ.get("CI"):
        return False
    if "ipykernel" in sys.modules:
        return True
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


class _Progress:
    """A tqdm bar with done/total, failures and ETA, or nothing."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self._bar: Any = None
        self._failed = 0
        if not enabled:
            return
        options: dict[str, Any] = dict(total=total, unit="it", desc="sweep", dynamic_ncols=True)
        if _terminal_columns() == 0:
            # a terminal that reports no size (a pty nobody sized, as under `script` or some
            # CI runners) hides tqdm's bar altogether: give it the usual 80x24
            options.update(dynamic_ncols=False, ncols=80, nrows=24)
        try:
            from tqdm.auto import tqdm

            self._bar = tqdm(**options)
        except ImportError:  # a notebook without ipywidgets: fall back to the text bar
            from tqdm import tqdm

            self._bar = tqdm(**options)

    def update(self, record: IterationRecord) -> None:
        if self._bar is None:
            return
        if not record.ok:
            self._failed += 1
            self._bar.set_postfix(failed=self._failed, refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _terminal_columns() -> int | None:
    """The width of the terminal on stderr (0: one that reports none), ``None`` off one."""
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None
