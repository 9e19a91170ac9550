"""Opening a study never runs code from it: pickles are unpickled only when read, and only
when this user's key signed them or the study is trusted; reuse decisions and ``show`` read
none. A study an older py3r-script wrote still loads (scalars at once, its pickles with
``trusted=True``) and resumes.

Real scripts run in real subprocesses; the study is tampered with through plain ``sqlite3``
and its side files, as anyone who can write the file could.
"""

from __future__ import annotations

import math
import pickle
import shutil
import socket
import sqlite3
import sys
import warnings
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from py3r_script import StoreError, Study, UntrustedOutputError, load, run, sensitivity, sweep
from py3r_script.store.study import SCHEMA_VERSION

SCHEMA2 = Path(__file__).parent / "data" / "schema2"

PICKLED = """
from py3r_script import Output, Param
x = Param(1, name="x")
if x == 3:
    raise ValueError("x = 3 fails")
Output(x * 10, name="y")
Output({"x": x, "items": [1, 2]}, name="mapping")
Output({"x": x}, name="other")
Output(bytes([x]) * 1_500_000, name="raw")  # a side file
"""
OBJECTS = """
import numpy as np
import pandas as pd
""" + PICKLED + """
Output(pd.DataFrame({"a": [x, x + 1]}), name="frame")
Output(np.arange(3) * x, name="array")
Output(pd.DataFrame({"v": np.arange(300_000.0)}), name="table")  # side files
Output(np.ones((600, 300)), name="grid")
"""


