"""Writing a sweep into a study: its row and installed packages, each finished
iteration's rows and outputs, the iterations it reused, and how it ended. Each function
runs inside the caller's transaction (``dump_outputs`` before it: large outputs stream to
side files first)."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from ..records import FrozenOutputs, IterationRecord
from . import formats, sidefiles, signing, sqlvalues, studyrows
from .studyrows import SweepInfo

__all__ = ["UNSTORABLE", "dump_outputs", "finish_sweep", "insert_environment",
           "insert_iteration", "insert_reused", "insert_sweep", "mark_interrupted",
           "store_iteration", "unstorable_record"]

_T = TypeVar("_T")

UNSTORABLE = (UnicodeError, OverflowError, ValueError, TypeError, sqlite3.InterfaceError,
              sqlite3.DataError)
"""What writing an iteration raises when one of its values cannot be stored: the iteration
is then stored as an error (:func:`unstorable_record`), not retried."""


def insert_sweep(con: sqlite3.Connection, sweep: SweepInfo, git_commit: str | None,
                 git_dirty: bool | None, environment: str | None = None) -> int:
    """Add the row of a sweep starting now (``environment``: its packages' digest, see
    :func:`insert_environment`); returns its sequence number in the study.

    >>> insert_sweep(con, info, None, None)  # doctest: +SKIP
    0
    """
    seq = con.execute("SELECT COALESCE(MAX(sweep_seq), -1) + 1 FROM sweeps").fetchone()[0]
    con.execute(studyrows.insert("sweeps", studyrows.SWEEP_COLUMNS),
                studyrows.sweep_row(sweep, seq, git_commit, git_dirty, environment))
    return seq


def insert_environment(con: sqlite3.Connection, packages: Mapping[str, str]) -> str | None:
    """Store a set of installed packages once; returns its digest (what ``sweeps.environment``
    holds), or ``None`` when none are known.

    >>> insert_environment(con, {"numpy": "2.4.6", "pandas": "3.1.1"})  # doctest: +SKIP
    '5d1c...'
    """
    if not packages:
        return None
    listed = sorted(packages.items())
    digest = hashlib.sha256(json.dumps(listed).encode()).hexdigest()
    con.executemany("INSERT OR IGNORE INTO environment_packages VALUES (?, ?, ?)",
                    [(digest, name, version) for name, version in listed])
    return digest


def mark_interrupted(con: sqlite3.Connection, sweep_ids: Iterable[str]) -> None:
    """Mark the sweeps ``sweep_ids`` that are still ``running`` as ``interrupted``.

    >>> mark_interrupted(con, ["9b1e..."])  # doctest: +SKIP
    """
    con.executemany(
        "UPDATE sweeps SET status = 'interrupted' WHERE sweep_id = ? AND status = 'running'",
        [(sweep_id,) for sweep_id in sweep_ids])


def finish_sweep(con: sqlite3.Connection, sweep_id: str, status: str) -> None:
    """Give a sweep its final ``status`` (``finished``, ``interrupted``) and end time.

    >>> finish_sweep(con, "9b1e...", "finished")  # doctest: +SKIP
    """
    con.execute("UPDATE sweeps SET status = ?, finished_utc = ? WHERE sweep_id = ?",
                (status, _dt.datetime.now(_dt.timezone.utc).isoformat(), sweep_id))


def dump_outputs(record: IterationRecord, outputs_dir: Path, base: Path
                 ) -> tuple[list[tuple[Any, ...]], dict[str, str]]:
    """The ``outputs`` rows of a finished iteration, in capture order, each stored by kind
    (see ``formats``): small ones inline, large ones streamed to side files under
    ``outputs_dir`` (paths relative to ``base``, the study's folder); and the outputs that
    could not be stored (name -> why). Pickles are signed with this user's key.

    >>> dump_outputs(record, Path("study.db-outputs"), Path("."))  # doctest: +SKIP
    ([('3f2a9c...', 'y', 0, 'int', 10, None, None, 0, 'value', None)], {})
    """
    signer = signing.signer(create=True) if any(
        sqlvalues.native(value) is None for value in record.outputs.values()) else None
    rows = []
    refused: dict[str, str] = {}
    for position, (name, value) in enumerate(record.outputs.items()):
        target = sidefiles.side_file(outputs_dir, record.iteration_id, name, "")
        try:
            stored = formats.store(value, target, base, signer)
        except Exception as exc:  # a value its own type cannot pickle again, say
            refused[name] = f"{type(exc).__name__}: {exc}"
            continue
        rows.append(studyrows.output_row(record.iteration_id, name, position, stored))
    return rows, refused


def store_iteration(record: IterationRecord, outputs_dir: Path, base: Path,
                    insert: Callable[[IterationRecord, list[tuple[Any, ...]]], _T]
                    ) -> tuple[IterationRecord, _T]:
    """Store a finished iteration: its outputs (:func:`dump_outputs`), then its rows by
    ``insert(record, output_rows)`` (one transaction). What cannot be stored makes it an
    error record, stored with the rest; returns the record as stored and what ``insert``
    returned.

    >>> store_iteration(record, Path("study.db-outputs"), Path("."), insert)
    ... # doctest: +SKIP
    """
    outputs, refused = dump_outputs(record, outputs_dir, base)
    if refused:
        kept = {n: v for n, v in record.outputs.items() if n not in refused}
        record = unstorable_record(record, refused, kept)
    try:
        return record, insert(record, outputs)
    except UNSTORABLE as exc:  # a value SQLite refused: keep the iteration as an error
        for row in outputs:
            if row[6] is not None:  # its side file
                (base / row[6]).unlink(missing_ok=True)
        record = unstorable_record(record, {"": f"{type(exc).__name__}: {exc}"}, {})
        return record, insert(record, [])


def unstorable_record(record: IterationRecord, refused: Mapping[str, str],
                      kept: Mapping[str, Any]) -> IterationRecord:
    """``record`` as the error it becomes when some of it cannot be stored: ``refused``
    names what (an output, or ``""`` for the iteration's own values) and why; ``kept``
    holds the outputs still stored with it.

    >>> unstorable_record(record, {"model": "PicklingError: ..."}, {}).status
    ... # doctest: +SKIP
    'error'
    """
    problems = "; ".join(f"output {name!r}: {why}" if name else why
                         for name, why in refused.items())
    before = f"\n(before that: {record.error})" if record.error else ""
    return replace(
        record, status="error", outputs=FrozenOutputs(kept),
        error_type="StoreError",
        error=f"the iteration ran, but the study could not store all of it, so it is kept as "
              f"an error: {problems}. Its other values are stored; change what the script "
              f"outputs (say, to a plain value or a DataFrame) to store it.{before}")


def insert_iteration(con: sqlite3.Connection, record: IterationRecord,
                     outputs: list[tuple[Any, ...]], *, sweep_id: str, plan_index: int,
                     interpreter_key: str | None = None) -> tuple[int, int | None]:
    """Add a finished iteration: its row, parameters, ``outputs`` rows and place in the
    plan of sweep ``sweep_id``. Returns its sequence number in the study and that of the
    sweep that ran it (``None`` when that sweep is not in the study).

    >>> insert_iteration(con, record, dump_outputs(record, folder, base)[0],
    ...                  sweep_id=record.sweep_id, plan_index=0)  # doctest: +SKIP
    (0, 0)
    """
    seq = con.execute("SELECT COALESCE(MAX(iteration_seq), -1) + 1 FROM iterations"
                      ).fetchone()[0]
    con.execute(studyrows.insert("iterations", studyrows.ITERATION_COLUMNS),
                studyrows.iteration_row(record, seq, plan_index, interpreter_key))
    con.executemany("INSERT INTO params VALUES (?,?,?,?)", studyrows.param_rows(record))
    con.executemany("INSERT INTO outputs VALUES (?,?,?,?,?,?,?,?,?,?)", outputs)
    con.execute("INSERT INTO sweep_items VALUES (?,?,?,0)",
                (sweep_id, plan_index, record.iteration_id))
    sweep_seq = con.execute("SELECT sweep_seq FROM sweeps WHERE sweep_id = ?",
                            (record.sweep_id,)).fetchone()
    return seq, None if sweep_seq is None else sweep_seq[0]


def insert_reused(con: sqlite3.Connection, iteration_id: str, *, sweep_id: str,
                  plan_index: int) -> None:
    """Put an already stored iteration in the plan of sweep ``sweep_id``, as reused.

    >>> insert_reused(con, "3f2a9c...", sweep_id="9b1e...", plan_index=4)  # doctest: +SKIP
    """
    con.execute("INSERT INTO sweep_items VALUES (?,?,?,1)", (sweep_id, plan_index, iteration_id))
