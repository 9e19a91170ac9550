"""The report of a study (``Study.report``, ``py3r-script report``): its sweeps, chosen by
label, id or number, each read back as results, and what changed between consecutive
sweeps of the same script (``Study.compare``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from ..designs.design import DESCRIPTIONS, Design
from ..errors import StoreError
from ..results import ScriptResults
from ..store.studyrows import sweep_from_row
from .document import Changes, write_report
from .summary import SweepSummary, summary_of_sweep

if TYPE_CHECKING:
    import sqlite3

    from ..store.study import Study

__all__ = ["SweepChoice", "select_sweeps", "study_report", "sweep_results"]

SweepChoice = Union[str, int]
"""A sweep as the report takes it: its label, id (or a unique prefix) or number."""


def study_report(study: Study, path: str | os.PathLike[str], *,
                 sweeps: SweepChoice | Iterable[SweepChoice] | None = None) -> Path:
    """Write the report of ``study`` (or of the chosen ``sweeps``) to ``path``.

    Parameters
    ----------
    study : Study
        The open study.
    path : path
        The HTML file to write (replaced whole if it exists).
    sweeps : str, int or a list of them, optional
        The sweeps to report, by label (every sweep with it), id (or a unique prefix) or
        number (``-1``: the latest); by default every sweep. They are shown in time order.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> with Study("oft_study.db") as study:  # doctest: +SKIP
    ...     study_report(study, "oft_report.html", sweeps=["coarse scan", -1])
    PosixPath('oft_report.html')
    """
    rows = select_sweeps(study, sweeps)

    def each() -> Iterator[tuple[SweepSummary, ScriptResults]]:
        for row in rows:
            results = sweep_results(study, row)
            yield summary_of_sweep(row, results), results

    def changes(summaries: Sequence[SweepSummary]) -> Changes | None:
        if len(summaries) < 2:
            return None
        pairs = []
        last: dict[str, SweepSummary] = {}
        for summary in summaries:
            before = last.get(summary.script)
            if before is not None:
                pairs.append((before, summary, study.compare(str(before.sweep_id),
                                                             str(summary.sweep_id))))
            last[summary.script] = summary
        return pairs

    return write_report(path, str(study.path), each(), changes)


def sweep_results(study: Study, row: sqlite3.Row) -> ScriptResults:
    """One sweep of a study as results: its plan's records (reused ones included), its
    parameters, outputs, nominal values and design.

    >>> sweep_results(study, study.sweep_row(study.sweep_id(-1)))  # doctest: +SKIP
    """
    info = sweep_from_row(row)
    design = info.design
    if design is None and info.mode in DESCRIPTIONS:
        design = Design(info.mode)
    return ScriptResults(info.param_names, info.output_names,
                         study.records(sweep=info.sweep_id), nominal=info.nominal,
                         script=info.script, design=design)


def select_sweeps(study: Study, wanted: SweepChoice | Iterable[SweepChoice] | None
                  ) -> list[sqlite3.Row]:
    """The ``sweeps`` rows of the chosen sweeps, oldest first (all by default).

    A text is first a label (every sweep carrying it), then a sweep number when it is one
    (``"-1"``: the latest), then an id or a unique prefix of one.

    >>> [row["sweep_seq"] for row in select_sweeps(study, ["coarse scan", -1])]
    ... # doctest: +SKIP
    [0, 3]
    """
    rows = study.sweep_rows()
    if wanted is None:
        return rows
    try:
        choices: list[Any] = [wanted] if isinstance(wanted, (str, int)) else list(wanted)
    except TypeError:
        raise TypeError(f"sweeps= takes a sweep's label, id or number, or a list of them, "
                        f"not {type(wanted).__name__} {wanted!r}") from None
    chosen: set[str] = set()
    for choice in choices:
        labelled = {r["sweep_id"] for r in rows if isinstance(choice, str)
                    and r["label"] == choice}
        chosen |= labelled or {_by_number_or_id(study, choice, len(rows))}
    return [r for r in rows if r["sweep_id"] in chosen]


def _by_number_or_id(study: Study, choice: Any, count: int) -> str:
    if isinstance(choice, str):
        try:
            number = int(choice)
        except ValueError:
            pass
        else:
            if -count <= number < count:
                choice = number
    try:
        return study.sweep_id(choice)
    except StoreError:
        labels = sorted({r["label"] for r in study.sweep_rows() if r["label"]})
        known = f"its labels: {', '.join(map(repr, labels))}; " if labels else ""
        numbers = f"numbers 0 to {count - 1}" if count else "it has no sweep"
        raise StoreError(
            f"no sweep of {study.path} is labelled, numbered or has an id starting with "
            f"{choice!r} ({known}{numbers}; py3r-script show {study.path} lists "
            "them)") from None
