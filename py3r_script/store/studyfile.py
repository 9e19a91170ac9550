"""The study database file: creating, opening and upgrading it safely.

A study is an SQLite file in WAL mode whose header carries py3r-script's application id
and the schema version (``PRAGMA user_version``). Opening never changes a file that is not
a study, and a study from a newer py3r-script is refused before anything is written; an
older one is migrated forward, one version at a time, inside one transaction. A study that
cannot be written (a read-only file or folder) can still be opened for reading. The
tables and the upgrade steps themselves are ``schema``'s.
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
from . import damage, schema
from .schema import APPLICATION_ID, SCHEMA_VERSION

__all__ = ["BUSY_TIMEOUT_MS", "SCHEMA_VERSION", "check_path", "check_study_file", "connect",
           "create", "migrate", "open_read_only", "retry_locked", "transaction", "writable"]

BUSY_TIMEOUT_MS = 60_000
"""How long a connection waits for another writer's lock before it gives up."""


@contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken up front so concurrent writers queue, not deadlock.

    >>> with transaction(con):  # doctest: +SKIP
    ...     con.execute("UPDATE sweeps SET label = 'fine' WHERE sweep_seq = 0")
    """
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:  # also when COMMIT itself failed (busy, disk full): a retry
            con.execute("ROLLBACK")  # must start from a clean connection
        raise


def create(con: sqlite3.Connection, created_by: str) -> None:
    """Create the schema in an empty database (unless another process just did).

    >>> create(connect(Path("new.db")), "py3r-script 0.1.0")  # doctest: +SKIP
    """
    with transaction(con):
        if con.execute("PRAGMA user_version").fetchone()[0] != 0:
            return
        for statement in schema.SCHEMA_SQL.split(";"):
            if statement.strip():
                con.execute(statement)
        schema.rebuild_view(con)
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

    >>> migrate(connect(Path("old.db")), Path("old.db"))  # doctest: +SKIP
    1
    """
    version = con.execute("PRAGMA user_version").fetchone()[0]
    _refuse_newer(path, version)
    if version == SCHEMA_VERSION:
        return version
    with transaction(con):
        version = con.execute("PRAGMA user_version").fetchone()[0]  # now under the lock
        for step in range(version, SCHEMA_VERSION):
            upgrade = schema.MIGRATIONS.get(step)
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


def check_path(path: Path, *, create: bool, read_only: bool) -> tuple[bool, bool]:
    """Refuse a path that holds no study to open (or, with ``create``, none to create, or
    one this process cannot write); return whether a study file exists there and whether
    this process can write it.

    >>> check_path(Path("study.db"), create=True, read_only=False)  # doctest: +SKIP
    (True, True)
    """
    if path.is_dir():
        raise StudyPathError(f"{path} is a folder", "store= takes a database file path")
    exists = path.exists() and path.stat().st_size > 0
    if not exists and (read_only or not create):
        raise StudyPathError(f"no study at {str(path)!r}: the file does not exist or is empty")
    if not path.parent.is_dir():
        raise StoreError(f"cannot create the study {path}: the folder "
                         f"{path.parent} does not exist")
    if exists and not check_study_file(path) and (read_only or not create):
        raise StoreError(
            f"{path} is an empty SQLite database, not a study (yet: a sweep may be "
            "creating it right now); open a study a sweep wrote with store=...")
    can_write = not exists or writable(path)
    if create and not read_only and not can_write:
        raise StoreError(
            f"the study {path} cannot be written by this process (the file or its "
            "folder is read-only), so a sweep cannot store iterations in it; make it "
            "writable, or copy the study (and its '-outputs' folder) somewhere writable. "
            "load() still reads it.")
    return exists, can_write


def connect(path: Path) -> sqlite3.Connection:
    """A connection that writes the study: WAL mode (where the filesystem allows), waiting
    up to ``BUSY_TIMEOUT_MS`` for other writers.

    >>> con = connect(Path("study.db"))  # doctest: +SKIP
    """
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
    """Run ``action``, retrying while another process holds a lock it cannot wait for.

    >>> retry_locked(lambda: con.execute("PRAGMA journal_mode = WAL").fetchone()[0])
    ... # doctest: +SKIP
    'wal'
    """
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
    write-ahead log beside it) and the log files that exist.

    >>> writable(Path("study.db"))  # doctest: +SKIP
    True
    """
    siblings = [Path(f"{path}{suffix}") for suffix in ("-wal", "-shm")]
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK) and all(
        os.access(p, os.W_OK) for p in siblings if p.exists())


def open_read_only(path: Path) -> sqlite3.Connection:
    """A connection to the study that never writes to it.

    Without write access to the folder SQLite cannot share the write-ahead log, so the file
    is read as it is on disk (``immutable``), with a warning if the log holds changes. An
    older schema is migrated in a private in-memory copy, never on disk.

    >>> con = open_read_only(Path("/shared/oft_study.db"))  # doctest: +SKIP
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
        if not _cannot_share_log(exc):
            raise
    # a WAL database whose -shm file is missing and cannot be made (the folder or the file
    # is read-only for this user): no writer can be using it, so read the file as it is
    con = sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)
    con.row_factory = sqlite3.Row
    log = Path(f"{path}-wal")
    return con, log.exists() and log.stat().st_size > 0


def _cannot_share_log(exc: sqlite3.Error) -> bool:
    """Whether a read-only connection failed only because SQLite cannot create the shared
    memory index (``-shm``) of the write-ahead log: "unable to open" (its folder is
    read-only), or "readonly" (SQLITE_READONLY_DIRECTORY and kin, as a user without write
    access to the file and its folder sees it)."""
    message = str(exc)
    return isinstance(exc, sqlite3.OperationalError) and (
        "unable to open" in message or "readonly" in message)


def check_study_file(path: Path) -> bool:
    """Refuse, without changing it, a file that is not a py3r-script study, or a study from
    a newer py3r-script; return False for an empty SQLite database (a study to create).

    The header is read through SQLite, not from the file (in WAL mode a new study's header
    may still be in the write-ahead log), on a read-only connection, and in one statement:
    one consistent snapshot, even while another process is creating the study.

    >>> check_study_file(Path("study.db"))  # doctest: +SKIP
    True
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
        if damage.is_damage(exc):
            raise damage.damaged(path, exc) from None
        raise StoreError(f"{path} cannot be read as a study: {exc}") from None
    if application_id == APPLICATION_ID:
        _refuse_newer(path, user_version)
        return True
    if application_id != 0 or user_version or objects:  # another program's database
        raise StudyPathError(f"{path} is an SQLite database but not a py3r-script study",
                             "choose another file name for store=")
    return False
