"""The warm-start parent ("zygote"): import heavy modules once, then fork a child per iteration.

Started by :class:`py3r_script.running.warm.Zygote` with the command line of
:func:`~py3r_script.child.boundary.zygote_command`. It imports the modules it is asked to
preload (never the user's script or its own modules, unless named: ``libraries``), saying
which one it is importing, then serves fork requests on stdin (and requests to import more
library modules, those its children report their script imported), and reports each
child's pid and exit status on a private copy of stdout: the messages of ``boundary``. It
stays single-threaded, so forking is safe. Each child starts a new session, gets fresh
random state and its own stdout/stderr files, runs the script through the same
:func:`~py3r_script.child.bootstrap.run_child` as a cold child, then exits as an
interpreter would.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import pkgutil  # noqa: F401  (imported by every runpy.run_path: once here, not per child)
import random
import selectors
import signal
import sys
import threading

from . import bootstrap, boundary, libraries, processes

__all__ = ["main"]


def main(preload: list[str], strict: bool = False) -> None:
    """Preload, then serve fork requests until the driver closes stdin.

    ``strict``: a module that cannot be found is a failure (an explicit ``preload=``), not
    a module beside the script to skip (imports found by the inspector).

    Examples
    --------
    >>> main(["numpy", "pandas"])  # in the process zygote_command starts  # doctest: +SKIP
    """
    boundary.undo_launch_path()
    channel = os.dup(1)
    os.dup2(2, 1)  # stray prints while preloading go to stderr, never into the protocol
    loaded, problem = _preload(preload, strict, channel)
    if problem is None and threading.active_count() > 1:
        problem = "a preloaded module started threads, so forking would not be safe"
    if problem is not None:
        os.write(channel, boundary.Unavailable(reason=problem).encode())
        os._exit(0)
    os.write(channel, boundary.Ready(preloaded=loaded, files=libraries.imported_files(),
                                     path=list(sys.path)).encode())
    _freeze()
    _serve(channel)


def _freeze() -> None:
    """What was imported stays as it is: keep the collector away from it, so children do
    not copy the pages it lives on just to traverse them (copy-on-write stays shared)."""
    gc.collect()
    gc.freeze()


def _preload(names: list[str], strict: bool, channel: int) -> tuple[list[str], str | None]:
    loaded: list[str] = []
    roots = libraries.library_roots()
    for name in names:
        if not strict and not libraries.spec_is_library(name, roots):
            continue  # not installed, or the user's own (beside the script...): never ours
        os.write(channel, boundary.Preloading(module=name).encode())
        try:
            importlib.import_module(name)
        except BaseException as exc:  # any failure: cannot preload
            return loaded, f"preloading {name!r} failed: {type(exc).__name__}: {exc}"
        loaded.append(name)
    return loaded, None


def _serve(channel: int) -> None:
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    selector.register(wake_read, selectors.EVENT_READ)
    pending = b""
    children: set[int] = set()
    while True:
        for key, _ in selector.select():
            if key.fd == wake_read:
                while _drain(wake_read):
                    pass
                continue
            chunk = os.read(0, 1 << 16)
            if not chunk:  # the driver is gone: take our children with us
                for pid in children:
                    processes.kill_group(pid)  # each child leads its own session
                os._exit(0)
            requests, pending = boundary.split_messages(pending + chunk)
            for request in requests:
                if isinstance(request, boundary.Import):
                    os.write(channel, _import_more(request.modules).encode())
                    continue
                assert isinstance(request, boundary.ForkRequest)
                bootstrap.flush_std_streams()
                pid = os.fork()
                if pid == 0:
                    _child(request, (channel, wake_read, wake_write))
                children.add(pid)
                os.write(channel, boundary.Started(ident=request.ident, pid=pid).encode())
        _reap(channel, children)


def _import_more(names: list[str]) -> boundary.Imported:
    """Import library modules the driver learned the script uses; a failure drops that
    module, never the zygote. An import that starts threads makes the zygote unsafe."""
    loaded: list[str] = []
    failed: dict[str, str] = {}
    unsafe = ""
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException as exc:  # any failure: not preloaded, the child imports it
            failed[name] = f"{type(exc).__name__}: {exc}"
            continue
        loaded.append(name)
        if threading.active_count() > 1:
            unsafe = f"importing {name!r} started threads, so forking would not be safe"
            break
    _freeze()
    return boundary.Imported(loaded=loaded, failed=failed, unsafe=unsafe,
                             files=libraries.imported_files())


def _drain(fd: int) -> bool:
    try:
        return bool(os.read(fd, 4096))
    except BlockingIOError:
        return False


def _reap(channel: int, children: set[int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        os.write(channel, boundary.Exited(pid=pid, returncode=code).encode())


def _child(request: boundary.ForkRequest, private_fds: tuple[int, ...]) -> None:
    """In the forked child: become a fresh iteration process, run the script, exit."""
    code = 70
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in private_fds:
            os.close(fd)
        _redirect(0, os.devnull, os.O_RDONLY)
        _redirect(1, request.stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        _redirect(2, request.stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.environ.update(request.env)
        random.seed()  # fresh state from the OS, as a new interpreter would have
        numpy = sys.modules.get("numpy")
        if numpy is not None:
            numpy.random.seed()
        report = None
        if request.report:
            before = list(sys.modules)

            def report() -> None:
                _report_modules(request.report, before)

        code = bootstrap.run_child(boundary.read_payload(request.payload), before_stop=report)
        _exit_like_python()
        if report is not None:
            report()
    except BaseException:  # report it, leave without unwinding
        import traceback

        traceback.print_exc()
    finally:
        if not bootstrap.flush_std_streams() and code == 0:
            code = 120  # what Python exits with when it cannot flush stdout at exit
        os._exit(code)


def _report_modules(path: str, before: list[str]) -> None:
    """List the library modules the script imported (never fails the iteration)."""
    import json

    try:
        names = libraries.new_library_modules(before)
        boundary.write_atomic(path, json.dumps(names).encode())
    except Exception:  # learning is an optimisation: the record must not change
        pass


def _exit_like_python() -> None:
    """What the interpreter does at exit: wait for non-daemon threads, run atexit handlers."""
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()


def _redirect(fd: int, path: str, flags: int) -> None:
    opened = os.open(path, flags, 0o600)
    os.dup2(opened, fd)
    os.close(opened)
