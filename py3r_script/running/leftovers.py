"""What launching processes killed outright left on disk, found by the owner their names
carry and cleared when the next sweep starts.

A launching process (the driver, or an executor's worker) makes a private temporary folder
for each iteration it runs and removes it when the iteration ends; a driver stopping a sweep
that runs on an executor makes a stop file. A process killed with SIGKILL removes neither.
Each such name therefore carries its maker's :func:`owner_token` (pid, start time, machine),
and :func:`clear_dead_leftovers` removes those of makers that have ended on this machine:
never a live process's, another machine's, or another user's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable

from ..child import boundary, processes, procfs

__all__ = ["clear_dead_leftovers", "clear_iteration_dirs", "owner_gone", "owner_token",
           "remove_owned_files"]

_lock = threading.Lock()
_cleared: set[tuple[int, str | None]] = set()  # (pid, sweep) already cleared for
_digests: dict[str, str] = {}


def _renew_lock() -> None:
    """In a forked child: a lock another thread held at the fork would never be released."""
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_lock)


def _digest(machine: str | None) -> str | None:
    if machine is None:
        return None
    if machine not in _digests:
        import hashlib

        _digests[machine] = hashlib.sha256(machine.encode()).hexdigest()[:8]
    return _digests[machine]


def owner_token() -> str:
    """This process as the owner of what it leaves on disk (see
    :func:`~py3r_script.child.boundary.owner_token`).

    Examples
    --------
    >>> owner_token().split(".")[0] == str(os.getpid())
    True
    """
    me = processes.identity()
    if me is None:  # no /proc: the pid alone
        return boundary.owner_token(os.getpid(), None, None)
    machine, pid, started = me
    return boundary.owner_token(pid, started, _digest(machine))


def owner_gone(token: str) -> bool:
    """Whether the process of ``token`` ran on this machine and has ended.

    Where that cannot be told (another machine or pid namespace, not a token) it is not.
    Without a start time (no ``/proc``) a process with that pid counts as the owner.

    Examples
    --------
    >>> owner_gone(owner_token())
    False
    """
    owner = boundary.read_owner(token)
    me = processes.identity()
    if owner is None or owner[2] != _digest(None if me is None else me[0]):
        return False
    pid, started, _ = owner
    if started and me is not None:
        return procfs.start_time(pid) != started  # None: no such process, or a zombie
    return not procfs.pid_alive(pid)


def _owned(path: str, kind: Callable[[int], bool]) -> bool:
    """Whether ``path`` is this user's, and of ``kind`` (never through a symbolic link)."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return info.st_uid == os.getuid() and kind(info.st_mode)


def clear_iteration_dirs(folder: str | None = None) -> list[str]:
    """Remove the iteration folders in ``folder`` (the temporary folder) that processes of
    this user left when they were killed; return their paths.

    Examples
    --------
    >>> clear_iteration_dirs()  # doctest: +SKIP
    ['/tmp/py3r-script-3f2a...-4242.88231.0a1b2c3d-k2j_9x1a']
    """
    folder = folder or tempfile.gettempdir()
    return remove_owned_files(folder, boundary.iteration_dir_owner, directories=True)


def remove_owned_files(folder: str, owner_of: Callable[[str], str | None], *,
                       directories: bool = False) -> list[str]:
    """Remove the entries of ``folder`` whose name names (through ``owner_of``) an owner
    that has ended, and that are this user's; return their paths.

    Examples
    --------
    >>> remove_owned_files("/shared/runs", stop_file_owner)  # doctest: +SKIP
    []
    """
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    kind = stat.S_ISDIR if directories else stat.S_ISREG
    removed = []
    for name in names:
        token = owner_of(name)
        path = os.path.join(folder, name)
        if token is None or not owner_gone(token) or not _owned(path, kind):
            continue
        if directories:
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)
        removed.append(path)
    return removed


def clear_dead_leftovers(sweep_id: str | None) -> None:
    """At the first iteration of sweep ``sweep_id`` this process launches: clear the
    iteration folders that killed processes left in the temporary folder.

    Examples
    --------
    >>> clear_dead_leftovers(task.sweep_id)  # doctest: +SKIP
    """
    key = (os.getpid(), sweep_id)
    with _lock:
        if key in _cleared:
            return
        _cleared.add(key)
    clear_iteration_dirs()
