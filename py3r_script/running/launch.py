"""Launching one iteration: start the child, wait for it, and turn what it left into a record.

:func:`run_iteration` is the unit of work every executor runs: a top-level function of one
picklable :class:`IterationTask`, returning an :class:`IterationRecord`. It runs wherever it
is sent (this process, a thread, a Dask worker) and needs only the script on that machine.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
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
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from ..child import boundary, processes
from ..child.bootstrap import launch_command
from ..paramset import ParamSet
from ..records import FrozenOutputs, IterationRecord
from ..store.provenance import file_sha256

__all__ = [
    "ChildHandle", "IterationTask", "allow_launches", "cancel_running", "run_iteration",
    "spawn_cold", "stop_file",
]

_TRACEBACK_LINES = 15
_STDERR_LINES_IN_ERROR = 10
_POLL_SECONDS = 0.2  # how often a waiting launcher looks for a stop request


@dataclass(frozen=True)
class IterationTask:
    """Everything needed to run one iteration anywhere: plain, picklable values only.

    ``python`` is the interpreter to start (``None``: the one running :func:`run_iteration`,
    so each worker uses its own); ``stop_file``, when it exists, means the sweep was stopped;
    ``driver`` identifies the sweep's driver process, so a worker on its machine stops its
    child when the driver is gone. ``params`` is the complete parameter set (what the record
    says ran); ``inject`` the names the sweep sets (``None``: all), the others being the
    script's own literal defaults, which the script is left to supply itself.
    """

    script: str
    params: ParamSet
    outputs: tuple[str, ...] | None = None
    stop_after_outputs: bool = False
    index: int = 0
    iteration_id: str = ""
    sweep_id: str | None = None
    label: str | None = None
    script_sha256: str = ""
    cwd: str | None = None
    workdir: str | None = None
    timeout: float | None = None
    capture_limit: int = 20_000
    python: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    argv: tuple[str, ...] = ()
    stop_file: str | None = None
    driver: tuple[str, int, int] | None = None
    inject: tuple[str, ...] | None = None


class _LiveChildren:
    """The children this process is waiting on, so Ctrl-C can kill them all at once.

    Once ``kill_all`` ran, a child registered late (started by a worker thread while the
    sweep was being stopped) is killed as it registers, until ``reset`` for the next sweep.
    Every child is also watched by this process's sentinel, which kills it if this process
    dies before it could.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: dict[int, tuple[ChildHandle, bytes]] = {}
        self.cancelled: set[int] = set()
        self._stopping = False
        self._sentinel = processes.Sentinel()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forget)

    def reset(self) -> None:
        with self._lock:
            self._stopping = False

    def add(self, proc: ChildHandle, tag: bytes) -> None:
        self._sentinel.watch(proc.pid, tag)
        with self._lock:
            self._procs[proc.pid] = (proc, tag)
            if not self._stopping:
                return
            self.cancelled.add(proc.pid)
        processes.stop_iteration(proc.pid, tag)

    def discard(self, proc: ChildHandle) -> bool:
        """Forget ``proc``; True when it was killed by :meth:`kill_all`."""
        with self._lock:
            self._procs.pop(proc.pid, None)
            cancelled = proc.pid in self.cancelled
            self.cancelled.discard(proc.pid)
        self._sentinel.unwatch(proc.pid)
        return cancelled

    def kill_all(self) -> int:
        with self._lock:
            self._stopping = True
            procs = list(self._procs.items())
            self.cancelled.update(pid for pid, _ in procs)
        for pid, (_, tag) in procs:
            processes.stop_iteration(pid, tag)
        return len(procs)

    def _forget(self) -> None:
        """In a forked child: the parent's children are not its own."""
        self._lock = threading.Lock()
        self._procs = {}
        self.cancelled = set()


_LIVE = _LiveChildren()


def cancel_running() -> int:
    """Kill every child (and its process group) this process is running; return how many.

    Children that register afterwards are killed too, until :func:`allow_launches`.
    """
    return _LIVE.kill_all()


def allow_launches() -> None:
    """Start of a sweep: children may run again after an earlier :func:`cancel_running`."""
    _LIVE.reset()


def stop_file(directory: str, sweep_id: str) -> str:
    """Where the driver of sweep ``sweep_id`` says "stop" to the workers that run it.

    The file appears only when the sweep is interrupted. Workers look for it while their
    child runs (and before starting one), so it belongs in a folder they see: one the
    iterations run in.
    """
    return os.path.join(directory, f".py3r-script-stop-{sweep_id}")


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


class ChildHandle(Protocol):
    """A started child: ``subprocess.Popen`` for a cold start, a forked child for a warm one."""

    pid: int

    def wait(self, timeout: float | None = None) -> int: ...


Spawn = Callable[[IterationTask, boundary.IterationFiles, str], ChildHandle]


