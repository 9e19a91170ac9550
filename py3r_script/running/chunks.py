"""Chunks: several iterations per submitted job, run one after another inside the job.

:func:`run_chunk` is what an executor receives: a top-level function of plain, picklable
arguments (a tuple of :class:`~py3r_script.running.task.IterationTask`, how to start warm,
the study's inbox folder). On the worker, when asked (``warm``), it leases a zygote from
that process's warm pool (:func:`~py3r_script.warm_pool`: on a long-lived worker, a Dask
worker or a ``ProcessPoolExecutor``'s, the next chunk of the script forks from the zygote
the last one left, with the preloads it learned), runs each iteration as
:func:`~py3r_script.running.launch.run_iteration` does, and writes each record to the
inbox (when the worker sees it) *before* going on, so a driver that dies loses nothing
that finished.

:class:`ChunkSubmitter` submits the chunks and gives the scheduler one future per
iteration, completed by whichever comes first: the record in the inbox (polled by the
driver, so progress and commits follow each iteration, not each chunk), or the chunk's
own result travelling back through the executor.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..records import IterationRecord
from ..store import inbox
from .engines import SubmititExecutor
from .launch import run_iteration
from .task import IterationTask

if TYPE_CHECKING:
    from .scheduling import Launch

__all__ = ["ChunkSubmitter", "WarmStart", "run_chunk", "split"]

_INBOX_POLL_SECONDS = 0.5  # how often the driver looks into the inbox


@dataclass(frozen=True)
class WarmStart:
    """How a worker starts its chunk's zygote: the modules to preload, on which Python."""

    preload: tuple[str, ...]
    python: str | None = None
    strict: bool = False


def split(items: Sequence[Any], size: int) -> list[list[Any]]:
    """``items`` in consecutive chunks of at most ``size``.

    >>> split([1, 2, 3, 4, 5], 2)
    [[1, 2], [3, 4], [5]]
    """
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def run_chunk(tasks: Sequence[IterationTask], warm: WarmStart | None = None,
              inbox_dir: str | None = None, share: tuple[int, int] | None = None
              ) -> list[IterationRecord]:
    """Run ``tasks`` one after another here (when ``warm``, forked from one zygote of this
    process's warm pool, left there for its next chunk).

    Each record goes to ``inbox_dir`` (if this machine sees it) before the next starts;
    while one runs, the inbox holds this process's claim on it (with the job-array
    ``share``, ``(task, of)``, that runs it, if any).

    Examples
    --------
    >>> records = run_chunk([task1, task2], WarmStart(("pandas",)))  # doctest: +SKIP
    >>> [r.status for r in records]  # doctest: +SKIP
    ['ok', 'ok']
    """
    records = []
    with _launcher(tasks, warm) as launch:
        for task in tasks:
            if inbox_dir is not None:
                inbox.mark_running(inbox_dir, task.iteration_id, share)
                task = replace(task, inbox=inbox_dir)
            records.append(launch(task))
    return records


def _launcher(tasks: Sequence[IterationTask], warm: WarmStart | None
              ) -> AbstractContextManager[Launch]:
    """How a chunk launches its iterations: cold, or forked from a zygote leased from this
    process's warm pool (on a long-lived worker, the one its last chunk of the script left,
    with what it learned), running cold when none can start (the records look the same)."""
    if warm is None or not tasks:
        return nullcontext(run_iteration)
    from .zygotes import warm_launcher

    return warm_launcher(list(warm.preload), warm.strict, warm.python or sys.executable,
                         tasks[0].script_sha256, quiet=True)


