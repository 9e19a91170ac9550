"""Studies from the command line: ``--store`` reuses iterations; ``show`` lists what a
study holds; ``merge`` joins studies."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest


def test_store_reuses_and_show_lists_the_sweeps(tmp_path, typed, log, cli, csv_rows, runs):
    first = cli("sensitivity", typed, "-s", "window=4,5", "--store", "study.db", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert runs(log) == 3
    again = cli("sensitivity", typed, "-s", "window=4,5", "--store", "study.db", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert runs(log) == 3  # everything reused
    assert again.stdout == first.stdout

    shown = cli("show", "study.db", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    sweeps = csv_rows(shown.stdout)
    assert len(sweeps) == 2
    assert {"sweep_id", "status", "mode", "n_planned", "n_done", "n_failed"} <= set(sweeps)
    assert sweeps["n_planned"].tolist() == [3, 3]
    assert "2 sweep(s)" in shown.stderr

    latest = cli("show", "study.db", "--sweep", "-1", cwd=tmp_path)
    assert latest.returncode == 0, latest.stderr
    rows = csv_rows(latest.stdout)
    assert rows["window"].tolist() == [3, 4, 5]
    assert rows["prod"].tolist() == [6.0, 8.0, 10.0]
    assert set(rows["_status"]) == {"ok"}
    by_id = cli("show", "study.db", "--sweep", sweeps["sweep_id"][0], "--format", "json",
                cwd=tmp_path)
    assert by_id.returncode == 0, by_id.stderr
    assert [r["window"] for r in json.loads(by_id.stdout)] == [3, 4, 5]


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory, cli, typed_source) -> Path:
    """A study built once for the read-only ``show`` tests: a good sweep, then a failing one."""
    folder = tmp_path_factory.mktemp("study")
    script = folder / "typed.py"
    script.write_text(typed_source(folder / "runs.log"))
    assert cli("sensitivity", script, "-s", "window=4", "--store", "study.db",
               cwd=folder).returncode == 0
    assert cli("sensitivity", script, "-s", "window=-1,5", "--store", "study.db",
               cwd=folder).returncode == 1
    return folder / "study.db"


def test_show_errors_lists_failed_iterations(tmp_path, study, cli):
    result = cli("show", study, "--errors", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(io.StringIO(result.stdout))  # data on stdout, CSV when redirected
    assert table["window"].tolist() == [-1]
    assert "ValueError: negative window -1" in table["_error"][0]
    assert "1 failed iteration(s)" in result.stderr
    latest = cli("show", study, "--sweep", "-1", "--errors", cwd=tmp_path)
    assert pd.read_csv(io.StringIO(latest.stdout))["window"].tolist() == [-1]
    first = cli("show", study, "--sweep", "0", "--errors", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "0 failed iteration(s)" in first.stderr
    assert pd.read_csv(io.StringIO(first.stdout)).empty


def test_show_sweep_rows_and_summary(tmp_path, study, cli, csv_rows):
    summary = csv_rows(cli("show", study, cwd=tmp_path).stdout)
    assert summary["n_planned"].tolist() == [2, 3]
    assert summary["n_failed"].tolist() == [0, 1]
    rows = csv_rows(cli("show", study, "--sweep", "-1", cwd=tmp_path).stdout)
    assert rows["window"].tolist() == [3, 5]  # completed iterations only; 3 was reused
    table = cli("show", study, "--sweep", "0", "--format", "table", cwd=tmp_path)
    assert table.stdout.split()[:2] == ["window", "window_type"]


def test_show_errors_honours_out_file(tmp_path, study, cli):
    result = cli("show", study, "--errors", "-o", "errors.csv", cwd=tmp_path)
    assert result.returncode == 0
    assert (tmp_path / "errors.csv").exists()


@pytest.fixture
def not_studies(tmp_path: Path) -> Path:
    """Files that are no study: empty, an SQLite database of something else."""
    (tmp_path / "empty.db").write_bytes(b"")
    with sqlite3.connect(tmp_path / "other.db") as con:
        con.execute("CREATE TABLE animals (name TEXT)")
    con.close()
    return tmp_path


@pytest.mark.parametrize(("db", "needles"), [
    ("missing.db", ["no study at 'missing.db'", "does not exist or is empty"]),
    ("empty.db", ["no study at 'empty.db'", "does not exist or is empty"]),
    ("typed.py", ["typed.py is not a py3r-script study (not an SQLite database)"]),
    ("other.db", ["other.db is an SQLite database but not a py3r-script study"]),
])
def test_show_something_that_is_no_study_is_exit_2(tmp_path, typed, not_studies, db, needles, cli,
                                                   assert_usage_error):
    before = (tmp_path / "other.db").read_bytes()
    result = cli("show", db, cwd=tmp_path)
    assert_usage_error(result, *needles, "give a study database (a file written with "
                                         "--store DB)")
    assert "store=" not in result.stderr
    assert (tmp_path / "other.db").read_bytes() == before  # show changed nothing


def test_show_a_sweep_that_is_not_there_is_exit_2(tmp_path, study, cli, csv_rows,
                                                  assert_usage_error):
    ids = csv_rows(cli("show", study, cwd=tmp_path).stdout)["sweep_id"].tolist()
    number = next(n for n in range(2, 100) if not any(i.startswith(str(n)) for i in ids))
    result = cli("show", study, "--sweep", number, cwd=tmp_path)
    assert_usage_error(result, f"--sweep {number}", f"no sweep number {number}",
                       "0 to 1, or -1 for the latest", f"no sweep id starting with '{number}'",
                       "lists its sweeps")
    result = cli("show", study, "--sweep", "nosuchid", cwd=tmp_path)
    assert_usage_error(result, "no sweep id starting with 'nosuchid'")
    assert "sweep number" not in result.stderr
    assert "Study.sweeps" not in result.stderr


def test_show_sweep_takes_an_all_digit_id_prefix(tmp_path, typed, cli, cli_after, csv_rows):
    """Sweep ids whose first 8 characters (what show prints) are digits."""
    assert cli("sensitivity", typed, "-s", "window=4", "--store", "s.db",
               cwd=tmp_path).returncode == 0
    digits = """
        import itertools, uuid
        ids = itertools.count(0x12345678 << 96)
        uuid.uuid4 = lambda: uuid.UUID(int=next(ids))
    """
    made = cli_after(digits, "sensitivity", typed, "-s", "window=5,6", "--store", "s.db",
                     cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    shown = csv_rows(cli("show", "s.db", cwd=tmp_path).stdout)
    assert shown["sweep_id"].tolist()[1] == "12345678"
    by_prefix = cli("show", "s.db", "--sweep", "12345678", cwd=tmp_path)
    assert by_prefix.returncode == 0, by_prefix.stderr
    assert csv_rows(by_prefix.stdout)["window"].tolist() == [3, 5, 6]
    by_number = cli("show", "s.db", "--sweep", "1", cwd=tmp_path)  # a number wins
    assert by_number.stdout == by_prefix.stdout
    first = cli("show", "s.db", "--sweep", "0", cwd=tmp_path)
    assert csv_rows(first.stdout)["window"].tolist() == [3, 4]


def test_script_and_store_in_a_weird_directory(tmp_path, write_weird_script, weird_dir, log, cli,
                                               csv_rows, typed_source):
    script = write_weird_script(typed_source(log), "my script.py")
    store = weird_dir / "my study.db"
    result = cli("sensitivity", script, "-s", "window=4", "--store", store, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert store.exists()
    shown = cli("show", store, "--sweep", "-1", cwd=tmp_path)
    assert csv_rows(shown.stdout)["window"].tolist() == [3, 4]
    assert csv_rows(cli("show", store, cwd=weird_dir).stdout)["script"].tolist() == [
        str(script)]


DESIGN_SCRIPT = """
from py3r_script import Output, Param
a = Param(1, name="a")
b = Param(0.5, name="b")
tag = Param("t", name="tag")
Output(f"{type(a).__name__}:{a}|{type(b).__name__}:{b}|{tag}", name="seen")
"""


def test_merge_command(tmp_path, cli, assert_usage_error):
    (tmp_path / "d.py").write_text(DESIGN_SCRIPT)
    for name, value in (("one.db", "2"), ("two.db", "3")):
        assert cli("sensitivity", "d.py", "-s", f"a={value}", "--store", name,
                   cwd=tmp_path).returncode == 0
    result = cli("merge", "all.db", "one.db", "two.db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "one.db: 2 iteration(s) added" in result.stderr
    shown = cli("show", "all.db", cwd=tmp_path)
    assert len(pd.read_csv(io.StringIO(shown.stdout))) == 2
    again = cli("merge", "all.db", "one.db", cwd=tmp_path)
    assert "one.db: 0 iteration(s) added" in again.stderr
    bad = cli("merge", "all.db", "d.py", cwd=tmp_path)
    assert_usage_error(bad, "d.py is not a py3r-script study", "give a study database")
    assert "store=" not in bad.stderr
