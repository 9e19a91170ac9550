"""The study's inbox: records workers leave, ingested by the study's one writer, safely."""

from __future__ import annotations

import os
import pickle
import sqlite3
import warnings

import pytest

from py3r_script import Study, sensitivity
from py3r_script.store import inbox

SCRIPT = """
from py3r_script import Output, Param
x = Param(0, name="x")
Output(x * 10, name="y")
"""


@pytest.fixture(autouse=True)
def signing_key(tmp_path, monkeypatch):
    monkeypatch.setenv("PY3R_SCRIPT_KEY_FILE", str(tmp_path / "key" / "signing.key"))


@pytest.fixture
def finished(write_script, tmp_path):
    """A study with one sweep of three iterations, and their records moved to the inbox as
    a worker would have left them (the driver died before committing them)."""
    store = tmp_path / "study.db"
    sr = sensitivity(write_script(SCRIPT), {"x": [1, 2, 3]}, store=store, progress=False)
    folder = inbox.inbox_dir(store)
    os.makedirs(folder)
    con = sqlite3.connect(store)
    with con:  # forget the iterations: only the inbox knows them now
        for table in ("outputs", "params", "sweep_items", "iterations"):
            con.execute(f"DELETE FROM {table}")
    con.close()
    for record in sr.records:
        assert inbox.deposit(folder, record)
    return store, folder, sr.records


def test_opening_the_study_ingests_the_inbox_and_empties_it(finished):
    store, folder, records = finished
    with Study(store) as study:
        assert study.held_ids() == {r.iteration_id for r in records}
        assert sorted(r.outputs["y"] for r in study.records()) == [0, 10, 20, 30]
    assert os.listdir(folder) == []
    again = sensitivity(records[0].script, {"x": [1, 2, 3]}, store=store, progress=False)
    assert all(r.iteration_id in {x.iteration_id for x in records} for r in again.records)


def test_torn_foreign_and_linked_files_are_skipped_and_the_others_ingested(finished, tmp_path):
    store, folder, records = finished
    torn = os.path.join(folder, f"{records[0].iteration_id}.record")
    with open(torn, "r+b") as handle:
        handle.truncate(os.path.getsize(torn) - 5)
    forged = os.path.join(folder, f"{records[1].iteration_id}.record")
    with open(forged, "wb") as handle:  # a pickle that would run code, unsigned by us
        payload = pickle.dumps(os.getcwd)
        handle.write(inbox.MAGIC + b'{"signature": "0:00", "size": %d}\n' % len(payload)
                     + payload)
    outside = tmp_path / "elsewhere.record"
    os.replace(os.path.join(folder, f"{records[2].iteration_id}.record"), outside)
    os.symlink(outside, os.path.join(folder, f"{records[2].iteration_id}.record"))
    with open(os.path.join(folder, "notes.txt"), "w") as handle:
        handle.write("not a record")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Study(store) as study:
            held = study.held_ids()
    assert held == {records[3].iteration_id}  # the intact one
    messages = " ".join(str(w.message) for w in caught)
    assert "cut short" in messages and "another user's key" in messages
    assert os.path.exists(torn) and os.path.exists(forged)  # left for a person to look at


def test_a_record_of_a_sweep_the_study_lacks_is_kept_in_the_inbox(finished):
    store, folder, _ = finished
    con = sqlite3.connect(store)
    with con:
        con.execute("DELETE FROM sweeps")
    con.close()
    with pytest.warns(RuntimeWarning, match="is not in this study"), Study(store) as study:
        assert study.held_ids() == set()
    assert len(os.listdir(folder)) == 4


def test_a_worker_that_sees_no_inbox_folder_returns_its_record_all_the_same(tmp_path, finished):
    _, _, records = finished
    assert not inbox.deposit(str(tmp_path / "not-shared-here"), records[0])
