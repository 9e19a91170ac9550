"""Changing a study afterwards: labels, deletion, merging studies run apart, backups.

Real scripts run in real subprocesses against real SQLite files; the database is
inspected both through the public API and with plain ``sqlite3`` (the ``peek`` fixture).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import warnings
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

import py3r_script
from py3r_script import Study, load, sensitivity
from py3r_script.store.study import StoreError


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_a_sweep_label_stays_with_the_iterations_it_ran(tmp_path, write_script):
    script = write_script(
        """
        from py3r_script import Output, Param
        x = Param(1, name="x")
        Output(x * 2, name="double")
        """
    )
    db = tmp_path / "study.db"
    sensitivity(script, {"x": [1, 2]}, store=db, label="coarse", progress=False)
    fine = sensitivity(script, {"x": [2, 3]}, store=db, label="fine", progress=False)
    # a reused iteration keeps the label of the sweep that ran it
    assert fine.to_dataframe(meta=True)["_label"].tolist() == ["coarse", "coarse", "fine"]
    study = load(db).to_dataframe(meta=True)
    assert dict(zip(study["x"], study["_label"])) == {1: "coarse", 2: "coarse", 3: "fine"}
    with Study(db) as opened:
        assert opened.sweeps()["label"].tolist() == ["coarse", "fine"]
    with closing(sqlite3.connect(db)) as con:
        view = pd.read_sql("SELECT x, _label FROM runs", con)
    assert view["_label"].tolist() == ["coarse", "coarse", "fine"]


def test_set_label_names_a_sweep_and_its_iterations_afterwards(tmp_path, peek, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    db = tmp_path / "study.db"
    sensitivity(script, {"x": [1]}, store=db, progress=False)
    sensitivity(script, {"x": [1, 2]}, store=db, label="second", progress=False)
    with Study(db) as study:
        study.set_label(0, "coarse")
        study.set_label(-1, None)
        with pytest.raises(TypeError, match="label is a str"):
            study.set_label(0, 3)  # type: ignore[arg-type]
        assert study.sweeps()["label"].fillna("").tolist() == ["coarse", ""]
    frame = load(db).to_dataframe(meta=True)
    assert dict(zip(frame["x"], frame["_label"].fillna(""))) == {0: "coarse", 1: "coarse", 2: ""}
    assert peek.query(db, "SELECT _label FROM runs")[0][0] == "coarse"


def test_delete_removes_iterations_with_their_side_files(tmp_path, peek, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(
        counter, extra='Output(bytes([x]) * (2 * 1024 * 1024), name="big")\n')
    db = tmp_path / "study.db"
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    sensitivity(script, {"x": [1]}, store=db, progress=False)  # x=1 also in a second sweep
    rows = {json.loads(r["params_json"])["x"]: r for r in peek.query(
        db, "SELECT i.iteration_id, i.params_json, o.file FROM iterations i "
            "JOIN outputs o USING (iteration_id) WHERE o.file IS NOT NULL")}
    doomed = rows[1]["iteration_id"]
    with Study(db) as study:
        with pytest.raises(StoreError, match="nothing was deleted"):
            study.delete([doomed, "not-an-iteration"])
        assert study.delete(doomed) == 1
    assert not (db.parent / rows[1]["file"]).exists()
    assert (db.parent / rows[2]["file"]).exists()
    for table in ("iterations", "params", "outputs", "sweep_items"):
        assert peek.scalar(db, f"SELECT COUNT(*) FROM {table} WHERE iteration_id = ?",
                       [doomed]) == 0
    assert peek.integrity(db) == "ok"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sorted(load(db).to_dataframe(outputs=["y"])["x"]) == [0, 2]
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    assert _lines(counter) == ["0", "1", "2", "1"]  # only the deleted one ran again


MERGE_SCRIPT = """
import numpy as np
from py3r_script import Output, Param
x = Param(1, name="x")
Output(x * 10, name="ten")
Output(np.full(300_000, float(x)), name="big")  # 2.4 MB: a side file
"""


def test_merge_brings_studies_run_apart_together(tmp_path, write_script, peek):
    script = write_script(MERGE_SCRIPT)
    laptop, cluster, merged = (tmp_path / n for n in ("laptop.db", "cluster.db", "all.db"))
    sensitivity(script, {"x": [2]}, store=laptop, label="laptop", progress=False)
    sensitivity(script, {"x": [3]}, store=cluster, label="cluster", progress=False)
    # x=1 (the nominal) ran in both studies: two different iterations, both kept
    assert py3r_script.merge(merged, laptop, cluster) == 4
    assert py3r_script.merge(merged, laptop, cluster) == 0  # idempotent
    study = load(merged)
    frame = study.to_dataframe(meta=True, outputs=["ten"])
    assert sorted(frame["x"]) == [1, 1, 2, 3]
    assert sorted(set(frame["_label"])) == ["cluster", "laptop"]
    assert study[{"x": 3}]["big"][0] == 3.0
    assert peek.integrity(merged) == "ok"
    files = peek.query(merged, "SELECT file FROM outputs WHERE file IS NOT NULL")
    assert len(files) == 4 and all(r["file"].startswith("all.db-outputs/") for r in files)
    assert all((tmp_path / r["file"]).is_file() for r in files)
    with Study(merged) as opened:
        sweeps = opened.sweeps()
    assert sweeps["sweep_seq"].tolist() == [0, 1] and sweeps["n_done"].tolist() == [2, 2]
    # the merged study reuses what it holds
    counter_before = len(peek.query(merged, "SELECT * FROM iterations"))
    sensitivity(script, {"x": [2, 3]}, store=merged, progress=False)
    assert len(peek.query(merged, "SELECT * FROM iterations")) == counter_before


def test_merge_keeps_an_iteration_whose_side_file_is_missing(tmp_path, write_script, peek):
    script = write_script(MERGE_SCRIPT)
    laptop, merged = tmp_path / "laptop.db", tmp_path / "all.db"
    sensitivity(script, {"x": [2]}, store=laptop, progress=False)
    (lost,) = [tmp_path / r["file"] for r in peek.query(
        laptop, "SELECT o.file FROM outputs o JOIN iterations i USING (iteration_id) "
                "WHERE o.file IS NOT NULL AND json_extract(i.params_json, '$.x') = 2")]
    lost.unlink()
    with pytest.warns(UserWarning, match="1 side file") as caught:
        assert py3r_script.merge(merged, laptop) == 2
    assert f"its side file {lost} is missing" in str(caught[0].message)
    with pytest.warns(UserWarning, match="could not be loaded"):
        study = load(merged)
    assert [r.params["x"] for r in study.records] == [1, 2]  # the row is kept
    kept, missing = study.records
    assert kept.outputs["big"][0] == 1.0 and missing.outputs["ten"] == 20
    assert "big" not in missing.outputs and "missing" in missing.outputs.unavailable["big"]


def test_merge_refuses_what_is_not_a_study(tmp_path):
    target = tmp_path / "all.db"
    text = tmp_path / "notes.txt"
    text.write_text("not a study")
    with pytest.raises(StoreError, match="not a py3r-script study"):
        py3r_script.merge(target, text)
    with pytest.raises(StoreError, match="no study"):
        py3r_script.merge(target, tmp_path / "missing.db")
    with pytest.raises(StoreError, match="itself"):
        py3r_script.merge(target, target)
    assert text.read_text() == "not a study"


def test_backup_copies_the_study_before_the_sweep(tmp_path, peek, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    db = tmp_path / "study.db"
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    assert list(tmp_path.glob("study.db.bak-*")) == []

    sensitivity(script, {"x": [1, 2, 3]}, store=db, backup=True, progress=False)
    backups = list(tmp_path.glob("study.db.bak-*"))
    assert len(backups) == 1
    backup = backups[0]
    assert peek.integrity(backup) == "ok"
    assert peek.scalar(backup, "SELECT COUNT(*) FROM iterations") == 3
    assert peek.scalar(backup, "SELECT COUNT(*) FROM sweeps") == 1
    assert peek.scalar(db, "SELECT COUNT(*) FROM iterations") == 4
    assert sorted(load(backup).to_dataframe()["x"]) == [0, 1, 2]

    with Study(db) as study:
        copy = study.backup()
    assert copy.exists()
    assert copy.name.startswith("study.db.bak-")
    assert peek.scalar(copy, "SELECT COUNT(*) FROM iterations") == 4


def test_a_backup_carries_its_own_side_files(tmp_path, peek, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(
        counter, extra='Output(bytes([x]) * (2 * 1024 * 1024), name="big")\n')
    db = tmp_path / "study.db"
    sensitivity(script, {"x": [1]}, store=db, progress=False)
    sensitivity(script, {"x": [1, 2]}, store=db, backup=True, progress=False)
    (backup,) = (p for p in tmp_path.glob("study.db.bak-*") if p.is_file())
    assert Path(f"{backup}-outputs").is_dir()
    files = [r[0] for r in peek.query(backup, "SELECT file FROM outputs WHERE file IS NOT NULL")]
    assert len(files) == 2
    assert all(f.startswith(f"{backup.name}-outputs/") for f in files)
    shutil.rmtree(f"{db}-outputs")  # the study's own side files are gone: the copy stands alone
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        copy = load(backup)
    assert copy[{"x": 1}]["big"] == b"\x01" * (2 * 1024 * 1024)
    assert len(copy.records) == 2
