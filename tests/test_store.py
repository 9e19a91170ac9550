"""The study database: every iteration committed as it finishes, reuse, resume, bad files.

Everything here runs real scripts in real subprocesses against real SQLite files; the
database is inspected both through the public API and with plain ``sqlite3``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pytest

import py3r_script
from py3r_script import DryRun, Study, load, run, sensitivity
from py3r_script.errors import SweepError
from py3r_script.paramset import ParamSet
from py3r_script.store.study import INLINE_LIMIT, SCHEMA_VERSION, StoreError

# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _run_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scripts that write relative paths must never write into the repository."""
    monkeypatch.chdir(tmp_path)


def _ro(db: Path, timeout: float = 5.0) -> sqlite3.Connection:
    """A read-only connection: it never checkpoints or otherwise changes the study."""
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)
    con.row_factory = sqlite3.Row
    return con


def _query(db: Path, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
    with closing(_ro(db)) as con:
        return con.execute(sql, tuple(args)).fetchall()


def _scalar(db: Path, sql: str, args: Sequence[Any] = ()) -> Any:
    return _query(db, sql, args)[0][0]


def _integrity(db: Path) -> str:
    return _scalar(db, "PRAGMA integrity_check")


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.03)


def _committed(db: Path) -> int:
    """Iterations committed so far, read while a driver may be writing; 0 when not readable."""
    # Only once the study is in WAL mode (the -wal file exists): a reader holding a lock
    # while the writer switches journal mode would disturb the writer.
    if not Path(f"{db}-wal").exists():
        return 0
    try:
        with closing(_ro(db, timeout=0.2)) as con:
            return con.execute("SELECT COUNT(*) FROM iterations").fetchone()[0]
    except sqlite3.DatabaseError:  # locked, no such table yet, half-created file
        return 0


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, finished but unreaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("State:"):
                    return "Z" not in line.split()[1]
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.parent.name))
    return found


def _counting_script(write_script, counter: Path, *, extra: str = "", name: str = "script.py"):
    """A script that appends ``repr(x)`` to ``counter`` each time it runs; y = 10x, z = x + 1."""
    return write_script(
        "from py3r_script import Output, Param\n"
        'x = Param(0, name="x")\n'
        f"with open({str(counter)!r}, 'a') as handle:\n"
        "    handle.write(f'{x!r}\\n')\n"
        f"{extra}"
        'Output(x * 10, name="y")\n'
        'Output(x + 1, name="z")\n',
        name,
    )


def _driver(path: Path, call: str, *, go: Path | None = None) -> Path:
    """A driver program that (after ``go`` exists, if given) makes one py3r_script call."""
    wait = (
        f"while not os.path.exists({str(go)!r}):\n    time.sleep(0.005)\n" if go else ""
    )
    path.write_text(f"import os\nimport time\n\nimport py3r_script\n\n{wait}{call}\n")
    return path


def _start(driver: Path, log: Path) -> subprocess.Popen:
    with open(log, "wb") as err:
        return subprocess.Popen(
            [sys.executable, str(driver)], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=err, cwd=driver.parent,
        )


def _siblings(db: Path) -> list[str]:
    """Files and folders next to ``db`` whose name starts with its name (db, -wal, ...)."""
    return sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name))


