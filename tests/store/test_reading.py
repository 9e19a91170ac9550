"""Reading a study back: load, one sweep of it, the Study API and the runs view.

Real scripts run in real subprocesses against real SQLite files; the database is
inspected both through the public API and with plain ``sqlite3`` (the ``peek`` fixture).
"""

from __future__ import annotations

import sqlite3
from collections.abc import MutableMapping
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

from py3r_script import Study, load, sensitivity
from py3r_script.store.study import StoreError

STUDY_SCRIPT = """\
from py3r_script import Output, Param
x = Param(0, name="x")
if x == 3:
    raise ValueError("three is bad")
Output(x * 10, name="y")
Output(f"v{x}", name="label")
"""


@pytest.fixture(scope="module")
def two_sweeps(tmp_path_factory, peek) -> tuple[Path, list[str]]:
    """A study of two sweeps: x in [0, 1, 2], then [0, 2, 3] (0 and 2 reused, 3 fails)."""
    folder = tmp_path_factory.mktemp("two_sweeps")
    script = folder / "script.py"
    script.write_text(STUDY_SCRIPT)
    db = folder / "study.db"
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    sensitivity(script, {"x": [2, 3]}, store=db, progress=False)
    sweep_ids = [r[0] for r in peek.query(db, "SELECT sweep_id FROM sweeps ORDER BY sweep_seq")]
    return db, sweep_ids


def test_load_whole_study(two_sweeps, peek):
    db, (first, second) = two_sweeps
    sr = load(db)
    assert [dict(r.params) for r in sr.records] == [{"x": 0}, {"x": 1}, {"x": 2}, {"x": 3}]
    assert [r.sweep_id for r in sr.records] == [first, first, first, second]
    assert len(sr) == 3
    assert [e[0] for e in sr.errors] == [{"x": 3}]
    assert sr[{"x": 2}]["label"] == "v2"
    assert sr.param_names == ["x"]
    assert sr.output_names == ["y", "label"]

    frame = sr.to_dataframe(meta=True)
    for column in ("_sweep_id", "_iteration_id", "_status", "_duration_s"):
        assert column in frame.columns
    assert frame["x"].tolist() == [0, 1, 2]
    assert frame["y"].tolist() == [0, 10, 20]
    assert frame["_sweep_id"].tolist() == [first] * 3
    assert frame["_status"].tolist() == ["ok"] * 3
    assert (frame["_duration_s"] > 0).all()
    ids = [r[0] for r in peek.query(db, "SELECT iteration_id FROM iterations "
                                    "WHERE status = 'ok' ORDER BY iteration_seq")]
    assert frame["_iteration_id"].tolist() == ids
    with_failed = sr.to_dataframe(include_failed=True)
    assert with_failed["_status"].tolist() == ["ok", "ok", "ok", "error"]


def test_load_one_sweep(two_sweeps):
    db, (first, second) = two_sweeps
    latest = load(db, sweep=-1)
    # the latest sweep's whole plan, reused iterations included
    assert [dict(r.params) for r in latest.records] == [{"x": 0}, {"x": 2}, {"x": 3}]
    assert [r.sweep_id for r in latest.records] == [first, first, second]
    assert latest.to_dataframe()["y"].tolist() == [0, 20]
    assert [e[0] for e in latest.errors] == [{"x": 3}]

    for selector in (0, first, first[:6]):
        earlier = load(db, sweep=selector)
        assert [dict(r.params) for r in earlier.records] == [{"x": 0}, {"x": 1}, {"x": 2}]
    assert [r.iteration_id for r in load(db, sweep=1).records] == [
        r.iteration_id for r in latest.records]

    with pytest.raises(StoreError):
        load(db, sweep=2)
    with pytest.raises(StoreError):
        load(db, sweep="not-a-sweep")


def test_sweep_prefix_is_not_a_pattern(two_sweeps):
    db, (first, _) = two_sweeps
    with pytest.raises(StoreError):
        load(db, sweep=first[:8] + "%")


def test_study_api_lists_sweeps_and_records(two_sweeps):
    db, (first, second) = two_sweeps
    with Study(db) as study:
        sweeps = study.sweeps()
        records = study.records()
        latest = study.records(sweep=-1)
    assert sweeps["sweep_id"].tolist() == [first, second]
    assert sweeps["sweep_seq"].tolist() == [0, 1]
    assert sweeps["n_planned"].tolist() == [3, 3]
    assert sweeps["n_done"].tolist() == [3, 3]
    assert sweeps["n_failed"].tolist() == [0, 1]
    assert sweeps["status"].tolist() == ["finished", "finished"]
    assert [r.params["x"] for r in records] == [0, 1, 2, 3]
    assert [r.params["x"] for r in latest] == [0, 2, 3]


def test_runs_view_has_one_row_per_iteration(two_sweeps):
    db, (first, second) = two_sweeps
    with closing(sqlite3.connect(db)) as con:
        frame = pd.read_sql("SELECT * FROM runs", con)
    assert len(frame) == 4
    assert frame["x"].tolist() == [0, 1, 2, 3]
    assert frame["y"].tolist()[:3] == [0, 10, 20]
    assert pd.isna(frame["y"].iloc[3])
    assert frame["label"].tolist()[:3] == ["v0", "v1", "v2"]
    assert frame["_status"].tolist() == ["ok", "ok", "ok", "error"]
    assert frame["_sweep_id"].tolist() == [first, first, first, second]
    assert frame["_iteration_seq"].tolist() == [0, 1, 2, 3]


def test_store_and_sweep_of_the_wrong_type_are_type_errors(tmp_path, two_sweeps, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    for store in (True, 1, b"study.db"):
        with pytest.raises(TypeError, match="store= takes the path of a study database"):
            sensitivity(script, {"x": [1]}, store=store, progress=False)
    with pytest.raises(TypeError, match="path of its database file"):
        load(True)
    assert not counter.exists()
    db, (first, _) = two_sweeps
    for sweep in (1.5, True):
        with pytest.raises(TypeError, match=r"sweep= takes a sweep id \(a str.*an int"):
            load(db, sweep=sweep)
    import numpy as np

    assert load(db, sweep=np.int64(0)).records[0].sweep_id == first


def test_records_share_no_mutable_value(two_sweeps):
    """Texts the iterations share are parsed once, but each record has its own mappings
    (an empty one, read-only, is shared)."""
    db, _ = two_sweeps
    with Study(db) as study:
        first, second = study.records()[:2]
    assert first.env == second.env
    for name in ("env", "params_seen"):
        one, other = getattr(first, name), getattr(second, name)
        assert one is not other or not isinstance(one, MutableMapping), name
    assert isinstance(first.argv, tuple) and first.argv == second.argv
