"""A script's source read as Python reads it: its encoding, its syntax tree, and a
:class:`~py3r_script.errors.ScriptError` with the line for anything that stops it.

Whatever Python can run parses here; whatever it cannot (a syntax error, an undecodable byte,
a null byte, an expression nested too deeply for the parser) is a ``ScriptError`` that names
the file and the line, never a bare ``SyntaxError``, ``RecursionError`` or ``MemoryError``.
"""

from __future__ import annotations

import ast
import codecs
import io
import re
import tokenize
from pathlib import Path

from ..errors import ScriptError

__all__ = ["parse_script", "read_source"]

# PEP 263: an encoding declaration is a comment on line 1 or 2.
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_CANNOT_RUN = "(fix the script: it cannot be inspected or run)"


def read_source(path: Path) -> str:
    """The text of the script at ``path``, decoded as Python decodes it (PEP 263).

    >>> read_source(Path("pipeline.py"))[:20]  # doctest: +SKIP
    'from py3r_script imp'
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScriptError(f"{path}: cannot read the script: {exc.strerror or exc}") from None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        line = _cookie_line(data)
        why = (" (the file starts with a UTF-8 byte order mark, but declares another encoding)"
               if data.startswith(codecs.BOM_UTF8) else "")
        raise ScriptError(f"{path}, line {line}: {exc.msg}{why} {_CANNOT_RUN}") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ScriptError(
            f"{path}, line {line}: byte {data[exc.start:exc.start + 1]!r} is not {encoding} "
            f"({exc.reason}), so Python cannot read the script; save it as UTF-8, or declare "
            "its encoding on line 1 or 2 (# -*- coding: latin-1 -*-)") from None
    null = text.find("\0")
    if null >= 0:
        line = text.count("\n", 0, null) + 1
        raise ScriptError(f"{path}, line {line}: the script contains a null byte {_CANNOT_RUN}")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_script(path: Path) -> tuple[str, ast.Module]:
    """The script's source and syntax tree; anything that stops Python compiling it is a
    ``ScriptError`` naming the line.

    >>> source, tree = parse_script(Path("pipeline.py"))  # doctest: +SKIP
    """
    source = read_source(path)
    try:
        return source, ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        line = exc.lineno if exc.lineno is not None else 1
        column = f", column {exc.offset}" if exc.offset else ""
        raise ScriptError(f"{path}, line {line}{column}: syntax error: "
                          f"{exc.msg.rstrip('.')} {_CANNOT_RUN}") from None
    except (RecursionError, MemoryError) as exc:
        line = _busiest_line(source)
        raise ScriptError(
            f"{path}, line {line}: an expression there is too long or nested too deeply for "
            f"Python's parser ({type(exc).__name__}); `python {path.name}` fails the same "
            "way. Split it up (e.g. sum a list instead of chaining +)") from None


def _cookie_line(data: bytes) -> int:
    """The line (1 or 2) of the encoding declaration, else 1."""
    for number, line in enumerate(data.splitlines()[:2], start=1):
        if _CODING.match(line):
            return number
    return 1


def _busiest_line(source: str) -> int:
    """The first line of the logical line with the most tokens: where a parser that ran out
    of stack was (tokenizing needs no stack, however long or deep the expression)."""
    counts: dict[int, int] = {}
    start = None
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.NL, tokenize.COMMENT):
                continue
            if start is None:
                start = token.start[0]
            counts[start] = counts.get(start, 0) + 1
            if token.type == tokenize.NEWLINE:
                start = None
    except (tokenize.TokenError, SyntaxError):
        pass
    return max(counts, key=lambda n: counts[n]) if counts else 1
