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
tables list parameter sets explicitly; a ``[sample]`` table (``method = "lhs"``,
``"random"``, ``"morris"`` or ``"sobol"``, ``n``, ``seed``, the Morris options ``levels``
and ``optimal_trajectories`` or the Sobol' option ``second_order``, ``[sample.ranges]`` of
``[low, high]`` or ``[low, high, "log"]``, ``[sample.choices]`` of value lists) draws them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..designs.design import MODES, SAMPLE_METHODS
from ..designs.methodoptions import BAD_OPTION, OPTION_HELP, UNKNOWN_OPTION, method_of
from ..designs.request import (
    BAD_REPLICATES,
    GOES_WITH,
    GRID_ONLY,
    NEEDS_N,
    ONE_DESIGN,
    UNKNOWN_METHOD,
    check_mode,
    design_request,
)
from ..designs.valuerules import MAX_PLAN_SIZE, TOO_MANY, typed_value
from ..errors import (
    DesignError,
    ParameterError,
    ParameterTypeError,
    ScriptError,
    SweepError,
    SweepFileError,
)
from ..running.options import check_option
from .sweepkeys import (
    DESIGN_KEYS,
    Locator,
    check_tables,
    check_types,
    linked_key,
    sample_table,
    toml_type,
)

if TYPE_CHECKING:
    from ..designs.inspection import ScriptInfo

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11: the same parser, from PyPI
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["SweepFile", "SweepFileError", "read_sweep_file"]

# How this file says what a key takes, when a rule of its value is broken (by default, the
# run option's own message).
_RANGES = {
    "workers": 'workers must be a positive integer or "auto"',
    "timeout": "timeout must be a positive number of seconds",
    "capture_limit": "capture_limit must be 0 or more",
    "chunk_size": "chunk_size must be a positive integer",
    "env": "env values must be strings",
    "argv": "argv values must be strings",
}


@dataclass(frozen=True)
class SweepFile:
    """A parsed, checked sweep file: the script, the sweep definition and the run options.

    ``options`` holds the run options by their keyword names (``workers`` is
    ``max_workers``), with paths made relative to the file's folder.
    """

    path: Path
    script: Path
    mode: str = "independent"
    include_nominal: bool = True
    params: dict[Any, list[Any]] = field(default_factory=dict)
    nominal: dict[str, Any] = field(default_factory=dict)
    points: list[dict[str, Any]] | None = None
    sample: dict[str, Any] | None = None
    replicates: int = 1
    replicate_seed: str | bool | None = None
    options: dict[str, Any] = field(default_factory=dict)
    text: str = field(default="", repr=False, compare=False)

    def where(self, key: str, table: str | None = None, nth: int = 0) -> str:
        """Where ``key`` (in ``table``, its ``nth`` ``[[table]]``) is: ``"FILE, line N"``.

        >>> spec.where("window", "params")  # doctest: +SKIP
        'sweep.toml, line 7'
        """
        return Locator(self.path, self.text)(key, table, nth)

    def error(self, problem: str, key: str, table: str | None = None,
              nth: int = 0) -> SweepFileError:
        """The error ``"FILE, line N: problem"`` about ``key`` (see :meth:`where`)."""
        return Locator(self.path, self.text).error(problem, key, table, nth)

    def script_info(self) -> ScriptInfo:
        """Inspect the script the file names; a missing or broken one names the ``script`` line."""
        from ..designs.inspection import inspect_script

        try:
            return inspect_script(self.script)
        except ScriptError as exc:
            raise self.error(f"{exc} (script = is relative to the sweep file)",
                             "script") from None

    def check_outputs(self, info: ScriptInfo) -> None:
        """The file's ``outputs`` must be outputs the script declares."""
        for name in self.options.get("outputs", ()):
            if name not in info.output_names and not info.dynamic_outputs:
                import difflib

                close = difflib.get_close_matches(name, info.output_names, n=1)
                suggestion = f" Did you mean {close[0]!r}?" if close else ""
                raise self.error(
                    f"unknown output {name!r} for {info.path}.{suggestion} The script "
                    f"declares: {', '.join(info.output_names) or 'none'}.", "outputs")

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
        if self.replicates != 1:
            design["replicates"] = self.replicates
        if self.replicate_seed is not None:
            design["replicate_seed"] = self.replicate_seed
        return design

    def typed_design(self, info: ScriptInfo) -> dict[str, Any]:
        """:meth:`design`, with every name and value checked against the script's defaults.

        An int for a float default is widened (TOML writes ``2`` for ``2.0``); an unknown
        name, a value of another type, or one that is no parameter value (a date, an array)
        is an error naming its key and line.
        """
        design = self.design()
        typed = _Typer(self, info)
        design["nominal"] = {n: typed(n, v, f"nominal.{n}", (n, "nominal"))
                             for n, v in design["nominal"].items()}
        if "params" in design:
            design["params"] = _typed_params(design["params"], typed)
        if "points" in design:
            design["points"] = [
                {n: typed(n, v, f"[[points]] table {i + 1}", (n, "points", i))
                 for n, v in point.items()}
                for i, point in enumerate(design["points"])]
        if "sample" in design:
            sample: dict[str, Any] = {}
            for n, spec in design["sample"].items():
                if isinstance(spec, list):
                    where = (n, "sample.choices")
                    sample[n] = [typed(n, v, f"sample.choices.{n}", where) for v in spec]
                else:
                    where = (n, "sample.ranges")
                    sample[n] = (*(typed(n, v, f"sample.ranges.{n}", where)
                                   for v in spec[:2]), *spec[2:])
            design["sample"] = sample
        return design


