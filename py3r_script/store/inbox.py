"""The study's inbox: finished records that workers leave next to the study for its writer.

Workers never write the SQLite file (its locking is unreliable over a network filesystem).
Each finished iteration's record, outputs included, is written by the worker that ran it,
atomically (a partial name, then ``os.replace``), as ``<iteration_id>.record`` in the
folder ``<study>-inbox/``; the study's one writer (the driver, ``collect``, any opening of
the study) ingests it into the database and only then removes it.

Reading an inbox file never runs code from it: a record is a pickle signed with this
user's key (``signing``), checked before anything is unpickled. A torn file, a file
signed with another key (a colleague's), or anything else is skipped with a warning saying
why, and left where it is; no other file is lost. Only plain files whose name is an
iteration id are read, never through a symbolic link, so nothing outside the folder is.
A worker also leaves ``<iteration_id>.running`` (its host and pid) while it runs one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING

from ..errors import warn
from .signing import signer

if TYPE_CHECKING:
    from ..records import IterationRecord
    from .study import Study

__all__ = ["MAGIC", "deposit", "discard", "ingest", "inbox_dir", "mark_running", "read_record",
           "records", "records_waiting", "running_ids", "unreadable"]

MAGIC = b"py3r-script inbox record 1\n"
_NAME = re.compile(r"^([0-9a-f]{32})\.(record|running|deleted)$")


def inbox_dir(study_path: str | os.PathLike[str]) -> str:
    """The inbox folder of the study at ``study_path``.

    >>> inbox_dir("/data/oft.db")
    '/data/oft.db-inbox'
    """
    return f"{os.path.abspath(study_path)}-inbox"


def deposit(folder: str, record: IterationRecord) -> bool:
    """Write ``record`` into the inbox ``folder``; ``False`` when this machine cannot (no
    such folder here: no shared filesystem, so the record travels back another way).

    >>> deposit("oft.db-inbox", record)  # doctest: +SKIP
    True
    """
    import cloudpickle  # the worker's side, not the child's: outputs may need it

    sign = signer(create=True)
    if sign is None or not os.path.isdir(folder) or not _NAME.match(
            f"{record.iteration_id}.record"):
        return False
    data = cloudpickle.dumps(record)
    mac = sign.new()
    mac.update(data)
    header = json.dumps({"iteration_id": record.iteration_id, "sweep_id": record.sweep_id,
                         "signature": sign.signature(mac), "size": len(data)})
    final = os.path.join(folder, f"{record.iteration_id}.record")
    partial = os.path.join(folder, f".{record.iteration_id}.{socket.gethostname()}."
                                   f"{os.getpid()}.partial")
    try:
        with open(partial, "wb") as handle:
            handle.write(MAGIC + header.encode() + b"\n" + data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, final)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        return False
    finally:
        _unmark(folder, record.iteration_id)
    return True


def mark_running(folder: str, iteration_id: str,
                 share: tuple[int, int] | None = None) -> None:
    """Leave ``<iteration_id>.running`` (host, pid, its start time, and the job-array
    ``share`` ``(task, of)`` if any) while a worker runs it (see
    :mod:`~py3r_script.store.claims`)."""
    if not os.path.isdir(folder) or not _NAME.match(f"{iteration_id}.running"):
        return
    from ..child.procfs import start_time

    fields = {"host": socket.gethostname(), "pid": os.getpid(), "started": start_time()}
    if share is not None:
        fields["task"], fields["of"] = share
    with contextlib.suppress(OSError), open(
            os.path.join(folder, f"{iteration_id}.running"), "w") as handle:
        json.dump(fields, handle)


def _unmark(folder: str, iteration_id: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(os.path.join(folder, f"{iteration_id}.running"))


def discard(folder: str, ids: Collection[str]) -> None:
    """Remove the inbox files (records waiting, claims) of the iterations ``ids``, deleted
    from the study, so that no opening brings them back. An iteration a worker still runs
    (it left its claim) gets a ``<id>.deleted`` note instead: its record, when it comes,
    is thrown away with the note, not ingested.

    >>> discard("oft.db-inbox", ["3f2a..."])  # doctest: +SKIP
    """
    for iteration_id in ids:
        if not _NAME.match(f"{iteration_id}.record"):
            continue
        path = os.path.join(folder, iteration_id)
        with contextlib.suppress(OSError):
            os.unlink(f"{path}.running")
            with open(f"{path}.deleted", "w"):
                pass  # only when there was a claim: the worker may still deliver it
        with contextlib.suppress(OSError):
            os.unlink(f"{path}.record")


def _deleted(folder: str, iteration_id: str) -> bool:
    """Whether the iteration was deleted while a worker ran it: then its record, which
    arrived since, and the note go (a late record is what the note waited for)."""
    path = os.path.join(folder, iteration_id)
    if not os.path.exists(f"{path}.deleted"):
        return False
    for kind in ("record", "deleted"):
        with contextlib.suppress(OSError):
            os.unlink(f"{path}.{kind}")
    return True


def records_waiting(folder: str) -> set[str]:
    """The iterations whose record is in the inbox, not yet ingested.

    >>> records_waiting("oft.db-inbox")  # doctest: +SKIP
    {'3f2a...'}
    """
    return {match.group(1) for match in _names(folder) if match.group(2) == "record"}


def running_ids(folder: str) -> set[str]:
    """The iterations a worker said it started and has not finished (or was killed in).

    >>> running_ids("oft.db-inbox")  # doctest: +SKIP
    {'3f2a...'}
    """
    return {match.group(1) for match in _names(folder) if match.group(2) == "running"}


def _names(folder: str) -> Iterator[re.Match[str]]:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        match = _NAME.match(entry.name)
        if match and not entry.is_symlink() and entry.is_file(follow_symlinks=False):
            yield match


def read_record(path: str) -> IterationRecord:
    """The record in the inbox file ``path``, its signature checked before unpickling.

    Raises ``ValueError`` saying why a file is not a record this user's workers wrote.

    >>> read_record("oft.db-inbox/3f2a....record").status  # doctest: +SKIP
    'ok'
    """
    import pickle

    sign = signer(create=False)
    if sign is None:
        raise ValueError("this user has no signing key, so no inbox record can be trusted")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(path, flags), "rb") as handle:
        if handle.read(len(MAGIC)) != MAGIC:
            raise ValueError("not an inbox record")
        try:
            header = json.loads(handle.readline(4096))
            signature, size = str(header["signature"]), int(header["size"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"its header is damaged ({exc})") from None
        data = handle.read(size + 1)
    if len(data) != size:
        raise ValueError(f"it is cut short or padded ({len(data)} of {size} bytes)")
    if not sign.owns(signature):
        raise ValueError("it was signed with another user's key (a colleague's worker?): "
                         "that user can collect it")
    if not sign.verify(signature, [data]):
        raise ValueError("its signature does not match its content (changed after writing)")
    record = pickle.loads(data)  # signed by this user's own key: written by our worker
    if f"{getattr(record, 'iteration_id', '')}.record" != os.path.basename(path):
        raise ValueError("it holds another iteration than its name says")
    return record  # type: ignore[no-any-return]


def records(folder: str, wanted: Collection[str] | None = None) -> Iterator[IterationRecord]:
    """The readable records in the inbox (``wanted``: only those iterations); a file that
    cannot be read is skipped, with a warning saying which and why (once per file).

    >>> [r.iteration_id for r in records("oft.db-inbox")]  # doctest: +SKIP
    ['3f2a...']
    """
    for match in _names(folder):
        if match.group(2) != "record" or (wanted is not None and match.group(1) not in wanted):
            continue
        path = os.path.join(folder, match.group(0))
        try:
            yield read_record(path)
        except Exception as exc:  # unreadable, foreign, torn: skip it, keep the others
            _skipped(path, exc)


def unreadable(folder: str, ids: Collection[str]) -> dict[str, str]:
    """Of the inbox's records of iterations ``ids``, those that cannot be read: path -> why.

    >>> unreadable("oft.db-inbox", records_waiting("oft.db-inbox"))  # doctest: +SKIP
    {}
    """
    found = {}
    for iteration_id in sorted(ids):
        path = os.path.join(folder, f"{iteration_id}.record")
        try:
            read_record(path)
        except Exception as exc:  # unreadable, foreign, torn: say why
            found[path] = str(exc) or type(exc).__name__
    return found


_warned: set[str] = set()


def _skipped(path: str, exc: BaseException) -> None:
    if path in _warned:
        return
    _warned.add(path)
    warn(f"the inbox file {path} was skipped and left where it is: {exc}. The other "
         "records are not affected; remove it once you know where it came from",
         RuntimeWarning)


def ingest(study: Study) -> int:
    """Commit the inbox's records into ``study`` (its one writer), removing each file once
    its iteration is in the study; returns how many were added.

    A record whose sweep the study does not hold is skipped (with a warning).

    >>> ingest(Study("oft.db"))  # doctest: +SKIP
    3
    """
    folder = inbox_dir(study.path)
    if study.read_only or not os.path.isdir(folder):
        return 0
    known = study.held_ids()
    sweeps = study.held_ids("sweeps")
    added = 0
    for record in records(folder):
        path = os.path.join(folder, f"{record.iteration_id}.record")
        if _deleted(folder, record.iteration_id):
            continue
        if record.iteration_id not in known:
            if record.sweep_id not in sweeps:
                _skipped(path, ValueError(f"its sweep {record.sweep_id} is not in this study"))
                continue
            study.add(record, sweep_id=record.sweep_id or "", plan_index=record.index)
            known.add(record.iteration_id)
            added += 1
        with contextlib.suppress(OSError):
            os.unlink(path)
    return added
