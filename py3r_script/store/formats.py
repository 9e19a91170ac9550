"""How a study stores each output, by kind, in formats any tool reads and none can run code.

* ``value``: a scalar (``bool | int | float | str | None``, or a NumPy scalar holding one) in
  the ``outputs.value`` column itself, its ``type`` beside it (see ``sqlvalues``).
* ``parquet``: a pandas ``DataFrame``, or a ``Series`` as a one-column table whose name is in
  the file's ``py3r-script`` metadata; written only when it reads back exactly equal
  (pyarrow 14.0.1 or later, which never unpickles, must be installed).
* ``npy``: a NumPy array without Python objects, read with ``allow_pickle=False``.
* ``pickle``: anything else, and what the formats above cannot hold exactly (cloudpickle),
  signed with this user's key (``signing``); unpickled only when trusted.

The bytes of the last three go inline into ``outputs.blob`` or, when larger than
``INLINE_LIMIT``, to a side file (``sidefiles``).
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable

from ..paramset import plain_scalar
from . import sidefiles, sqlvalues
from .signing import Signer
from .sqlvalues import native

__all__ = ["Stored", "read_safe", "store", "type_name"]

_SUFFIX = {"parquet": ".parquet", "npy": ".npy", "pickle": ".pkl"}
_METADATA_KEY = b"py3r-script"
_PYARROW_SAFE = (14, 0, 1)  # earlier versions unpickle "arrow.py_extension_type" columns


@dataclass(frozen=True)
class Stored:
    """How one output was stored: the ``outputs`` columns beside its name and position."""

    format: str
    type: str
    value: Any = None
    blob: bytes | None = None
    file: str | None = None
    size: int = 0
    signature: str | None = None


def type_name(value: object) -> str:
    """The qualified name of a value's type, as the ``type`` column holds it (builtins
    unqualified).

    >>> type_name(3), type_name(Path("."))  # doctest: +SKIP
    ('int', 'pathlib.PosixPath')
    """
    cls = type(value)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def store(value: Any, target: Path, base: Path, signer: Signer | None) -> Stored:
    """Store ``value`` by kind (see the module's docstring): its side file, if it needs one,
    is ``target`` with the format's suffix; paths are kept relative to ``base``.

    >>> store(10, Path("study.db-outputs/3f/3f2a-5d1c"), Path("."), None)
    Stored(format='value', type='int', value=10, blob=None, file=None, size=0, signature=None)
    """
    scalar = native(value)
    if scalar is not None:
        return Stored("value", scalar[0], scalar[1])
    kind = _safe_kind(value)
    if kind is not None:
        stored = _write(kind, value, target, base, None)
        if stored is not None:
            return stored
    stored = _write("pickle", value, target, base, signer)
    assert stored is not None
    return stored


def read_safe(fmt: str, blob: bytes | None, handle: IO[bytes] | None = None) -> Any:
    """An output stored as ``parquet`` or ``npy`` (``fmt``), from its blob or, when given,
    its open side file.

    >>> read_safe("npy", blob)  # doctest: +SKIP
    array([0, 1, 2])
    """
    source = handle if handle is not None else io.BytesIO(blob or b"")
    if fmt == "npy":
        import numpy

        return numpy.lib.format.read_array(source, allow_pickle=False)
    if fmt == "parquet":
        return _read_parquet(source)
    raise ValueError(f"{fmt!r} is not a format read without unpickling")


def _safe_kind(value: Any) -> str | None:
    """``parquet`` or ``npy`` when ``value`` may be stored so; else ``None``."""
    root = type(value).__module__.partition(".")[0]
    if root == "numpy":
        import numpy

        if type(value) is numpy.ndarray and not value.dtype.hasobject:
            return "npy"
    elif root == "pandas":
        import pandas

        if type(value) in (pandas.DataFrame, pandas.Series) and _parquet_available():
            return "parquet"
    return None


def _write(kind: str, value: Any, target: Path, base: Path, signer: Signer | None
           ) -> Stored | None:
    """``value`` written as ``kind``; ``None`` when that format cannot hold it exactly."""
    mac = signer.new() if signer is not None else None
    sink = sidefiles.SpillWriter(sidefiles.INLINE_LIMIT,
                                 target.with_suffix(_SUFFIX[kind]), mac)
    try:
        _WRITERS[kind](value, sink)
    except Exception:
        sink.discard()
        if kind == "pickle":
            raise
        return None
    except BaseException:
        sink.discard()
        raise
    blob, file = sink.finish(base)
    signature = None if signer is None or mac is None else signer.signature(mac)
    stored = Stored(kind, type_name(value), _plain_value(value), blob, file, sink.size,
                    signature)
    if kind == "parquet" and not _reads_back(value, stored, base):
        if file is not None:
            (base / file).unlink(missing_ok=True)
        return None
    return stored


def _plain_value(value: Any) -> Any:
    """The ``value`` column of a non-scalar output: the number a 0-d array holds, say."""
    plain, held = plain_scalar(value)
    return sqlvalues.sql_scalar(held) if plain else None


def _write_pickle(value: Any, sink: IO[bytes]) -> None:
    import cloudpickle

    cloudpickle.dump(value, sink, protocol=5)


def _write_npy(value: Any, sink: IO[bytes]) -> None:
    import numpy

    fmt = numpy.lib.format
    if not (value.flags.c_contiguous or value.flags.f_contiguous):
        fmt.write_array(sink, value, allow_pickle=False)  # copies, a chunk at a time
        return
    header = fmt.header_data_from_array_1_0(value)
    try:
        fmt.write_array_header_1_0(sink, header)
    except ValueError:  # a header too long for version 1.0
        fmt.write_array_header_2_0(sink, header)
    sink.write(memoryview(value.ravel(order="K")).cast("B"))  # the data itself, not a copy


def _write_parquet(value: Any, sink: IO[bytes]) -> None:
    import pandas
    import pyarrow
    import pyarrow.parquet

    series = isinstance(value, pandas.Series)
    frame = value.to_frame(name=value.name if isinstance(value.name, str) else "value") \
        if series else value
    with warnings.catch_warnings():  # what does not convert exactly is caught on reading back
        warnings.simplefilter("ignore")
        table = pyarrow.Table.from_pandas(frame)
    if series:
        ours = json.dumps({"series_name": value.name}, allow_nan=True).encode()
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), _METADATA_KEY: ours})
    pyarrow.parquet.write_table(table, sink)


_WRITERS: dict[str, Callable[[Any, Any], None]] = {
    "pickle": _write_pickle, "npy": _write_npy, "parquet": _write_parquet}


def _read_parquet(source: IO[bytes]) -> Any:
    import pyarrow.parquet

    _check_pyarrow()
    # one thread: pyarrow's reader threads can abort or hang the interpreter at exit after
    # reading from a Python file object (apache/arrow#50482); an output is small anyway
    table = pyarrow.parquet.read_table(source, use_threads=False)
    frame = table.to_pandas(use_threads=False)
    ours = (table.schema.metadata or {}).get(_METADATA_KEY)
    if ours is None:
        return frame
    series = frame.iloc[:, 0]
    series.name = json.loads(ours)["series_name"]
    return series


def _reads_back(value: Any, stored: Stored, base: Path) -> bool:
    """Whether a DataFrame or Series written as Parquet reads back exactly equal."""
    import pandas.testing

    try:
        if stored.file is not None:
            with open(base / stored.file, "rb") as handle:
                back = _read_parquet(handle)
        else:
            back = _read_parquet(io.BytesIO(stored.blob or b""))
        same = pandas.testing.assert_frame_equal if type(value).__name__ == "DataFrame" \
            else pandas.testing.assert_series_equal
        same(value, back, check_exact=True, check_index_type=True, check_freq=True,
             check_flags=True, **({"check_column_type": True}
                                  if type(value).__name__ == "DataFrame" else {}))
        return type(back) is type(value) and back.attrs == value.attrs
    except Exception:  # not equal, or not readable: the pickle holds it exactly
        return False


def _parquet_available() -> bool:
    try:
        _check_pyarrow()
    except (ImportError, ValueError):
        return False
    return True


def _check_pyarrow() -> None:
    import pyarrow

    version = tuple(int(part) for part in pyarrow.__version__.split(".")[:3]
                    if part.isdigit())
    if version < _PYARROW_SAFE:
        raise ValueError(
            f"reading Parquet safely needs pyarrow 14.0.1 or later (this is "
            f"{pyarrow.__version__}, which can unpickle what a file holds): pip install -U "
            "pyarrow")
