"""The child side of an iteration: read the payload, then run the script as ``python script.py``.

The parent starts a cold child with :func:`~py3r_script.child.boundary.child_command`, which
calls :func:`main`; a warm start calls :func:`run_child` in a freshly forked process instead.
Either way the script sees ``__name__ == "__main__"``, its own path in ``__file__`` and
``sys.argv[0]``, its directory in ``sys.path[0]``, and the caller's working directory,
exactly as when run on its own.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import runpy
import sys

from . import boundary, procfs, session

TYPE_CHECKING = False  # not typing's: importing typing would cost every child ~4 ms
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["flush_std_streams", "main", "run_child"]

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_RUNPY = os.path.abspath(runpy.__file__).rstrip("c")


def main() -> None:
    """Entry point of a cold child: take the payload named in the environment and run it.

    Examples
    --------
    >>> main()  # in a child started by boundary.child_command  # doctest: +SKIP
    """
    path = os.environ.pop(boundary.ENV_VAR, None)
    if not path:
        sys.stderr.write(
            f"py3r_script.child.bootstrap runs scripts for the sweep runner; {boundary.ENV_VAR} "
            "is not set. Run your script with python, or sweep it with py3r_script.run.\n"
        )
        sys.exit(2)
    boundary.undo_launch_path()
    sys.exit(run_child(boundary.read_payload(path)))


def run_child(payload: boundary.Payload, before_stop: Callable[[], None] | None = None) -> int:
    """Run the payload's script with the markers live; return the process exit status.

    ``before_stop``: called when the script is stopped early (its last requested output is
    in), before the outcome is written and the process exits at once: the last point where
    this process may still do anything for the parent (a warm child lists its imports).

    Examples
    --------
    >>> run_child(boundary.read_payload(path))  # doctest: +SKIP
    0
    """
    faulthandler.enable()
    if payload.cwd is not None:
        os.chdir(payload.cwd)
    script = payload.script
    sys.argv = [script, *payload.argv]
    sys.path.insert(0, os.path.dirname(os.path.realpath(script)))  # as Python does

    def stop_now() -> None:
        if before_stop is not None:
            before_stop()
        boundary.write_outcome(
            payload.files,
            boundary.Outcome(status="ok", stopped_early=True, params_seen=live.params_seen,
                              spawned=_started_processes()),
        )
        flush_std_streams()
        os._exit(0)

    live = session.SESSION = session.ChildSession(payload, on_complete=stop_now)
    os.environ[boundary.WORKER_ENV_VAR] = payload.files.payload
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        code = _exit_status(exc.code)
        message = exc.code if isinstance(exc.code, str) else None
        outcome = boundary.Outcome(
            status="ok" if code == 0 else "exit", exit_code=code, error_message=message,
            params_seen=live.params_seen,
        )
    except BaseException as exc:
        text = _format_traceback(exc)
        _write_stderr(text)
        outcome = boundary.Outcome(
            status="error",
            exit_code=1,
            error_type=_qualified_name(type(exc)),
            error_message=str(exc),
            traceback=text,
            params_seen=live.params_seen,
        )
    else:
        outcome = boundary.Outcome(status="ok", params_seen=live.params_seen)
    boundary.write_outcome(payload.files, outcome.replace(spawned=_started_processes()))
    flush_std_streams()
    return outcome.exit_code


def _started_processes() -> bool | None:
    """Whether the script started any process: it has children (running or exited), or it
    waited for some. ``None`` when that cannot be told, or may still change (threads run)."""
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return None
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        return True  # a child exists (None: running; a result: exited, left unreaped)
    except ChildProcessError:
        pass
    except (AttributeError, OSError):
        return None
    fields = procfs.stat_fields()
    if fields is None:
        return None
    return int(fields[procfs.CHILD_MINOR_FAULTS]) > 0  # it waited for a child that ran


def _exit_status(code: object) -> int:
    """The process status ``sys.exit(code)`` gives, printing a message code as Python does."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF  # what the operating system reports, as for python script.py
    _write_stderr(f"{code}\n")
    return 1


def _write_stderr(text: str) -> None:
    """Print to stderr as Python would, unless the script closed or broke it."""
    with contextlib.suppress(Exception):
        sys.stderr.write(text)


def _is_internal(filename: str) -> bool:
    if filename in (_RUNPY, "<frozen runpy>"):
        return True
    return os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep)


def _format_traceback(exc: BaseException) -> str:
    """The traceback as Python prints it, without the bootstrap, runpy or marker frames."""
    import traceback  # only on failure: every iteration would pay for it

    tb = exc.__traceback__
    while tb is not None and _is_internal(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    summary = traceback.TracebackException(type(exc), exc, tb)
    stack = summary.stack
    while len(stack) > 1 and _is_internal(stack[-1].filename):
        del stack[-1]
    return "".join(summary.format())


def _qualified_name(cls: type) -> str:
    module = cls.__module__
    if module in ("builtins", "__main__"):
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def flush_std_streams() -> bool:
    """Flush stdout and stderr; False when one of them could not be flushed.

    Before ``os._exit``, which skips it: a script's last prints must not vanish.

    Examples
    --------
    >>> flush_std_streams()
    True
    """
    flushed = True
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            flushed = False
    return flushed