def spawn_cold(task: IterationTask, files: boundary.IterationFiles, cwd: str) -> ChildHandle:
    """Start a fresh interpreter on the iteration's payload, in its own session."""
    env = dict(os.environ)
    env.update(task.env)
    env[boundary.ENV_VAR] = files.payload
    with open(files.stdout, "wb") as out, open(files.stderr, "wb") as err:
        return subprocess.Popen(
            launch_command(task.python or sys.executable), stdin=subprocess.DEVNULL,
            stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True, close_fds=True,
        )


def run_iteration(task: IterationTask, spawn: Spawn | None = None) -> IterationRecord:
    """Run ``task`` in a fresh subprocess and return its record; never raises for script faults.

    Before starting the child it checks what this machine sees: the script (at the same
    path, with the content the sweep started with) and the working directory; a sweep that
    was stopped starts nothing more.

    Examples
    --------
    >>> task = IterationTask(script="/abs/pipeline.py", params=ParamSet({"w": 3}))
    >>> run_iteration(task).ok  # doctest: +SKIP
    True
    """
    started = time.time()
    problem = _cannot_start(task, started)
    if problem is not None:
        return problem
    root = tempfile.mkdtemp(prefix=boundary.iteration_dir_prefix(task.sweep_id))  # mode 0700
    try:
        return _run_in(root, task, started, spawn or spawn_cold)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _cannot_start(task: IterationTask, started: float) -> IterationRecord | None:
    """The record of an iteration that must not start here, or ``None`` when it may."""
    stop = _stop_reason(task)
    if stop is not None:
        return _record(task, started, status="cancelled",
                       error=f"not started: {_STOPPED[stop]}")
    host = socket.gethostname()
    if not os.path.isfile(task.script):
        return _record(
            task, started, status="crashed",
            error=f"script not found on host {host!r}: {task.script}. Every "
            "machine that runs iterations must see the script at the same path (a shared "
            "filesystem), and the script must not be moved while a sweep runs.",
        )
    if task.script_sha256:
        try:
            seen = file_sha256(task.script)
        except OSError as exc:
            return _record(task, started, status="crashed",
                           error=f"cannot read the script on host {host!r}: {exc}")
        if seen != task.script_sha256:
            return _record(
                task, started, status="error",
                error=f"the script on host {host!r} differs from the one the sweep started "
                f"with, so this iteration did not run: {task.script} was edited during the "
                "sweep, or this machine sees another copy of it (sha256 "
                f"{seen[:12]}..., the sweep's {task.script_sha256[:12]}...). Run the sweep "
                "again once every machine sees the same, final version.",
            )
    if task.cwd is not None and not task.workdir and not os.path.isdir(task.cwd):
        return _record(
            task, started, status="crashed",
            error=f"working directory not found on host {host!r}: {task.cwd}. "
            "Iterations run in the driver's working directory, so it must exist at the same "
            "path on every machine that runs them.",
        )
    return None


_STOPPED = {
    "cancelled": "the sweep was interrupted (Ctrl-C, SIGTERM or SIGHUP)",
    "driver gone": "the sweep's driver process has ended (killed?)",
}


