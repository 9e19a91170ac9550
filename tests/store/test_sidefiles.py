"""Side files: large outputs streamed to files beside the study, and what a lost one costs.

Real scripts run in real subprocesses against real SQLite files; the database is
inspected both through the public API and with plain ``sqlite3`` (the ``peek`` fixture).
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from py3r_script import Study, load, run, sensitivity
from py3r_script.store.study import INLINE_LIMIT


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_large_output_goes_to_a_side_file_small_ones_stay_inline(tmp_path, write_script, peek):
    script = write_script(
        """
        from py3r_script import Output, Param
        x = Param(0, name="x")
        Output(bytes(range(256)) * 20_000 + bytes([x]), name="big")
        Output(x, name="small")
        """
    )
    big = bytes(range(256)) * 20_000
    assert len(big) > 4 * INLINE_LIMIT
    db = tmp_path / "study.db"
    sr = sensitivity(script, {"x": [1]}, store=db, progress=False)
    assert sr[{"x": 1}]["big"] == big + b"\x01"

    rows = peek.query(db, "SELECT i.iteration_seq AS seq, o.name, o.file, o.blob, o.size, "
                      "o.value FROM outputs o JOIN iterations i USING (iteration_id) "
                      "ORDER BY seq, o.position")
    assert [(r["seq"], r["name"]) for r in rows] == [(0, "big"), (0, "small"), (1, "big"),
                                                      (1, "small")]
    outputs_dir = Path(f"{db}-outputs").resolve()
    side_files = set()
    for row in rows:
        if row["name"] == "big":
            assert row["file"] is not None
            assert row["blob"] is None
            assert row["size"] > INLINE_LIMIT
            path = (db.parent / row["file"]).resolve()
            assert path.is_file()
            assert outputs_dir in path.parents
            side_files.add(path)
        else:  # a scalar: in its row's value column
            assert row["file"] is None
            assert row["value"] == row["seq"]
    assert len(side_files) == 2

    loaded = load(db)
    assert loaded[{"x": 0}]["big"] == big + b"\x00"
    assert loaded[{"x": 1}]["big"] == big + b"\x01"
    assert loaded.to_dataframe(outputs=["small"])["small"].tolist() == [0, 1]
    with Study(db) as study:
        assert [r.outputs["big"][-1] for r in study.records()] == [0, 1]


def test_a_lost_or_cut_side_file_costs_only_its_iteration(tmp_path, peek, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(
        counter, extra='Output(bytes([x]) * (2 * 1024 * 1024), name="big")\n')
    db = tmp_path / "study.db"
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    files = {json.loads(r["params_json"])["x"]: db.parent / r["file"] for r in peek.query(
        db, "SELECT i.params_json, o.file FROM outputs o JOIN iterations i "
            "USING (iteration_id) WHERE o.file IS NOT NULL")}
    files[1].unlink()
    with open(files[2], "r+b") as handle:
        handle.truncate(1000)

    with pytest.warns(UserWarning) as caught:
        study = load(db)
    message = str(caught[0].message)
    assert str(files[1]) in message and "missing" in message
    assert str(files[2]) in message and "cut short" in message
    # every iteration is still listed, with its other outputs; the lost one says why
    assert len(study.records) == 3 and study.errors == []
    assert study[{"x": 0}]["big"] == b"\x00" * (2 * 1024 * 1024)
    assert study[{"x": 1}]["y"] == 10
    with pytest.raises(KeyError, match="missing"):
        study[{"x": 1}]["big"]
    assert "big" not in study[{"x": 2}]
    assert set(study.record({"x": 2}).outputs.unavailable) == {"big"}
    assert study.to_dataframe(outputs=["y", "z"])["y"].tolist() == [0, 10, 20]

    # the sweep runs exactly those two again, and asking for what is intact still reuses
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing unloadable is handed to the sweep
        sr = sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
        assert _lines(counter) == ["0", "1", "2", "1", "2"]
        assert sr[{"x": 2}]["big"] == b"\x02" * (2 * 1024 * 1024)
        sensitivity(script, {"x": [1, 2]}, outputs=["y"], store=db, progress=False)
    assert len(_lines(counter)) == 5


@pytest.mark.parametrize("kind", ["npy", "pickle"])
def test_a_large_numpy_backed_output_is_stored_without_a_second_copy(tmp_path, write_script,
                                                                      kind):
    """An array goes to its ``.npy`` file, and pickle protocol 5 hands NumPy data inside
    other objects to the writer as buffers: both stream it, once."""
    value = "array" if kind == "npy" else '{"data": array}'
    script = write_script(
        f"""
        import numpy as np
        from py3r_script import Output
        array = np.arange(4_000_000, dtype=np.float64)  # 32 MB
        Output({value}, name="array")
        """
    )
    driver = write_script(
        f"""
        import json, tracemalloc
        from py3r_script.running.launch import IterationTask, run_iteration
        from py3r_script.paramset import ParamSet
        from py3r_script.store import formats, sidefiles
        from py3r_script.store.study import Study
        record = run_iteration(IterationTask(script={str(script)!r}, params=ParamSet()))
        tracemalloc.start()
        with Study({str(tmp_path / "study.db")!r}) as study:
            path = sidefiles.side_file(study.outputs_dir, record.iteration_id, "array", "")
            stored = formats.store(record.outputs["array"], path, study.path.parent, None)
        peak = tracemalloc.get_traced_memory()[1]
        print(json.dumps({{"peak": peak, "file": stored.file, "size": stored.size,
                           "format": stored.format}}))
        """,
        "driver.py",
    )
    out = subprocess.run([sys.executable, str(driver)], capture_output=True, text=True,
                         check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["format"] == kind
    assert figures["file"] is not None and figures["size"] > 32_000_000
    assert figures["peak"] < 8_000_000, "storing held a second copy of the output"

    sr = run(script, store=tmp_path / "study2.db", progress=False)
    loaded = load(tmp_path / "study2.db")[{}]["array"]
    if kind == "pickle":
        loaded, sr = loaded["data"], sr[{}]["array"]["data"]
    else:
        sr = sr[{}]["array"]
    assert loaded.shape == (4_000_000,) and loaded[-1] == 3_999_999
    assert sr[123] == 123
