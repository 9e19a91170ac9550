"""Launching one iteration: start its child, wait for it, stop it when it must stop.

:func:`run_iteration` is the unit of work every executor runs: a top-level function of one
picklable :class:`~py3r_script.running.task.IterationTask`, returning an
:class:`~py3r_script.records.IterationRecord` (built by ``outcomes`` from what the child
left). It runs wherever it is sent (this process, a thread, a Dask worker) and needs only
the script on that machine.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable

from ..child import boundary, processes
from ..records import IterationRecord
from ..store import inbox
from ..store.provenance import file_sha256
from . import children, leftovers
from .children import ChildHandle
from .outcomes import STOPPED, child_record, make_record, start_error
from .stopping import stop_reason
from .task import IterationTask

__all__ = ["IterationTask", "Spawn", "run_iteration", "spawn_cold"]

_POLL_SECONDS = 0.2  # how often a waiting launcher looks for a stop request


Spawn = Callable[[IterationTask, boundary.IterationFiles, str], ChildHandle]
"""How a child is started (task, its files, working directory): cold, or forked warm."""


def spawn_cold(task: IterationTask, files: boundary.IterationFiles, cwd: str) -> ChildHandle:
    """Start a fresh interpreter on the iteration's payload, in its own session.

    Examples
    --------
    >>> spawn_cold(task, boundary.IterationFiles(root), cwd=os.getcwd())  # doctest: +SKIP
    <Popen: returncode: None args: [...]>
    """
    env = dict(os.environ)
    env.update(task.env)
    env[boundary.ENV_VAR] = files.payload
    with open(files.stdout, "wb") as out, open(files.stderr, "wb") as err:
        return subprocess.Popen(
            boundary.child_command(task.python or sys.executable), stdin=subprocess.DEVNULL,
            stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True, close_fds=True,
        )


def run_iteration(task: IterationTask, spawn: Spawn | None = None) -> IterationRecord:
    """Run ``task`` in a fresh subprocess and return its record; never raises for script faults.

    Before starting the child it checks what this machine sees: the script (at the same
    path, with the content the sweep started with) and the working directory; a sweep that
    was stopped starts nothing more.

    Examples
    --------
    >>> task = IterationTask(script="/abs/pipeline.py", params=ParamSet({"w": 3}))  # doctest: +SKIP
    >>> run_iteration(task).ok  # doctest: +SKIP
    True
    """
    started = time.time()
    problem = _cannot_start(task, started)
    if problem is not None:
        return problem
    leftovers.clear_dead_leftovers(task.sweep_id)  # what killed launchers left behind
    prefix = boundary.iteration_dir_prefix(task.sweep_id, leftovers.owner_token())
    root = tempfile.mkdtemp(prefix=prefix)  # mode 0700
    try:
        record = _run_in(root, task, started, spawn or spawn_cold)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if task.inbox is not None and record.status != "cancelled":
        inbox.deposit(task.inbox, record)  # before returning: a driver that dies loses nothing
    return record


def _cannot_start(task: IterationTask, started: float) -> IterationRecord | None:
    """The record of an iteration that must not start here, or ``None`` when it may."""
    stop = stop_reason(task)
    if stop is not None:
        return make_record(task, started, status="cancelled",
                       error=f"not started: {STOPPED[stop]}")
    host = socket.gethostname()
    if not os.path.isfile(task.script):
        return make_record(
            task, started, status="crashed",
            error=f"script not found on host {host!r}: {task.script}. Every "
            "machine that runs iterations must see the script at the same path (a shared "
            "filesystem), and the script must not be moved while a sweep runs.",
        )
    if task.script_sha256:
        try:
            seen = file_sha256(task.script)
        except OSError as exc:
            return make_record(task, started, status="crashed",
                           error=f"cannot read the script on host {host!r}: {exc}")
        if seen != task.script_sha256:
            return make_record(
                task, started, status="error",
                error=f"the script on host {host!r} differs from the one the sweep started "
                f"with, so this iteration did not run: {task.script} was edited during the "
                "sweep, or this machine sees another copy of it (sha256 "
                f"{seen[:12]}..., the sweep's {task.script_sha256[:12]}...). Run the sweep "
                "again once every machine sees the same, final version.",
            )
    if task.cwd is not None and not task.workdir and not os.path.isdir(task.cwd):
        return make_record(
            task, started, status="crashed",
            error=f"working directory not found on host {host!r}: {task.cwd}. "
            "Iterations run in the driver's working directory, so it must exist at the same "
            "path on every machine that runs them.",
        )
    return None


def _run_in(root: str, task: IterationTask, started: float, spawn: Spawn) -> IterationRecord:
    files = boundary.IterationFiles(root)
    tag = boundary.iteration_tag(files)
    cwd = task.workdir or task.cwd or os.getcwd()
    if task.workdir:
        os.makedirs(task.workdir, exist_ok=True)
    boundary.write_payload(boundary.Payload(
        script=task.script,
        params=task.params.to_dict() if task.inject is None
        else {n: v for n, v in task.params.items() if n in task.inject},
        outputs=task.outputs,
        stop_after_outputs=task.stop_after_outputs,
        files=files,
        argv=task.argv,
        cwd=cwd,
    ))
    proc: ChildHandle | None = None
    cancelled = False
    try:
        with _sigint_deferred():
            try:
                proc = spawn(task, files, cwd)
            except OSError as exc:
                return make_record(task, started, status="crashed", error=start_error(task, exc))
            children.add(proc, tag)
        returncode, stopped = _wait(proc, task, tag)
        # whatever the script left running, in its process group or not (zombies aside);
        # looking outside the group means reading /proc, needless when it started nothing
        outcome = boundary.read_outcome(files)
        spawned = outcome is None or outcome.spawned is not False
        leftover = processes.stop_iteration(proc.pid, tag if spawned else None)
    except BaseException:  # Ctrl-C while waiting: take the child's processes down with us
        if proc is not None:
            processes.stop_iteration(proc.pid, tag)
            proc.wait()
        raise
    finally:
        if proc is not None:
            cancelled = children.discard(proc)
    if cancelled:
        stopped = "cancelled"
    elif stopped is None and returncode < 0:
        stopped = stop_reason(task)  # killed from outside on behalf of the driver
    return child_record(task, files, outcome, started, returncode, stopped=stopped,
                        leftover=leftover)


def _wait(proc: ChildHandle, task: IterationTask, tag: bytes) -> tuple[int, str | None]:
    """Wait for the child; kill it at the time limit or when the sweep is stopped.

    Returns the return code and why the child was killed (``"timeout"``, ``"cancelled"``,
    ``"driver gone"``), or ``None`` when it ended on its own.
    """
    deadline = None if task.timeout is None else time.monotonic() + task.timeout
    with _exit_waiter(proc) as wait:
        while True:
            step = _POLL_SECONDS
            if deadline is not None:
                step = max(0.0, min(step, deadline - time.monotonic()))
            returncode = wait(step)
            if returncode is not None:
                return returncode, None
            if deadline is not None and time.monotonic() >= deadline:
                reason: str | None = "timeout"
            else:
                reason = stop_reason(task)
            if reason is not None:
                processes.stop_iteration(proc.pid, tag)
                return proc.wait(), reason


@contextmanager
def _exit_waiter(proc: ChildHandle) -> Iterator[Callable[[float], int | None]]:
    """A ``wait(seconds)`` giving the return code, or ``None`` while the child still runs.

    A cold child is watched through a pidfd, which wakes the moment it exits (``Popen.wait``
    with a timeout polls, up to 50 ms late); a warm child's wait already wakes at once.
    """
    pidfd = None
    if isinstance(proc, subprocess.Popen) and hasattr(os, "pidfd_open"):
        with contextlib.suppress(OSError):
            pidfd = os.pidfd_open(proc.pid)
    if pidfd is None:
        def wait(seconds: float) -> int | None:
            try:
                return proc.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                return None

        yield wait
        return
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)

    def wait_pidfd(seconds: float) -> int | None:
        if poller.poll(math.ceil(seconds * 1000)):
            return proc.wait()
        return None

    try:
        yield wait_pidfd
    finally:
        os.close(pidfd)


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold Ctrl-C back while a child starts and is registered, so none escapes the kill.

    Only the main thread receives KeyboardInterrupt; other threads need no protection.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
