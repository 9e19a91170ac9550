"""Sweep planning: from a sweep definition and the script's declarations to parameter sets.

Every check a sweep needs happens here, before any subprocess starts: unknown names (with a
suggestion), required parameters without a value, bad value lists, non-scalar values.
"""

from __future__ import annotations

import difflib
import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..errors import ParameterError, ParameterTypeError, warn
from ..paramset import ParamSet, Scalar, to_scalar, value_key
from .design import MODES, Design
from .inspection import ScriptInfo

if TYPE_CHECKING:
    from .sampling import Dimension

__all__ = ["MODES", "Design", "Plan", "plan_points", "plan_run", "plan_sample", "plan_sweep"]

@dataclass(frozen=True)
class Plan:
    """The iterations of a sweep, in the order they run.

    ``param_names`` are the swept names in the order given, then the names held constant;
    ``nominal`` holds their nominal values (where known); ``points`` are what each iteration
    injects; ``seed`` is the seed a sampled design was drawn with; ``linked`` the groups of
    names that vary together.

    >>> p = plan("pipeline.py", {"window": [3, 7]}, mode="independent")  # doctest: +SKIP
    >>> len(p), p.param_names  # doctest: +SKIP
    (3, ('window',))
    >>> p.to_dataframe()  # doctest: +SKIP
    """

    mode: str
    param_names: tuple[str, ...]
    nominal: ParamSet
    points: tuple[ParamSet, ...]
    seed: int | None = None
    linked: tuple[tuple[str, ...], ...] = ()

    def __len__(self) -> int:
        return len(self.points)

    @property
    def design(self) -> Design:
        """The plan's :class:`Design`: its mode, linked groups and seed."""
        return Design(self.mode, self.linked, self.seed)

    def to_dataframe(self) -> Any:
        """The planned combinations as a DataFrame, one row per iteration.

        >>> plan.to_dataframe()  # doctest: +SKIP
        """
        import pandas as pd

        rows = [[point.get(name) for name in self.param_names] for point in self.points]
        return pd.DataFrame(rows, columns=list(self.param_names), dtype=object).infer_objects()


@dataclass(frozen=True)
class _Axis:
    """Names that vary together (one name, or a linked group) and their value tuples."""

    names: tuple[str, ...]
    values: tuple[tuple[Scalar, ...], ...]


def plan_run(info: ScriptInfo, params: Mapping[str, Any] | None) -> Plan:
    """Plan a single iteration with ``params``; unspecified parameters keep their defaults."""
    given = _check_mapping(params or {}, "params")
    _check_names(info, given, "params")
    several = [n for n, v in given.items() if isinstance(v, (list, tuple, range))]
    if several:
        name = several[0]
        raise ParameterTypeError(
            f"run() runs one iteration, so params[{name!r}] must be one value, got "
            f"{given[name]!r}; to sweep several values use "
            f"sensitivity(script, {{{name!r}: {list(given[name])!r}}}) or sweep(...)"
        )
    values = ParamSet(given)
    _check_required(info, values, hint="run(script, {{{name!r}: ...}})")
    return Plan("single", tuple(values), values, (values,))


