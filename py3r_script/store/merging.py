"""Merging studies run apart: the SQL that copies one study's missing rows into another.

Sweeps and iterations keep their ids and get sequence numbers after the target's; side-file
paths are rewritten to the target's folder (the files themselves are copied by
``Study.merge`` before the rows, so no row points at a missing file).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .sidefiles import moved

__all__ = ["copy_missing"]


def copy_missing(con: sqlite3.Connection, target: Path) -> int:
    """Insert the attached ``src`` study's missing rows into ``main``; returns iterations."""
    def columns(table: str) -> list[str]:
        return [row[1] for row in con.execute(f"PRAGMA main.table_info({table})")]

    def select(table: str, renumber: dict[str, str]) -> str:
        return ", ".join(renumber.get(c, f"s.{c}") for c in columns(table))

    def after(table: str, column: str) -> str:  # this study's next sequence numbers
        return (f"(SELECT COALESCE(MAX({column}), -1) FROM main.{table}) "
                f"+ ROW_NUMBER() OVER (ORDER BY s.{column})")

    con.execute(
        "INSERT INTO main.sweeps SELECT "
        f"{select('sweeps', {'sweep_seq': after('sweeps', 'sweep_seq')})} "
        "FROM src.sweeps s WHERE s.sweep_id NOT IN (SELECT sweep_id FROM main.sweeps)")
    new = "s.iteration_id NOT IN (SELECT iteration_id FROM main.iterations)"
    con.execute("CREATE TEMP TABLE merging AS SELECT s.iteration_id FROM src.iterations s "
                f"WHERE {new}")
    try:
        con.execute(
            "INSERT INTO main.iterations SELECT "
            f"{select('iterations', {'iteration_seq': after('iterations', 'iteration_seq')})} "
            f"FROM src.iterations s WHERE {new}")
        for table in ("params", "outputs"):
            con.execute(f"INSERT INTO main.{table} SELECT {select(table, {})} FROM src.{table} s "
                        "WHERE s.iteration_id IN (SELECT iteration_id FROM temp.merging)")
        for (file,) in con.execute(
                "SELECT DISTINCT file FROM main.outputs WHERE file IS NOT NULL AND iteration_id "
                "IN (SELECT iteration_id FROM temp.merging)").fetchall():
            con.execute("UPDATE main.outputs SET file = ? WHERE file = ? AND iteration_id IN "
                        "(SELECT iteration_id FROM temp.merging)",
                        (moved(file, target), file))
        con.execute(f"INSERT OR IGNORE INTO main.sweep_items SELECT {select('sweep_items', {})} "
                    "FROM src.sweep_items s")
        return con.execute("SELECT COUNT(*) FROM temp.merging").fetchone()[0]
    finally:
        con.execute("DROP TABLE temp.merging")
