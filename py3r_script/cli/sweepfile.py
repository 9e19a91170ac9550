"""TOML sweep files: a sweep definition to commit next to the script it sweeps.

::

    script = "oft_pipeline.py"          # relative to this file
    mode = "independent"                # or "grid"
    outputs = ["distance_cm", "time_moving"]
    workers = 2                         # or "auto"
    timeout = 120
    store = "oft_study.db"              # relative to this file

    [params]
    smooth_window = [1, 5, 15]
    threshold = [1.0, 2.0, 4.0]

    [nominal]
    seed = 1

Other designs: ``[[linked]]`` tables (``names = ["window", "min_len"]``,
``values = [[3, 2], [5, 3]]``) vary parameters together, inside grids too; ``[[points]]``
tables list parameter sets explicitly; a ``[sample]`` table (``method = "lhs"`` or
``"random"``, ``n``, ``seed``, ``[sample.ranges]`` of ``[low, high]`` or
``[low, high, "log"]``, ``[sample.choices]`` of value lists) draws them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ParameterError, ScriptError

if TYPE_CHECKING:
    from ..designs.inspection import ScriptInfo

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11: the same parser, from PyPI
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["SweepFile", "SweepFileError", "read_sweep_file"]

# key -> (accepted types, description for messages)
_TOP_LEVEL: dict[str, tuple[tuple[type, ...], str]] = {
    "script": ((str,), "a path to the script, relative to the sweep file"),
    "mode": ((str,), '"independent" or "grid"'),
    "include_nominal": ((bool,), "true or false: whether a grid adds each parameter's nominal "
                                 "value to its list (false: exactly the values given)"),
    "params": ((dict,), "a table of parameter name = [values]"),
    "nominal": ((dict,), "a table of parameter name = value"),
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
    "linked": ((list,), "[[linked]] tables with names = [...] and values = [[...], ...]"),
    "points": ((list,), "[[points]] tables, one parameter set each"),
    "sample": ((dict,), "a [sample] table with method, n, seed, [sample.ranges], "
                        "[sample.choices]"),
}
_DESIGN_KEYS = ("params", "nominal", "linked", "points", "sample", "script", "mode",
                "include_nominal")
_SAMPLE_KEYS = {"method": (str,), "n": (int,), "seed": (int,), "ranges": (dict,),
                "choices": (dict,)}


class SweepFileError(ParameterError):
    """A sweep file is missing, not valid TOML, or has unknown keys or wrong types."""


@dataclass(frozen=True)
class SweepFile:
    """A parsed, checked sweep file: the script, the sweep definition and the run options."""

    path: Path
    script: Path
    mode: str = "independent"
    include_nominal: bool = True
    params: dict[Any, list[Any]] = field(default_factory=dict)
    nominal: dict[str, Any] = field(default_factory=dict)
    points: list[dict[str, Any]] | None = None
    sample: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    text: str = field(default="", repr=False, compare=False)

    def where(self, key: str, table: str | None = None, nth: int = 0) -> str:
        """Where ``key`` (in ``table``, its ``nth`` ``[[table]]``) is: ``"FILE, line N"``.

        >>> spec.where("window", "params")  # doctest: +SKIP
        'sweep.toml, line 7'
        """
        return _Locator(self.path, self.text)(key, table, nth)

    def script_info(self) -> ScriptInfo:
        """Inspect the script the file names; a missing or broken one names the ``script`` line."""
        from ..designs.inspection import inspect_script

        try:
            return inspect_script(self.script)
        except ScriptError as exc:
            raise SweepFileError(f"{self.where('script')}: {exc} (script = is relative to the "
                                 "sweep file)") from None

    def check_outputs(self, info: ScriptInfo) -> None:
        """The file's ``outputs`` must be outputs the script declares."""
        for name in self.options.get("outputs", ()):
            if name not in info.output_names and not info.dynamic_outputs:
                import difflib

                close = difflib.get_close_matches(name, info.output_names, n=1)
                suggestion = f" Did you mean {close[0]!r}?" if close else ""
                raise SweepFileError(
                    f"{self.where('outputs')}: unknown output {name!r} for {info.path}."
                    f"{suggestion} The script declares: "
                    f"{', '.join(info.output_names) or 'none'}.")

    def typed_design(self, info: ScriptInfo) -> dict[str, Any]:
        """:meth:`design`, with every name and value checked against the script's defaults.

        An int for a float default is widened (TOML writes ``2`` for ``2.0``); an unknown
        name, a value of another type, or one that is no parameter value (a date, an array)
        is an error naming its key and line.
        """
        from .textvalues import coerce_to_default, known_param

        def typed(name: str, value: Any, label: str, where: str) -> Any:
            try:
                param = known_param(name, info)
                if not isinstance(value, (bool, int, float, str)):
                    raise ParameterError(
                        f"{_toml_type(value)} {value!r} is not a parameter value; use true or "
                        'false, a number or a "string"')
                return coerce_to_default(value, param, name)
            except ParameterError as exc:
                raise SweepFileError(f"{where}: {label}: {exc}") from None

        design = self.design()
        design["nominal"] = {n: typed(n, v, f"nominal.{n}", self.where(n, "nominal"))
                             for n, v in design["nominal"].items()}
        if "params" in design:
            params: dict[Any, list[Any]] = {}
            linked = 0
            for key, values in design["params"].items():
                if isinstance(key, tuple):
                    where = self.where("linked", nth=linked)
                    label = f"[[linked]] table {linked + 1}"
                    params[key] = [tuple(typed(n, v, label, where) for n, v in zip(key, row))
                                   for row in values]
                    linked += 1
                else:
                    where = self.where(key, "params")
                    params[key] = [typed(key, v, f"params.{key}", where) for v in values]
            design["params"] = params
        if "points" in design:
            design["points"] = [
                {n: typed(n, v, f"[[points]] table {i + 1}", self.where(n, "points", i))
                 for n, v in point.items()}
                for i, point in enumerate(design["points"])]
        if "sample" in design:
            sample: dict[str, Any] = {}
            for n, spec in design["sample"].items():
                if isinstance(spec, list):
                    where = self.where(n, "sample.choices")
                    sample[n] = [typed(n, v, f"sample.choices.{n}", where) for v in spec]
                else:
                    where = self.where(n, "sample.ranges")
                    sample[n] = (*(typed(n, v, f"sample.ranges.{n}", where)
                                   for v in spec[:2]), *spec[2:])
            design["sample"] = sample
        return design

    def design(self) -> dict[str, Any]:
        """Keyword arguments for :func:`py3r_script.sweep` / :func:`py3r_script.plan`."""
        design: dict[str, Any] = {"mode": self.mode, "nominal": self.nominal}
        if self.points is not None:
            design["points"] = self.points
        elif self.sample is not None:
            design.update(self.sample)
        else:
            design["params"] = self.params
            if not self.include_nominal:
                design["include_nominal"] = False
        return design


