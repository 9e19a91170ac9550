"""One process as the kernel shows it: its ``/proc/<pid>/stat`` fields, and whether it runs.

The only place that parses ``/proc/<pid>/stat`` and decides whether a process is alive (a
zombie waiting to be reaped is not), and the one place that names ``/proc``
(:data:`PROC_ROOT`). Without it (macOS) every function here answers "cannot tell" instead
of failing. A child imports it, so it imports nothing but ``os``.
"""

from __future__ import annotations

import os

__all__ = ["CHILD_MINOR_FAULTS", "GROUP", "PROC_ROOT", "path", "pid_alive", "start_time",
           "started_at", "stat_fields"]

PROC_ROOT = "/proc"
"""Where the kernel shows its processes (Linux; macOS has none)."""

# Indices in stat_fields(): the fields of proc(5) after the command name, the state first.
_STATE = 0
GROUP = 2
CHILD_MINOR_FAULTS = 8  # cminflt: page faults of the children waited for
_START_TIME = 19
_DEAD = (b"Z", b"X")  # a zombie, not yet reaped; or dead


def path(*parts: object) -> str:
    """A path under :data:`PROC_ROOT`.

    Examples
    --------
    >>> path(42, "environ")
    '/proc/42/environ'
    """
    return os.path.join(PROC_ROOT, *map(str, parts))


def stat_fields(pid: int | str = "self") -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (``None``: no such
    process, or no ``/proc``).

    Examples
    --------
    >>> int(stat_fields()[GROUP]) == os.getpgrp()
    True
    """
    try:
        with open(path(pid, "stat"), "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _running(fields: list[bytes]) -> bool:
    return fields[_STATE] not in _DEAD


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (a zombie waiting to be reaped does not).

    Examples
    --------
    >>> pid_alive(os.getpid())
    True
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's: it exists
    fields = stat_fields(pid)
    return fields is None or _running(fields)


def start_time(pid: int | str = "self") -> int | None:
    """When process ``pid`` started (clock ticks after boot); ``None`` once it has ended, or
    without ``/proc``. With the pid, it tells a process from a later one given the same pid.

    Examples
    --------
    >>> start_time() == start_time(os.getpid())
    True
    """
    fields = stat_fields(pid)
    if fields is None or not _running(fields):
        return None
    return int(fields[_START_TIME])


def started_at(pid: int | str = "self") -> float | None:
    """When process ``pid`` started, in seconds since the epoch, to the clock tick (``None``
    once it has ended, or without ``/proc``): what a time recorded elsewhere can be compared
    with.

    Examples
    --------
    >>> import time
    >>> started_at() <= time.time()
    True
    """
    ticks = start_time(pid)
    if ticks is None:
        return None
    try:
        with open(path("stat"), "rb") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith(b"btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")
