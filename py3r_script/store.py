"""The study store: an SQLite database that keeps every iteration the moment it finishes.

One file holds a whole study: every sweep run against it, every iteration (success or
failure) with its parameters, outputs, captured output tails and provenance. A sweep given
the same store reuses iterations that already succeeded for the same script content,
parameter set and requested outputs, so an interrupted or extended sweep only runs what is
missing. Outputs whose pickle exceeds ``INLINE_LIMIT`` bytes live in side files next to the
database (``<study>.db-outputs/``), written by streaming, never held twice in memory.
See the README's "Study database" section for the schema.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import shutil
import socket
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import index
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable

from . import studyfile
from .errors import StoreError
from .paramset import ParamSet, plain_scalar
from .provenance import git_state, package_version, pid_alive
from .records import FrozenOutputs, IterationRecord
from .studyfile import SCHEMA_VERSION

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["INLINE_LIMIT", "SCHEMA_VERSION", "StoreError", "Study", "load", "merge"]

INLINE_LIMIT = 1 << 20
"""Pickled outputs up to this many bytes are stored inside the database; larger ones in files."""


@dataclass(frozen=True)
class SweepInfo:
    """What a sweep records about itself when it starts (provenance and definition)."""

    sweep_id: str
    script: str
    script_sha256: str
    mode: str
    param_names: Sequence[str]
    nominal: ParamSet
    requested_outputs: Sequence[str] | None
    output_names: Sequence[str]
    n_planned: int
    cwd: str
    label: str | None = None


def _utc(timestamp: float) -> str:
    return _dt.datetime.fromtimestamp(timestamp, _dt.timezone.utc).isoformat()


def _env_key(env: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(env.items())))


def _outputs_key(outputs: Sequence[str] | None) -> str | None:
    return None if outputs is None else json.dumps(list(outputs))


class Study:
    """An open study database.

    Examples
    --------
    >>> with Study("oft_study.db") as study:  # doctest: +SKIP
    ...     records = study.records()
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True) -> None:
        if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                f"a study is given by the path of its database file (a str or os.PathLike, "
                f"e.g. store='study.db'), not {type(path).__name__} {path!r}")
        self.path = Path(path)
        self.outputs_dir = Path(f"{self.path}-outputs")
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder; store= takes a database file path")
        exists = self.path.exists() and self.path.stat().st_size > 0
        if not exists and not create:
            raise StoreError(f"no study at {str(self.path)!r}: the file does not exist or is empty")
        if not self.path.parent.is_dir():
            raise StoreError(f"cannot create the study {self.path}: the folder "
                             f"{self.path.parent} does not exist")
        if exists:
            studyfile.check_study_file(self.path)
        self._con = studyfile.connect(self.path)
        try:
            if not exists or self._con.execute("PRAGMA user_version").fetchone()[0] == 0:
                studyfile.create(self._con, f"py3r-script {package_version()}")
            studyfile.migrate(self._con, self.path)
            self._view_params = {
                r[0] for r in self._con.execute("SELECT DISTINCT name FROM params")
            }
            self._view_outputs = {
                r[0] for r in self._con.execute("SELECT DISTINCT name FROM outputs")
            }
        except BaseException:
            self._con.close()
            raise

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection (``with Study(...)`` does it for you)."""
        self._con.close()

    # -- writing ------------------------------------------------------------------------
    def begin_sweep(self, sweep: SweepInfo) -> int:
        """Record a new sweep; returns its sequence number in the study."""
        git_commit, git_dirty = git_state(Path(sweep.script))
        self.mark_abandoned()
        with studyfile.transaction(self._con) as con:
            seq = con.execute("SELECT COALESCE(MAX(sweep_seq), -1) + 1 FROM sweeps").fetchone()[0]
            con.execute(
                "INSERT INTO sweeps VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    sweep.sweep_id, seq, _dt.datetime.now(_dt.timezone.utc).isoformat(), None,
                    "running", sweep.script, sweep.script_sha256, sweep.mode,
                    json.dumps(list(sweep.param_names)), sweep.nominal.to_json(),
                    _outputs_key(sweep.requested_outputs), json.dumps(list(sweep.output_names)),
                    sweep.n_planned, sweep.cwd, platform.python_version(), package_version(),
                    socket.gethostname(), platform.platform(), git_commit,
                    None if git_dirty is None else int(git_dirty), os.getpid(), sweep.label,
                ),
            )
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
            with studyfile.transaction(self._con) as con:
                con.executemany(
                    "UPDATE sweeps SET status = 'interrupted' WHERE sweep_id = ? "
                    "AND status = 'running'", [(sweep_id,) for sweep_id in gone])
        return len(gone)

    def finish_sweep(self, sweep_id: str, status: str) -> None:
        """Mark a sweep ``finished`` or ``interrupted``."""
        with studyfile.transaction(self._con) as con:
            con.execute(
                "UPDATE sweeps SET status = ?, finished_utc = ? WHERE sweep_id = ?",
                (status, _dt.datetime.now(_dt.timezone.utc).isoformat(), sweep_id),
            )

    def add(self, record: IterationRecord, *, sweep_id: str, plan_index: int) -> None:
        """Commit one finished iteration (and its outputs) in a single transaction."""
        stored = [self._dump_output(record.iteration_id, n, v) for n, v in record.outputs.items()]
        with studyfile.transaction(self._con) as con:
            seq = con.execute(
                "SELECT COALESCE(MAX(iteration_seq), -1) + 1 FROM iterations"
            ).fetchone()[0]
            con.execute(
                "INSERT INTO iterations VALUES "
                "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                _iteration_row(record, seq, plan_index),
            )
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
            if not (set(record.params) <= self._view_params
                    and set(record.outputs) <= self._view_outputs):
                self._view_params, self._view_outputs = studyfile.rebuild_view(con)

    def add_reused(self, iteration_id: str, *, sweep_id: str, plan_index: int) -> None:
        """Note that a sweep took an already stored iteration instead of running it again."""
        with studyfile.transaction(self._con) as con:
            con.execute(
                "INSERT INTO sweep_items VALUES (?,?,?,1)", (sweep_id, plan_index, iteration_id)
            )

    def _dump_output(self, iteration_id: str, name: str, value: Any) -> tuple[str, Any]:
        """Pickle one output: inline when small, streamed to a side file when large."""
        scalar = plain_scalar(value)[1]
        sink = _SpillWriter(INLINE_LIMIT, lambda: self._side_file(iteration_id, name))
        import cloudpickle

        try:
            cloudpickle.dump(value, sink, protocol=5)
        except BaseException:
            sink.discard()
            raise
        blob, file = sink.finish(self.path.parent)
        return name, (_type_name(value), scalar, blob, file, sink.size)

    def _side_file(self, iteration_id: str, name: str) -> Path:
        digest = hashlib.sha256(name.encode()).hexdigest()[:12]
        return self.outputs_dir / iteration_id[:2] / f"{iteration_id}-{digest}.pkl"

    # -- reading ------------------------------------------------------------------------
    def reusable(
        self,
        script_sha256: str,
        requested_outputs: Sequence[str] | None,
        argv: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Successful iterations of this script content, outputs, arguments and environment
        additions: parameter-set digest -> iteration id (the latest)."""
        rows = self._con.execute(
            "SELECT params_sha256, iteration_id FROM iterations WHERE script_sha256 = ? AND "
            "status = 'ok' AND requested_outputs IS ? AND argv_json = ? AND env_json = ? "
            "ORDER BY iteration_seq",
            (script_sha256, _outputs_key(requested_outputs), json.dumps(list(argv)),
             _env_key(env or {})),
        )
        return dict(rows.fetchall())

    def records(
        self, *, sweep: str | int | None = None, ids: Iterable[str] | None = None
    ) -> list[IterationRecord]:
        """Stored records: the whole study in run order, one sweep's plan, or given ids."""
        if ids is not None:
            wanted = list(ids)
            by_id = {r.iteration_id: r for r in self._select("i.iteration_id IN (SELECT value "
                                                             "FROM json_each(?))",
                                                             (json.dumps(wanted),))}
            return [by_id[i] for i in wanted if i in by_id]
        if sweep is None:
            return self._select("1", ())
        sweep_id = self.sweep_id(sweep)
        ids_in_plan = [row[0] for row in self._con.execute(
            "SELECT iteration_id FROM sweep_items WHERE sweep_id = ? ORDER BY plan_index",
            (sweep_id,))]
        return self.records(ids=ids_in_plan)

    def _select(self, where: str, args: tuple[Any, ...]) -> list[IterationRecord]:
        rows = self._con.execute(
            f"SELECT i.* FROM iterations i WHERE {where} ORDER BY i.iteration_seq", args
        ).fetchall()
        outputs: dict[str, dict[str, Any]] = {}
        for iteration_id, name, blob, file in self._con.execute(
            f"SELECT o.iteration_id, o.name, o.blob, o.file FROM outputs o "
            f"JOIN iterations i USING (iteration_id) WHERE {where} "
            "ORDER BY i.iteration_seq, o.position", args
        ):
            outputs.setdefault(iteration_id, {})[name] = self._load_output(blob, file)
        return [_record_from_row(row, outputs.get(row["iteration_id"], {})) for row in rows]

    def _load_output(self, blob: bytes | None, file: str | None) -> Any:
        import pickle

        if file is None:
            return pickle.loads(blob)  # type: ignore[arg-type]
        try:
            with open(self.path.parent / file, "rb") as handle:
                return pickle.load(handle)
        except FileNotFoundError:
            raise StoreError(
                f"output file {file} of study {self.path} is missing; the study's "
                f"'{self.outputs_dir.name}' folder must stay next to the database"
            ) from None

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
        if not source.is_file() or source.stat().st_size == 0:
            raise StoreError(f"no study at {str(source)!r} to merge")
        studyfile.check_study_file(source)
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
                target = self.path.parent / _moved(file, source, self.path)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source.parent / file, target)
            with studyfile.transaction(con):
                added = _copy_missing(con, source, self.path)
                self._view_params, self._view_outputs = studyfile.rebuild_view(con)
        finally:
            con.execute("DETACH DATABASE src")
        return added

    def backup(self) -> Path:
        """Copy the database consistently to ``<name>.bak-<UTC time>``; return that path."""
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.path.with_name(f"{self.path.name}.bak-{stamp}")
        copy = sqlite3.connect(target)
        try:
            self._con.backup(copy)
        finally:
            copy.close()
        return target


