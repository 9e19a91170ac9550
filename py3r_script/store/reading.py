"""Reading a study: iterations' records with their outputs, and sweeps by id or number.

Outputs are read by ``loading``, which never unpickles one unless it is trusted. An output
that can no longer be loaded (its side file deleted or cut short, or named outside the
study's side folder) leaves its record listed without it (``record.outputs.unavailable``
says why), with one warning; so does a pickle nothing says is safe
(``record.outputs.untrusted``), with another.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable
from operator import index
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StoreError, warn
from ..gcpause import gc_paused
from ..records import IterationRecord
from . import studyrows
from .loading import OUTPUT_COLUMNS, read_outputs

if TYPE_CHECKING:
    import os

    import pandas as pd

    from ..results import ScriptResults
    from .studyrows import SweepInfo

__all__ = ["environment", "find_sweep", "plan_ids", "read_records", "results_of",
           "sweeps_table"]


def read_records(con: sqlite3.Connection, path: Path, ids: Iterable[str] | None = None,
                 outputs: Collection[str] | None = None, *, trusted: bool = False
                 ) -> list[IterationRecord]:
    """The records of the study at ``path``: all in run order, or those of ``ids`` in
    that order (ids not in the study left out); ``outputs`` loads only those outputs;
    ``trusted``: unpickle any pickle when it is read, signed or not.

    >>> read_records(con, Path("study.db"), ids=["3f2a9c..."])  # doctest: +SKIP
    [IterationRecord(#0 {'x': 1}, status='ok', outputs=[y], duration=0.412s)]
    """
    if ids is None:
        return _select(con, path, "1", (), outputs, trusted)
    wanted = list(ids)
    by_id = {r.iteration_id: r for r in _select(
        con, path, "i.iteration_id IN (SELECT value FROM json_each(?))", (json.dumps(wanted),),
        outputs, trusted)}
    return [by_id[i] for i in wanted if i in by_id]


def _select(con: sqlite3.Connection, path: Path, where: str, args: tuple[Any, ...],
            outputs: Collection[str] | None, trusted: bool) -> list[IterationRecord]:
    columns = ", ".join(f"{'s' if c == 'sweep_seq' else 'i'}.{c}"
                        for c in studyrows.RECORD_COLUMNS)
    only = "" if outputs is None else " AND o.name IN (SELECT value FROM json_each(?))"
    # the iterations first: a record committed since has its outputs all the same
    rows = _plain_rows(
        con, f"SELECT {columns} FROM iterations i LEFT JOIN sweeps s USING (sweep_id) "
        f"WHERE {where} ORDER BY i.iteration_seq", args)
    with gc_paused():  # many objects that all live on: see gcpause
        found = read_outputs(_plain_rows(
            con, f"SELECT {', '.join(f'o.{c}' for c in OUTPUT_COLUMNS)} FROM outputs o "
            f"JOIN iterations i USING (iteration_id) WHERE {where}{only} "
            "ORDER BY i.iteration_seq, o.position",
            args if outputs is None else (*args, json.dumps(list(outputs))),
        ), path.parent, path, trusted=trusted)
        records = studyrows.records_from_rows(rows, found.of)
    if found.unavailable:
        _warn_unavailable(records, path)
    if found.untrusted:
        _warn_untrusted(records, path)
    return records


def _plain_rows(con: sqlite3.Connection, query: str, args: tuple[Any, ...]
                ) -> sqlite3.Cursor:
    """``query``'s rows as plain tuples (quicker to unpack by the thousand than
    ``sqlite3.Row``s)."""
    cursor = con.cursor()
    cursor.row_factory = None
    return cursor.execute(query, args)


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


def _warn_untrusted(records: Iterable[IterationRecord], path: Path) -> None:
    locked = [(r.iteration_id, name) for r in records for name in r.outputs.untrusted]
    names = ", ".join(repr(n) for n in dict.fromkeys(name for _, name in locked))
    warn(f"{len(locked)} pickled output(s) ({names}) in {path} were not read: they are not "
         "signed with your py3r-script key (an older py3r-script or another user wrote "
         "them, or they changed since), and unpickling can run any code. Reading one raises "
         f"UntrustedOutputError; if you trust whoever wrote the study: "
         f"load({str(path)!r}, trusted=True). Scalar outputs are all there.")


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


def environment(con: sqlite3.Connection, sweep_id: str) -> dict[str, str]:
    """The packages recorded for a sweep: name -> version, sorted by name (empty: unknown).

    >>> environment(con, "9b1e...")  # doctest: +SKIP
    {'numpy': '2.4.6', 'pandas': '3.1.1'}
    """
    rows = con.execute(
        "SELECT p.name, p.version FROM environment_packages p JOIN sweeps s ON "
        "p.environment = s.environment WHERE s.sweep_id = ?", (sweep_id,)).fetchall()
    return dict(sorted(((name, version) for name, version in rows),
                       key=lambda item: item[0].lower()))


def results_of(path: str | os.PathLike[str], sweeps: list[SweepInfo],
               records: list[IterationRecord]) -> ScriptResults:
    """The ``ScriptResults`` of the study at ``path`` that hold ``records``, run by
    ``sweeps``: their parameters, outputs, nominal values, script and design.

    >>> results_of("study.db", sweeps, records)  # doctest: +SKIP
    """
    from ..results import ScriptResults

    param_names = dict.fromkeys(name for s in sweeps for name in s.param_names)
    output_names = dict.fromkeys(name for s in sweeps for name in s.output_names)
    scripts = sorted({s.script for s in sweeps})
    designs = {s.design for s in sweeps}
    with gc_paused():  # an index entry per record: see gcpause
        return ScriptResults(
            list(param_names), list(output_names), records,
            nominal=sweeps[-1].nominal if sweeps else {},
            script=scripts[0] if len(scripts) == 1 else str(path),
            design=designs.pop() if len(designs) == 1 else None,
        )
