"""Warm starts: a per-sweep zygote process that forks a ready-made child per iteration.

Most of a pipeline's per-iteration cost is the interpreter re-importing pandas, numpy and
friends. With ``warm=True`` a zygote (see ``child/zygote.py``) imports the script's top-level
imports once, runs no user code, and forks one child per iteration: every iteration still
gets a new process that has never run the script, in its own session, with fresh random
state, and is reported exactly like a cold child. Only *who launches the child* changes.

Caveats: Linux only (fork); modules that hold OS resources made at import time (open
sockets, started threads, GPU contexts) are shared by every child; random generators other
than ``random`` and NumPy's global one are not reseeded. Where a warm start is not possible
the sweep runs cold, with a one-line warning.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import Any

from ..child import boundary
from ..child.bootstrap import _package_parent
from .launch import IterationTask, spawn_cold

__all__ = ["Zygote", "preload_modules"]

_START_TIMEOUT = 300.0
_SKIP = {"__future__", "py3r_script"}


def preload_modules(imports: Sequence[str]) -> list[str]:
    """The script's top-level imports worth preloading (not ``py3r_script`` or relatives)."""
    return [name for name in imports if name.split(".")[0] not in _SKIP]


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
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self._pids: dict[int, int] = {}
        self._exits: dict[int, int] = {}
        self._next_id = 0
        self._alive = False

    def start(self) -> str | None:
        """Start the zygote and preload; ``None`` when ready, else why it cannot be used."""
        if not sys.platform.startswith("linux"):
            return f"fork-based warm starts need Linux, this is {sys.platform}"
        code = (f"import sys;sys.path.insert(0,{_package_parent()!r});"
                "import json;from py3r_script.child.zygote import main;"
                "main(**json.loads(sys.argv[1]))")
        try:
            self._proc = subprocess.Popen(
                [self.python, "-c", code,
                 json.dumps({"preload": self.preload, "strict": self.strict})],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
            )
        except OSError as exc:
            return f"could not start {self.python!r}: {exc}"
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self.close()
            return "the warm-start process exited while preloading"
        message = boundary.decode_message(line)
        if message["event"] != "ready":
            self.close()
            return message.get("reason", "the warm-start process is unavailable")
        self.preloaded = message["preloaded"]
        self._alive = True
        threading.Thread(target=self._listen, name="py3r-script-zygote", daemon=True).start()
        return None

    def _listen(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            message = boundary.decode_message(line)
            with self._changed:
                if message["event"] == "started":
                    self._pids[message["id"]] = message["pid"]
                elif message["event"] == "exited":
                    self._exits[message["pid"]] = message["returncode"]
                self._changed.notify_all()
        with self._changed:
            self._alive = False
            self._changed.notify_all()

    def spawn(self, task: IterationTask, files: boundary.IterationFiles, cwd: str) -> Any:
        """Fork a child for ``task`` (the launcher's spawn step); cold when the zygote is gone."""
        if not self._alive or self._proc is None or self._proc.stdin is None:
            return spawn_cold(task, files, cwd)
        with self._lock:
            ident = self._next_id
            self._next_id += 1
            try:
                self._proc.stdin.write(boundary.encode_message(
                    boundary.fork_request(files, dict(task.env), ident)))
                self._proc.stdin.flush()
            except (BrokenPipeError, OSError):
                return spawn_cold(task, files, cwd)
        with self._changed:
            self._changed.wait_for(lambda: ident in self._pids or not self._alive)
            if ident not in self._pids:
                return spawn_cold(task, files, cwd)
            return _WarmChild(self, self._pids.pop(ident))

    def _wait(self, pid: int, timeout: float | None) -> int:
        with self._changed:
            done = self._changed.wait_for(
                lambda: pid in self._exits or not self._alive, timeout=timeout)
            if pid in self._exits:
                return self._exits.pop(pid)
            if not done:
                raise subprocess.TimeoutExpired(f"warm child {pid}", timeout or 0.0)
        raise ChildProcessError(f"the warm-start process died while child {pid} ran")

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
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


class _WarmChild:
    """A forked child as the launcher sees it: a pid and a ``wait``."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self._zygote = zygote
        self.pid = pid
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                self.returncode = self._zygote._wait(self.pid, timeout)
            except ChildProcessError:
                self.returncode = -9
        return self.returncode
