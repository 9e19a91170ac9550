"""Side files: outputs too large for the study database, kept in files beside it.

An output whose stored form (Parquet, ``.npy`` or pickle, see ``formats``) is larger than
``INLINE_LIMIT`` bytes is streamed (never held twice in memory) to
``<study>-outputs/<id[:2]>/<id>-<name hash>.<parquet|npy|pkl>``: first under ``partial/``
with the writer's pid and host in the name, then moved into place, so what a killed writer
left is recognisable and removable. Reading checks the stored size and says exactly which
file is missing or cut short.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
from pathlib import Path
from typing import IO, Any

__all__ = ["INLINE_LIMIT", "PARTIAL", "SpillWriter", "Unloadable", "link_or_copy", "moved",
           "open_checked", "side_file", "writer_of"]

INLINE_LIMIT = 1 << 20
"""Outputs whose stored form is up to this many bytes are stored inside the database;
larger ones in files."""

PARTIAL = "partial"
"""The side-file folder's subfolder for files still being written."""


class Unloadable(Exception):
    """A stored output cannot be loaded; the message says why, naming the file."""


def side_file(outputs_dir: Path, iteration_id: str, name: str, suffix: str = ".pkl") -> Path:
    """Where output ``name`` of an iteration goes when it is too large to be inline.

    >>> side_file(Path("study.db-outputs"), "3f2a9c", "big").as_posix()
    'study.db-outputs/3f/3f2a9c-2a21fe6d592a.pkl'
    """
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return outputs_dir / iteration_id[:2] / f"{iteration_id}-{digest}{suffix}"


def open_checked(base: Path, file: str, size: int) -> IO[bytes]:
    """The side file ``file`` (relative to ``base``) open for reading, once it is checked to
    be whole; :class:`Unloadable` saying which file is missing or cut short otherwise.

    >>> with open_checked(Path("."), "study.db-outputs/3f/3f2a9c-5d1c.pkl", 14) as handle:
    ...     data = handle.read()  # doctest: +SKIP
    """
    path = base / file
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        raise Unloadable(
            f"its side file {path} is missing (the '{Path(file).parts[0]}' folder must stay "
            "next to the database)") from None
    except OSError as exc:
        raise Unloadable(f"its side file {path} cannot be read ({exc})") from None
    actual = os.fstat(handle.fileno()).st_size
    if actual != size:
        handle.close()
        raise Unloadable(f"its side file {path} is cut short ({actual} of {size} bytes)")
    return handle


def writer_of(name: str) -> tuple[str, str]:
    """The pid and host that wrote a partial side file (host ``""``: unknown, before
    schema 2, when it was ``<name>.tmp<pid>`` beside the finished files).

    >>> writer_of("4121@lab-pc@3f2a9c-5d1c.pkl"), writer_of("3f2a9c-5d1c.pkl.tmp4121")
    (('4121', 'lab-pc'), ('4121', ''))
    """
    if "@" in name:
        pid, host, _ = name.split("@", 2)
        return pid, host
    return name.rpartition(".tmp")[2], ""


def moved(file: str, target: Path) -> str:
    """Where a side file of another study goes beside ``target`` (same layout, its folder).

    >>> moved("laptop.db-outputs/3f/3f2a9c-5d1c.pkl", Path("all.db"))
    'all.db-outputs/3f/3f2a9c-5d1c.pkl'
    """
    return str(Path(f"{target.name}-outputs", *Path(file).parts[1:]))


def link_or_copy(source: Path, target: Path) -> None:
    """Hard-link ``source`` to ``target`` (side files never change), or copy it.

    >>> link_or_copy(Path("a.db-outputs/3f/x.pkl"), Path("b.db-outputs/3f/x.pkl"))
    ... # doctest: +SKIP
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except FileNotFoundError:
        return  # deleted meanwhile: the copy lists it as unavailable, like the study would
    except OSError:  # another filesystem, or one without hard links
        shutil.copyfile(source, target)


class SpillWriter:
    """A binary sink that keeps up to ``limit`` bytes in memory, then streams to a file.

    The file is written under ``partial`` as ``<pid>@<host>@<name>`` and moved to ``path``
    when complete, so what a killed writer leaves is recognisable, and removable. ``mac``,
    when given, is fed every byte written (a signature computed on the way).

    >>> sink = SpillWriter(INLINE_LIMIT, Path("study.db-outputs/3f/3f2a9c-5d1c.pkl"))
    >>> sink.write(b"small"), sink.finish(Path("."))
    (5, (b'small', None))
    """

    closed = False  # what pyarrow asks of a file it writes to

    def __init__(self, limit: int, path: Path, mac: Any = None) -> None:
        self._limit = limit
        self._path = path
        self._tmp = path.parent.parent / PARTIAL / \
            f"{os.getpid()}@{socket.gethostname()}@{path.name}"
        self._buffer: bytearray | None = bytearray()
        self._file: IO[bytes] | None = None
        self._mac = mac
        self.size = 0

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        pass

    def write(self, data: Any) -> int:
        # bytes, or (pickle protocol 5, NumPy-backed data) a PickleBuffer: take its raw bytes
        view = memoryview(data)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        count = view.nbytes
        self.size += count
        if self._mac is not None:
            self._mac.update(view)
        if self._file is None and self.size > self._limit:
            self._spill()  # before appending: a large buffer goes straight to the file
        if self._file is not None:
            self._file.write(view)
        else:
            assert self._buffer is not None
            self._buffer += view
        return count

    def _spill(self) -> None:
        self._tmp.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self._tmp, "wb")
        self._file.write(self._buffer or b"")
        self._buffer = None

    def finish(self, base: Path) -> tuple[bytes | None, str | None]:
        """``(blob, None)`` when it stayed small, else ``(None, path relative to base)``."""
        if self._file is None:
            return bytes(self._buffer or b""), None
        self._file.close()
        self._path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._tmp, self._path)
        return None, os.path.relpath(self._path, base)

    def discard(self) -> None:
        """Drop what was written (in memory, or the partial file)."""
        if self._file is not None:
            self._file.close()
            self._tmp.unlink(missing_ok=True)
            self._file = None
        self._buffer = bytearray()
        self.size = 0
