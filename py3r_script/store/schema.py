"""The study schema: its tables, the ``runs`` view, and the steps that upgrade older ones.

The schema version is the file's ``PRAGMA user_version`` and ``APPLICATION_ID`` its
``PRAGMA application_id``; ``studyfile`` creates, opens and migrates the file with them.
"""

from __future__ import annotations

import sqlite3
from typing import Callable

__all__ = ["APPLICATION_ID", "MIGRATIONS", "RUNS_BOOKKEEPING", "SCHEMA_SQL", "SCHEMA_VERSION",
           "rebuild_view", "view_names"]

SCHEMA_VERSION = 3
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
""" + """
CREATE TABLE pending_items (
    sweep_id     TEXT NOT NULL REFERENCES sweeps(sweep_id),
    plan_index   INTEGER NOT NULL,
    iteration_id TEXT NOT NULL UNIQUE,
    task_json    TEXT NOT NULL,
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
    """Schema 3: ``pending_items``, the iterations a prepared sweep (``prepare=True``) planned
    for job-array tasks to run; none in a study an older version wrote."""
    table = SCHEMA_SQL[SCHEMA_SQL.index("CREATE TABLE pending_items"):]
    con.execute(table.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3}
"""Upgrades from schema version N to N + 1, applied in order inside one transaction. New
columns go at the end of their table, so a migrated study has the columns of a new one."""


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

    >>> rebuild_view(con)  # doctest: +SKIP
    ({'x'}, {'y', 'z'})
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
