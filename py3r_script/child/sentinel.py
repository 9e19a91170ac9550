"""The sentinel: a small process that kills a launching process's iterations when it dies.

A driver killed with SIGKILL, or a Dask worker the out-of-memory killer took, cannot kill
the children it was running. Each launching process therefore tells one sentinel (started
with the first iteration it watches) which iterations run; when the launching process ends,
however it ends, the sentinel kills what is still watched. Its command line and the lines
it reads are defined in :mod:`~py3r_script.child.boundary`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

from . import boundary

__all__ = ["Sentinel"]


class Sentinel:
    """A small process that kills the watched iterations when this process ends, however.

    The end of its pipe (this process exited, or was killed) makes it kill what is still
    watched: each process group, and every process carrying its iteration's tag (found through
    ``/proc``; without it, the groups only). It runs in its own session, so a Ctrl-C in the
    terminal does not reach it; it starts with the first watched iteration and ends with this
    process.

    Examples
    --------
    >>> sentinel = Sentinel()
    >>> sentinel.watch(child.pid, boundary.iteration_tag(files))  # doctest: +SKIP
    >>> sentinel.unwatch(child.pid)  # the child ended: nothing to kill  # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: dict[int, bytes] = {}
        self._pid: int | None = None
        self._fd: int | None = None
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forget)

    def watch(self, pgid: int, tag: bytes) -> None:
        """Kill group ``pgid`` and the processes tagged ``tag`` if this process dies first."""
        with self._lock:
            self._watched[pgid] = tag
            self._send(boundary.sentinel_line(pgid, tag))

    def unwatch(self, pgid: int) -> None:
        """Group ``pgid`` is over: nothing of it to kill any more."""
        with self._lock:
            if self._watched.pop(pgid, None) is not None:
                self._send(boundary.sentinel_line(pgid, None))

    def _send(self, line: bytes) -> None:
        for _ in range(2):
            if self._fd is None and not self._start():
                return
            assert self._fd is not None
            try:
                os.write(self._fd, line)
                return
            except OSError:  # it died (killed by someone): start another one
                self._close()

    def _start(self) -> bool:
        if not sys.executable or not hasattr(os, "posix_spawn"):
            return False
        read, write = os.pipe()
        devnull = os.open(os.devnull, os.O_RDWR)
        # Only fds 0-2 are handed over: Python opens every other one non-inheritable, and
        # the sentinel must hold nothing open that someone waits to see closed (a pipe).
        actions = [(os.POSIX_SPAWN_DUP2, read, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
                   (os.POSIX_SPAWN_DUP2, devnull, 2)]
        argv = boundary.sentinel_command(sys.executable)
        try:
            try:
                self._pid = os.posix_spawn(sys.executable, argv, os.environ,
                                           file_actions=actions, setsid=True)
            except NotImplementedError:  # a libc without POSIX_SPAWN_SETSID
                self._pid = os.posix_spawn(sys.executable, argv, os.environ,
                                           file_actions=actions, setpgroup=0)
        except OSError:
            os.close(write)
            return False
        finally:
            os.close(read)
            os.close(devnull)
        self._fd = write
        for pgid, tag in self._watched.items():  # a replacement takes over the watch list
            os.write(write, boundary.sentinel_line(pgid, tag))
        return True

    def _close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        if self._pid is not None:
            with contextlib.suppress(OSError):
                os.waitpid(self._pid, os.WNOHANG)
        self._fd = self._pid = None

    def _forget(self) -> None:
        """In a forked child: the parent's sentinel watches the parent's iterations."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._lock = threading.Lock()
        self._watched = {}
        self._fd = self._pid = None
