"""Keeping a study sound: backup copies, and what writers that died (or that still run an
older py3r-script) leave behind when a study is opened."""

from __future__ import annotations

import datetime as _dt
import socket
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from ..child.procfs import pid_alive, started_at
from ..errors import StoreError
from . import sidefiles, sidepaths
from .schema import SCHEMA_VERSION

__all__ = ["DRIVER_START_SLACK", "abandoned_sweeps", "backup", "driver_gone", "partial_files",
           "refuse_live_older_writers", "remove_dead_writers_files"]


DRIVER_START_SLACK = 10.0
"""Seconds a process may seem to have started after the sweep it drove (clock ticks and the
boot time are coarse; the wall clock may be stepped) and still be taken for its driver."""


def abandoned_sweeps(con: sqlite3.Connection) -> list[str]:
    """The sweeps still ``running`` whose driver on this host is gone (killed, crashed).

    >>> abandoned_sweeps(con)  # doctest: +SKIP
    ['9b1e...']
    """
    rows = con.execute(
        "SELECT sweep_id, driver_pid, created_utc FROM sweeps WHERE status = 'running' "
        "AND host = ?", (socket.gethostname(),),
    ).fetchall()
    return [row[0] for row in rows if row[1] is not None and driver_gone(row[1], row[2])]


def driver_gone(pid: int, created_utc: str | None) -> bool:
    """Whether the driver ``pid`` of a sweep created at ``created_utc`` (ISO 8601) on this
    host has ended. A process with that pid which started after the sweep did is another
    one, given the pid later: the driver is gone.

    >>> driver_gone(4121, "2025-01-01T12:00:00+00:00")  # doctest: +SKIP
    True
    """
    if not pid_alive(pid):
        return True
    started = started_at(pid)
    try:
        created = _dt.datetime.fromisoformat(created_utc or "").timestamp()
    except ValueError:
        return False
    return started is not None and started > created + DRIVER_START_SLACK


def refuse_live_older_writers(con: sqlite3.Connection, path: Path) -> None:
    """Refuse to upgrade a study that a sweep of an older py3r-script on this host is
    still writing: its next commits would fail. Abandoned sweeps must be marked
    ``interrupted`` before, so that only live writers count.

    >>> refuse_live_older_writers(con, Path("study.db"))  # doctest: +SKIP
    """
    running = con.execute(
        "SELECT driver_pid FROM sweeps WHERE status = 'running' AND host = ?",
        (socket.gethostname(),)).fetchall()
    if running:
        raise StoreError(
            f"{path} needs upgrading to study schema {SCHEMA_VERSION}, but a sweep "
            f"of an older py3r-script (process {running[0][0]}) is still writing it; let "
            "it finish (or stop it), then open the study again")


def partial_files(outputs_dir: Path, *, schema: int) -> list[Path]:
    """Side files still being written (or whose writer died writing them), for a study
    that had study schema ``schema`` when it was opened.

    >>> partial_files(Path("study.db-outputs"), schema=2)  # doctest: +SKIP
    [PosixPath('study.db-outputs/partial/4121@host@3f2a...pkl')]
    """
    found = [*outputs_dir.joinpath(sidefiles.PARTIAL).glob("*@*@*")]
    if schema == 1:
        found += outputs_dir.glob("*/*.pkl.tmp*")  # schema 1 wrote them in place
    return found


def remove_dead_writers_files(files: Iterable[Path]) -> None:
    """Delete the partial side files among ``files`` whose writer on this host is gone.

    >>> remove_dead_writers_files(partial_files(Path("study.db-outputs"), schema=2))
    ... # doctest: +SKIP
    """
    host = socket.gethostname()
    for file in files:
        pid, where = sidefiles.writer_of(file.name)
        if pid.isdigit() and where in ("", host) and not pid_alive(int(pid)):
            file.unlink(missing_ok=True)


def backup(con: sqlite3.Connection, path: Path) -> Path:
    """Copy the study at ``path`` (open on ``con``) to ``<name>.bak-<UTC time>``, with
    its own side files; return the copy's path.

    The database is copied with SQLite's backup API; side files go to the copy's own
    ``-outputs/`` folder (hard links when the filesystem allows, as side files never
    change once written).

    >>> backup(con, Path("study.db"))  # doctest: +SKIP
    PosixPath('study.db.bak-20250101T120000000000Z')
    """
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.bak-{stamp}")
    try:
        copy = sqlite3.connect(target, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot back up {path} to {target}: {exc}") from None
    try:
        con.backup(copy)
        files = [r[0] for r in copy.execute(
            "SELECT DISTINCT file FROM outputs WHERE file IS NOT NULL")]
        for file in files:  # those of the copied snapshot
            try:
                origin = sidepaths.locate(path, file)
                copied = sidepaths.locate(target, sidefiles.moved(file, target))
            except sidepaths.OutsideSideFolder:
                continue  # never followed: the copy lists the output unavailable, as the study
            sidefiles.link_or_copy(origin, copied)
        copy.create_function("moved", 1, lambda file: sidefiles.moved(file, target),
                             deterministic=True)
        copy.execute("UPDATE outputs SET file = moved(file) WHERE file IS NOT NULL")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot back up {path} to {target}: {exc}") from None
    finally:
        copy.close()
    return target