def _dead_pid() -> int:
    """The pid of a process that has just exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _make_read_only(*paths: Path) -> Callable[[], None]:
    """Make ``paths`` unwritable by this process; returns the function that undoes it.

    chmod is enough for a normal user; root ignores permissions, so then the immutable
    flag (``chattr +i``) is set as well, or the test is skipped.
    """
    modes = {path: path.stat().st_mode for path in paths}
    flagged: list[Path] = []

    def undo() -> None:
        for path in reversed(flagged):
            subprocess.run(["chattr", "-i", str(path)], check=True, timeout=30)
        for path, mode in modes.items():
            path.chmod(mode)

    for path in paths:
        path.chmod(0o555 if path.is_dir() else 0o444)
    if os.geteuid() == 0:
        for path in paths:
            done = shutil.which("chattr") is not None and subprocess.run(
                ["chattr", "+i", str(path)], capture_output=True, timeout=30).returncode == 0
            if not done:
                undo()
                pytest.skip("running as root where chattr +i is unavailable: nothing is "
                            "read-only for root")
            flagged.append(path)
    return undo


def _as_schema_1(db: Path) -> None:
    """Roll a study back to what the previous py3r-script wrote: study schema 1."""
    with closing(sqlite3.connect(db, isolation_level=None)) as con:
        con.execute("ALTER TABLE sweeps DROP COLUMN design_json")
        con.execute("ALTER TABLE iterations DROP COLUMN interpreter")
        con.execute("PRAGMA user_version = 1")


def _columns(db: Path) -> dict[str, list[str]]:
    tables = [r[0] for r in _query(db, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {t: [r["name"] for r in _query(db, f"PRAGMA table_info({t})")] for t in tables}


# --------------------------------------------------------------------------------------
# what an iteration records
# --------------------------------------------------------------------------------------

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


def test_every_field_of_an_iteration_is_committed(tmp_path, write_script):
    script = write_script(TYPED_SCRIPT)
    db = tmp_path / "study.db"
    before = time.time()
    sr = sensitivity(script, {"n": [3], "f": [2.0], "s": ["b"]}, outputs=["total"],
                     store=db, progress=False)
    after = time.time()
    content_sha = _sha256_file(script)

    sweep = _query(db, "SELECT * FROM sweeps")
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

    rows = _query(db, "SELECT * FROM iterations ORDER BY iteration_seq")
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
    typed = _query(db, "SELECT p.name, p.value, typeof(p.value) AS t, p.type FROM params p "
                       "JOIN iterations i USING (iteration_id) WHERE i.iteration_seq = 2")
    assert {r["name"]: (r["value"], r["t"], r["type"]) for r in typed} == {
        "n": (1, "integer", "int"), "f": (2.0, "real", "float"), "s": ("a", "text", "str"),
        "b": (1, "integer", "bool"),
    }

    # the requested output (only it) is stored, with its value
    outs = _query(db, "SELECT i.iteration_seq AS seq, o.name, o.value, o.type, o.file "
                      "FROM outputs o JOIN iterations i USING (iteration_id) ORDER BY seq")
    assert [(r["seq"], r["name"], r["value"], r["type"], r["file"]) for r in outs] == [
        (0, "total", 0.5, "float", None), (2, "total", 2.0, "float", None),
        (3, "total", 0.5, "float", None),
    ]
    # and the in-memory results agree with the database
    assert [r.iteration_id for r in sr.records] == [r["iteration_id"] for r in rows]
    assert sr[{"f": 2.0}]["total"] == 2.0


def test_bool_and_none_params_keep_their_type(tmp_path, write_script):
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
    rows = _query(db, "SELECT i.iteration_seq AS seq, p.name, p.value, p.type FROM params p "
                      "JOIN iterations i USING (iteration_id) ORDER BY seq, p.name")
    assert [(r["seq"], r["name"], r["value"], r["type"]) for r in rows] == [
        (0, "flag", 1, "bool"), (0, "opt", None, "NoneType"),
        (1, "flag", 0, "bool"), (1, "opt", None, "NoneType"),
        (2, "flag", 1, "bool"), (2, "opt", 1, "int"),
    ]
    sr = load(db)
    assert sr[{"flag": False}]["seen"] == "FalseNone"
    assert sr[{"opt": 1}]["seen"] == "True1"


def test_crash_signal_and_exit_code_are_committed(tmp_path, write_script):
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
    rows = _query(db, "SELECT status, exit_code, signal, error FROM iterations "
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


def test_capture_limit_keeps_only_the_tail(tmp_path, write_script):
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
    rows = _query(db, "SELECT stdout, stderr FROM iterations")
    assert len(rows) == 2
    for row in rows:
        assert row["stdout"].endswith("TAIL-OUT\n")
        assert 0 < row["stdout"].count("a") <= 100
        assert row["stderr"].endswith("TAIL-ERR\n")
        assert 0 < row["stderr"].count("b") <= 100
        assert len(row["stdout"]) < 300
    assert sr.records[0].stdout == rows[0]["stdout"]


def test_numpy_and_pandas_scalars_are_sql_values(tmp_path, write_script):
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
    stored = {r["name"]: (r["value"], r["t"], r["type"]) for r in _query(
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


# --------------------------------------------------------------------------------------
# git provenance
# --------------------------------------------------------------------------------------


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com",
         "-c", "commit.gpgsign=false", *args],
        cwd=cwd, check=True, capture_output=True, text=True, timeout=30,
    ).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit_and_dirty_flag_are_recorded(tmp_path, write_script, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    repo = tmp_path / "repo"
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter, name="script.py")
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

    rows = _query(db, "SELECT git_commit, git_dirty FROM sweeps ORDER BY sweep_seq")
    assert [(r["git_commit"], r["git_dirty"]) for r in rows] == [
        (head, 0), (head, 1), (None, None), (head, 1), (head, 1),
    ]


# --------------------------------------------------------------------------------------
# reuse and re-run rules
# --------------------------------------------------------------------------------------


def test_identical_sweep_reuses_everything(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
    db = tmp_path / "study.db"

    first = sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    assert _lines(counter) == ["0", "1", "2"]
    second = sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    assert _lines(counter) == ["0", "1", "2"]  # nothing ran again

    assert second[{"x": 2}]["y"] == 20
    assert second[{"x": 1}]["z"] == 2
    assert second[{}]["y"] == 0  # nominal fills in
    pd.testing.assert_frame_equal(second.to_dataframe(), first.to_dataframe())
    assert [r.iteration_id for r in second.records] == [r.iteration_id for r in first.records]
    assert _scalar(db, "SELECT COUNT(*) FROM iterations") == 3
    items = _query(db, "SELECT s.sweep_seq, t.reused FROM sweep_items t "
                       "JOIN sweeps s USING (sweep_id) ORDER BY s.sweep_seq, t.plan_index")
    assert [(r["sweep_seq"], r["reused"]) for r in items] == [
        (0, 0), (0, 0), (0, 0), (1, 1), (1, 1), (1, 1),
    ]


def test_extending_a_sweep_runs_only_new_combinations(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
    db = tmp_path / "study.db"

    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    sr = sensitivity(script, {"x": [1, 2, 3, 4]}, store=db, progress=False)
    assert _lines(counter) == ["0", "1", "2", "3", "4"]
    assert sr.to_dataframe().values.tolist() == [[x, 10 * x, x + 1] for x in range(5)]
    # type-aware identity: 2.0 is not 2, so it runs
    sensitivity(script, {"x": [2.0]}, store=db, progress=False)
    assert _lines(counter)[5:] == ["2.0"]


def test_failed_iterations_are_retried(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    flag = tmp_path / "fail-two"
    flag.touch()
    script = _counting_script(
        write_script, counter,
        extra=f"import os\nif x == 2 and os.path.exists({str(flag)!r}):\n"
              "    raise RuntimeError('two fails while the flag exists')\n",
    )
    db = tmp_path / "study.db"

    first = sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    assert [e[0] for e in first.errors] == [{"x": 2}]
    flag.unlink()
    second = sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    assert _lines(counter) == ["0", "1", "2", "2"]  # only the failed one ran again
    assert second.errors == []
    assert second[{"x": 2}]["y"] == 20
    statuses = _query(db, "SELECT status FROM iterations WHERE json_extract(params_json, '$.x')"
                          " = 2 ORDER BY iteration_seq")
    assert [r["status"] for r in statuses] == ["error", "ok"]
    # a third call reuses the successful retry
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    assert len(_lines(counter)) == 4


def test_changed_script_content_runs_again(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
    db = tmp_path / "study.db"

    sensitivity(script, {"x": [1]}, store=db, progress=False)
    old_sha = _sha256_file(script)
    script.write_text(script.read_text() + "# an edit that changes nothing but the bytes\n")
    sr = sensitivity(script, {"x": [1]}, store=db, progress=False)
    assert _lines(counter) == ["0", "1", "0", "1"]
    assert sr[{"x": 1}]["y"] == 10
    shas = [r[0] for r in _query(db, "SELECT script_sha256 FROM iterations "
                                     "ORDER BY iteration_seq")]
    assert shas == [old_sha, old_sha, _sha256_file(script), _sha256_file(script)]
    # and the edited content is now reused in its turn
    sensitivity(script, {"x": [1]}, store=db, progress=False)
    assert len(_lines(counter)) == 4


def test_requested_outputs_are_reused_as_a_set(tmp_path, write_script):
    """None means every declared output; order does not matter; more serves fewer."""
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
    db = tmp_path / "study.db"

    sensitivity(script, {"x": [1]}, store=db, progress=False)
    assert _lines(counter) == ["0", "1"]
    for outputs in (["y", "z"], ["z", "y"], ["y"], ["z"], None):
        sr = sensitivity(script, {"x": [1]}, outputs=outputs, store=db, progress=False)
        assert _lines(counter) == ["0", "1"], outputs  # every request served by the first run
        # a reused iteration brings only the outputs asked for
        assert dict(sr[{"x": 1}]) == {n: {"y": 10, "z": 2}[n] for n in outputs or ["y", "z"]}

    # fewer cannot serve more: x=2 captured only y, so asking for z (or all) runs it again
    sensitivity(script, {"x": [2]}, outputs=["y"], store=db, progress=False)
    assert _lines(counter)[2:] == ["2"]
    sensitivity(script, {"x": [2]}, outputs=["y", "z"], store=db, progress=False)
    assert _lines(counter)[3:] == ["2"]
    sensitivity(script, {"x": [2]}, store=db, progress=False)  # that run had both: reused
    assert len(_lines(counter)) == 4
    requested = [r[0] for r in _query(db, "SELECT requested_outputs FROM iterations "
                                          "ORDER BY iteration_seq")]
    assert requested == [None, None, '["y"]', '["y", "z"]']


def test_an_early_stop_serves_only_what_it_captured(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = write_script(f"""
        from py3r_script import Output, Param
        x = Param(0, name="x")
        open({str(counter)!r}, "a").write("x")
        Output(x, name="a")
        Output(x + 1, name="b")
        """)
    db = tmp_path / "study.db"
    runs = lambda: len(counter.read_text())  # noqa: E731
    first = run(script, outputs=["a"], stop_after_outputs=True, store=db)
    assert first.records[0].stopped_early and runs() == 1
    run(script, outputs=["a"], store=db)  # captured a: serves a request for a (to the end)
    assert runs() == 1
    sr = run(script, outputs=["a", "b"], store=db)  # but not one for a and b
    assert runs() == 2 and dict(sr[{}]) == {"a": 0, "b": 1}
    run(script, outputs=["b"], stop_after_outputs=True, store=db)  # the full run serves b
    run(script, store=db)
    assert runs() == 2


def _python_of_another_version() -> str | None:
    """A Python (3.9+) other than this one's exact version, if the machine has one."""
    ours = "{}.{}.{}".format(*sys.version_info[:3])
    names = ["python3", *(f"python3.{minor}" for minor in range(9, 15))]
    for candidate in filter(None, [*map(shutil.which, names), "/usr/bin/python3"]):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('{}.{}.{}'.format(*sys.version_info[:3]))"],
            capture_output=True, text=True, timeout=30)
        version = probe.stdout.strip()
        if probe.returncode == 0 and version != ours and tuple(
                int(part) for part in version.split(".")) >= (3, 9):
            return candidate
    return None


