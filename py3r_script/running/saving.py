"""Saving a sweep's records to its study as they arrive, retrying a write that fails.

A record is committed the moment it arrives, so an interrupted sweep keeps every finished
iteration. A write that still fails after the retries stops the sweep: :class:`Saver`
raises :class:`StoreFailed` once, and :meth:`Saver.explain` words the error the user sees.
"""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING, Callable

from ..records import IterationRecord

if TYPE_CHECKING:
    from ..results import ScriptResults
    from ..store.study import Study

__all__ = ["Saver", "StoreFailed"]

STORE_RETRY_DELAYS = (1.0, 2.0, 4.0)
"""Seconds between the attempts to save a record (a busy database, a failing disk)."""


class StoreFailed(Exception):
    """A record could not be saved: the sweep must stop (internal to the scheduler)."""


class Saver:
    """Saves records to the study as they arrive, retrying a write that fails.

    When a write still fails, it raises :class:`StoreFailed` once (the sweep stops), and
    from then on only counts the records it could not save.

    Examples
    --------
    >>> saver = Saver(study, sweep_id)  # doctest: +SKIP
    >>> stored = saver.add(record, index=3)  # with its sequence numbers  # doctest: +SKIP
    >>> saver.finish("finished")  # doctest: +SKIP
    """

    def __init__(self, study: Study | None, sweep_id: str | None) -> None:
        self.study = study if sweep_id is not None else None
        self.sweep_id = sweep_id or ""
        self.failure: tuple[str, Exception] | None = None
        self.unsaved = 0

    def add(self, record: IterationRecord, index: int) -> IterationRecord:
        """Save ``record``; return it as stored (with its sequence numbers in the study)."""
        if self.study is None:
            return record
        study = self.study
        stored = self._save(f"iteration #{index}", lambda: study.add(
            record, sweep_id=self.sweep_id, plan_index=index), record=True)
        return stored if isinstance(stored, IterationRecord) else record

    def add_reused(self, record: IterationRecord, index: int) -> None:
        """Record that the sweep reuses ``record``, already in the study, at ``index``."""
        if self.study is not None:
            study = self.study
            self._save(f"the reuse of iteration #{index}", lambda: study.add_reused(
                record.iteration_id, sweep_id=self.sweep_id, plan_index=index))

    def finish(self, status: str, *, quietly: bool = False) -> None:
        """Mark the sweep ``status``; ``quietly``: a failure is already being reported."""
        if self.study is None or (quietly and self.failure is not None):
            return
        study = self.study
        try:
            self._save(f"the sweep's end ({status})",
                       lambda: study.finish_sweep(self.sweep_id, status))
        except StoreFailed:
            if not quietly:
                raise

    def _save(self, what: str, action: Callable[[], object], *, record: bool = False) -> object:
        if self.failure is not None:
            self.unsaved += record
            return None
        try:
            return _retried(action)
        except Exception as exc:
            self.failure = (what, exc)
            self.unsaved += record
            raise StoreFailed(what) from exc

    def explain(self, results: ScriptResults) -> str:
        """The message of the error that stopped the sweep, with what to do about it."""
        assert self.failure is not None and self.study is not None
        what, exc = self.failure
        cause = f"{type(exc).__name__}: {exc}"
        if "locked" in str(exc):
            advice = ("Another process kept the study locked (a long write, or a program "
                      "holding it open in a transaction): let it finish, then run the same "
                      "sweep again; the saved iterations are reused.")
        elif "full" in str(exc) or getattr(exc, "errno", None) == 28:
            advice = ("The disk is full: free some space, then run the same sweep again; "
                      "the saved iterations are reused.")
        else:
            advice = ("Fix the cause, then run the same sweep again; the saved iterations are "
                      "reused.")
        return (
            f"could not save {what} to the study {self.study.path}: {cause} (tried "
            f"{len(STORE_RETRY_DELAYS) + 1} times over {sum(STORE_RETRY_DELAYS):g} s). The "
            f"sweep was stopped and its running iterations killed; the "
            f"{len(results.records)} iteration(s) that finished are in this error's .results, "
            f"{self.unsaved} of them not saved in the study. {advice}"
        )


def _retried(action: Callable[[], object]) -> object:
    """``action()``, tried again after a pause while the database is busy or the disk fails."""
    for delay in STORE_RETRY_DELAYS:
        try:
            return action()
        except (sqlite3.OperationalError, OSError):
            time.sleep(delay)
    return action()  # the last attempt: its failure is the sweep's
