"""A damaged study says so, with how to recover, and is never written into.

Real pages of a real study are overwritten: a leaf page of the ``iterations`` or ``outputs``
table, the schema page, or the page of the ``meta`` table that no query reads (only the
integrity check before a write finds that one).
"""

from __future__ import annotations

import hashlib
import pickle
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from py3r_script import Study, load, merge, sensitivity
from py3r_script.cli.main import main
from py3r_script.errors import StoreError, StudyDamagedError


def _page(db: Path, table: str) -> int:
    """A page of ``table`` (its leaf with the most cells, for a table; 1 for the schema)."""
    with closing(sqlite3.connect(db)) as con:
        return con.execute("SELECT pageno FROM dbstat WHERE name = ? ORDER BY ncell DESC",
                           (table,)).fetchone()[0]


def _damage(db: Path, page: int) -> None:
    """Overwrite the start of a page's b-tree (after the file header on page 1)."""
    with closing(sqlite3.connect(db)) as con:
        size = con.execute("PRAGMA page_size").fetchone()[0]
    with open(db, "r+b") as handle:
        handle.seek((page - 1) * size + (100 if page == 1 else 0))
        handle.write(b"\xa5" * 48)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, Path]:
    """A sound study (closed: no log beside it) and the script that wrote it."""
    folder = tmp_path_factory.mktemp("pristine")
    script = folder / "script.py"
    script.write_text(
        "import os\n"
        "if 'RAN' in os.environ:\n"
        "    open(os.environ['RAN'], 'w').close()\n"
        "from py3r_script import Output, Param\n"
        'x = Param(0, name="x")\n'
        "if x == 2:\n"
        "    raise ValueError('two is bad')\n"
        'Output(x * 10, name="y")\n')
    db = folder / "study.db"
    sensitivity(script, {"x": [1, 2, 3]}, store=db, progress=False)
    assert sorted(p.name for p in folder.iterdir()) == ["script.py", "study.db"]
    return db, script


@pytest.fixture
def study(pristine, tmp_path) -> Path:
    db = tmp_path / "study.db"
    shutil.copy(pristine[0], db)
    return db


@pytest.mark.parametrize("table", ["iterations", "outputs", "sqlite_schema"])
def test_a_damaged_page_is_a_clear_error_everywhere_and_nothing_is_written(
    table, study, pristine, tmp_path, capsys
):
    _damage(study, _page(study, table))
    damaged = _digest(study)
    with pytest.raises(StudyDamagedError) as info:
        load(study)
    message = str(info.value)
    assert f"{study} is damaged (SQLite: " in message
    assert f'sqlite3 {study} .recover | sqlite3 recovered.db' in message
    assert "No backup of it was found" in message
    assert isinstance(info.value, StoreError) and info.value.backup is None

    for args in (["show", str(study)], ["show", str(study), "--errors"]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert f"error: {study} is damaged" in err and "Traceback" not in err
    with pytest.raises(StudyDamagedError, match=f"{study} is damaged"):
        merge(tmp_path / "all.db", study)
    ran = tmp_path / "ran"
    with pytest.raises(StudyDamagedError, match=f"{study} is damaged"):
        sensitivity(pristine[1], {"x": [4]}, store=study, progress=False, backup=True,
                    env={"RAN": str(ran)})
    assert not ran.exists()  # refused before anything ran
    assert _digest(study) == damaged
    log = Path(f"{study}-wal")  # (a read-only connection may leave an empty one)
    assert not log.exists() or log.stat().st_size == 0


def test_a_damaged_page_no_query_reads_is_found_before_a_sweep_writes(study, pristine,
                                                                      tmp_path):
    with Study(study) as opened:
        backup = opened.backup()
    _damage(study, _page(study, "meta"))
    damaged = _digest(study)
    assert load(study).to_dataframe()["y"].tolist() == [0, 10, 30]  # reads never reach it
    ran = tmp_path / "ran"
    with pytest.raises(StudyDamagedError) as info:
        sensitivity(pristine[1], {"x": [4]}, store=study, progress=False, env={"RAN": str(ran)})
    assert not ran.exists()
    assert info.value.backup == str(backup)
    assert f"To recover, use its newest backup, {backup}" in str(info.value)
    with pytest.raises(StudyDamagedError):
        merge(study, backup)
    with Study(study) as opened, pytest.raises(StudyDamagedError):
        opened.set_label(0, "no")
    assert _digest(study) == damaged
    assert len(load(backup).records) == 4  # the backup is sound, and a whole study


def test_the_damaged_error_pickles_with_its_study_and_backup():
    error = StudyDamagedError("study.db is damaged", "study.db", "study.db.bak-1")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.path, copy.backup) == (
        StudyDamagedError, "study.db is damaged", "study.db", "study.db.bak-1")
