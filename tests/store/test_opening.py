"""Opening a study: what is not one is refused unchanged; read-only studies; upgrades.

Real scripts run in real subprocesses against real SQLite files; the database is
inspected both through the public API and with plain ``sqlite3`` (the ``peek`` fixture).
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pytest

from py3r_script import Study, load, sensitivity
from py3r_script.errors import SweepError
from py3r_script.store.study import SCHEMA_VERSION, StoreError


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _siblings(db: Path) -> list[str]:
    """Files and folders next to ``db`` whose name starts with its name (db, -wal, ...)."""
    return sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name))


def _entry_points(script: Path, db: Path) -> list[Callable[[], Any]]:
    return [
        lambda: sensitivity(script, {"x": [1]}, store=db, progress=False),
        lambda: sensitivity(script, {"x": [1]}, store=db, dry_run=True),
        lambda: load(db),
        lambda: Study(db),
    ]


def test_a_text_file_is_refused_and_left_unchanged(tmp_path, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    db = tmp_path / "notes.db"
    content = b"these are my notes\nnot a database\n"
    db.write_bytes(content)
    for call in _entry_points(script, db):
        with pytest.raises(StoreError, match="not a py3r-script study") as info:
            call()
        assert isinstance(info.value, SweepError)
    assert db.read_bytes() == content
    assert _siblings(db) == ["notes.db"]
    assert not counter.exists()


@pytest.mark.parametrize("what", ["tables", "only-an-application-id"])
def test_an_sqlite_database_that_is_not_a_study_is_refused(tmp_path, what, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    db = tmp_path / "other.db"
    with closing(sqlite3.connect(db)) as con:
        if what == "tables":
            con.execute("CREATE TABLE customers (name TEXT)")
            con.execute("INSERT INTO customers VALUES ('ada')")
        else:  # empty, but another program's file: its header says so
            con.execute("PRAGMA application_id = 1234")
        con.commit()
    content = db.read_bytes()
    for call in _entry_points(script, db):
        with pytest.raises(StoreError, match="not a py3r-script study"):
            call()
    assert db.read_bytes() == content
    assert _siblings(db) == ["other.db"]
    assert not counter.exists()


def test_an_empty_sqlite_database_is_not_read_as_a_study(tmp_path):
    # load()/show must not turn an empty database into a study; a sweep may create one there
    db = tmp_path / "empty.db"
    with closing(sqlite3.connect(db)) as con:
        con.execute("CREATE TABLE t (x)")
        con.execute("DROP TABLE t")
        con.commit()
    content = db.read_bytes()
    with pytest.raises(StoreError, match="empty SQLite database, not a study"):
        load(db)
    with pytest.raises(StoreError, match="no study at"):
        Study(tmp_path / "target.db").merge(db)
    assert db.read_bytes() == content
    Study(db).close()  # a sweep's store= may create the study in it
    assert len(load(db)) == 0


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_a_study_from_a_newer_version_is_refused_unchanged(
    tmp_path, journal, peek, counting_script
):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    db = tmp_path / "study.db"
    Study(db).close()
    with closing(sqlite3.connect(db)) as con:  # a newer py3r-script may use another journal
        con.execute(f"PRAGMA journal_mode = {journal}")
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    content, siblings = db.read_bytes(), _siblings(db)
    for call in _entry_points(script, db):
        with pytest.raises(StoreError, match="newer"):
            call()
        assert db.read_bytes() == content  # refused before anything was written
    if journal == "delete":
        assert _siblings(db) == siblings == ["study.db"]
    assert peek.scalar(db, "PRAGMA user_version") == SCHEMA_VERSION + 1
    assert peek.scalar(db, "PRAGMA journal_mode") == journal
    assert not counter.exists()


def test_load_of_a_missing_study_creates_nothing(tmp_path):
    db = tmp_path / "missing.db"
    with pytest.raises(StoreError, match="does not exist"):
        load(db)
    with pytest.raises(StoreError):
        load(db, sweep=-1)
    with pytest.raises(StoreError):
        Study(db, create=False)
    assert _siblings(db) == []


def test_a_folder_is_refused(tmp_path, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    folder = tmp_path / "folder.db"
    folder.mkdir()
    with pytest.raises(StoreError):
        sensitivity(script, {"x": [1]}, store=folder, progress=False)
    assert list(folder.iterdir()) == []
    assert not counter.exists()


def test_an_empty_file_becomes_a_study(tmp_path, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    db = tmp_path / "study.db"
    db.touch()
    sr = sensitivity(script, {"x": [1]}, store=db, progress=False)
    assert sr[{"x": 1}]["y"] == 10
    assert len(load(db).records) == 2


def test_a_store_in_a_missing_folder_is_a_store_error(tmp_path, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    with pytest.raises(StoreError):
        sensitivity(script, {"x": [1]}, store=tmp_path / "no" / "such" / "study.db",
                    progress=False)


def test_a_read_only_study_can_still_be_read(tmp_path, counting_script, make_read_only):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    folder = tmp_path / "shared"
    folder.mkdir()
    db = folder / "study.db"
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    assert _siblings(db) == ["study.db"]  # closed: the log was folded into the file
    digest = _sha256_file(db)
    undo = make_read_only(db, folder)
    try:
        assert load(db).to_dataframe()["y"].tolist() == [0, 10, 20]
        with Study(db, create=False) as study:
            assert study.read_only
            assert study.sweeps()["n_done"].tolist() == [3]
            with pytest.raises(StoreError, match="read-only"):
                study.set_label(0, "no")
        preview = sensitivity(script, {"x": [1, 2, 3]}, store=db, dry_run=True)
        assert list(preview.actions) == ["reuse"] * 3 + ["run"]
        with pytest.raises(StoreError, match="cannot be written"):
            sensitivity(script, {"x": [3]}, store=db, progress=False)
    finally:
        undo()
    assert _sha256_file(db) == digest
    assert _siblings(db) == ["study.db"]
    assert _lines(counter) == ["0", "1", "2"]


def test_a_read_only_study_with_changes_still_in_its_log(
    tmp_path, procs, counting_script, make_read_only
):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    folder = tmp_path / "shared"
    folder.mkdir()
    db = folder / "study.db"
    Study(db).close()
    # a driver that dies with the study open: its iterations are only in study.db-wal
    call = (f"import sqlite3\nkeep = sqlite3.connect({str(db)!r})\n"
            "keep.execute('SELECT COUNT(*) FROM sweeps').fetchall()\n"
            f"py3r_script.sensitivity({str(script)!r}, {{'x': [1]}}, store={str(db)!r}, "
            "progress=False)\nos._exit(0)")
    driver = procs.write_driver(tmp_path / "driver.py", call)
    assert procs.start(driver, tmp_path / "err").wait(60) == 0
    assert Path(f"{db}-wal").stat().st_size > 0
    logs = [Path(f"{db}-wal"), Path(f"{db}-shm")]
    undo = make_read_only(db, *logs, folder)
    try:
        assert load(db).to_dataframe()["x"].tolist() == [0, 1]  # read through the log
    finally:
        undo()
    logs[1].unlink()  # without its index SQLite cannot use the log read-only
    undo = make_read_only(db, logs[0], folder)
    try:
        with pytest.warns(RuntimeWarning, match="study.db-wal holds changes"):
            assert load(db).records == ()
    finally:
        undo()
    assert len(load(db).records) == 2  # writable again: nothing was lost


def test_a_study_of_schema_1_is_upgraded(tmp_path, peek, procs, counting_script, downgrade):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    db = tmp_path / "study.db"
    sensitivity(script, {"x": [1]}, store=db, label="old", progress=False)
    new_columns = peek.columns(db)
    downgrade(db, 1)
    assert peek.columns(db) != new_columns
    dead = procs.dead_pid()  # what a schema-1 driver killed while writing a side file left
    partial = Path(f"{db}-outputs/ab/ab12-34.pkl.tmp{dead}")
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"half")
    old = db.read_bytes()

    # a preview reads it, upgraded in memory only
    preview = sensitivity(script, {"x": [1]}, store=db, dry_run=True)
    assert list(preview.actions) == ["run", "run"]  # which interpreter ran them is unknown
    assert db.read_bytes() == old

    sr = sensitivity(script, {"x": [1]}, store=db, backup=True, progress=False)
    assert sr.errors == [] and _lines(counter) == ["0", "1", "0", "1"]
    (backup,) = tmp_path.glob("study.db.bak-*")
    assert peek.scalar(backup, "PRAGMA user_version") == 1  # copied before the upgrade
    assert peek.scalar(backup, "SELECT COUNT(*) FROM iterations") == 2
    assert peek.scalar(db, "PRAGMA user_version") == SCHEMA_VERSION
    assert peek.columns(db) == new_columns
    assert peek.integrity(db) == "ok"
    assert not partial.exists()
    # what schema 1 stored is all there
    study = load(db)
    assert [r.label for r in study.records] == ["old", "old", None, None]
    assert [r.interpreter for r in study.records] == ["", "", sys.executable, sys.executable]
    assert study.to_dataframe()["y"].tolist() == [0, 10, 0, 10]
    assert load(db, sweep=0).design is None and load(db, sweep=1).design is not None
    with closing(sqlite3.connect(db)) as con:
        view = pd.read_sql("SELECT _params_sha256, _exit_code FROM runs", con)
    assert view["_exit_code"].tolist() == [0, 0, 0, 0]
    sensitivity(script, {"x": [1]}, store=db, progress=False)
    assert len(_lines(counter)) == 4  # and the new ones are reused


def test_a_schema_without_an_upgrade_step_is_refused_unchanged(tmp_path, monkeypatch, peek,
                                                               downgrade):
    from py3r_script.store import schema

    db = tmp_path / "study.db"
    Study(db).close()
    downgrade(db, 1)
    old = db.read_bytes()
    monkeypatch.delitem(schema.MIGRATIONS, 1)
    for call in (lambda: Study(db), lambda: load(db), lambda: Study(db, read_only=True)):
        with pytest.raises(StoreError, match="no step from schema 1 to 2"):
            call()
    assert db.read_bytes() == old
    assert peek.scalar(db, "PRAGMA user_version") == 1
