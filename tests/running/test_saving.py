"""Saving records as they arrive: a study write that fails for a while is retried; one that
keeps failing stops the sweep, kills its running iterations and keeps every finished one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from py3r_script import Study, load, run, sensitivity
from py3r_script.errors import StoreWriteError
from py3r_script.running import saving

LOCK_SCRIPT = """
import os
import subprocess
import time
from py3r_script import Output, Param

x = Param(0, name="x")
folder = {folder!r}
if x == 0:  # finishes once the test holds the study's write lock
    open(os.path.join(folder, "started"), "w").close()
    while not os.path.exists(os.path.join(folder, "locked")):
        time.sleep(0.02)
else:
    grandchild = subprocess.Popen(["sleep", "60"])
    with open(os.path.join(folder, f"{{x}}.tmp"), "w") as handle:
        handle.write(f"{{os.getpid()}} {{grandchild.pid}}")
    os.replace(os.path.join(folder, f"{{x}}.tmp"), os.path.join(folder, f"{{x}}.pids"))
    time.sleep({sleep})
Output(x, name="x_out")
"""

LOCK_DRIVER = """
import json, pickle, sys
from py3r_script import sensitivity
from py3r_script.running import saving
from py3r_script.store import studyfile
from py3r_script.errors import StoreWriteError

script, db, busy_ms, delays = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
studyfile.BUSY_TIMEOUT_MS = busy_ms  # the store waits this long for a lock (60 s by default)
saving.STORE_RETRY_DELAYS = tuple(json.loads(delays))
try:
    sr = sensitivity(script, {"x": [1]}, store=db, max_workers=2, progress=False)
except StoreWriteError as exc:
    copy = pickle.loads(pickle.dumps(exc))
    print(json.dumps({"error": str(copy), "type": type(copy).__name__,
                      "records": [[r.params["x"], r.status] for r in copy.results.records]}))
else:
    print(json.dumps({"records": [[r.params["x"], r.status] for r in sr.records]}))
