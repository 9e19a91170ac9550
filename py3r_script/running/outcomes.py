"""Turning what an iteration left into its record: the child's files, outcome and exit status,
a launch refused or failed, an executor that gave no record.

Every :class:`~py3r_script.records.IterationRecord` of a run iteration is built here, so each
status (``ok``, ``error``, ``crashed``, ``timeout``, ``cancelled``) and its message is
worded in one place.
"""

from __future__ import annotations

import os
import platform
import signal
import socket
import sys
import time
from concurrent.futures import Future
from typing import Any

from ..child import boundary
from ..records import NOTHING, FrozenOutputs, IterationRecord, seen_params
from .task import IterationTask

__all__ = ["STOPPED", "child_record", "make_record", "record_of", "start_error"]

_TRACEBACK_LINES = 15
_STDERR_LINES_IN_ERROR = 10
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

STOPPED = {
    "cancelled": "the sweep was interrupted (Ctrl-C, SIGTERM or SIGHUP)",
    "driver gone": "the sweep's driver process has ended (killed?)",
}
"""Why a sweep stops an iteration (see :func:`~py3r_script.running.stopping.stop_reason`)."""


def make_record(task: IterationTask, started: float, **fields: Any) -> IterationRecord:
    """The record of ``task``, started at ``started``, ending now, with ``fields``.

    Examples
    --------
    >>> make_record(task, time.time(), status="crashed", error="...")  # doctest: +SKIP
    """
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
        replicate=task.replicate,
        script=task.script,
        script_sha256=task.script_sha256,
        requested_outputs=task.outputs,
        # interned: the same few strings in every record of a long sweep, held once
        host=sys.intern(socket.gethostname()),
        python=sys.intern(fields.pop("python", None)
                          or _python_version(task.python or sys.executable)),
        interpreter=task.python or sys.executable,
        argv=task.argv,
        env=dict(task.env) if task.env else NOTHING,
        workdir=task.workdir,
        **fields,
    )


def child_record(
    task: IterationTask,
    files: boundary.IterationFiles,
    outcome: boundary.Outcome | None,
    started: float,
    returncode: int,
    *,
    stopped: str | None = None,
    leftover: bool = False,
) -> IterationRecord:
    """The record of a child that ended with ``returncode``, from what it left in ``files``.

    ``stopped`` says why the launcher killed it (``"timeout"`` or a key of :data:`STOPPED`);
    ``leftover``, that processes it started were still running when it ended.

    Examples
    --------
    >>> child_record(task, files, boundary.read_outcome(files), started, 0)  # doctest: +SKIP
    """
    outputs, unreadable = boundary.read_outputs(files)
    stderr = _tail(files.stderr, task.capture_limit)
    if leftover:
        stderr += ("\n[py3r-script] the script left processes running (e.g. a forked daemon); "
                   "they were killed when it ended\n")
    common: dict[str, Any] = dict(
        outputs=outputs, stdout=_tail(files.stdout, task.capture_limit), stderr=stderr)
    if outcome is not None:
        common["params_seen"] = seen_params(task.params, outcome.params_seen)
        common["stopped_early"] = outcome.stopped_early
        common["python"] = outcome.python
    if stopped is not None or returncode < 0:
        return _killed(task, started, returncode, stopped, common)
    if outcome is not None and outcome.status == "error":
        return make_record(task, started, status="error", exit_code=returncode, **common,
                           error_type=outcome.error_type,
                           error=_exception_message(outcome) + _setsid_hint(outcome))
    if returncode != 0:
        return make_record(task, started, status="error", exit_code=returncode, **common,
                           error=_exit_message(outcome, returncode) + _stderr_hint(stderr))
    if unreadable:
        problems = "; ".join(f"{n!r}: {why}" for n, why in unreadable.items())
        return make_record(task, started, status="error", exit_code=returncode, **common,
                           error=f"output(s) could not be loaded by the sweep: {problems}")
    missing = [n for n in (task.outputs or ()) if n not in outputs]
    if missing:
        names = ", ".join(map(repr, missing))
        return make_record(task, started, status="error", exit_code=returncode, **common,
                           error=f"requested output(s) {names} never produced: the script "
                                 f"finished without calling Output(..., name={missing[0]!r})")
    return make_record(task, started, status="ok", exit_code=returncode, **common)


