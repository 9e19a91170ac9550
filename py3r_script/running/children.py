"""The children this process is running, so that stopping a sweep kills them all at once.

Every child a launcher starts is registered here while it runs (and watched by this
process's :class:`~py3r_script.child.sentinel.Sentinel`, which kills it if this process dies
first); :func:`cancel_running` kills them all, and those registered afterwards too, until
:func:`allow_launches` opens the next sweep.
"""

from __future__ import annotations

import os
import threading
from typing import Protocol

from ..child import processes
from ..child.sentinel import Sentinel

__all__ = ["ChildHandle", "add", "allow_launches", "cancel_running", "discard"]


class ChildHandle(Protocol):
    """A started child: ``subprocess.Popen`` for a cold start, a forked child for a warm one."""

    pid: int

    def wait(self, timeout: float | None = None) -> int: ...


class _LiveChildren:
    """The registry: a child registered late (started by a worker thread while the sweep was
    being stopped) is killed as it registers, until ``reset`` for the next sweep."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: dict[int, tuple[ChildHandle, bytes]] = {}
        self.cancelled: set[int] = set()
        self._stopping = False
        self._sentinel = Sentinel()
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


def add(proc: ChildHandle, tag: bytes) -> None:
    """Register a started child, whose processes carry ``tag``, until :func:`discard`.

    Examples
    --------
    >>> add(proc, boundary.iteration_tag(files))  # doctest: +SKIP
    """
    _LIVE.add(proc, tag)


def discard(proc: ChildHandle) -> bool:
    """Forget a child that ended; True when :func:`cancel_running` killed it.

    Examples
    --------
    >>> discard(proc)  # doctest: +SKIP
    False
    """
    return _LIVE.discard(proc)


def cancel_running() -> int:
    """Kill every child (and its process group) this process is running; return how many.

    Children that register afterwards are killed too, until :func:`allow_launches`.

    Examples
    --------
    >>> cancel_running()  # doctest: +SKIP
    2
    """
    return _LIVE.kill_all()


def allow_launches() -> None:
    """Start of a sweep: children may run again after an earlier :func:`cancel_running`.

    Examples
    --------
    >>> allow_launches()  # doctest: +SKIP
    """
    _LIVE.reset()
