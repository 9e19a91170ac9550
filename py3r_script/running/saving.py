"""Saving a sweep's records to its study as they arrive, retrying a write that may pass.

A record is committed the moment it arrives, so an interrupted sweep keeps every finished
iteration. Only a failure that can pass on a second attempt (a locked or busy database, a
transient I/O error) is retried; any other, or one that keeps failing, stops the sweep:
:class:`Saver` raises :class:`StoreFailed` once, and :meth:`Saver.explain` words the error
the user sees, with the attempts really made and the time they took.

Ctrl-C (or SIGTERM, SIGHUP) arriving while a record is being written waits for that write
to end, so the record is in the study whole before the sweep stops; a second one stops at
once (the write is rolled back: the record is still in the error's ``.results``).
"""

from __future__ import annotations

import errno
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..records import IterationRecord

if TYPE_CHECKING:
    from ..results import ScriptResults
    from ..store.study import Study

__all__ = ["Saver", "StoreFailed", "transient"]

STORE_RETRY_DELAYS = (1.0, 2.0, 4.0)
"""Seconds between the attempts to save a record (a busy database, a failing disk)."""

# SQLite's primary result codes that a later attempt may not meet: SQLITE_BUSY,
# SQLITE_LOCKED, SQLITE_IOERR (and its extended codes), SQLITE_PROTOCOL (a lock race)
_TRANSIENT_SQLITE_CODES = frozenset({5, 6, 10, 15})
_TRANSIENT_SQLITE_WORDS = ("locked", "busy", "disk i/o error", "locking protocol")
_TRANSIENT_ERRNOS = frozenset(getattr(errno, name) for name in (
    "EIO", "EAGAIN", "EINTR", "EBUSY", "ETIMEDOUT", "ENOLCK") if hasattr(errno, name))


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
        self.failure: _Failure | None = None
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
            with _signals_deferred():
                return _retried(action)
        except _GaveUp as gave_up:
            self.failure = _Failure(what, gave_up.cause, gave_up.attempts, gave_up.seconds,
                                    transient(gave_up.cause))
            self.unsaved += record
            raise StoreFailed(what) from gave_up.cause

    def explain(self, results: ScriptResults) -> str:
        """The message of the error that stopped the sweep, with what to do about it."""
        assert self.failure is not None and self.study is not None
        failure = self.failure
        exc = failure.exc
        cause = f"{type(exc).__name__}: {exc}"
        if "locked" in str(exc):
            advice = ("Another process kept the study locked (a long write, or a program "
                      "holding it open in a transaction): let it finish, then run the same "
                      "sweep again; the saved iterations are reused.")
        elif "full" in str(exc) or getattr(exc, "errno", None) == errno.ENOSPC:
            advice = ("The disk is full: free some space, then run the same sweep again; "
                      "the saved iterations are reused.")
        else:
            advice = ("Fix the cause, then run the same sweep again; the saved iterations are "
                      "reused.")
        if failure.retryable:
            times = "once" if failure.attempts == 1 else f"{failure.attempts} times"
            tried = f"tried {times} over {failure.seconds:.1f} s"
        else:
            tried = "not retried: another attempt could not pass"
        return (
            f"could not save {failure.what} to the study {self.study.path}: {cause} "
            f"({tried}). The sweep was stopped and its running iterations killed; the "
            f"{len(results.records)} iteration(s) that finished are in this error's .results, "
            f"{self.unsaved} of them not saved in the study. {advice}"
        )


@dataclass(frozen=True)
class _Failure:
    """What could not be saved, why, after how many attempts over how many seconds, and
    whether the failure was one that could pass on another attempt."""

    what: str
    exc: Exception
    attempts: int
    seconds: float
    retryable: bool


class _GaveUp(Exception):
    """The last attempt failed: ``cause`` after ``attempts`` over ``seconds``."""

    def __init__(self, cause: Exception, attempts: int, seconds: float) -> None:
        super().__init__(cause)
        self.cause, self.attempts, self.seconds = cause, attempts, seconds


_DEFERRED_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                          if hasattr(signal, name))


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP until the block ends, then deliver them to the
    handlers they had; a second one while held is delivered at once (the user insists).
    Off the main thread (where signals are not handled) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous: dict[int, Any] = {}

    def hold(number: int, _frame: Any) -> None:
        if held:  # the second: deliver it now, not the first again
            held.clear()
            _restore(previous)
            signal.raise_signal(number)
        else:
            held.append(number)

    try:
        for number in _DEFERRED_SIGNALS:
            previous[number] = signal.signal(number, hold)
        yield
    finally:
        _restore(previous)
        for number in held:
            signal.raise_signal(number)


def _restore(previous: dict[int, Any]) -> None:
    for number, handler in previous.items():
        signal.signal(number, handler if handler is not None else signal.SIG_DFL)
    previous.clear()


def _retried(action: Callable[[], object]) -> object:
    """``action()``, tried again after a pause while its failure may pass (see
    :func:`transient`); :class:`_GaveUp` says how it finally failed."""
    start = time.monotonic()
    delays = (*STORE_RETRY_DELAYS, None)
    for attempt, delay in enumerate(delays, 1):
        try:
            return action()
        except Exception as exc:
            if delay is None or not transient(exc):
                raise _GaveUp(exc, attempt, time.monotonic() - start) from exc
            time.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or gives up")


def transient(exc: BaseException) -> bool:
    """Whether a failed store write may pass if tried again: a locked or busy database, or
    an I/O error that can be passing (also when the store wrapped it in its own error).

    Examples
    --------
    >>> transient(sqlite3.OperationalError("database is locked"))
    True
    >>> transient(OverflowError("Python int too large to convert to SQLite INTEGER"))
    False
    """
    seen: BaseException | None = exc
    for _ in range(5):  # the error, and what it was raised from
        if seen is None:
            return False
        if isinstance(seen, sqlite3.Error):
            code = getattr(seen, "sqlite_errorcode", None)  # Python 3.11+
            if code is not None:
                return code & 0xFF in _TRANSIENT_SQLITE_CODES
            return isinstance(seen, sqlite3.OperationalError) and any(
                word in str(seen).lower() for word in _TRANSIENT_SQLITE_WORDS)
        if isinstance(seen, OSError):
            return seen.errno in _TRANSIENT_ERRNOS
        seen = seen.__cause__ or seen.__context__
    return False