def test_another_interpreter_is_not_reused(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
    db = tmp_path / "study.db"
    folder = tmp_path / "venv bin"
    folder.mkdir()
    target = folder / "target"  # the interpreter the wrapper starts
    target.write_text(sys.executable)
    wrapper = folder / "python"
    wrapper.write_text('#!/bin/sh\nexec "$(cat "$(dirname "$0")/target")" "$@"\n')
    wrapper.chmod(0o755)

    run(script, store=db)
    run(script, store=db, python=str(wrapper))  # another interpreter path: runs
    run(script, store=db, python=str(wrapper))  # the same one again: reused
    run(script, store=db)
    assert _lines(counter) == ["0", "0"]
    assert [r[0] for r in _query(db, "SELECT interpreter FROM iterations "
                                     "ORDER BY iteration_seq")] == [sys.executable, str(wrapper)]
    assert load(db).records[-1].interpreter == str(wrapper)

    other = _python_of_another_version()
    if other is None:
        pytest.skip("no Python of another version on this machine for the version rule")
    target.write_text(other)  # same path, another Python version (a rebuilt virtualenv)
    sr = run(script, store=db, python=str(wrapper))
    assert sr.records[0].ok, sr.records[0].error
    assert _lines(counter) == ["0", "0", "0"]


def test_rerun_true_runs_everything_again(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
    db = tmp_path / "study.db"

    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    sr = sensitivity(script, {"x": [1, 2]}, store=db, rerun=True, progress=False)
    assert _lines(counter) == ["0", "1", "2"] * 2
    assert sr.to_dataframe()["y"].tolist() == [0, 10, 20]
    assert _scalar(db, "SELECT COUNT(*) FROM iterations") == 6
    assert _scalar(db, "SELECT SUM(reused) FROM sweep_items") == 0
    # the study keeps both runs of every combination, told apart by meta columns
    frame = load(db).to_dataframe(meta=True)
    assert len(frame) == 6
    assert frame.groupby("x")["_sweep_id"].nunique().tolist() == [2, 2, 2]
    # a plain call afterwards reuses (the latest run)
    again = sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    assert len(_lines(counter)) == 6
    assert [r.iteration_id for r in again.records] == [r.iteration_id for r in sr.records]


@pytest.mark.parametrize("flag", ["rerun", "backup"])
def test_store_only_flags_need_a_store(tmp_path, write_script, flag):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
    with pytest.raises(ValueError, match=flag):
        sensitivity(script, {"x": [1]}, progress=False, **{flag: True})
    assert not counter.exists()


# --------------------------------------------------------------------------------------
# resume after SIGKILL, concurrent writers
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fresh", [
    pytest.param(False, id="existing-study"),
    pytest.param(True, id="fresh-study"),
])
def test_sigkill_mid_sweep_loses_nothing_and_resume_runs_only_missing(
    tmp_path, write_script, fresh
):
    counter = tmp_path / "counter.txt"
    pids = tmp_path / "pids.txt"
    db = tmp_path / "study.db"
    script = write_script(
        "import os\n"
        "import time\n"
        "from py3r_script import Output, Param\n"
        'x = Param(0, name="x")\n'
        f"with open({str(pids)!r}, 'a') as handle:\n"
        "    handle.write(f'{os.getpid()}\\n')\n"
        "time.sleep(0.3)\n"
        f"with open({str(counter)!r}, 'a') as handle:\n"
        "    handle.write(f'{x}\\n')\n"
        'Output(x * 10, name="y")\n'
    )
    values = list(range(1, 8))  # plus the nominal 0: 8 iterations
    if not fresh:
        Study(db).close()  # an existing (empty) study
    call = (f"py3r_script.sensitivity({str(script)!r}, {{'x': {values!r}}}, "
            f"store={str(db)!r}, progress=False)")
    driver = _start(_driver(tmp_path / "driver.py", call), tmp_path / "driver.err")
    try:
        _wait_until(lambda: _committed(db) >= 2 or driver.poll() is not None, 60,
                    "two committed iterations")
        assert driver.poll() is None, (tmp_path / "driver.err").read_text()
        # freeze the driver only to learn which child it is running, then SIGKILL it
        os.kill(driver.pid, signal.SIGSTOP)
        orphans = _children(driver.pid)
        os.kill(driver.pid, signal.SIGKILL)
    finally:
        if driver.poll() is None:
            driver.kill()
        driver.wait(timeout=30)
    assert driver.returncode == -signal.SIGKILL
    # the child that was running is in its own session, so it survives the driver: let
    # it finish before counting what ran
    _wait_until(lambda: not any(_alive(p) for p in [*orphans, *map(int, _lines(pids))]),
                30, "the orphaned child to exit")

    # nothing that finished is lost, and the file is a valid database
    assert _integrity(db) == "ok"
    rows = _query(db, "SELECT * FROM iterations ORDER BY iteration_seq")
    committed = len(rows)
    # the killed driver's sweep no longer claims to be running
    with Study(db) as study:
        assert study.sweeps()["status"].tolist()[-1] == "interrupted"
    assert 2 <= committed < len(values) + 1
    done = [json.loads(r["params_json"])["x"] for r in rows]
    assert [r["status"] for r in rows] == ["ok"] * committed
    assert [r["iteration_seq"] for r in rows] == list(range(committed))
    for row, x in zip(rows, done):
        outs = _query(db, "SELECT name, value FROM outputs WHERE iteration_id = ?",
                      [row["iteration_id"]])
        assert [(o["name"], o["value"]) for o in outs] == [("y", 10 * x)]
        params = _query(db, "SELECT name, value FROM params WHERE iteration_id = ?",
                        [row["iteration_id"]])
        assert [(p["name"], p["value"]) for p in params] == [("x", x)]
    assert _scalar(db, "SELECT COUNT(*) FROM sweep_items") == committed
    sweep = _query(db, "SELECT status, finished_utc FROM sweeps")
    assert len(sweep) == 1
    assert sweep[0]["status"] != "finished"
    ran_before = _lines(counter)
    assert {str(x) for x in done} <= set(ran_before)

    # the same call again runs exactly what is missing
    sr = sensitivity(script, {"x": values}, store=db, progress=False)
    ran_now = _lines(counter)[len(ran_before):]
    assert sorted(ran_now, key=int) == [str(x) for x in [0, *values] if x not in done]
    assert sr.errors == []
    assert sr.to_dataframe().values.tolist() == [[x, 10 * x] for x in [0, *values]]
    everything = load(db)
    assert len(everything.records) == len(values) + 1
    assert sorted(everything.to_dataframe()["x"]) == [0, *values]
    latest = _query(db, "SELECT reused FROM sweep_items t JOIN sweeps s USING (sweep_id) "
                        "WHERE s.sweep_seq = 1")
    assert sum(r["reused"] for r in latest) == committed
    assert _integrity(db) == "ok"


