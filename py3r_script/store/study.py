"""The study store: an SQLite database that keeps every iteration the moment it finishes.

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
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import socket
import sqlite3
import sys
import warnings
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from operator import index
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StoreError, StudyPathError
from ..paramset import plain_scalar
from ..records import IterationRecord
from . import sidefiles, studyfile, studyrows
from .merging import copy_missing
from .provenance import git_state, interpreter_version, package_version, pid_alive
from .sidefiles import INLINE_LIMIT
from .studyfile import SCHEMA_VERSION
from .studyrows import SweepInfo

if TYPE_CHECKING:
    import pandas as pd


__all__ = ["INLINE_LIMIT", "SCHEMA_VERSION", "StoreError", "Study", "load", "merge"]


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
        if self.path.is_dir():
            raise StudyPathError(f"{self.path} is a folder", "store= takes a database file path")
        exists = self.path.exists() and self.path.stat().st_size > 0
        if not exists and (read_only or not create):
            raise StudyPathError(
                f"no study at {str(self.path)!r}: the file does not exist or is empty")
        if not self.path.parent.is_dir():
            raise StoreError(f"cannot create the study {self.path}: the folder "
                             f"{self.path.parent} does not exist")
        if exists and not studyfile.check_study_file(self.path) and (read_only or not create):
            raise StoreError(
                f"{self.path} is an empty SQLite database, not a study (yet: a sweep may be "
                "creating it right now); open a study a sweep wrote with store=...")
        writable = not exists or studyfile.writable(self.path)
        if create and not read_only and not writable:
            raise StoreError(
                f"the study {self.path} cannot be written by this process (the file or its "
                "folder is read-only), so a sweep cannot store iterations in it; make it "
                "writable, or copy the study (and its '-outputs' folder) somewhere writable. "
                "load() still reads it.")
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
        self._view_params = {r[0] for r in self._con.execute("SELECT DISTINCT name FROM params")}
        self._view_outputs = {r[0] for r in self._con.execute("SELECT DISTINCT name FROM outputs")}

    def _prepare(self, exists: bool, backup: bool) -> None:
        """Create, back up and upgrade the study as needed; tidy what dead writers left."""
        version = self._con.execute("PRAGMA user_version").fetchone()[0]
        if not exists or version == 0:
            studyfile.create(self._con, f"py3r-script {package_version()}")
        elif backup:
            self.backup_path = self.backup()  # before an upgrade, too
        if 0 < version < SCHEMA_VERSION:
            self._refuse_live_older_writers()
        partial = [*self.outputs_dir.joinpath(sidefiles.PARTIAL).glob("*@*@*")]
        if studyfile.migrate(self._con, self.path) == 1:
            partial += self.outputs_dir.glob("*/*.pkl.tmp*")  # schema 1 wrote them in place
        self._remove_partial_files(partial)

    def _refuse_live_older_writers(self) -> None:
        """Upgrading under a running older py3r-script would make its next commits fail."""
        self.mark_abandoned()
        running = self._con.execute(
            "SELECT driver_pid FROM sweeps WHERE status = 'running' AND host = ?",
            (socket.gethostname(),)).fetchall()
        if running:
            raise StoreError(
                f"{self.path} needs upgrading to study schema {SCHEMA_VERSION}, but a sweep "
                f"of an older py3r-script (process {running[0][0]}) is still writing it; let "
                "it finish (or stop it), then open the study again")

    def _remove_partial_files(self, files: Iterable[Path]) -> None:
        """Delete side files that a writer on this host died while writing."""
        host = socket.gethostname()
        for file in files:
            pid, where = sidefiles.writer_of(file.name)
            if pid.isdigit() and where in ("", host) and not pid_alive(int(pid)):
                file.unlink(missing_ok=True)

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection (``with Study(...)`` does it for you)."""
        self._con.close()

    def _require_writable(self) -> None:
        if self.read_only:
            raise StoreError(
                f"{self.path} is open read-only (this process cannot write the file or its "
                "folder, or read_only=True), so it cannot be changed")

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        self._require_writable()
        return studyfile.transaction(self._con)

    # -- writing ------------------------------------------------------------------------
    def begin_sweep(self, sweep: SweepInfo) -> int:
        """Record a new sweep; returns its sequence number in the study."""
        git_commit, git_dirty = git_state(Path(sweep.script))
        self.mark_abandoned()
        with self._transaction() as con:
            seq = con.execute("SELECT COALESCE(MAX(sweep_seq), -1) + 1 FROM sweeps").fetchone()[0]
            con.execute(studyrows.insert("sweeps", studyrows.SWEEP_COLUMNS),
                        studyrows.sweep_row(sweep, seq, git_commit, git_dirty))
        return seq

    def mark_abandoned(self) -> int:
        """Mark ``interrupted`` the sweeps still ``running`` whose driver on this host is gone
        (killed, crashed); returns how many."""
        rows = self._con.execute(
            "SELECT sweep_id, driver_pid FROM sweeps WHERE status = 'running' AND host = ?",
            (socket.gethostname(),),
        ).fetchall()
        gone = [row[0] for row in rows if row[1] is not None and not pid_alive(row[1])]
        if gone:
            with self._transaction() as con:
                con.executemany(
                    "UPDATE sweeps SET status = 'interrupted' WHERE sweep_id = ? "
                    "AND status = 'running'", [(sweep_id,) for sweep_id in gone])
        return len(gone)

    def finish_sweep(self, sweep_id: str, status: str) -> None:
        """Mark a sweep ``finished`` or ``interrupted``."""
        with self._transaction() as con:
            con.execute(
                "UPDATE sweeps SET status = ?, finished_utc = ? WHERE sweep_id = ?",
                (status, _dt.datetime.now(_dt.timezone.utc).isoformat(), sweep_id),
            )

    def add(self, record: IterationRecord, *, sweep_id: str, plan_index: int
            ) -> IterationRecord:
        """Commit one finished iteration (and its outputs) in a single transaction.

        Returns the record as stored: the same, with the sequence numbers the study gave it
        and the sweep that ran it.
        """
        stored = [self._dump_output(record.iteration_id, n, v) for n, v in record.outputs.items()]
        with self._transaction() as con:
            seq = con.execute(
                "SELECT COALESCE(MAX(iteration_seq), -1) + 1 FROM iterations"
            ).fetchone()[0]
            con.execute(studyrows.insert("iterations", studyrows.ITERATION_COLUMNS),
                        studyrows.iteration_row(record, seq, plan_index))
            con.executemany(
                "INSERT INTO params VALUES (?,?,?,?)",
                [(record.iteration_id, n, v, type(v).__name__) for n, v in record.params.items()],
            )
            con.executemany(
                "INSERT INTO outputs VALUES (?,?,?,?,?,?,?,?)",
                [(record.iteration_id, n, pos, *row) for pos, (n, row) in enumerate(stored)],
            )
            con.execute(
                "INSERT INTO sweep_items VALUES (?,?,?,0)",
                (sweep_id, plan_index, record.iteration_id),
            )
            sweep_seq = con.execute("SELECT sweep_seq FROM sweeps WHERE sweep_id = ?",
                                    (record.sweep_id,)).fetchone()
            if not (set(record.params) <= self._view_params
                    and set(record.outputs) <= self._view_outputs):
                self._view_params, self._view_outputs = studyfile.rebuild_view(con)
        return replace(record, iteration_seq=seq,
                       sweep_seq=None if sweep_seq is None else sweep_seq[0])

    def add_reused(self, iteration_id: str, *, sweep_id: str, plan_index: int) -> None:
        """Note that a sweep took an already stored iteration instead of running it again."""
        with self._transaction() as con:
            con.execute(
                "INSERT INTO sweep_items VALUES (?,?,?,1)", (sweep_id, plan_index, iteration_id)
            )

    def _dump_output(self, iteration_id: str, name: str, value: Any) -> tuple[str, Any]:
        """Pickle one output: inline when small, streamed to a side file when large."""
        path = sidefiles.side_file(self.outputs_dir, iteration_id, name)
        blob, file, size = sidefiles.dump(value, path, self.path.parent)
        return name, (studyrows.type_name(value), plain_scalar(value)[1], blob, file, size)

    def set_label(self, sweep: str | int, label: str | None) -> None:
        """Name a sweep (or rename it, or with ``None`` unname it) and the iterations it ran.

        >>> with Study("oft_study.db") as study:  # doctest: +SKIP
        ...     study.set_label(-1, "fine scan")
        """
        if label is not None and not isinstance(label, str):
            raise TypeError(f"a label is a str (or None to remove it), not {label!r}")
        sweep_id = self.sweep_id(sweep)
        with self._transaction() as con:
            con.execute("UPDATE sweeps SET label = ? WHERE sweep_id = ?", (label, sweep_id))
            con.execute("UPDATE iterations SET label = ? WHERE sweep_id = ?", (label, sweep_id))

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
        ids = [iteration_ids] if isinstance(iteration_ids, str) else list(iteration_ids)
        if not all(isinstance(i, str) for i in ids):
            raise TypeError(f"iteration ids are str (the _iteration_id column), got {ids!r}")
        key = json.dumps(ids)
        with self._transaction() as con:
            found = {r[0] for r in con.execute(
                "SELECT iteration_id FROM iterations WHERE iteration_id IN "
                "(SELECT value FROM json_each(?))", (key,))}
            unknown = [i for i in ids if i not in found]
            if unknown:
                raise StoreError(f"no iteration {unknown[0]!r} in {self.path}, so nothing was "
                                 "deleted; give full ids from the _iteration_id column")
            files = [r[0] for r in con.execute(
                "SELECT file FROM outputs WHERE file IS NOT NULL AND iteration_id IN "
                "(SELECT value FROM json_each(?))", (key,))]
            for table in ("sweep_items", "params", "outputs", "iterations"):
                con.execute(f"DELETE FROM {table} WHERE iteration_id IN "
                            "(SELECT value FROM json_each(?))", (key,))
        for file in files:  # rows first: no row ever points at a missing file
            (self.path.parent / file).unlink(missing_ok=True)
        return len(found)

    # -- reading ------------------------------------------------------------------------
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
        """
        interpreter = python or sys.executable
        rows = self._con.execute(
            "SELECT i.iteration_id, i.params_sha256, i.requested_outputs IS NULL, o.name, "
            "o.file, o.size FROM iterations i LEFT JOIN outputs o USING (iteration_id) "
            "WHERE i.script_sha256 = ? AND i.status = 'ok' AND i.argv_json = ? AND "
            "i.env_json = ? AND i.interpreter = ? AND i.python = ? "
            "ORDER BY i.iteration_seq, o.position",
            (script_sha256, json.dumps(list(argv)), studyrows.env_key(env or {}), interpreter,
             interpreter_version(interpreter)),
        )
        candidates: dict[str, tuple[str, bool, dict[str, tuple[str | None, int]]]] = {}
        for iteration_id, digest, everything, name, file, size in rows:
            entry = candidates.setdefault(iteration_id, (digest, bool(everything), {}))
            if name is not None:
                entry[2][name] = (file, size)
        found: dict[str, str] = {}
        for iteration_id, (digest, everything, captured) in candidates.items():
            if requested_outputs is not None:
                serves = self._loadable(captured, requested_outputs)
            else:
                serves = (everything and self._loadable(captured, captured)) or (
                    declared is not None and self._loadable(captured, declared))
            if serves:
                found[digest] = iteration_id
        return found

    def _loadable(self, captured: Mapping[str, tuple[str | None, int]],
                  names: Iterable[str]) -> bool:
        """Whether every output in ``names`` was captured and its side file (if any) is
        whole: present, with the size it was written with."""
        for name in names:
            if name not in captured:
                return False
            file, size = captured[name]
            if file is not None:
                try:
                    if (self.path.parent / file).stat().st_size != size:
                        return False
                except OSError:
                    return False
        return True

    def records(
        self, *, sweep: str | int | None = None, ids: Iterable[str] | None = None,
        outputs: Collection[str] | None = None,
    ) -> list[IterationRecord]:
        """Stored records: the whole study in run order, one sweep's plan, or given ids.

        ``outputs`` loads only those outputs (all by default). An output that cannot be
        loaded (its side file deleted or cut short) is left out of its record, which says
        why in ``record.outputs.unavailable``, with a warning naming the files.
        """
        if ids is not None:
            wanted = list(ids)
            by_id = {r.iteration_id: r for r in self._select(
                "i.iteration_id IN (SELECT value FROM json_each(?))", (json.dumps(wanted),),
                outputs)}
            return [by_id[i] for i in wanted if i in by_id]
        if sweep is None:
            return self._select("1", (), outputs)
        sweep_id = self.sweep_id(sweep)
        ids_in_plan = [row[0] for row in self._con.execute(
            "SELECT iteration_id FROM sweep_items WHERE sweep_id = ? ORDER BY plan_index",
            (sweep_id,))]
        return self.records(ids=ids_in_plan, outputs=outputs)

    def _select(self, where: str, args: tuple[Any, ...],
                outputs: Collection[str] | None = None) -> list[IterationRecord]:
        rows = self._con.execute(
            f"SELECT i.*, s.sweep_seq FROM iterations i LEFT JOIN sweeps s USING (sweep_id) "
            f"WHERE {where} ORDER BY i.iteration_seq", args
        ).fetchall()
        only = "" if outputs is None else " AND o.name IN (SELECT value FROM json_each(?))"
        values: dict[str, dict[str, Any]] = {}
        unavailable: dict[str, dict[str, str]] = {}
        for iteration_id, name, blob, file, size in self._con.execute(
            f"SELECT o.iteration_id, o.name, o.blob, o.file, o.size FROM outputs o "
            f"JOIN iterations i USING (iteration_id) WHERE {where}{only} "
            "ORDER BY i.iteration_seq, o.position",
            args if outputs is None else (*args, json.dumps(list(outputs))),
        ):
            try:
                value = sidefiles.load(blob, file, size, self.path.parent)
                values.setdefault(iteration_id, {})[name] = value
            except sidefiles.Unloadable as problem:
                unavailable.setdefault(iteration_id, {})[name] = str(problem)
        records = [studyrows.record_from_row(row, values.get(row["iteration_id"], {}),
                                    unavailable.get(row["iteration_id"])) for row in rows]
        if unavailable:
            self._warn_unavailable(records)
        return records

    def _warn_unavailable(self, records: Iterable[IterationRecord]) -> None:
        broken = [(r.iteration_id, name, why) for r in records
                  for name, why in r.outputs.unavailable.items()]
        ids = list(dict.fromkeys(i for i, _, _ in broken))
        shown = "; ".join(f"output {name!r} of iteration {i}: {why}"
                          for i, name, why in broken[:3])
        more = f"; and {len(broken) - 3} more" if len(broken) > 3 else ""
        warnings.warn(
            f"{len(broken)} output(s) of {len(ids)} iteration(s) in {self.path} could not be "
            f"loaded and are left out of their records: {shown}{more}. A sweep with this "
            "store runs those iterations again; Study.delete(ids) removes them.",
            UserWarning, stacklevel=4)

    def sweep_id(self, sweep: str | int) -> str:
        """The id of a sweep given by id, id prefix or sequence number (negative: from the end)."""
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
            rows = self._con.execute("SELECT sweep_id FROM sweeps ORDER BY sweep_seq").fetchall()
            try:
                return rows[number][0]
            except IndexError:
                raise StoreError(f"no sweep number {number}: the study has {len(rows)}") from None
        rows = self._con.execute(
            "SELECT sweep_id FROM sweeps WHERE substr(sweep_id, 1, ?) = ?", (len(sweep), sweep)
        ).fetchall() if sweep else []
        if len(rows) != 1:
            problem = "no sweep" if not rows else f"{len(rows)} sweeps"
            raise StoreError(f"{problem} with id {sweep!r} in {self.path}; see Study.sweeps()")
        return rows[0][0]

    def sweep_row(self, sweep_id: str) -> sqlite3.Row:
        """The ``sweeps`` row of one sweep (columns as in the README's schema)."""
        return self._con.execute("SELECT * FROM sweeps WHERE sweep_id = ?", (sweep_id,)).fetchone()

    def sweep_rows(self) -> list[sqlite3.Row]:
        """Every ``sweeps`` row, oldest first."""
        return self._con.execute("SELECT * FROM sweeps ORDER BY sweep_seq").fetchall()

    def sweeps(self) -> pd.DataFrame:
        """One row per sweep: id, when, status, script, planned and stored counts, provenance."""
        import pandas as pd

        if not self.read_only:
            self.mark_abandoned()
        return pd.read_sql(
            "SELECT s.*, (SELECT COUNT(*) FROM sweep_items t WHERE t.sweep_id = s.sweep_id) "
            "AS n_done, (SELECT COUNT(*) FROM sweep_items t JOIN iterations i USING "
            "(iteration_id) WHERE t.sweep_id = s.sweep_id AND i.status != 'ok') AS n_failed "
            "FROM sweeps s ORDER BY sweep_seq", self._con,
        )

    def merge(self, source: str | os.PathLike[str]) -> int:
        """Copy into this study every sweep and iteration of ``source`` it lacks.

        Iterations keep their ids and get sequence numbers after this study's; side files
        are copied beside this study. Merging the same source again adds nothing. Returns
        the number of iterations added.

        >>> with Study("all.db") as study:  # doctest: +SKIP
        ...     study.merge("laptop.db")
        """
        source = Path(source)
        if source.resolve() == self.path.resolve():
            raise StoreError(f"cannot merge {source} into itself")
        if not source.is_file() or source.stat().st_size == 0 \
                or not studyfile.check_study_file(source):
            raise StudyPathError(f"no study at {str(source)!r} to merge (missing or empty)")
        self._require_writable()
        con = self._con
        con.execute("ATTACH DATABASE ? AS src", (str(source),))
        try:
            version = con.execute("PRAGMA src.user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                raise StoreError(
                    f"{source} has study schema {version}, this study {SCHEMA_VERSION}: open "
                    "both with the same py3r-script version (opening migrates older ones)")
            files = con.execute(
                "SELECT o.file FROM src.outputs o WHERE o.file IS NOT NULL AND o.iteration_id "
                "NOT IN (SELECT iteration_id FROM main.iterations)").fetchall()
            for (file,) in files:  # files first, rows after: no row points at a missing file
                target = self.path.parent / sidefiles.moved(file, self.path)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source.parent / file, target)
            with self._transaction():
                added = copy_missing(con, self.path)
                self._view_params, self._view_outputs = studyfile.rebuild_view(con)
        finally:
            con.execute("DETACH DATABASE src")
        return added

    def backup(self) -> Path:
        """Copy the study consistently to ``<name>.bak-<UTC time>``; return that path.

        The database is copied with SQLite's backup API; side files go to the copy's own
        ``<name>.bak-<UTC time>-outputs/`` folder (hard links when the filesystem allows, as
        side files never change once written), so the copy stands on its own. Working
        folders (``workdir=``) are not copied: the copy records their paths.
        """
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.path.with_name(f"{self.path.name}.bak-{stamp}")
        try:
            copy = sqlite3.connect(target, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot back up {self.path} to {target}: {exc}") from None
        try:
            self._con.backup(copy)
            files = [r[0] for r in copy.execute(
                "SELECT DISTINCT file FROM outputs WHERE file IS NOT NULL")]
            for file in files:  # those of the copied snapshot
                sidefiles.link_or_copy(self.path.parent / file,
                                       target.parent / sidefiles.moved(file, target))
            copy.create_function("moved", 1, lambda file: sidefiles.moved(file, target),
                                 deterministic=True)
            copy.execute("UPDATE outputs SET file = moved(file) WHERE file IS NOT NULL")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot back up {self.path} to {target}: {exc}") from None
        finally:
            copy.close()
        return target


def merge(target: str | os.PathLike[str], *sources: str | os.PathLike[str]) -> int:
    """Merge other studies into ``target`` (created if needed); returns iterations added.

    For studies run apart (two laptops, one study per cluster node) that belong together.

    >>> merge("oft_all.db", "oft_laptop.db", "oft_cluster.db")  # doctest: +SKIP
    42
    """
    with Study(target) as study:
        return sum(study.merge(source) for source in sources)


def load(path: str | os.PathLike[str], *, sweep: str | int | None = None) -> Any:
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
    from ..designs.design import Design
    from ..results import ScriptResults

    with Study(path, create=False) as study:
        if sweep is None:
            rows = study.sweep_rows()
            records = study.records()
        else:
            rows = [study.sweep_row(study.sweep_id(sweep))]
            records = study.records(sweep=rows[0]["sweep_id"])
    param_names: dict[str, None] = {}
    output_names: dict[str, None] = {}
    for row in rows:
        param_names.update(dict.fromkeys(json.loads(row["param_names"])))
        output_names.update(dict.fromkeys(json.loads(row["output_names"])))
    nominal = json.loads(rows[-1]["nominal_json"]) if rows else {}
    scripts = sorted({row["script"] for row in rows})
    designs = {row["design_json"] for row in rows}
    common = designs.pop() if len(designs) == 1 else None
    return ScriptResults(
        list(param_names), list(output_names), records, nominal=nominal,
        script=scripts[0] if len(scripts) == 1 else str(path),
        design=None if common is None else Design.from_json(json.loads(common)),
    )
