"""Typed parameter values from text (the command line), typed by the script's own defaults."""

from __future__ import annotations

from .errors import ParameterError
from .inspection import ParamInfo, ScriptInfo
from .paramset import Scalar

__all__ = ["coerce_to_default", "parse_assignment", "parse_value", "split_values"]

_TRUE = {"true", "yes", "on"}
_FALSE = {"false", "no", "off"}
_NONE = {"none", "null"}


def split_values(text: str) -> list[tuple[str, bool]]:
    """Split ``a,'b,c',d`` on commas outside quotes; each item says whether it was quoted.

    >>> split_values("3,'a,b'")
    [('3', False), ('a,b', True)]
    """
    items: list[tuple[str, bool]] = []
    current: list[str] = []
    quote: str | None = None
    quoted = False
    for char in text:
        if quote:
            if char == quote:
                quote = None
            else:
                current.append(char)
        elif char in "'\"":
            quote, quoted = char, True
        elif char == ",":
            items.append(("".join(current).strip() if not quoted else "".join(current), quoted))
            current, quoted = [], False
        else:
            current.append(char)
    if quote:
        raise ParameterError(f"unbalanced {quote} quote in {text!r}")
    items.append(("".join(current).strip() if not quoted else "".join(current), quoted))
    return items


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
        try:
            return int(text)
        except ValueError:
            raise _mismatch(name, text, "int") from None
    if kind == "float":
        try:
            return float(text)
        except ValueError:
            raise _mismatch(name, text, "float") from None
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


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
    param = info.param(name)
    if param is None and not info.dynamic_params:
        import difflib

        close = difflib.get_close_matches(name, info.param_names, n=1)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        raise ParameterError(
            f"unknown parameter {name!r} for {info.path}.{suggestion} The script declares: "
            f"{', '.join(info.param_names) or 'none'}."
        )
    items = split_values(rest) if many else [(rest[1:-1], True) if _is_quoted(rest)
                                               else (rest.strip(), False)]
    values = [parse_value(item, quoted, param, name) for item, quoted in items]
    if any(item == "" and not quoted for item, quoted in items):
        raise ParameterError(f"empty value in {text!r}; quote an empty string as ''")
    return (name, values) if many else (name, values[0])


def _is_quoted(text: str) -> bool:
    return len(text) >= 2 and text[0] == text[-1] and text[0] in "'\""


def _mismatch(name: str, text: str, kind: str | None) -> ParameterError:
    examples = {"int": "e.g. 3", "float": "e.g. 0.5 or 1e-3", "bool": "true or false"}
    return ParameterError(
        f"parameter {name!r} expects {kind} (the type of its default), got {text!r}; "
        f"use {examples.get(kind or '', 'a value of that type')}, or none"
    )


def coerce_to_default(value: Scalar, param: ParamInfo | None) -> Scalar:
    """Widen an int to float for a parameter whose default is a float (as TOML writes ``2``)."""
    if param is not None and param.type_name == "float" and type(value) is int:
        return float(value)
    return value
