"""Warm starts: a zygote process that forks a ready-made child per iteration.

Most of a pipeline's per-iteration cost is the interpreter re-importing pandas, numpy and
friends. With ``warm=True`` a zygote (see ``child/zygote.py``) imports the script's top-level
imports once, runs no user code, and forks one child per iteration: every iteration still
gets a new process that has never run the script, in its own session, with fresh random
state, and is reported exactly like a cold child. Only *who launches the child* changes.

Caveats: Linux only (fork); modules that hold OS resources made at import time (open
sockets, started threads, GPU contexts) are shared by every child; random generators other
than ``random`` and NumPy's global one are not reseeded. Where a warm start is not possible
(not Linux, a preload that fails, starts threads, or hangs past :data:`START_TIMEOUT`) the
sweep runs cold, with a one-line warning. A zygote serves one sweep at a time; ``zygotes``
keeps it alive between sweeps, replaces it once stale, and teaches it the script's lazy
imports (:meth:`Zygote.learn`).
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

from ..child import boundary, processes
from .children import ChildHandle
from .launch import spawn_cold
from .task import IterationTask

__all__ = ["START_TIMEOUT", "Zygote", "preload_modules", "sweep_preload"]

START_TIMEOUT = 300.0
"""Seconds the zygote may take to preload before the sweep gives up on it and runs cold."""

_CLOSE_TIMEOUT = 10.0  # seconds a closing zygote gets to kill its children and exit
_SKIP = {"__future__", "py3r_script"}


def preload_modules(imports: Sequence[str]) -> list[str]:
    """The script's top-level imports worth preloading (not ``py3r_script`` or relatives).

    Examples
    --------
    >>> preload_modules(["numpy", "py3r_script", "pandas.io"])
    ['numpy', 'pandas.io']
    """
    return [name for name in imports if name.split(".")[0] not in _SKIP]


def sweep_preload(imports: Sequence[str], preload: Sequence[str] | None
                  ) -> tuple[list[str], bool]:
    """What a sweep's warm starts preload (``preload``, else the script's ``imports`` worth
    it), and whether the user named them (then a failing one is an error, not a warning).

    >>> sweep_preload(["numpy", "py3r_script"], None)
    (['numpy'], False)
    """
    if preload is not None:
        return list(preload), True
    return preload_modules(imports), False


class Zygote:
    """The driver's handle on one zygote process.

    Examples
    --------
    >>> zygote = Zygote(["pandas", "numpy"])  # doctest: +SKIP
    >>> zygote.start() is None  # None: ready; otherwise why warm starts are unavailable
    True
    >>> record = run_iteration(task, spawn=zygote.spawn)  # doctest: +SKIP
    >>> zygote.close()  # doctest: +SKIP
    """

    def __init__(
        self, preload: Sequence[str], python: str | None = None, *, strict: bool = False
    ) -> None:
        self.preload = list(preload)
        self.strict = strict
        self.python = python or sys.executable
        self.preloaded: list[str] = []
        self.modules: set[str] = set()  # what it imported on request: preloaded, then learned
        self.files: dict[str, tuple[int, int]] = {}  # module file -> (mtime_ns, size)
        self.sys_path: list[str] = []
        self.unsafe = ""  # why it must fork no more ("": it may)
        self.on_report: Callable[[list[str]], None] | None = None  # children list imports
        self._proc: subprocess.Popen[bytes] | None = None
        self._messages: _MessageReader | None = None
        self._listener: threading.Thread | None = None
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self._pids: dict[int, int] = {}
        self._exits: dict[int, int] = {}
        self._running: set[int] = set()
        self._answers: list[boundary.Imported] = []
        self._next_id = 0
        self._alive = False

    @property
    def pid(self) -> int | None:
        """The zygote's process id (``None`` before it starts or once closed)."""
        return None if self._proc is None else self._proc.pid

    def start(self) -> str | None:
        """Start the zygote and preload; ``None`` when ready, else why it cannot be used.

        A zygote not ready within :data:`START_TIMEOUT` seconds (a preload hangs) is killed.
        """
        if not sys.platform.startswith("linux"):
            return f"fork-based warm starts need Linux, this is {sys.platform}"
        try:
            self._proc = subprocess.Popen(
                boundary.zygote_command(self.python, self.preload, self.strict),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
            )
        except OSError as exc:
            return f"could not start {self.python!r}: {exc}"
        assert self._proc.stdout is not None
        self._messages = _MessageReader(self._proc.stdout.fileno())
        problem = self._until_ready(START_TIMEOUT)
        if problem is not None:
            self.close()
            return problem
        self._alive = True
        self._listener = threading.Thread(target=self._listen, name="py3r-script-zygote",
                                          daemon=True)
        self._listener.start()
        return None

    def _until_ready(self, timeout: float) -> str | None:
        """Read the zygote's news until it is ready (``None``), or why it never will be."""
        assert self._messages is not None and self._proc is not None
        deadline = time.monotonic() + timeout
        importing = None
        while True:
            try:
                message = self._messages.read(deadline - time.monotonic())
            except TimeoutError:
                processes.kill_group(self._proc.pid)  # it and anything its imports started
                what = f"preloading {importing!r}" if importing else "starting Python"
                return (f"{what} did not finish within {timeout:g} s, so the warm-start "
                        "process was killed")
            if isinstance(message, boundary.Preloading):
                importing = message.module
            elif isinstance(message, boundary.Ready):
                self.preloaded = list(message.preloaded)
                self.modules.update(message.preloaded)
                self.files = _file_stats(message.files)
                self.sys_path = list(message.path)
                return None
            elif isinstance(message, boundary.Unavailable):
                return message.reason
            elif message is None:
                during = f" {importing!r}" if importing else ""
                return f"the warm-start process exited while preloading{during}"

    def _listen(self) -> None:
        assert self._messages is not None
        while True:
            try:
                message = self._messages.read()
            except (OSError, ValueError):  # the pipe was closed under us
                message = None
            if message is None:
                break
            with self._changed:
                if isinstance(message, boundary.Started):
                    self._pids[message.ident] = message.pid
                    self._running.add(message.pid)
                elif isinstance(message, boundary.Exited):
                    self._exits[message.pid] = message.returncode
                    self._running.discard(message.pid)
                elif isinstance(message, boundary.Imported):
                    self._answers.append(message)
                self._changed.notify_all()
        with self._changed:
            self._alive = False
            self._changed.notify_all()

    def spawn(self, task: IterationTask, files: boundary.IterationFiles, cwd: str) -> ChildHandle:
        """Fork a child for ``task`` (the launcher's spawn step); cold when the zygote is gone
        (or unsafe)."""
        if not self._alive or self.unsafe or self._proc is None or self._proc.stdin is None:
            return spawn_cold(task, files, cwd)
        report = self.on_report
        with self._lock:
            ident = self._next_id
            self._next_id += 1
            request = boundary.fork_request(files, dict(task.env), ident, report is not None)
            if not self._send(request):
                return spawn_cold(task, files, cwd)
        with self._changed:
            self._changed.wait_for(lambda: ident in self._pids or not self._alive)
            if ident not in self._pids:
                return spawn_cold(task, files, cwd)
            return _WarmChild(self, self._pids.pop(ident), files if report else None)

    def _send(self, message: boundary.ZygoteMessage) -> bool:
        """Write one message to the zygote (under ``_lock``); False when it is gone."""
        if self._proc is None or self._proc.stdin is None:
            return False
        try:
            self._proc.stdin.write(message.encode())
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return False
        return True

    def learn(self, modules: Sequence[str], timeout: float = START_TIMEOUT
              ) -> boundary.Imported | None:
        """Import ``modules`` (library modules the script uses) in the zygote before it
        forks again; its answer, or ``None`` when it gave none (gone, or too slow: then it
        forks no more, as it may be left half-way through an import).

        >>> zygote.learn(["json"]).loaded  # doctest: +SKIP
        ['json']
        """
        with self._lock:  # no fork request goes out until the imports are done
            if not self._send(boundary.Import(modules=list(modules))):
                return None
            with self._changed:
                try:
                    self._changed.wait_for(lambda: self._answers or not self._alive, timeout)
                except BaseException:  # Ctrl-C: its answer would be taken for the next one's
                    self.unsafe = "it was interrupted while importing"
                    raise
                if not self._answers:
                    self.unsafe = "it did not finish importing in time"
                    return None
                answer = self._answers.pop(0)
            self.modules.update(answer.loaded)
            self.modules.update(answer.failed)  # not worth asking again
            self.files = _file_stats(answer.files)
            self.unsafe = answer.unsafe
            return answer

    def stale(self, files: bool = True) -> str | None:
        """Why this zygote must not serve another sweep (dead, unsafe, or, when ``files``,
        a module file it imported changed on disk since), or ``None`` when it may.

        >>> zygote.stale()  # doctest: +SKIP
        "a module it holds changed on disk: '/venv/.../helper.py'"
        """
        if self._proc is None or self._proc.poll() is not None or not self._alive:
            return "it is no longer running"
        if self.unsafe:
            return self.unsafe
        for path, seen in self.files.items() if files else ():
            try:
                info = os.stat(path)
            except OSError:
                return f"a module file it imported is gone: {path!r}"
            if (info.st_mtime_ns, info.st_size) != seen:
                return f"a module it holds changed on disk: {path!r}"
        return None

    def settled(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until every child it forked has exited and been
        reported; False when some did not (or it is gone)."""
        with self._changed:
            self._changed.wait_for(
                lambda: (not self._running and len(self._pids) == 0) or not self._alive,
                timeout)
            return self._alive and not self._running and not self._pids

    def _wait(self, pid: int, timeout: float | None) -> int:
        with self._changed:
            done = self._changed.wait_for(
                lambda: pid in self._exits or not self._alive, timeout=timeout)
            if pid in self._exits:
                return self._exits.pop(pid)
            if not done:
                raise subprocess.TimeoutExpired(f"warm child {pid}", timeout or 0.0)
        raise ChildProcessError(f"the warm-start process died while child {pid} ran")

    def disown(self) -> None:
        """In a forked copy of the driver: let go of the zygote without a word to it. This
        copy's ends of its pipes now lead to ``/dev/null`` (so the zygote still sees the
        driver go, and nothing half-written here ever reaches it)."""
        proc, self._proc = self._proc, None
        self._alive = False
        if proc is None:
            return
        for pipe in (proc.stdin, proc.stdout):
            if pipe is None:
                continue
            try:
                nowhere = os.open(os.devnull, os.O_RDWR)
                os.dup2(nowhere, pipe.fileno())
                os.close(nowhere)
                pipe.close()  # what it still buffered goes to /dev/null
            except (OSError, ValueError):
                pass
        # the driver waits for the zygote, never this copy: settled here, so that dropping
        # it is not reported as a child left running (a ResourceWarning)
        proc.returncode = 0

    def close(self) -> None:
        """Stop the zygote (closing its stdin); it kills any child still running."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=_CLOSE_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if self._listener is not None:
            self._listener.join(timeout=_CLOSE_TIMEOUT)  # it reads the pipe closed below
        if proc.stdout is not None:
            proc.stdout.close()


