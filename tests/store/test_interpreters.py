"""An interpreter is identified by what it is (resolved executable, prefix, version), not by
how its path was spelled; each sweep records the packages installed where its script ran.

A real virtualenv is made in a temporary folder (``python`` and ``python3`` are two
spellings of it), with a distribution of its own; the command line runs from it too.
"""

from __future__ import annotations

import os
import site
import socket
import sqlite3
import subprocess
import sys
import venv
from contextlib import closing
from pathlib import Path

import pytest

from py3r_script import Study, load, merge, sweep
from py3r_script.store.study import SCHEMA_VERSION

SCRIPT = """
from py3r_script import Output, Param
x = Param(1, name="x")
with open(COUNTER, "a") as handle:
    handle.write(f"{x}\\n")
Output(x * 10, name="y")
"""


@pytest.fixture(scope="module")
def virtualenv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv of this Python (no pip), which also sees this environment's packages,
    and has one distribution of its own, ``only-in-venv`` 1.2.3."""
    folder = tmp_path_factory.mktemp("venvs") / "env one"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(folder)
    packages = next(folder.glob("lib/python3*/site-packages"))
    ours = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (packages / "outer.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in ours))
    dist = packages / "only_in_venv-1.2.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: only-in-venv\nVersion: 1.2.3\n")
    return folder


def _counted(counter: Path) -> list[str]:
    return counter.read_text().splitlines() if counter.exists() else []


@pytest.fixture
def counting(tmp_path: Path, write_script) -> tuple[Path, Path]:
    counter = tmp_path / "runs.txt"
    return write_script(SCRIPT.replace("COUNTER", repr(str(counter)))), counter


def test_two_spellings_of_one_interpreter_reuse_each_other(tmp_path, virtualenv, counting,
                                                           peek):
    script, counter = counting
    db = tmp_path / "study.db"
    sweep(script, {"x": [1, 2]}, store=db, python=str(virtualenv / "bin" / "python"),
          include_nominal=False, progress=False)
    sweep(script, {"x": [1, 2]}, store=db, python=str(virtualenv / "bin" / "python3"),
          include_nominal=False, progress=False)
    assert _counted(counter) == ["1", "2"]  # the second spelling reused them

    # the command line, run by that virtualenv's python3, uses its own interpreter
    done = subprocess.run(
        [str(virtualenv / "bin" / "python3"), "-m", "py3r_script", "sweep", str(script),
         "-s", "x=1,2,3", "--no-include-nominal", "--store", str(db), "--no-progress"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _counted(counter) == ["1", "2", "3"]

    # this test's own Python (the same executable, another prefix) is another interpreter
    sweep(script, {"x": [1]}, store=db, include_nominal=False, progress=False)
    assert _counted(counter) == ["1", "2", "3", "1"]
    keys = {r[0] for r in peek.query(db, "SELECT DISTINCT interpreter_key FROM iterations")}
    assert len(keys) == 2 and None not in keys


def test_iterations_of_an_older_study_get_their_identity(tmp_path, virtualenv, counting, peek,
                                                         downgrade):
    script, counter = counting
    db = tmp_path / "study.db"
    sweep(script, {"x": [1, 2, 3]}, store=db, python=str(virtualenv / "bin" / "python"),
          include_nominal=False, progress=False)
    downgrade(db, 2)
    with closing(sqlite3.connect(db)) as con, con:  # the interpreter of x=3 is gone since
        con.execute("UPDATE iterations SET interpreter = ? WHERE params_json = '{\"x\": 3}'",
                    (str(tmp_path / "gone" / "python"),))
    sweep(script, {"x": [1, 2, 3]}, store=db, python=str(virtualenv / "bin" / "python3"),
          include_nominal=False, progress=False)
    assert _counted(counter) == ["1", "2", "3", "3"]
    assert peek.scalar(db, "PRAGMA user_version") == SCHEMA_VERSION
    assert peek.scalar(db, "SELECT COUNT(*) FROM iterations WHERE interpreter_key IS NULL") == 1


def test_a_sweep_records_the_packages_where_its_script_ran(tmp_path, virtualenv, counting):
    import pandas

    import py3r_script

    script, _ = counting
    db = tmp_path / "study.db"
    sweep(script, {"x": [1]}, store=db, progress=False, include_nominal=False, label="here")
    sweep(script, {"x": [2]}, store=db, progress=False, include_nominal=False,
          python=str(virtualenv / "bin" / "python"))
    sweep(script, {"x": [3]}, store=db, progress=False, include_nominal=False)
    with Study(db) as study:
        here, there, again = (study.environment(n) for n in (0, 1, -1))
        assert study.environment(study.sweep_id(0)[:8]) == here
    assert here["pandas"] == pandas.__version__
    assert here["py3r-script"] == py3r_script.__version__
    assert "only-in-venv" not in here and there["only-in-venv"] == "1.2.3"
    assert again == here and list(here) == sorted(here, key=str.lower)
    with closing(sqlite3.connect(db)) as con:  # kept once per set of packages
        assert con.execute("SELECT COUNT(DISTINCT environment) FROM environment_packages"
                           ).fetchone()[0] == 2

    merged = tmp_path / "merged.db"
    merge(merged, db)
    with Study(merged) as study:
        assert study.environment(1) == there
    # a sweep stored before environments were recorded has none
    old = Path(__file__).parent / "data" / "schema2" / "study.db"
    copy = tmp_path / "old.db"
    copy.write_bytes(old.read_bytes())
    with Study(copy) as study:
        assert study.environment(0) == {}
    with pytest.warns(UserWarning, match="trusted=True"):
        assert len(load(copy).records) == 3


def test_an_interpreter_that_is_gone_has_no_identity(tmp_path):
    from py3r_script.store.interpreters import Interpreters

    known = Interpreters()
    assert known.identity(str(tmp_path / "nothing")) is None
    assert known.packages(str(tmp_path / "nothing")) == {}
    assert known.identity(sys.executable, host=f"not-{socket.gethostname()}") is None
    assert known.identity(None) == known.identity(sys.executable)
    if sys.prefix != sys.base_prefix:  # a virtualenv: its python resolves to the base one's
        assert known.identity(os.path.realpath(sys.executable)) != known.identity(None)
