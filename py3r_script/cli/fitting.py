"""A table fitted to the terminal's width, for a person to read: ids and hashes shortened,
long text cut with ``…``, and the columns that still do not fit left out and named.

Only what ``show`` prints on a terminal is fitted; files, pipes and ``--wide`` get every
column in full, so what a program reads is complete.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["FittedTable", "fit_table"]

SHORT_ID = 8  # characters of an id or hash, as git shows a commit
_IDS = ("sweep_id", "_sweep_id", "iteration_id", "_iteration_id", "_params_sha256",
        "_script_sha256", "script_sha256", "git_commit")
# Cut at the start, where the file name is: these columns, and any whose values are paths.
_PATHS = ("script", "_script", "_workdir", "cwd")
_GAP = "  "
_NARROWEST = 6  # a text column is cut to its header's width, but not narrower than this


@dataclass(frozen=True)
class FittedTable:
    """The table's text, and what fitting did to it (to say so on stderr)."""

    text: str
    left_out: tuple[str, ...] = ()
    cut: bool = False


def fit_table(frame: Any, width: int) -> FittedTable:
    """``frame`` as text at most ``width`` characters wide.

    Numbers are never cut: text columns shrink, the one with most to spare first, then
    columns are left out from the right (parameters come first, so they stay).

    >>> fit_table(pd.DataFrame({"sweep_id": ["0123456789abcdef"], "x": [1]}), 80).text
    ... # doctest: +SKIP
    'sweep_id  x\\n01234567  1'
    """
    columns = [_Column.of(str(name), frame[name]) for name in frame.columns]
    natural = [column.natural for column in columns]
    narrowest = [column.narrowest for column in columns]
    widths = list(natural)
    while _total(widths) > width and widths:
        slack = max(range(len(widths)), key=lambda i: (widths[i] - narrowest[i], i))
        if widths[slack] > narrowest[slack]:
            widths[slack] -= 1
        elif len(widths) > 1:  # nothing left to cut: leave out the last column
            widths.pop()
        else:
            break
    kept = columns[:len(widths)]
    left_out = tuple(c.header for c in columns[len(widths):])
    cut = any(w < n for w, n in zip(widths, natural))
    lines = [_GAP.join(c.show(c.header, w) for c, w in zip(kept, widths)).rstrip()]
    for row in range(len(frame)):
        lines.append(_GAP.join(c.show(c.cells[row], w) for c, w in zip(kept, widths)).rstrip())
    return FittedTable("\n".join(lines), left_out, cut)


def _total(widths: list[int]) -> int:
    return sum(widths) + len(_GAP) * max(len(widths) - 1, 0)


@dataclass(frozen=True)
class _Column:
    """One column's header and cells as text, and how it may be cut."""

    header: str
    cells: tuple[str, ...]
    numeric: bool
    path: bool

    @classmethod
    def of(cls, name: str, values: Any) -> _Column:
        cells = tuple(_cell(name, value) for value in values)
        numeric = all(_is_number(v) or _missing(v) for v in values) and len(values) > 0
        paths = any(cells) and all("/" in c or "\\" in c for c in cells if c)
        return cls(name, cells, numeric, name in _PATHS or paths)

    @property
    def natural(self) -> int:
        return max([len(self.header), *(len(c) for c in self.cells)])

    @property
    def narrowest(self) -> int:
        """Numbers keep every digit, text the width of its header (at least a few
        characters), and every header is whole: a column cut narrower is better left out."""
        if self.numeric:
            return self.natural
        return min(self.natural, max(_NARROWEST, len(self.header)))

    def show(self, text: str, width: int) -> str:
        if len(text) > width:
            text = "…" + text[-(width - 1):] if self.path else text[:width - 1] + "…"
        return text.rjust(width) if self.numeric else text.ljust(width)


def _cell(name: str, value: Any) -> str:
    if _missing(value):
        return ""
    if name in _IDS and isinstance(value, str):
        return value[:SHORT_ID]
    if hasattr(value, "strftime"):  # a timestamp: to the second
        return str(value.strftime("%Y-%m-%d %H:%M:%S"))
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    return text.splitlines()[0] + " …" if "\n" in text.strip() else text.strip()


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    kind = getattr(getattr(value, "dtype", None), "kind", None)  # a NumPy scalar
    return type(value).__module__.startswith("numpy") and kind in ("i", "u", "f")


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value) or (isinstance(value, float) and math.isnan(value))
    except (TypeError, ValueError):  # pandas.NA and friends refuse to be a bool
        return True