class _Typer:
    """A value of the file checked (and widened) by the type of the parameter's default."""

    def __init__(self, spec: SweepFile, info: ScriptInfo) -> None:
        self.spec = spec
        self.info = info

    def __call__(self, name: str, value: Any, label: str, place: tuple[Any, ...]) -> Any:
        from .textvalues import known_param

        try:
            param = known_param(name, self.info)
            if not isinstance(value, (bool, int, float, str)):
                raise ParameterError(
                    f"{toml_type(value)} {value!r} is not a parameter value; use true or "
                    'false, a number or a "string"')
            return typed_value(param, value, name=name)
        except (ParameterError, ParameterTypeError) as exc:
            raise self.spec.error(f"{label}: {_toml_words(str(exc))}", *place) from None


def _toml_words(message: str) -> str:
    """A value rule's message with TOML's spelling of values."""
    return message.replace("True or False", "true or false").replace(
        'a string, e.g. "abc"', 'a quoted string, e.g. "abc"')


def _typed_params(params: dict[Any, list[Any]], typed: _Typer) -> dict[Any, list[Any]]:
    """``[params]`` and ``[[linked]]`` values, typed (a linked group's key is a tuple)."""
    result: dict[Any, list[Any]] = {}
    linked = 0
    for key, values in params.items():
        if isinstance(key, tuple):
            label, place = f"[[linked]] table {linked + 1}", ("linked", None, linked)
            result[key] = [tuple(typed(n, v, label, place) for n, v in zip(key, row))
                           for row in values]
            linked += 1
        else:
            result[key] = [typed(key, v, f"params.{key}", (key, "params")) for v in values]
    return result


def read_sweep_file(path: str | Path) -> SweepFile:
    """Read and check a TOML sweep file; paths in it are taken relative to the file.

    Examples
    --------
    >>> spec = read_sweep_file("sample_pipelines/oft_sweep.toml")  # doctest: +SKIP
    >>> spec.script.name, spec.params  # doctest: +SKIP
    ('oft_pipeline.py', {'smooth_window': [1, 5, 15], 'threshold': [1.0, 2.0, 4.0]})
    """
    path = Path(path)
    text, data = _load(path)
    where = Locator(path, text)
    check_types(data, where)
    if "mode" in data:
        try:
            check_mode(data["mode"])
        except DesignError:
            raise where.error(f"mode must be one of {MODES}, got {data['mode']!r}",
                              "mode") from None
    check_tables(data, where)
    options = _options(data, path.parent, where)
    params: dict[Any, list[Any]] = dict(data.get("params", {}))
    for position, table in enumerate(data.get("linked", [])):
        params[linked_key(table, position, where)] = [tuple(v) for v in table["values"]]
    sample = sample_table(data["sample"], where) if "sample" in data else None
    _check_design(data, params, sample, where)
    return SweepFile(
        path=path, script=path.parent / data["script"], mode=data.get("mode", "independent"),
        include_nominal=data.get("include_nominal", True), params=params,
        nominal=dict(data.get("nominal", {})), points=data.get("points"), sample=sample,
        replicates=data.get("replicates", 1), replicate_seed=data.get("replicate_seed"),
        options=options, text=text,
    )


