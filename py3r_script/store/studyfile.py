"""The study database file: its schema and version, and opening it safely.

A study is an SQLite file in WAL mode whose header carries py3r-script's application id
and the schema version (``PRAGMA user_version``). Opening never changes a file that is not
a study, and a study from a newer py3r-script is refused before anything is written; an
older one is migrated forward, one version at a time, inside one transaction. A study that
cannot be written (a read-only file or folder) can still be opened for reading.
"""

from __future__ import annotations

import datetime as _dt
import os
import sqlite3
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

from ..errors import StoreError, StudyPathError

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "check_study_file", "connect", "create",
           "migrate", "open_read_only", "rebuild_view", "transaction", "writable"]

SCHEMA_VERSION = 2
APPLICATION_ID = 0x70793372  # "py3r": marks the file as a py3r-script study
BUSY_TIMEOUT_MS = 60_000

_SCHEMA = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE sweeps (
    sweep_id          TEXT PRIMARY KEY,
    sweep_seq         INTEGER NOT NULL UNIQUE,
    created_utc       TEXT NOT NULL,
    finished_utc      TEXT,
    status            TEXT NOT NULL,
    script            TEXT NOT NULL,
    script_sha256     TEXT NOT NULL,
    mode              TEXT NOT NULL,
    param_names       TEXT NOT NULL,
    nominal_json      TEXT NOT NULL,
    requested_outputs TEXT,
    output_names      TEXT NOT NULL,
    n_planned         INTEGER NOT NULL,
    cwd               TEXT,
    python            TEXT,
    package_version   TEXT,
    host              TEXT,
    platform          TEXT,
    git_commit        TEXT,
    git_dirty         INTEGER,
    driver_pid        INTEGER,
    label             TEXT,
    design_json       TEXT
);
CREATE TABLE iterations (
    iteration_id      TEXT PRIMARY KEY,
    iteration_seq     INTEGER NOT NULL UNIQUE,
    sweep_id          TEXT NOT NULL REFERENCES sweeps(sweep_id),
    plan_index        INTEGER NOT NULL,
    params_json       TEXT NOT NULL,
    params_sha256     TEXT NOT NULL,
    script            TEXT NOT NULL,
    script_sha256     TEXT NOT NULL,
    requested_outputs TEXT,
    status            TEXT NOT NULL,
    error             TEXT,
    error_type        TEXT,
    exit_code         INTEGER,
    signal            TEXT,
    stopped_early     INTEGER NOT NULL,
    started_utc       TEXT NOT NULL,
    finished_utc      TEXT NOT NULL,
    started           REAL NOT NULL,
    finished          REAL NOT NULL,
    duration_s        REAL NOT NULL,
    stdout            TEXT,
    stderr            TEXT,
    host              TEXT,
    python            TEXT,
    workdir           TEXT,
    params_seen_json  TEXT,
    label             TEXT,
    argv_json         TEXT NOT NULL,
    env_json          TEXT NOT NULL,
    interpreter       TEXT
);
CREATE INDEX iterations_reuse ON iterations (script_sha256, params_sha256, status);
CREATE INDEX iterations_sweep ON iterations (sweep_id);
CREATE TABLE params (
    iteration_id TEXT NOT NULL REFERENCES iterations(iteration_id),
    name         TEXT NOT NULL,
    value,
    type         TEXT NOT NULL,
    PRIMARY KEY (iteration_id, name)
);
CREATE TABLE outputs (
    iteration_id TEXT NOT NULL REFERENCES iterations(iteration_id),
    name         TEXT NOT NULL,
    position     INTEGER NOT NULL,
    type         TEXT NOT NULL,
    value,
    blob         BLOB,
    file         TEXT,
    size         INTEGER NOT NULL,
    PRIMARY KEY (iteration_id, name)
);
CREATE TABLE sweep_items (
    sweep_id     TEXT NOT NULL REFERENCES sweeps(sweep_id),
    plan_index   INTEGER NOT NULL,
    iteration_id TEXT NOT NULL REFERENCES iterations(iteration_id),
    reused       INTEGER NOT NULL,
    PRIMARY KEY (sweep_id, plan_index)
);
"""


def _v1_to_v2(con: sqlite3.Connection) -> None:
    """Schema 2: each sweep's design (mode, linked groups, seed) and each iteration's
    interpreter path. Both are unknown (NULL) for what an older version stored, so those
    iterations are not reused by a sweep (their interpreter is not known) but stay loadable."""
    con.execute("ALTER TABLE sweeps ADD COLUMN design_json TEXT")
    con.execute("ALTER TABLE iterations ADD COLUMN interpreter TEXT")
    rebuild_view(con)


# Upgrades from schema version N to N + 1, applied in order inside one transaction. New
# columns go at the end of their table, so a migrated study has the columns of a new one.
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _v1_to_v2}


@contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken up front so concurrent writers queue, not deadlock."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:  # also when COMMIT itself failed (busy, disk full): a retry
            con.execute("ROLLBACK")  # must start from a clean connection
        raise


def create(con: sqlite3.Connection, created_by: str) -> None:
    """Create the schema in an empty database (unless another process just did)."""
    with transaction(con):
        if con.execute("PRAGMA user_version").fetchone()[0] != 0:
            return
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                con.execute(statement)
        rebuild_view(con)
        con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        con.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [("created_utc", _dt.datetime.now(_dt.timezone.utc).isoformat()),
             ("created_by", created_by)],
        )
    # Write the header (application id, schema version) into the main file now, not at the
    # next checkpoint, so the file is recognisable as a study whatever happens next.
    con.execute("PRAGMA wal_checkpoint(PASSIVE)")


def migrate(con: sqlite3.Connection, path: Path) -> int:
    """Bring an older study up to ``SCHEMA_VERSION``; refuse one from a newer py3r-script.

    Returns the version the study had (another process may have migrated it meanwhile).
    """
    version = con.execute("PRAGMA user_version").fetchone()[0]
    _refuse_newer(path, version)
    if version == SCHEMA_VERSION:
        return version
    with transaction(con):
        version = con.execute("PRAGMA user_version").fetchone()[0]  # now under the lock
        for step in range(version, SCHEMA_VERSION):
            upgrade = _MIGRATIONS.get(step)
            if upgrade is None:
                raise StoreError(
                    f"{path} has study schema {version}, which this py3r-script cannot "
                    f"upgrade (no step from schema {step} to {step + 1}; it reads schema "
                    f"{SCHEMA_VERSION}). Open it once with a py3r-script release that can "
                    "upgrade it, then with this one."
                )
            upgrade(con)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return version


def _refuse_newer(path: Path, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer py3r-script (study schema {version}; this "
            f"version reads up to {SCHEMA_VERSION}). Upgrade py3r-script to open it."
        )


# Bookkeeping columns of the ``runs`` view; a parameter or output with one of these
# names gets the column ``<name>:1`` instead, so queries on them mean one thing.
_RUNS_FIRST = (
    ("_iteration_seq", "i.iteration_seq"), ("_sweep_seq", "s.sweep_seq"),
    ("_status", "i.status"),
)
_RUNS_LAST = (
    ("_error", "i.error"), ("_exit_code", "i.exit_code"), ("_signal", "i.signal"),
    ("_duration_s", "i.duration_s"), ("_started_utc", "i.started_utc"),
    ("_finished_utc", "i.finished_utc"), ("_host", "i.host"), ("_script", "i.script"),
    ("_script_sha256", "i.script_sha256"), ("_params_sha256", "i.params_sha256"),
    ("_iteration_id", "i.iteration_id"), ("_sweep_id", "i.sweep_id"), ("_label", "i.label"),
    ("_workdir", "i.workdir"),
)
RUNS_BOOKKEEPING = tuple(name for name, _ in (*_RUNS_FIRST, *_RUNS_LAST))


def rebuild_view(con: sqlite3.Connection) -> tuple[set[str], set[str]]:
    """Recreate ``runs``: one row per iteration, a column per parameter and output.

    Returns the parameter and output names it has columns for.
    """
    params = [r[0] for r in con.execute(
        "SELECT name FROM params GROUP BY name ORDER BY MIN(rowid)")]
    outputs = [r[0] for r in con.execute(
        "SELECT name FROM outputs GROUP BY name ORDER BY MIN(rowid)")]

    def column(name: str) -> str:
        return _sql_name(f"{name}:1" if name in RUNS_BOOKKEEPING else name)

    columns = [
        *(f"{sql} AS {name}" for name, sql in _RUNS_FIRST),
        *(f"(SELECT value FROM params p WHERE p.iteration_id = i.iteration_id AND "
          f"p.name = {_sql_text(n)}) AS {column(n)}" for n in params),
        *(f"(SELECT value FROM outputs o WHERE o.iteration_id = i.iteration_id AND "
          f"o.name = {_sql_text(n)}) AS {column(n)}" for n in outputs
          if n not in params),
        *(f"{sql} AS {name}" for name, sql in _RUNS_LAST),
    ]
    con.execute("DROP VIEW IF EXISTS runs")
    con.execute(
        f"CREATE VIEW runs AS SELECT {', '.join(columns)} FROM iterations i "
        "JOIN sweeps s USING (sweep_id) ORDER BY i.iteration_seq"
    )
    return set(params), set(outputs)


def connect(path: Path) -> sqlite3.Connection:
    try:
        con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.OperationalError as exc:
        raise StoreError(f"cannot open the study {path}: {exc}") from None
    con.row_factory = sqlite3.Row
    con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    mode = retry_locked(lambda: con.execute("PRAGMA journal_mode = WAL").fetchone()[0])
    if mode.lower() != "wal":  # e.g. a filesystem without shared memory: still correct
        con.execute("PRAGMA journal_mode = DELETE")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute("PRAGMA foreign_keys = ON")
    return con


def retry_locked(action: Callable[[], Any], seconds: float = BUSY_TIMEOUT_MS / 1000) -> Any:
    """Run ``action``, retrying while another process holds a lock it cannot wait for."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def writable(path: Path) -> bool:
    """Whether this process can write the study: the file, its folder (SQLite keeps the
    write-ahead log beside it) and the log files that exist."""
    siblings = [Path(f"{path}{suffix}") for suffix in ("-wal", "-shm")]
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK) and all(
        os.access(p, os.W_OK) for p in siblings if p.exists())