def _stop_reason(task: IterationTask) -> str | None:
    """Why the sweep wants this iteration stopped, seen from where it runs; else ``None``."""
    if task.stop_file is not None and os.path.exists(task.stop_file):
        return "cancelled"
    if task.driver is not None and task.driver[1] != os.getpid() \
            and processes.is_gone(task.driver):
        return "driver gone"
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
                return _record(task, started, status="crashed", error=_start_error(task, exc))
            _LIVE.add(proc, tag)
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
            cancelled = _LIVE.discard(proc)
    if cancelled:
        stopped = "cancelled"
    elif stopped is None and returncode < 0:
        stopped = _stop_reason(task)  # killed from outside on behalf of the driver
    return _collect(task, files, outcome, started, returncode, stopped=stopped,
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
                reason = _stop_reason(task)
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


def _start_error(task: IterationTask, exc: OSError) -> str:
    host = socket.gethostname()
    if task.python is None:
        return f"could not start this machine's Python {sys.executable!r} on host {host!r}: {exc}"
    if isinstance(exc, FileNotFoundError) and exc.filename in (task.python, None):
        return (f"the interpreter python={task.python!r} does not exist on host {host!r}: "
                "every machine that runs iterations needs it at the same path (leave python= "
                "unset to use the Python each worker runs)")
    return f"could not start python={task.python!r} on host {host!r}: {exc}"


def _collect(
    task: IterationTask,
    files: boundary.IterationFiles,
    outcome: boundary.Outcome | None,
    started: float,
    returncode: int,
    *,
    stopped: str | None = None,
    leftover: bool = False,
) -> IterationRecord:
    outputs, unreadable = boundary.read_outputs(files)
    stdout = _tail(files.stdout, task.capture_limit)
    stderr = _tail(files.stderr, task.capture_limit)
    if leftover:
        stderr += ("\n[py3r-script] the script left processes running (e.g. a forked daemon); "
                   "they were killed when it ended\n")
    common: dict[str, Any] = dict(outputs=outputs, stdout=stdout, stderr=stderr)
    if outcome is not None:
        common["params_seen"] = outcome.params_seen or {}
        common["stopped_early"] = outcome.stopped_early
        common["python"] = outcome.python
    signal_name = _signal_name(-returncode) if returncode < 0 else None
    exit_code = returncode if returncode >= 0 else None
    if stopped in _STOPPED:
        return _record(task, started, status="cancelled", signal=signal_name, **common,
                       error=f"cancelled: {_STOPPED[stopped]}; the child and its processes "
                             "were killed")
    if stopped == "timeout":
        elapsed = time.time() - started
        return _record(task, started, status="timeout", signal=signal_name, **common,
                       error=f"timed out after {elapsed:.1f} s (timeout={task.timeout:g} s); "
                             "the child and its processes were killed")
    if returncode < 0:
        hint = " (the out-of-memory killer sends SIGKILL)" if signal_name == "SIGKILL" else ""
        return _record(task, started, status="crashed", signal=signal_name, **common,
                       error=f"killed by signal {signal_name} ({-returncode}){hint}"
                             + _fault_excerpt(stderr))
    if outcome is not None and outcome.status == "error":
        return _record(task, started, status="error", exit_code=exit_code, **common,
                       error_type=outcome.error_type,
                       error=_exception_message(outcome))
    if returncode != 0:
        if outcome is not None and outcome.status == "exit":
            said = f": {outcome.error_message}" if outcome.error_message else ""
            error = f"the script exited with status {returncode} (sys.exit){said}"
        elif outcome is not None and returncode == 120:
            error = ("the script finished, but Python exited with status 120: it could not "
                     "flush stdout/stderr at exit (did the script close them?)")
        else:
            error = (f"the child exited with status {returncode} without reporting an outcome "
                     "(os._exit, or Python failed before the script started)")
        return _record(task, started, status="error", exit_code=exit_code, **common,
                       error=error + _stderr_hint(stderr))
    if unreadable:
        problems = "; ".join(f"{n!r}: {why}" for n, why in unreadable.items())
        return _record(task, started, status="error", exit_code=exit_code, **common,
                       error=f"output(s) could not be loaded by the sweep: {problems}")
    missing = [n for n in (task.outputs or ()) if n not in outputs]
    if missing:
        names = ", ".join(map(repr, missing))
        return _record(task, started, status="error", exit_code=exit_code, **common,
                       error=f"requested output(s) {names} never produced: the script "
                             f"finished without calling Output(..., name={missing[0]!r})")
    return _record(task, started, status="ok", exit_code=exit_code, **common)


def _record(task: IterationTask, started: float, **fields: Any) -> IterationRecord:
    outputs = fields.pop("outputs", None)
    return IterationRecord(
        params=task.params,
        outputs=FrozenOutputs(outputs),
        started=started,
        finished=time.time(),
        index=task.index,
        iteration_id=task.iteration_id,
        sweep_id=task.sweep_id,
        label=task.label,
        script=task.script,
        script_sha256=task.script_sha256,
        requested_outputs=task.outputs,
        host=socket.gethostname(),
        python=fields.pop("python", None) or _python_version(task.python or sys.executable),
        interpreter=task.python or sys.executable,
        argv=task.argv,
        env=dict(task.env),
        workdir=task.workdir,
        **fields,
    )


def _python_version(python: str) -> str:
    """The version of ``python`` when it is this interpreter; else unknown (the child says)."""
    same = os.path.realpath(python) == os.path.realpath(sys.executable)
    return platform.python_version() if same else ""


def _exception_message(outcome: boundary.Outcome) -> str:
    summary = outcome.error_type or "Exception"
    if outcome.error_message:
        summary += f": {outcome.error_message}"
    lines = (outcome.traceback or "").rstrip("\n").splitlines()
    if len(lines) > _TRACEBACK_LINES:
        cut = len(lines) - _TRACEBACK_LINES
        while cut > 0 and not lines[cut].startswith("  File "):
            cut -= 1  # start at a frame, not in the middle of one
        lines = ["Traceback (most recent call last, last frames only):", *lines[cut:]]
    return summary + ("\n" + "\n".join(lines) if lines else "")


def _stderr_hint(stderr: str) -> str:
    lines = stderr.rstrip("\n").splitlines()[-_STDERR_LINES_IN_ERROR:]
    return ("\nlast lines of stderr:\n" + "\n".join(lines)) if lines else ""


def _fault_excerpt(stderr: str) -> str:
    """The start of faulthandler's dump (the crashing frames first), without our frames."""
    start = stderr.rfind("Fatal Python error")
    if start < 0:
        return _stderr_hint(stderr)
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    lines = [line for line in stderr[start:].splitlines()
             if line.strip() and package not in line and '"<string>"' not in line
             and "runpy" not in line]
    return "\n" + "\n".join(lines[:_STDERR_LINES_IN_ERROR])


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _tail(path: str, limit: int) -> str:
    """The last ``limit`` bytes of a capture file as text, marked when cut."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - limit))
            data = handle.read()
    except FileNotFoundError:
        return ""
    text = data.decode("utf-8", errors="replace")
    if size > limit:
        text = f"[... {size - limit} earlier bytes not kept ...]\n" + text
    return text
