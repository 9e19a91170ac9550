"""The study store's front: ``Study`` (an open study), ``load`` and ``merge``.

A study is an SQLite database that keeps every iteration the moment it finishes.

One file holds a whole study: every sweep run against it, every iteration (success or
failure) with its parameters, outputs, captured output tails and provenance. A sweep given
the same store reuses iterations that already succeeded for the same script content,
parameter set and requested outputs, so an interrupted or extended sweep only runs what is
missing. Outputs whose pickle exceeds ``INLINE_LIMIT`` bytes live in side files next to the
database (``<study>.db-outputs/``), written by streaming, never held twice in memory, first
under ``partial/`` with the writer's pid and host in the name, then moved into place. An
output that can no longer be loaded (a side file deleted or cut short) leaves its
iteration listed, without that output, and makes the iteration run again when reused.
See the README's "Study database" section for the schema.

``Study`` opens the file (``studyfile``, ``schema``) and writes sweeps and iterations
(``writing``, ``studyrows``, ``sidefiles``); reading records (``reading``), reuse
decisions (``reuse``), editing (``editing``), merging (``merging``) and backups
(``maintenance``) are their own modules' work, which ``Study``'s methods hand on.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StoreError
from ..records import IterationRecord
from . import (
    editing,
    inbox,
    maintenance,
    merging,
    reading,
    reuse,
    schema,
    studyfile,
    studyrows,
    writing,
)
from .provenance import git_state, package_version
from .schema import SCHEMA_VERSION
from .sidefiles import INLINE_LIMIT
from .studyrows import SweepInfo

if TYPE_CHECKING:
    import pandas as pd

    from ..results import ScriptResults


__all__ = ["INLINE_LIMIT", "SCHEMA_VERSION", "StoreError", "Study", "SweepInfo", "load", "merge"]


class Study:
    """An open study database.

    ``Study(path)`` creates the study if the file does not exist (or is empty) and upgrades
    one written by an older py3r-script; ``create=False`` only opens an existing one. A study
    this process cannot write (a read-only file or folder) opens read-only, as does any with
    ``read_only=True``: then nothing on disk changes. ``backup=True`` copies an existing
    study (see :meth:`backup`) before anything changes it, an upgrade included.

    Examples
    --------
    >>> with Study("oft_study.db") as study:  # doctest: +SKIP
    ...     records = study.records()
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True,
                 backup: bool = False, read_only: bool = False) -> None:
        if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                f"a study is given by the path of its database file (a str or os.PathLike, "
                f"e.g. store='study.db'), not {type(path).__name__} {path!r}")
        self.path = Path(path)
        self.outputs_dir = Path(f"{self.path}-outputs")
        self.backup_path: Path | None = None
        """Where ``backup=True`` copied the study, if it did."""
        exists, writable = studyfile.check_path(self.path, create=create, read_only=read_only)
        self.read_only = read_only or not writable
        """True when this connection cannot change the study."""
        if self.read_only:
            self._con = studyfile.open_read_only(self.path)
        else:
            self._con = studyfile.connect(self.path)
            try:
                self._prepare(exists, backup)
            except BaseException:
                self._con.close()
                raise
        self._view_params, self._view_outputs = schema.view_names(self._con)
        if not self.read_only:
            inbox.ingest(self)  # what workers finished while no driver was listening

    def _prepare(self, exists: bool, backup: bool) -> None:
        """Create, back up and upgrade the study as needed; tidy what dead writers left."""
        version = self._con.execute("PRAGMA user_version").fetchone()[0]
        if not exists or version == 0:
            studyfile.create(self._con, f"py3r-script {package_version()}")
        elif backup:
            self.backup_path = self.backup()  # before an upgrade, too
        if 0 < version < SCHEMA_VERSION:
            self.mark_abandoned()
            maintenance.refuse_live_older_writers(self._con, self.path)
        partial = maintenance.partial_files(self.outputs_dir, schema=SCHEMA_VERSION)
        if studyfile.migrate(self._con, self.path) == 1:
            partial = maintenance.partial_files(self.outputs_dir, schema=1)
        maintenance.remove_dead_writers_files(partial)

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection (``with Study(...)`` does it for you).

        >>> Study("oft_study.db").close()  # doctest: +SKIP
        """
        self._con.close()

    def _require_writable(self) -> None:
        if self.read_only:
            raise StoreError(
                f"{self.path} is open read-only (this process cannot write the file or its "
                "folder, or read_only=True), so it cannot be changed")

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        self._require_writable()
        return studyfile.transaction(self._con)

    # -- writing a sweep (see writing.py) ------------------------------------------------
    def begin_sweep(self, sweep: SweepInfo) -> int:
        """Record a new sweep; returns its sequence number in the study.

        >>> study.begin_sweep(SweepInfo(sweep_id, ...))  # doctest: +SKIP
        0
        """
        git_commit, git_dirty = git_state(Path(sweep.script))
        self.mark_abandoned()
        with self._transaction() as con:
            return writing.insert_sweep(con, sweep, git_commit, git_dirty)

    def mark_abandoned(self) -> int:
        """Mark ``interrupted`` the sweeps still ``running`` whose driver on this host is gone
        (killed, crashed); returns how many.

        >>> study.mark_abandoned()  # doctest: +SKIP
        1
        """
        gone = maintenance.abandoned_sweeps(self._con)
        if gone:
            with self._transaction() as con:
                writing.mark_interrupted(con, gone)
        return len(gone)

    def finish_sweep(self, sweep_id: str, status: str) -> None:
        """Mark a sweep ``finished`` or ``interrupted``.

        >>> study.finish_sweep(sweep_id, "finished")  # doctest: +SKIP
        """
        with self._transaction() as con:
            writing.finish_sweep(con, sweep_id, status)

    def add(self, record: IterationRecord, *, sweep_id: str, plan_index: int
            ) -> IterationRecord:
        """Commit one finished iteration (and its outputs) in a single transaction.

        Returns the record as stored: the same, with the sequence numbers the study gave it
        and the sweep that ran it.

        >>> stored = study.add(record, sweep_id=sweep_id, plan_index=0)  # doctest: +SKIP
        """
        outputs = writing.dump_outputs(record, self.outputs_dir, self.path.parent)
        with self._transaction() as con:
            seq, sweep_seq = writing.insert_iteration(con, record, outputs, sweep_id=sweep_id,
                                                      plan_index=plan_index)
            if not (set(record.params) <= self._view_params
                    and set(record.outputs) <= self._view_outputs):
                self._view_params, self._view_outputs = schema.rebuild_view(con)
        return replace(record, iteration_seq=seq, sweep_seq=sweep_seq)

    def held_ids(self, table: str = "iterations") -> set[str]:
        """The ids of every iteration (or, with ``"sweeps"``, sweep) the study holds.

        >>> len(study.held_ids("sweeps"))  # doctest: +SKIP
        """
        column = {"iterations": "iteration_id", "sweeps": "sweep_id"}[table]
        return {row[0] for row in self._con.execute(f"SELECT {column} FROM {table}")}

    def add_reused(self, iteration_id: str, *, sweep_id: str, plan_index: int) -> None:
        """Note that a sweep took an already stored iteration instead of running it again.

        >>> study.add_reused(iteration_id, sweep_id=sweep_id, plan_index=3)  # doctest: +SKIP
        """
        with self._transaction() as con:
            writing.insert_reused(con, iteration_id, sweep_id=sweep_id, plan_index=plan_index)

    # -- editing --------------------------------------------------------------------------
    def set_label(self, sweep: str | int, label: str | None) -> None:
        """Name a sweep (or rename it, or with ``None`` unname it) and the iterations it ran.

        >>> with Study("oft_study.db") as study:  # doctest: +SKIP
        ...     study.set_label(-1, "fine scan")
        """
        editing.check_label(label)
        sweep_id = self.sweep_id(sweep)
        with self._transaction() as con:
            editing.label_sweep(con, sweep_id, label)

    def delete(self, iteration_ids: str | Iterable[str]) -> int:
        """Remove iterations from the study for good; returns how many.

        Their rows, parameters, outputs and places in every sweep's plan go in one
        transaction, then their side files; working folders (``workdir=``) are left alone.
        Ids are full iteration ids (``_iteration_id``); if one is not in the study, nothing
        is deleted.

        >>> with Study("oft_study.db") as study:  # doctest: +SKIP
        ...     study.delete(["3f2a9c..."])
        1
        """
        ids = editing.iteration_ids(iteration_ids)
        with self._transaction() as con:
            deleted, files = editing.delete_rows(con, self.path, ids)
        editing.remove_side_files(self.path.parent, files)  # rows first: none points at a
        return deleted  # missing file

    # -- reading --------------------------------------------------------------------------
    def reusable(
        self,
        script_sha256: str,
        requested_outputs: Collection[str] | None,
        argv: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        *,
        python: str | None = None,
        declared: Collection[str] | None = None,
    ) -> dict[str, str]:
        """Successful iterations that can stand for a new run: parameter-set digest ->
        iteration id (the latest).

        They ran the same script content with the same arguments, environment additions and
        interpreter (``python``: its path and version; default this one), and captured every
        requested output, still loadable. The outputs are a set: order does not matter and an
        iteration that captured more serves a request for fewer. ``requested_outputs=None``
        (everything the script outputs) is served by an iteration that captured everything,
        or, given the script's ``declared`` outputs (when it names them all statically),
        at least those.

        >>> study.reusable(file_sha256("pipeline.py"), ["y"])  # doctest: +SKIP
        {'6a1f...': '3f2a9c...'}
        """
        return reuse.reusable(self._con, self.path.parent, script_sha256, requested_outputs,
                              argv, env, python=python, declared=declared)

    def records(
        self, *, sweep: str | int | None = None, ids: Iterable[str] | None = None,
        outputs: Collection[str] | None = None,
    ) -> list[IterationRecord]:
        """Stored records: the whole study in run order, one sweep's plan, or given ids.

        ``outputs`` loads only those outputs (all by default). An output that cannot be
        loaded (its side file deleted or cut short) is left out of its record, which says
        why in ``record.outputs.unavailable``, with a warning naming the files.

        >>> latest = study.records(sweep=-1, outputs=["y"])  # doctest: +SKIP
        """
        if ids is None and sweep is not None:
            ids = reading.plan_ids(self._con, self.sweep_id(sweep))
        return reading.read_records(self._con, self.path, ids, outputs)

    def sweep_id(self, sweep: str | int) -> str:
        """The id of a sweep given by id, id prefix or sequence number (negative: from the end).

        >>> study.sweep_id(-1)  # doctest: +SKIP
        '9b1e...'
        """
        return reading.find_sweep(self._con, self.path, sweep)

    def sweep_row(self, sweep_id: str) -> sqlite3.Row:
        """The ``sweeps`` row of one sweep (columns as in the README's schema).

        >>> study.sweep_row(study.sweep_id(-1))["status"]  # doctest: +SKIP
        'finished'
        """
        return self._con.execute("SELECT * FROM sweeps WHERE sweep_id = ?", (sweep_id,)).fetchone()

    def sweep_rows(self) -> list[sqlite3.Row]:
        """Every ``sweeps`` row, oldest first.

        >>> [row["label"] for row in study.sweep_rows()]  # doctest: +SKIP
        ['coarse', 'fine']
        """
        return self._con.execute("SELECT * FROM sweeps ORDER BY sweep_seq").fetchall()

    def sweeps(self) -> pd.DataFrame:
        """One row per sweep: id, when, status, script, planned and stored counts, provenance.

        >>> study.sweeps()[["sweep_seq", "status", "n_done"]]  # doctest: +SKIP
        """
        if not self.read_only:
            self.mark_abandoned()
        return reading.sweeps_table(self._con)

    # -- merging and copying --------------------------------------------------------------
    def merge(self, source: str | os.PathLike[str]) -> int:
        """Copy into this study every sweep and iteration of ``source`` it lacks.

        Iterations keep their ids and get sequence numbers after this study's; side files
        are copied beside this study. Merging the same source again adds nothing. Returns
        the number of iterations added.

        >>> with Study("all.db") as study:  # doctest: +SKIP
        ...     study.merge("laptop.db")
        """
        checked = merging.check_source(source, self.path)
        self._require_writable()
        added = merging.merge_from(self._con, self.path, checked)
        self._view_params, self._view_outputs = schema.view_names(self._con)
        return added

    def backup(self) -> Path:
        """Copy the study consistently to ``<name>.bak-<UTC time>``; return that path.

        The database is copied with SQLite's backup API; side files go to the copy's own
        ``<name>.bak-<UTC time>-outputs/`` folder (hard links when the filesystem allows, as
        side files never change once written), so the copy stands on its own. Working
        folders (``workdir=``) are not copied: the copy records their paths.

        >>> study.backup()  # doctest: +SKIP
        PosixPath('oft_study.db.bak-20250101T120000000000Z')
        """
        return maintenance.backup(self._con, self.path)


def merge(target: str | os.PathLike[str], *sources: str | os.PathLike[str]) -> int:
    """Merge other studies into ``target`` (created if needed); returns iterations added.

    For studies run apart (two laptops, one study per cluster node) that belong together.

    >>> merge("oft_all.db", "oft_laptop.db", "oft_cluster.db")  # doctest: +SKIP
    42
    """
    with Study(target) as study:
        return sum(study.merge(source) for source in sources)


def load(path: str | os.PathLike[str], *, sweep: str | int | None = None) -> ScriptResults:
    """Load a study (or one sweep of it) as ``ScriptResults``.

    Parameters
    ----------
    path : path
        The study database.
    sweep : str or int, optional
        A sweep id (or a unique prefix), or its number in the study (``-1``: the latest).
        Without it, every iteration of the study, in the order they finished.

    Returns
    -------
    ScriptResults
        Its ``design`` is the sweep's (for a whole study: the one all its sweeps share, else
        ``None``). A study this process cannot write is read without being changed.

    Examples
    --------
    >>> all_runs = load("oft_study.db")  # doctest: +SKIP
    >>> all_runs.to_dataframe(meta=True)  # doctest: +SKIP
    >>> latest = load("oft_study.db", sweep=-1)  # doctest: +SKIP
    """
    from ..results import ScriptResults

    with Study(path, create=False) as study:
        if sweep is None:
            rows = study.sweep_rows()
            records = study.records()
        else:
            rows = [study.sweep_row(study.sweep_id(sweep))]
            records = study.records(sweep=rows[0]["sweep_id"])
    sweeps = [studyrows.sweep_from_row(row) for row in rows]
    param_names = dict.fromkeys(name for s in sweeps for name in s.param_names)
    output_names = dict.fromkeys(name for s in sweeps for name in s.output_names)
    scripts = sorted({s.script for s in sweeps})
    designs = {s.design for s in sweeps}
    return ScriptResults(
        list(param_names), list(output_names), records,
        nominal=sweeps[-1].nominal if sweeps else {},
        script=scripts[0] if len(scripts) == 1 else str(path),
        design=designs.pop() if len(designs) == 1 else None,
    )
