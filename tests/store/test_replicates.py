"""Replicates in a study: reuse counts them, a killed sweep redoes only the missing ones,
job arrays carry them, ``merge`` keeps them apart, and a schema-4 study is upgraded."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
from contextlib import closing
from pathlib import Path

from py3r_script import load, merge, sweep
from py3r_script.cli.main import main
from py3r_script.store.schema import SCHEMA_VERSION

SEEDED = """
import random
from pathlib import Path
from py3r_script import Output, Param
x = Param(1, name="x")
seed = Param(0, name="seed")
with open({counter!r}, "a") as handle:
    handle.write(f"{{x}} {{seed}}\\n")
Output(x + random.Random(seed).random(), name="y")
"""


def _script(write_script, counter: Path, extra: str = "") -> Path:
    return write_script(SEEDED.format(counter=str(counter)) + extra)


def _runs(counter: Path) -> list[str]:
    return counter.read_text().splitlines() if counter.exists() else []


def test_asking_for_more_replicates_runs_only_the_new_ones(write_script, tmp_path, peek):
    counter = tmp_path / "runs.txt"
    script = _script(write_script, counter)
    db = tmp_path / "study.db"
    first = sweep(script, {"x": [1, 2]}, replicates=3, include_nominal=False, store=db,
                  progress=False)
    assert len(_runs(counter)) == 6
    preview = sweep(script, {"x": [1, 2]}, replicates=5, include_nominal=False, store=db,
                    dry_run=True)
    assert list(preview.actions) == ["reuse"] * 3 + ["run"] * 2 + ["reuse"] * 3 + ["run"] * 2
    more = sweep(script, {"x": [1, 2]}, replicates=5, include_nominal=False, store=db,
                 progress=False)
    assert len(_runs(counter)) == 10  # replicates 3 and 4 of each point
    assert [r.replicate for r in more.records] == [0, 1, 2, 3, 4] * 2
    assert [r.outputs["y"] for r in more.records if r.replicate < 3] == [
        r.outputs["y"] for r in first.records]
    rows = peek.query(db, "SELECT replicate, COUNT(*) FROM iterations GROUP BY replicate")
    assert [tuple(r) for r in rows] == [(0, 2), (1, 2), (2, 2), (3, 2), (4, 2)]
    assert peek.query(db, "SELECT DISTINCT _replicate FROM runs ORDER BY 1")[-1][0] == 4
    # the design is stored with the sweep: a loaded study agrees
    loaded = load(db, sweep=-1)
    assert loaded.design.replicates == 5 and loaded.design.replicate_seed == "seed"
    assert loaded.aggregate("y")["y_n"].tolist() == [5, 5]
    assert loaded.to_dataframe()["replicate"].tolist() == [0, 1, 2, 3, 4] * 2


def test_a_killed_replicated_sweep_redoes_only_the_missing_replicates(
        write_script, tmp_path, peek, procs):
    from py3r_script.designs.replicates import replicate_seed_value

    counter, stuck = tmp_path / "runs.txt", tmp_path / "stuck"
    stuck.touch()
    script = _script(write_script, counter, extra=(
        "import time\n"
        f"if x == 2 and seed == {replicate_seed_value(0, 1)} and Path({str(stuck)!r}).exists():\n"
        "    time.sleep(60)\n"))
    db = tmp_path / "study.db"
    call = (f"py3r_script.sweep({str(script)!r}, {{'x': [1, 2]}}, replicates=3, "
            f"include_nominal=False, store={str(db)!r}, progress=False)")
    driver = procs.start(procs.write_driver(tmp_path / "driver.py", call), tmp_path / "err")
    orphans = procs.kill_driver(driver, lambda: len(_runs(counter)) >= 5, "the stuck replicate",
                                tmp_path / "err")
    for pid in orphans:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    assert peek.scalar(db, "SELECT COUNT(*) FROM iterations") == 4
    stuck.unlink()
    sr = sweep(script, {"x": [1, 2]}, replicates=3, include_nominal=False, store=db,
               progress=False)
    assert [r.replicate for r in sr.records] == [0, 1, 2, 0, 1, 2] and sr.errors == []
    assert peek.scalar(db, "SELECT COUNT(*) FROM iterations") == 6  # only 2 more ran
    assert _runs(counter)[5:] == [f"2 {replicate_seed_value(0, r)}" for r in (1, 2)]


def test_job_arrays_carry_the_replicate(write_script, tmp_path, peek, capsys):
    counter = tmp_path / "runs.txt"
    script = _script(write_script, counter)
    db = tmp_path / "study.db"
    assert main(["sweep", str(script), "-s", "x=1,2", "--no-include-nominal", "--store",
                 str(db), "--prepare", "--replicates", "2", "--chunk-size", "2"]) == 0
    pending = peek.query(db, "SELECT replicate FROM pending_items ORDER BY plan_index")
    assert [r[0] for r in pending] == [0, 1, 0, 1]
    for task in range(2):
        assert main(["work", str(db), "--task", str(task), "--of", "2"]) == 0
    assert main(["collect", str(db)]) == 0
    capsys.readouterr()
    sr = load(db)
    assert sorted((r.params["x"], r.replicate) for r in sr.records) == [
        (1, 0), (1, 1), (2, 0), (2, 1)]
    assert sorted(set(_runs(counter))) == sorted(_runs(counter))  # each ran once
    assert sr.aggregate("y")["y_n"].tolist() == [2, 2]


def test_merge_keeps_replicates_apart(write_script, tmp_path):
    counter = tmp_path / "runs.txt"
    script = _script(write_script, counter)
    one, two, both = (tmp_path / name for name in ("one.db", "two.db", "both.db"))
    sweep(script, {"x": [1]}, replicates=2, include_nominal=False, store=one, progress=False)
    sweep(script, {"x": [1]}, replicates=2, seed=9, include_nominal=False, store=two,
          progress=False)
    merge(both, one, two)
    sr = load(both)
    assert [r.replicate for r in sr.records] == [0, 1, 0, 1]
    assert len({r.params["seed"] for r in sr.records}) == 4


def test_a_schema_4_study_is_upgraded_with_replicate_0(write_script, tmp_path, peek,
                                                       downgrade):
    counter = tmp_path / "runs.txt"
    script = _script(write_script, counter)
    db = tmp_path / "study.db"
    sweep(script, {"x": [1, 2]}, include_nominal=False, store=db, progress=False)
    new_columns = peek.columns(db)
    downgrade(db, 4)
    assert "replicate" not in peek.columns(db)["iterations"]
    assert peek.scalar(db, "PRAGMA user_version") == 4
    sr = load(db)  # upgraded as it opens
    assert peek.scalar(db, "PRAGMA user_version") == SCHEMA_VERSION == 5
    assert peek.columns(db) == new_columns
    assert [r.replicate for r in sr.records] == [0, 0] and not sr.replicated
    assert "replicate" not in sr.to_dataframe().columns
    # the old iterations are replicate 0 of a new replicated sweep (no seed: the same runs)
    sweep(script, {"x": [1, 2]}, include_nominal=False, store=db, progress=False)
    assert len(_runs(counter)) == 2
    sweep(script, {"x": [1, 2]}, replicates=2, replicate_seed=False, include_nominal=False,
          store=db, progress=False)
    assert len(_runs(counter)) == 4  # only replicate 1 of each
    with closing(sqlite3.connect(db)) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
