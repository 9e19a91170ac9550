"""Static inspection: the ``Param`` and ``Output`` calls in a script, found without running it."""

from __future__ import annotations

import ast
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ScriptError
from ..paramset import Scalar, is_scalar
from .scriptsource import parse_script
from .valuerules import fits_int64

__all__ = ["OutputInfo", "ParamInfo", "ScriptInfo", "inspect", "inspect_script"]

_PACKAGES = ("py3r_script", "py3r_script.markers")


@dataclass(frozen=True)
class ParamInfo:
    """One parameter a script declares.

    ``default`` holds the value when the default is a literal (``5``, ``-0.5``, ``"x"``);
    ``default_source`` always holds its source text. A default that is an expression
    (``np.pi``, ``os.environ["X"]``), or that may come from a ``*args``/``**kwargs`` spread,
    has ``literal=False`` and cannot be known without running the script.
    """

    name: str
    lineno: int
    has_default: bool
    default: Scalar = None
    default_source: str | None = None
    literal: bool = True

    @property
    def required(self) -> bool:
        """True when the script gives no default, so the runner must supply a value."""
        return not self.has_default

    @property
    def known_default(self) -> bool:
        """True when the default is a literal scalar the runner can use as nominal value
        (not, say, an int beyond 64 bits, which no study can store as a parameter)."""
        return (self.has_default and self.literal and is_scalar(self.default)
                and fits_int64(self.default))

    @property
    def type_name(self) -> str | None:
        """The default's type name (``'int'``...), or ``None`` when it is not known statically."""
        return type(self.default).__name__ if self.has_default and self.literal else None


@dataclass(frozen=True)
class OutputInfo:
    """One output a script declares, at its first ``Output`` call."""

    name: str
    lineno: int