class _SpillWriter:
    """A binary sink that keeps up to ``limit`` bytes in memory, then streams to a file."""

    def __init__(self, limit: int, target: Callable[[], Path]) -> None:
        self._limit = limit
        self._target = target
        self._buffer: bytearray | None = bytearray()
        self._path: Path | None = None
        self._tmp: Path | None = None
        self._file: IO[bytes] | None = None
        self.size = 0

    def write(self, data: Any) -> int:
        # bytes, or (pickle protocol 5, NumPy-backed data) a PickleBuffer: take its raw bytes
        view = memoryview(data)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        count = view.nbytes
        self.size += count
        if self._file is None and self.size > self._limit:
            self._spill()  # before appending: a large buffer goes straight to the file
        if self._file is not None:
            self._file.write(view)
        else:
            assert self._buffer is not None
            self._buffer += view
        return count

    def _spill(self) -> None:
        self._path = self._target()
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self._path.with_name(self._path.name + f".tmp{os.getpid()}")
        self._file = open(self._tmp, "wb")
        self._file.write(self._buffer or b"")
        self._buffer = None

    def finish(self, base: Path) -> tuple[bytes | None, str | None]:
        """``(blob, None)`` when it stayed small, else ``(None, path relative to base)``."""
        if self._file is None:
            return bytes(self._buffer or b""), None
        self._file.close()
        assert self._tmp is not None and self._path is not None
        os.replace(self._tmp, self._path)
        return None, os.path.relpath(self._path, base)

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            assert self._tmp is not None
            self._tmp.unlink(missing_ok=True)


