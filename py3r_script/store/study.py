"""The study store's front: ``Study`` (an open study), ``load`` and ``merge``.

One SQLite file holds a whole study: every sweep run against it, every iteration (success
or failure) the moment it finishes, with its parameters, outputs (stored by kind, see
``formats``; large ones in side files, ``sidefiles``), captured output tails and
provenance. A sweep given the same store reuses iterations that already succeeded for the
same work (``reuse``), so an interrupted or extended sweep only runs what is missing. See
the README's "Study database" section for the schema.

``Study`` opens the file (``studyfile``, ``schema``) and writes sweeps and iterations
(``writing``, ``studyrows``); reading (``reading``, ``loading``), editing, merging and
backups (``maintenance``) are their own modules' work, which ``Study``'s methods hand on.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StoreError
from ..records import IterationRecord
from . import editing, inbox, maintenance, merging, reading, reuse, schema, studyfile, writing
from .comparison import compare as compare_sweeps
from .damage import check, guard, guard_methods
from .interpreters import Interpreters
from .provenance import git_state, package_version
from .schema import SCHEMA_VERSION
from .sidefiles import INLINE_LIMIT
from .studyrows import SweepInfo

if TYPE_CHECKING:
    import pandas as pd



__all__ = ["INLINE_LIMIT", "SCHEMA_VERSION", "StoreError", "Study", "SweepInfo"]


@guard_methods
class Study:
    """An open study database.

    ``Study(path)`` creates the study if the file does not exist (or is empty) and upgrades
    one written by an older py3r-script; ``create=False`` only opens an existing one. A study
    this process cannot write (a read-only file or folder) opens read-only, as does any with
    ``read_only=True``: then nothing on disk changes. ``backup=True`` copies an existing
    study (see :meth:`backup`) before anything changes it, an upgrade included.

    Reading never runs code from the study: a pickled output is unpickled only when it is
    read and this user's key signed it, or with ``trusted=True`` (say, for a study an older
    py3r-script wrote, or a colleague's you trust: unpickling can run any code).

    Examples
    --------
    >>> with Study("oft_study.db") as study:  # doctest: +SKIP
    ...     records = study.records()
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True,
                 backup: bool = False, read_only: bool = False, trusted: bool = False) -> None:
        if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                f"a study is given by the path of its database file (a str or os.PathLike, "
                f"e.g. store='study.db'), not {type(path).__name__} {path!r}")
        self.path = Path(path)
        self.outputs_dir = Path(f"{self.path}-outputs")
        self.backup_path: Path | None = None
        """Where ``backup=True`` copied the study, if it did."""
        self.trusted = bool(trusted)
        """True when any pickled output may be unpickled, signed by this user or not."""
        self._interpreters = Interpreters()  # asked once while the study is open
        with guard(self.path):
            exists, writable = studyfile.check_path(self.path, create=create,
                                                    read_only=read_only)
            self.read_only = read_only or not writable
            """True when this connection cannot change the study."""
            self._checked = not exists  # a new study needs no integrity check
            self._con = (studyfile.open_read_only(self.path) if self.read_only
                         else studyfile.connect(self.path))
            try:
                if not self.read_only:
                    self._prepare(exists, backup)
                self._view_params, self._view_outputs = schema.view_names(self._con)
            except BaseException:
                self._con.close()
                raise
        if not self.read_only:
            inbox.ingest(self)  # what workers finished while no driver was listening

    def _prepare(self, exists: bool, backup: bool) -> None:
        """Create, back up and upgrade the study as needed; tidy what dead writers left."""
        version = self._con.execute("PRAGMA user_version").fetchone()[0]
        if not exists or version == 0:
            studyfile.create(self._con, f"py3r-script {package_version()}")
        elif backup:
            self.backup_path = self.backup()  # before an upgrade, too
        if version > 0:
            self.mark_abandoned()
        if 0 < version < SCHEMA_VERSION:
            maintenance.refuse_live_older_writers(self._con, self.path)
            self._check()
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

    def _check(self) -> None:
        """Refuse a damaged study (once an opening): a page no query read would be unnoticed."""
        if not self._checked:
            check(self._con, self.path)
            self._checked = True

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        self._require_writable()
        self._check()
        return studyfile.transaction(self._con)

    # -- writing a sweep (see writing.py) ------------------------------------------------
    def begin_sweep(self, sweep: SweepInfo) -> int:
        """Record a new sweep; returns its sequence number in the study.

        >>> study.begin_sweep(SweepInfo(sweep_id, ...))  # doctest: +SKIP
        0
        """
        git_commit, git_dirty = git_state(Path(sweep.script))
        packages = self._interpreters.packages(sweep.python)
        self.mark_abandoned()
        with self._transaction() as con:
            environment = writing.insert_environment(con, packages)
            return writing.insert_sweep(con, sweep, git_commit, git_dirty, environment)

    def mark_abandoned(self) -> int:
        """Mark ``interrupted`` the sweeps still ``running`` whose driver on this host is gone
        (killed, crashed); returns how many. Opening a study that can be written does it.

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
        and the sweep that ran it. A value that cannot be stored (an output that cannot be
        pickled again, say) makes it an ``error`` record, stored with what can be.

        >>> stored = study.add(record, sweep_id=sweep_id, plan_index=0)  # doctest: +SKIP
        """
        self._require_writable()
        key = self._interpreters.identity(record.interpreter or "", host=record.host)

        def insert(record: IterationRecord, outputs: list[tuple[Any, ...]]
                   ) -> tuple[int, int | None]:
            with self._transaction() as con:
                seqs = writing.insert_iteration(con, record, outputs, sweep_id=sweep_id,
                                                plan_index=plan_index, interpreter_key=key)
                if not (set(record.params) <= self._view_params
                        and set(record.outputs) <= self._view_outputs):
                    self._view_params, self._view_outputs = schema.rebuild_view(con)
            return seqs

        stored, (seq, sweep_seq) = writing.store_iteration(record, self.outputs_dir,
                                                           self.path.parent, insert)
        return replace(stored, iteration_seq=seq, sweep_seq=sweep_seq)

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

        Their rows, parameters, outputs and places in every sweep's plan (a prepared
        sweep's pending items included) go in one transaction, then their side files and
        their files in the study's inbox; working folders (``workdir=``) are left alone.
        Ids are full iteration ids (``_iteration_id``); if one is not in the study, nothing
        is deleted.

        >>> with Study("oft_study.db") as study:  # doctest: +SKIP
        ...     study.delete(["3f2a9c..."])
        1
        """
        ids = editing.iteration_ids(iteration_ids)
        with self._transaction() as con:
            deleted, files = editing.delete_rows(con, self.path, ids)
        editing.remove_side_files(self.path, files)  # rows first: none points at a
        inbox.discard(inbox.inbox_dir(self.path), ids)  # missing file
        return deleted

    # -- reading --------------------------------------------------------------------------
    def reusable(self, script_sha256: str, requested_outputs: Collection[str] | None,
                 argv: Sequence[str] = (), env: Mapping[str, str] | None = None, *,
                 python: str | None = None, declared: Collection[str] | None = None
                 ) -> dict[tuple[str, int], str]:
        """Successful iterations that can stand for a new run: (parameter-set digest,
        replicate) -> iteration id (the latest): replicate r of a point is reused only for
        replicate r.

        They ran the same script content with the same arguments, environment additions and
        interpreter (``python``, default this one: the same executable, prefix and version,
        however its path is spelled), and captured every requested output, still loadable.
        The outputs are a set: order does not matter and an iteration that captured more
        serves a request for fewer. ``requested_outputs=None`` (everything the script
        outputs) is served by an iteration that captured everything, or, given the script's
        ``declared`` outputs (when it names them all statically), at least those.

        >>> study.reusable(file_sha256("pipeline.py"), ["y"])  # doctest: +SKIP
        {('6a1f...', 0): '3f2a9c...'}
        """
        return reuse.reusable(self._con, self.path, script_sha256, requested_outputs,
                              argv, env, python=python, declared=declared,
                              interpreters=self._interpreters)

    def records(
        self, *, sweep: str | int | None = None, ids: Iterable[str] | None = None,
        outputs: Collection[str] | None = None,
    ) -> list[IterationRecord]:
        """Stored records: the whole study in run order, one sweep's plan, or given ids.

        ``outputs`` loads only those outputs (all by default). An output that cannot be
        loaded (its side file deleted or cut short) is left out of its record, which says
        why in ``record.outputs.unavailable``, with a warning naming the files; so is a
        pickle that may not be unpickled (``record.outputs.untrusted``, see ``trusted``).

        >>> latest = study.records(sweep=-1, outputs=["y"])  # doctest: +SKIP
        """
        if ids is None and sweep is not None:
            ids = reading.plan_ids(self._con, self.sweep_id(sweep))
        return reading.read_records(self._con, self.path, ids, outputs, trusted=self.trusted)

    def environment(self, sweep: str | int) -> dict[str, str]:
        """The packages installed where a sweep ran its script: distribution name ->
        version, sorted by name; empty for a sweep stored before they were recorded.

        ``sweep`` is a sweep id (or a unique prefix) or its number (``-1``: the latest).

        >>> Study("oft_study.db").environment(-1)["numpy"]  # doctest: +SKIP
        '2.0.1'
        """
        return reading.environment(self._con, self.sweep_id(sweep))

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

        A sweep whose driver on this host is gone is ``interrupted``, also in a study opened
        read-only (not changed); a damaged study is refused, as it is before a write.

        >>> study.sweeps()[["sweep_seq", "status", "n_done"]]  # doctest: +SKIP
        """
        self._check()
        if not self.read_only:
            self.mark_abandoned()
        gone = maintenance.abandoned_sweeps(self._con) if self.read_only else ()
        return reading.sweeps_table(self._con, gone)

    def compare(self, sweep_a: str | int, sweep_b: str | int) -> pd.DataFrame:
        """What differs between two sweeps (by id, id prefix or number): one row per
        difference, columns ``what``, ``name``, ``a``, ``b`` (see ``comparison.compare``).

        >>> study.compare(0, -1)  # doctest: +SKIP
        """
        return compare_sweeps(self, self.sweep_id(sweep_a), self.sweep_id(sweep_b))

    def report(self, path: str | os.PathLike[str], *,
               sweeps: str | int | Iterable[str | int] | None = None) -> Path:
        """Write the study (or ``sweeps``: labels, ids, numbers) as one self-contained HTML
        page; returns its path (see :func:`py3r_script.report.studies.study_report`).

        >>> Study("oft_study.db").report("oft_report.html")  # doctest: +SKIP
        """
        from ..report.studies import study_report

        return study_report(self, path, sweeps=sweeps)

    # -- merging and copying --------------------------------------------------------------
    def merge(self, source: str | os.PathLike[str]) -> int:
        """Copy into this study every sweep and iteration of ``source`` it lacks.

        Iterations keep their ids and get sequence numbers after this study's; side files
        are copied beside this study. A prepared sweep (``prepare=True``) brings its plan
        of pending iterations, so ``work`` on this study runs what is left of it; a source
        whose inbox holds records it has not ingested is refused (collect it first).
        Merging the same source again adds nothing. Returns the number of iterations added.

        >>> with Study("all.db") as study:  # doctest: +SKIP
        ...     study.merge("laptop.db")
        """
        checked = merging.check_source(source, self.path)
        self._require_writable()
        self._check()
        added = merging.merge_from(self._con, self.path, checked)
        self._view_params, self._view_outputs = schema.view_names(self._con)
        self.mark_abandoned()  # sweeps of this host copied while ``running``
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
        self._check()  # a copy of a damaged study would pass for a sound one
        return maintenance.backup(self._con, self.path)