class _Payload:
    """Unpickling this creates ``marker``: what a hostile pickle could do instead."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _hostile(marker: Path, size: int | None = None) -> bytes:
    data = pickle.dumps(_Payload(marker))
    return data if size is None else data + b"\0" * (size - len(data))  # ignored after STOP


def test_a_pickle_swapped_into_a_study_never_runs(tmp_path, write_script, peek, capsys):
    from py3r_script.cli.main import main

    script = write_script(PICKLED)
    db = tmp_path / "study.db"
    sensitivity(script, {"x": [2, 3]}, store=db, progress=False)
    marker = tmp_path / "code ran"
    row = peek.query(db, "SELECT o.file, o.size FROM outputs o WHERE o.name = 'raw' "
                         "AND o.file IS NOT NULL LIMIT 1")[0]
    with closing(sqlite3.connect(db)) as con, con:  # a signed pickle changed, another
        con.execute("UPDATE outputs SET blob = ? WHERE name = 'mapping'", (_hostile(marker),))
        con.execute("UPDATE outputs SET blob = ?, signature = NULL WHERE name = 'other'",
                    (_hostile(marker),))  # unsigned, a side file changed
    (db.parent / row["file"]).write_bytes(_hostile(marker, row["size"]))

    with pytest.warns(UserWarning, match="trusted=True"):
        sr = load(db)  # opening
    for params in ({"x": 1}, {"x": 2}):
        with pytest.raises(UntrustedOutputError, match="do not match its signature"):
            sr[params]["mapping"]  # reading a changed pickle
        with pytest.raises(UntrustedOutputError, match="not signed with your"):
            sr[params]["other"]
    assert "raw" in sr[{"x": 1}].untrusted or "raw" in sr[{"x": 2}].untrusted
    assert sr.to_dataframe(outputs=["y"])["y"].tolist() == [10, 20]
    with pytest.warns(UserWarning, match="were not read"):
        sensitivity(script, {"x": [2, 4]}, store=db, progress=False)  # reuse decisions
    capsys.readouterr()
    for args, shows in ((["--errors"], "3 fails"), (["--sweep", "0"], "20")):
        with pytest.warns(UserWarning, match="were not read"):
            assert main(["show", str(db), *args]) == 0  # the command line's show
        assert shows in capsys.readouterr().out
    assert not marker.exists(), "a pickle in the study ran when it was opened"

    # it is the user's to decide: trusted=True runs what the study holds
    load(db, trusted=True)[{"x": 2}]["mapping"]
    assert marker.exists()


def test_outputs_are_stored_by_kind_and_read_without_py3r_script(tmp_path, write_script, peek):
    import io

    db = tmp_path / "study.db"
    ran = run(write_script(OBJECTS), {"x": 2}, store=db, progress=False)[{"x": 2}]
    rows = {r["name"]: r for r in peek.query(db, "SELECT * FROM outputs")}
    assert {n: (r["format"], r["type"]) for n, r in rows.items()} == {
        "y": ("value", "int"), "mapping": ("pickle", "dict"), "other": ("pickle", "dict"),
        "raw": ("pickle", "bytes"), "frame": ("parquet", "pandas.DataFrame"),
        "array": ("npy", "numpy.ndarray"), "table": ("parquet", "pandas.DataFrame"),
        "grid": ("npy", "numpy.ndarray")}
    assert rows["y"]["value"] == 20 and rows["y"]["blob"] is None
    # Parquet and .npy, inline or in side files, for pandas, pyarrow and NumPy alone
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(rows["frame"]["blob"])),
                                  ran["frame"])
    assert np.load(io.BytesIO(rows["array"]["blob"]), allow_pickle=False).tolist() == [0, 2, 4]
    files = {n: db.parent / r["file"] for n, r in rows.items() if r["file"] is not None}
    assert {n: f.suffix for n, f in files.items()} == {
        "raw": ".pkl", "table": ".parquet", "grid": ".npy"}
    pd.testing.assert_frame_equal(pd.read_parquet(files["table"]), ran["table"])
    assert np.load(files["grid"], allow_pickle=False).shape == (600, 300)
    # pickles carry this user's signature
    assert all(r["signature"] for r in rows.values() if r["format"] == "pickle")
    assert all(r["signature"] is None for r in rows.values() if r["format"] != "pickle")


def test_own_pickles_load_and_others_need_trusted(tmp_path, write_script, monkeypatch):
    script = write_script(OBJECTS)
    db = tmp_path / "study.db"
    run(script, {"x": 2}, store=db, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mine = load(db)
    assert mine[{"x": 2}]["mapping"] == {"x": 2, "items": [1, 2]}
    assert mine[{"x": 2}]["raw"] == b"\x02" * 1_500_000

    monkeypatch.setenv("PY3R_SCRIPT_KEY_FILE", str(tmp_path / "colleague.key"))
    with pytest.warns(UserWarning, match="trusted=True"):
        theirs = load(db)  # as a colleague opens it
    outputs = theirs[{"x": 2}]
    assert set(outputs.untrusted) == {"mapping", "other", "raw"} and "mapping" not in outputs
    assert outputs["frame"]["a"].tolist() == [2, 3] and outputs["y"] == 20  # no trust needed
    with pytest.raises(UntrustedOutputError) as caught:
        outputs["mapping"]
    error = caught.value
    assert isinstance(error, KeyError) and isinstance(error, StoreError)
    assert error.output == "mapping" and error.study == str(db)
    assert "load(" in str(error) and "trusted=True" in str(error) and "dict" in str(error)
    assert theirs.to_dataframe(outputs=["y"])["y"].tolist() == [20]
    with pytest.raises(UntrustedOutputError):
        theirs.concat("mapping")
    with Study(db, trusted=True) as study:
        assert study.records()[-1].outputs["mapping"]["x"] == 2
    assert load(db, trusted=True)[{"x": 2}]["raw"] == b"\x02" * 1_500_000


def test_the_signing_key_is_made_once_for_this_user_only(tmp_path, write_script, monkeypatch):
    monkeypatch.delenv("PY3R_SCRIPT_KEY_FILE")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    script = write_script(PICKLED)
    run(script, {"x": 2}, store=tmp_path / "study.db", progress=False)
    key = tmp_path / "config" / "py3r-script" / "signing.key"
    assert key.stat().st_mode & 0o777 == 0o600 and key.stat().st_size == 32
    assert key.parent.stat().st_mode & 0o777 == 0o700

    unsafe = tmp_path / "unsafe.key"
    unsafe.write_bytes(bytes(32))
    unsafe.chmod(0o644)
    monkeypatch.setenv("PY3R_SCRIPT_KEY_FILE", str(unsafe))
    with pytest.warns(RuntimeWarning, match="others may read or change it"):
        run(script, {"x": 2}, store=tmp_path / "other.db", progress=False)
    with pytest.warns(UserWarning, match="not signed"):
        assert "mapping" in load(tmp_path / "other.db")[{"x": 2}].untrusted


def _schema2_copy(tmp_path: Path) -> tuple[Path, Path]:
    """The study the schema-2 py3r-script wrote, as if run on this machine: copied with its
    script, its paths and interpreter this machine's (it recorded its own)."""
    folder = tmp_path / "old"
    shutil.copytree(SCHEMA2, folder, ignore=shutil.ignore_patterns("make_study.py"))
    db = folder / "study.db"
    with closing(sqlite3.connect(db)) as con, con:
        con.execute("UPDATE iterations SET script = ?, interpreter = ?, host = ?, python = ?",
                    (str(folder / "pipeline.py"), sys.executable, socket.gethostname(),
                     "{}.{}.{}".format(*sys.version_info[:3])))
    return folder, db


