"""Several writers at once, and drivers killed mid-sweep: nothing committed is lost.

Real scripts run in real subprocesses against real SQLite files; the database is
inspected both through the public API and with plain ``sqlite3`` (the ``peek`` fixture).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from py3r_script import Study, load, sensitivity
from py3r_script.store.study import INLINE_LIMIT, SCHEMA_VERSION


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.parametrize("fresh", [
    pytest.param(False, id="existing-study"),
    pytest.param(True, id="fresh-study"),
])
def test_sigkill_mid_sweep_loses_nothing_and_resume_runs_only_missing(
    tmp_path, write_script, fresh, peek, procs
):
    counter = tmp_path / "counter.txt"
    pids = tmp_path / "pids.txt"
    db = tmp_path / "study.db"
    script = write_script(
        "import os\n"
        "import time\n"
        "from py3r_script import Output, Param\n"
        'x = Param(0, name="x")\n'
        f"with open({str(pids)!r}, 'a') as handle:\n"
        "    handle.write(f'{os.getpid()}\\n')\n"
        "time.sleep(0.3)\n"
        f"with open({str(counter)!r}, 'a') as handle:\n"
        "    handle.write(f'{x}\\n')\n"
        'Output(x * 10, name="y")\n'
    )
    values = list(range(1, 8))  # plus the nominal 0: 8 iterations
    if not fresh:
        Study(db).close()  # an existing (empty) study
    call = (f"py3r_script.sensitivity({str(script)!r}, {{'x': {values!r}}}, "
            f"store={str(db)!r}, progress=False)")
    driver = procs.start(procs.write_driver(tmp_path / "driver.py", call), tmp_path / "driver.err")
    # freeze the driver only to learn which child it is running, then SIGKILL it
    orphans = procs.kill_driver(driver, lambda: peek.committed(db) >= 2,
                                "two committed iterations", tmp_path / "driver.err")
    assert driver.returncode == -signal.SIGKILL
    # the child that was running is in its own session, so it survives the driver: let
    # it finish before counting what ran
    procs.wait_until(lambda: not any(procs.alive(p) for p in [*orphans, *map(int, _lines(pids))]),
                30, "the orphaned child to exit")

    # nothing that finished is lost, and the file is a valid database
    assert peek.integrity(db) == "ok"
    rows = peek.query(db, "SELECT * FROM iterations ORDER BY iteration_seq")
    committed = len(rows)
    # the killed driver's sweep no longer claims to be running
    with Study(db) as study:
        assert study.sweeps()["status"].tolist()[-1] == "interrupted"
    assert 2 <= committed < len(values) + 1
    done = [json.loads(r["params_json"])["x"] for r in rows]
    assert [r["status"] for r in rows] == ["ok"] * committed
    assert [r["iteration_seq"] for r in rows] == list(range(committed))
    for row, x in zip(rows, done):
        outs = peek.query(db, "SELECT name, value FROM outputs WHERE iteration_id = ?",
                      [row["iteration_id"]])
        assert [(o["name"], o["value"]) for o in outs] == [("y", 10 * x)]
        params = peek.query(db, "SELECT name, value FROM params WHERE iteration_id = ?",
                        [row["iteration_id"]])
        assert [(p["name"], p["value"]) for p in params] == [("x", x)]
    assert peek.scalar(db, "SELECT COUNT(*) FROM sweep_items") == committed
    sweep = peek.query(db, "SELECT status, finished_utc FROM sweeps")
    assert len(sweep) == 1
    assert sweep[0]["status"] != "finished"
    ran_before = _lines(counter)
    assert {str(x) for x in done} <= set(ran_before)

    # the same call again runs exactly what is missing
    sr = sensitivity(script, {"x": values}, store=db, progress=False)
    ran_now = _lines(counter)[len(ran_before):]
    assert sorted(ran_now, key=int) == [str(x) for x in [0, *values] if x not in done]
    assert sr.errors == []
    assert sr.to_dataframe().values.tolist() == [[x, 10 * x] for x in [0, *values]]
    everything = load(db)
    assert len(everything.records) == len(values) + 1
    assert sorted(everything.to_dataframe()["x"]) == [0, *values]
    latest = peek.query(db, "SELECT reused FROM sweep_items t JOIN sweeps s USING (sweep_id) "
                        "WHERE s.sweep_seq = 1")
    assert sum(r["reused"] for r in latest) == committed
    assert peek.integrity(db) == "ok"


def test_two_drivers_write_the_same_study_at_once(tmp_path, write_script, peek, procs):
    script = write_script(
        """
        from py3r_script import Output, Param
        x = Param(0, name="x")
        Output(x * 10, name="y")
        """
    )
    db = tmp_path / "study.db"
    Study(db).close()
    go = tmp_path / "go"
    drivers = []
    for k, start in enumerate((100, 200)):
        values = list(range(start, start + 6))
        call = (f"py3r_script.sensitivity({str(script)!r}, {{'x': {values!r}}}, "
                f"nominal={{'x': {start}}}, store={str(db)!r}, progress=False)")
        driver = procs.write_driver(tmp_path / f"driver{k}.py", call, go=go)
        drivers.append(procs.start(driver, tmp_path / f"driver{k}.err"))
    time.sleep(0.5)  # both interpreters up and waiting
    go.touch()
    for k, driver in enumerate(drivers):
        assert driver.wait(timeout=60) == 0, (tmp_path / f"driver{k}.err").read_text()

    assert peek.integrity(db) == "ok"
    assert peek.scalar(db, "SELECT COUNT(*) FROM iterations") == 12
    assert sorted(r[0] for r in peek.query(db, "SELECT sweep_seq FROM sweeps")) == [0, 1]
    seqs = sorted(r[0] for r in peek.query(db, "SELECT iteration_seq FROM iterations"))
    assert seqs == list(range(12))
    per_sweep = peek.query(db, "SELECT sweep_id, COUNT(*) FROM sweep_items GROUP BY sweep_id")
    assert sorted(r[1] for r in per_sweep) == [6, 6]
    assert {r[0] for r in peek.query(db, "SELECT status FROM sweeps")} == {"finished"}
    frame = load(db).to_dataframe()
    assert sorted(frame["x"]) == [*range(100, 106), *range(200, 206)]
    assert (frame["y"] == 10 * frame["x"]).all()


def test_second_writer_can_join_a_running_sweep_on_a_new_study(tmp_path, write_script, peek, procs):
    script = write_script(
        """
        import time
        from py3r_script import Output, Param
        x = Param(0, name="x")
        time.sleep(0.15)
        Output(x * 10, name="y")
        """
    )
    db = tmp_path / "study.db"  # does not exist yet: the first driver creates it
    call = (f"py3r_script.sensitivity({str(script)!r}, {{'x': list(range(1, 10))}}, "
            f"store={str(db)!r}, progress=False)")
    first = procs.start(procs.write_driver(tmp_path / "driver.py", call), tmp_path / "driver.err")
    try:
        procs.wait_until(lambda: peek.committed(db) >= 1 or first.poll() is not None, 60,
                    "the first driver's first iteration")
        assert first.poll() is None
        sr = sensitivity(script, {"x": [100, 101]}, nominal={"x": 100}, store=db,
                         progress=False)
        assert sr.errors == []
    finally:
        first.kill()
        first.wait(timeout=30)


def test_study_can_be_opened_twice_while_new(tmp_path):
    db = tmp_path / "study.db"
    with Study(db), Study(db) as second:  # e.g. a notebook reading while a sweep writes
        assert second.records() == []


def test_a_study_created_by_another_kernel_during_the_check_is_recognised(
    tmp_path, monkeypatch, peek
):
    """Whatever the header check reads first, another kernel finishes creating the study
    right after: the check must still see one consistent state, not half of each."""
    db = tmp_path / "study.db"
    with closing(sqlite3.connect(db)) as con:  # where a creating kernel's open leaves it
        con.execute("PRAGMA journal_mode = WAL")
    create = [sys.executable, "-c", f"import py3r_script; py3r_script.Study({str(db)!r}).close()"]
    interleaved: list[str] = []
    real_connect = sqlite3.connect

    class CreatedMeanwhile(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
            cursor = super().execute(sql, *args)
            if not interleaved:
                interleaved.append(sql)
                subprocess.run(create, check=True, timeout=60, capture_output=True)
            return cursor

    monkeypatch.setattr(sqlite3, "connect",
                        lambda *a, **k: real_connect(*a, factory=CreatedMeanwhile, **k))
    with Study(db) as study:
        assert study.records() == []
    monkeypatch.undo()
    assert interleaved
    assert peek.scalar(db, "PRAGMA user_version") == SCHEMA_VERSION
    assert peek.scalar(db, "SELECT COUNT(*) FROM meta") == 2  # created once


def test_three_drivers_start_at_once_on_a_new_study(tmp_path, write_script, peek, procs):
    script = write_script(
        """
        from py3r_script import Output, Param
        x = Param(0, name="x")
        Output(x * 10, name="y")
        """
    )
    for attempt in range(2):
        db = tmp_path / f"study{attempt}.db"  # does not exist: all three create it at once
        go = tmp_path / f"go{attempt}"
        drivers = []
        for k in range(3):
            values = [100 * k + 1, 100 * k + 2]
            call = (f"py3r_script.sensitivity({str(script)!r}, {{'x': {values!r}}}, "
                    f"nominal={{'x': {100 * k}}}, store={str(db)!r}, progress=False)")
            driver = procs.write_driver(tmp_path / f"driver{attempt}{k}.py", call, go=go)
            drivers.append(procs.start(driver, tmp_path / f"driver{attempt}{k}.err"))
        time.sleep(0.5)
        go.touch()
        for k, driver in enumerate(drivers):
            error = tmp_path / f"driver{attempt}{k}.err"
            assert driver.wait(timeout=60) == 0, error.read_text()
        assert peek.integrity(db) == "ok"
        assert peek.scalar(db, "SELECT COUNT(*) FROM meta") == 2
        assert sorted(r[0] for r in peek.query(db, "SELECT sweep_seq FROM sweeps")) == [0, 1, 2]
        assert sorted(load(db).to_dataframe()["x"]) == [
            0, 1, 2, 100, 101, 102, 200, 201, 202]


def test_what_a_driver_killed_mid_write_leaves_is_removed(tmp_path, write_script, peek, procs):
    script = write_script(
        """
        import os
        import signal
        from py3r_script import Output

        class KillsTheStoringProcess:
            # pickles fine here; the driver storing it is killed while writing the side file
            def __init__(self, pid):
                self.pid = pid

            def __reduce__(self):
                if os.getpid() != self.pid:
                    os.kill(os.getpid(), signal.SIGKILL)
                return (KillsTheStoringProcess, (self.pid,))

        Output([b"x" * (3 * 1024 * 1024), KillsTheStoringProcess(os.getpid())], name="big")
        """
    )
    db = tmp_path / "study.db"
    call = f"py3r_script.run({str(script)!r}, store={str(db)!r})"
    driver = procs.start(procs.write_driver(tmp_path / "driver.py", call), tmp_path / "driver.err")
    assert driver.wait(timeout=60) == -signal.SIGKILL
    partial = Path(f"{db}-outputs/partial")
    (left,) = partial.iterdir()
    assert left.name.startswith(f"{driver.pid}@{socket.gethostname()}@")
    assert left.stat().st_size > INLINE_LIMIT
    others = [partial / f"{os.getpid()}@{socket.gethostname()}@live.pkl",  # still writing
              partial / f"{procs.dead_pid()}@another-host@elsewhere.pkl"]  # pids of another host
    for other in others:
        other.write_bytes(b"")
    Study(db).close()
    assert sorted(partial.iterdir()) == sorted(others)
    assert peek.integrity(db) == "ok" and peek.scalar(db, "SELECT COUNT(*) FROM iterations") == 0
