"""The executors users bring: what kind each is, its default chunk size, and submitit's adapter.

``executor=`` takes any ``concurrent.futures.Executor``, a Dask ``Client`` (on a
``LocalCluster`` or a dask-jobqueue cluster such as ``SLURMCluster``) or a submitit executor
(``AutoExecutor``, ``SlurmExecutor``, ``LocalExecutor``). A submitit executor is not a
``concurrent.futures.Executor`` (its ``submit`` returns a ``Job``): :class:`SubmititExecutor`
adapts it here, in one place, so the scheduler only ever sees futures.

The kind decides the default ``chunk_size`` (iterations per submitted job):

* ``"local"`` (a thread or process pool, a Dask ``LocalCluster``): :data:`LOCAL_CHUNK`, 1.
  Submitting is cheap there, and one iteration per job balances the load best.
* ``"jobqueue"`` (a Dask client on a dask-jobqueue cluster): :data:`JOBQUEUE_CHUNK`, 10.
  The batch jobs are long-lived Dask workers, so a chunk costs one Dask task, not one
  batch job (and a warm chunk forks from the zygote the worker's warm pool kept); ten
  iterations per task keep every worker busy on sweeps of a few hundred iterations.
* ``"batch"`` (submitit): :data:`BATCH_CHUNK`, 50. Every chunk is a job the batch scheduler
  queues (seconds to minutes each, and sites cap how many one user may queue): 2,000
  iterations become 40 jobs instead of 2,000.

A sweep's chunks go to a submitit executor together, inside ``executor.batch()``: SLURM
receives one job array (one ``sbatch``) per :data:`ARRAY_SIZE` chunks, not one ``sbatch``
per chunk (:meth:`SubmititExecutor.submit_array`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from typing import Any

__all__ = ["ARRAY_SIZE", "BATCH_CHUNK", "JOBQUEUE_CHUNK", "LOCAL_CHUNK", "SubmissionFailed",
           "SubmititExecutor",
           "default_chunk_size", "executor_kind", "usable_executor"]

LOCAL_CHUNK = 1
JOBQUEUE_CHUNK = 10
BATCH_CHUNK = 50

ARRAY_SIZE = 1000
"""Jobs per submitit job array at most: SLURM refuses arrays past its ``MaxArraySize``
(1001 by default, so indices 0..1000); a sweep with more chunks is submitted as several
arrays."""

_POLL_SECONDS = 0.5  # how often the adapter asks submitit whether its jobs are done


def _is_submitit(executor: object) -> bool:
    return type(executor).__module__.split(".")[0] == "submitit"


def _dask_client(executor: object) -> Any:
    """The Dask client behind ``executor`` (a ``Client`` or its executor), else ``None``."""
    module = type(executor).__module__.split(".")[0]
    if module != "distributed":
        return None
    return getattr(executor, "_client", None) or (
        executor if hasattr(executor, "get_executor") else None)


def executor_kind(executor: object) -> str:
    """``"local"``, ``"jobqueue"`` or ``"batch"``: what submitting one job costs there.

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> executor_kind(ThreadPoolExecutor(1))
    'local'
    """
    if _is_submitit(executor):
        return "batch"
    client = _dask_client(executor)
    cluster = getattr(client, "cluster", None) if client is not None else None
    if cluster is not None and type(cluster).__module__.split(".")[0] == "dask_jobqueue":
        # dask_jobqueue.local.LocalCluster too: it starts workers as jobs, like SLURMCluster
        return "jobqueue"
    return "local"


def default_chunk_size(executor: object | None) -> int:
    """Iterations per submitted job when ``chunk_size`` is not given (see the module's notes).

    >>> default_chunk_size(None)
    1
    """
    if executor is None:
        return LOCAL_CHUNK
    return {"batch": BATCH_CHUNK, "jobqueue": JOBQUEUE_CHUNK}.get(executor_kind(executor),
                                                                  LOCAL_CHUNK)


def usable_executor(executor: Any) -> Executor:
    """``executor`` as a ``concurrent.futures.Executor``: a Dask ``Client`` gives its
    executor, a submitit executor is adapted; any other is returned as it is.

    >>> from concurrent.futures import ThreadPoolExecutor
    >>> pool = ThreadPoolExecutor(1); usable_executor(pool) is pool
    True
    """
    if _is_submitit(executor):
        return SubmititExecutor(executor)
    if _dask_client(executor) is executor:
        return executor.get_executor()  # type: ignore[no-any-return]
    return executor  # type: ignore[no-any-return]


class SubmissionFailed(RuntimeError):
    """The batch scheduler refused a job array: none of its jobs was queued."""


class SubmititExecutor(Executor):
    """A submitit executor seen as a ``concurrent.futures.Executor``.

    ``submit`` hands the call to submitit (one job) and returns a ``Future`` that a
    watcher thread completes once submitit says the job is done: with its result, or
    with the job's exception (a job that failed, was cancelled or timed out). Cancelling
    the future cancels the job.

    Examples
    --------
    >>> import submitit  # doctest: +SKIP
    >>> pool = SubmititExecutor(submitit.LocalExecutor("jobs"))  # doctest: +SKIP
    >>> pool.submit(pow, 2, 8).result()  # doctest: +SKIP
    256
    """

    def __init__(self, executor: Any) -> None:
        self.executor = executor
        self.jobs_submitted = 0
        self.arrays_submitted = 0
        self._jobs: dict[Future[Any], Any] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._watcher: threading.Thread | None = None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self._follow(self.executor.submit(fn, *args, **kwargs))

    def _follow(self, job: Any) -> Future[Any]:
        """A future the watcher completes once submitit says ``job`` is done."""
        future: Future[Any] = Future()
        future.add_done_callback(lambda f: self._cancelled(f, job))
        with self._lock:
            self.jobs_submitted += 1
            self._jobs[future] = job
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, daemon=True,
                                                 name="py3r-script-submitit")
                self._watcher.start()
        self._wake.set()
        return future

    def submit_array(self, calls: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]]
                     ) -> list[Future[Any]]:
        """Submit ``calls`` (function, arguments) as job arrays of at most
        :data:`ARRAY_SIZE` jobs (``executor.batch()``: one ``sbatch`` each on SLURM); one
        future per call, in order.

        An array the scheduler refuses fails its calls' futures with
        :class:`SubmissionFailed`, saying why; arrays submitted before it run on.

        Examples
        --------
        >>> pool = SubmititExecutor(submitit.LocalExecutor("jobs"))  # doctest: +SKIP
        >>> [f.result() for f in pool.submit_array([(pow, (2, 3)), (pow, (2, 4))])]
        ... # doctest: +SKIP
        [8, 16]
        """
        futures: list[Future[Any]] = []
        for start in range(0, len(calls), ARRAY_SIZE):
            group = calls[start:start + ARRAY_SIZE]
            try:
                with self.executor.batch():  # jobs have no id until the context exits
                    jobs = [self.executor.submit(fn, *args) for fn, args in group]
            except Exception as exc:
                failure = SubmissionFailed(
                    f"the batch scheduler refused a job array of {len(group)} job(s), so none "
                    f"of them runs ({type(exc).__name__}: {exc}); what finished before is "
                    "kept: fix the cause and run the sweep again (with its store, only what did "
                    "not finish runs)")
                for _ in group:
                    failed: Future[Any] = Future()
                    failed.set_exception(failure)
                    futures.append(failed)
                continue
            self.arrays_submitted += 1
            futures += [self._follow(job) for job in jobs]
        return futures

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._wake.set()
        watcher = self._watcher
        if wait and watcher is not None:
            watcher.join()

    @staticmethod
    def _cancelled(future: Future[Any], job: Any) -> None:
        if future.cancelled():
            # a job that ended meanwhile, a scheduler that refuses: no matter
            with contextlib.suppress(Exception):
                job.cancel(check=False)

    def _watch(self) -> None:
        while True:
            with self._lock:
                jobs = list(self._jobs.items())
                if not jobs:  # idle: the next submit starts a new watcher
                    self._watcher = None
                    return
            for future, job in jobs:
                if future.done():  # cancelled by the scheduler
                    self._forget(future)
                elif job.done():
                    self._complete(future, job)
            self._wake.wait(_POLL_SECONDS)
            self._wake.clear()

    def _complete(self, future: Future[Any], job: Any) -> None:
        self._forget(future)
        try:
            result = job.result()
        except BaseException as exc:  # submitit's FailedJobError, UncompletedJobError...
            if future.set_running_or_notify_cancel():
                future.set_exception(exc)
            return
        if future.set_running_or_notify_cancel():
            future.set_result(result)

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._jobs.pop(future, None)
