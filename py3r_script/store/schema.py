"""The study schema: its tables, the ``runs`` view, and the steps that upgrade older ones.

The schema version is the file's ``PRAGMA user_version`` and ``APPLICATION_ID`` its
``PRAGMA application_id``; ``studyfile`` creates, opens and migrates the file with them.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Collection
from typing import Callable

from .interpreters import Interpreters
from .sqlvalues import native_type

__all__ = ["APPLICATION_ID", "MIGRATIONS", "RUNS_BOOKKEEPING", "SCHEMA_SQL", "SCHEMA_VERSION",
           "rebuild_view", "view_names"]

SCHEMA_VERSION = 5
APPLICATION_ID = 0x70793372  # "py3r": marks the file as a py3r-script study

SCHEMA_SQL = """
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
    design_json       TEXT,
    environment       TEXT
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
    interpreter       TEXT,
    interpreter_key   TEXT,
    replicate         INTEGER NOT NULL DEFAULT 0
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
    format       TEXT NOT NULL DEFAULT 'pickle',
    signature    TEXT,
    PRIMARY KEY (iteration_id, name)
);
CREATE TABLE sweep_items (
    sweep_id     TEXT NOT NULL REFERENCES sweeps(sweep_id),
    plan_index   INTEGER NOT NULL,
    iteration_id TEXT NOT NULL REFERENCES iterations(iteration_id),
    reused       INTEGER NOT NULL,
    PRIMARY KEY (sweep_id, plan_index)
);
CREATE TABLE environment_packages (
    environment  TEXT NOT NULL,
    name         TEXT NOT NULL,
    version      TEXT NOT NULL,
    PRIMARY KEY (environment, name)
);
CREATE TABLE pending_items (
    sweep_id     TEXT NOT NULL REFERENCES sweeps(sweep_id),
    plan_index   INTEGER NOT NULL,
    iteration_id TEXT NOT NULL UNIQUE,
    task_json    TEXT NOT NULL,
    replicate    INTEGER NOT NULL DEFAULT 0,
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


def _v2_to_v3(con: sqlite3.Connection) -> None:
    """Schema 3: outputs stored by kind (``format``: ``value``, ``parquet``, ``npy`` or
    ``pickle``) with pickles signed (``signature``), each iteration's interpreter identity
    (``interpreter_key``) and each sweep's installed packages (``environment``, and the
    ``environment_packages`` table). Every output stored before was a pickle, unsigned;
    those of scalar types are read from their ``value`` column from now on, without
    unpickling. Interpreter identities are filled in where the stored path still names the
    same Python on this host; the others keep matching by path and version."""
    con.execute("ALTER TABLE sweeps ADD COLUMN environment TEXT")
    con.execute("ALTER TABLE iterations ADD COLUMN interpreter_key TEXT")
    con.execute("ALTER TABLE outputs ADD COLUMN format TEXT NOT NULL DEFAULT 'pickle'")
    con.execute("ALTER TABLE outputs ADD COLUMN signature TEXT")
    con.execute("CREATE TABLE environment_packages (environment TEXT NOT NULL, name TEXT NOT "
                "NULL, version TEXT NOT NULL, PRIMARY KEY (environment, name))")
    scalars = [(name,) for (name,) in con.execute("SELECT DISTINCT type FROM outputs")
               if native_type(name) is not None]
    con.executemany("UPDATE outputs SET format = 'value' WHERE type = ?", scalars)
    _fill_interpreter_keys(con)
    rebuild_view(con)


def _fill_interpreter_keys(con: sqlite3.Connection) -> None:
    """Identify the interpreters of iterations stored without an identity, where the path
    stored still names a Python of the same version on this host."""
    host = socket.gethostname()
    known = Interpreters()
    stored = con.execute(
        "SELECT DISTINCT interpreter, python FROM iterations WHERE interpreter_key IS NULL "
        "AND interpreter IS NOT NULL AND host = ?", (host,)).fetchall()
    for path, version in stored:
        if not isinstance(path, str) or not os.path.exists(path) \
                or known.version(path) != version:
            continue  # gone, or no longer the Python that ran them
        con.execute(
            "UPDATE iterations SET interpreter_key = ? WHERE interpreter_key IS NULL AND "
            "interpreter = ? AND python = ? AND host = ?",
            (known.identity(path), path, version, host))


def _v3_to_v4(con: sqlite3.Connection) -> None:
    """Schema 4: ``pending_items``, the iterations a prepared sweep (``prepare=True``) planned
    for job-array tasks to run; none in a study an older version wrote."""
    table = SCHEMA_SQL[SCHEMA_SQL.index("CREATE TABLE pending_items"):]
    table = table.replace("    replicate    INTEGER NOT NULL DEFAULT 0,\n", "")  # schema 5's
    con.execute(table.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))


