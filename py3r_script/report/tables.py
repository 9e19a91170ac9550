"""Tables of the report: sortable by a click on a column header, long ones shown in part.

A long table shows its first rows; the rest are in a second body of the same table, hidden
until the reader opens the ``<details>`` toggle just above it (plain HTML and CSS, so it
works with JavaScript off). The page's script sorts both bodies as one, keeping as many
rows in the first as before. Cells hold text only, every value escaped.
"""

from __future__ import annotations

import html
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

from .markup import Html, element, shown_value

__all__ = ["SHOWN_ROWS", "data_table", "frame_table"]

SHOWN_ROWS = 25
"""Rows a long table shows before the reader asks for the rest."""
LONG_TEXT = 40
"""A cell with more characters than this may wrap; shorter ones stay on one line."""
LONGEST_CELL = 300
"""A cell shows at most this many characters of its value (a long text output), and how
many there are."""


def data_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
               shown: int = SHOWN_ROWS, caption: str | None = None,
               noun: str = "row") -> Html:
    """A table of ``rows`` (values shown as :func:`~.markup.shown_value` shows them),
    sortable by clicking a header; beyond ``shown`` rows, the rest is collapsed.

    Numbers are right-aligned. ``noun`` names what a row is in the count above a long table
    (``"iteration"``: "120 iterations; the first 25 are shown").

    >>> data_table(["x", "y"], [(1, "a<b")])
    ... # doctest: +ELLIPSIS
    '<div class="table"><table class="data sortable">...<td class="num">1</td><td>a&lt;b</td>...'
    """
    cells = [_row(row) for row in rows]
    head = element("thead", element("tr", (element("th", name, scope="col")
                                           for name in columns)))
    first = Html(f"<tbody>{''.join(cells[:shown])}</tbody>")
    parts: list[Html] = []
    if len(cells) > shown:
        rest = len(cells) - shown
        parts.append(element("p", f"{len(cells):,} {noun}s; the first {shown} are shown.",
                             class_="count"))
        parts.append(element("details", element(
            "summary", f"Show the other {rest:,} {noun}{'s' if rest > 1 else ''}"),
            class_="more-rows"))
        body = Html(first + f"<tbody class=\"more\">{''.join(cells[shown:])}</tbody>")
    else:
        body = first
    table = element("table", element("caption", caption) if caption else None, head, body,
                    class_="data sortable")
    return element("div", parts, table, class_="table")


def _row(values: Sequence[Any]) -> str:
    """One ``<tr>``: the hot loop of a long table, so built with ``html.escape`` directly
    (and without it for an int or a float, whose text has nothing to escape)."""
    cells = []
    for value in values:
        text = shown_value(value)
        if (type(value) is float or type(value) is int) and len(text) <= LONGEST_CELL:
            cells.append(f'<td class="num">{text}</td>')
            continue
        if len(text) > LONGEST_CELL:
            text = f"{text[:LONGEST_CELL]}... ({len(text):,} characters)"
        text = html.escape(text, quote=True)
        if isinstance(value, numbers.Number) and not isinstance(value, bool):
            cells.append(f'<td class="num">{text}</td>')
        else:
            cells.append(f'<td class="long">{text}</td>' if len(text) > LONG_TEXT
                         else f"<td>{text}</td>")
    return f"<tr>{''.join(cells)}</tr>"


def frame_table(frame: Any, *, shown: int = SHOWN_ROWS, caption: str | None = None,
                round_to: int | None = 4) -> Html:
    """A pandas DataFrame as a :func:`data_table` (floats rounded to ``round_to`` digits,
    shown to six significant ones).

    >>> import pandas as pd
    >>> frame_table(pd.DataFrame({"x": [0.123456789]}))  # doctest: +ELLIPSIS
    '<div class="table">...<td class="num">0.1235</td>...'
    """
    rows = frame.itertuples(index=False, name=None)
    if round_to is not None:
        rows = ([round(v, round_to) if isinstance(v, float) else v for v in row]
                for row in rows)
    return data_table([str(c) for c in frame.columns], rows, shown=shown, caption=caption)
