"""Typed parameter values from text (the command line), typed by the script's own defaults."""

from __future__ import annotations

import math
import re
from typing import Any

from ..designs.inspection import ParamInfo, ScriptInfo
from ..designs.valuerules import check_int64
from ..errors import ParameterError
from ..paramset import Scalar

__all__ = [
    "known_param", "parse_assignment", "parse_linked", "parse_sample", "parse_value",
    "split_values",
]

_TRUE = {"true", "yes", "on"}
_FALSE = {"false", "no", "off"}
_NONE = {"none", "null"}
# Numbers as Python writes them, in ASCII digits only ("٣" stays text).
_DIGITS = r"[0-9]+(?:_[0-9]+)*"
_INT = re.compile(rf"[+-]?{_DIGITS}")
_INFINITE = re.compile(r"[+-]?(?:inf|infinity)", re.IGNORECASE)
_FLOAT = re.compile(rf"[+-]?(?:(?:{_DIGITS})?(?:\.(?:{_DIGITS})?)?(?:[eE][+-]?{_DIGITS})?"
                    r"|inf|infinity|nan)", re.IGNORECASE)
_MAX_DIGITS = 4000  # below Python's int-to-text limit (4,300), far above 64 bits (19)


def split_values(text: str) -> list[tuple[str, bool]]:
    """Split ``a, 'b,c', d`` on commas outside quotes; each item says whether it was quoted.

    Whitespace around an item is dropped; a quoted item keeps everything inside its quotes.
    Only a quote that starts an item opens a quoted item: inside a word (``it's``) a quote is
    an ordinary character.

    >>> split_values("3, 'a,b', it's")
    [('3', False), ('a,b', True), ("it's", False)]
    """
    pieces: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"" and not "".join(current).strip():
            quote = char
        elif char == ",":
            pieces.append("".join(current))
            current = []
            continue
        current.append(char)
    if quote:
        raise ParameterError(f"unbalanced {quote} quote in {text!r}")
    pieces.append("".join(current))
    return [_unquote(piece.strip()) for piece in pieces]


def _unquote(item: str) -> tuple[str, bool]:
    if len(item) >= 2 and item[0] == item[-1] and item[0] in "'\"":
        return item[1:-1], True
    return item, False


def parse_value(text: str, quoted: bool, param: ParamInfo | None, name: str) -> Scalar:
    """Convert one text value to the type of the parameter's default.

    Without a known default type (required parameters, expression defaults), the value is
    read as ``true``/``false``, ``none``, an int, a float, else a string. ``none`` is always
    ``None``; a quoted value is always a string.

    >>> parse_value("1e-3", False, None, "x")
    0.001
    """
    kind = param.type_name if param is not None else None
    if quoted:
        if kind not in (None, "str", "NoneType"):
            raise _mismatch(name, text, kind)
        return text
    lowered = text.lower()
    if lowered in _NONE:
        return None
    if kind == "str":
        return text
    if kind == "bool" or (kind in (None, "NoneType") and lowered in _TRUE | _FALSE):
        if lowered in _TRUE | {"1"}:
            return True
        if lowered in _FALSE | {"0"}:
            return False
        raise _mismatch(name, text, "bool")
    if kind == "int":
        number = _as_int(text, name)
        if number is None:
            raise _mismatch(name, text, "int")
        return number
    if kind == "float":
        real = _as_float(text, name)
        if real is None:
            raise _mismatch(name, text, "float")
        return real
    for read in (_as_int, _as_float):  # untyped: a number when it reads as one, else text
        value = read(text, name)
        if value is not None:
            return value
    return text


def _as_int(text: str, name: str) -> int | None:
    """``text`` as an int when it is written as one in ASCII digits (``-12``, ``1_000``),
    else ``None``; an int beyond 64 bits is refused (``designs.valuerules``), never read as a
    float."""
    if not _INT.fullmatch(text):
        return None
    digits = text.lstrip("+-").replace("_", "").lstrip("0")
    if len(digits) > _MAX_DIGITS:  # more digits than int() converts: a stand-in that big
        check_int64(10 ** (len(digits) - 1), f"parameter {name!r}")
    number = int(text)
    check_int64(number, f"parameter {name!r}")
    return number


def _as_float(text: str, name: str) -> float | None:
    """``text`` as a float when it is written as one (``1e-3``, ``.5``, ``inf``, ``nan``),
    else ``None``; a finite number too big for a float is refused, not read as ``inf``."""
    if not _FLOAT.fullmatch(text) or not any(c.isdigit() or c in "iInN" for c in text):
        return None
    try:
        real = float(text)
    except ValueError:
        return None
    if math.isinf(real) and not _INFINITE.fullmatch(text):
        raise ParameterError(
            f"parameter {name!r}: {_shown(text)} is beyond the range of a float (about "
            "±1.8e308), so it would become inf; give a smaller number, or inf if you mean it")
    return real


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else f"{text[:20]!r}...({len(text)} characters)"


