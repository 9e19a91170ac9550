"""What the report says, read from its HTML: a page that needs nothing else, values escaped,
each sweep's design, results, analysis and failures, sweeps chosen by label, number or id,
the report of results without a study, and the page without matplotlib."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from py3r_script import StoreError, Study, run, sensitivity

LABEL = "<script>window.pwnedByLabel = 1</script>"  # sweep 0's, as conftest sets it


class Tags(HTMLParser):
    """Every start tag of a page, with its attributes."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def section(page: str, anchor: str) -> str:
    """The text of the section with this id (up to the next section), tags removed."""
    start = page.index(f'id="{anchor}"')
    end = page.find("<section", start + 1)
    body = page[start:end if end > 0 else None]
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def headings(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r"<h2>(.*?)</h2>", page)]


def test_the_page_needs_nothing_else(report_html):
    tags = Tags(report_html)
    assert not tags.named("link") and not tags.named("iframe")
    assert len(tags.named("script")) == 1 and all(not s for s in tags.named("script"))
    sources = [attrs["src"] for attrs in tags.named("img")]
    assert sources and all(s and s.startswith("data:image/png;base64,") for s in sources)
    assert all((a["href"] or "").startswith("#") for a in tags.named("a"))
    policy = next(m["content"] for m in tags.named("meta")
                  if m.get("http-equiv") == "Content-Security-Policy")
    assert policy and "default-src 'none'" in policy and "img-src data:" in policy
    assert "http://" not in report_html and "https://" not in report_html


def test_values_from_the_study_are_escaped(report_html):
    assert "<script>window.pwned" not in report_html
    assert "&lt;script&gt;window.pwnedByLabel = 1&lt;/script&gt;" in report_html
    assert "&lt;script&gt;window.pwnedByOutput = 1&lt;/script&gt;" in report_html
    assert "<b>b too big" not in report_html
    assert "&lt;b&gt;b too big&lt;/b&gt; &amp; bad" in report_html
    assert headings(report_html)[1] == f"Sweep 0: {LABEL}"


def test_the_study_lists_its_sweeps_in_time_order(report_html):
    overview = section(report_html, "study")
    rows = re.findall(r"<tr><td class=\"num\">(\d)</td><td[^>]*>([^<]*)</td><td>(\w+)</td>",
                      report_html.split('id="study"')[1].split("</section>")[0])
    assert [(n, html.unescape(label), status) for n, label, status in rows] == [
        ("0", LABEL, "finished"), ("1", "grid", "finished"), ("2", "sample", "finished"),
        ("3", "points", "finished")]
    assert "48 planned iteration(s)" in overview  # 6 + 9 + 30 + 3
    assert "script.py" in overview


def test_each_sweep_shows_its_design(report_html):
    independent = section(report_html, "sweep-0-design")
    assert "an independent sweep" in independent
    assert "1.0, 2.0, 3.0" in independent and "5, 10, 20, 30" in independent
    sample = section(report_html, "sweep-2-design")
    assert "a Latin-hypercube sample (lhs)" in sample
    assert re.search(r"Seed\s+1\b", sample)
    assert "30 values from" in sample


def test_each_design_gets_its_analysis(report_html):
    one_at_a_time = section(report_html, "sweep-0-analysis")
    assert "Tornado chart of y" in one_at_a_time and "Response of z to each parameter" in \
        one_at_a_time
    assert "elasticity" in one_at_a_time
    grid = section(report_html, "sweep-1-analysis")
    assert "Heatmap of y over a and b" in grid and "Tornado chart of y" in grid
    sample = section(report_html, "sweep-2-analysis")
    assert "spearman" in sample and "y against each parameter" in sample
    assert "Tornado" not in sample
    points = section(report_html, "sweep-3-analysis")
    assert "y against each parameter" in points and "spearman" not in points


def test_results_tables_show_outputs_status_and_reuse(report_html):
    results = section(report_html, "sweep-0-results")
    assert "error" in results and "pair" in results  # the non-scalar output is named
    sample = section(report_html, "sweep-2-results")
    assert "30 iterations; the first 25 are shown." in sample
    assert "Show the other 5 iterations" in sample
    more = report_html.split('id="sweep-2-results"')[1].split('<tbody class="more">')[1]
    assert more.split("</tbody>")[0].count("<tr>") == 5
    points = section(report_html, "sweep-3-results")
    assert "reused from" in points and "sweep 1" in points


