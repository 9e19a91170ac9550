"""Deleting from and merging prepared studies (``sweep(..., prepare=True)``): their plan of
pending iterations and their inbox follow, and nothing finished is lost or brought back."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from py3r_script import Study, merge, sweep
from py3r_script.cli import main
from py3r_script.errors import StoreError
from py3r_script.store import inbox, pending

SCRIPT = """
from py3r_script import Output, Param
x = Param(0, name="x")
Output(x * 10, name="y")
"""


def _prepare(write_script, store, values=(0, 1, 2, 3)):
    sweep(write_script(SCRIPT), {"x": list(values)}, store=store, prepare=True,
          include_nominal=False)


def _sound(store) -> None:
    con = sqlite3.connect(store)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()


def _counts(store) -> tuple[int, int, str]:
    [progress] = pending.sweep_progress(store)
    return progress.pending, progress.done, progress.status


def test_deleting_an_iteration_of_a_prepared_sweep_takes_it_out_of_the_plan_and_inbox(
        write_script, tmp_path):
    store = tmp_path / "study.db"
    _prepare(write_script, store, (0, 1, 2))
    assert main(["work", str(store), "--task", "0", "--of", "1"]) == 0
    folder = inbox.inbox_dir(store)
    first = min(inbox.records_waiting(folder))
    shutil.copy(f"{folder}/{first}.record", tmp_path / "again.record")
    with Study(store) as study:  # ingests the inbox
        assert inbox.records_waiting(folder) == set()
        shutil.copy(tmp_path / "again.record", f"{folder}/{first}.record")  # a late copy
        assert study.delete(first) == 1
    assert inbox.records_waiting(folder) == set()
    assert _counts(store) == (0, 2, "prepared")
    assert main(["work", str(store), "--task", "0", "--of", "1"]) == 0  # nothing to rerun
    assert inbox.records_waiting(folder) == set()
    with Study(store) as study:  # nothing brings it back
        assert first not in study.held_ids()
        assert len(study.held_ids()) == 2
    _sound(store)


def test_merging_a_prepared_sweep_brings_its_plan_and_work_finishes_it_there(
        write_script, tmp_path, capsys):
    source, target = tmp_path / "node.db", tmp_path / "all.db"
    _prepare(write_script, source)
    assert main(["work", str(source), "--task", "0", "--of", "2"]) == 0
    assert main(["collect", str(source)]) == 0
    assert merge(target, source) == 2
    assert _counts(target) == (2, 2, "prepared")
    assert main(["work", str(target), "--task", "1", "--of", "2"]) == 0
    assert main(["collect", str(target)]) == 0
    assert _counts(target) == (0, 4, "finished")
    assert merge(target, source) == 0  # again: nothing new
    with Study(target) as study:
        assert sorted(r.outputs["y"] for r in study.records()) == [0, 10, 20, 30]
    _sound(target)
    _sound(source)


LATE_WORKER = """
import os, sys, time
from py3r_script import Study
from py3r_script.store import inbox
store, iteration_id, gate = sys.argv[1:]
with Study(store, read_only=True) as study:
    [record] = study.records(ids=[iteration_id])
folder = inbox.inbox_dir(store)
inbox.mark_running(folder, iteration_id)  # a second worker runs it again (a taken-over claim)
while not os.path.exists(gate):
    time.sleep(0.05)
assert inbox.deposit(folder, record)  # and delivers its record late
"""


def test_an_iteration_deleted_while_a_worker_runs_it_does_not_come_back(write_script,
                                                                       tmp_path):
    store, gate = tmp_path / "study.db", tmp_path / "gate"
    _prepare(write_script, store, (0, 1))
    assert main(["work", str(store), "--task", "0", "--of", "1"]) == 0
    assert main(["collect", str(store)]) == 0
    folder = inbox.inbox_dir(store)
    with Study(store) as study:
        first = min(study.held_ids())
    worker = subprocess.Popen([sys.executable, "-c", LATE_WORKER, str(store), first, str(gate)])
    try:
        deadline = time.monotonic() + 60
        while first not in inbox.running_ids(folder) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first in inbox.running_ids(folder)
        with Study(store) as study:
            assert study.delete(first) == 1
        gate.touch()
        assert worker.wait(timeout=60) == 0
    finally:
        worker.kill()
    assert inbox.records_waiting(folder) == {first}  # delivered after the delete
    with Study(store) as study:  # ingests the inbox: the late record is thrown away
        assert first not in study.held_ids()
        assert len(study.held_ids()) == 1
    assert os.listdir(folder) == []  # no record, claim or note left behind
    _sound(store)


def test_an_inbox_file_no_collect_can_read_is_named_with_what_to_do(write_script, tmp_path):
    source, target = tmp_path / "node.db", tmp_path / "all.db"
    _prepare(write_script, source)
    assert main(["work", str(source), "--task", "0", "--of", "1"]) == 0
    damaged = Path(inbox.inbox_dir(source)) / ("ab" * 16 + ".record")
    damaged.write_bytes(b"half a record")
    with pytest.warns(RuntimeWarning, match="skipped and left where it is"):
        assert main(["collect", str(source)]) == 0
    assert damaged.exists()  # collect cannot take it in, however often it runs
    with pytest.raises(StoreError, match=r"1 file\(s\) that cannot be read.*"
                                         r"(ab){16}\.record: not an inbox record.*"
                                         r"move them out of the inbox or delete them"):
        merge(target, source)
    damaged.unlink()
    assert merge(target, source) == 4
    _sound(target)


def test_a_study_with_records_it_has_not_collected_is_not_merged(write_script, tmp_path):
    source, target = tmp_path / "node.db", tmp_path / "all.db"
    _prepare(write_script, source)
    assert main(["work", str(source), "--task", "0", "--of", "1"]) == 0
    with pytest.raises(StoreError, match=r"4 finished iteration\(s\) in its inbox.*"
                                         r"py3r-script collect .*node\.db"):
        merge(target, source)
    assert len(inbox.records_waiting(inbox.inbox_dir(source))) == 4  # untouched
    assert main(["collect", str(source)]) == 0
    assert merge(target, source) == 4
    assert _counts(target) == (0, 4, "finished")
    _sound(target)
