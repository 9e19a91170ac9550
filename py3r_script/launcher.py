"""Launching one iteration: start the child, wait for it, and turn what it left into a record.

:func:`run_iteration` is the unit of work every executor runs: a top-level function of one
picklable :class:`IterationTask`, returning an :class:`IterationRecord`. It runs wherever it
is sent (this process, a thread, a Dask worker) and needs only the script on that machine.
"""

from __future__ import annotations

import contextlib
import os
import platform
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
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from . import _boundary
from ._bootstrap import launch_command
from .paramset import ParamSet
from .records import FrozenOutputs, IterationRecord

__all__ = [
    "ChildHandle", "IterationTask", "allow_launches", "cancel_running", "run_iteration",
    "spawn_cold",
]

_TRACEBACK_LINES = 15
_STDERR_LINES_IN_ERROR = 10


@dataclass(frozen=True)
class IterationTask:
    """Everything needed to run one iteration anywhere: plain, picklable values only."""

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
    capture_limit: int = 100_000
    python: str = field(default_factory=lambda: sys.executable)
    env: tuple[tuple[str, str], ...] = ()
    argv: tuple[str, ...] = ()


class _LiveChildren:
    """The children this process is waiting on, so Ctrl-C can kill them all at once.

    Once ``kill_all`` ran, a child registered late (started by a worker thread while the
    sweep was being stopped) is killed as it registers, until ``reset`` for the next sweep.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: dict[int, ChildHandle] = {}
        self.cancelled: set[int] = set()
        self._stopping = False

    def reset(self) -> None:
        with self._lock:
            self._stopping = False

    def add(self, proc: ChildHandle) -> None:
        with self._lock:
            self._procs[proc.pid] = proc
            if not self._stopping:
                return
            self.cancelled.add(proc.pid)
        _kill_group(proc.pid)

    def discard(self, proc: ChildHandle) -> None:
        with self._lock:
            self._procs.pop(proc.pid, None)
            self.cancelled.discard(proc.pid)

    def kill_all(self) -> int:
        with self._lock:
            self._stopping = True
            procs = list(self._procs.values())
            self.cancelled.update(p.pid for p in procs)
        for proc in procs:
            _kill_group(proc.pid)
        return len(procs)


_LIVE = _LiveChildren()


def cancel_running() -> int:
    """Kill every child (and its process group) this process is running; return how many.

    Children that register afterwards are killed too, until :func:`allow_launches`.
    """
    return _LIVE.kill_all()


def allow_launches() -> None:
    """Start of a sweep: children may run again after an earlier :func:`cancel_running`."""
    _LIVE.reset()


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


Spawn = Callable[[IterationTask, _boundary.IterationFiles, str], ChildHandle]


def spawn_cold(task: IterationTask, files: _boundary.IterationFiles, cwd: str) -> ChildHandle:
    """Start a fresh interpreter on the iteration's payload, in its own session."""
    env = dict(os.environ)
    env.update(task.env)
    env[_boundary.ENV_VAR] = files.payload
    with open(files.stdout, "wb") as out, open(files.stderr, "wb") as err:
        return subprocess.Popen(
            launch_command(task.python), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            env=env, cwd=cwd, start_new_session=True, close_fds=True,
        )