@dataclass(frozen=True)
class ScriptInfo:
    """Everything static inspection finds in a script.

    ``dynamic_params``/``dynamic_outputs`` are True when some call's ``name=`` is not a
    string literal, so names beyond those listed may exist at run time. ``imports`` lists
    the top-level modules the script imports (what a warm start preloads).
    """

    path: str
    params: tuple[ParamInfo, ...]
    outputs: tuple[OutputInfo, ...]
    warnings: tuple[str, ...] = ()
    dynamic_params: bool = False
    dynamic_outputs: bool = False
    imports: tuple[str, ...] = field(default=())

    @property
    def param_names(self) -> list[str]:
        """Parameter names, in the order the script declares them."""
        return [p.name for p in self.params]

    @property
    def output_names(self) -> list[str]:
        """Output names, in the order the script declares them."""
        return [o.name for o in self.outputs]

    def param(self, name: str) -> ParamInfo | None:
        """The parameter called ``name``, or ``None``."""
        for info in self.params:
            if info.name == name:
                return info
        return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (what ``py3r-script inspect --json`` prints)."""
        data = asdict(self)
        for item, info in zip(data["params"], self.params):
            item["required"] = info.required
            item["type"] = info.type_name
            if not _printable(info.default):  # an int too long for JSON's decimal digits
                item["default"] = None
        return data

    def format(self, display_path: str | None = None) -> str:
        """The human-readable summary that :func:`inspect` prints."""
        lines = [f"Script: {display_path or self.path}", "", "Parameters:"]
        if not self.params:
            lines.append("  (none)")
        name_width = max([20, *(len(p.name) for p in self.params)])
        shown = [_describe_default(p) for p in self.params]
        default_width = max([0, *(len(text) for text, _ in shown if text != "required")])
        for info, (text, kind) in zip(self.params, shown):
            if kind is None:
                lines.append(f"  {info.name:<{name_width}} {text}".rstrip())
            else:
                lines.append(f"  {info.name:<{name_width}} {text:<{default_width}}  {kind}")
        lines += ["", "Outputs:"]
        lines += [f"  {o.name}" for o in self.outputs] or ["  (none)"]
        if self.warnings:
            lines += ["", "Notes:"] + [f"  {w}" for w in self.warnings]
        return "\n".join(lines)


def _describe_default(info: ParamInfo) -> tuple[str, str | None]:
    if info.required:
        return "required", None
    if info.literal:
        shown = repr(info.default) if _printable(info.default) else info.default_source or ""
        return f"default={_shortened(shown)}", f"type={info.type_name}"
    return f"default={_shortened(info.default_source or '')}", "(expression, known at run time)"


def _printable(value: object) -> bool:
    """False for an int with more digits than Python converts to text (4,300 by default)."""
    try:
        repr(value)
    except ValueError:
        return False
    return True


def _shortened(text: str, limit: int = 60) -> str:
    """Long source text cut in the middle: ``0xffff...ffff (4002 characters)``."""
    if len(text) <= limit:
        return text
    return f"{text[:limit // 2 - 2]}...{text[-(limit // 2 - 2):]} ({len(text)} characters)"


def inspect_script(script_path: str | os.PathLike[str]) -> ScriptInfo:
    """Return what :func:`inspect` prints as data, without executing anything.

    Examples
    --------
    >>> info = inspect_script("sample_pipelines/quick_demo.py")  # doctest: +SKIP
    >>> [p.name for p in info.params]  # doctest: +SKIP
    ['n', 'scale']
    """
    if not isinstance(script_path, (str, os.PathLike)):
        raise TypeError(
            f"the script must be a path (str or pathlib.Path) to a .py file, got "
            f"{type(script_path).__name__} {script_path!r}"
        )
    path = Path(script_path)
    if not path.is_file():
        hint = " (it is a directory)" if path.is_dir() else ""
        raise ScriptError(f"script not found: {str(path)!r}{hint}; pass the path to a .py file")
    source, tree = parse_script(path)
    return _Collector(str(path), source).collect(tree)


def inspect(script_path: str | os.PathLike[str]) -> None:
    """Print the parameters and outputs a script declares, without running it.

    Examples
    --------
    >>> from py3r_script import inspect
    >>> inspect("pipeline.py")  # doctest: +SKIP
    Script: pipeline.py
    <BLANKLINE>
    Parameters:
      smooth_window        default=5    type=int
      threshold            required
    <BLANKLINE>
    Outputs:
      summary
    """
    print(inspect_script(script_path).format(display_path=str(script_path)))


class _Collector:
    """Walks a module's AST, resolving how the script refers to the markers."""

    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.source = source
        self.lines: list[bytes] | None = None  # the source's lines, split when first needed
        self.bindings: dict[str, str] = {}  # local name -> fully qualified name
        self.params: dict[str, ParamInfo] = {}
        self.outputs: dict[str, OutputInfo] = {}
        self.warnings: list[str] = []
        self.dynamic_params = False
        self.dynamic_outputs = False

    def collect(self, tree: ast.Module) -> ScriptInfo:
        # Bindings first, so a call before an import inside a function still resolves.
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self._bind(node)
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
        for node in sorted(calls, key=lambda n: (n.lineno, n.col_offset)):
            target = self._qualified(node.func)
            if target in {f"{p}.Param" for p in _PACKAGES}:
                self._param(node)
            elif target in {f"{p}.Output" for p in _PACKAGES}:
                self._output(node)
        return ScriptInfo(
            path=self.path,
            params=tuple(self.params.values()),
            outputs=tuple(self.outputs.values()),
            warnings=tuple(self.warnings),
            dynamic_params=self.dynamic_params,
            dynamic_outputs=self.dynamic_outputs,
            imports=_top_level_imports(tree),
        )

    def _bind(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.bindings[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    self.bindings[head] = head
        elif node.module and not node.level:
            for alias in node.names:
                if alias.name == "*":
                    if node.module in _PACKAGES:
                        for marker in ("Param", "Output"):
                            self.bindings[marker] = f"{node.module}.{marker}"
                    continue
                self.bindings[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def _qualified(self, func: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if not isinstance(func, ast.Name) or func.id not in self.bindings:
            return None
        return ".".join([self.bindings[func.id], *reversed(parts)])

    def _name(self, node: ast.Call, kind: str) -> str | None:
        for keyword in node.keywords:
            if keyword.arg == "name":
                if isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str):
                    return keyword.value.value
                return None
        if any(keyword.arg is None for keyword in node.keywords):
            return None  # name=... may come from the **mapping: known at run time
        self.warnings.append(
            f"line {node.lineno}: {kind}(...) without name=...; it fails when the script runs"
        )
        return None

    def _param(self, node: ast.Call) -> None:
        name = self._name(node, "Param")
        if name is None:
            if any(k.arg in ("name", None) for k in node.keywords):
                self.dynamic_params = True
            return
        info = self._param_info(name, node)
        if info.has_default and info.literal and not is_scalar(info.default):
            shown = _shortened(info.default_source or "")
            self.warnings.append(
                f"line {node.lineno}: Param {name!r} default {shown} is not a "
                "bool/int/float/str/None scalar; the script raises TypeError when it runs")
        elif info.type_name == "int" and not info.known_default:
            self.warnings.append(
                f"line {node.lineno}: Param {name!r} default is an int beyond 64 bits; the "
                "runner leaves it to the script, but cannot sweep or store such a value (a "
                "study's parameters are 64-bit): pass big numbers as a str")
        first = self.params.get(name)
        if first is None:
            self.params[name] = info
        elif (first.has_default, first.default_source) != (info.has_default, info.default_source):
            self.warnings.append(
                f"parameter {name!r} is declared twice with different defaults: "
                f"{_describe_default(first)[0]} (line {first.lineno}) and "
                f"{_describe_default(info)[0]} (line {info.lineno}); the runner injects one "
                "value into both, and the first is the one listed"
            )

    def _output(self, node: ast.Call) -> None:
        name = self._name(node, "Output")
        if name is None:
            if any(k.arg in ("name", None) for k in node.keywords):
                self.dynamic_outputs = True
            return
        self.outputs.setdefault(name, OutputInfo(name=name, lineno=node.lineno))

    def _param_info(self, name: str, node: ast.Call) -> ParamInfo:
        """The declaration's default: a literal, an expression, or (from a ``*``/``**``
        spread that may hold it) unknown until the script runs."""
        default: ast.expr | None = node.args[0] if node.args else None
        for keyword in node.keywords:
            if keyword.arg == "default":
                default = keyword.value
        spreads = [k.value for k in node.keywords if k.arg is None]
        if isinstance(default, ast.Starred):
            source = "*" + self._source(default.value)
            return ParamInfo(name, node.lineno, True, None, source, literal=False)
        if default is None and spreads:
            source = "**" + self._source(spreads[0])
            return ParamInfo(name, node.lineno, True, None, source, literal=False)
        if default is None:
            return ParamInfo(name=name, lineno=node.lineno, has_default=False)
        source = self._source(default)
        try:
            value = ast.literal_eval(default)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return ParamInfo(name, node.lineno, True, None, source, literal=False)
        return ParamInfo(name, node.lineno, True, value, source, literal=True)

    def _source(self, node: ast.expr) -> str:
        """A node's source text as written (``ast.unparse`` would recurse, and would turn a
        huge hex literal into more decimal digits than Python converts to text)."""
        if self.lines is None:
            self.lines = [line.encode() for line in self.source.split("\n")]
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        end = node.end_col_offset if node.end_col_offset is not None else None
        if first == last:  # offsets are in UTF-8 bytes
            return self.lines[first][node.col_offset:end].decode(errors="replace")
        parts = [self.lines[first][node.col_offset:], *self.lines[first + 1:last],
                 self.lines[last][:end]]
        return b"\n".join(parts).decode(errors="replace")


def _top_level_imports(tree: ast.Module) -> tuple[str, ...]:
    """Absolute modules imported at the script's top level (including inside if/try blocks)."""
    found: dict[str, None] = {}
    pending = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.setdefault(alias.name, None)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module != "__future__":
                found.setdefault(node.module, None)
        elif isinstance(node, (ast.If, ast.Try)):
            pending.extend(node.body)
            pending.extend(getattr(node, "orelse", []))
            for handler in getattr(node, "handlers", []):
                pending.extend(handler.body)
    return tuple(found)