def plan_sweep(
    info: ScriptInfo,
    params: Mapping[Any, Any],
    *,
    nominal: Mapping[str, Any] | None = None,
    mode: str = "independent",
    include_nominal: bool = True,
) -> Plan:
    """Plan an independent (one-at-a-time) or grid sweep.

    Each swept parameter's nominal value (``nominal[name]``, else the script default) is
    added to its list when missing (for a grid, ``include_nominal=False`` runs exactly the
    product of the given lists); duplicates are dropped (type-aware: ``1``, ``1.0`` and
    ``True`` are different values).

    Examples
    --------
    >>> plan = plan_sweep(info, {"window": [3, 7]}, mode="independent")  # doctest: +SKIP
    >>> [dict(p) for p in plan.points]  # doctest: +SKIP
    [{'window': 5}, {'window': 3}, {'window': 7}]
    """
    if mode not in MODES:
        raise ParameterError(f"unknown mode {mode!r}; use one of {', '.join(map(repr, MODES))}")
    if not isinstance(include_nominal, bool):
        raise ParameterTypeError(f"include_nominal must be True or False, got "
                                 f"{include_nominal!r}")
    if not include_nominal and mode == "independent":
        raise ParameterError(
            "include_nominal=False is for grids: an independent sweep varies one parameter at "
            "a time around a baseline run at the nominal values, so it always runs them; use "
            "mode='grid' to run exactly the product of the given values"
        )
    spec = _check_mapping(params, "params")
    if not spec:
        raise ParameterError(
            "params is empty: give at least one parameter with a list of values to sweep, "
            "or use run(script, {...}) for a single iteration"
        )
    fixed = ParamSet(_check_mapping(nominal or {}, "nominal"))
    _check_names(info, fixed, "nominal")
    axes = [_axis(info, key, values) for key, values in spec.items()]
    swept = [name for axis in axes for name in axis.names]
    duplicated = sorted({n for n in swept if swept.count(n) > 1})
    if duplicated:
        raise ParameterError(f"parameter(s) {duplicated} appear in more than one key of params")
    names, centre = _names_and_centre(info, swept, fixed)
    constants = {n: fixed[n] for n in names if n not in swept}
    _check_required(info, ParamSet({**constants, **{n: None for n in swept}}),
                    hint="sensitivity(..., nominal={{{name!r}: ...}})")
    if mode == "independent":
        missing = [n for n in swept if n not in centre]
        if missing:
            raise ParameterError(_no_nominal_message(info, missing))
    if include_nominal:
        axes = [_with_nominal(axis, centre) for axis in axes]
    if mode == "independent":
        points = _independent(axes, centre, constants)
    else:
        points = _grid(axes, constants)
    linked = tuple(axis.names for axis in axes if len(axis.names) > 1)
    return Plan(mode, names, ParamSet(centre), tuple(points), linked=linked)


def plan_points(
    info: ScriptInfo,
    points: Sequence[Mapping[str, Any]],
    *,
    nominal: Mapping[str, Any] | None = None,
) -> Plan:
    """Plan an explicit list of parameter sets ("you generate params, we run the study").

    Names missing from a point keep ``nominal[name]``, else the script default; duplicate
    points run once. A DataFrame works too, one row per point; an empty (NaN) cell keeps
    the default.

    >>> plan = plan_points(info, [{"window": 3, "threshold": 0.5}, {"window": 9}])  # doctest: +SKIP
    """
    if type(points).__module__.startswith("pandas") and hasattr(points, "columns"):
        points = _frame_points(info, points)
    if isinstance(points, Mapping) or not isinstance(points, Sequence) or not points:
        raise ParameterTypeError(
            "points must be a non-empty list of dicts of parameter values, e.g. "
            "[{'window': 3}, {'window': 5, 'threshold': 0.5}], or a DataFrame with one row "
            "per point"
        )
    fixed = ParamSet(_check_mapping(nominal or {}, "nominal"))
    _check_names(info, fixed, "nominal")
    names: dict[str, None] = {}
    planned = []
    for position, point in enumerate(points):
        given = _check_mapping(point, f"points[{position}]")
        _check_names(info, given, f"points[{position}]")
        names.update(dict.fromkeys(given))
        values = fixed.merged(given)
        _check_required(info, values, hint="add it to each point, or nominal={{{name!r}: ...}}")
        planned.append(values)
    return _finish("points", info, list(names), fixed, planned)


def _frame_points(info: ScriptInfo, frame: Any) -> list[dict[str, Any]]:
    """A DataFrame's rows as points: its columns are names, an empty (NaN) cell keeps the
    default. Cells are read column by column, so an int column stays int; so does an int
    parameter's column that pandas made float only because some cells are empty."""
    import pandas as pd

    columns = {}
    for name in frame.columns:
        column = frame[name]
        values = column.astype(object).tolist()
        param = info.param(name) if isinstance(name, str) else None
        if (param is not None and param.type_name == "int" and column.dtype.kind == "f"
                and column.isna().any() and all(v.is_integer() for v in column.dropna())):
            values = [v if v != v else int(v) for v in values]
        columns[name] = values
    return [{name: values[row] for name, values in columns.items()
             if not (pd.api.types.is_scalar(values[row]) and pd.isna(values[row]))}
            for row in range(len(frame))]


