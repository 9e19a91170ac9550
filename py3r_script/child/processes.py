"""An iteration's processes: finding them wherever they went, and killing them.

A child runs in its own session, so its process group holds what it starts, unless a
process leaves the group (``start_new_session=True``, a double-fork daemon). Every process
an iteration starts also inherits the iteration's payload path in its environment (the
variables of ``boundary``), so it is found through ``/proc`` even outside the group, as long
as it keeps that environment (a :class:`~py3r_script.child.sentinel.Sentinel` does the
killing for a launching process that died). :func:`identity` lets a worker notice that the
sweep's driver is gone.
"""

from __future__ import annotations

import contextlib
import os
import signal

from . import procfs

__all__ = ["group_alive", "identity", "is_gone", "kill_group", "kill_tagged", "stop_iteration",
           "tagged"]

_PASSES = 5  # rounds of "find, kill": a process forking while it is found is caught next round


def kill_group(pgid: int) -> None:
    """Kill process group ``pgid`` (never this process's own, nor init's).

    Examples
    --------
    >>> kill_group(os.getpgrp())  # refused: an iteration's group is always its own
    """
    if pgid <= 1 or pgid == os.getpgrp():
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies waiting to be reaped do not).

    Examples
    --------
    >>> group_alive(os.getpgrp())
    True
    """
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        entries = os.listdir(procfs.PROC_ROOT)
    except OSError:  # no /proc: a zombie cannot be told from a running process
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        fields = procfs.stat_fields(entry)
        if fields is not None and int(fields[procfs.GROUP]) == pgid \
                and procfs.pid_alive(int(entry)):
            return True
    return False


def tagged(tag: bytes) -> list[int]:
    """The running processes (this one aside) whose environment contains ``tag``.

    ``/proc/<pid>/environ`` is the environment a process was started with; a zombie's is
    empty, so the dead are never found. Other users' processes cannot be read: they are no
    iteration's.

    Examples
    --------
    >>> tagged(b"=/tmp/py3r-script-no-such-iteration/payload.pkl\\0")
    []
    """
    try:
        entries = os.listdir(procfs.PROC_ROOT)
    except OSError:  # no /proc (macOS): nothing can be found by its environment
        return []
    me = str(os.getpid())
    found = []
    for entry in entries:
        if not entry.isdigit() or entry == me:
            continue
        try:
            with open(procfs.path(entry, "environ"), "rb") as handle:
                if tag in handle.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def stop_iteration(pgid: int, tag: bytes | None) -> bool:
    """Kill an iteration's process group and every process carrying its ``tag``.

    Returns whether any of them was still running.

    Examples
    --------
    >>> stop_iteration(proc.pid, boundary.iteration_tag(files))  # doctest: +SKIP
    False
    """
    running = group_alive(pgid)
    kill_group(pgid)
    if tag and kill_tagged(tag):
        running = True
    return running


def kill_tagged(tag: bytes) -> bool:
    """Kill every process carrying ``tag`` (and its process group); True when there was one.

    Examples
    --------
    >>> kill_tagged(boundary.sweep_tag("3f2a"))  # doctest: +SKIP
    False
    """
    found_any = False
    for _ in range(_PASSES):
        found = tagged(tag)
        if not found:
            break
        found_any = True
        for pid in found:
            try:
                pgid = os.getpgid(pid)
            except ProcessLookupError:
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            kill_group(pgid)
    return found_any


# -- who is the driver ----------------------------------------------------------------------

_machine: str | None = None


def _machine_key() -> str | None:
    """This kernel's boot and pid namespace: pids compare only between equal keys.

    Only a key read is kept: a failure (no ``/proc``, no file descriptor left) is not.
    """
    global _machine
    if _machine is None:
        try:
            with open(procfs.path("sys", "kernel", "random", "boot_id")) as handle:
                boot = handle.read().strip()
            _machine = f"{boot}/{os.readlink(procfs.path('self', 'ns', 'pid'))}"
        except OSError:
            return None
    return _machine


def identity(pid: int | None = None) -> tuple[str, int, int] | None:
    """A process (this one by default) as any process of the machine can recognise it:
    machine key, pid and start time (a reused pid has another). ``None`` without ``/proc``.

    Examples
    --------
    >>> identity()[1] == os.getpid()
    True
    """
    pid = os.getpid() if pid is None else pid
    machine = _machine_key()
    started = procfs.start_time(pid)
    if machine is None or started is None:
        return None
    return (machine, pid, started)


def is_gone(process: tuple[str, int, int]) -> bool:
    """True when ``process`` (from :func:`identity`) ran on this machine and has ended.

    From another machine (or a container with its own pids) nothing can be told: False.

    Examples
    --------
    >>> is_gone(identity())
    False
    """
    machine, pid, started = process
    if machine != _machine_key():
        return False
    return procfs.start_time(pid) != started
