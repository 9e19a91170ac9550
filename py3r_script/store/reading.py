"""Reading a study: iterations' records with their outputs, and sweeps by id or number.

An output that can no longer be loaded (its side file deleted or cut short, or named
outside the study's side folder) leaves its record listed without it
(``record.outputs.unavailable`` says why), with one warning.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable
from operator import index
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StoreError, warn
from ..records import IterationRecord
from . import sidefiles, sidepaths, studyrows

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["find_sweep", "plan_ids", "read_records", "sweeps_table"]


def read_records(con: sqlite3.Connection, path: Path, ids: Iterable[str] | None = None,
                 outputs: Collection[str] | None = None) -> list[IterationRecord]:
    """The records of the study at ``path``: all in run order, or those of ``ids`` in
    that order (ids not in the study left out); ``outputs`` loads only those outputs.

    >>> read_records(con, Path("study.db"), ids=["3f2a9c..."])  # doctest: +SKIP
    [IterationRecord(#0 {'x': 1}, status='ok', outputs=[y], duration=0.412s)]
    """
    if ids is None:
        return _select(con, path, "1", (), outputs)
    wanted = list(ids)
    by_id = {r.iteration_id: r for r in _select(
        con, path, "i.iteration_id IN (SELECT value FROM json_each(?))", (json.dumps(wanted),),
        outputs)}
    return [by_id[i] for i in wanted if i in by_id]


def _select(con: sqlite3.Connection, path: Path, where: str, args: tuple[Any, ...],
            outputs: Collection[str] | None) -> list[IterationRecord]:
    rows = con.execute(
        f"SELECT i.*, s.sweep_seq FROM iterations i LEFT JOIN sweeps s USING (sweep_id) "
        f"WHERE {where} ORDER BY i.iteration_seq", args
    ).fetchall()
    only = "" if outputs is None else " AND o.name IN (SELECT value FROM json_each(?))"
    values: dict[str, dict[str, Any]] = {}
    unavailable: dict[str, dict[str, str]] = {}
    for iteration_id, name, blob, file, size in con.execute(
        f"SELECT o.iteration_id, o.name, o.blob, o.file, o.size FROM outputs o "
        f"JOIN iterations i USING (iteration_id) WHERE {where}{only} "
        "ORDER BY i.iteration_seq, o.position",
        args if outputs is None else (*args, json.dumps(list(outputs))),
    ):
        try:
            if file is not None:
                sidepaths.locate(path, file)  # never one outside the study's side folder
            value = sidefiles.load(blob, file, size, path.parent)
            values.setdefault(iteration_id, {})[name] = value
        except sidefiles.Unloadable as problem:
            unavailable.setdefault(iteration_id, {})[name] = str(problem)
    records = [studyrows.record_from_row(row, values.get(row["iteration_id"], {}),
                                         unavailable.get(row["iteration_id"])) for row in rows]
    if unavailable:
        _warn_unavailable(records, path)
    return records


def _warn_unavailable(records: Iterable[IterationRecord], path: Path) -> None:
    broken = [(r.iteration_id, name, why) for r in records
              for name, why in r.outputs.unavailable.items()]
    ids = list(dict.fromkeys(i for i, _, _ in broken))
    shown = "; ".join(f"output {name!r} of iteration {i}: {why}"
                      for i, name, why in broken[:3])
    more = f"; and {len(broken) - 3} more" if len(broken) > 3 else ""
    warn(f"{len(broken)} output(s) of {len(ids)} iteration(s) in {path} could not be "
         f"loaded and are left out of their records: {shown}{more}. A sweep with this "
         "store runs those iterations again; Study.delete(ids) removes them.")


def plan_ids(con: sqlite3.Connection, sweep_id: str) -> list[str]:
    """The iteration ids of a sweep's plan, in plan order (reused ones included).

    >>> plan_ids(con, "9b1e...")  # doctest: +SKIP
    ['3f2a9c...', '0d41e7...']
    """
    return [row[0] for row in con.execute(
        "SELECT iteration_id FROM sweep_items WHERE sweep_id = ? ORDER BY plan_index",
        (sweep_id,))]


def find_sweep(con: sqlite3.Connection, path: Path, sweep: str | int) -> str:
    """The id of a sweep given by id, id prefix or sequence number (negative: from the end).

    >>> find_sweep(con, Path("study.db"), -1)  # doctest: +SKIP
    '9b1e...'
    """
    if not isinstance(sweep, str):
        try:
            if isinstance(sweep, bool):
                raise TypeError
            number = index(sweep)
        except TypeError:
            raise TypeError(
                f"sweep= takes a sweep id (a str, or a unique prefix of one) or its number "
                f"in the study (an int; -1 for the latest), not {type(sweep).__name__} "
                f"{sweep!r}") from None
        rows = con.execute("SELECT sweep_id FROM sweeps ORDER BY sweep_seq").fetchall()
        try:
            return rows[number][0]
        except IndexError:
            raise StoreError(f"no sweep number {number}: the study has {len(rows)}") from None
    rows = con.execute(
        "SELECT sweep_id FROM sweeps WHERE substr(sweep_id, 1, ?) = ?", (len(sweep), sweep)
    ).fetchall() if sweep else []
    if len(rows) != 1:
        problem = "no sweep" if not rows else f"{len(rows)} sweeps"
        raise StoreError(f"{problem} with id {sweep!r} in {path}; see Study.sweeps()")
    return rows[0][0]


def sweeps_table(con: sqlite3.Connection, interrupted: Collection[str] = ()) -> pd.DataFrame:
    """One row per sweep (its ``sweeps`` columns), with ``n_done`` iterations stored for it
    and ``n_failed`` of those failed; the sweeps ``interrupted`` (ids) shown so, whatever
    the study says.

    >>> sweeps_table(con)[["sweep_seq", "status", "n_done"]]  # doctest: +SKIP
    """
    import pandas as pd

    table = pd.read_sql(
        "SELECT s.*, (SELECT COUNT(*) FROM sweep_items t WHERE t.sweep_id = s.sweep_id) "
        "AS n_done, (SELECT COUNT(*) FROM sweep_items t JOIN iterations i USING "
        "(iteration_id) WHERE t.sweep_id = s.sweep_id AND i.status != 'ok') AS n_failed "
        "FROM sweeps s ORDER BY sweep_seq", con,
    )
    table.loc[table["sweep_id"].isin(list(interrupted)), "status"] = "interrupted"
    return table
