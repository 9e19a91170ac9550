"""What the report says about each sweep at a glance: ``SweepSummary``.

A sweep of a study is summarised from its ``sweeps`` row and its plan's records; results
without a study (``ScriptResults.report``) from their records alone, where what only a
study records (git state, the driver's status) is left blank.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

    from ..results import ScriptResults

__all__ = ["SweepSummary", "summary_of_results", "summary_of_sweep"]


@dataclass(frozen=True)
class SweepSummary:
    """One sweep in a line of the study's table, and the heading of its own section.

    ``reused`` counts the plan's iterations taken from earlier sweeps (they are among the
    ``ok`` ones); ``duration_s`` is the sweep's wall time (for one that did not finish,
    the span of the iterations it ran).
    """

    anchor: str
    title: str
    number: int | None
    sweep_id: str | None
    label: str | None
    status: str
    started_utc: str | None
    duration_s: float | None
    planned: int
    ok: int
    failed: int
    reused: int
    script: str
    script_sha256: str
    git_commit: str | None = None
    git_dirty: bool | None = None
    host: str = ""
    python: str = ""

    @property
    def short_hash(self) -> str:
        """The script's SHA-256, first 12 digits."""
        return self.script_sha256[:12]

    @property
    def git(self) -> str:
        """``"4b825dc6e9a0"``, ``"4b825dc6e9a0 (dirty)"`` or ``""`` outside a repository."""
        if not self.git_commit:
            return ""
        return self.git_commit[:12] + (" (dirty)" if self.git_dirty else "")


def _counts(results: ScriptResults, sweep_id: str | None) -> tuple[int, int, int]:
    """Iterations ok, failed and reused (taken from another sweep) in the plan."""
    records = results.records
    ok = sum(r.ok for r in records)
    reused = sum(sweep_id is not None and r.sweep_id not in (None, sweep_id) for r in records)
    return ok, len(records) - ok, reused


def _span(results: ScriptResults, sweep_id: str | None) -> float | None:
    ran = [r for r in results.records if sweep_id is None or r.sweep_id == sweep_id]
    if not ran:
        return None
    return max(r.finished for r in ran) - min(r.started for r in ran)


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()


def summary_of_sweep(row: sqlite3.Row, results: ScriptResults) -> SweepSummary:
    """A study's sweep, from its ``sweeps`` row and its plan's results.

    >>> summary_of_sweep(study.sweep_row(sweep_id), sweep_results)  # doctest: +SKIP
    """
    number, label = row["sweep_seq"], row["label"]
    duration = _seconds_between(row["created_utc"], row["finished_utc"])
    dirty = row["git_dirty"]
    ok, failed, reused = _counts(results, row["sweep_id"])
    return SweepSummary(
        anchor=f"sweep-{number}", title=f"Sweep {number}" + (f": {label}" if label else ""),
        number=number, sweep_id=row["sweep_id"], label=label, status=row["status"],
        started_utc=row["created_utc"],
        duration_s=duration if duration is not None else _span(results, row["sweep_id"]),
        planned=row["n_planned"], ok=ok, failed=failed, reused=reused, script=row["script"],
        script_sha256=row["script_sha256"], git_commit=row["git_commit"],
        git_dirty=None if dirty is None else bool(dirty), host=row["host"] or "",
        python=row["python"] or "",
    )


def summary_of_results(results: ScriptResults, script: str | None) -> SweepSummary:
    """Results that are not (or not known to be) a study's sweep, from their records.

    >>> summary_of_results(sr, "pipeline.py").ok  # doctest: +SKIP
    3
    """
    records = results.records
    first = records[0] if records else None
    labels = {r.label for r in records if r.label}
    started = min((r.started for r in records), default=None)
    ok, failed, reused = _counts(results, None)
    return SweepSummary(
        anchor="sweep", title="The sweep" + (f": {labels.pop()}" if len(labels) == 1 else ""),
        number=None, sweep_id=None, label=None,
        status="interrupted" if any(r.status == "cancelled" for r in records) else "finished",
        started_utc=None if started is None else
        dt.datetime.fromtimestamp(started, dt.timezone.utc).isoformat(timespec="seconds"),
        duration_s=_span(results, None), planned=len(records), ok=ok, failed=failed,
        reused=reused,
        script=script or (first.script if first else ""),
        script_sha256=first.script_sha256 if first else "",
        host=", ".join(sorted({r.host for r in records if r.host})),
        python=", ".join(sorted({r.python for r in records if r.python})),
    )