def test_a_study_of_the_previous_version_loads_and_resumes(tmp_path, peek):
    folder, db = _schema2_copy(tmp_path)
    assert peek.scalar(db, "PRAGMA user_version") == 2
    with pytest.warns(UserWarning, match="trusted=True"):
        old = load(db)
    assert peek.scalar(db, "PRAGMA user_version") == SCHEMA_VERSION == 5
    outputs = old[{"x": 2}]
    assert [(n, type(outputs[n]).__name__) for n in ("y", "flag", "text", "np_scalar")] == [
        ("y", "int"), ("flag", "bool"), ("text", "str"), ("np_scalar", "float64")]
    assert outputs["y"] == 20 and outputs["flag"] is True and outputs["text"] == "a-2"
    assert math.isnan(outputs["ratio"]) and outputs["nothing"] is None
    assert old[{"x": 1}]["np_scalar"] == np.float64(1.5) and old[{"x": 1}]["ratio"] == 0.25
    assert set(outputs.untrusted) == {"frame", "series", "array", "mapping", "raw"}
    assert old.to_dataframe(outputs=["y", "ratio", "flag"])["y"].tolist() == [10, 20]
    assert old.scalar_output_names() == ["y", "ratio", "flag", "text", "nothing", "np_scalar"]
    assert [r.status for r in old.records] == ["ok", "ok", "error"]

    trusted = load(db, trusted=True)[{"x": 1}]
    pd.testing.assert_frame_equal(trusted["frame"], pd.DataFrame({"a": [1, 2], "b": ["u", "v"]}))
    pd.testing.assert_series_equal(trusted["series"], pd.Series([0.5, 1], name="s"))
    assert trusted["array"].tolist() == [[0, 1, 2]] and trusted["array"].dtype == np.int32
    assert trusted["mapping"] == {"x": 1, "items": [1, 2]}
    assert trusted["raw"] == bytes(range(256)) * 8  # its side file

    # resuming: what succeeded is reused (its pickles unread), the rest runs
    with pytest.warns(UserWarning, match="trusted=True"):
        sr = sweep(folder / "pipeline.py", {"x": [1, 2, 3, 4]}, store=db, progress=False)
    assert [r.status for r in sr.records] == ["ok", "ok", "error", "ok"]
    reused = peek.query(db, "SELECT plan_index, reused FROM sweep_items JOIN sweeps "
                            "USING (sweep_id) WHERE sweep_seq = 1 ORDER BY plan_index")
    assert [tuple(r) for r in reused] == [(0, 1), (1, 1), (2, 0), (3, 0)]
    assert sr[{"x": 1}]["y"] == 10 and "frame" in sr[{"x": 1}].untrusted
    pd.testing.assert_frame_equal(sr[{"x": 4}]["frame"], pd.DataFrame({"a": [4, 5],
                                                                       "b": ["u", "v"]}))
    everything = load(db, trusted=True)
    assert len(everything.records) == 5 and everything[{"x": 1}]["mapping"]["x"] == 1
    assert peek.integrity(db) == "ok"


def test_a_report_and_the_analysis_never_unpickle(tmp_path, write_script, monkeypatch):
    """Pickles signed with this user's key load when asked for, but a report (and deciding
    which outputs are numbers, or whether an output is there) never asks."""
    db = tmp_path / "study.db"
    sensitivity(write_script(PICKLED), {"x": [1, 2, 3]}, store=db, progress=False)

    unpickled = []

    def refuse(*args, **kwargs):
        unpickled.append(args)
        raise AssertionError("something was unpickled")

    loads = pickle.loads
    monkeypatch.setattr(pickle, "loads", refuse)
    with Study(db) as study:
        records = study.records()
        study.report(tmp_path / "report.html")
    outputs = records[0].outputs
    assert "mapping" in outputs and outputs.is_deferred("mapping")  # there, not read
    assert "raw" in outputs and outputs.get("nope", 7) == 7
    assert not unpickled
    page = (tmp_path / "report.html").read_text()
    assert "Tornado chart of y" in page and "Tornado chart of mapping" not in page
    results = load(db)
    assert results.sensitivity_table()["output"].unique().tolist() == ["y"]
    assert records[0].outputs.is_deferred("mapping") and not unpickled
    monkeypatch.setattr(pickle, "loads", loads)
    assert records[0].outputs.get("mapping") == {"x": 1, "items": [1, 2]}  # read when asked
