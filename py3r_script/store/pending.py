"""A prepared sweep's pending iterations: written by the driver, read by job-array tasks.

``prepare=True`` plans a sweep into the study with every iteration it must run as a row of
``pending_items`` (its task as JSON: plain values only, nothing to unpickle). Tasks read
them through a read-only connection (workers never write the study); an iteration is
done once the study holds its ``iteration_id``. Progress per sweep is
:func:`sweep_progress`: pending, running (a worker's mark in the inbox, see
:mod:`~py3r_script.store.claims`), stale (the mark of a task that ended), done, failed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import inbox, studyfile
from .claims import claim_state, claims

__all__ = ["PendingItem", "SweepProgress", "add_pending", "pending_items", "sweep_progress"]


@dataclass(frozen=True)
class PendingItem:
    """One iteration a prepared sweep planned: where in which sweep, and its task's fields."""

    sweep_id: str
    plan_index: int
    iteration_id: str
    task: dict[str, Any]
    done: bool


@dataclass(frozen=True)
class SweepProgress:
    """How far a sweep is: iterations pending, running, done (ok) and failed; and ``stale``,
    those claimed by a task on this host that has ended (killed) before finishing them."""

    sweep_seq: int
    sweep_id: str
    status: str
    pending: int
    running: int
    done: int
    failed: int
    stale: int = 0
    stale_shares: tuple[tuple[int, int] | None, ...] = ()
    """The ``(task, of)`` shares of the stale claims (``None``: not a job-array task's)."""
    elsewhere: tuple[str, ...] = ()
    """The other hosts the running iterations run on (their processes cannot be checked)."""


def add_pending(path: Path, sweep_id: str, items: Iterable[tuple[int, str, dict[str, Any]]]
                ) -> None:
    """Store a prepared sweep's ``(plan_index, iteration_id, task fields)`` and mark it
    ``prepared``, in one transaction (the driver's side).

    >>> add_pending(Path("s.db"), sweep_id, [(0, "3f2a...", {"script": "/a.py"})])  # doctest: +SKIP
    """
    con = studyfile.connect(path)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.executemany("INSERT INTO pending_items VALUES (?,?,?,?,?)", [
            (sweep_id, index, iteration_id, json.dumps(task), task.get("replicate", 0))
            for index, iteration_id, task in items])
        con.execute("UPDATE sweeps SET status = 'prepared' WHERE sweep_id = ?", (sweep_id,))
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def pending_items(path: Path) -> list[PendingItem]:
    """Every planned item of the study's prepared sweeps, in sweep then plan order
    (read-only: what job-array tasks call).

    >>> [item.plan_index for item in pending_items(Path("s.db"))]  # doctest: +SKIP
    [0, 1, 2]
    """
    con = studyfile.open_read_only(path)
    try:
        rows = con.execute(
            "SELECT p.sweep_id, p.plan_index, p.iteration_id, p.task_json, "
            "i.iteration_id IS NOT NULL FROM pending_items p "
            "JOIN sweeps s USING (sweep_id) "
            "LEFT JOIN iterations i ON i.iteration_id = p.iteration_id "
            "ORDER BY s.sweep_seq, p.plan_index").fetchall()
    except sqlite3.OperationalError as exc:
        raise sqlite3.OperationalError(f"{path} holds no prepared sweep ({exc})") from None
    finally:
        con.close()
    return [PendingItem(r[0], r[1], r[2], json.loads(r[3]), bool(r[4])) for r in rows]


def sweep_progress(path: Path) -> list[SweepProgress]:
    """Per prepared sweep of the study: pending, running, done, failed (read-only).

    >>> sweep_progress(Path("s.db"))[0].pending  # doctest: +SKIP
    4
    """
    folder = inbox.inbox_dir(path)
    held = {claim.iteration_id: claim for claim in claims(folder, inbox.running_ids(folder))}
    con = studyfile.open_read_only(path)
    try:
        sweeps = con.execute(
            "SELECT s.sweep_seq, s.sweep_id, s.status, p.iteration_id, i.status "
            "FROM pending_items p JOIN sweeps s USING (sweep_id) "
            "LEFT JOIN iterations i ON i.iteration_id = p.iteration_id "
            "ORDER BY s.sweep_seq").fetchall()
    except sqlite3.OperationalError:  # a study of an older schema, read-only: none prepared
        return []
    finally:
        con.close()
    counts: dict[tuple[int, str, str], list[int]] = {}
    stale: dict[str, set[tuple[int, int] | None]] = {}
    hosts: dict[str, set[str]] = {}
    for seq, sweep_id, status, iteration_id, outcome in sweeps:
        tally = counts.setdefault((seq, sweep_id, status), [0, 0, 0, 0, 0])
        claim = held.get(iteration_id) if outcome is None else None
        state = None if claim is None else claim_state(claim)
        if outcome is not None:
            tally[2 if outcome == "ok" else 3] += 1
        elif claim is None:
            tally[0] += 1
        elif state == "stale":
            tally[4] += 1
            stale.setdefault(sweep_id, set()).add(
                None if claim.task is None or claim.of is None else (claim.task, claim.of))
        else:
            tally[1] += 1
            if state == "elsewhere":
                hosts.setdefault(sweep_id, set()).add(claim.host)
    return [SweepProgress(seq, sweep_id, status, pending=tally[0], running=tally[1],
                          done=tally[2], failed=tally[3], stale=tally[4],
                          stale_shares=tuple(sorted(stale.get(sweep_id, ()), key=_share_order)),
                          elsewhere=tuple(sorted(hosts.get(sweep_id, ()))))
            for (seq, sweep_id, status), tally in counts.items()]


def _share_order(share: tuple[int, int] | None) -> tuple[int, int]:
    return share or (-1, -1)
