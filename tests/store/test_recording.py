"""What a study records of each iteration and sweep, committed the moment it finishes.

Real scripts run in real subprocesses against real SQLite files; the database is
inspected both through the public API and with plain ``sqlite3`` (the ``peek`` fixture).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import socket
import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

import py3r_script
from py3r_script import Study, load, run, sensitivity
from py3r_script.paramset import ParamSet


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


TYPED_SCRIPT = """
import sys
from py3r_script import Output, Param
n = Param(1, name="n")
f = Param(0.5, name="f")
s = Param("a", name="s")
b = Param(True, name="b")
print(f"stdout says {n} {f} {s} {b}")
print(f"stderr says {n}", file=sys.stderr)
if n == 3:
    raise ValueError("n too big")
Output(n * f, name="total")
Output(f"{s}-{n}", name="label")
"""


def test_every_field_of_an_iteration_is_committed(tmp_path, write_script, peek):
    script = write_script(TYPED_SCRIPT)
    db = tmp_path / "study.db"
    before = time.time()
    sr = sensitivity(script, {"n": [3], "f": [2.0], "s": ["b"]}, outputs=["total"],
                     store=db, progress=False)
    after = time.time()
    content_sha = _sha256_file(script)

    sweep = peek.query(db, "SELECT * FROM sweeps")
    assert len(sweep) == 1
    sweep = sweep[0]
    assert sweep["sweep_seq"] == 0
    assert sweep["status"] == "finished"
    assert sweep["finished_utc"] is not None
    assert sweep["script"] == os.path.abspath(script)
    assert sweep["script_sha256"] == content_sha
    assert sweep["mode"] == "independent"
    assert json.loads(sweep["param_names"]) == ["n", "f", "s"]
    assert json.loads(sweep["requested_outputs"]) == ["total"]
    assert sweep["n_planned"] == 4
    assert sweep["cwd"] == os.getcwd()
    assert sweep["python"] == platform.python_version()
    assert sweep["package_version"] == py3r_script.__version__
    assert sweep["host"] == socket.gethostname()

    rows = peek.query(db, "SELECT * FROM iterations ORDER BY iteration_seq")
    assert [r["iteration_seq"] for r in rows] == [0, 1, 2, 3]
    assert [r["plan_index"] for r in rows] == [0, 1, 2, 3]
    assert {r["sweep_id"] for r in rows} == {sweep["sweep_id"]}
    # the stored parameter set is complete: unswept parameters carry their script default
    expected_params = [
        {"n": 1, "f": 0.5, "s": "a", "b": True},
        {"n": 3, "f": 0.5, "s": "a", "b": True},
        {"n": 1, "f": 2.0, "s": "a", "b": True},
        {"n": 1, "f": 0.5, "s": "b", "b": True},
    ]
    for row, expected in zip(rows, expected_params):
        params = json.loads(row["params_json"])
        assert params == expected
        assert {k: type(v) for k, v in params.items()} == {
            k: type(v) for k, v in expected.items()}
        assert row["params_sha256"] == ParamSet(expected).digest
        assert row["script"] == os.path.abspath(script)
        assert row["script_sha256"] == content_sha
        assert json.loads(row["requested_outputs"]) == ["total"]
        assert row["host"] == socket.gethostname()
        assert row["python"] == platform.python_version()
        assert row["workdir"] is None
        assert row["stdout"].startswith(f"stdout says {expected['n']} {expected['f']} ")
        assert f"stderr says {expected['n']}" in row["stderr"]
        started = dt.datetime.fromisoformat(row["started_utc"])
        finished = dt.datetime.fromisoformat(row["finished_utc"])
        assert started.utcoffset() == dt.timedelta(0)
        assert before - 1 <= started.timestamp() <= finished.timestamp() <= after + 1
        assert row["duration_s"] == pytest.approx(row["finished"] - row["started"])
        assert row["duration_s"] == pytest.approx(
            (finished - started).total_seconds(), abs=1e-3)
        assert row["duration_s"] > 0
    assert len({r["params_sha256"] for r in rows}) == 4

    # status, error text and exit code: three ok, one raised
    assert [r["status"] for r in rows] == ["ok", "error", "ok", "ok"]
    failed = rows[1]
    assert failed["error_type"] == "ValueError"
    assert "ValueError: n too big" in failed["error"]
    assert failed["exit_code"] == 1
    assert failed["signal"] is None
    assert [r["exit_code"] for r in rows if r["status"] == "ok"] == [0, 0, 0]

    # the params table keeps the types: int, float (even 2.0), str, bool
    typed = peek.query(db, "SELECT p.name, p.value, typeof(p.value) AS t, p.type FROM params p "
                       "JOIN iterations i USING (iteration_id) WHERE i.iteration_seq = 2")
    assert {r["name"]: (r["value"], r["t"], r["type"]) for r in typed} == {
        "n": (1, "integer", "int"), "f": (2.0, "real", "float"), "s": ("a", "text", "str"),
        "b": (1, "integer", "bool"),
    }

    # the requested output (only it) is stored, with its value
    outs = peek.query(db, "SELECT i.iteration_seq AS seq, o.name, o.value, o.type, o.file "
                      "FROM outputs o JOIN iterations i USING (iteration_id) ORDER BY seq")
    assert [(r["seq"], r["name"], r["value"], r["type"], r["file"]) for r in outs] == [
        (0, "total", 0.5, "float", None), (2, "total", 2.0, "float", None),
        (3, "total", 0.5, "float", None),
    ]
    # and the in-memory results agree with the database
    assert [r.iteration_id for r in sr.records] == [r["iteration_id"] for r in rows]
    assert sr[{"f": 2.0}]["total"] == 2.0


def test_bool_and_none_params_keep_their_type(tmp_path, write_script, peek):
    script = write_script(
        """
        from py3r_script import Output, Param
        flag = Param(True, name="flag")
        opt = Param(None, name="opt")
        Output(repr(flag) + repr(opt), name="seen")
        """
    )
    db = tmp_path / "study.db"
    sensitivity(script, {"flag": [False], "opt": [1]}, store=db, progress=False)
    rows = peek.query(db, "SELECT i.iteration_seq AS seq, p.name, p.value, p.type FROM params p "
                      "JOIN iterations i USING (iteration_id) ORDER BY seq, p.name")
    assert [(r["seq"], r["name"], r["value"], r["type"]) for r in rows] == [
        (0, "flag", 1, "bool"), (0, "opt", None, "NoneType"),
        (1, "flag", 0, "bool"), (1, "opt", None, "NoneType"),
        (2, "flag", 1, "bool"), (2, "opt", 1, "int"),
    ]
    sr = load(db)
    assert sr[{"flag": False}]["seen"] == "FalseNone"
    assert sr[{"opt": 1}]["seen"] == "True1"


def test_crash_signal_and_exit_code_are_committed(tmp_path, write_script, peek):
    script = write_script(
        """
        import os
        import signal
        import sys
        from py3r_script import Output, Param
        x = Param(0, name="x")
        if x == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        if x == 2:
            sys.exit(3)
        Output(x, name="y")
        """
    )
    db = tmp_path / "study.db"
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    rows = peek.query(db, "SELECT status, exit_code, signal, error FROM iterations "
                      "ORDER BY iteration_seq")
    assert [(r["status"], r["exit_code"], r["signal"]) for r in rows] == [
        ("ok", 0, None), ("crashed", None, "SIGKILL"), ("error", 3, None),
    ]
    assert "SIGKILL" in rows[1]["error"]
    assert "3" in rows[2]["error"]
    sweeps = Study(db).sweeps()
    assert sweeps.loc[0, "n_done"] == 3
    assert sweeps.loc[0, "n_failed"] == 2


def test_each_iteration_is_committed_before_the_next_starts(tmp_path, write_script):
    db = tmp_path / "study.db"
    script = write_script(
        "import pathlib\n"
        "import sqlite3\n"
        "from py3r_script import Output, Param\n"
        'x = Param(0, name="x")\n'
        f"uri = pathlib.Path({str(db)!r}).resolve().as_uri() + '?mode=ro'\n"
        "con = sqlite3.connect(uri, uri=True)\n"
        "seen = con.execute('SELECT COUNT(*) FROM iterations').fetchone()[0]\n"
        "bad = con.execute(\"SELECT COUNT(*) FROM iterations WHERE status != 'ok'\")"
        ".fetchone()[0]\n"
        "con.close()\n"
        "if x == 1:\n"
        "    raise RuntimeError('fails on purpose')\n"
        'Output(seen, name="seen")\n'
        'Output(bad, name="bad")\n'
    )
    sr = sensitivity(script, {"x": [1, 2, 3]}, store=db, progress=False)
    # every earlier iteration, the failed one included, was in the database already
    assert sr.to_dataframe().values.tolist() == [[0, 0, 0], [2, 2, 1], [3, 3, 1]]


def test_capture_limit_keeps_only_the_tail(tmp_path, write_script, peek):
    script = write_script(
        """
        import sys
        from py3r_script import Output, Param
        x = Param(0, name="x")
        print("a" * 5000)
        print("TAIL-OUT")
        print("b" * 5000, file=sys.stderr)
        print("TAIL-ERR", file=sys.stderr)
        Output(x, name="y")
        """
    )
    db = tmp_path / "study.db"
    sr = sensitivity(script, {"x": [1]}, store=db, capture_limit=100, progress=False)
    rows = peek.query(db, "SELECT stdout, stderr FROM iterations")
    assert len(rows) == 2
    for row in rows:
        assert row["stdout"].endswith("TAIL-OUT\n")
        assert 0 < row["stdout"].count("a") <= 100
        assert row["stderr"].endswith("TAIL-ERR\n")
        assert 0 < row["stderr"].count("b") <= 100
        assert len(row["stdout"]) < 300
    assert sr.records[0].stdout == rows[0]["stdout"]


def test_numpy_and_pandas_scalars_are_sql_values(tmp_path, write_script, peek):
    script = write_script(
        """
        import numpy as np
        import pandas as pd
        from py3r_script import Output, Param
        x = Param(1, name="x")
        Output(np.int64(x) * 3, name="i64")
        Output(np.float32(x) / 2, name="f32")
        Output(np.float64(x) / 4, name="f64")
        Output(np.bool_(x > 0), name="flag")
        Output(pd.Series([1.0, 2.0]).mean(), name="mean")
        Output(pd.DataFrame({"a": [1, 2]})["a"].sum(), name="total")
        Output(np.arange(3), name="array")
        """
    )
    db = tmp_path / "study.db"
    run(script, store=db)
    with closing(sqlite3.connect(db)) as con:
        row = pd.read_sql("SELECT * FROM runs", con).iloc[0]
    assert [row[n] for n in ("i64", "f32", "f64", "flag", "mean", "total")] == [
        3, 0.5, 0.25, 1, 1.5, 3]
    assert row["array"] is None  # not a scalar: in the blob only
    stored = {r["name"]: (r["value"], r["t"], r["type"]) for r in peek.query(
        db, "SELECT name, value, typeof(value) AS t, type FROM outputs")}
    assert stored["i64"] == (3, "integer", "numpy.int64")
    assert stored["f32"] == (0.5, "real", "numpy.float32")
    assert stored["flag"][:2] == (1, "integer") and stored["flag"][2].startswith("numpy.bool")
    assert stored["total"] == (3, "integer", "numpy.int64")
    assert load(db)[{}]["i64"] == 3


def test_meta_columns_and_the_runs_view_agree(tmp_path, write_script):
    script = write_script(
        """
        import os
        import signal
        import sys
        from py3r_script import Output, Param
        x = Param(0, name="x")
        if x == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        if x == 2:
            sys.exit(3)
        Output(x * 10, name="y")
        """
    )
    db = tmp_path / "study.db"
    live = sensitivity(script, {"x": [1, 2]}, store=db, workdir=True, progress=False)
    again = sensitivity(script, {"x": [4]}, store=db, workdir=True, progress=False)
    columns = ["_sweep_seq", "_iteration_seq", "_params_sha256", "_status", "_exit_code",
               "_signal", "_workdir", "_iteration_id"]
    first = live.to_dataframe(meta=True, include_failed=True)[columns]
    assert first["_iteration_seq"].tolist() == [0, 1, 2]
    assert first["_sweep_seq"].tolist() == [0, 0, 0]
    assert first["_params_sha256"].tolist() == [
        ParamSet({"x": x}).digest for x in (0, 1, 2)]
    assert first["_exit_code"].tolist() == [0, pd.NA, 3]
    assert first["_signal"].fillna("").tolist() == ["", "SIGKILL", ""]
    assert first["_workdir"].tolist() == [r.workdir for r in live.records]
    assert all(Path(w).parent == Path(f"{db}-calc").resolve() for w in first["_workdir"])
    # the reused baseline keeps the numbers of the sweep that ran it
    assert again.to_dataframe(meta=True)[["_sweep_seq", "_iteration_seq"]].values.tolist() == [
        [0, 0], [1, 3]]
    # loading gives the same columns as the live results, and so does the runs view
    loaded = load(db).to_dataframe(meta=True, include_failed=True)[columns]
    pd.testing.assert_frame_equal(loaded.iloc[:3], first)
    with closing(sqlite3.connect(db)) as con:
        view = pd.read_sql("SELECT * FROM runs", con)
    assert view["_params_sha256"].tolist() == loaded["_params_sha256"].tolist()
    assert view["_exit_code"].fillna(-1).tolist() == [0, -1, 3, 0]
    assert view["_signal"].fillna("").tolist() == ["", "SIGKILL", "", ""]
    assert view["_workdir"].tolist() == loaded["_workdir"].tolist()
    assert view["_sweep_seq"].tolist() == [0, 0, 0, 1]


def test_runs_view_grows_a_column_for_new_names(tmp_path, write_script):
    db = tmp_path / "study.db"
    one = write_script(
        """
        from py3r_script import Output, Param
        x = Param(0, name="x")
        Output(x, name="y")
        """,
        "one.py",
    )
    two = write_script(
        """
        from py3r_script import Output, Param
        x = Param(0, name="x")
        w = Param(0.5, name="w")
        Output(x, name="y")
        Output(x * w, name="new_out")
        """,
        "two.py",
    )
    sensitivity(one, {"x": [1]}, store=db, progress=False)
    sensitivity(two, {"w": [1.5]}, store=db, progress=False)
    with closing(sqlite3.connect(db)) as con:
        frame = pd.read_sql("SELECT x, w, y, new_out FROM runs", con)
    # the runs view shows every parameter of each iteration (x keeps its script default in
    # the second sweep); w did not exist in the first script
    assert frame["x"].tolist() == [0, 1, 0, 0]
    assert frame["w"].tolist()[2:] == [0.5, 1.5]
    assert frame["w"].isna().tolist()[:2] == [True, True]
    assert frame["new_out"].tolist()[2:] == [0.0, 0.0]
    assert frame["new_out"].isna().tolist()[:2] == [True, True]
    whole = load(db)
    assert whole.param_names == ["x", "w"]
    assert len(whole.records) == 4


def test_runs_view_keeps_bookkeeping_names_for_bookkeeping(tmp_path, write_script, peek):
    script = write_script(
        """
        from py3r_script import Output, Param
        x = Param(0, name="x")
        Output("mine", name="_status")
        Output("also mine", name="_error")
        Output(x > 1, name="big")
        """
    )
    db = tmp_path / "study.db"
    run(script, store=db)
    with closing(sqlite3.connect(db)) as con:
        frame = pd.read_sql("SELECT * FROM runs", con)
    assert frame["_status"].tolist() == ["ok"] and frame["_status:1"].tolist() == ["mine"]
    assert frame["_error"].isna().all() and frame["_error:1"].tolist() == ["also mine"]
    assert frame["big"].tolist() == [0]  # SQLite has no booleans: 0/1, type "bool"
    assert peek.scalar(db, "SELECT type FROM outputs WHERE name = 'big'") == "bool"


def test_the_design_of_each_sweep_is_kept(tmp_path, write_script):
    script = write_script(
        """
        from py3r_script import Output, Param
        x = Param(0.5, name="x")
        Output(x * 2, name="y")
        """
    )
    db = tmp_path / "study.db"
    sampled = py3r_script.sweep(script, sample={"x": (0.0, 1.0)}, n=3, store=db,
                                progress=False)
    assert sampled.design.mode == "lhs" and sampled.design.seed is not None  # drawn
    assert load(db, sweep=-1).design == sampled.design
    assert load(db).design == sampled.design  # every sweep of the study has it
    # the seed from the store replays the same draws
    replay = py3r_script.plan(script, sample={"x": (0.0, 1.0)}, n=3,
                              seed=load(db).design.seed)
    assert [p["x"] for p in replay.points] == [r.params["x"] for r in sampled.records]

    py3r_script.sweep(script, {"x": [0.1]}, store=db, progress=False)
    assert load(db, sweep=-1).design.mode == "grid"
    assert load(db).design is None  # two designs: none in common


def test_workdir_true_gives_each_iteration_its_own_folder(tmp_path, write_script, peek):
    script = write_script(
        """
        import os
        from py3r_script import Output, Param
        x = Param(0, name="x")
        with open("made.txt", "w") as handle:
            handle.write(str(x))
        Output(os.getcwd(), name="cwd")
        """
    )
    db = tmp_path / "study.db"
    sr = sensitivity(script, {"x": [1, 2]}, store=db, workdir=True, progress=False)
    assert sr.errors == []
    calc = Path(f"{db}-calc").resolve()
    rows = peek.query(db, "SELECT iteration_id, params_json, workdir FROM iterations "
                      "ORDER BY iteration_seq")
    cwds = [sr[{"x": x}]["cwd"] for x in (0, 1, 2)]
    assert len(set(cwds)) == 3
    for row, cwd, record in zip(rows, cwds, sr.records):
        x = json.loads(row["params_json"])["x"]
        folder = Path(cwd).resolve()
        assert folder.parent == calc
        assert folder.name == row["iteration_id"]
        assert (folder / "made.txt").read_text() == str(x)
        assert Path(row["workdir"]).resolve() == folder
        assert Path(record.workdir).resolve() == folder
    assert not (tmp_path / "made.txt").exists()
    assert [Path(r.workdir).resolve() for r in load(db).records] == [
        Path(c).resolve() for c in cwds]


def test_workdir_true_without_store_is_refused(tmp_path, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    with pytest.raises(ValueError, match="store"):
        sensitivity(script, {"x": [1]}, workdir=True, progress=False)
    assert not counter.exists()


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com",
         "-c", "commit.gpgsign=false", *args],
        cwd=cwd, check=True, capture_output=True, text=True, timeout=30,
    ).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit_and_dirty_flag_are_recorded(tmp_path, monkeypatch, peek, counting_script):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    repo = tmp_path / "repo"
    counter = tmp_path / "counter.txt"
    script = counting_script(counter, name="script.py")
    repo.mkdir()
    script = script.rename(repo / "script.py")
    (repo / "notes.txt").write_text("first\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "script.py", "notes.txt")
    _git(repo, "commit", "-q", "-m", "initial")
    head = _git(repo, "rev-parse", "HEAD")
    db = tmp_path / "study.db"

    sensitivity(script, {"x": [1]}, store=db, progress=False)
    (repo / "notes.txt").write_text("changed\n")  # a tracked file, not the script
    sensitivity(script, {"x": [1]}, store=db, progress=False)
    outside = tmp_path / "plain"
    outside.mkdir()
    (outside / "script.py").write_bytes(script.read_bytes())
    sensitivity(outside / "script.py", {"x": [1]}, store=db, progress=False)
    _git(repo, "checkout", "-q", "notes.txt")  # clean again, but the script is not committed:
    (repo / "sub").mkdir()
    untracked = repo / "sub" / "new.py"
    untracked.write_bytes(script.read_bytes())
    sensitivity(untracked, {"x": [1]}, store=db, progress=False)
    (repo / ".gitignore").write_text("sub/\n")  # nor when git is told to ignore it
    sensitivity(untracked, {"x": [1]}, store=db, progress=False)

    rows = peek.query(db, "SELECT git_commit, git_dirty FROM sweeps ORDER BY sweep_seq")
    assert [(r["git_commit"], r["git_dirty"]) for r in rows] == [
        (head, 0), (head, 1), (None, None), (head, 1), (head, 1),
    ]
