"""Damaged studies: telling SQLite's corruption errors apart, checking a study before it is
written, and saying how to recover.

A damaged page (a disk fault, a copy cut short, a file edited by hand) makes SQLite raise
"database disk image is malformed" wherever a query reaches it, and a page no query reads
can go unnoticed until a write spreads the damage. So every error that reaches a damaged
page becomes a :class:`~py3r_script.errors.StudyDamagedError`, and a study is checked
(``PRAGMA quick_check``) before the first write of each opening.
"""

from __future__ import annotations

import functools
import inspect
import shlex
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, TypeVar

from ..errors import StudyDamagedError

__all__ = ["check", "damaged", "guard", "guard_methods", "is_damage", "newest_backup"]

_CORRUPT, _NOT_A_DATABASE = 11, 26  # SQLITE_CORRUPT, SQLITE_NOTADB (primary result codes)
_MESSAGES = ("malformed", "not a database", "corrupt")

Kind = TypeVar("Kind", bound=type)


def is_damage(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from, e.g. by pandas) is SQLite
    finding the file corrupt.

    >>> is_damage(sqlite3.DatabaseError("database disk image is malformed"))
    True
    """
    seen = _sqlite_error(exc)
    if seen is None:
        return False
    code = getattr(seen, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF in (_CORRUPT, _NOT_A_DATABASE)
    return any(text in str(seen) for text in _MESSAGES)


def newest_backup(path: Path) -> Path | None:
    """The newest ``<study>.bak-<UTC time>`` copy ``backup=True`` made of the study, if any.

    >>> newest_backup(Path("study.db"))  # doctest: +SKIP
    PosixPath('study.db.bak-20250101T120000000000Z')
    """
    copies = [p for p in path.parent.glob(f"{path.name}.bak-*")
              if p.is_file() and not p.name.endswith(("-wal", "-shm", "-journal"))]
    return max(copies, key=lambda p: p.name, default=None)


def damaged(path: Path, problem: object) -> StudyDamagedError:
    """The error that says the study at ``path`` is damaged (``problem``: what SQLite
    reported) and how to recover.

    >>> raise damaged(Path("study.db"), "database disk image is malformed")  # doctest: +SKIP
    """
    backup = newest_backup(path)
    name = path.name
    restore = (f"To recover, use its newest backup, {backup} (made by backup=True: a whole "
               "study with its own side files, lacking only what was stored after it), or "
               if backup is not None else
               "No backup of it was found (backup=True makes one before a sweep). To recover, ")
    return StudyDamagedError(
        f"{path} is damaged (SQLite: {problem}), so py3r-script neither reads it as a study "
        f"nor writes into it. {restore}salvage what SQLite can still read: sqlite3 "
        f"{shlex.quote(str(path))} .recover | sqlite3 recovered.db, then move {name} (and any "
        f"{name}-wal and {name}-shm) aside and rename recovered.db to {name}, so that its side "
        "files are found.",
        str(path), None if backup is None else str(backup))


@contextmanager
def guard(path: Path) -> Iterator[None]:
    """Turn SQLite finding the study at ``path`` corrupt into a ``StudyDamagedError``.

    >>> with guard(Path("study.db")):  # doctest: +SKIP
    ...     con.execute("SELECT * FROM iterations").fetchall()
    """
    try:
        yield
    except StudyDamagedError:
        raise
    except Exception as exc:
        if is_damage(exc):
            raise damaged(path, _reported(exc)) from None
        raise


def guard_methods(cls: Kind) -> Kind:
    """A class of objects with a ``path`` (an open study) whose public methods run under
    :func:`guard`: none lets SQLite's corruption error out bare.

    >>> @guard_methods  # doctest: +SKIP
    ... class Study: ...
    """
    for name, method in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(method):
            setattr(cls, name, _guarded(method))
    return cls


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        with guard(self.path):
            return method(self, *args, **kwargs)

    return run


def check(con: sqlite3.Connection, path: Path, schema: str = "main") -> None:
    """Refuse (``StudyDamagedError``) the study at ``path``, open on ``con`` as ``schema``,
    when SQLite's quick integrity check finds it damaged.

    >>> check(con, Path("study.db"))  # doctest: +SKIP
    """
    with guard(path):
        found = [row[0] for row in con.execute(f"PRAGMA {schema}.quick_check(5)")]
    if found != ["ok"]:
        raise damaged(path, "; ".join(found))


def _sqlite_error(exc: BaseException) -> sqlite3.DatabaseError | None:
    """The SQLite error ``exc`` is, or was raised from (not one it merely replaced)."""
    seen: BaseException | None = exc
    while seen is not None and not isinstance(seen, sqlite3.DatabaseError):
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return seen


def _reported(exc: BaseException) -> str:
    """What SQLite said, without pandas' wording around it."""
    return str(_sqlite_error(exc) or exc)
