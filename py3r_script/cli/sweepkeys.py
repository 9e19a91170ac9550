"""The keys of a sweep file: what each one takes, its TOML type checked, and the line it is on.

Every error about a key is a :class:`~py3r_script.errors.SweepFileError` that starts with
``FILE, line N:`` and carries the key and the line, made by :meth:`Locator.error`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import SweepFileError

__all__ = ["DESIGN_KEYS", "TOP_LEVEL", "Locator", "check_tables", "check_types", "linked_key",
           "sample_table", "toml_type"]

# key -> (accepted types, description for messages)
TOP_LEVEL: dict[str, tuple[tuple[type, ...], str]] = {
    "script": ((str,), "a path to the script, relative to the sweep file"),
    "mode": ((str,), '"independent" or "grid"'),
    "include_nominal": ((bool,), "true or false: whether a grid adds each parameter's nominal "
                                 "value to its list (false: exactly the values given)"),
    "params": ((dict,), "a table of parameter name = [values]"),
    "nominal": ((dict,), "a table of parameter name = value"),
    "replicates": ((int,), "a whole number of runs per parameter set, at least 1"),
    "replicate_seed": ((str, bool), "the name of the script's seed parameter each replicate "
                                    "gets its own seed in, or false for none"),
    "outputs": ((list,), "a list of output names"),
    "stop_after_outputs": ((bool,), "true or false"),
    "workers": ((int, str), 'a positive integer or "auto"'),
    "timeout": ((int, float), "seconds, a positive number"),
    "store": ((str,), "a path to the study database, relative to the sweep file"),
    "rerun": ((bool,), "true or false"),
    "backup": ((bool,), "true or false"),
    "workdir": ((bool, str), "true, or a folder relative to the sweep file"),
    "capture_limit": ((int,), "bytes of stdout/stderr kept per iteration"),
    "warm": ((bool,), "true or false (fork iterations from a preloaded process)"),
    "preload": ((list,), "a list of module names for warm starts"),
    "label": ((str,), "a name for this sweep, kept in the store"),
    "env": ((dict,), "a table of environment variables (strings) for every iteration"),
    "argv": ((list,), "a list of strings: the script's own command-line arguments"),
    "python": ((str,), "the interpreter to run the script with"),
    "chunk_size": ((int,), "iterations per submitted job (with an executor or prepare)"),
    "prepare": ((bool,), "true or false (plan the sweep for job-array tasks, run nothing)"),
    "linked": ((list,), "[[linked]] tables with names = [...] and values = [[...], ...]"),
    "points": ((list,), "[[points]] tables, one parameter set each"),
    "sample": ((dict,), "a [sample] table with method, n, seed, [sample.ranges], "
                        "[sample.choices] (and a Morris or Sobol' design's options)"),
}
DESIGN_KEYS = ("params", "nominal", "linked", "points", "sample", "script", "mode",
               "include_nominal", "replicates", "replicate_seed")
_SAMPLE_KEYS = {"method": (str,), "n": (int,), "seed": (int,), "ranges": (dict,),
                "choices": (dict,), "levels": (int,), "optimal_trajectories": (int,),
                "second_order": (bool,)}
_OPTION_KEYS = ("levels", "optimal_trajectories", "second_order")  # designs.methodoptions


class Locator:
    """Finds the line of a key in the TOML text, for messages like ``sweep.toml, line 4``."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def __call__(self, key: str, table: str | None = None, nth: int = 0) -> str:
        """Where ``key`` is (in ``table``, its ``nth`` ``[[table]]``): ``"FILE, line N"``."""
        line = self.line(key, table, nth)
        return f"{self.path}, line {line}" if line else str(self.path)

    def error(self, problem: str, key: str, table: str | None = None,
              nth: int = 0) -> SweepFileError:
        """The error ``"FILE, line N: problem"`` about ``key``."""
        line = self.line(key, table, nth)
        where = f"{self.path}, line {line}" if line else str(self.path)
        return SweepFileError(f"{where}: {problem}", key, line)

    def line(self, key: str, table: str | None = None, nth: int = 0) -> int | None:
        """The line ``key`` is on (else its table's), or ``None`` when it is not there."""
        current: str | None = None
        seen, table_line = -1, 0  # occurrences of [table] (or [[key]]) so far; nth's line
        name = rf"""(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')"""
        pattern = re.compile(rf"^\s*{name}\s*[=.]")
        header = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
        spellings = [  # params.window = ..., [params.window], params = { window = ... }
            re.compile(rf"^\s*\[*\s*{re.escape(table)}\s*\.\s*{name}\b"),
            re.compile(rf"^\s*{re.escape(table)}\s*=.*\b{re.escape(key)}\b"),
        ] if table else []
        for number, text in enumerate(self.lines, start=1):
            if any(spelling.match(text) for spelling in spellings):
                return number
            found = header.match(text)
            if found:
                current = found.group(1).strip()
                if current == (key if table is None else table):
                    seen += 1
                    if seen == nth and table is None:
                        return number
                    table_line = number if seen == nth else table_line
                continue
            if current == table and (table is None or seen == nth) and pattern.match(text):
                return number
        return table_line or None


