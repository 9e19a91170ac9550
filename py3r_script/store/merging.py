"""Merging studies run apart: copying one study's missing sweeps and iterations into another.

Sweeps and iterations keep their ids and get sequence numbers after the target's; side
files are copied beside the target first and their paths rewritten to its folder. A
prepared sweep brings its plan (``pending_items``): ``work`` on the target runs what is
left of it. A source whose inbox holds records it has not ingested is refused (collect it
first). Every row
is kept: an output whose side file is missing, unreadable, or named outside the source's
side folder (never followed) is unavailable in the target too, with a warning naming it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import StoreError, StudyPathError, warn
from . import damage, inbox, schema, sidefiles, studyfile
from .sidepaths import OutsideSideFolder, locate, side_folder

__all__ = ["SideFileCopy", "check_source", "copy_missing", "copy_side_files", "merge_from",
           "side_file_copies"]


@dataclass(frozen=True)
class SideFileCopy:
    """One side file a merge brings into the target."""

    iteration_id: str
    name: str
    named: str
    """The path as the source names it."""
    origin: Path | None
    """The source's file to copy; ``None`` when its path is not followed."""
    file: str
    """Its path in the target, relative to the target's folder."""


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
        damage.check(con, source, "src")
        _refuse_uncollected(con, source)
        copies = side_file_copies(con, source, target)
        copy_side_files(copies, source, target)  # files first, rows after
        with studyfile.transaction(con):
            added = copy_missing(con, copies)
            schema.rebuild_view(con)
    finally:
        con.execute("DETACH DATABASE src")
    return added


def _refuse_uncollected(con: sqlite3.Connection, source: Path) -> None:
    """Refuse to merge the attached ``src`` study while its inbox holds records it has not
    ingested: the target would lack them (and plan them again). Files that no ``collect``
    can take in (damaged, or another user's) are named apart, with what to do about them."""
    folder = inbox.inbox_dir(source)
    waiting = inbox.records_waiting(folder)
    if waiting:
        waiting -= {row[0] for row in con.execute("SELECT iteration_id FROM src.iterations")}
    unreadable = inbox.unreadable(folder, waiting)
    if len(waiting) > len(unreadable):
        raise StoreError(
            f"{source} has {len(waiting) - len(unreadable)} finished iteration(s) in its "
            f"inbox ({folder}) that it has not ingested yet, so merging it now would leave "
            f"them out: run `py3r-script collect {source}` (or open it once), then merge "
            "again")
    if unreadable:
        path, why = next(iter(unreadable.items()))
        raise StoreError(
            f"{source}'s inbox holds {len(unreadable)} file(s) that cannot be read, so no "
            f"`collect` can take them in, and merging now would leave them out: {path}: "
            f"{why}. Once you know where they came from (a record signed with another "
            "user's key is theirs to collect), move them out of the inbox or delete them, "
            "then merge again")


def side_file_copies(con: sqlite3.Connection, source: Path, target: Path
                     ) -> list[SideFileCopy]:
    """The side files the attached ``src`` study (at ``source``) brings into the study at
    ``target`` (``main``): those of the iterations the target lacks.

    A path outside the source's side folder (or one that would land outside the target's)
    is not followed: nothing is copied for it, and the target names the file where it
    would be, so that the output is unavailable there.

    >>> side_file_copies(con, Path("laptop.db"), Path("all.db"))[0].file  # doctest: +SKIP
    'all.db-outputs/3f/3f2a9c...-5d1c.pkl'
    """
    copies = []
    for iteration_id, name, file in con.execute(
            "SELECT o.iteration_id, o.name, o.file FROM src.outputs o WHERE o.file IS NOT NULL "
            "AND o.iteration_id NOT IN (SELECT iteration_id FROM main.iterations) "
            "ORDER BY o.iteration_id, o.position").fetchall():
        try:
            origin: Path | None = locate(source, file)
            renamed = sidefiles.moved(file, target)
            locate(target, renamed)
        except OutsideSideFolder:
            origin = None
            where = sidefiles.side_file(side_folder(target), iteration_id, name)
            renamed = os.path.relpath(where, target.parent)
        copies.append(SideFileCopy(iteration_id, name, file, origin, renamed))
    return copies


def copy_side_files(copies: Iterable[SideFileCopy], source: Path, target: Path) -> None:
    """Copy side files into the target study's folder; warn, naming them, about those that
    cannot be (missing, unreadable, or named outside the source's side folder).

    >>> copy_side_files(side_file_copies(con, source, target), source, target)
    ... # doctest: +SKIP
    """
    problems = []
    for copy in copies:
        where = f"output {copy.name!r} of iteration {copy.iteration_id}"
        if copy.origin is None:
            problems.append(f"{where}: its side file path {copy.named!r} leads outside the "
                            "study's side folder, so it was not followed")
            continue
        try:
            handle = open(copy.origin, "rb")
        except OSError as exc:
            why = "is missing" if isinstance(exc, FileNotFoundError) else \
                f"cannot be read ({type(exc).__name__}: {exc})"
            problems.append(f"{where}: its side file {copy.origin} {why}")
            continue
        copied = target.parent / copy.file
        copied.parent.mkdir(parents=True, exist_ok=True)
        with handle, open(copied, "wb") as out:
            shutil.copyfileobj(handle, out)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more"
                                            if len(problems) > 5 else "")
        warn(f"{len(problems)} side file(s) of {source} were not copied into {target}, so "
             f"those outputs are unavailable there too (their iterations are merged): {shown}")


def copy_missing(con: sqlite3.Connection, copies: Iterable[SideFileCopy]) -> int:
    """Insert the attached ``src`` study's missing rows into ``main``, inside the caller's
    transaction, naming side files as ``copies`` says; returns the number of iterations
    added.

    >>> copy_missing(con, side_file_copies(con, source, target))  # doctest: +SKIP
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
        con.executemany("UPDATE main.outputs SET file = ? WHERE iteration_id = ? AND name = ?",
                        [(c.file, c.iteration_id, c.name) for c in copies])
        con.execute(f"INSERT OR IGNORE INTO main.sweep_items SELECT {select('sweep_items', {})} "
                    "FROM src.sweep_items s")
        con.execute("INSERT OR IGNORE INTO main.pending_items SELECT "  # prepared sweeps
                    f"{select('pending_items', {})} FROM src.pending_items s")
        con.execute("INSERT OR IGNORE INTO main.environment_packages SELECT "
                    f"{select('environment_packages', {})} FROM src.environment_packages s")
        return con.execute("SELECT COUNT(*) FROM temp.merging").fetchone()[0]
    finally:
        con.execute("DROP TABLE temp.merging")
