"""Executing a planned sweep: who launches each child, and what happens to each record.

Iterations go to one of three places, and only *who launches the child* changes between
them, never what a record is: this thread (``max_workers=1``), a local thread pool (each
thread waits on its own child process), or any ``concurrent.futures.Executor`` the user
passes (Dask, loky, ``mpi4py.futures``), which receives the top-level function
:func:`~py3r_script.running.launch.run_iteration` and one picklable task per iteration. Records
are committed to the study store the moment they arrive, in completion order, and kept in
plan order in the results.

A sweep stops early on Ctrl-C, SIGTERM, SIGHUP, or a record the store cannot save: the
running iterations are killed wherever they run (``stopping``), and the error raised carries
every finished iteration. Records are saved by ``saving``, counted by ``progress``'s bar, and
one iteration is launched by ``launch``.
"""

from __future__ import annotations

import contextlib
import itertools
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any

from ..errors import StoreWriteError, SweepInterrupted
from ..records import IterationRecord
from ..results import ScriptResults
from ..store.study import Study
from .children import allow_launches, cancel_running
from .launch import run_iteration
from .outcomes import record_of
from .planned import PlannedItems
from .progress import Progress, interactive
from .saving import Saver, StoreFailed
from .stopping import Finished, Stopper
from .task import IterationTask

__all__ = ["Launch", "Submit", "SweepInterrupted", "execute", "interactive"]

Launch = Callable[[IterationTask], IterationRecord]
"""What runs one task where it is called: :func:`run_iteration`, or its warm variant."""
Submit = Callable[[Sequence[tuple[int, IterationTask]]],
                  dict["Future[IterationRecord]", tuple[int, IterationTask]]]
"""Sends every pending task to the executor, one future per task (``chunks`` groups them)."""


def execute(
    items: PlannedItems,
    results: ScriptResults,
    *,
    study: Study | None = None,
    sweep_id: str | None = None,
    max_workers: int = 1,
    executor: Executor | None = None,
    progress: bool = False,
    launch: Launch = run_iteration,
    submit: Submit | None = None,
) -> ScriptResults:
    """Run every task of ``items`` (its records are reused as they are) and fill ``results``.

    Raises :class:`~py3r_script.errors.SweepInterrupted` (Ctrl-C, SIGTERM, SIGHUP) or
    :class:`~py3r_script.errors.StoreWriteError` (a record could not be saved), both with
    every finished iteration in ``.results``, once the running iterations are stopped.

    Examples
    --------
    >>> execute(tasks, ScriptResults(["w"], ["total"]), max_workers=2)  # doctest: +SKIP
    <ScriptResults: 3 iterations ...>
    """
    slots: list[IterationRecord | None] = [None] * len(items)
    first = next(items.pending(), None)
    stopper = Stopper(sweep_id, None if first is None else first[1],
                      remote=executor is not None)
    # each task is built and prepared (named the driver, the stop file) as it is sent, not
    # all of them up front: a long sweep would hold every one of them
    pending = items.pending()
    saver = Saver(study, sweep_id)
    bar = Progress(len(items), enabled=progress)

    def finished(index: int, record: IterationRecord) -> None:
        slots[index] = record  # kept even if saving it fails below
        slots[index] = saver.add(record, index)  # as stored: with its sequence numbers
        bar.update(record)  # reported done once it is in the study

    status = "interrupted"
    allow_launches()
    try:
        with _termination_as_interrupt():
            for index, record in items.reused.items():
                slots[index] = record
                bar.update(record)
                saver.add_reused(record, index)
            if executor is None and max_workers == 1:
                for index, task in pending:
                    finished(index, launch(stopper.prepare(task)))
            else:
                _run_concurrently(pending, finished, launch, executor, max_workers, stopper,
                                  submit)
        status = "finished"
    except KeyboardInterrupt as interrupt:
        _stopped(results, slots, saver)
        raise SweepInterrupted(results, stopper.summary(), str(interrupt) or None) from None
    except StoreFailed as failure:
        _stopped(results, slots, saver)
        raise StoreWriteError(saver.explain(results), results) from failure.__cause__
    finally:
        bar.close()
    _fill(results, slots)
    try:
        saver.finish(status)
    except StoreFailed as failure:
        raise StoreWriteError(saver.explain(results), results) from failure.__cause__
    return results


def _stopped(results: ScriptResults, slots: Sequence[IterationRecord | None],
             saver: Saver) -> None:
    """A sweep that stops early: kill what runs, keep what finished, mark it interrupted."""
    cancel_running()
    _fill(results, slots)
    saver.finish("interrupted", quietly=True)


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
            results.add(record)


def _run_concurrently(
    pending: Iterator[tuple[int, IterationTask]],
    finished: Finished,
    launch: Launch,
    executor: Executor | None,
    max_workers: int,
    stopper: Stopper,
    submit: Submit | None,
) -> None:
    pool = executor or ThreadPoolExecutor(max_workers, thread_name_prefix="py3r-script")
    futures: dict[Future[IterationRecord], tuple[int, IterationTask]] = {}
    # our own pool gets a few tasks ahead of its workers, not the whole plan at once: a
    # future per planned iteration would weigh on a long sweep's memory
    ahead = 4 * max_workers if executor is None else sys.maxsize
    queue = iter(()) if submit is not None else pending
    try:
        if submit is not None:
            futures.update(submit([(i, stopper.prepare(task)) for i, task in pending]))
        while True:
            for index, task in itertools.islice(queue, max(ahead - len(futures), 0)):
                task = stopper.prepare(task)
                futures[_submitted(pool, launch, task)] = (index, task)
            if not futures:
                break
            for future in as_completed(list(futures)):
                index, task = futures.pop(future)
                finished(index, record_of(future, task))
                if executor is None:
                    break  # one more may go to the pool
    except BaseException:
        stopper.stop(futures, _quietly(finished), local=executor is None)
        raise
    finally:
        if executor is None:
            pool.shutdown(wait=True, cancel_futures=True)


def _submitted(pool: Executor, launch: Launch, task: IterationTask
               ) -> Future[IterationRecord]:
    """``launch(task)`` sent to ``pool``; a failure to send it (an executor already shut
    down, say) is that task's failure, said in its record."""
    try:
        return pool.submit(launch, task)
    except Exception as exc:
        failed: Future[IterationRecord] = Future()
        failed.set_exception(exc)
        return failed


def _quietly(finished: Finished) -> Finished:
    """``finished`` for a sweep being stopped: a record that cannot be saved is still kept
    (the failure to save it is reported already, or about to be)."""
    def keep(index: int, record: IterationRecord) -> None:
        with contextlib.suppress(StoreFailed):
            finished(index, record)

    return keep