"""


def _sweep_against_a_locked_study(procs, tmp_path, write_script, *, hold, sleep, delays):
    """Run a sweep whose store is write-locked by another process for ``hold`` seconds
    from the moment the first iteration finishes; return the driver's report and pids."""
    folder = tmp_path / "signals"
    folder.mkdir()
    db = tmp_path / "study.db"
    script = write_script(LOCK_SCRIPT.format(folder=str(folder), sleep=sleep), "locked.py")
    driver = subprocess.Popen(
        [sys.executable, "-c", LOCK_DRIVER, str(script), str(db), "200", json.dumps(delays)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    pids: list[int] = []
    holder = None
    try:
        pids = procs.wait_for_pid_files(driver, folder, [1])
        while not (folder / "started").exists():
            time.sleep(0.02)
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # like a program writing for a long time
        (folder / "locked").touch()
        with contextlib.suppress(subprocess.TimeoutExpired):
            driver.wait(timeout=hold)
        holder.execute("ROLLBACK")
        out, err = driver.communicate(timeout=60)
        assert driver.returncode == 0, err
        return json.loads(out.strip().splitlines()[-1]), pids, db
    finally:
        if holder is not None:
            holder.close()
        if driver.poll() is None:
            procs.kill_driver_group(driver)
        procs.kill_leftovers(pids)


def test_a_store_write_that_keeps_failing_stops_the_sweep_and_keeps_the_results(
    tmp_path, write_script, procs
):
    start = time.monotonic()
    report, pids, db = _sweep_against_a_locked_study(
        procs, tmp_path, write_script, hold=20, sleep=60, delays=[0.1, 0.1])
    assert report.get("type") == "StoreWriteError", report
    assert report["records"] == [[0, "ok"]]  # finished, not saved, yet not lost
    assert "could not save iteration #0" in report["error"]
    assert str(db) in report["error"]
    assert "database is locked" in report["error"]
    assert "1 of them not saved" in report["error"]
    assert "run the same sweep again" in report["error"]
    assert time.monotonic() - start < 15, "the sweep waited for its hanging iteration"
    # three attempts, each waiting 0.2 s for the lock, with 0.1 s between them
    attempts, seconds = re.search(r"tried (\d+) times over ([\d.]+) s", report["error"]).groups()
    assert int(attempts) == 3 and float(seconds) >= 0.75, report["error"]
    assert procs.wait_gone(pids, timeout=1.0) == [], "the running iteration was not killed"
    assert len(load(db).records) == 0
    with Study(db) as study:
        assert study.sweeps()["status"].tolist() == ["interrupted"]


def test_a_store_write_that_fails_for_a_while_is_retried(tmp_path, write_script, procs):
    report, _, db = _sweep_against_a_locked_study(
        procs, tmp_path, write_script, hold=1, sleep=0, delays=[0.5, 1, 2])
    assert "error" not in report, report["error"]
    assert report["records"] == [[0, "ok"], [1, "ok"]]
    assert sorted(r.params["x"] for r in load(db).records) == [0, 1]


REFUSALS = {  # (what a program did to the study, the error SQLite gives for a write)
    "a constraint": "SELECT RAISE(ABORT, 'refused by a trigger')",  # IntegrityError
    "a missing table": "INSERT INTO dropped_table VALUES (1)",  # OperationalError
}


@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_a_store_write_that_cannot_pass_is_not_retried(tmp_path, write_script, monkeypatch,
                                                       refusal):
    script = write_script("""
        from py3r_script import Output, Param
        Output(Param(0, name="x"), name="x_out")
        """)
    db = tmp_path / "study.db"
    assert run(script, store=db).records[0].ok
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.execute(f"CREATE TRIGGER refuse BEFORE INSERT ON iterations "
                    f"BEGIN {REFUSALS[refusal]}; END")
        con.commit()
    monkeypatch.setattr(saving, "STORE_RETRY_DELAYS", (30.0,))  # a retry would show
    start = time.monotonic()
    with pytest.raises(StoreWriteError) as caught:
        sensitivity(script, {"x": [1]}, store=db, progress=False)
    assert time.monotonic() - start < 20, "the sweep paused to retry"
    message = str(caught.value)
    assert "could not save iteration #1" in message
    assert "(not retried: another attempt could not pass)" in message, message
    assert not re.search(r"\btried\b", message)
    assert [r.params["x"] for r in caught.value.results.records] == [0, 1]  # kept, not lost


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_during_a_store_write_keeps_the_record_whole(tmp_path, write_script,
                                                            monkeypatch, presses):
    """A Ctrl-C landing inside the transaction that saves a record waits for the commit
    (one press: the record is in the study, whole); a second press stops at once (the
    write is rolled back, never half done, and the record is still in the results)."""
    from py3r_script.errors import SweepInterrupted
    from py3r_script.store import writing

    script = write_script("""
        from py3r_script import Output, Param
        x = Param(0, name="x")
        Output(x * 10, name="y")
        Output(str(x), name="label")
        """)
    db = tmp_path / "study.db"
    insert = writing.insert_iteration

    def interrupted_insert(con, record, *args, **kwargs):
        seqs = insert(con, record, *args, **kwargs)
        for _ in range(presses):  # the rows are written, the transaction not committed
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handler runs here, between two bytecodes
        return seqs

    monkeypatch.setattr(writing, "insert_iteration", interrupted_insert)
    # as in an interactive python (a background job's shell leaves SIGINT ignored)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(SweepInterrupted) as caught:
            sensitivity(script, {"x": [1, 2, 3]}, store=db, progress=False)
    finally:
        monkeypatch.undo()
        handler = signal.signal(signal.SIGINT, previous)
    assert handler is signal.default_int_handler  # the write's own handler is gone
    kept = [r.params["x"] for r in caught.value.results.records]
    stored = load(db)
    if presses == 1:
        assert kept == [0] and [r.params["x"] for r in stored.records] == [0]
        assert stored.to_dataframe().to_dict("records") == [{"x": 0, "y": 0, "label": "0"}]
    else:
        assert kept == [0] and len(stored.records) == 0
    with Study(db) as study:
        assert study.sweeps()["status"].tolist() == ["interrupted"]


REPORTING_DRIVER = """
import json, sys
from py3r_script import sweep
from py3r_script.running import progress

log = open(sys.argv[3], "a")

def update(self, record):  # what the progress bar reports done, written down as it does
    log.write(json.dumps(record.params["i"]) + "\\n")
    log.flush()

progress.Progress.update = update
sweep(sys.argv[1], {"i": list(range(60))}, store=sys.argv[2], max_workers=2, warm=True,
      progress=True)
"""


def test_every_iteration_reported_done_is_in_the_study_when_the_driver_is_killed(
        tmp_path, write_script, procs):
    script = write_script("""
        import time
        from py3r_script import Output, Param
        i = Param(0, name="i")
        time.sleep(0.02)
        Output(i * 2, name="double")
        """)
    db, log = tmp_path / "study.db", tmp_path / "reported.txt"
    log.touch()
    driver = subprocess.Popen([sys.executable, "-c", REPORTING_DRIVER, str(script), str(db),
                               str(log)], start_new_session=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(log.read_text().splitlines()) < 10 and driver.poll() is None:
            assert time.monotonic() < deadline, "the sweep reported nothing done"
            time.sleep(0.01)
    finally:
        procs.kill_driver_group(driver)  # SIGKILL: no chance to save anything more
    reported = {int(line) for line in log.read_text().splitlines()}
    assert len(reported) >= 10
    stored = [r.params["i"] for r in load(db).records]
    assert reported <= set(stored), reported - set(stored)
    assert len(stored) == len(set(stored))
    again = sensitivity(script, {"i": list(range(60))}, store=db, progress=False)
    assert sorted(r.params["i"] for r in again.records) == list(range(60))
    assert sorted(r.params["i"] for r in load(db).records) == list(range(60)), \
        "an iteration was run and stored twice"
