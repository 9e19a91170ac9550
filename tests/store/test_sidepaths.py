"""A study names its side files; one edited by hand must not make py3r-script read, copy or
delete files outside the study's side folder.

The study is real (a sweep wrote it); its ``outputs.file`` entries are then edited by hand
with plain ``sqlite3`` to point outside: an absolute path, a ``..`` path, and a symbolic
link out of the folder. The files they point at are valid pickles of the right size, so
only the path check stands between them and the user.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import warnings
from contextlib import closing
from pathlib import Path

import pytest

from py3r_script import Study, load, merge, run, sensitivity

BAD = {
    0: "study.db-outputs/link/secret.pkl",  # a symbolic link out of the side folder
    1: None,  # the absolute path of the secret file (set by the fixture)
    2: "study.db-outputs/../escaped.pkl",
}


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture
def tampered(tmp_path, counting_script) -> tuple[Path, Path, dict[int, str]]:
    """A study in ``tmp_path/study`` whose three iterations' side files were pointed
    outside its side folder; the script; and each iteration's bad path by its ``x``."""
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = pickle.dumps("a secret of someone else's")
    (outside / "secret.pkl").write_bytes(secret)
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "escaped.pkl").write_bytes(secret)
    script = counting_script(
        tmp_path / "counter.txt", extra='Output(bytes([x]) * (2 * 1024 * 1024), name="big")\n')
    db = folder / "study.db"
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    os.symlink(outside, Path(f"{db}-outputs/link"))
    bad = {**BAD, 1: str(outside / "secret.pkl")}
    with closing(sqlite3.connect(db)) as con, con:
        for x, file in bad.items():
            con.execute(
                "UPDATE outputs SET file = ?, size = ? WHERE name = 'big' AND iteration_id = "
                "(SELECT iteration_id FROM iterations WHERE json_extract(params_json, '$.x') "
                "= ?)", (file, len(secret), x))
    return db, script, bad


def test_load_and_reuse_never_follow_a_path_out_of_the_side_folder(tampered):
    db, script, bad = tampered
    with pytest.warns(UserWarning, match="could not be loaded") as caught:
        study = load(db)
    for record in study.records:
        x = record.params["x"]
        assert "big" not in record.outputs
        why = record.outputs.unavailable["big"]
        assert f"side file path {bad[x]!r} leads outside the study's side folder" in why
    assert bad[1] in str(caught[0].message)
    preview = sensitivity(script, {"x": [1, 2]}, store=db, dry_run=True)
    assert list(preview.actions) == ["run"] * 3  # no output to stand for the new runs


def test_backup_and_delete_never_touch_files_out_of_the_side_folder(tampered, tmp_path):
    db = tampered[0]
    before = _listing(tmp_path)
    with Study(db) as study:
        copy = study.backup()
        ids = [r.iteration_id for r in study.records(outputs=["y"])]
    new = _listing(tmp_path) - before
    assert new and all(name.startswith(f"study/{copy.name}") for name in new)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert all("big" not in r.outputs for r in load(copy).records)
    with Study(db) as study:
        assert study.delete(ids) == 3
    assert (tmp_path / "outside" / "secret.pkl").exists()
    assert (tmp_path / "study" / "escaped.pkl").exists()


def test_merge_copies_nothing_from_out_of_the_side_folder(tampered, tmp_path, peek):
    db, bad = tampered[0], tampered[2]
    target = tmp_path / "merged" / "all.db"
    target.parent.mkdir()
    with pytest.warns(UserWarning, match="3 side file") as caught:
        assert merge(target, db) == 3
    message = str(caught[0].message)
    assert all(repr(path) in message for path in bad.values())
    # nothing written outside the target's side folder, nothing secret inside it
    assert _listing(target.parent) <= {"all.db", "all.db-outputs"}
    for row in peek.query(target, "SELECT file FROM outputs WHERE file IS NOT NULL"):
        assert row["file"].startswith("all.db-outputs/")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        merged = load(target)
    assert [r.params["x"] for r in merged.records] == [0, 1, 2]  # every row is kept
    assert all("big" not in r.outputs for r in merged.records)
    assert all(r.outputs["y"] == 10 * r.params["x"] for r in merged.records)
    assert _listing(tmp_path / "outside") == {"secret.pkl"}


def test_a_renamed_study_says_to_give_it_back_its_name(tmp_path, counting_script):
    script = counting_script(
        tmp_path / "counter.txt", extra='Output(bytes([x]) * (2 * 1024 * 1024), name="big")\n')
    db = tmp_path / "study.db"
    run(script, store=db)
    db.rename(tmp_path / "renamed.db")
    with pytest.warns(UserWarning, match="could not be loaded"):
        (record,) = load(tmp_path / "renamed.db").records
    assert "the study was renamed (give it back its name, study.db," in \
        record.outputs.unavailable["big"]
