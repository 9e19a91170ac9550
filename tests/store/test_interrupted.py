"""A sweep whose driver was killed is marked ``interrupted`` by the next opening of its study:
``load``, ``show``, a sweep or a merge; read-only, it is shown so without being written.

The driver is a real process, SIGKILLed mid-sweep; a process given the same pid later is
told from it by when it started.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from py3r_script import load, merge, sensitivity
from py3r_script.cli.main import main


@pytest.fixture
def killed(tmp_path, write_script, peek, procs) -> tuple[Path, Path]:
    """A study whose driver was SIGKILLed while its second iteration ran, and the script;
    its files (database, log and its index) are as the driver left them."""
    db = tmp_path / "killed" / "study.db"
    db.parent.mkdir()
    script = write_script(
        "import time\n"
        "from py3r_script import Output, Param\n"
        'x = Param(0, name="x")\n'
        "if x == 1:\n"
        "    time.sleep(60)\n"
        'Output(x * 10, name="y")\n'
    )
    call = (f"py3r_script.sensitivity({str(script)!r}, {{'x': [1]}}, store={str(db)!r}, "
            "progress=False)")
    driver = procs.start(procs.write_driver(tmp_path / "driver.py", call), tmp_path / "err")
    orphans = procs.kill_driver(driver, lambda: peek.committed(db) >= 1,
                                "the first committed iteration", tmp_path / "err")
    for pid in orphans:  # the sleeping child is in its own session: end it too
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    assert _status(peek, db) == ["running"]
    return db, script


def _status(peek, db: Path) -> list[str]:
    return [r[0] for r in peek.query(db, "SELECT status FROM sweeps ORDER BY sweep_seq")]


def _copy(db: Path, folder: Path) -> Path:
    """The study with its log and index, as they are, in ``folder``."""
    folder.mkdir(exist_ok=True)
    for path in db.parent.glob(f"{db.name}*"):
        shutil.copy2(path, folder / path.name)
    return folder / db.name


def test_every_opening_marks_a_killed_sweep_interrupted(killed, tmp_path, peek, capsys):
    db, script = killed
    copies = {how: _copy(db, tmp_path / how) for how in ("load", "show", "sweep", "merge")}

    assert len(load(copies["load"]).records) == 1
    assert _status(peek, copies["load"]) == ["interrupted"]

    assert main(["show", str(copies["show"])]) == 0
    assert ",interrupted," in capsys.readouterr().out
    assert _status(peek, copies["show"]) == ["interrupted"]

    sensitivity(script, {"x": [2]}, store=copies["sweep"], progress=False)
    assert _status(peek, copies["sweep"]) == ["interrupted", "finished"]

    target = tmp_path / "all.db"
    assert merge(target, copies["merge"]) == 1
    assert _status(peek, target) == ["interrupted"]


def test_a_read_only_study_shows_a_killed_sweep_interrupted_unchanged(killed, unprivileged):
    db = _copy(killed[0], unprivileged.folder / "shared")
    files = sorted(db.parent.iterdir())
    assert [f.name for f in files] == ["study.db", "study.db-shm", "study.db-wal"]
    unprivileged.read_only(db.parent, *files)
    before = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]

    shown = unprivileged.cli("show", db)
    assert shown.returncode == 0, shown.stderr
    assert ",interrupted," in shown.stdout
    assert [hashlib.sha256(f.read_bytes()).hexdigest() for f in files] == before


def test_a_process_given_the_drivers_pid_later_is_not_the_driver(tmp_path, counting_script,
                                                                 peek):
    db = tmp_path / "study.db"
    script = counting_script(tmp_path / "counter.txt")
    for label in ("stale", "live"):
        sensitivity(script, {"x": [1]}, store=db, label=label, progress=False)
    # a process that runs now, started long after the 'stale' sweep began: its pid was
    # the stale sweep's driver's, given again; this test's process drives 'live'
    impostor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        an_hour_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
        with closing(sqlite3.connect(db)) as con, con:
            con.execute("UPDATE sweeps SET status = 'running', driver_pid = ?, created_utc = ? "
                        "WHERE label = 'stale'", (impostor.pid, an_hour_ago.isoformat()))
            con.execute("UPDATE sweeps SET status = 'running', driver_pid = ? "
                        "WHERE label = 'live'", (os.getpid(),))
        load(db)
        assert _status(peek, db) == ["interrupted", "running"]
    finally:
        impostor.kill()
        impostor.wait()
