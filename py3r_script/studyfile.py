"""The study database file: its schema and version, and opening it safely.

A study is an SQLite file in WAL mode whose header carries py3r-script's application id
and the schema version (``PRAGMA user_version``). Opening never changes a file that is not
a study, and a study from a newer py3r-script is refused; an older one is migrated forward,
one version at a time, inside one transaction.
"""

from __future__ import annotations

import datetime as _dt
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

from .errors import StoreError

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "check_study_file", "connect", "create",
           "migrate", "rebuild_view", "transaction"]

SCHEMA_VERSION = 1
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
    label             TEXT
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
    env_json          TEXT NOT NULL
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

# Upgrades from schema version N to N + 1, applied in order inside one transaction.
_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {}



@contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken up front so concurrent writers queue, not deadlock."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


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


def migrate(con: sqlite3.Connection, path: Path) -> None:
    """Bring an older study up to ``SCHEMA_VERSION``; refuse one from a newer py3r-script."""
    version = con.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer py3r-script (study schema {version}; this "
            f"version reads up to {SCHEMA_VERSION}). Upgrade py3r-script to open it."
        )
    if version == SCHEMA_VERSION:
        return
    with transaction(con):
        for step in range(version, SCHEMA_VERSION):
            _MIGRATIONS[step](con)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def rebuild_view(con: sqlite3.Connection) -> tuple[set[str], set[str]]:
    """Recreate ``runs``: one row per iteration, a column per parameter and output.

    Returns the parameter and output names it has columns for.
    """
    params = [r[0] for r in con.execute(
        "SELECT name FROM params GROUP BY name ORDER BY MIN(rowid)")]
    outputs = [r[0] for r in con.execute(
        "SELECT name FROM outputs GROUP BY name ORDER BY MIN(rowid)")]
    columns = [
        "i.iteration_seq AS _iteration_seq", "s.sweep_seq AS _sweep_seq",
        "i.status AS _status",
        *(f"(SELECT value FROM params p WHERE p.iteration_id = i.iteration_id AND "
          f"p.name = {_sql_text(n)}) AS {_sql_name(n)}" for n in params),
        *(f"(SELECT value FROM outputs o WHERE o.iteration_id = i.iteration_id AND "
          f"o.name = {_sql_text(n)}) AS {_sql_name(n)}" for n in outputs
          if n not in params),
        "i.error AS _error", "i.duration_s AS _duration_s", "i.started_utc AS _started_utc",
        "i.finished_utc AS _finished_utc", "i.host AS _host", "i.script AS _script",
        "i.script_sha256 AS _script_sha256", "i.iteration_id AS _iteration_id",
        "i.sweep_id AS _sweep_id", "i.label AS _label", "i.workdir AS _workdir",
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


def check_study_file(path: Path) -> None:
    """Refuse, without changing it, a file that is not a py3r-script study.

    The header is read through SQLite, not from the file: in WAL mode a new study's header
    may still be in the write-ahead log.
    """
    try:
        with open(path, "rb") as handle:
            magic = handle.read(16)
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc}") from None
    if magic != b"SQLite format 3\x00":
        raise StoreError(
            f"{path} is not a py3r-script study (not an SQLite database); choose another "
            "file name for store="
        )
    con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        def read() -> tuple[int, int, int]:
            return (con.execute("PRAGMA application_id").fetchone()[0],
                    con.execute("PRAGMA user_version").fetchone()[0],
                    con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0])

        application_id, user_version, objects = retry_locked(read)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} cannot be read as a study: {exc}") from None
    finally:
        con.close()
    if application_id != APPLICATION_ID and (user_version or objects):
        raise StoreError(
            f"{path} is an SQLite database but not a py3r-script study; choose another file "
            "name for store="
        )


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