def run_iteration(task: IterationTask, spawn: Spawn | None = None) -> IterationRecord:
    """Run ``task`` in a fresh subprocess and return its record; never raises for script faults.

    Examples
    --------
    >>> task = IterationTask(script="/abs/pipeline.py", params=ParamSet({"w": 3}))
    >>> run_iteration(task).ok  # doctest: +SKIP
    True
    """
    started = time.time()
    if not os.path.isfile(task.script):
        return _record(
            task, started, status="crashed",
            error=f"script not found on host {socket.gethostname()!r}: {task.script}. Every "
            "machine that runs iterations must see the script at the same path (a shared "
            "filesystem), and the script must not be moved while a sweep runs.",
        )
    if task.cwd is not None and not task.workdir and not os.path.isdir(task.cwd):
        return _record(
            task, started, status="crashed",
            error=f"working directory not found on host {socket.gethostname()!r}: {task.cwd}. "
            "Iterations run in the driver's working directory, so it must exist at the same "
            "path on every machine that runs them.",
        )
    root = tempfile.mkdtemp(prefix="py3r-script-")  # private: mode 0700
    try:
        return _run_in(root, task, started, spawn or spawn_cold)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run_in(root: str, task: IterationTask, started: float, spawn: Spawn) -> IterationRecord:
    files = _boundary.IterationFiles(root)
    cwd = task.workdir or task.cwd or os.getcwd()
    if task.workdir:
        os.makedirs(task.workdir, exist_ok=True)
    _boundary.write_payload(_boundary.Payload(
        script=task.script,
        params=task.params.to_dict(),
        outputs=task.outputs,
        stop_after_outputs=task.stop_after_outputs,
        files=files,
        argv=task.argv,
        cwd=cwd,
    ))
    timed_out = False
    proc: ChildHandle | None = None
    try:
        with _sigint_deferred():
            try:
                proc = spawn(task, files, cwd)
            except OSError as exc:
                return _record(task, started, status="crashed",
                               error=f"could not start {task.python!r}: {exc}")
            _LIVE.add(proc)
        try:
            returncode = proc.wait(timeout=task.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc.pid)
            returncode = proc.wait()
    except BaseException:  # Ctrl-C while waiting: take the child's whole group down with us
        if proc is not None:
            _kill_group(proc.pid)
            proc.wait()
        raise
    finally:
        if proc is not None:
            cancelled = proc.pid in _LIVE.cancelled
            _LIVE.discard(proc)
    leftover = _group_alive(proc.pid)
    _kill_group(proc.pid)  # whatever the script left in its group, zombies included
    return _collect(task, files, started, returncode, timed_out=timed_out, cancelled=cancelled,
                    leftover=leftover)


def _collect(
    task: IterationTask,
    files: _boundary.IterationFiles,
    started: float,
    returncode: int,
    *,
    timed_out: bool,
    cancelled: bool,
    leftover: bool = False,
) -> IterationRecord:
    outcome = _boundary.read_outcome(files)
    outputs, unreadable = _boundary.read_outputs(files)
    stdout = _tail(files.stdout, task.capture_limit)
    stderr = _tail(files.stderr, task.capture_limit)
    if leftover:
        stderr += ("\n[py3r-script] the script left processes running in its process group "
                   "(e.g. a forked daemon); they were killed when it ended\n")
    common: dict[str, Any] = dict(outputs=outputs, stdout=stdout, stderr=stderr)
    if outcome is not None:
        common["params_seen"] = outcome.params_seen or {}
        common["stopped_early"] = outcome.stopped_early
        common["python"] = outcome.python
    signal_name = _signal_name(-returncode) if returncode < 0 else None
    exit_code = returncode if returncode >= 0 else None
    if cancelled:
        return _record(task, started, status="cancelled", signal=signal_name, **common,
                       error="cancelled by the user (KeyboardInterrupt); the child was killed")
    if timed_out:
        elapsed = time.time() - started
        return _record(task, started, status="timeout", signal=signal_name, **common,
                       error=f"timed out after {elapsed:.1f} s (timeout={task.timeout:g} s); "
                             "the child and its process group were killed")
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
        python=fields.pop("python", None) or _python_version(task.python),
        interpreter=task.python,
        argv=task.argv,
        env=dict(task.env),
        workdir=task.workdir,
        **fields,
    )


def _python_version(python: str) -> str:
    """The version of ``python`` when it is this interpreter; else unknown (the child says)."""
    same = os.path.realpath(python) == os.path.realpath(sys.executable)
    return platform.python_version() if same else ""


def _exception_message(outcome: _boundary.Outcome) -> str:
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
    package = os.path.dirname(os.path.abspath(__file__))
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


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies waiting to be reaped do not)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    if not os.path.isdir("/proc"):
        return True
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