def plan_sample(
    info: ScriptInfo,
    sample: Mapping[str, Any],
    *,
    n: int,
    method: str = "lhs",
    seed: int | None = None,
    nominal: Mapping[str, Any] | None = None,
) -> Plan:
    """Plan ``n`` random or Latin-hypercube samples of parameter ranges.

    ``sample`` maps names to ``(low, high)``, ``(low, high, "log")`` or a list of choices.
    A range's values take the type of the script's default: a float parameter gets floats
    (even from int bounds), an int parameter integers in the closed range (log-uniform for
    ``"log"``; its bounds must be whole numbers); without a known default, int bounds give
    integers and float bounds floats. The same seed gives the same plan; without
    one a seed is chosen and kept in ``Plan.seed``. Duplicate draws (possible with ints
    and choices) run once.

    >>> plan = plan_sample(info, {"threshold": (0.1, 0.9)}, n=8, seed=1)  # doctest: +SKIP
    """
    from .sampling import check_sample, draw

    dimensions = check_sample(sample, n, method)
    _check_names(info, [d.name for d in dimensions], "sample")
    for position, dimension in enumerate(dimensions):  # the script default's type rules
        param = info.param(dimension.name)
        kind = None if param is None or dimension.choices else param.type_name
        if dimension.integer and kind == "float":  # (1, 4) for a float knob: floats
            dimensions[position] = replace(dimension, integer=False)
        elif not dimension.integer and kind == "int":  # (1, 100, "log") for an int knob
            dimensions[position] = _integer_dimension(dimension, sample[dimension.name],
                                                      param.default if param else None)
    fixed = ParamSet(_check_mapping(nominal or {}, "nominal"))
    _check_names(info, fixed, "nominal")
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    elif isinstance(seed, bool) or not isinstance(seed, int):
        raise ParameterTypeError(f"seed must be an int, got {seed!r}")
    planned = [fixed.merged(point) for point in draw(dimensions, n, method=method, seed=seed)]
    for values in planned[:1]:
        _check_required(info, values, hint="nominal={{{name!r}: ...}}")
    return _finish(method, info, [d.name for d in dimensions], fixed, planned, seed=seed)


def _integer_dimension(dimension: Dimension, spec: Any, default: Any) -> Dimension:
    """An int parameter's range drawn as integers (bounds must be whole numbers)."""
    if not (dimension.low.is_integer() and dimension.high.is_integer()):
        raise ParameterError(
            f"sample[{dimension.name!r}] = {spec!r}: {dimension.name!r} is an int parameter "
            f"(its default is {default!r}), so it is sampled as integers and the range needs "
            f"whole-number bounds: write them as ints, e.g. ({math.ceil(dimension.low)}, "
            f"{max(math.floor(dimension.high), math.ceil(dimension.low) + 1)}"
            f"{', ' + repr('log') if dimension.log else ''})"
        )
    return replace(dimension, integer=True)


def _finish(
    mode: str,
    info: ScriptInfo,
    varied: list[str],
    fixed: ParamSet,
    planned: list[ParamSet],
    *,
    seed: int | None = None,
) -> Plan:
    names, centre = _names_and_centre(info, varied, fixed)
    complete = [point.merged({n: v for n, v in centre.items() if n not in point})
                for point in planned]  # a name a point leaves out keeps its known default
    unique = list(dict.fromkeys(complete))
    return Plan(mode, names, ParamSet(centre), tuple(unique), seed=seed)


def _names_and_centre(
    info: ScriptInfo, varied: list[str], fixed: ParamSet
) -> tuple[tuple[str, ...], dict[str, Scalar]]:
    """The plan's names (varied, then held constant) and nominal values (given, else default)."""
    names = tuple(varied + [n for n in fixed if n not in varied])
    centre = {n: fixed[n] for n in names if n in fixed}
    for name in varied:
        param = info.param(name)
        if name not in centre and param is not None and param.known_default:
            centre[name] = param.default
    return names, centre


def _independent(
    axes: list[_Axis], centre: dict[str, Scalar], constants: dict[str, Scalar]
) -> list[ParamSet]:
    baseline = ParamSet({**centre, **constants})
    points = [baseline]
    for axis in axes:
        at_nominal = _keys(tuple(centre[n] for n in axis.names))
        for values in axis.values:
            if _keys(values) != at_nominal:
                points.append(baseline.merged(dict(zip(axis.names, values))))
    return points


def _grid(axes: list[_Axis], constants: dict[str, Scalar]) -> list[ParamSet]:
    points = []
    for combination in itertools.product(*(axis.values for axis in axes)):
        point: dict[str, Scalar] = {}
        for axis, values in zip(axes, combination):
            point.update(zip(axis.names, values))
        point.update(constants)
        points.append(ParamSet(point))
    return points


def _keys(values: tuple[Scalar, ...]) -> tuple[tuple[str, str], ...]:
    return tuple(value_key(v) for v in values)


def _with_nominal(axis: _Axis, centre: dict[str, Scalar]) -> _Axis:
    if not all(n in centre for n in axis.names):
        return axis
    nominal = tuple(centre[n] for n in axis.names)
    return _Axis(axis.names, _unique([*axis.values, nominal]))


