"""Editing a study after the fact: naming sweeps, and deleting iterations for good."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from ..errors import StoreError
from .sidepaths import OutsideSideFolder, locate

__all__ = ["check_label", "delete_rows", "iteration_ids", "label_sweep", "remove_side_files"]


def check_label(label: object) -> None:
    """Refuse a label that is neither a str nor ``None``.

    >>> check_label("fine scan")
    """
    if label is not None and not isinstance(label, str):
        raise TypeError(f"a label is a str (or None to remove it), not {label!r}")


def label_sweep(con: sqlite3.Connection, sweep_id: str, label: str | None) -> None:
    """Give a sweep and the iterations it ran ``label`` (inside the caller's transaction).

    >>> label_sweep(con, "9b1e...", "fine scan")  # doctest: +SKIP
    """
    con.execute("UPDATE sweeps SET label = ? WHERE sweep_id = ?", (label, sweep_id))
    con.execute("UPDATE iterations SET label = ? WHERE sweep_id = ?", (label, sweep_id))


def iteration_ids(given: str | Iterable[str]) -> list[str]:
    """The iteration ids of ``Study.delete``'s argument: one id, or several.

    >>> iteration_ids("3f2a"), iteration_ids(["3f2a", "0d41"])
    (['3f2a'], ['3f2a', '0d41'])
    """
    ids = [given] if isinstance(given, str) else list(given)
    if not all(isinstance(i, str) for i in ids):
        raise TypeError(f"iteration ids are str (the _iteration_id column), got {ids!r}")
    return ids


def delete_rows(con: sqlite3.Connection, path: Path, ids: list[str]) -> tuple[int, list[str]]:
    """Delete the iterations ``ids`` of the study at ``path`` (inside the caller's
    transaction): their rows, parameters, outputs and places in every sweep's plan (a
    prepared sweep's pending items too: job-array tasks do not run them again).

    Returns how many were deleted and their side files (relative to the study's folder),
    for the caller to remove once the rows are gone. Refuses, deleting nothing, when an
    id is not in the study.

    >>> delete_rows(con, Path("study.db"), ["3f2a9c..."])  # doctest: +SKIP
    (1, ['study.db-outputs/3f/3f2a9c...-5d1c2e.pkl'])
    """
    key = json.dumps(ids)
    found = {r[0] for r in con.execute(
        "SELECT iteration_id FROM iterations WHERE iteration_id IN "
        "(SELECT value FROM json_each(?))", (key,))}
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise StoreError(f"no iteration {unknown[0]!r} in {path}, so nothing was "
                         "deleted; give full ids from the _iteration_id column")
    files = [r[0] for r in con.execute(
        "SELECT file FROM outputs WHERE file IS NOT NULL AND iteration_id IN "
        "(SELECT value FROM json_each(?))", (key,))]
    for table in ("sweep_items", "pending_items", "params", "outputs", "iterations"):
        con.execute(f"DELETE FROM {table} WHERE iteration_id IN "
                    "(SELECT value FROM json_each(?))", (key,))
    return len(found), files


def remove_side_files(study: Path, files: Iterable[str]) -> None:
    """Remove side files of the study at ``study`` (as its rows named them) whose rows are
    gone; a path outside the study's side folder is left alone.

    >>> remove_side_files(Path("study.db"), ["study.db-outputs/3f/3f2a9c...-5d1c2e.pkl"])
    ... # doctest: +SKIP
    """
    for file in files:
        try:
            locate(study, file).unlink(missing_ok=True)
        except OutsideSideFolder:
            continue  # a path edited into the study: nothing of ours to delete
