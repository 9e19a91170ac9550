"""Where there is no ``/proc`` (macOS): every process question answers "cannot tell" instead
of failing, a sweep still runs, and what an iteration starts in its process group is still
killed, by a timeout or with a driver killed outright. Only processes that leave the group
cannot be found.

``/proc`` is hidden from the code under test where it reads files (``open``, ``os.listdir``,
``os.stat``...): in this process with ``monkeypatch``, in a driver started for a test by the
same code run first.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from py3r_script import run
from py3r_script.child import processes, procfs

HIDE_PROC = """
import builtins, os

def _is_proc(path):
    if isinstance(path, int):
        return False
    try:
        text = os.fsdecode(os.fspath(path))
    except TypeError:
        return False
    return text == "/proc" or text.startswith("/proc/")

def _hiding(real):
    def hidden(*args, **kwargs):
        if args and _is_proc(args[0]):
            raise FileNotFoundError(2, "No such file or directory (hidden)", str(args[0]))
        return real(*args, **kwargs)
    return hidden

def hide_proc(set_attribute):
    for owner, name in ((builtins, "open"), (os, "open"), (os, "listdir"), (os, "scandir"),
                        (os, "readlink"), (os, "stat"), (os, "lstat")):
        set_attribute(owner, name, _hiding(getattr(owner, name)))
"""
exec(HIDE_PROC)  # defines hide_proc, for this process's tests

GRANDCHILD_SCRIPT = """
import os, subprocess, time
from py3r_script import Output, Param

x = Param(0, name="x")
leave = Param(False, name="leave")
grandchild = subprocess.Popen(["sleep", "60"], start_new_session=leave)
with open(os.path.join({folder!r}, f"{{os.getpid()}}.pids"), "w") as handle:
    handle.write(f"{{os.getpid()}} {{grandchild.pid}}")
Output(grandchild.pid, name="grandchild")
time.sleep({sleep})
"""


@pytest.fixture
def no_proc(monkeypatch):
    """This process sees no ``/proc``."""
    hide_proc(monkeypatch.setattr)  # noqa: F821 (defined by HIDE_PROC)


_open = open  # the test itself sees /proc


def _gone(pid: int, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with _open(f"/proc/{pid}/stat") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def _kill(pids) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_every_process_question_says_cannot_tell(no_proc):
    sleeper = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        assert not os.path.isdir("/proc")  # hidden indeed
        assert procfs.stat_fields() is None and procfs.start_time() is None
        assert procfs.pid_alive(os.getpid()) and procfs.pid_alive(sleeper.pid)
        assert processes.identity() is None
        assert processes.tagged(b"=anything\0") == []
        assert processes.kill_tagged(b"=anything\0") is False
        assert processes.group_alive(sleeper.pid)  # it exists: cannot tell more
        assert processes.stop_iteration(sleeper.pid, b"=anything\0") is True
        assert sleeper.wait(timeout=5) == -signal.SIGKILL
    finally:
        _kill([sleeper.pid])
        sleeper.wait()


def test_a_sweep_runs_and_kills_the_group_at_the_timeout(no_proc, write_script, tmp_path):
    script = write_script(GRANDCHILD_SCRIPT.format(folder=str(tmp_path), sleep=60))
    (record,) = run(script, timeout=1.5, max_workers=2).records
    assert record.status == "timeout", record.error
    assert _gone(record.outputs["grandchild"])


@pytest.mark.xfail(strict=True, reason="without /proc a process that left the iteration's "
                   "group cannot be found (macOS): it outlives the iteration")
def test_a_process_that_left_the_group_is_killed(no_proc, write_script, tmp_path):
    script = write_script(GRANDCHILD_SCRIPT.format(folder=str(tmp_path), sleep=0))
    (record,) = run(script, {"leave": True}).records
    assert record.ok, record.error
    grandchild = record.outputs["grandchild"]
    try:
        assert _gone(grandchild, timeout=1.0)
    finally:
        _kill([grandchild])


KILLED_DRIVER = HIDE_PROC + """
hide_proc(setattr)
import sys
from py3r_script import sensitivity
sensitivity(sys.argv[1], {"x": [1, 2]}, max_workers=2, progress=False)
"""


def test_children_of_a_killed_driver_die_on_a_system_without_proc(write_script, tmp_path):
    folder = tmp_path / "pids"
    folder.mkdir()
    script = write_script(GRANDCHILD_SCRIPT.format(folder=str(folder), sleep=60))
    driver = subprocess.Popen([sys.executable, "-c", KILLED_DRIVER, str(script)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    pids: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(list(folder.glob("*.pids"))) < 2:
            assert driver.poll() is None, driver.communicate()
            assert time.monotonic() < deadline, "the iterations did not start"
            time.sleep(0.05)
        pids = [int(p) for f in folder.glob("*.pids") for p in f.read_text().split()]
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        alive = [pid for pid in pids if not _gone(pid)]
        assert alive == [], f"outlived their killed driver: {alive}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(driver.pid, signal.SIGKILL)
        driver.communicate()
        _kill(pids)