class ChunkSubmitter:
    """Submits a sweep's tasks in chunks; one future per iteration for the scheduler.

    Examples
    --------
    >>> with ChunkSubmitter(executor, chunk_size=50, inbox_dir="s.db-inbox") as submit:
    ...     futures = submit(pending)  # doctest: +SKIP
    """

    def __init__(self, executor: Executor, chunk_size: int, *, warm: WarmStart | None = None,
                 inbox_dir: str | None = None) -> None:
        self.executor = executor
        self.chunk_size = chunk_size
        self.warm = warm
        self.inbox_dir = inbox_dir
        self.jobs_submitted = 0
        self._waiting: dict[str, Future[IterationRecord]] = {}
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._poller: threading.Thread | None = None

    def __enter__(self) -> ChunkSubmitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._poller is not None:
            self._poller.join()

    def __call__(self, pending: Sequence[tuple[int, IterationTask]]
                 ) -> dict[Future[IterationRecord], tuple[int, IterationTask]]:
        if self.chunk_size == 1 and self.warm is None:
            return self._one_by_one(pending)
        futures: dict[Future[IterationRecord], tuple[int, IterationTask]] = {}
        chunks = split(pending, self.chunk_size)
        calls = [(run_chunk, (tuple(task for _, task in chunk), self.warm, self.inbox_dir))
                 for chunk in chunks]
        for chunk, job in zip(chunks, self._submit_all(calls)):
            mine: list[Future[IterationRecord]] = []
            for index, task in chunk:
                future: Future[IterationRecord] = Future()
                futures[future] = (index, task)
                mine.append(future)
                with self._lock:
                    self._waiting[task.iteration_id] = future
            job.add_done_callback(functools.partial(self._returned, mine=mine))
        if self.inbox_dir is not None and self._poller is None:
            self._poller = threading.Thread(target=self._poll_inbox, daemon=True,
                                            name="py3r-script-inbox")
            self._poller.start()
        return futures

    def _one_by_one(self, pending: Sequence[tuple[int, IterationTask]]
                    ) -> dict[Future[IterationRecord], tuple[int, IterationTask]]:
        """One ``run_iteration(task)`` per job, as any executor always received; the worker
        leaves each record in the inbox (``task.inbox``) before returning it."""
        calls = [(run_iteration, (task if self.inbox_dir is None
                                  else replace(task, inbox=self.inbox_dir),))
                 for _, task in pending]
        return dict(zip(self._submit_all(calls), pending))

    def _submit_all(self, calls: list[tuple[Callable[..., Any], tuple[Any, ...]]]
                    ) -> list[Future[Any]]:
        """One future per call: submitted together as job arrays when the executor can
        (:meth:`~py3r_script.running.engines.SubmititExecutor.submit_array`), else one by
        one; a call that cannot be submitted gets a future holding why."""
        if isinstance(self.executor, SubmititExecutor):
            before = self.executor.jobs_submitted
            jobs = self.executor.submit_array(calls)
            self.jobs_submitted += self.executor.jobs_submitted - before
            return jobs
        jobs = []
        for fn, args in calls:
            try:
                jobs.append(self.executor.submit(fn, *args))
                self.jobs_submitted += 1
            except Exception as exc:  # e.g. an executor already shut down: say so per call
                failed: Future[Any] = Future()
                failed.set_exception(exc)
                jobs.append(failed)
        return jobs

    def _returned(self, job: Future[list[IterationRecord]], *,
                  mine: list[Future[IterationRecord]]) -> None:
        """A chunk came back through the executor: settle what the inbox has not."""
        try:
            records = job.result()
        except BaseException as exc:
            for future in mine:
                self._settle(future, exception=exc)
            return
        for record in records:
            with self._lock:
                waiting = self._waiting.get(record.iteration_id)
            if waiting is not None:
                self._settle(waiting, record=record)
        for future in mine:  # a chunk that returned fewer records than it was given
            self._settle(future, exception=RuntimeError("the chunk returned no record for it"))

    def _poll_inbox(self) -> None:
        assert self.inbox_dir is not None
        while not self._done.wait(_INBOX_POLL_SECONDS):
            with self._lock:
                ids = set(self._waiting)
            if not ids:
                continue
            for record in inbox.records(self.inbox_dir, ids):
                with self._lock:
                    future = self._waiting.get(record.iteration_id)
                if future is not None:
                    self._settle(future, record=record)

    def _settle(self, future: Future[IterationRecord], *, record: IterationRecord | None = None,
                exception: BaseException | None = None) -> None:
        with self._lock:
            if future.done():
                return
            if record is not None:
                self._waiting.pop(record.iteration_id, None)
            else:
                for key, value in list(self._waiting.items()):
                    if value is future:
                        del self._waiting[key]
            if not future.set_running_or_notify_cancel():
                return
            if record is not None:
                future.set_result(record)
            else:
                future.set_exception(exception or RuntimeError("no record"))