def _v4_to_v5(con: sqlite3.Connection) -> None:
    """Schema 5: replicates. Each iteration (and each pending item of a prepared sweep)
    says which run of its parameter set it is (``replicate``, 0 to k - 1 for a sweep with
    ``replicates=k``); everything stored before ran each parameter set once, replicate 0."""
    con.execute("ALTER TABLE iterations ADD COLUMN replicate INTEGER NOT NULL DEFAULT 0")
    con.execute("ALTER TABLE pending_items ADD COLUMN replicate INTEGER NOT NULL DEFAULT 0")
    rebuild_view(con)


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4, 4: _v4_to_v5}
"""Upgrades from schema version N to N + 1, applied in order inside one transaction. New
columns go at the end of their table, so a migrated study has the columns of a new one."""


# Bookkeeping columns of the ``runs`` view; a parameter or output with one of these
# names, or an output named like a parameter, gets the column ``<name>:1`` instead, so
# queries on them mean one thing (as in ScriptResults.to_dataframe()).
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
    ("_workdir", "i.workdir"), ("_replicate", "i.replicate"),
)
RUNS_BOOKKEEPING = tuple(name for name, _ in (*_RUNS_FIRST, *_RUNS_LAST))


def rebuild_view(con: sqlite3.Connection) -> tuple[set[str], set[str]]:
    """Recreate ``runs``: one row per iteration, a column per parameter and output.

    Returns the parameter and output names it has columns for.

    >>> rebuild_view(con)  # doctest: +SKIP
    ({'x'}, {'y', 'z'})
    """
    params = [r[0] for r in con.execute(
        "SELECT name FROM params GROUP BY name ORDER BY MIN(rowid)")]
    outputs = [r[0] for r in con.execute(
        "SELECT name FROM outputs GROUP BY name ORDER BY MIN(rowid)")]

    def column(name: str, taken: Collection[str] = ()) -> str:
        return _sql_name(f"{name}:1" if name in RUNS_BOOKKEEPING or name in taken else name)

    has = {row[1] for row in con.execute("PRAGMA table_info(iterations)")}
    last = [(name, sql) for name, sql in _RUNS_LAST if sql[2:] in has]  # older steps: fewer
    columns = [
        *(f"{sql} AS {name}" for name, sql in _RUNS_FIRST),
        *(f"(SELECT value FROM params p WHERE p.iteration_id = i.iteration_id AND "
          f"p.name = {_sql_text(n)}) AS {column(n)}" for n in params),
        *(f"(SELECT value FROM outputs o WHERE o.iteration_id = i.iteration_id AND "
          f"o.name = {_sql_text(n)}) AS {column(n, params)}" for n in outputs),
        *(f"{sql} AS {name}" for name, sql in last),
    ]
    con.execute("DROP VIEW IF EXISTS runs")
    con.execute(
        f"CREATE VIEW runs AS SELECT {', '.join(columns)} FROM iterations i "
        "JOIN sweeps s USING (sweep_id) ORDER BY i.iteration_seq"
    )
    return set(params), set(outputs)


def view_names(con: sqlite3.Connection) -> tuple[set[str], set[str]]:
    """The parameter and output names the study holds: those ``runs`` has columns for.

    >>> view_names(con)  # doctest: +SKIP
    ({'x'}, {'y', 'z'})
    """
    return ({r[0] for r in con.execute("SELECT DISTINCT name FROM params")},
            {r[0] for r in con.execute("SELECT DISTINCT name FROM outputs")})


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
