"""Executing a planned sweep: who launches each child, and what happens to each record.

Iterations go to one of three places, and only *who launches the child* changes between
them, never what a record is: this thread (``max_workers=1``), a local thread pool (each
thread waits on its own child process), or any ``concurrent.futures.Executor`` the user
passes (Dask, loky, ``mpi4py.futures``), which receives the top-level function
:func:`~py3r_script.launcher.run_iteration` and one picklable task per iteration. Records
are committed to the study store the moment they arrive, in completion order, and kept in
plan order in the results.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any, Union

from .launcher import IterationTask, allow_launches, cancel_running, run_iteration
from .records import IterationRecord
from .results import ScriptResults
from .store import Study

__all__ = ["SweepInterrupted", "execute"]

Item = Union[IterationTask, IterationRecord]
Launch = Callable[[IterationTask], IterationRecord]


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a sweep. ``results`` holds every iteration that had finished.

    It is a ``KeyboardInterrupt``, so a script still stops; in a notebook, get the partial
    results with ``sys.last_value.results`` or ``except KeyboardInterrupt as exc: exc.results``.

    >>> try:  # doctest: +SKIP
    ...     sr = sensitivity("pipeline.py", {"window": [3, 5, 7]}, store="study.db")
    ... except KeyboardInterrupt as stop:
    ...     sr = stop.results  # the iterations that finished (also in study.db)
    """

    def __init__(self, results: ScriptResults) -> None:
        super().__init__(
            f"sweep interrupted: {len(results.records)} finished iteration(s) kept in "
            ".results (and in the store, if any); running children were killed"
        )
        self.results = results

    def __reduce__(self) -> tuple[type[SweepInterrupted], tuple[ScriptResults]]:
        return (SweepInterrupted, (self.results,))


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
    """Run every task in ``items`` (records are reused as they are) and fill ``results``."""
    slots: list[IterationRecord | None] = [None] * len(items)
    pending = [(i, item) for i, item in enumerate(items) if isinstance(item, IterationTask)]
    bar = _Progress(len(items), enabled=progress)
    for index, item in enumerate(items):
        if isinstance(item, IterationRecord):
            slots[index] = item
            if study is not None and sweep_id is not None:
                study.add_reused(item.iteration_id, sweep_id=sweep_id, plan_index=index)
            bar.update(item)

    def finished(index: int, record: IterationRecord) -> None:
        slots[index] = record
        if study is not None and sweep_id is not None:  # as stored: with its sequence numbers
            slots[index] = study.add(record, sweep_id=sweep_id, plan_index=index)
        bar.update(record)

    status = "interrupted"
    allow_launches()
    try:
        with _termination_as_interrupt():
            if executor is None and max_workers == 1:
                for index, task in pending:
                    finished(index, launch(task))
            else:
                _run_concurrently(pending, finished, launch, executor, max_workers)
        status = "finished"
    except KeyboardInterrupt:
        cancel_running()
        _fill(results, slots)
        raise SweepInterrupted(results) from None
    finally:
        bar.close()
        if study is not None and sweep_id is not None:
            study.finish_sweep(sweep_id, status)
    _fill(results, slots)
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
    finished: Callable[[int, IterationRecord], None],
    launch: Launch,
    executor: Executor | None,
    max_workers: int,
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
        for future in as_completed(futures):
            index, task = futures[future]
            finished(index, _record_of(future, task))
    except BaseException:
        for future in futures:
            future.cancel()
        cancel_running()
        raise
    finally:
        if executor is None:
            pool.shutdown(wait=True, cancel_futures=True)


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
        try:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, unit="it", desc="sweep", dynamic_ncols=True)
        except ImportError:  # a notebook without ipywidgets: fall back to the text bar
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="it", desc="sweep", dynamic_ncols=True)

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
