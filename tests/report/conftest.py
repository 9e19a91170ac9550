"""Fixtures of the report tests: a real study made by real sweeps of a tiny script (built
once), its report, and headless Chromium driven by playwright (started once per module;
the tests that need it are skipped, saying why, where there is no Chromium)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from py3r_script import Study, sensitivity, sweep

# y = 3a + 0.1b; fails when b > 25; an output and a label carry markup that must stay text
SCRIPT = """
import sys
from py3r_script import Output, Param
a = Param(2.0, name="a")
b = Param(10, name="b")
if b > 25:
    print("about to fail <stderr & co>", file=sys.stderr)
    raise ValueError("<b>b too big</b> & bad")
print("ran with", a, b)
Output(3 * a + 0.1 * b, name="y")
Output(a * b, name="z")
Output("<script>window.pwnedByOutput = 1</script>", name="note")
Output([a, b], name="pair")
"""
EVIL_LABEL = "<script>window.pwnedByLabel = 1</script>"
SAMPLE_RUNS = 30
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``study.db`` of four sweeps of ``script.py``: one at a time (with a failure, under a
    label holding a script tag), a grid after an edit of the script, a Latin-hypercube
    sample and explicit points (one of them reused from the grid)."""
    folder = tmp_path_factory.mktemp("report study")
    script = folder / "script.py"
    script.write_text(SCRIPT)
    db = folder / "study.db"
    common: dict[str, Any] = {"store": db, "progress": False, "max_workers": 2, "warm": True}
    sensitivity(script, {"a": [1.0, 3.0], "b": [5, 20, 30]}, label=EVIL_LABEL, **common)
    script.write_text(SCRIPT + "# edited\n")
    sweep(script, {"a": [1.0, 3.0], "b": [5, 20]}, label="grid", **common)
    sweep(script, sample={"a": (0.0, 4.0), "b": (1, 20)}, n=SAMPLE_RUNS, seed=1,
          label="sample", **common)
    sweep(script, points=[{"a": 0.5}, {"a": 1.0, "b": 5}, {"b": 12}], label="points",
          **common)  # a=1.0, b=5 ran in the grid: reused
    return folder


@pytest.fixture(scope="session")
def study_db(study_dir: Path) -> Path:
    return study_dir / "study.db"


@pytest.fixture(scope="session")
def report_file(study_db: Path) -> Path:
    """The report of the whole study."""
    with Study(study_db) as study:
        return study.report(study_db.with_name("report of the study.html"))


@pytest.fixture(scope="session")
def report_html(report_file: Path) -> str:
    return report_file.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's ``chromium``), once per test module."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("no Chromium: install Debian's chromium package (apt-get install -y "
                    "chromium) to run the browser tests")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed: pip install -e '.[dev]'")
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