def _killed(task: IterationTask, started: float, returncode: int, stopped: str | None,
            common: dict[str, Any]) -> IterationRecord:
    """The record of a child stopped by the launcher (``stopped``) or killed by a signal."""
    signal_name = _signal_name(-returncode) if returncode < 0 else None
    if stopped in STOPPED:
        return make_record(task, started, status="cancelled", signal=signal_name, **common,
                           error=f"cancelled: {STOPPED[stopped]}; the child and its processes "
                                 "were killed")
    if stopped == "timeout":
        elapsed = time.time() - started
        return make_record(task, started, status="timeout", signal=signal_name, **common,
                           error=f"timed out after {elapsed:.1f} s (timeout={task.timeout:g} "
                                 "s); the child and its processes were killed")
    hint = " (the out-of-memory killer sends SIGKILL)" if signal_name == "SIGKILL" else ""
    return make_record(task, started, status="crashed", signal=signal_name, **common,
                       error=f"killed by signal {signal_name} ({-returncode}){hint}"
                             + _fault_excerpt(common["stderr"]))


def _exit_message(outcome: boundary.Outcome | None, returncode: int) -> str:
    if outcome is not None and outcome.status == "exit":
        said = f": {outcome.error_message}" if outcome.error_message else ""
        return f"the script exited with status {returncode} (sys.exit){said}"
    if outcome is not None and returncode == 120:
        return ("the script finished, but Python exited with status 120: it could not "
                "flush stdout/stderr at exit (did the script close them?)")
    return (f"the child exited with status {returncode} without reporting an outcome "
            "(os._exit, or Python failed before the script started)")


def start_error(task: IterationTask, exc: OSError) -> str:
    """Why the child of ``task`` could not be started on this host (its interpreter).

    Examples
    --------
    >>> start_error(task, FileNotFoundError(2, "No such file", "/opt/py"))  # doctest: +SKIP
    "the interpreter python='/opt/py' does not exist on host 'node7': ..."
    """
    host = socket.gethostname()
    if task.python is None:
        return f"could not start this machine's Python {sys.executable!r} on host {host!r}: {exc}"
    if isinstance(exc, FileNotFoundError) and exc.filename in (task.python, None):
        return (f"the interpreter python={task.python!r} does not exist on host {host!r}: "
                "every machine that runs iterations needs it at the same path (leave python= "
                "unset to use the Python each worker runs)")
    return f"could not start python={task.python!r} on host {host!r}: {exc}"


def record_of(future: Future[IterationRecord], task: IterationTask) -> IterationRecord:
    """The done future's record, or a record saying why the executor gave none.

    Whatever the future holds, this returns: a worker interrupted by the same Ctrl-C as the
    driver (a terminal sends it to the whole process group) gives a ``cancelled`` record,
    any other exception a ``crashed`` one. The exception is read, not raised, so a Ctrl-C
    the driver receives meanwhile is never mistaken for one.

    Examples
    --------
    >>> record_of(pool.submit(run_iteration, task), task).status  # doctest: +SKIP
    'ok'
    """
    try:
        problem = future.exception()
    except Exception as exc:  # cancelled, or an executor's own failure to say
        problem = exc
    if problem is None:
        return future.result()
    if isinstance(problem, KeyboardInterrupt):
        status = "cancelled"
        error = ("cancelled: the worker running it was interrupted (Ctrl-C in a terminal "
                 "reaches its whole process group, the executor's workers too)")
    else:
        status = "crashed"
        error = (f"the executor could not run this iteration: {type(problem).__name__}: "
                 f"{problem}")
    now = time.time()
    return IterationRecord(
        params=task.params, status=status, index=task.index,
        iteration_id=task.iteration_id, sweep_id=task.sweep_id, label=task.label,
        replicate=task.replicate, script=task.script,
        script_sha256=task.script_sha256, requested_outputs=task.outputs,
        workdir=task.workdir, started=now, finished=now,
        error=error, error_type=type(problem).__name__,
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


def _setsid_hint(outcome: boundary.Outcome) -> str:
    """Why ``os.setsid()`` failed in the script, and the work-around."""
    last = (outcome.traceback or "").rstrip("\n").splitlines()[-3:]
    if outcome.error_type != "PermissionError" or not any("setsid(" in s for s in last):
        return ""
    return ("\nos.setsid() fails here as in a terminal: the script's process leads its own "
            "process group (so that a timeout or Ctrl-C kills everything it starts). Fork "
            "first and call os.setsid() in the forked child, as daemons do.")


def _stderr_hint(stderr: str) -> str:
    lines = stderr.rstrip("\n").splitlines()[-_STDERR_LINES_IN_ERROR:]
    return ("\nlast lines of stderr:\n" + "\n".join(lines)) if lines else ""


def _fault_excerpt(stderr: str) -> str:
    """The start of faulthandler's dump (the crashing frames first), without our frames."""
    start = stderr.rfind("Fatal Python error")
    if start < 0:
        return _stderr_hint(stderr)
    lines = [line for line in stderr[start:].splitlines()
             if line.strip() and _PACKAGE_DIR not in line and '"<string>"' not in line
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