def read_sweep_file(path: str | Path) -> SweepFile:
    """Read and check a TOML sweep file; paths in it are taken relative to the file.

    Examples
    --------
    >>> spec = read_sweep_file("sample_pipelines/oft_sweep.toml")  # doctest: +SKIP
    >>> spec.script.name, spec.params  # doctest: +SKIP
    ('oft_pipeline.py', {'smooth_window': [1, 5, 15], 'threshold': [1.0, 2.0, 4.0]})
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM, as some editors write, is fine
    except FileNotFoundError:
        raise SweepFileError(f"sweep file not found: {str(path)!r}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepFileError(f"cannot read sweep file {path}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SweepFileError(f"{path}: not valid TOML: {exc}") from None
    where = _Locator(path, text)
    for key, value in data.items():
        if key not in _TOP_LEVEL:
            known = ", ".join(_TOP_LEVEL)
            raise SweepFileError(f"{where(key)}: unknown key {key!r}; the keys are: {known}")
        types, description = _TOP_LEVEL[key]
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            raise SweepFileError(
                f"{where(key)}: {key} must be {description}, got {_toml_type(value)} {value!r}"
            )
    if "script" not in data:
        raise SweepFileError(f"{path}: missing key 'script' (the path of the script to sweep)")
    if not data["script"].strip():
        raise SweepFileError(f"{where('script')}: script is empty; give the path of the script "
                             "to sweep, relative to this file")
    _check_values(data, where)
    for table in ("params", "nominal"):
        for name, value in data.get(table, {}).items():
            if isinstance(value, dict):
                raise SweepFileError(
                    f"{where(name, table)}: {table}.{name} must be "
                    f"{'a list of values' if table == 'params' else 'a value'}, got a table"
                )
            if table == "params" and not isinstance(value, list):
                raise SweepFileError(
                    f"{where(name, table)}: params.{name} must be a list of values, e.g. "
                    f"{name} = [{value!r}], got {_toml_type(value)} {value!r}"
                )
            if table == "params" and not value:
                raise SweepFileError(f"{where(name, table)}: params.{name} is an empty list; "
                                     "give at least one value, or remove the line")
    if "params" in data and not data["params"] and "linked" not in data:
        raise SweepFileError(f"{where('params')}: [params] is empty; give at least one "
                             "parameter and its values, e.g. window = [3, 5]")
    for key in ("env", "argv"):
        items = data.get(key, {})
        values = items.values() if isinstance(items, dict) else items
        if not all(isinstance(v, str) for v in values):
            raise SweepFileError(f"{where(key)}: {key} values must be strings, got {items!r}")
    for name in data.get("outputs", []):
        if not isinstance(name, str):
            raise SweepFileError(
                f"{where('outputs')}: outputs must be names (strings), got {name!r}")
    if data.get("outputs") == []:
        raise SweepFileError(f"{where('outputs')}: outputs is empty; name at least one output, "
                             "or remove the line to capture them all")
    params: dict[Any, list[Any]] = dict(data.get("params", {}))
    for position, table in enumerate(data.get("linked", [])):
        params[_linked_key(table, position, where)] = [tuple(v) for v in table["values"]]
    points = data.get("points")
    if points is not None and not all(isinstance(p, dict) for p in points):
        raise SweepFileError(f"{where('points')}: points must be [[points]] tables")
    sample = _sample(data["sample"], where) if "sample" in data else None
    designs = [k for k in ("params", "points", "sample") if k in data or
               (k == "params" and "linked" in data)]
    if len(designs) != 1:
        raise SweepFileError(
            f"{path}: give exactly one design: [params] (and/or [[linked]]), [[points]] or "
            f"[sample]; found {', '.join(designs) or 'none'}"
        )
    base = path.parent
    options = {k: v for k, v in data.items() if k not in _DESIGN_KEYS}
    if "workers" in options:
        options["max_workers"] = options.pop("workers")
    for key in ("store",):
        if key in options:
            options[key] = str(base / options[key])
    if isinstance(options.get("workdir"), str):
        options["workdir"] = str(base / options["workdir"])
    if "/" in options.get("python", ""):  # a path, not a command: relative to the file
        options["python"] = str(base / options["python"])
    return SweepFile(
        path=path,
        script=base / data["script"],
        mode=data.get("mode", "independent"),
        include_nominal=data.get("include_nominal", True),
        params=params,
        nominal=dict(data.get("nominal", {})),
        points=points,
        sample=sample,
        options=options,
        text=text,
    )


def _check_values(data: dict[str, Any], where: _Locator) -> None:
    """Values of the right type but out of range, reported with their line."""
    from ..designs.planning import MODES

    problems = {
        "mode": data.get("mode", MODES[0]) not in MODES and f"mode must be one of {MODES}",
        "workers": not (data.get("workers", 1) == "auto" or (
            isinstance(data.get("workers", 1), int) and data.get("workers", 1) > 0))
        and 'workers must be a positive integer or "auto"',
        "timeout": "timeout" in data and not data["timeout"] > 0
        and "timeout must be a positive number of seconds",
        "capture_limit": "capture_limit" in data and data["capture_limit"] < 0
        and "capture_limit must be 0 or more",
        "include_nominal": data.get("include_nominal") is False and (
            data.get("mode", MODES[0]) != "grid" or "points" in data or "sample" in data)
        and 'include_nominal = false goes with a grid of [params] (mode = "grid"): an '
            "independent sweep needs its nominal baseline",
    }
    for key, problem in problems.items():
        if problem:
            raise SweepFileError(f"{where(key)}: {problem}, got {data[key]!r}")


def _linked_key(table: Any, position: int, where: _Locator) -> tuple[str, ...]:
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
        raise SweepFileError(f"{where('linked')}: [[linked]] table {position + 1}: {problem}")
    return tuple(names)


def _sample(table: dict[str, Any], where: _Locator) -> dict[str, Any]:
    for key, value in table.items():
        if key not in _SAMPLE_KEYS:
            raise SweepFileError(f"{where(key, 'sample')}: unknown key {key!r} in [sample]; "
                                 f"the keys are: {', '.join(_SAMPLE_KEYS)}")
        if not isinstance(value, _SAMPLE_KEYS[key]) or isinstance(value, bool):
            raise SweepFileError(f"{where(key, 'sample')}: sample.{key} has the wrong type: "
                                 f"{_toml_type(value)} {value!r}")
    if "n" not in table:
        raise SweepFileError(f"{where('sample')}: [sample] needs n, the number of draws")
    ranges: dict[str, Any] = {}
    for name, bounds in table.get("ranges", {}).items():
        if not isinstance(bounds, list) or len(bounds) not in (2, 3):
            raise SweepFileError(f"{where(name, 'sample.ranges')}: sample.ranges.{name} must "
                                 f"be [low, high] or [low, high, \"log\"], got {bounds!r}")
        ranges[name] = tuple(bounds)
    for name, choices in table.get("choices", {}).items():
        if not isinstance(choices, list):
            raise SweepFileError(f"{where(name, 'sample.choices')}: sample.choices.{name} "
                                 f"must be a list of values, got {choices!r}")
        ranges[name] = list(choices)
    design = {"sample": ranges, "n": table["n"], "method": table.get("method", "lhs")}
    if "seed" in table:
        design["seed"] = table["seed"]
    return design


class _Locator:
    """Finds the line of a key in the TOML text, for messages like ``sweep.toml, line 4``."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def __call__(self, key: str, table: str | None = None, nth: int = 0) -> str:
        current: str | None = None
        seen, table_line = -1, 0  # occurrences of [table] (or [[key]]) so far; nth's line
        name = rf"""(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')"""
        pattern = re.compile(rf"^\s*{name}\s*[=.]")
        header = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
        spellings = [  # params.window = ..., [params.window], params = { window = ... }
            re.compile(rf"^\s*\[*\s*{re.escape(table)}\s*\.\s*{name}\b"),
            re.compile(rf"^\s*{re.escape(table)}\s*=.*\b{re.escape(key)}\b"),
        ] if table else []
        for number, line in enumerate(self.lines, start=1):
            if any(spelling.match(line) for spelling in spellings):
                return self._line(number)
            found = header.match(line)
            if found:
                current = found.group(1).strip()
                if current == (key if table is None else table):
                    seen += 1
                    if seen == nth and table is None:
                        return self._line(number)
                    table_line = number if seen == nth else table_line
                continue
            if current == table and (table is None or seen == nth) and pattern.match(line):
                return self._line(number)
        return self._line(table_line) if table_line else str(self.path)

    def _line(self, number: int) -> str:
        return f"{self.path}, line {number}"


def _toml_type(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string",
             list: "an array", dict: "a table"}
    return names.get(type(value), type(value).__name__)