def test_two_drivers_write_the_same_study_at_once(tmp_path, write_script):
    script = write_script(
        """
        from py3r_script import Output, Param
        x = Param(0, name="x")
        Output(x * 10, name="y")
        """
    )
    db = tmp_path / "study.db"
    Study(db).close()
    go = tmp_path / "go"
    drivers = []
    for k, start in enumerate((100, 200)):
        values = list(range(start, start + 6))
        call = (f"py3r_script.sensitivity({str(script)!r}, {{'x': {values!r}}}, "
                f"nominal={{'x': {start}}}, store={str(db)!r}, progress=False)")
        driver = _driver(tmp_path / f"driver{k}.py", call, go=go)
        drivers.append(_start(driver, tmp_path / f"driver{k}.err"))
    time.sleep(0.5)  # both interpreters up and waiting
    go.touch()
    for k, driver in enumerate(drivers):
        assert driver.wait(timeout=60) == 0, (tmp_path / f"driver{k}.err").read_text()

    assert _integrity(db) == "ok"
    assert _scalar(db, "SELECT COUNT(*) FROM iterations") == 12
    assert sorted(r[0] for r in _query(db, "SELECT sweep_seq FROM sweeps")) == [0, 1]
    seqs = sorted(r[0] for r in _query(db, "SELECT iteration_seq FROM iterations"))
    assert seqs == list(range(12))
    per_sweep = _query(db, "SELECT sweep_id, COUNT(*) FROM sweep_items GROUP BY sweep_id")
    assert sorted(r[1] for r in per_sweep) == [6, 6]
    assert {r[0] for r in _query(db, "SELECT status FROM sweeps")} == {"finished"}
    frame = load(db).to_dataframe()
    assert sorted(frame["x"]) == [*range(100, 106), *range(200, 206)]
    assert (frame["y"] == 10 * frame["x"]).all()


