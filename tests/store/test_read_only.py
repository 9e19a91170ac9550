"""A study that cannot be written, opened by a user without privileges: it loads, shows and
previews, a sweep into it is refused before anything runs, and nothing on disk changes.

Permissions mean nothing to root, so every check runs as an unprivileged user (the
``unprivileged`` fixture); the study is written by the test itself, as the owner would.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from py3r_script import Study, sensitivity

SNIPPET = """
import contextlib, io, json, sys, warnings
from py3r_script import StoreError, load, sensitivity
from py3r_script.cli.main import main

db, script = sys.argv[1:3]
out = {}
for name, args in (("show", ["show", db]), ("errors", ["show", db, "--errors"])):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        out[name] = [main(args), stdout.getvalue(), stderr.getvalue()]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    out["x"] = [r.params["x"] for r in load(db).records]
    out["preview"] = list(sensitivity(script, {"x": [1, 2, 3]}, store=db, dry_run=True).actions)
out["warnings"] = [str(w.message) for w in caught]
try:
    sensitivity(script, {"x": [3]}, store=db, progress=False)
    out["sweep"] = "it ran"
except StoreError as exc:
    out["sweep"] = str(exc)
print(json.dumps(out))
"""


def _state(folder: Path) -> dict[str, str]:
    """Every file in ``folder`` with the digest of its content."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def _study(kind: str, folder: Path, script: Path, procs, tmp_path: Path) -> Path:
    """A study in ``folder``: closed cleanly (``closed``), or left by a driver that died with
    its last sweep only in the write-ahead log (``log``; ``log-without-index``: its ``-shm``
    gone too, so the log cannot be read without write access to the folder)."""
    db = folder / "study.db"
    if kind == "closed":
        sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
        assert sorted(p.name for p in folder.iterdir()) == ["study.db"]
        return db
    Study(db).close()
    call = (f"import sqlite3\nkeep = sqlite3.connect({str(db)!r})\n"
            "keep.execute('SELECT COUNT(*) FROM sweeps').fetchall()\n"
            f"py3r_script.sensitivity({str(script)!r}, {{'x': [1, 2]}}, store={str(db)!r}, "
            "progress=False)\nos._exit(0)")
    driver = procs.write_driver(tmp_path / "driver.py", call)
    assert procs.start(driver, tmp_path / "err").wait(60) == 0
    assert Path(f"{db}-wal").stat().st_size > 0
    if kind == "log-without-index":
        Path(f"{db}-shm").unlink()
    return db


@pytest.mark.parametrize("kind", ["closed", "log", "log-without-index"])
def test_a_read_only_study_loads_shows_and_refuses_a_sweep_as_a_normal_user(
    kind, unprivileged, write_script, procs, tmp_path
):
    counter = unprivileged.folder / "counter.txt"
    script = write_script(
        "from py3r_script import Output, Param\n"
        'x = Param(0, name="x")\n'
        f"open({str(counter)!r}, 'a').write(f'{{x}}\\n')\n"
        "if x == 2:\n"
        "    raise ValueError('two is bad')\n"
        'Output(x * 10, name="y")\n',
        directory=unprivileged.folder,
    )
    shared = unprivileged.folder / "shared"
    shared.mkdir()
    db = _study(kind, shared, script, procs, tmp_path)
    runs = counter.read_text()
    files = [shared, *shared.iterdir()]
    unprivileged.read_only(*files)
    before = _state(shared)

    done = unprivileged.python(SNIPPET, str(db), str(script))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert len(out["preview"]) == 4  # (what it reuses depends on the interpreter it runs)
    if kind == "log-without-index":  # the file as it is on disk: the study, still empty
        assert out["x"] == []
        assert any("study.db-wal holds changes" in w for w in out["warnings"])
    else:
        assert out["x"] == [0, 1, 2] and out["warnings"] == []
    assert "cannot be written by this process" in out["sweep"]
    assert counter.read_text() == runs  # refused before anything ran

    # py3r-script show and show --errors (the command line's main, in that process)
    assert out["show"][0] == 0 and out["errors"][0] == 0, out
    if kind != "log-without-index":
        assert "1 sweep(s)" in out["show"][2] and ",finished," in out["show"][1]
        assert "1 failed iteration(s)" in out["errors"][2] and "two is bad" in out["errors"][1]
    assert _state(shared) == before
