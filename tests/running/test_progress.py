"""The progress bar: on stderr, never in the records, shown by default only on a terminal
or in a notebook (not in CI), counting failures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from py3r_script import sensitivity

RAISE_AT_2_SCRIPT = """
import os
from py3r_script import Output, Param
x = Param(0, name="x")
Output(os.getpid(), name="pid")
if x == 2:
    raise ValueError(f"bad x {x}")
Output(x, name="x_out")
"""

PRINTING_SCRIPT = """
import sys
from py3r_script import Output, Param
x = Param(0, name="x")
print(f"child-out {x}")
print(f"child-err {x}", file=sys.stderr)
Output(x, name="x_out")
"""

X4 = {"x": [0, 1, 2, 3]}


@pytest.mark.parametrize("progress", [False, None])
def test_no_progress_writes_nothing_to_the_drivers_streams(write_script, capfd, progress):
    capfd.readouterr()
    sr = sensitivity(write_script(PRINTING_SCRIPT), {"x": [0, 1, 2]}, progress=progress)
    out, err = capfd.readouterr()
    assert all(r.ok for r in sr.records)
    assert err == ""
    assert out == ""


@pytest.mark.parametrize("max_workers", [1, 2])
def test_progress_bar_goes_to_stderr_and_never_into_records(write_script, capfd, max_workers):
    capfd.readouterr()
    sr = sensitivity(write_script(PRINTING_SCRIPT), {"x": [0, 1, 2]}, progress=True,
                     max_workers=max_workers)
    out, err = capfd.readouterr()
    assert "3/3" in err
    assert "child-" not in err and "child-" not in out  # children's output is captured
    assert "3/3" not in out
    for record in sr.records:
        x = record.params["x"]
        assert record.stdout == f"child-out {x}\n"
        assert record.stderr == f"child-err {x}\n"


def test_progress_bar_counts_failures(write_script, capfd):
    capfd.readouterr()
    sr = sensitivity(write_script(RAISE_AT_2_SCRIPT), X4, progress=True)
    _, err = capfd.readouterr()
    assert [r.status for r in sr.records] == ["ok", "ok", "error", "ok"]
    assert "4/4" in err
    assert "failed=1" in err
    assert "\x1b" not in sr.records[2].stderr and "it/s" not in sr.records[2].stderr


# -- progress shown by default when interactive ------------------------------------------------

PROGRESS_DRIVER = """
import sys
from py3r_script import sensitivity
sensitivity(sys.argv[1], {"x": [1, 2, 3]})  # progress=None: shown when interactive
print("DONE", flush=True)
"""


def _driver_output_on_a_terminal(script: Path, env: dict[str, str], columns: int = 100) -> str:
    """Run a sweep with stderr on a pseudo-terminal ``columns`` wide (0: a terminal that
    reports no size); return what the terminal received."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    rows = 30 if columns else 0
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    try:
        proc = subprocess.Popen([sys.executable, "-c", PROGRESS_DRIVER, str(script)],
                                stdout=subprocess.PIPE, stderr=slave, env=env)
        os.close(slave)
        received = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            received += chunk
        out, _ = proc.communicate(timeout=60)
    finally:
        os.close(master)
    assert proc.returncode == 0
    assert out.decode().strip() == "DONE"
    return received.decode(errors="replace")


@pytest.mark.parametrize(("ci", "columns"), [(None, 100), (None, 0), ("1", 100)],
                         ids=["interactive", "terminal without a size", "CI=1"])
def test_progress_bar_shows_by_default_on_a_terminal(write_script, ci, columns):
    script = write_script(RAISE_AT_2_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    shown = _driver_output_on_a_terminal(script, env, columns)
    if ci is None:
        assert "4/4" in shown
        assert "failed=1" in shown
    else:
        assert shown == ""


def test_progress_bar_stays_silent_by_default_off_a_terminal(write_script):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    proc = subprocess.run([sys.executable, "-c", PROGRESS_DRIVER,
                           str(write_script(RAISE_AT_2_SCRIPT))],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
