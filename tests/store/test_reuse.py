"""Reuse: a sweep with a store runs only what the study lacks; dry runs say what that is.

Real scripts run in real subprocesses against real SQLite files; the database is
inspected both through the public API and with plain ``sqlite3`` (the ``peek`` fixture).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from py3r_script import DryRun, load, run, sensitivity


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _siblings(db: Path) -> list[str]:
    """Files and folders next to ``db`` whose name starts with its name (db, -wal, ...)."""
    return sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name))


def test_identical_sweep_reuses_everything(tmp_path, peek, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
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
    assert peek.scalar(db, "SELECT COUNT(*) FROM iterations") == 3
    items = peek.query(db, "SELECT s.sweep_seq, t.reused FROM sweep_items t "
                       "JOIN sweeps s USING (sweep_id) ORDER BY s.sweep_seq, t.plan_index")
    assert [(r["sweep_seq"], r["reused"]) for r in items] == [
        (0, 0), (0, 0), (0, 0), (1, 1), (1, 1), (1, 1),
    ]


def test_extending_a_sweep_runs_only_new_combinations(tmp_path, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    db = tmp_path / "study.db"

    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    sr = sensitivity(script, {"x": [1, 2, 3, 4]}, store=db, progress=False)
    assert _lines(counter) == ["0", "1", "2", "3", "4"]
    assert sr.to_dataframe().values.tolist() == [[x, 10 * x, x + 1] for x in range(5)]
    # 2.0 is not 2: for the int knob x it is refused, before anything runs
    with pytest.raises(TypeError, match="parameter 'x' expects int"):
        sensitivity(script, {"x": [2.0]}, store=db, progress=False)
    assert len(_lines(counter)) == 5


def test_failed_iterations_are_retried(tmp_path, peek, counting_script):
    counter = tmp_path / "counter.txt"
    flag = tmp_path / "fail-two"
    flag.touch()
    script = counting_script(
        counter,
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
    statuses = peek.query(db, "SELECT status FROM iterations WHERE json_extract(params_json, '$.x')"
                          " = 2 ORDER BY iteration_seq")
    assert [r["status"] for r in statuses] == ["error", "ok"]
    # a third call reuses the successful retry
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    assert len(_lines(counter)) == 4


def test_changed_script_content_runs_again(tmp_path, peek, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    db = tmp_path / "study.db"

    sensitivity(script, {"x": [1]}, store=db, progress=False)
    old_sha = _sha256_file(script)
    script.write_text(script.read_text() + "# an edit that changes nothing but the bytes\n")
    sr = sensitivity(script, {"x": [1]}, store=db, progress=False)
    assert _lines(counter) == ["0", "1", "0", "1"]
    assert sr[{"x": 1}]["y"] == 10
    shas = [r[0] for r in peek.query(db, "SELECT script_sha256 FROM iterations "
                                     "ORDER BY iteration_seq")]
    assert shas == [old_sha, old_sha, _sha256_file(script), _sha256_file(script)]
    # and the edited content is now reused in its turn
    sensitivity(script, {"x": [1]}, store=db, progress=False)
    assert len(_lines(counter)) == 4


def test_requested_outputs_are_reused_as_a_set(tmp_path, peek, counting_script):
    """None means every declared output; order does not matter; more serves fewer."""
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
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
    requested = [r[0] for r in peek.query(db, "SELECT requested_outputs FROM iterations "
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


def test_another_interpreter_is_not_reused(tmp_path, peek, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    db = tmp_path / "study.db"
    folder = tmp_path / "venv bin"
    folder.mkdir()
    target = folder / "target"  # the interpreter the wrapper starts
    target.write_text(sys.executable)
    wrapper = folder / "python"
    wrapper.write_text('#!/bin/sh\nexec "$(cat "$(dirname "$0")/target")" "$@"\n')
    wrapper.chmod(0o755)

    run(script, store=db)
    run(script, store=db, python=str(wrapper))  # another path to the same Python: reused
    assert _lines(counter) == ["0"]
    assert [r[0] for r in peek.query(db, "SELECT interpreter FROM iterations")] == [
        sys.executable]

    other = _python_of_another_version()
    if other is None:
        pytest.skip("no Python of another version on this machine for the version rule")
    target.write_text(other)  # same path, another Python version (a rebuilt virtualenv)
    sr = run(script, store=db, python=str(wrapper))
    assert sr.records[0].ok, sr.records[0].error
    assert _lines(counter) == ["0", "0"]
    assert load(db).records[-1].interpreter == str(wrapper)
    run(script, store=db, python=str(wrapper))  # that one again: reused
    assert _lines(counter) == ["0", "0"]


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


def test_rerun_true_runs_everything_again(tmp_path, peek, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    db = tmp_path / "study.db"

    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    sr = sensitivity(script, {"x": [1, 2]}, store=db, rerun=True, progress=False)
    assert _lines(counter) == ["0", "1", "2"] * 2
    assert sr.to_dataframe()["y"].tolist() == [0, 10, 20]
    assert peek.scalar(db, "SELECT COUNT(*) FROM iterations") == 6
    assert peek.scalar(db, "SELECT SUM(reused) FROM sweep_items") == 0
    # the study keeps both runs of every combination, told apart by meta columns
    frame = load(db).to_dataframe(meta=True)
    assert len(frame) == 6
    assert frame.groupby("x")["_sweep_id"].nunique().tolist() == [2, 2, 2]
    # a plain call afterwards reuses (the latest run)
    again = sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    assert len(_lines(counter)) == 6
    assert [r.iteration_id for r in again.records] == [r.iteration_id for r in sr.records]


@pytest.mark.parametrize("flag", ["rerun", "backup"])
def test_store_only_flags_need_a_store(tmp_path, flag, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    with pytest.raises(ValueError, match=flag):
        sensitivity(script, {"x": [1]}, progress=False, **{flag: True})
    assert not counter.exists()


def test_dry_run_without_a_study_creates_nothing(tmp_path, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    db = tmp_path / "study.db"
    preview = sensitivity(script, {"x": [1, 2]}, store=db, dry_run=True, workdir=True,
                          progress=False)
    assert isinstance(preview, DryRun)
    assert (preview.n_run, preview.n_reused, len(preview)) == (3, 0, 3)
    assert list(preview.actions) == ["run"] * 3
    assert not counter.exists()
    assert _siblings(db) == []


def test_dry_run_on_a_study_says_what_would_run_and_changes_nothing(
    tmp_path, peek, counting_script
):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    db = tmp_path / "study.db"
    sensitivity(script, {"x": [1, 2]}, store=db, progress=False)
    ids = {json.loads(r["params_json"])["x"]: r["iteration_id"]
           for r in peek.query(db, "SELECT params_json, iteration_id FROM iterations")}
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
    assert peek.scalar(db, "SELECT COUNT(*) FROM iterations") == 3
    assert peek.scalar(db, "SELECT COUNT(*) FROM sweeps") == 1

    # and the preview was right: the real call runs exactly the one it announced
    sensitivity(script, {"x": [1, 2, 3]}, store=db, progress=False)
    assert _lines(counter)[len(ran):] == ["3"]


def test_dry_run_leaves_an_empty_file_alone(tmp_path, counting_script):
    counter = tmp_path / "counter.txt"
    script = counting_script(counter)
    db = tmp_path / "study.db"
    db.touch()
    preview = sensitivity(script, {"x": [1]}, store=db, dry_run=True)
    assert preview.n_run == 2
    assert db.stat().st_size == 0
