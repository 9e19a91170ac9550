"""A report put together: its header, the overview, a section per sweep, what changed;
and the report of one ``ScriptResults`` (``sr.report(path)``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .markup import Html
from .overview import changes_section, header, study_section
from .page import write_page
from .summary import SweepSummary, summary_of_results
from .sweeps import sweep_section

if TYPE_CHECKING:
    import pandas as pd

    from ..results import ScriptResults

__all__ = ["Changes", "results_report", "write_report"]

Changes = Sequence[tuple[SweepSummary, SweepSummary, "pd.DataFrame"]]


def write_report(path: str | os.PathLike[str], source: str,
                 sweeps: Iterable[tuple[SweepSummary, ScriptResults]],
                 changes: Callable[[Sequence[SweepSummary]], Changes | None] | None = None, *,
                 heading: str = "The study") -> Path:
    """Write the report of ``sweeps`` (each summary with its results) to ``path``.

    ``source`` names what is reported (a study's file, a script). Each sweep's section is
    built as it comes, so only one sweep's results need be in memory at a time.
    ``changes``, given the summaries, returns the comparisons of sweeps of the same script
    (``None``: no such section). Returns the path.

    >>> write_report("report.html", "oft_study.db", [(summary, sr)])  # doctest: +SKIP
    PosixPath('report.html')
    """
    from .. import __version__

    summaries, sections = [], []
    for summary, results in sweeps:
        summaries.append(summary)
        sections.append(sweep_section(results, summary))
    links = [("study", heading), *((s.anchor, s.title) for s in summaries)]
    compared = None if changes is None else changes(summaries)
    if compared is not None:
        links.append(("changes", "What changed between sweeps"))
    title = f"py3r-script report: {Path(source).name}"
    parts = [header(title, __version__, links), study_section(source, summaries, heading),
             *sections]
    if compared is not None:
        parts.append(changes_section(compared))
    return write_page(path, title, Html("<main>" + "".join(parts) + "</main>"))


def results_report(results: ScriptResults, path: str | os.PathLike[str],
                   script: str | None = None) -> Path:
    """Write the report of one sweep's results (``ScriptResults.report``); returns the path.

    >>> results_report(sr, "sweep.html", "pipeline.py")  # doctest: +SKIP
    PosixPath('sweep.html')
    """
    summary = summary_of_results(results, script)
    return write_report(path, summary.script or "results", [(summary, results)],
                        heading="The sweep at a glance")