def _unique(values: list[tuple[Scalar, ...]]) -> tuple[tuple[Scalar, ...], ...]:
    seen: dict[tuple[tuple[str, str], ...], tuple[Scalar, ...]] = {}
    for value in values:
        seen.setdefault(_keys(value), value)
    return tuple(seen.values())


def _axis(info: ScriptInfo, key: Any, values: Any) -> _Axis:
    names = key if isinstance(key, tuple) else (key,)
    if not names or not all(isinstance(n, str) for n in names):
        raise ParameterTypeError(
            f"params keys must be parameter names (str) or tuples of names for linked "
            f"parameters, got {key!r}"
        )
    _check_names(info, names, "params")
    label = repr(key)
    items = _as_list(values, label)
    rows: list[tuple[Scalar, ...]] = []
    for position, item in enumerate(items):
        if not isinstance(key, tuple):
            rows.append((to_scalar(item, what=f"value {position} of {label} ({item!r})"),))
            continue
        if not isinstance(item, (tuple, list)) or len(item) != len(names):
            raise ParameterTypeError(
                f"linked parameters {label} take tuples of {len(names)} values, got {item!r} "
                f"at position {position}"
            )
        rows.append(tuple(
            to_scalar(v, what=f"value {position} of {label} for {n!r}") for n, v in zip(names, item)
        ))
    return _Axis(tuple(names), _unique(rows))


def _as_list(values: Any, label: str) -> list[Any]:
    if hasattr(values, "tolist") and getattr(values, "ndim", 0) in (1, 2):
        values = values.tolist()  # a NumPy array (2-D: rows for a linked key), pandas Index
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, range)):
        kind = type(values).__name__
        if isinstance(values, (set, frozenset)):
            hint = "sets have no order: pass sorted(...)"
        elif isinstance(values, Mapping):
            hint = ("a dict is not a list of values; to vary parameters together, use a "
                    "tuple key: {('a', 'b'): [(1, 2), (3, 4)]}")
        elif hasattr(values, "__iter__") and not isinstance(values, (str, bytes)):
            hint = "pass list(...) of it"
        else:
            hint = f"write {{{label}: [{values!r}]}} for a single value"
        raise ParameterTypeError(
            f"params[{label}] must be a list of values to sweep, got {kind} {values!r}; {hint}"
        )
    if len(values) == 0:
        raise ParameterError(f"params[{label}] is an empty list: give at least one value")
    return list(values)


def _check_mapping(value: Any, what: str) -> dict[Any, Any]:
    if not isinstance(value, Mapping):
        raise ParameterTypeError(
            f"{what} must be a dict of parameter name to value(s), got {type(value).__name__}"
        )
    return dict(value)


def _check_names(info: ScriptInfo, names: Any, what: str) -> None:
    known = info.param_names
    for name in names:
        if not isinstance(name, str):
            raise ParameterTypeError(f"{what} keys must be parameter names (str), got {name!r}")
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        declared = ", ".join(known) if known else "none"
        if info.dynamic_params:  # names computed at run time: an unlisted one may exist
            if close:
                warn(f"parameter {name!r} in {what} is not among the names {info.path} "
                     f"declares literally ({declared}), though some names are computed at run "
                     f"time.{suggestion} The sweep warns at the end if the script never "
                     "read it.")
            continue
        raise ParameterError(
            f"unknown parameter {name!r} in {what} for {info.path}.{suggestion} "
            f"The script declares: {declared}."
        )


def _check_required(info: ScriptInfo, values: Mapping[str, Any], *, hint: str) -> None:
    missing = [p.name for p in info.params if p.required and p.name not in values]
    if missing:
        name = missing[0]
        raise ParameterError(
            f"parameter(s) {', '.join(map(repr, missing))} have no default in {info.path}, so "
            f"they must be given a value: {hint.format(name=name)}"
        )


def _no_nominal_message(info: ScriptInfo, missing: list[str]) -> str:
    reasons = []
    for name in missing:
        param = info.param(name)
        if param is not None and param.has_default and not param.literal:
            source = param.default_source
            reasons.append(f"{name!r} (its default {source} is only known at run time)")
        elif param is None:
            reasons.append(f"{name!r} (not declared with a literal name in the script)")
        else:
            reasons.append(f"{name!r} (no script default)")
    example = ", ".join(f"{n!r}: ..." for n in missing)
    return (
        f"an independent sweep varies one parameter at a time around a nominal value, but "
        f"{', '.join(reasons)} has none: pass nominal={{{example}}}, or use mode='grid'"
    )