def test_second_writer_can_join_a_running_sweep_on_a_new_study(tmp_path, write_script):
    script = write_script(
        """
        import time
        from py3r_script import Output, Param
        x = Param(0, name="x")
        time.sleep(0.15)
        Output(x * 10, name="y")
        """
    )
    db = tmp_path / "study.db"  # does not exist yet: the first driver creates it
    call = (f"py3r_script.sensitivity({str(script)!r}, {{'x': list(range(1, 10))}}, "
            f"store={str(db)!r}, progress=False)")
    first = _start(_driver(tmp_path / "driver.py", call), tmp_path / "driver.err")
    try:
        _wait_until(lambda: _committed(db) >= 1 or first.poll() is not None, 60,
                    "the first driver's first iteration")
        assert first.poll() is None
        sr = sensitivity(script, {"x": [100, 101]}, nominal={"x": 100}, store=db,
                         progress=False)
        assert sr.errors == []
    finally:
        first.kill()
        first.wait(timeout=30)


def test_study_can_be_opened_twice_while_new(tmp_path):
    db = tmp_path / "study.db"
    with Study(db), Study(db) as second:  # e.g. a notebook reading while a sweep writes
        assert second.records() == []


def test_a_study_created_by_another_kernel_during_the_check_is_recognised(
    tmp_path, monkeypatch
):
    """Whatever the header check reads first, another kernel finishes creating the study
    right after: the check must still see one consistent state, not half of each."""
    db = tmp_path / "study.db"
    with closing(sqlite3.connect(db)) as con:  # where a creating kernel's open leaves it
        con.execute("PRAGMA journal_mode = WAL")
    create = [sys.executable, "-c", f"import py3r_script; py3r_script.Study({str(db)!r}).close()"]
    interleaved: list[str] = []
    real_connect = sqlite3.connect

    class CreatedMeanwhile(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
            cursor = super().execute(sql, *args)
            if not interleaved:
                interleaved.append(sql)
                subprocess.run(create, check=True, timeout=60, capture_output=True)
            return cursor

    monkeypatch.setattr(sqlite3, "connect",
                        lambda *a, **k: real_connect(*a, factory=CreatedMeanwhile, **k))
    with Study(db) as study:
        assert study.records() == []
    monkeypatch.undo()
    assert interleaved
    assert _scalar(db, "PRAGMA user_version") == SCHEMA_VERSION
    assert _scalar(db, "SELECT COUNT(*) FROM meta") == 2  # created once


def test_three_drivers_start_at_once_on_a_new_study(tmp_path, write_script):
    script = write_script(
        """
        from py3r_script import Output, Param
        x = Param(0, name="x")
        Output(x * 10, name="y")
        """
    )
    for attempt in range(2):
        db = tmp_path / f"study{attempt}.db"  # does not exist: all three create it at once
        go = tmp_path / f"go{attempt}"
        drivers = []
        for k in range(3):
            values = [100 * k + 1, 100 * k + 2]
            call = (f"py3r_script.sensitivity({str(script)!r}, {{'x': {values!r}}}, "
                    f"nominal={{'x': {100 * k}}}, store={str(db)!r}, progress=False)")
            driver = _driver(tmp_path / f"driver{attempt}{k}.py", call, go=go)
            drivers.append(_start(driver, tmp_path / f"driver{attempt}{k}.err"))
        time.sleep(0.5)
        go.touch()
        for k, driver in enumerate(drivers):
            error = tmp_path / f"driver{attempt}{k}.err"
            assert driver.wait(timeout=60) == 0, error.read_text()
        assert _integrity(db) == "ok"
        assert _scalar(db, "SELECT COUNT(*) FROM meta") == 2
        assert sorted(r[0] for r in _query(db, "SELECT sweep_seq FROM sweeps")) == [0, 1, 2]
        assert sorted(load(db).to_dataframe()["x"]) == [
            0, 1, 2, 100, 101, 102, 200, 201, 202]


# --------------------------------------------------------------------------------------
# large outputs, working directories, backups
# --------------------------------------------------------------------------------------


def test_large_output_goes_to_a_side_file_small_ones_stay_inline(tmp_path, write_script):
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

    rows = _query(db, "SELECT i.iteration_seq AS seq, o.name, o.file, o.blob, o.size "
                      "FROM outputs o JOIN iterations i USING (iteration_id) "
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
        else:
            assert row["file"] is None
            assert row["blob"] is not None
    assert len(side_files) == 2

    loaded = load(db)
    assert loaded[{"x": 0}]["big"] == big + b"\x00"
    assert loaded[{"x": 1}]["big"] == big + b"\x01"
    assert loaded.to_dataframe(outputs=["small"])["small"].tolist() == [0, 1]
    with Study(db) as study:
        assert [r.outputs["big"][-1] for r in study.records()] == [0, 1]


def test_a_lost_or_cut_side_file_costs_only_its_iteration(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(
        write_script, counter, extra='Output(bytes([x]) * (2 * 1024 * 1024), name="big")\n')
    db = tmp_path / "study.db"
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    files = {json.loads(r["params_json"])["x"]: db.parent / r["file"] for r in _query(
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


def test_workdir_true_gives_each_iteration_its_own_folder(tmp_path, write_script):
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
    rows = _query(db, "SELECT iteration_id, params_json, workdir FROM iterations "
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


def test_workdir_true_without_store_is_refused(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
    with pytest.raises(ValueError, match="store"):
        sensitivity(script, {"x": [1]}, workdir=True, progress=False)
    assert not counter.exists()


def test_backup_copies_the_study_before_the_sweep(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
    db = tmp_path / "study.db"
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    assert list(tmp_path.glob("study.db.bak-*")) == []

    sensitivity(script, {"x": [1, 2, 3]}, store=db, backup=True, progress=False)
    backups = list(tmp_path.glob("study.db.bak-*"))
    assert len(backups) == 1
    backup = backups[0]
    assert _integrity(backup) == "ok"
    assert _scalar(backup, "SELECT COUNT(*) FROM iterations") == 3
    assert _scalar(backup, "SELECT COUNT(*) FROM sweeps") == 1
    assert _scalar(db, "SELECT COUNT(*) FROM iterations") == 4
    assert sorted(load(backup).to_dataframe()["x"]) == [0, 1, 2]

    with Study(db) as study:
        copy = study.backup()
    assert copy.exists()
    assert copy.name.startswith("study.db.bak-")
    assert _scalar(copy, "SELECT COUNT(*) FROM iterations") == 4


# --------------------------------------------------------------------------------------
# dry run
# --------------------------------------------------------------------------------------


def test_dry_run_without_a_study_creates_nothing(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
    db = tmp_path / "study.db"
    preview = sensitivity(script, {"x": [1, 2]}, store=db, dry_run=True, workdir=True,
                          progress=False)
    assert isinstance(preview, DryRun)
    assert (preview.n_run, preview.n_reused, len(preview)) == (3, 0, 3)
    assert list(preview.actions) == ["run"] * 3
    assert not counter.exists()
    assert _siblings(db) == []


def test_dry_run_on_a_study_says_what_would_run_and_changes_nothing(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
    db = tmp_path / "study.db"
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    ids = {json.loads(r["params_json"])["x"]: r["iteration_id"]
           for r in _query(db, "SELECT params_json, iteration_id FROM iterations")}
    digest, mtime = _sha256_file(db), db.stat().st_mtime_ns
    ran = _lines(counter)

    preview = sensitivity(script, {"x": [1, 2, 3]}, store=db, dry_run=True, backup=True,
                          progress=False)
    assert (preview.n_run, preview.n_reused) == (1, 3)
    assert list(preview.actions) == ["reuse", "reuse", "reuse", "run"]
    assert list(preview.reused_ids) == [ids[0], ids[1], ids[2], None]
    frame = preview.to_dataframe()
    assert frame["x"].tolist() == [0, 1, 2, 3]
    assert frame["_action"].tolist() == ["reuse", "reuse", "reuse", "run"]
    assert frame["_reused_id"].tolist()[:3] == [ids[0], ids[1], ids[2]]

    forced = sensitivity(script, {"x": [1, 2]}, store=db, dry_run=True, rerun=True)
    assert list(forced.actions) == ["run"] * 3
    subset = sensitivity(script, {"x": [1]}, outputs=["y"], store=db, dry_run=True)
    assert list(subset.actions) == ["reuse", "reuse"]
    other = sensitivity(script, {"x": [1]}, env={"FLAVOUR": "mint"}, store=db, dry_run=True)
    assert list(other.actions) == ["run", "run"]

    assert _lines(counter) == ran
    assert _sha256_file(db) == digest
    assert db.stat().st_mtime_ns == mtime
    assert list(tmp_path.glob("study.db.bak-*")) == []
    assert _scalar(db, "SELECT COUNT(*) FROM iterations") == 3
    assert _scalar(db, "SELECT COUNT(*) FROM sweeps") == 1

    # and the preview was right: the real call runs exactly the one it announced
    sensitivity(script, {"x": [1, 2, 3]}, store=db, progress=False)
    assert _lines(counter)[len(ran):] == ["3"]


def test_dry_run_leaves_an_empty_file_alone(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
    db = tmp_path / "study.db"
    db.touch()
    preview = sensitivity(script, {"x": [1]}, store=db, dry_run=True)
    assert preview.n_run == 2
    assert db.stat().st_size == 0


# --------------------------------------------------------------------------------------
# loading a study
# --------------------------------------------------------------------------------------

STUDY_SCRIPT = """\
from py3r_script import Output, Param
x = Param(0, name="x")
if x == 3:
    raise ValueError("three is bad")
Output(x * 10, name="y")
Output(f"v{x}", name="label")
"""


@pytest.fixture(scope="module")
def two_sweeps(tmp_path_factory) -> tuple[Path, list[str]]:
    """A study of two sweeps: x in [0, 1, 2], then [0, 2, 3] (0 and 2 reused, 3 fails)."""
    folder = tmp_path_factory.mktemp("two_sweeps")
    script = folder / "script.py"
    script.write_text(STUDY_SCRIPT)
    db = folder / "study.db"
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    sensitivity(script, {"x": [2, 3]}, store=db, progress=False)
    sweep_ids = [r[0] for r in _query(db, "SELECT sweep_id FROM sweeps ORDER BY sweep_seq")]
    return db, sweep_ids


def test_load_whole_study(two_sweeps):
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
    ids = [r[0] for r in _query(db, "SELECT iteration_id FROM iterations "
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


# --------------------------------------------------------------------------------------
# bad files
# --------------------------------------------------------------------------------------


def _entry_points(script: Path, db: Path) -> list[Callable[[], Any]]:
    return [
        lambda: sensitivity(script, {"x": [1]}, store=db, progress=False),
        lambda: sensitivity(script, {"x": [1]}, store=db, dry_run=True),
        lambda: load(db),
        lambda: Study(db),
    ]


def test_a_text_file_is_refused_and_left_unchanged(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
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
def test_an_sqlite_database_that_is_not_a_study_is_refused(tmp_path, write_script, what):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
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
def test_a_study_from_a_newer_version_is_refused_unchanged(tmp_path, write_script, journal):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
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
    assert _scalar(db, "PRAGMA user_version") == SCHEMA_VERSION + 1
    assert _scalar(db, "PRAGMA journal_mode") == journal
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


def test_a_folder_is_refused(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
    folder = tmp_path / "folder.db"
    folder.mkdir()
    with pytest.raises(StoreError):
        sensitivity(script, {"x": [1]}, store=folder, progress=False)
    assert list(folder.iterdir()) == []
    assert not counter.exists()


def test_an_empty_file_becomes_a_study(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
    db = tmp_path / "study.db"
    db.touch()
    sr = sensitivity(script, {"x": [1]}, store=db, progress=False)
    assert sr[{"x": 1}]["y"] == 10
    assert len(load(db).records) == 2


def test_a_store_in_a_missing_folder_is_a_store_error(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
    with pytest.raises(StoreError):
        sensitivity(script, {"x": [1]}, store=tmp_path / "no" / "such" / "study.db",
                    progress=False)


def test_a_baseline_is_reused_by_a_sweep_of_other_parameters(tmp_path, write_script):
    """Both sweeps' baselines are the script defaults: the second sweep reuses the first's."""
    counter = tmp_path / "runs.txt"
    script = write_script(f"""
        from py3r_script import Output, Param
        x = Param(1, name="x")
        w = Param(5, name="w")
        with open({str(counter)!r}, "a") as handle:
            handle.write(f"{{x}} {{w}}\\n")
        Output(x * w, name="product")
        """)
    db = tmp_path / "study.db"
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    sr = sensitivity(script, {"w": [5, 6]}, store=db, progress=False)
    assert counter.read_text().splitlines() == ["1 5", "2 5", "1 6"]
    assert sr[{"w": 5}]["product"] == 5
    assert sr[{"w": 6}]["product"] == 6


def test_a_large_numpy_backed_output_is_stored_without_a_second_copy(tmp_path, write_script):
    """Pickle protocol 5 hands NumPy data to the writer as buffers: stream them, once."""
    script = write_script(
        """
        import numpy as np
        from py3r_script import Output
        Output(np.arange(4_000_000, dtype=np.float64), name="array")  # 32 MB
        """
    )
    driver = write_script(
        f"""
        import json, tracemalloc
        import numpy as np
        from py3r_script.running.launch import IterationTask, run_iteration
        from py3r_script.paramset import ParamSet
        from py3r_script.store import sidefiles
        from py3r_script.store.study import Study
        record = run_iteration(IterationTask(script={str(script)!r}, params=ParamSet()))
        tracemalloc.start()
        with Study({str(tmp_path / "study.db")!r}) as study:
            path = sidefiles.side_file(study.outputs_dir, record.iteration_id, "array")
            blob, file, size = sidefiles.dump(record.outputs["array"], path, study.path.parent)
        peak = tracemalloc.get_traced_memory()[1]
        print(json.dumps({{"peak": peak, "file": file, "size": size}}))
        """,
        "driver.py",
    )
    out = subprocess.run([sys.executable, str(driver)], capture_output=True, text=True,
                         check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["file"] is not None and figures["size"] > 32_000_000
    assert figures["peak"] < 8_000_000, "storing held a second copy of the output"

    sr = run(script, store=tmp_path / "study2.db", progress=False)
    loaded = load(tmp_path / "study2.db")[{}]["array"]
    assert loaded.shape == (4_000_000,) and loaded[-1] == 3_999_999
    assert sr[{}]["array"][123] == 123


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


MERGE_SCRIPT = """
import numpy as np
from py3r_script import Output, Param
x = Param(1, name="x")
Output(x * 10, name="ten")
Output(np.full(300_000, float(x)), name="big")  # 2.4 MB: a side file
"""


def test_merge_brings_studies_run_apart_together(tmp_path, write_script):
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
    assert _integrity(merged) == "ok"
    files = _query(merged, "SELECT file FROM outputs WHERE file IS NOT NULL")
    assert len(files) == 4 and all(r["file"].startswith("all.db-outputs/") for r in files)
    assert all((tmp_path / r["file"]).is_file() for r in files)
    with Study(merged) as opened:
        sweeps = opened.sweeps()
    assert sweeps["sweep_seq"].tolist() == [0, 1] and sweeps["n_done"].tolist() == [2, 2]
    # the merged study reuses what it holds
    counter_before = len(_query(merged, "SELECT * FROM iterations"))
    sensitivity(script, {"x": [2, 3]}, store=merged, progress=False)
    assert len(_query(merged, "SELECT * FROM iterations")) == counter_before


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


def test_different_argv_or_env_is_not_reused(tmp_path, write_script):
    counter = tmp_path / "runs.txt"
    script = write_script(f"""
        import os
        import sys
        from py3r_script import Output, Param
        x = Param(1, name="x")
        open({str(counter)!r}, "a").write("x")
        Output(" ".join(sys.argv[1:]) + os.environ.get("FLAVOUR", ""), name="seen")
        """)
    db = tmp_path / "study.db"
    runs = lambda: len(counter.read_text())  # noqa: E731
    run(script, store=db, argv=["a.csv"])
    run(script, store=db, argv=["a.csv"])
    assert runs() == 1  # same arguments: reused
    sr = run(script, store=db, argv=["b.csv"])
    assert runs() == 2 and sr[{}]["seen"] == "b.csv"  # other arguments: run again
    run(script, store=db, argv=["b.csv"], env={"FLAVOUR": "mint"})
    run(script, store=db, argv=["b.csv"], env={"FLAVOUR": "mint"})
    assert runs() == 3
    record = load(db).records[-1]
    assert record.argv == ("b.csv",) and dict(record.env) == {"FLAVOUR": "mint"}
    assert record.python == "{}.{}.{}".format(*sys.version_info[:3])


# --------------------------------------------------------------------------------------
# read-only studies, schema upgrades
# --------------------------------------------------------------------------------------


def test_a_read_only_study_can_still_be_read(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
    folder = tmp_path / "shared"
    folder.mkdir()
    db = folder / "study.db"
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    assert _siblings(db) == ["study.db"]  # closed: the log was folded into the file
    digest = _sha256_file(db)
    undo = _make_read_only(db, folder)
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


def test_a_read_only_study_with_changes_still_in_its_log(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
    folder = tmp_path / "shared"
    folder.mkdir()
    db = folder / "study.db"
    Study(db).close()
    # a driver that dies with the study open: its iterations are only in study.db-wal
    call = (f"import sqlite3\nkeep = sqlite3.connect({str(db)!r})\n"
            "keep.execute('SELECT COUNT(*) FROM sweeps').fetchall()\n"
            f"py3r_script.sensitivity({str(script)!r}, {{'x': [1]}}, store={str(db)!r}, "
            "progress=False)\nos._exit(0)")
    assert _start(_driver(tmp_path / "driver.py", call), tmp_path / "err").wait(60) == 0
    assert Path(f"{db}-wal").stat().st_size > 0
    logs = [Path(f"{db}-wal"), Path(f"{db}-shm")]
    undo = _make_read_only(db, *logs, folder)
    try:
        assert load(db).to_dataframe()["x"].tolist() == [0, 1]  # read through the log
    finally:
        undo()
    logs[1].unlink()  # without its index SQLite cannot use the log read-only
    undo = _make_read_only(db, logs[0], folder)
    try:
        with pytest.warns(RuntimeWarning, match="study.db-wal holds changes"):
            assert load(db).records == ()
    finally:
        undo()
    assert len(load(db).records) == 2  # writable again: nothing was lost


def test_a_study_of_the_previous_schema_is_upgraded(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
    db = tmp_path / "study.db"
    sensitivity(script, {"x": [1]}, store=db, label="old", progress=False)
    new_columns = _columns(db)
    _as_schema_1(db)
    assert _columns(db) != new_columns
    dead = _dead_pid()  # what a schema-1 driver killed while writing a side file left
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
    assert _scalar(backup, "PRAGMA user_version") == 1  # copied before the upgrade
    assert _scalar(backup, "SELECT COUNT(*) FROM iterations") == 2
    assert _scalar(db, "PRAGMA user_version") == SCHEMA_VERSION
    assert _columns(db) == new_columns
    assert _integrity(db) == "ok"
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


def test_a_schema_without_an_upgrade_step_is_refused_unchanged(tmp_path, monkeypatch):
    from py3r_script.store import schema

    db = tmp_path / "study.db"
    Study(db).close()
    _as_schema_1(db)
    old = db.read_bytes()
    monkeypatch.delitem(schema.MIGRATIONS, 1)
    for call in (lambda: Study(db), lambda: load(db), lambda: Study(db, read_only=True)):
        with pytest.raises(StoreError, match="no step from schema 1 to 2"):
            call()
    assert db.read_bytes() == old
    assert _scalar(db, "PRAGMA user_version") == 1


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


# --------------------------------------------------------------------------------------
# edge cases, side files, changing a study afterwards
# --------------------------------------------------------------------------------------


def test_store_and_sweep_of_the_wrong_type_are_type_errors(tmp_path, write_script,
                                                           two_sweeps):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
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


def test_what_a_driver_killed_mid_write_leaves_is_removed(tmp_path, write_script):
    script = write_script(
        """
        import os
        import signal
        from py3r_script import Output

        class KillsTheStoringProcess:
            # pickles fine here; the driver storing it is killed while writing the side file
            def __init__(self, pid):
                self.pid = pid

            def __reduce__(self):
                if os.getpid() != self.pid:
                    os.kill(os.getpid(), signal.SIGKILL)
                return (KillsTheStoringProcess, (self.pid,))

        Output([b"x" * (3 * 1024 * 1024), KillsTheStoringProcess(os.getpid())], name="big")
        """
    )
    db = tmp_path / "study.db"
    call = f"py3r_script.run({str(script)!r}, store={str(db)!r})"
    driver = _start(_driver(tmp_path / "driver.py", call), tmp_path / "driver.err")
    assert driver.wait(timeout=60) == -signal.SIGKILL
    partial = Path(f"{db}-outputs/partial")
    (left,) = partial.iterdir()
    assert left.name.startswith(f"{driver.pid}@{socket.gethostname()}@")
    assert left.stat().st_size > INLINE_LIMIT
    others = [partial / f"{os.getpid()}@{socket.gethostname()}@live.pkl",  # still writing
              partial / f"{_dead_pid()}@another-host@elsewhere.pkl"]  # pids of another host
    for other in others:
        other.write_bytes(b"")
    Study(db).close()
    assert sorted(partial.iterdir()) == sorted(others)
    assert _integrity(db) == "ok" and _scalar(db, "SELECT COUNT(*) FROM iterations") == 0


def test_a_backup_carries_its_own_side_files(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(
        write_script, counter, extra='Output(bytes([x]) * (2 * 1024 * 1024), name="big")\n')
    db = tmp_path / "study.db"
    sensitivity(script, {"x": [1]}, store=db, progress=False)
    sensitivity(script, {"x": [1, 2]}, store=db, backup=True, progress=False)
    (backup,) = (p for p in tmp_path.glob("study.db.bak-*") if p.is_file())
    assert Path(f"{backup}-outputs").is_dir()
    files = [r[0] for r in _query(backup, "SELECT file FROM outputs WHERE file IS NOT NULL")]
    assert len(files) == 2
    assert all(f.startswith(f"{backup.name}-outputs/") for f in files)
    shutil.rmtree(f"{db}-outputs")  # the study's own side files are gone: the copy stands alone
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        copy = load(backup)
    assert copy[{"x": 1}]["big"] == b"\x01" * (2 * 1024 * 1024)
    assert len(copy.records) == 2


def test_set_label_names_a_sweep_and_its_iterations_afterwards(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(write_script, counter)
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
    assert _query(db, "SELECT _label FROM runs")[0][0] == "coarse"


def test_delete_removes_iterations_with_their_side_files(tmp_path, write_script):
    counter = tmp_path / "counter.txt"
    script = _counting_script(
        write_script, counter, extra='Output(bytes([x]) * (2 * 1024 * 1024), name="big")\n')
    db = tmp_path / "study.db"
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    sensitivity(script, {"x": [1]}, store=db, progress=False)  # x=1 also in a second sweep
    rows = {json.loads(r["params_json"])["x"]: r for r in _query(
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
        assert _scalar(db, f"SELECT COUNT(*) FROM {table} WHERE iteration_id = ?",
                       [doomed]) == 0
    assert _integrity(db) == "ok"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sorted(load(db).to_dataframe(outputs=["y"])["x"]) == [0, 2]
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    assert _lines(counter) == ["0", "1", "2", "1"]  # only the deleted one ran again


def test_runs_view_keeps_bookkeeping_names_for_bookkeeping(tmp_path, write_script):
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
    assert _scalar(db, "SELECT type FROM outputs WHERE name = 'big'") == "bool"
