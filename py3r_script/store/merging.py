"""Merging studies run apart: copying one study's missing sweeps and iterations into another.

Sweeps and iterations keep their ids and get sequence numbers after the target's; side
files are copied beside the target first and their paths rewritten to its folder, so no
row ever points at a missing file.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from ..errors import StoreError, StudyPathError
from . import schema, studyfile
from .sidefiles import moved

__all__ = ["check_source", "copy_missing", "merge_from"]


def check_source(source: str | os.PathLike[str], target: Path) -> Path:
    """The study to merge into ``target``, after refusing ``target`` itself and what is
    not a study.

    >>> check_source("laptop.db", Path("all.db"))  # doctest: +SKIP
    PosixPath('laptop.db')
    """
    source = Path(source)
    if source.resolve() == target.resolve():
        raise StoreError(f"cannot merge {source} into itself")
    if not source.is_file() or source.stat().st_size == 0 \
            or not studyfile.check_study_file(source):
        raise StudyPathError(f"no study at {str(source)!r} to merge (missing or empty)")
    return source


def merge_from(con: sqlite3.Connection, target: Path, source: Path) -> int:
    """Copy into the study ``target`` (open on ``con``) every sweep and iteration of the
    study ``source`` it lacks, side files first; returns the number of iterations added.

    >>> merge_from(con, Path("all.db"), check_source("laptop.db", Path("all.db")))
    ... # doctest: +SKIP
    12
    """
    con.execute("ATTACH DATABASE ? AS src", (str(source),))
    try:
        version = con.execute("PRAGMA src.user_version").fetchone()[0]
        if version != schema.SCHEMA_VERSION:
            raise StoreError(
                f"{source} has study schema {version}, this study "
                f"{schema.SCHEMA_VERSION}: open both with the same py3r-script version "
                "(opening migrates older ones)")
        files = con.execute(
            "SELECT o.file FROM src.outputs o WHERE o.file IS NOT NULL AND o.iteration_id "
            "NOT IN (SELECT iteration_id FROM main.iterations)").fetchall()
        for (file,) in files:  # files first, rows after: no row points at a missing file
            copied = target.parent / moved(file, target)
            copied.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source.parent / file, copied)
        with studyfile.transaction(con):
            added = copy_missing(con, target)
            schema.rebuild_view(con)
    finally:
        con.execute("DETACH DATABASE src")
    return added


def copy_missing(con: sqlite3.Connection, target: Path) -> int:
    """Insert the attached ``src`` study's missing rows into ``main`` (the study at
    ``target``), inside the caller's transaction; returns the number of iterations added.

    >>> copy_missing(con, Path("all.db"))  # doctest: +SKIP
    12
    """
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
        con.execute("INSERT OR IGNORE INTO main.environment_packages SELECT "
                    f"{select('environment_packages', {})} FROM src.environment_packages s")
        return con.execute("SELECT COUNT(*) FROM temp.merging").fetchone()[0]
    finally:
        con.execute("DROP TABLE temp.merging")
