"""Reading a study's outputs back without running code from it.

Scalars come from the ``outputs.value`` column, DataFrames, Series and arrays from Parquet
and ``.npy`` (never unpickled), as they are read. A pickle is left unread (a
:class:`~py3r_script.records.DeferredOutput`) until its output is asked for, and is
unpickled then only when this user's key signed exactly those bytes or the study was opened
with ``trusted=True``; any other is listed in ``record.outputs.untrusted``, and reading it
raises :class:`~py3r_script.errors.UntrustedOutputError` saying how to read it.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UntrustedOutputError
from ..records import DeferredOutput, FrozenOutputs
from . import formats, sidepaths, signing, sqlvalues
from .sidefiles import Unloadable, open_checked

__all__ = ["OUTPUT_COLUMNS", "StudyPickle", "StudyOutputs", "read_outputs"]

OUTPUT_COLUMNS = ("iteration_id", "name", "format", "type", "value", "blob", "file", "size",
                  "signature")
"""The ``outputs`` columns :func:`read_outputs` reads, in order."""
_STORED_AS = {"bool": int, "int": int, "float": float, "str": str, "NoneType": type(None)}
"""A plain scalar's type name -> the type SQLite gives it back as, when it is stored as
itself (not a NaN, a long integer or text that is not Unicode: ``sqlvalues`` reads those)."""


@dataclass
class StudyOutputs:
    """The outputs of the iterations read from a study: by iteration id, what was read (or
    deferred), what could not be loaded (name -> why) and what was not trusted."""

    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    unavailable: dict[str, dict[str, str]] = field(default_factory=dict)
    untrusted: dict[str, dict[str, UntrustedOutputError]] = field(default_factory=dict)

    def of(self, iteration_id: str) -> FrozenOutputs:
        """The outputs of one iteration, as its record holds them."""
        return FrozenOutputs(self.values.get(iteration_id), self.unavailable.get(iteration_id),
                             self.untrusted.get(iteration_id))


class StudyPickle(DeferredOutput):
    """A pickled output of a study, unpickled when first read if it may be.

    >>> source = StudyPickle.Source(None, False, "output 'm' of iteration 3f2a", "m", "s.db")
    >>> StudyPickle("dict", b"...", None, 3, source).type_name
    'dict'
    """

    @dataclass(frozen=True)
    class Source:
        """Where a pickle comes from: its signature, whether the study is trusted, and the
        words naming it (the output, the study) in messages."""

        signature: str | None
        trusted: bool
        where: str
        output: str
        study: str

    __slots__ = ("_blob", "_side", "_size", "_source", "_type")

    def __init__(self, type_name: str, blob: bytes | None, side: tuple[Path, str] | None,
                 size: int, source: StudyPickle.Source) -> None:
        self._type = type_name
        self._blob = blob
        self._side = side  # (the study's folder, the side file relative to it)
        self._size = size
        self._source = source

    @property
    def type_name(self) -> str:
        return self._type

    def load(self) -> Any:
        data = self._bytes()
        source = self._source
        if not source.trusted:
            signer = signing.signer(create=False)
            if signer is None or not signer.verify(source.signature, [data]):
                raise UntrustedOutputError(
                    f"{source.where} is a pickle ({self._type}) whose bytes do not match its "
                    "signature: it changed after py3r-script wrote it, so it was not "
                    "unpickled (unpickling can run any code). If you trust whoever could "
                    f"change the study: load({source.study!r}, trusted=True)",
                    source.output, source.study)
        try:
            return pickle.loads(data)
        except Exception as exc:
            raise KeyError(f"{source.where} cannot be unpickled here "
                           f"({type(exc).__name__}: {exc})") from None

    def _bytes(self) -> bytes:
        if self._side is None:
            return self._blob or b""
        try:
            with open_checked(*self._side, self._size) as handle:
                return handle.read()
        except Unloadable as problem:
            raise KeyError(f"{self._source.where} could not be loaded: {problem}") from None


def read_outputs(rows: Iterable[tuple[Any, ...]], base: Path, study: Path, *,
                 trusted: bool) -> StudyOutputs:
    """The outputs of ``rows`` (``OUTPUT_COLUMNS``, in capture order) of the study at
    ``study``, whose side files are relative to ``base``; ``trusted``: unpickle any pickle.

    >>> read_outputs(rows, Path("."), Path("study.db"), trusted=False)  # doctest: +SKIP
    """
    found = StudyOutputs()
    signer = signing.signer(create=False)
    values = found.values
    for iteration_id, name, fmt, type_name, value, blob, file, size, signature in rows:
        if fmt == "value" and file is None and type(value) is _STORED_AS.get(type_name):
            values.setdefault(iteration_id, {})[name] = \
                bool(value) if type_name == "bool" else value  # a plain scalar, as stored
            continue
        where = f"output {name!r} of iteration {iteration_id} in the study {study}"
        try:
            if file is not None:
                sidepaths.locate(study, file)  # never one outside the study's side folder
            doubt = None if fmt != "pickle" or trusted else _doubt(
                signer, signature, blob, None if file is None else (base, file), size)
            if doubt is not None:
                found.untrusted.setdefault(iteration_id, {})[name] = UntrustedOutputError(
                    f"{where} is a pickle ({type_name}) {doubt}; unpickling can run any code, "
                    "so it was not read. If you trust whoever wrote the study: "
                    f"load({str(study)!r}, trusted=True)", name, str(study))
                continue
            loaded = _read(fmt, type_name, value, blob, file, size, base,
                           StudyPickle.Source(signature, trusted, where, name, str(study)))
        except Unloadable as problem:
            found.unavailable.setdefault(iteration_id, {})[name] = str(problem)
            continue
        found.values.setdefault(iteration_id, {})[name] = loaded
    return found


def _read(fmt: str, type_name: str, value: Any, blob: bytes | None, file: str | None,
          size: int, base: Path, source: StudyPickle.Source) -> Any:
    """One stored output: its value, or (a pickle) a :class:`StudyPickle` to read later."""
    if fmt == "value":
        try:
            return sqlvalues.from_sql(type_name, value)
        except (ValueError, TypeError, OverflowError) as exc:
            raise Unloadable(f"its stored value cannot be read as a {type_name} ({exc})"
                             ) from None
    if fmt == "pickle":
        if file is not None:
            open_checked(base, file, size).close()  # there, whole: else unavailable now
        return StudyPickle(type_name, blob, None if file is None else (base, file), size,
                           source)
    if fmt not in ("parquet", "npy"):
        raise Unloadable(f"it is stored in an unknown format {fmt!r}")
    try:
        if file is None:
            return formats.read_safe(fmt, blob)
        with open_checked(base, file, size) as handle:
            return formats.read_safe(fmt, None, handle)
    except Unloadable:
        raise
    except Exception as exc:
        raise Unloadable(f"its {fmt} data cannot be read ({type(exc).__name__}: {exc})"
                         ) from None


def _doubt(signer: signing.Signer | None, signature: str | None, blob: bytes | None,
           side: tuple[Path, str] | None, size: int) -> str | None:
    """Why a pickle may not be unpickled (``None``: this user's key signed these bytes)."""
    if signer is None or not signer.owns(signature):
        return ("not signed with your py3r-script key (an older py3r-script or another user "
                "wrote it)")
    if side is None:
        chunks: Iterable[bytes] = [blob or b""]
        matches = signer.verify(signature, chunks)
    else:
        with open_checked(*side, size) as handle:
            matches = signer.verify(signature, iter(lambda: handle.read(1 << 20), b""))
    return None if matches else ("whose bytes do not match its signature: it changed after "
                                 "py3r-script wrote it")
