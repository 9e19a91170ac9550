"""What launching processes killed outright leave on disk is cleared when the next sweep
starts: iteration folders in the temporary folder, stop files in the working folder. What
a live process, another user or an older version made is left alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SLEEPY_SCRIPT = """
import os, time
from py3r_script import Output, Param

x = Param(0, name="x")
if x > 0:
    with open(os.path.join({folder!r}, f"{{x}}.tmp"), "w") as handle:
        handle.write(str(os.getpid()))
    os.replace(os.path.join({folder!r}, f"{{x}}.tmp"), os.path.join({folder!r}, f"{{x}}.pids"))
    time.sleep(60)
Output(x, name="x_out")
"""

SWEEP_DRIVER = """
import sys
from py3r_script import sensitivity
values = [int(v) for v in sys.argv[2].split(",") if v]
sensitivity(sys.argv[1], {"x": values}, max_workers=2, progress=False)
print("FINISHED", flush=True)
"""


def _driver(script: Path, values: str, tmpdir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SWEEP_DRIVER, str(script), values],
        env=dict(os.environ, TMPDIR=str(tmpdir)), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


def _iteration_dirs(tmpdir: Path) -> set[str]:
    return {p.name for p in tmpdir.iterdir() if p.name.startswith("py3r-script-")}


def _settled(tmpdir: Path, count: int, timeout: float = 10.0) -> set[str]:
    """The iteration folders, once there are ``count`` of them."""
    deadline = time.monotonic() + timeout
    while len(found := _iteration_dirs(tmpdir)) != count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_a_killed_drivers_iteration_folders_go_when_the_next_sweep_starts(
    tmp_path, write_script, procs
):
    tmpdir, pid_dir = tmp_path / "tmp", tmp_path / "pids"
    tmpdir.mkdir()
    pid_dir.mkdir()
    script = write_script(SLEEPY_SCRIPT.format(folder=str(pid_dir)))
    live = _driver(script, "3", tmpdir)  # a second sweep, running all along
    killed = None
    pids: list[int] = []
    try:
        pids = procs.wait_for_pid_files(live, pid_dir, [3])
        live_dirs = _settled(tmpdir, 1)  # once its quick nominal run is over
        killed = _driver(script, "1,2", tmpdir)
        pids += procs.wait_for_pid_files(killed, pid_dir, [1, 2])
        killed_dirs = _settled(tmpdir, 3) - live_dirs
        assert len(live_dirs) == 1 and len(killed_dirs) == 2, (live_dirs, killed_dirs)
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
        assert procs.wait_gone(pids[1:]) == []
        assert _iteration_dirs(tmpdir) == live_dirs | killed_dirs
        older = tmpdir / "py3r-script-0123abcd-k2j_9x1a"  # an older version's: whose?
        older.mkdir()
        foreign = tmpdir / (min(killed_dirs).rsplit("-", 1)[0] + "-another1")  # same owner,
        foreign.mkdir()  # but another user's
        foreign_user = os.geteuid() == 0
        if foreign_user:
            os.chown(foreign, 65534, 65534)

        after = _driver(script, "-1", tmpdir)  # the next sweep: two quick runs
        out, err = after.communicate(timeout=60)
        assert "FINISHED" in out, err
        expected = live_dirs | {older.name} | ({foreign.name} if foreign_user else set())
        if not foreign_user:
            foreign.rmdir()
        assert _iteration_dirs(tmpdir) == expected
        assert live.poll() is None, "the live sweep was disturbed"
    finally:
        for driver in (live, killed):
            if driver is not None:
                procs.kill_driver_group(driver)
        procs.kill_leftovers(pids)


def test_a_name_says_whose_it_is():
    from py3r_script.child import boundary
    from py3r_script.running import leftovers

    mine = leftovers.owner_token()
    prefix = boundary.iteration_dir_prefix("3f2a", mine)
    assert boundary.iteration_dir_owner(prefix + "k2j_9x1a") == mine
    assert not leftovers.owner_gone(mine)
    pid, started, machine = boundary.read_owner(mine)
    assert pid == os.getpid()
    if started:  # with /proc: the same pid with another start time is another process
        assert leftovers.owner_gone(boundary.owner_token(pid, started + 1, machine))
        assert not leftovers.owner_gone(boundary.owner_token(pid, started, "0badc0de"))
    for name in ("py3r-script-3f2a-k2j_9x1a", "py3r-script-1.2-k2j_9x1a", "other"):
        assert boundary.iteration_dir_owner(name) is None


STOPPING_DRIVER = """
import sys, time
from py3r_script.running.leftovers import owner_token
from py3r_script.running.stopping import stop_file

open(stop_file(sys.argv[1], "s1", owner_token()), "w").close()  # an interrupted sweep's
print("RAISED", flush=True)
time.sleep(60)
"""


def test_the_stop_file_of_a_killed_driver_goes_when_the_next_sweep_starts(
    tmp_path, write_script, monkeypatch
):
    from py3r_script import run
    from py3r_script.running.leftovers import owner_token
    from py3r_script.running.stopping import stop_file

    folder = tmp_path / "runs"
    folder.mkdir()
    driver = subprocess.Popen([sys.executable, "-c", STOPPING_DRIVER, str(folder)],
                              stdout=subprocess.PIPE, text=True)
    assert driver.stdout.readline().strip() == "RAISED"
    (dead,) = folder.glob(".py3r-script-stop-s1-*")
    driver.kill()  # SIGKILL: no chance to remove it
    driver.communicate()
    live = Path(stop_file(str(folder), "s2", owner_token()))  # this process's: it lives
    older = folder / ".py3r-script-stop-s3"  # an older version's: whose?
    foreign = folder / (dead.name.replace("-s1-", "-s4-"))  # a dead owner, another user's
    for path in (live, older, foreign):
        path.touch()
    if os.geteuid() == 0:
        os.chown(foreign, 65534, 65534)
    else:
        foreign.unlink()

    monkeypatch.chdir(folder)  # where iterations run, and stop files go
    assert run(write_script(SLEEPY_SCRIPT.format(folder=str(tmp_path)))).records[0].ok
    left = {p.name for p in folder.glob(".py3r-script-stop-*")}
    assert left == {p.name for p in (live, older, foreign) if p.exists()}
    assert not dead.exists()
