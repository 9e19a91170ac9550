"""Explicit parameter sets: a list of points ("you generate params, we run the study"), or the
one point of a single run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ParameterTypeError
from ..paramset import ParamSet
from .design import Plan
from .inspection import ScriptInfo
from .scriptchecks import check_mapping, check_names, check_required, finish_plan
from .valuerules import check_plan_size, typed_values

__all__ = ["plan_points", "plan_run"]


def plan_run(info: ScriptInfo, params: Mapping[str, Any] | None) -> Plan:
    """Plan a single iteration with ``params``; unspecified parameters keep their defaults.

    >>> plan_run(info, {"threshold": 0.8}).points  # doctest: +SKIP
    (ParamSet({'threshold': 0.8}),)
    """
    given = check_mapping(params or {}, "params")
    check_names(info, given, "params")
    several = [n for n, v in given.items() if isinstance(v, (list, tuple, range))]
    if several:
        name = several[0]
        raise ParameterTypeError(
            f"run() runs one iteration, so params[{name!r}] must be one value, got "
            f"{given[name]!r}; to sweep several values use "
            f"sensitivity(script, {{{name!r}: {list(given[name])!r}}}) or sweep(...)"
        )
    values = ParamSet(typed_values(info, given, "params"))
    check_required(info, values, "single")
    return Plan("single", tuple(values), values, (values,))


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
    check_plan_size(len(points), "points", ("points",), "points")
    held = check_mapping(nominal or {}, "nominal")
    check_names(info, held, "nominal")
    fixed = ParamSet(typed_values(info, held, "nominal"))
    names: dict[str, None] = {}
    planned = []
    for position, point in enumerate(points):
        given = check_mapping(point, f"points[{position}]")
        check_names(info, given, f"points[{position}]")
        names.update(dict.fromkeys(given))
        values = fixed.merged(typed_values(info, given, f"points[{position}]"))
        check_required(info, values, "points")
        planned.append(values)
    return finish_plan("points", info, list(names), fixed, planned)


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