def open_read_only(path: Path) -> sqlite3.Connection:
    """A connection to the study that never writes to it.

    Without write access to the folder SQLite cannot share the write-ahead log, so the file
    is read as it is on disk (``immutable``), with a warning if the log holds changes. An
    older schema is migrated in a private in-memory copy, never on disk.
    """
    con, log_unread = _connect_read_only(path)
    if log_unread:
        warnings.warn(
            f"{path}-wal holds changes not yet written into {path.name}, and without write "
            f"access to {path.parent} they cannot be read: the latest iterations may be "
            "missing. Open the study once where it can be written to include them.",
            RuntimeWarning, stacklevel=3)
    if con.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
        memory = sqlite3.connect(":memory:", isolation_level=None)
        con.backup(memory)
        con.close()
        memory.row_factory = sqlite3.Row
        migrate(memory, path)
        con = memory
    return con


def _connect_read_only(path: Path) -> tuple[sqlite3.Connection, bool]:
    """A read-only connection, and whether a write-ahead log it cannot read holds changes."""
    uri = path.resolve().as_uri()
    try:
        con = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                              isolation_level=None)
    except sqlite3.OperationalError as exc:
        raise StoreError(f"cannot open the study {path}: {exc}") from None
    con.row_factory = sqlite3.Row
    try:
        retry_locked(lambda: con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone())
        return con, False
    except sqlite3.Error as exc:
        con.close()
        if not isinstance(exc, sqlite3.OperationalError) or "unable to open" not in str(exc):
            raise
    # a WAL database without a -shm file, and none can be made: read the file as it is
    con = sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)
    con.row_factory = sqlite3.Row
    log = Path(f"{path}-wal")
    return con, log.exists() and log.stat().st_size > 0


