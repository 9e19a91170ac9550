"""Job arrays without a live driver: prepare, concurrent ``work`` tasks (one killed and run
again), ``collect``: every iteration exactly once, nothing lost, the study intact."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from py3r_script import Study, sweep
from py3r_script.cli import main
from py3r_script.errors import OptionError
from py3r_script.running.jobarrays import PreparedSweep, batch_script, work_share
from py3r_script.store import inbox
from py3r_script.store.schema import SCHEMA_VERSION, rebuild_view

SCRIPT = """
import time
from py3r_script import Output, Param
x = Param(0, name="x")
time.sleep(0.3)
Output(x * 10, name="y")
"""


@pytest.fixture(autouse=True)
def signing_key(tmp_path, monkeypatch):
    monkeypatch.setenv("PY3R_SCRIPT_KEY_FILE", str(tmp_path / "key" / "signing.key"))


def _work(store, task: int, of: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "py3r_script", "work", str(store),
                             "--task", str(task), "--of", str(of), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def test_tasks_killed_and_rerun_leave_every_iteration_exactly_once(write_script, tmp_path,
                                                                   capsys):
    store = tmp_path / "study.db"
    prepared = sweep(write_script(SCRIPT), {"x": list(range(12))}, store=store, prepare=True,
                     include_nominal=False, chunk_size=4)
    assert isinstance(prepared, PreparedSweep) and prepared.n_pending == 12
    assert prepared.tasks == 3 and "py3r-script work" in str(prepared)
    folder = inbox.inbox_dir(store)
    tasks = {i: _work(store, i, 3) for i in range(3)}
    deadline = time.monotonic() + 60
    while len(inbox.records_waiting(folder)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(tasks[1].pid, signal.SIGKILL)  # a node lost mid-share
    tasks[1].wait()
    assert main(["collect", str(store)]) == 0  # a collect while tasks still run
    assert "running" in capsys.readouterr().err
    tasks[1] = _work(store, 1, 3)  # the same share again: only what had not finished
    for process in tasks.values():
        process.communicate(timeout=120)
        assert process.returncode == 0
    assert main(["collect", str(store)]) == 0
    assert "0 pending, 0 running, 0 stale, 12 done, 0 failed" in capsys.readouterr().err
    con = sqlite3.connect(store)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    rows = con.execute("SELECT plan_index, COUNT(*) FROM iterations GROUP BY plan_index").fetchall()
    assert rows == [(i, 1) for i in range(12)]
    assert con.execute("SELECT status FROM sweeps").fetchall() == [("finished",)]
    with Study(store) as study:
        assert sorted(r.outputs["y"] for r in study.records()) == [x * 10 for x in range(12)]
    assert inbox.records_waiting(folder) == set()


def test_a_warm_task_runs_its_share_from_the_cli_and_reruns_nothing(write_script, tmp_path):
    store = tmp_path / "study.db"
    assert main(["sweep", str(write_script(SCRIPT)), "-s", "x=1,2,3", "--store", str(store),
                 "--prepare", "--no-include-nominal"]) == 0
    assert main(["work", str(store), "--task", "0", "--of", "1", "--warm"]) == 0
    assert len(inbox.records_waiting(inbox.inbox_dir(store))) == 3
    assert main(["work", str(store), "--task", "0", "--of", "1"]) == 0  # all done already
    assert main(["show", str(store)]) == 0  # opening it ingests the inbox
    assert inbox.records_waiting(inbox.inbox_dir(store)) == set()


def test_the_share_comes_from_slurm_when_not_given(monkeypatch):
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")
    monkeypatch.setenv("SLURM_ARRAY_TASK_COUNT", "5")
    assert work_share(None, None) == (3, 5)
    monkeypatch.delenv("SLURM_ARRAY_TASK_ID")
    with pytest.raises(OptionError, match="--task I --of N"):
        work_share(None, None)
    with pytest.raises(OptionError, match=r"in 0\.\.3"):
        work_share(4, 4)


def test_batch_writes_an_editable_job_array_script(write_script, tmp_path, capsys):
    store = tmp_path / "my study.db"
    sweep(write_script(SCRIPT), {"x": [1, 2]}, store=store, prepare=True)
    assert main(["batch", str(store), "--slurm", "--tasks", "4", "--time", "01:00:00",
                 "--mem", "2G"]) == 0
    script = capsys.readouterr().out
    assert "#SBATCH --array=0-3" in script and "#SBATCH --time=01:00:00" in script
    assert "#SBATCH --mem=2G" in script and "work '" in script and "--of 4" in script
    with pytest.raises(OptionError, match="no study"):
        batch_script(tmp_path / "none.db", 2)


def test_prepare_needs_a_store(write_script):
    with pytest.raises(OptionError, match=r"prepare=True .* needs store="):
        sweep(write_script(SCRIPT), {"x": [1]}, prepare=True)


def test_schema_3_study_is_upgraded_with_room_for_a_prepared_plan(write_script, tmp_path):
    store = tmp_path / "study.db"
    sweep(write_script(SCRIPT), {"x": [1]}, store=store)
    con = sqlite3.connect(store)
    with con:
        con.execute("DROP TABLE pending_items")
        con.execute("DROP VIEW runs")
        con.execute("ALTER TABLE iterations DROP COLUMN replicate")  # schema 5's
        rebuild_view(con)
        con.execute("PRAGMA user_version = 3")
    con.close()
    prepared = sweep(write_script(SCRIPT), {"x": [1, 2]}, store=store, prepare=True)
    assert (prepared.n_reused, prepared.n_pending) == (2, 1)  # x=1 and the nominal 0 reused
    con = sqlite3.connect(store)
    assert con.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert con.execute("SELECT COUNT(*) FROM pending_items").fetchone() == (prepared.n_pending,)
