"""Who holds a prepared sweep's running iterations, and whether that process still runs.

A job-array task (or an executor's job) leaves ``<iteration_id>.running`` in the study's
inbox while it runs an iteration (:func:`~py3r_script.store.inbox.mark_running`): its host,
pid and start time, and the share it runs (``--task I --of N``). A task killed outright
(SIGKILL, a node lost, a wall-time limit) leaves that claim behind. :func:`claim_state`
tells the three cases apart: a live process on this host (``"running"``), a process on this
host that has ended (``"stale"``: run that task again, it takes the iteration over), or a
process on another host (``"elsewhere"``: it cannot be checked from here).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass

from ..child.procfs import pid_alive, start_time

__all__ = ["Claim", "claim_state", "claims"]


@dataclass(frozen=True)
class Claim:
    """A worker's mark on an iteration it runs: where, which process, which share."""

    iteration_id: str
    host: str
    pid: int
    started: int | None = None
    """The process's start time (clock ticks after boot); ``None`` when not known."""
    task: int | None = None
    of: int | None = None


def claims(folder: str, ids: set[str]) -> list[Claim]:
    """The claims in the inbox ``folder`` on the iterations ``ids`` (from
    :func:`~py3r_script.store.inbox.running_ids`); an unreadable one is a claim of an
    unknown process on an unknown host.

    >>> claims("s.db-inbox", {"3f2a..."})[0].host  # doctest: +SKIP
    'node17'
    """
    found = []
    for iteration_id in sorted(ids):
        try:
            flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
            with os.fdopen(os.open(os.path.join(folder, f"{iteration_id}.running"), flags),
                           "rb") as handle:
                fields = json.loads(handle.read(4096))
            found.append(Claim(iteration_id, str(fields["host"]), int(fields["pid"]),
                               _number(fields.get("started")), _number(fields.get("task")),
                               _number(fields.get("of"))))
        except (OSError, ValueError, KeyError, TypeError):
            found.append(Claim(iteration_id, "?", 0))
    return found


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def claim_state(claim: Claim) -> str:
    """``"running"`` (its process runs on this host), ``"stale"`` (it ran on this host and
    has ended) or ``"elsewhere"`` (another host, or not known: cannot be checked here).

    A process with the claim's pid that started at another time is another one (the pid was
    given again): the claim is stale.

    >>> claim_state(Claim("3f2a...", socket.gethostname(), os.getpid(), start_time()))
    'running'
    """
    if claim.host != socket.gethostname() or claim.pid <= 0:
        return "elsewhere"
    if claim.started is not None and (now := start_time(claim.pid)) is not None:
        return "running" if now == claim.started else "stale"
    return "running" if pid_alive(claim.pid) else "stale"  # ended, a zombie, or no /proc
