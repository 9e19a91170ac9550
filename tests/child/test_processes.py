"""An iteration's processes: reading their state, finding them by group or tag, killing them,
and the sentinel that kills them for a launching process that died."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from py3r_script.child import processes, procfs

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


def _wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def started():
    """Start processes for a test (``started(argv, **popen)``); kill them all afterwards."""
    procs: list[subprocess.Popen] = []

    def start(argv, **options) -> subprocess.Popen:
        proc = subprocess.Popen(argv, **options)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        for kill in (os.killpg, os.kill):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(proc.pid, signal.SIGKILL)
        proc.wait()


def test_stat_fields_of_this_process_and_of_none():
    for pid in ("self", os.getpid()):
        fields = procfs.stat_fields(pid)
        assert fields is not None and fields[0] == b"R"  # running: it is reading
        assert int(fields[procfs.GROUP]) == os.getpgrp()
    assert procfs.stat_fields(2**22 + 1) is None  # above any pid_max: no such process


def test_a_zombie_is_not_alive_and_has_no_start_time(started):
    proc = started([sys.executable, "-c", "pass"])
    assert _wait_until(lambda: procfs.stat_fields(proc.pid)[0] == b"Z")  # exited, unreaped
    assert not procfs.pid_alive(proc.pid)
    assert procfs.start_time(proc.pid) is None
    proc.wait()
    assert not procfs.pid_alive(proc.pid)


def test_identity_tells_a_running_process_from_an_ended_one(started):
    proc = started(SLEEP)
    me = processes.identity(proc.pid)
    assert me is not None and me[1] == proc.pid
    assert procfs.pid_alive(proc.pid)
    assert not processes.is_gone(me)
    proc.kill()
    proc.wait()
    assert processes.is_gone(me)
    assert not processes.is_gone(("another machine", proc.pid, me[2]))  # cannot tell: no


def test_stop_iteration_kills_the_group_with_its_grandchildren(started):
    proc = started([sys.executable, "-c",
                    "import subprocess, sys, time; "
                    "print(subprocess.Popen(['sleep', '60']).pid, flush=True); time.sleep(60)"],
                   stdout=subprocess.PIPE, start_new_session=True, text=True)
    grandchild = int(proc.stdout.readline())
    assert processes.group_alive(proc.pid)
    assert processes.stop_iteration(proc.pid, None) is True  # something was running
    proc.wait()
    assert _wait_until(lambda: not procfs.pid_alive(grandchild))
    assert not processes.group_alive(proc.pid)
    assert processes.stop_iteration(proc.pid, None) is False  # nothing left
    proc.stdout.close()


def test_a_tagged_process_outside_the_group_is_found_and_killed(started, tmp_path):
    tag = f"=/tmp/py3r-script-test-{os.getpid()}/payload.pkl\0".encode()
    env = dict(os.environ, PY3R_SCRIPT_WORKER_PAYLOAD=tag[1:-1].decode())
    proc = started(SLEEP, env=env, start_new_session=True)
    assert _wait_until(lambda: proc.pid in processes.tagged(tag))
    assert processes.tagged(tag + b"other") == []
    assert processes.kill_tagged(tag) is True
    proc.wait(timeout=5)
    assert processes.tagged(tag) == []
    assert processes.kill_tagged(tag) is False


def test_kill_group_never_kills_its_own_group():
    processes.kill_group(os.getpgrp())
    processes.kill_group(1)
    assert procfs.pid_alive(os.getpid())


SENTINEL_OWNER = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
from py3r_script.child.sentinel import Sentinel
sentinel = Sentinel()
sentinel.watch(int(sys.argv[2]), b"=no-such-tag\\0")
sentinel.watch(int(sys.argv[3]), b"=no-such-tag\\0")
sentinel.unwatch(int(sys.argv[3]))  # ended on its own: to be left alone
print("watching", flush=True)
time.sleep(60)
"""


def test_the_sentinel_kills_what_is_watched_when_its_owner_is_killed(started):
    from py3r_script.child.boundary import PACKAGE_PARENT

    watched = started(SLEEP, start_new_session=True)
    unwatched = started(SLEEP, start_new_session=True)
    owner = started([sys.executable, "-c", SENTINEL_OWNER, PACKAGE_PARENT, str(watched.pid),
                     str(unwatched.pid)], stdout=subprocess.PIPE, text=True)
    assert owner.stdout.readline().strip() == "watching"
    owner.kill()  # as the out-of-memory killer would: no chance to clean up
    owner.wait()
    owner.stdout.close()
    assert watched.wait(timeout=5) == -signal.SIGKILL
    assert unwatched.poll() is None
