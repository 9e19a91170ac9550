"""Reuse decisions: which stored iterations can stand for a new run of the same work.

An iteration is reused when it succeeded running the same script content with the same
arguments, environment additions and interpreter, and captured every requested output,
each still loadable (a side file present in the study's side folder, at the size it was
written with). Decided from the rows and the side files' sizes alone: nothing is
unpickled.

The same interpreter is the same identity (``interpreters``: resolved executable, prefix,
version), however its path was spelled; an iteration stored without an identity (by an
older py3r-script, its interpreter gone since) matches by path and version, as it then did.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path

from . import studyrows
from .interpreters import Interpreters
from .sidepaths import OutsideSideFolder, locate

__all__ = ["loadable", "reusable"]

def reusable(
    con: sqlite3.Connection,
    study: Path,
    script_sha256: str,
    requested_outputs: Collection[str] | None,
    argv: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    *,
    python: str | None = None,
    declared: Collection[str] | None = None,
    interpreters: Interpreters | None = None,
) -> dict[tuple[str, int], str]:
    """Successful iterations that can stand for a new run: (parameter-set digest,
    replicate) -> iteration id (the latest). ``study`` is the study's path (side files are
    in its side folder); ``interpreters`` remembers what was asked of them; the other arguments are
    those of :meth:`~py3r_script.store.study.Study.reusable`.

    >>> reusable(con, Path("study.db"), file_sha256("pipeline.py"), ["y"])  # doctest: +SKIP
    {('6a1f...', 0): '3f2a9c...'}
    """
    known = interpreters or Interpreters()
    interpreter = python or sys.executable
    rows = con.execute(
        "SELECT i.iteration_id, i.params_sha256, i.replicate, i.requested_outputs IS NULL, "
        "o.name, o.file, o.size FROM iterations i LEFT JOIN outputs o USING (iteration_id) "
        "WHERE i.script_sha256 = ? AND i.status = 'ok' AND i.argv_json = ? AND "
        "i.env_json = ? AND (i.interpreter_key = ? OR (i.interpreter_key IS NULL AND "
        "i.interpreter = ? AND i.python = ?)) ORDER BY i.iteration_seq, o.position",
        (script_sha256, json.dumps(list(argv)), studyrows.env_key(env or {}),
         known.identity(python), interpreter, known.version(python)),
    )
    candidates: dict[str, tuple[tuple[str, int], bool, dict[str, tuple[str | None, int]]]] = {}
    for iteration_id, digest, replicate, everything, name, file, size in rows:
        entry = candidates.setdefault(iteration_id, ((digest, replicate), bool(everything), {}))
        if name is not None:
            entry[2][name] = (file, size)
    found: dict[tuple[str, int], str] = {}
    for iteration_id, (key, everything, captured) in candidates.items():
        if requested_outputs is not None:
            serves = loadable(study, captured, requested_outputs)
        else:
            serves = (everything and loadable(study, captured, captured)) or (
                declared is not None and loadable(study, captured, declared))
        if serves:
            found[key] = iteration_id
    return found


def loadable(study: Path, captured: Mapping[str, tuple[str | None, int]],
             names: Iterable[str]) -> bool:
    """Whether every output in ``names`` was captured and its side file (if any) is
    whole: in the side folder of the study at ``study``, with the size it was written
    with. ``captured`` maps each output an iteration captured to its side file (``None``
    when inline) and size.

    >>> loadable(Path("study.db"), {"y": (None, 12)}, ["y"])
    True
    """
    for name in names:
        if name not in captured:
            return False
        file, size = captured[name]
        if file is not None:
            try:
                if locate(study, file).stat().st_size != size:
                    return False
            except (OSError, OutsideSideFolder):
                return False
    return True