def toml_type(value: Any) -> str:
    """``"an integer"``, ``"a table"``...: a TOML value's type, for messages.

    >>> toml_type([1, 2])
    'an array'
    """
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
             list: "an array", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def check_types(data: dict[str, Any], where: Locator) -> None:
    """Every top-level key is known and of its TOML type; ``script`` is there.

    >>> check_types({"script": "s.py", "workerz": 2}, Locator(Path("s.toml"), ""))
    Traceback (most recent call last):
    ...
    py3r_script.errors.SweepFileError: s.toml: unknown key 'workerz'; the keys are: script, ...
    """
    for key, value in data.items():
        if key not in TOP_LEVEL:
            known = ", ".join(TOP_LEVEL)
            raise where.error(f"unknown key {key!r}; the keys are: {known}", key)
        types, description = TOP_LEVEL[key]
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            raise where.error(f"{key} must be {description}, got {toml_type(value)} {value!r}",
                              key)
    if "script" not in data:
        raise SweepFileError(f"{where.path}: missing key 'script' (the path of the script to "
                             "sweep)", "script")
    if not data["script"].strip():
        raise where.error("script is empty; give the path of the script to sweep, relative to "
                          "this file", "script")


def check_tables(data: dict[str, Any], where: Locator) -> None:
    """The values inside ``[params]``, ``[nominal]``, ``outputs`` and ``[[points]]``.

    >>> check_tables({"params": {"w": []}}, Locator(Path("s.toml"), ""))
    Traceback (most recent call last):
    ...
    py3r_script.errors.SweepFileError: s.toml: params.w is an empty list; ...
    """
    for table in ("params", "nominal"):
        for name, value in data.get(table, {}).items():
            if isinstance(value, dict):
                kind = "a list of values" if table == "params" else "a value"
                raise where.error(f"{table}.{name} must be {kind}, got a table", name, table)
            if table == "params" and not isinstance(value, list):
                raise where.error(f"params.{name} must be a list of values, e.g. {name} = "
                                  f"[{value!r}], got {toml_type(value)} {value!r}", name, table)
            if table == "params" and not value:
                raise where.error(f"params.{name} is an empty list; give at least one value, "
                                  "or remove the line", name, table)
    if "params" in data and not data["params"] and "linked" not in data:
        raise where.error("[params] is empty; give at least one parameter and its values, "
                          "e.g. window = [3, 5]", "params")
    for name in data.get("outputs", []):
        if not isinstance(name, str):
            raise where.error(f"outputs must be names (strings), got {name!r}", "outputs")
    if data.get("outputs") == []:
        raise where.error("outputs is empty; name at least one output, or remove the line to "
                          "capture them all", "outputs")
    points = data.get("points")
    if points is not None and not all(isinstance(p, dict) for p in points):
        raise where.error("points must be [[points]] tables", "points")


def linked_key(table: Any, position: int, where: Locator) -> tuple[str, ...]:
    """The names of the ``position``-th ``[[linked]]`` table, checked with its values.

    >>> linked_key({"names": ["a", "b"], "values": [[1, 2]]}, 0, Locator(Path("s.toml"), ""))
    ('a', 'b')
    """
    names, values = table.get("names"), table.get("values")
    unknown = sorted(set(table) - {"names", "values"})
    problem = None
    if unknown:
        problem = f"unknown key(s) {unknown}; a [[linked]] table has names and values"
    elif not isinstance(names, list) or len(names) < 2 or not all(
            isinstance(n, str) for n in names):
        problem = "names must be a list of two or more parameter names"
    elif not isinstance(values, list) or not values or not all(
            isinstance(v, list) and len(v) == len(names) for v in values):
        problem = f"values must be a non-empty list of [{', '.join(names)}] lists"
    if problem:
        raise where.error(f"[[linked]] table {position + 1}: {problem}", "linked")
    return tuple(names)


def sample_table(table: dict[str, Any], where: Locator) -> dict[str, Any]:
    """A ``[sample]`` table as design arguments: ``sample`` (ranges and choices), ``n``,
    ``method``, ``seed`` and ``method_options`` (a Morris or Sobol' design's ``levels``,
    ``optimal_trajectories``, ``second_order``; those given).

    >>> sample_table({"n": 4, "ranges": {"x": [0, 1]}}, Locator(Path("s.toml"), ""))
    {'sample': {'x': (0, 1)}, 'n': 4, 'method': 'lhs'}
    """
    for key, value in table.items():
        if key not in _SAMPLE_KEYS:
            raise where.error(f"unknown key {key!r} in [sample]; the keys are: "
                              f"{', '.join(_SAMPLE_KEYS)}", key, "sample")
        if not isinstance(value, _SAMPLE_KEYS[key]) or (
                isinstance(value, bool) and bool not in _SAMPLE_KEYS[key]):
            raise where.error(f"sample.{key} has the wrong type: {toml_type(value)} {value!r}",
                              key, "sample")
    ranges: dict[str, Any] = {}
    for name, bounds in table.get("ranges", {}).items():
        if not isinstance(bounds, list) or len(bounds) not in (2, 3):
            raise where.error(f"sample.ranges.{name} must be [low, high] or [low, high, "
                              f"\"log\"], got {bounds!r}", name, "sample.ranges")
        ranges[name] = tuple(bounds)
    for name, choices in table.get("choices", {}).items():
        if not isinstance(choices, list):
            raise where.error(f"sample.choices.{name} must be a list of values, got "
                              f"{choices!r}", name, "sample.choices")
        ranges[name] = list(choices)
    design = {"sample": ranges, "n": table.get("n"), "method": table.get("method", "lhs")}
    if "seed" in table:
        design["seed"] = table["seed"]
    options = {key: table[key] for key in _OPTION_KEYS if key in table}
    if options:
        design["method_options"] = options
    return design