class _MessageReader:
    """The zygote's messages, read from its stdout pipe as they arrive."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._pending = b""
        self._ready: list[boundary.ZygoteMessage] = []

    def read(self, timeout: float | None = None) -> boundary.ZygoteMessage | None:
        """The next message, ``None`` once the zygote is gone; :class:`TimeoutError` when
        none came within ``timeout`` seconds (``None``: as long as it takes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._ready:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                    raise TimeoutError(f"no message within {timeout:g} s")
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return None
            messages, self._pending = boundary.split_messages(self._pending + chunk)
            self._ready.extend(messages)
        return self._ready.pop(0)


def _file_stats(files: Sequence[Sequence]) -> dict[str, tuple[int, int]]:
    return {str(path): (int(mtime), int(size)) for path, mtime, size in files}


class _WarmChild:
    """A forked child as the launcher sees it: a pid and a ``wait``; with ``report``, the
    files where it lists the library modules it imported, handed on once it exits."""

    def __init__(self, zygote: Zygote, pid: int,
                 report: boundary.IterationFiles | None = None) -> None:
        self._zygote = zygote
        self._report = report
        self.pid = pid
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                self.returncode = self._zygote._wait(self.pid, timeout)
            except ChildProcessError:
                self.returncode = -9
            self._hand_on_report()
        return self.returncode

    def _hand_on_report(self) -> None:
        files, self._report = self._report, None
        listener = self._zygote.on_report
        if files is None or listener is None:
            return
        import json

        try:
            with open(files.modules, "rb") as handle:
                names = json.load(handle)
        except (OSError, ValueError):
            return  # it ended before listing them (killed, os._exit): next time
        if isinstance(names, list):
            try:
                listener([str(name) for name in names])
            except Exception:  # learning is an optimisation: never fail the iteration for it
                import logging

                logging.getLogger(__name__).debug("learning failed", exc_info=True)