def _moved(file: str, source: Path, target: Path) -> str:
    """Where a side file of ``source`` goes beside ``target`` (same layout, our folder)."""
    return str(Path(f"{target.name}-outputs", *Path(file).parts[1:]))


def _copy_missing(con: sqlite3.Connection, source: Path, target: Path) -> int:
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
                        (_moved(file, source, target), file))
        con.execute(f"INSERT OR IGNORE INTO main.sweep_items SELECT {select('sweep_items', {})} "
                    "FROM src.sweep_items s")
        return con.execute("SELECT COUNT(*) FROM temp.merging").fetchone()[0]
    finally:
        con.execute("DROP TABLE temp.merging")


def _type_name(value: object) -> str:
    cls = type(value)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _iteration_row(record: IterationRecord, seq: int, plan_index: int) -> tuple[Any, ...]:
    return (
        record.iteration_id, seq, record.sweep_id, plan_index, record.params.to_json(),
        record.params.digest, record.script, record.script_sha256,
        _outputs_key(record.requested_outputs), record.status, record.error, record.error_type,
        record.exit_code, record.signal, int(record.stopped_early), _utc(record.started),
        _utc(record.finished), record.started, record.finished, record.duration, record.stdout,
        record.stderr, record.host, record.python, record.workdir,
        json.dumps(dict(record.params_seen), default=repr), record.label,
        json.dumps(list(record.argv)), _env_key(record.env),
    )


def _record_from_row(row: sqlite3.Row, outputs: dict[str, Any]) -> IterationRecord:
    requested = row["requested_outputs"]
    return IterationRecord(
        params=ParamSet(json.loads(row["params_json"])),
        status=row["status"],
        outputs=FrozenOutputs(outputs),
        error=row["error"],
        error_type=row["error_type"],
        exit_code=row["exit_code"],
        signal=row["signal"],
        stopped_early=bool(row["stopped_early"]),
        params_seen=json.loads(row["params_seen_json"] or "{}"),
        started=row["started"],
        finished=row["finished"],
        stdout=row["stdout"] or "",
        stderr=row["stderr"] or "",
        index=row["plan_index"],
        iteration_id=row["iteration_id"],
        script=row["script"],
        script_sha256=row["script_sha256"],
        requested_outputs=None if requested is None else tuple(json.loads(requested)),
        host=row["host"] or "",
        python=row["python"] or "",
        workdir=row["workdir"],
        sweep_id=row["sweep_id"],
        label=row["label"],
        argv=tuple(json.loads(row["argv_json"])),
        env=json.loads(row["env_json"]),
    )


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

    Examples
    --------
    >>> all_runs = load("oft_study.db")  # doctest: +SKIP
    >>> all_runs.to_dataframe(meta=True)  # doctest: +SKIP
    >>> latest = load("oft_study.db", sweep=-1)  # doctest: +SKIP
    """
    from .results import ScriptResults

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
    return ScriptResults(
        list(param_names), list(output_names), records, nominal=nominal,
        script=scripts[0] if len(scripts) == 1 else str(path),
    )
