"""The report's overview parts: its header and contents, the study's sweeps in time order,
and what changed between sweeps of the same script."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .figures import note
from .markup import Html, element
from .page import generated_line
from .summary import SweepSummary
from .tables import data_table, frame_table

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SWEEP_COLUMNS", "changes_section", "header", "study_section"]

SWEEP_COLUMNS = [
    "sweep", "label", "status", "started (UTC)", "duration", "planned", "ok", "failed",
    "reused", "script", "hash", "git commit", "host", "Python",
]


def header(title: str, version: str, links: Sequence[tuple[str, str]]) -> Html:
    """The page's title, when it was written, and ``links`` (anchor, text) to its sections.

    >>> header("oft_study.db", "0.1.0", [("study", "The study")])  # doctest: +SKIP
    """
    items = [element("li", element("a", text, href=f"#{anchor}")) for anchor, text in links]
    return element("header", element("h1", title), generated_line(version),
                   element("nav", element("ul", items)))


def duration(seconds: float | None) -> str:
    """Seconds in words a person reads at a glance.

    >>> duration(4.25), duration(125), duration(7322), duration(None)
    ('4.2 s', '2 min 5 s', '2 h 2 min', '')
    """
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _row(summary: SweepSummary) -> list[Any]:
    started = (summary.started_utc or "")[:19].replace("T", " ")
    return [summary.number if summary.number is not None else "", summary.label or "",
            summary.status, started, duration(summary.duration_s), summary.planned,
            summary.ok, summary.failed, summary.reused, summary.script, summary.short_hash,
            summary.git, summary.host, summary.python]


def study_section(source: str, summaries: Sequence[SweepSummary],
                  heading: str = "The study") -> Html:
    """The study at a glance: one row per sweep, oldest first.

    >>> study_section("oft_study.db", summaries)  # doctest: +SKIP
    """
    if not summaries:
        table = note("The study holds no sweep yet.")
    else:
        table = data_table(SWEEP_COLUMNS, [_row(s) for s in summaries], noun="sweep")
    about = element("p", element("code", source), f": {len(summaries)} sweep(s), "
                    f"{sum(s.planned for s in summaries):,} planned iteration(s).")
    return element("section", element("h2", heading), about, table,
                   element("p", "reused: iterations a sweep took from an earlier one (run "
                           "with the same script, parameters and outputs) instead of running "
                           "them again; they count among the ok ones. hash: the script's "
                           "SHA-256, first 12 digits.", class_="note"),
                   id="study", class_="study")


def changes_section(pairs: Sequence[tuple[SweepSummary, SweepSummary, pd.DataFrame]]) -> Html:
    """For consecutive sweeps of the same script, what changed (``Study.compare``'s rows).

    >>> changes_section([(first, second, study.compare(0, 1))])  # doctest: +SKIP
    """
    parts: list[Html] = [element("p", "Between consecutive sweeps of the same script: the "
                                 "script's content and git state, the design, parameters and "
                                 "nominal values, the outputs asked for, and where and with "
                                 "what they ran.")]
    if not pairs:
        parts.append(note("No two sweeps ran the same script, so there is nothing to "
                          "compare."))
    for before, after, differences in pairs:
        parts.append(element("h3", f"{before.title} → {after.title}",
                             id=f"changes-{before.anchor}-{after.anchor}"))
        if differences.empty:
            parts.append(note("Nothing the study records changed."))
        else:
            named = differences.rename(columns={"a": before.title, "b": after.title})
            parts.append(frame_table(named, shown=len(named), round_to=None))
    return element("section", element("h2", "What changed between sweeps"), parts,
                   id="changes", class_="changes")
