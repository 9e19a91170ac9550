"""An iteration's processes: finding them wherever they went, and killing them.

A child runs in its own session, so its process group holds what it starts, unless a
process leaves the group (``start_new_session=True``, a double-fork daemon). Every process
an iteration starts also inherits the iteration's payload path in its environment (the
variables of ``boundary``), so it is found through ``/proc`` even outside the group, as long
as it keeps that environment. A :class:`Sentinel`, one per launching process, kills the
iterations that process runs when it dies (a driver killed with SIGKILL, a lost Dask
worker), and :func:`identity` lets a worker notice that the sweep's driver is gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

__all__ = ["Sentinel", "group_alive", "identity", "is_gone", "stop_iteration", "tagged"]

_PASSES = 5  # rounds of "find, kill": a process forking while it is found is caught next round


def kill_group(pgid: int) -> None:
    if pgid <= 1 or pgid == os.getpgrp():
        return  # never our own group (nor init's): an iteration's group is always its own
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies waiting to be reaped do not)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    if not os.path.isdir("/proc"):
        return True
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def tagged(tag: bytes) -> list[int]:
    """The running processes (this one aside) whose environment contains ``tag``.

    ``/proc/<pid>/environ`` is the environment a process was started with; a zombie's is
    empty, so the dead are never found. Other users' processes cannot be read: they are no
    iteration's.
    """
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    me = str(os.getpid())
    found = []
    for entry in entries:
        if not entry.isdigit() or entry == me:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                if tag in handle.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def stop_iteration(pgid: int, tag: bytes | None) -> bool:
    """Kill an iteration's process group and every process carrying its ``tag``.

    Returns whether any of them was still running.
    """
    running = group_alive(pgid)
    kill_group(pgid)
    if tag and kill_tagged(tag):
        running = True
    return running


def kill_tagged(tag: bytes) -> bool:
    """Kill every process carrying ``tag`` (and its process group); True when there was one."""
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
    """This kernel's boot and pid namespace: pids compare only between equal keys."""
    global _machine
    if _machine is None:
        try:
            with open("/proc/sys/kernel/random/boot_id") as handle:
                boot = handle.read().strip()
            _machine = f"{boot}/{os.readlink('/proc/self/ns/pid')}"
        except OSError:
            _machine = ""
    return _machine or None


def _start_time(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    if fields[0] in (b"Z", b"X"):
        return None  # dead, not yet reaped
    return int(fields[19])


def identity(pid: int | None = None) -> tuple[str, int, int] | None:
    """A process (this one by default) as any process of the machine can recognise it:
    machine key, pid and start time (a reused pid has another). ``None`` without ``/proc``."""
    pid = os.getpid() if pid is None else pid
    machine = _machine_key()
    started = _start_time(pid)
    if machine is None or started is None:
        return None
    return (machine, pid, started)


def is_gone(process: tuple[str, int, int]) -> bool:
    """True when ``process`` (from :func:`identity`) ran on this machine and has ended.

    From another machine (or a container with its own pids) nothing can be told: False.
    """
    machine, pid, started = process
    if machine != _machine_key():
        return False
    return _start_time(pid) != started


# -- the sentinel ---------------------------------------------------------------------------

_SENTINEL_CODE = """\
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
watched, pending = {}, b""
while True:
    chunk = os.read(0, 65536)
    if not chunk:
        break
    *lines, pending = (pending + chunk).split(b"\\n")
    for line in lines:
        fields = line.split()
        if fields[0] == b"+":
            watched[int(fields[1])] = bytes.fromhex(fields[2].decode())
        elif fields[0] == b"-":
            watched.pop(int(fields[1]), None)
if watched:
    sys.path.insert(0, sys.argv[1])
    from py3r_script.child.processes import stop_iteration
    for pgid, tag in watched.items():
        stop_iteration(pgid, tag)
"""


class Sentinel:
    """A small process that kills the watched iterations when this process ends, however.

    It reads ``+ pgid tag`` and ``- pgid`` lines on a pipe from this process; the end of the
    pipe (this process exited, or was killed) makes it kill what is still watched: each
    process group, and every process carrying its iteration's tag. It runs in its own
    session, so a Ctrl-C in the terminal does not reach it; it starts with the first
    watched iteration and ends with this process.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: dict[int, bytes] = {}
        self._pid: int | None = None
        self._fd: int | None = None
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forget)

    def watch(self, pgid: int, tag: bytes) -> None:
        with self._lock:
            self._watched[pgid] = tag
            self._send(f"+ {pgid} {tag.hex()}\n".encode())

    def unwatch(self, pgid: int) -> None:
        with self._lock:
            if self._watched.pop(pgid, None) is not None:
                self._send(f"- {pgid}\n".encode())

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
        if not sys.executable or not os.path.isdir("/proc"):
            return False
        package_parent = os.path.dirname(
            os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        read, write = os.pipe()
        devnull = os.open(os.devnull, os.O_RDWR)
        # Only fds 0-2 are handed over: Python opens every other one non-inheritable, and
        # the sentinel must hold nothing open that someone waits to see closed (a pipe).
        actions = [(os.POSIX_SPAWN_DUP2, read, 0), (os.POSIX_SPAWN_DUP2, devnull, 1),
                   (os.POSIX_SPAWN_DUP2, devnull, 2)]
        argv = [sys.executable, "-I", "-S", "-c", _SENTINEL_CODE, package_parent,
                "py3r-script-sentinel"]
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
            os.write(write, f"+ {pgid} {tag.hex()}\n".encode())
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
