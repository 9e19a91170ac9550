"""Sweeps of value lists: one parameter at a time around a nominal point, or a full grid.

A key of ``params`` is a parameter name, or a tuple of names whose values vary together
(linked parameters) with a list of value tuples. Values are typed by the script's defaults
(``valuerules``), then de-duplicated type-aware: for an untyped parameter ``1``, ``1.0`` and
``True`` are different values.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ParameterError, ParameterTypeError
from ..paramset import ParamSet, Scalar, value_key
from .design import Plan
from .inspection import ScriptInfo
from .request import check_include_nominal, check_mode
from .scriptchecks import (
    check_mapping,
    check_names,
    check_nominal_known,
    check_required,
    names_and_centre,
)
from .valuerules import check_plan_size, typed_value, typed_values

__all__ = ["plan_sweep"]


@dataclass(frozen=True)
class _Axis:
    """Names that vary together (one name, or a linked group) and their value tuples."""

    names: tuple[str, ...]
    values: tuple[tuple[Scalar, ...], ...]


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
    include_nominal = check_include_nominal(include_nominal, check_mode(mode))
    spec = check_mapping(params, "params")
    if not spec:
        raise ParameterError(
            "params is empty: give at least one parameter with a list of values to sweep, "
            "or use run(script, {...}) for a single iteration"
        )
    given = check_mapping(nominal or {}, "nominal")
    check_names(info, given, "nominal")
    fixed = ParamSet(typed_values(info, given, "nominal"))
    axes = [_axis(info, key, values) for key, values in spec.items()]
    swept = [name for axis in axes for name in axis.names]
    duplicated = sorted({n for n in swept if swept.count(n) > 1})
    if duplicated:
        raise ParameterError(f"parameter(s) {duplicated} appear in more than one key of params")
    names, centre = names_and_centre(info, swept, fixed)
    constants = {n: fixed[n] for n in names if n not in swept}
    check_required(info, ParamSet({**constants, **{n: None for n in swept}}), "params")
    if mode == "independent":
        check_nominal_known(info, swept, centre)
    if include_nominal:
        axes = [_with_nominal(axis, centre) for axis in axes]
    if mode == "grid":
        sizes = [len(axis.values) for axis in axes]
        check_plan_size(math.prod(sizes), f"a grid of {' × '.join(map(str, sizes))} values",
                        ("params",), "params")
    if mode == "independent":
        points = _independent(axes, centre, constants)
    else:
        points = _grid(axes, constants)
    linked = tuple(axis.names for axis in axes if len(axis.names) > 1)
    return Plan(mode, names, ParamSet(centre), tuple(points), linked=linked)


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
    check_names(info, names, "params")
    label = repr(key)
    items = _as_list(values, label)
    rows: list[tuple[Scalar, ...]] = []
    params = [info.param(name) for name in names]
    for position, item in enumerate(items):
        if not isinstance(key, tuple):
            rows.append((typed_value(params[0], item, name=key,
                                     what=f"value {position} of params[{label}]"),))
            continue
        if not isinstance(item, (tuple, list)) or len(item) != len(names):
            raise ParameterTypeError(
                f"linked parameters {label} take tuples of {len(names)} values, got {item!r} "
                f"at position {position}"
            )
        rows.append(tuple(
            typed_value(param, v, name=n, what=f"value {position} of params[{label}] for {n!r}")
            for n, param, v in zip(names, params, item)))
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
