"""The child side of an iteration: read the payload, then run the script as ``python script.py``.

The parent starts ``python -c "...; from py3r_script.child.bootstrap import main; main()"``; a warm
start calls :func:`run_child` in a freshly forked process instead. Either way the script sees
``__name__ == "__main__"``, its own path in ``__file__`` and ``sys.argv[0]``, its directory in
``sys.path[0]``, and the caller's working directory, exactly as when run on its own.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import runpy
import sys

from . import boundary

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_RUNPY = os.path.abspath(runpy.__file__).rstrip("c")


def main() -> None:
    """Entry point of a cold child: take the payload named in the environment and run it."""
    path = os.environ.pop(boundary.ENV_VAR, None)
    if not path:
        sys.stderr.write(
            f"py3r_script.child.bootstrap runs scripts for the sweep runner; {boundary.ENV_VAR} "
            "is not set. Run your script with python, or sweep it with py3r_script.run.\n"
        )
        sys.exit(2)
    # Undo what the launch command put on sys.path (the package's folder, and -c's '') so
    # the script sees the sys.path of `python script.py`.
    if sys.path and sys.path[0] == _package_parent():
        del sys.path[0]
    if sys.path and sys.path[0] == "" and not getattr(sys.flags, "safe_path", False):
        del sys.path[0]
    sys.exit(run_child(boundary.read_payload(path)))


def launch_command(python: str) -> list[str]:
    """The command line that starts a cold child with this copy of the package importable."""
    code = (
        f"import sys;sys.path.insert(0,{_package_parent()!r});"
        "from py3r_script.child.bootstrap import main;main()"
    )
    return [python, "-c", code]


def run_child(payload: boundary.Payload) -> int:
    """Run the payload's script with the markers live; return the process exit status."""
    faulthandler.enable()
    if payload.cwd is not None:
        os.chdir(payload.cwd)
    script = payload.script
    sys.argv = [script, *payload.argv]
    sys.path.insert(0, os.path.dirname(os.path.realpath(script)))  # as Python does

    def stop_now() -> None:
        boundary.write_outcome(
            payload.files,
            boundary.Outcome(status="ok", stopped_early=True, params_seen=session.params_seen,
                              spawned=_started_processes()),
        )
        _flush_std_streams()
        os._exit(0)

    session = boundary.ChildSession(payload, on_complete=stop_now)
    boundary.SESSION = session
    os.environ[boundary.WORKER_ENV_VAR] = payload.files.payload
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        code = _exit_status(exc.code)
        message = exc.code if isinstance(exc.code, str) else None
        outcome = boundary.Outcome(
            status="ok" if code == 0 else "exit", exit_code=code, error_message=message,
            params_seen=session.params_seen,
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
            params_seen=session.params_seen,
        )
    else:
        outcome = boundary.Outcome(status="ok", params_seen=session.params_seen)
    boundary.write_outcome(payload.files, outcome.replace(spawned=_started_processes()))
    _flush_std_streams()
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
    try:
        with open("/proc/self/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return int(fields[8]) > 0  # cminflt: page faults of the children waited for
    except (OSError, ValueError, IndexError):
        return None


def _package_parent() -> str:
    return os.path.dirname(_PACKAGE_DIR)


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


def _flush_std_streams() -> bool:
    """Flush stdout and stderr; False when one of them could not be flushed."""
    flushed = True
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            flushed = False
    return flushed
