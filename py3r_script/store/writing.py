"""Writing a sweep into a study: its row, each finished iteration's rows and outputs, the
iterations it reused, and how it ended. Each function runs inside the caller's transaction
(``dump_outputs`` before it: large outputs stream to side files first)."""

from __future__ import annotations

import datetime as _dt
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..records import IterationRecord
from . import sidefiles, studyrows
from .studyrows import SweepInfo

__all__ = ["dump_outputs", "finish_sweep", "insert_iteration", "insert_reused",
           "insert_sweep", "mark_interrupted"]


def insert_sweep(con: sqlite3.Connection, sweep: SweepInfo, git_commit: str | None,
                 git_dirty: bool | None) -> int:
    """Add the row of a sweep starting now; returns its sequence number in the study.

    >>> insert_sweep(con, info, None, None)  # doctest: +SKIP
    0
    """
    seq = con.execute("SELECT COALESCE(MAX(sweep_seq), -1) + 1 FROM sweeps").fetchone()[0]
    con.execute(studyrows.insert("sweeps", studyrows.SWEEP_COLUMNS),
                studyrows.sweep_row(sweep, seq, git_commit, git_dirty))
    return seq


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
                 ) -> list[tuple[Any, ...]]:
    """The ``outputs`` rows of a finished iteration, in capture order: small pickles
    inline, large ones streamed to side files under ``outputs_dir`` (paths relative to
    ``base``, the study's folder).

    >>> dump_outputs(record, Path("study.db-outputs"), Path("."))  # doctest: +SKIP
    [('3f2a9c...', 'y', 0, 'int', 10, b'...', None, 14)]
    """
    rows = []
    for position, (name, value) in enumerate(record.outputs.items()):
        path = sidefiles.side_file(outputs_dir, record.iteration_id, name)
        rows.append(studyrows.output_row(record.iteration_id, name, position, value,
                                         sidefiles.dump(value, path, base)))
    return rows


def insert_iteration(con: sqlite3.Connection, record: IterationRecord,
                     outputs: list[tuple[Any, ...]], *, sweep_id: str, plan_index: int
                     ) -> tuple[int, int | None]:
    """Add a finished iteration: its row, parameters, ``outputs`` rows and place in the
    plan of sweep ``sweep_id``. Returns its sequence number in the study and that of the
    sweep that ran it (``None`` when that sweep is not in the study).

    >>> insert_iteration(con, record, dump_outputs(record, folder, base),
    ...                  sweep_id=record.sweep_id, plan_index=0)  # doctest: +SKIP
    (0, 0)
    """
    seq = con.execute("SELECT COALESCE(MAX(iteration_seq), -1) + 1 FROM iterations"
                      ).fetchone()[0]
    con.execute(studyrows.insert("iterations", studyrows.ITERATION_COLUMNS),
                studyrows.iteration_row(record, seq, plan_index))
    con.executemany("INSERT INTO params VALUES (?,?,?,?)", studyrows.param_rows(record))
    con.executemany("INSERT INTO outputs VALUES (?,?,?,?,?,?,?,?)", outputs)
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
