"""``py3r-script report``: a study as one HTML page, and ``show --compare``: what changed
between two sweeps."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from py3r_script import sensitivity, sweep

NO_MATPLOTLIB = "import sys; sys.modules['matplotlib'] = None  # importing it fails"


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory, typed_source) -> Path:
    """Two sweeps of the typed script: one at a time over window, then a labelled grid."""
    folder = tmp_path_factory.mktemp("report")
    script = folder / "typed.py"
    script.write_text(typed_source(folder / "runs.log"))
    db = folder / "study.db"
    sensitivity(script, {"window": [4, -1]}, store=db, progress=False)  # window=-1 fails
    sweep(script, {"window": [4, 6], "thr": [1.0, 3.0]}, store=db, label="second look",
          progress=False, max_workers=2)
    return db


def test_report_writes_the_chosen_sweeps(tmp_path, study, cli):
    done = cli("report", study, "-o", "chosen.html", "--sweep", "second look", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "wrote chosen.html" in done.stderr
    page = html.unescape((tmp_path / "chosen.html").read_text())
    assert "Sweep 1: second look" in page and "Sweep 0" not in page
    assert "Heatmap of prod over window and thr" in page


def test_report_of_every_sweep_goes_beside_the_study_by_default(study, cli_after):
    done = cli_after(NO_MATPLOTLIB, "report", study.name, cwd=study.parent)
    assert done.returncode == 0, done.stderr
    page = html.unescape((study.parent / "study.html").read_text())
    assert "Sweep 0" in page and "Sweep 1: second look" in page
    assert "ValueError: negative window -1" in page
    assert "What changed between sweeps" in page
    assert "plots need matplotlib (pip install \"py3r-script[plot]\")" in page


def test_report_refuses_an_unknown_sweep_or_study(tmp_path, study, cli, assert_usage_error):
    assert_usage_error(cli("report", study, "-o", "x.html", "--sweep", "third", cwd=tmp_path),
                       "no sweep of", "'second look'")
    assert_usage_error(cli("report", "missing.db", cwd=tmp_path), "give a study database")
    assert_usage_error(cli("report", study, "-o", "nowhere/x.html", cwd=tmp_path),
                       "the folder 'nowhere' does not exist")
    assert not list(tmp_path.iterdir())


def test_show_compare_prints_what_changed(tmp_path, study, cli, csv_rows):
    done = cli("show", study, "--compare", "0", "-1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = csv_rows(done.stdout)
    assert list(table.columns) == ["what", "name", "a", "b"]
    changed = {(w, n): (a, b) for w, n, a, b in table.itertuples(index=False, name=None)}
    assert changed["design", "mode"] == ("independent", "grid")
    assert changed["parameter", "window"] == ("-1, 3, 4", "3, 4, 6")
    assert_same = cli("show", study, "--compare", "1", "1", "--format", "json", cwd=tmp_path)
    assert assert_same.stdout.strip() == "[]"
