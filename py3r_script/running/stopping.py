"""Stopping a sweep wherever its iterations run: the driver's :class:`Stopper`, and what a
worker checks (:func:`stop_reason`) to stop its own child when the driver cannot reach it.

With an executor, the driver says "stop" with a stop file in a folder the workers see. The
file goes once every iteration it was meant for has returned; its name carries the driver's
owner token, so the next sweep in that folder removes one a driver killed outright left.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import replace
from typing import Callable

from ..child import boundary, processes
from ..records import IterationRecord
from . import leftovers
from .children import cancel_running
from .outcomes import record_of
from .task import IterationTask

__all__ = ["Finished", "Stopper", "stop_file", "stop_file_owner", "stop_reason"]

Finished = Callable[[int, IterationRecord], None]
"""What receives each finished iteration: its plan index and its record."""

_STOP_WAIT_SECONDS = 2.0  # how long a stopped sweep waits for its iterations to report back


_STOP_PREFIX = ".py3r-script-stop-"


def stop_file(directory: str, sweep_id: str, owner: str = "") -> str:
    """Where the driver of sweep ``sweep_id`` says "stop" to the workers that run it.

    The file appears only when the sweep is interrupted. Workers look for it while their
    child runs (and before starting one), so it belongs in a folder they see: one the
    iterations run in. ``owner`` is the driver's
    :func:`~py3r_script.running.leftovers.owner_token`.

    Examples
    --------
    >>> stop_file("/shared/runs", "3f2a", "4242.88231.0a1b2c3d")
    '/shared/runs/.py3r-script-stop-3f2a-4242.88231.0a1b2c3d'
    """
    name = f"{_STOP_PREFIX}{sweep_id}-{owner}" if owner else f"{_STOP_PREFIX}{sweep_id}"
    return os.path.join(directory, name)


def stop_file_owner(name: str) -> str | None:
    """The owner token in a stop file's name (``None``: not a stop file, or one made by a
    version that did not name its driver).

    Examples
    --------
    >>> stop_file_owner(".py3r-script-stop-3f2a-4242.88231.0a1b2c3d")
    '4242.88231.0a1b2c3d'
    """
    if not name.startswith(_STOP_PREFIX):
        return None
    token = name.rsplit("-", 1)[-1]
    return token if boundary.read_owner(token) is not None else None


def stop_reason(task: IterationTask) -> str | None:
    """Why the sweep wants ``task`` stopped, seen from where it runs (a key of
    :data:`~py3r_script.running.outcomes.STOPPED`); ``None`` while it may go on.

    Examples
    --------
    >>> stop_reason(task)  # None: the sweep goes on  # doctest: +SKIP
    """
    if task.stop_file is not None and os.path.exists(task.stop_file):
        return "cancelled"
    if task.driver is not None and task.driver[1] != os.getpid() \
            and processes.is_gone(task.driver):
        return "driver gone"
    return None


class Stopper:
    """Stops a sweep's running iterations wherever they run, and says what it could check.

    This process's own children are killed at once (:func:`cancel_running`). Iterations
    sent to an executor run in other processes, maybe on other machines: the driver creates
    the sweep's stop file, which their workers look for while their child runs and before
    starting one (so the sweep's queued iterations start nothing), kills the sweep's
    processes on this machine (found by their environment), and waits a little for the
    iterations to report back. Workers on a machine whose driver has died stop too (the
    task names its driver).

    Examples
    --------
    >>> stopper = Stopper("3f2a", tasks[0], remote=True)  # doctest: +SKIP
    >>> pending = [stopper.prepare(task) for task in tasks]  # doctest: +SKIP
    >>> stopper.stop(futures, finished, local=False)  # on Ctrl-C  # doctest: +SKIP
    """

    def __init__(self, sweep_id: str | None, first: IterationTask | None, *,
                 remote: bool) -> None:
        self.sweep_id = sweep_id
        self.remote = remote
        self.driver = processes.identity()
        self.path: str | None = None
        if first is not None:  # the sweep's first task to run: where its folders are
            folder = _shared_folder(first)
            leftovers.remove_owned_files(folder, stop_file_owner)  # of drivers killed outright
            if remote and sweep_id is not None:
                self.path = stop_file(folder, sweep_id, leftovers.owner_token())
        self._problem: str | None = None
        self._unconfirmed = 0
        self._lock = threading.Lock()

    def prepare(self, task: IterationTask) -> IterationTask:
        """``task`` as it must be sent: naming the stop file and this driver."""
        return replace(task, stop_file=self.path, driver=self.driver)

    def stop(self, futures: dict[Future[IterationRecord], tuple[int, IterationTask]],
             finished: Finished, *, local: bool) -> None:
        """Stop every iteration of ``futures``; hand those that finished to ``finished``."""
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
                    record = record_of(future, task)
                    if record.status != "cancelled":  # it finished in the meantime: keep it
                        finished(index, record)
                if not outstanding or time.monotonic() >= deadline:
                    break
                wait(list(outstanding), timeout=0.1, return_when=FIRST_COMPLETED)
        except KeyboardInterrupt:  # pressed again: stop waiting
            pass
        self._unconfirmed = len(outstanding)
        if self.path is None:
            for future in outstanding:
                future.cancel()
        else:  # the stop file stops them, and goes once they have returned
            self._lower_when_returned(list(outstanding))

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
                    "which goes once they have all returned (when this Python process exits, "
                    "at the latest)")
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

    def _lower_when_returned(self, futures: list[Future[IterationRecord]]) -> None:
        """Remove the stop file once every one of ``futures`` is done: each has seen it, or
        ended on its own (at this process's exit at the latest).

        They are not cancelled: a queued iteration that starts sees the file and returns at
        once, while a cancelled one may still run where the executor cannot stop it (Dask
        cancels only what has not started, yet says it cancelled the rest too).
        """
        atexit.register(self._lower_flag)
        waiting = set(futures)

        def returned(future: Future[IterationRecord]) -> None:
            with self._lock:
                waiting.discard(future)
                if waiting:
                    return
            self._lower_flag()

        for future in futures:
            future.add_done_callback(returned)
        if not futures:
            self._lower_flag()

    def _lower_flag(self) -> None:
        if self.path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        atexit.unregister(self._lower_flag)


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
