"""How ``ScriptResults`` show themselves: the notebook's HTML view and the plain-text repr."""

from __future__ import annotations

import re
import textwrap

import pytest

from py3r_script import ScriptResults, sensitivity, sweep

TABULAR = """
import pandas as pd
from py3r_script import Output, Param
n = Param(2, name="n")
tag = Param("t", name="tag")
if n == 0:
    raise ValueError("n must be > 0")
Output(pd.DataFrame({"i": list(range(n)), "sq": [i * i for i in range(n)]}), name="summary")
Output(pd.Series([n * 1.5] * n, name="val"), name="series")
Output({"n": n}, name="mapping")
Output(n * 1.5, name="scalar")
Output(f"n={n}", name="text")
"""


def write(tmp_path_factory, source, name="script.py"):
    path = tmp_path_factory.mktemp("display") / name
    path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tabular(tmp_path_factory) -> ScriptResults:
    script = write(tmp_path_factory, TABULAR, "tabular.py")
    # baseline (2, t), n=1, n=3, n=0 (fails), (2, u)
    return sensitivity(script, {"n": [1, 3, 0], "tag": ["u"]}, progress=False, max_workers=2)


@pytest.fixture(scope="module")
def grid(analytic_script) -> ScriptResults:
    script = analytic_script
    # x in {1, 3, 2 (nominal)}, a in {1, 5, 3}, b in {0, 1}: 18 iterations
    return sweep(script, {"x": [1.0, 3.0], "a": [1.0, 5.0], "b": [0.0]},
                 progress=False, max_workers=2)


def test_repr_html_shows_counts_names_table_and_errors(tabular):
    html = tabular._repr_html_()
    assert isinstance(html, str)
    assert "5 iteration(s), 4 ok, 1 failed" in html
    for name in ("n", "tag", "summary", "series", "mapping", "scalar", "text"):
        assert name in html
    assert "tabular.py" in html
    assert html.count("<table") == 1
    table = html[html.index("<table"):html.index("</table>")]
    # the head of the data: scalar outputs only, one row per completed iteration
    assert "<th>scalar</th>" in table and "<th>text</th>" in table
    assert "<th>summary</th>" not in table
    assert table.count("<tr") == 1 + 4
    assert "4.5" in table and "n=3" in table
    assert "<ul>" in html and "<li>" in html  # the errors list
    assert "ValueError: n must be &gt; 0" in html  # escaped
    assert "n must be > 0" not in html


def test_repr_stays_plain_text(tabular):
    text = repr(tabular)
    assert not re.search(r"</?(table|div|b|ul|li|br|code|tr|td|th)\b", text)
    assert "5 iteration(s), 4 ok, 1 failed" in text
    assert "params:  n, tag" in text
    assert "failed:" in text and "n must be > 0" in text


def test_repr_html_without_errors_and_with_many_rows(grid):
    html = grid._repr_html_()
    assert "18 iteration(s), 18 ok, 0 failed" in html
    assert "<ul>" not in html and "errors" not in html
    table = html[html.index("<table"):html.index("</table>")]
    assert table.count("<tr") == 1 + 10  # the head only
    assert "8 more rows" in html
    assert "\n" in repr(grid) and "<" not in repr(grid)
