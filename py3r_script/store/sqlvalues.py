"""Python values as SQLite values and back, exactly: scalars with their type, any text.

SQLite holds 64-bit integers and UTF-8 text. A Python ``int`` beyond 64 bits is stored as
its decimal text, and a ``str`` that is not valid Unicode (a lone surrogate, as in a file
name or argument decoded with ``surrogateescape``) as a BLOB of its ``surrogatepass`` UTF-8
bytes; the ``type`` column beside a value says how to read it back. NaN, which SQLite
stores as NULL, comes back from a ``float`` type. A NumPy scalar is stored as the plain
value it holds and comes back as the NumPy type its ``type`` names.
"""

from __future__ import annotations

import math
from typing import Any

from ..paramset import plain_scalar

__all__ = ["PLAIN_TYPES", "from_sql", "native", "native_type", "sql_scalar", "sql_text",
           "text_from_sql"]

PLAIN_TYPES = ("bool", "int", "float", "str", "NoneType")
"""The ``type`` names of plain Python scalars."""

_INT64 = (-(1 << 63), (1 << 63) - 1)


def sql_text(text: str | None) -> str | bytes | None:
    """``text`` as SQLite can store it: itself, or (not valid Unicode) a BLOB that
    :func:`text_from_sql` turns back into it.

    >>> sql_text("a"), sql_text("\\udcff")
    ('a', b'\\xed\\xb3\\xbf')
    """
    if text is None:
        return None
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def text_from_sql(value: Any) -> str | None:
    """Text stored by :func:`sql_text`, as it was.

    >>> text_from_sql(b"\\xed\\xb3\\xbf") == "\\udcff"
    True
    """
    if type(value) is str:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "surrogatepass")
    return value


def sql_scalar(value: Any) -> Any:
    """A plain scalar (``bool | int | float | str | None``) as SQLite can store it.

    >>> sql_scalar(2**64), sql_scalar(True), sql_scalar(0.5)
    ('18446744073709551616', True, 0.5)
    """
    if type(value) is int and not _INT64[0] <= value <= _INT64[1]:
        return str(value)
    if type(value) is str:
        return sql_text(value)
    return value


def native_type(name: str) -> type | None:
    """The type a ``type`` name stands for when it is stored natively: a plain scalar's, or
    a NumPy scalar type whose values a plain scalar holds exactly (booleans, integers,
    floats up to 64 bits, strings); ``None`` otherwise.

    >>> native_type("int"), native_type("pathlib.PosixPath")
    (<class 'int'>, None)
    """
    plain = {"bool": bool, "int": int, "float": float, "str": str, "NoneType": type(None)}
    if name in plain:
        return plain[name]
    module, _, attribute = name.partition(".")
    if module != "numpy" or not attribute.isidentifier():
        return None
    try:
        import numpy
    except ImportError:
        return None
    found = getattr(numpy, attribute, None)
    if not isinstance(found, type) or not issubclass(found, numpy.generic) \
            or found is numpy.generic:
        return None
    try:
        dtype = numpy.dtype(found)
    except TypeError:  # abstract types (numpy.integer, numpy.floating)
        return None
    fits = dtype.kind in "biuU" or (dtype.kind == "f" and dtype.itemsize <= 8)
    return found if fits else None


def native(value: Any) -> tuple[str, Any] | None:
    """``(type name, SQL value)`` when ``value`` is a scalar stored natively, exactly (see
    :func:`native_type`); else ``None``.

    >>> native(3), native(2**70), native([3])
    (('int', 3), ('int', '1180591620717411303424'), None)
    """
    cls = type(value)
    name = cls.__qualname__ if cls.__module__ == "builtins" else \
        f"{cls.__module__}.{cls.__qualname__}"
    if native_type(name) is not cls:
        return None
    plain, held = plain_scalar(value)
    if not plain:
        return None
    if cls.__module__ != "builtins" and not _same_bits(from_sql(name, sql_scalar(held)), value):
        return None
    return name, sql_scalar(held)


def from_sql(type_name: str, value: Any) -> Any:
    """The scalar a natively stored ``value`` of type ``type_name`` stands for.

    >>> from_sql("bool", 1), from_sql("int", "18446744073709551616"), from_sql("float", None)
    (True, 18446744073709551616, nan)
    """
    cls = native_type(type_name)
    if cls is None:
        raise ValueError(f"{type_name!r} is not a type stored natively")
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = text_from_sql(value)
    if cls is type(None):
        return None
    if value is None:  # SQLite stores NaN as NULL
        return cls(math.nan)
    if isinstance(value, str) and not issubclass(cls, str):
        value = int(value)  # an integer beyond 64 bits, stored as its digits
    return cls(value)


def _same_bits(restored: Any, value: Any) -> bool:
    return type(restored) is type(value) and restored.tobytes() == value.tobytes()