def test_failures_show_their_message_and_output_tails(report_html):
    failures = section(report_html, "sweep-0-failures")
    assert "Failures (1)" in failures
    assert "#5 error: a=2.0, b=30" in failures
    assert "ValueError: <b>b too big</b> & bad" in failures
    assert "about to fail <stderr & co>" in failures
    assert "No iteration failed." in section(report_html, "sweep-1-failures")


def test_what_changed_between_sweeps_of_the_script(report_html):
    changes = section(report_html, "changes")
    assert f"Sweep 0: {LABEL} → Sweep 1: grid" in changes
    assert "sha256" in changes and "independent" in changes
    assert "Sweep 2: sample → Sweep 3: points" in changes


def test_sweeps_are_chosen_by_label_number_or_id(study_db, tmp_path):
    with Study(study_db) as study:
        chosen = study.report(tmp_path / "chosen.html", sweeps=["grid", -1])
        by_id = study.report(tmp_path / "by id.html", sweeps=study.sweep_id(2)[:8])
        with pytest.raises(StoreError, match=r"labelled, numbered or .*'grid'"):
            study.report(tmp_path / "none.html", sweeps="no such sweep")
        with pytest.raises(TypeError, match="sweeps= takes a sweep's label, id or number"):
            study.report(tmp_path / "none.html", sweeps=2.5)
    page = chosen.read_text()
    assert headings(page) == ["The study", "Sweep 1: grid", "Sweep 3: points",
                              "What changed between sweeps"]
    assert "Sweep 1: grid → Sweep 3: points" in section(page, "changes")
    assert headings(by_id.read_text()) == ["The study", "Sweep 2: sample"]
    assert not (tmp_path / "none.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["by id.html", "chosen.html"]


def test_results_without_a_study_have_a_report(write_script, tmp_path):
    script = write_script("""
        from py3r_script import Output, Param
        x = Param(1.0, name="x")
        Output(x * 2, name="double")
    """)
    sr = sensitivity(script, {"x": [0.5, 2.0]}, progress=False, label="<i>quick</i>")
    page = sr.report(tmp_path / "sweep.html").read_text()
    assert headings(page) == ["The sweep at a glance", "The sweep: <i>quick</i>"]
    assert "Tornado chart of double" in page and 'id="changes"' not in page
    single = run(script).report(tmp_path / "single.html").read_text()
    assert "Nothing varied in this sweep" in section(single, "sweep-analysis")


def test_without_matplotlib_the_report_says_where_the_plots_would_be(study_db, tmp_path):
    out = tmp_path / "no plots.html"
    code = ("import sys; sys.modules['matplotlib'] = None\n"  # importing it fails
            "from py3r_script import Study\n"
            f"Study({str(study_db)!r}).report({str(out)!r}, sweeps=[0, 2])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    assert "<img" not in page
    text = html.unescape(page)
    assert ('The tornado chart of y would be here: plots need matplotlib (pip install '
            '"py3r-script[plot]").') in text
    assert "The y against each parameter would be here" in text
    assert "spearman" in text  # the tables need no matplotlib


def test_an_empty_study_has_a_report(tmp_path):
    with Study(tmp_path / "empty.db") as study:
        page = Path(study.report(tmp_path / "empty.html")).read_text()
    assert "The study holds no sweep yet." in page


def test_plots_are_the_pixels_savefig_writes(tmp_path):
    """The report draws each plot once, on an Agg canvas: the PNG is savefig's, pixel for
    pixel."""
    np = pytest.importorskip("numpy")
    image = pytest.importorskip("PIL.Image")
    import io

    from py3r_script.analysis.plotting import new_figure
    from py3r_script.report.figures import DPI, png

    def drawn() -> object:
        fig = new_figure(figsize=(6, 3), layout="constrained")
        axes = fig.subplots(1, 2)
        axes[0].plot(range(50), [v ** 0.5 for v in range(50)], marker="o", alpha=0.7)
        axes[1].barh([0, 1], [3, -2], label="bars")
        axes[1].set_yticks([0, 1], ["a long label (nominal 1.5)", "b"])
        axes[1].legend()
        fig.suptitle("Sensitivity of y: ρ = 0.93")
        return fig

    ours, theirs = io.BytesIO(), io.BytesIO()
    png(drawn(), ours)
    drawn().savefig(theirs, format="png", dpi=DPI)
    pixels = [np.asarray(image.open(buffer)) for buffer in (ours, theirs)]
    assert pixels[0].shape == pixels[1].shape and (pixels[0] == pixels[1]).all()