def _load(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM, as some editors write, is fine
    except FileNotFoundError:
        raise SweepFileError(f"sweep file not found: {str(path)!r}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepFileError(f"cannot read sweep file {path}: {exc}") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SweepFileError(f"{path}: not valid TOML: {exc}") from None
    except ValueError:  # an int of more digits than Python converts (4,300)
        line = next((n for n, t in enumerate(text.splitlines(), 1)
                     if re.search(r"[0-9_]{4300}", t)), None)
        where = f"{path}, line {line}" if line else str(path)
        raise SweepFileError(
            f"{where}: a number of more than 4,300 digits; parameter ints must fit in 64 bits "
            "(TOML's integers): pass such a number as a string", None, line) from None


def _options(data: dict[str, Any], base: Path, where: Locator) -> dict[str, Any]:
    """The run options the file gives, by keyword name, each checked (with its line)."""
    options = {k: v for k, v in data.items() if k not in DESIGN_KEYS}
    if "workers" in options:
        options["max_workers"] = options.pop("workers")
    if "store" in options:
        options["store"] = str(base / options["store"])
    if isinstance(options.get("workdir"), str):
        options["workdir"] = str(base / options["workdir"])
    if "/" in options.get("python", ""):  # a path, not a command: relative to the file
        options["python"] = str(base / options["python"])
    for name, value in options.items():
        key = "workers" if name == "max_workers" else name
        try:
            check_option(name, value)
        except SweepError as exc:
            problem = _RANGES.get(key)
            raise where.error(f"{problem}, got {data[key]!r}" if problem else str(exc),
                              key) from None
    return options


def _option_error(rule: str, name: str, table: dict[str, Any], where: Locator) -> SweepFileError:
    """A ``[sample]`` option its method does not take, or a value it refuses."""
    method = table.get("method", "lhs")
    if rule == UNKNOWN_OPTION:
        return where.error(f"sample.{name} goes with method = {method_of(name)!r}; "
                           f"method = {method!r} does not use it: leave it out", name, "sample")
    size = " (fewer than n)" if name == "optimal_trajectories" else ""
    return where.error(f"sample.{name} must be {OPTION_HELP[name]}{size}, got "
                       f"{table[name]!r}", name, "sample")


def _check_design(data: dict[str, Any], params: dict[Any, list[Any]],
                  sample: dict[str, Any] | None, where: Locator) -> None:
    """The design rules (``designs.request``), worded as keys of this file."""
    try:
        design_request(params if "params" in data or "linked" in data else None,
                       points=data.get("points"), **(sample or {}),
                       mode=data.get("mode", "independent"),
                       include_nominal=data.get("include_nominal"),
                       replicates=data.get("replicates", 1))
    except DesignError as exc:
        if exc.rule == ONE_DESIGN:
            raise SweepFileError(
                f"{where.path}: give exactly one design: [params] (and/or [[linked]]), "
                f"[[points]] or [sample]; found {', '.join(exc.arguments) or 'none'}") from None
        if exc.rule == NEEDS_N:
            raise where.error("[sample] needs n, the number of draws", "sample") from None
        if exc.rule == BAD_REPLICATES:
            raise where.error(f"replicates must be a whole number of runs per parameter set, "
                              f"at least 1, got {data['replicates']!r}", "replicates") from None
        if exc.rule == TOO_MANY:
            raise where.error(
                f"sample.n = {data['sample']['n']:,} draws more parameter sets than one sweep "
                f"plans (at most {MAX_PLAN_SIZE:,}: the plan is held in memory and every set "
                "is stored); draw fewer, or split the study into several sweeps into the same "
                "store", "n", "sample") from None
        if exc.rule == UNKNOWN_METHOD:
            raise where.error(f"sample.method must be one of {SAMPLE_METHODS}, got "
                              f"{data['sample']['method']!r}", "method", "sample") from None
        if exc.rule in (UNKNOWN_OPTION, BAD_OPTION):
            raise _option_error(exc.rule, exc.arguments[0], data["sample"], where) from None
        if exc.rule in (GOES_WITH, GRID_ONLY) and "include_nominal" in exc.arguments:
            raise where.error(
                'include_nominal = false goes with a grid of [params] (mode = "grid"): an '
                f"independent sweep needs its nominal baseline, got "
                f"{data['include_nominal']!r}", "include_nominal") from None
        raise
