"""The report in a real browser (headless Chromium): every section there, every image
loaded, sorting by a click, no console errors, no request beyond ``file://``, the markup in
a study's values shown as text, and everything readable with JavaScript off."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

EVIL_LABEL = "<script>window.pwnedByLabel = 1</script>"  # as conftest labels sweep 0
SAMPLE_RUNS = 30  # sweep 2's iterations
SWEEPS = 4
PARTS = ("design", "results", "analysis", "failures")


@dataclass
class Visit:
    """A page opened from disk, with everything it asked for and complained about."""

    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _open(browser: Any, path: Path, *, javascript: bool = True) -> Iterator[Visit]:
    context = browser.new_context(java_script_enabled=javascript,
                                  viewport={"width": 1200, "height": 900})
    page = context.new_page()
    visit = Visit(page)
    page.on("request", lambda request: visit.requests.append(request.url))
    page.on("console", lambda message: visit.errors.append(message.text)
            if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: visit.errors.append(str(error)))
    # anything that would leave the file is refused, and recorded above all the same
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        ("file:", "data:")) else route.abort())
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    try:
        yield visit
    finally:
        context.close()


@pytest.fixture(scope="module")
def visit(browser: Any, report_file: Path) -> Iterator[Visit]:
    yield from _open(browser, report_file)


@pytest.fixture
def fresh_visit(browser: Any, report_file: Path) -> Iterator[Visit]:
    """A page of its own, for a test that changes it (sorting)."""
    yield from _open(browser, report_file)


@pytest.fixture(scope="module")
def visit_without_javascript(browser: Any, report_file: Path) -> Iterator[Visit]:
    yield from _open(browser, report_file, javascript=False)


def test_every_section_is_there(visit: Visit):
    page = visit.page
    assert page.title() == "py3r-script report: study.db"
    ids = page.eval_on_selector_all("section[id]", "nodes => nodes.map(n => n.id)")
    expected = ["study", *(f"sweep-{n}{part}" for n in range(SWEEPS)
                           for part in ("", *(f"-{p}" for p in PARTS))), "changes"]
    assert sorted(ids) == sorted(expected)
    links = page.eval_on_selector_all("nav a", "links => links.map(a => a.hash)")
    assert links == ["#study", *(f"#sweep-{n}" for n in range(SWEEPS)), "#changes"]
    headings = page.locator("h2").all_inner_texts()
    assert headings == ["The study", f"Sweep 0: {EVIL_LABEL}", "Sweep 1: grid",
                        "Sweep 2: sample", "Sweep 3: points", "What changed between sweeps"]


def test_every_image_loaded(visit: Visit):
    widths = visit.page.eval_on_selector_all(
        "img", "images => images.map(i => [i.complete, i.naturalWidth, i.alt])")
    assert len(widths) >= 10  # tornado and response plots, heatmaps, scatter plots
    assert all(complete and width > 0 for complete, width, _ in widths), widths
    alts = [alt for _, _, alt in widths]
    assert "Tornado chart of y" in alts
    assert "Heatmap of y over a and b" in alts
    assert "y against each parameter" in alts


def test_no_console_errors_and_no_request_leaves_the_file(visit: Visit):
    assert visit.errors == []
    assert visit.requests  # the page itself, at least
    assert all(url.startswith(("file://", "data:")) for url in visit.requests), visit.requests


def test_markup_in_a_label_or_an_output_shows_as_text_and_runs_nothing(visit: Visit):
    page = visit.page
    assert page.evaluate("[typeof window.pwnedByLabel, typeof window.pwnedByOutput]") == [
        "undefined", "undefined"]
    assert page.locator("script").count() == 1  # the page's own
    assert page.locator("section#sweep-0 > h2").inner_text() == f"Sweep 0: {EVIL_LABEL}"
    cells = page.locator("#sweep-0-results td").all_inner_texts()
    assert "<script>window.pwnedByOutput = 1</script>" in cells
    failure = page.locator("#sweep-0-failures").inner_text()
    assert "ValueError: <b>b too big</b> & bad" in failure


def _column(page: Any, table: Any, name: str) -> list[str]:
    headers = table.locator("thead th").all_inner_texts()
    index = [h.strip() for h in headers].index(name)
    return table.locator("tbody tr").evaluate_all(
        f"rows => rows.map(r => r.cells[{index}].textContent)")


def test_clicking_a_column_header_sorts_every_row(fresh_visit: Visit):
    page = fresh_visit.page
    table = page.locator("#sweep-2-results table")
    before = [float(v) for v in _column(page, table, "y")]
    assert len(before) == SAMPLE_RUNS and before != sorted(before)
    shown = table.locator("tbody").nth(0).locator("tr").count()
    table.locator("thead th", has_text="y").first.click()
    ascending = [float(v) for v in _column(page, table, "y")]
    assert ascending == sorted(before)  # across both bodies, the collapsed one too
    assert table.locator("tbody").nth(0).locator("tr").count() == shown
    assert table.locator("thead th", has_text="y").first.get_attribute("aria-sort") == \
        "ascending"
    table.locator("thead th", has_text="y").first.click()
    assert [float(v) for v in _column(page, table, "y")] == sorted(before, reverse=True)
    assert fresh_visit.errors == []


def test_everything_is_readable_with_javascript_off(visit_without_javascript: Visit):
    page = visit_without_javascript.page
    text = page.locator("body").inner_text()
    for words in ("The study", "Sweep 1: grid", "Design", "a Latin-hypercube sample",
                  "Spearman", "What changed between sweeps", "ValueError: <b>b too big</b>",
                  f"{SAMPLE_RUNS} iterations; the first 25 are shown."):
        assert words in text
    assert visit_without_javascript.errors == []
    more = page.locator("#sweep-2-results tbody.more tr").first
    assert not more.is_visible()
    page.locator("#sweep-2-results details.more-rows summary").click()  # plain HTML
    assert more.is_visible()
    widths = page.eval_on_selector_all("img", "images => images.map(i => i.naturalWidth)")
    assert widths and min(widths) > 0