def parse_assignment(
    text: str, info: ScriptInfo, *, many: bool
) -> tuple[str, Scalar | list[Scalar]]:
    """Parse ``NAME=VALUE`` (or ``NAME=V1,V2,...`` when ``many``) typed from the script.

    >>> parse_assignment("window=3,5", info, many=True)  # doctest: +SKIP
    ('window', [3, 5])
    """
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not name:
        example = "NAME=V1,V2,..." if many else "NAME=VALUE"
        raise ParameterError(f"expected {example}, got {text!r}")
    param = known_param(name, info)
    try:
        items = split_values(rest) if many else [_unquote(rest.strip())]
    except ParameterError as exc:
        raise ParameterError(f"parameter {name!r}: {exc}") from None
    values = [parse_value(item, quoted, param, name) for item, quoted in items]
    if any(item == "" and not quoted for item, quoted in items):
        raise ParameterError(f"empty value in {text!r}; quote an empty string as ''")
    return (name, values) if many else (name, values[0])


def _mismatch(name: str, text: str, kind: str | None) -> ParameterError:
    examples = {"int": "e.g. 3", "float": "e.g. 0.5 or 1e-3", "bool": "true or false"}
    return ParameterError(
        f"parameter {name!r} expects {kind} (the type of its default), got {text!r}; "
        f"use {examples.get(kind or '', 'a value of that type')}, or none"
    )


def parse_linked(text: str, info: ScriptInfo) -> tuple[tuple[str, ...], list[tuple[Scalar, ...]]]:
    """Parse ``NAME,NAME=V:V,V:V`` (linked parameters and their value tuples).

    >>> parse_linked("window,min_len=3:2,5:3", info)  # doctest: +SKIP
    (('window', 'min_len'), [(3, 2), (5, 3)])
    """
    left, sep, rest = text.partition("=")
    names = tuple(n.strip() for n in left.split(","))
    if not sep or len(names) < 2 or not all(names):
        raise ParameterError(f"expected NAME,NAME=V:V,V:V,... for linked parameters, got {text!r}")
    params = [known_param(name, info) for name in names]
    rows = []
    for item, quoted in split_values(rest):
        parts = [item] if quoted else item.split(":")
        if len(parts) != len(names):
            raise ParameterError(f"linked {', '.join(names)} take {len(names)} values joined by "
                                 f"':', got {item!r}")
        rows.append(tuple(parse_value(*_unquote(p.strip()), param, name)
                          for p, param, name in zip(parts, params, names)))
    return names, rows


def parse_sample(text: str, info: ScriptInfo) -> tuple[str, Any]:
    """Parse ``NAME=LOW:HIGH[:log]`` (a range) or ``NAME=A,B,C`` (choices) for sampling.

    >>> parse_sample("threshold=0.1:0.9", info)  # doctest: +SKIP
    ('threshold', (0.1, 0.9))
    """
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ParameterError(f"expected NAME=LOW:HIGH[:log] or NAME=A,B,... got {text!r}")
    param = known_param(name, info)
    if ":" in rest and "," not in rest:
        parts = rest.split(":")
        scale = parts[2:] if len(parts) == 3 else []
        if len(parts) not in (2, 3) or scale not in ([], ["log"]):
            raise ParameterError(f"a range is LOW:HIGH or LOW:HIGH:log, got {rest!r} for {name!r}")
        bounds = tuple(parse_value(p.strip(), False, param, name) for p in parts[:2])
        return name, (*bounds, *scale)
    return name, [parse_value(v, q, param, name) for v, q in split_values(rest)]


def known_param(name: str, info: ScriptInfo) -> ParamInfo | None:
    """The script's parameter ``name`` (``None`` when names are dynamic); unknown: an error.

    >>> known_param("windw", info)  # doctest: +SKIP
    ParameterError: unknown parameter 'windw' for pipeline.py. Did you mean 'window'? ...
    """
    param = info.param(name)
    if param is None and not info.dynamic_params:
        import difflib

        close = difflib.get_close_matches(name, info.param_names, n=1)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        raise ParameterError(
            f"unknown parameter {name!r} for {info.path}.{suggestion} The script declares: "
            f"{', '.join(info.param_names) or 'none'}."
        )
    return param