def check_study_file(path: Path) -> bool:
    """Refuse, without changing it, a file that is not a py3r-script study, or a study from
    a newer py3r-script; return False for an empty SQLite database (a study to create).

    The header is read through SQLite, not from the file (in WAL mode a new study's header
    may still be in the write-ahead log), on a read-only connection, and in one statement:
    one consistent snapshot, even while another process is creating the study.
    """
    try:
        with open(path, "rb") as handle:
            magic = handle.read(16)
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc}") from None
    if magic != b"SQLite format 3\x00":
        raise StudyPathError(f"{path} is not a py3r-script study (not an SQLite database)",
                             "choose another file name for store=")
    try:
        con = _connect_read_only(path)[0]
        try:
            application_id, user_version, objects = retry_locked(lambda: con.execute(
                "SELECT (SELECT application_id FROM pragma_application_id), "
                "(SELECT user_version FROM pragma_user_version), "
                "(SELECT COUNT(*) FROM sqlite_master)").fetchone())
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} cannot be read as a study: {exc}") from None
    if application_id == APPLICATION_ID:
        _refuse_newer(path, user_version)
        return True
    if application_id != 0 or user_version or objects:  # another program's database
        raise StudyPathError(f"{path} is an SQLite database but not a py3r-script study",
                             "choose another file name for store=")
    return False


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
