"""Grid views: one output over two crossed parameters, the others held at chosen values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..designs.design import DESCRIPTIONS
from ..errors import ParameterError, ParameterTypeError, UnknownNameError
from ..paramset import value_key
from .query import (
    design_mode,
    output_number,
    partners,
    require_numeric,
    value_order,
    varied_params,
)

if TYPE_CHECKING:
    import pandas as pd

    from ..records import IterationRecord
    from ..results import ScriptResults

__all__ = ["pivot"]


def pivot(
    results: ScriptResults,
    output: str,
    index: str,
    columns: str,
    *,
    where: Mapping[str, Any] | None = None,
    aggfunc: Any = "mean",
) -> pd.DataFrame:
    """One output over two crossed parameters (a grid), the others held at nominal.

    ``where`` holds other parameters at given values instead (needed for a varied
    parameter without a nominal value). A parameter linked to ``index`` or ``columns``
    moves with it. Cells whose iteration failed are NaN; two parameters that were not
    crossed (an independent sweep, explicit points, samples) are refused.

    >>> sr = sweep("pipeline.py", {"window": [3, 5], "threshold": [0.5, 0.8]})  # doctest: +SKIP
    >>> sr.pivot("time_moving", index="window", columns="threshold")  # doctest: +SKIP
    >>> sr.pivot("time_moving", index="window", columns="threshold",
    ...          where={"fps": 60})  # doctest: +SKIP
    """
    import pandas as pd

    for name in (index, columns):
        if name not in results.param_names:
            raise UnknownNameError(
                f"{name!r} is not a parameter of this sweep: {results.param_names}")
    if index == columns:
        raise ParameterError("index and columns must be two different parameters")
    require_numeric(results, output, "a pivot table")
    varied = varied_params(results)
    follow = {*partners(results, index, varied), *partners(results, columns, varied)}
    if columns in partners(results, index, varied):
        raise ParameterError(
            f"{index!r} and {columns!r} are linked: they vary together, so there is no grid "
            "of the two to show; pivot one of them against another parameter"
        )
    records = _held(results, list(results.records), where or {}, varied, follow,
                    (index, columns))
    _check_crossed(results, records, index, columns)
    rows = [(r.params.get(index), r.params.get(columns), output_number(r, output))
            for r in records if r.ok]
    value = f"{output}:value"  # an output may be named like index or columns
    frame = pd.DataFrame(rows, columns=[index, columns, value])
    frame[value] = frame[value].astype(float)  # a missing output (None) is NaN
    table = frame.pivot_table(values=value, index=index, columns=columns, aggfunc=aggfunc,
                              dropna=False)
    rows_order = _distinct([r.params.get(index) for r in records])
    columns_order = _distinct([r.params.get(columns) for r in records])
    return table.reindex(index=pd.Index(rows_order, name=index),
                         columns=pd.Index(columns_order, name=columns))


def _held(
    results: ScriptResults,
    records: list[IterationRecord],
    where: Mapping[str, Any],
    varied: Sequence[str],
    follow: set[str],
    axes: tuple[str, str],
) -> list[IterationRecord]:
    """The records with ``where``'s values, and every other varied parameter at nominal."""
    if not isinstance(where, Mapping):
        raise ParameterTypeError(f"where must be a dict of parameter name to value, got {where!r}")
    for name, value in where.items():
        if name not in results.param_names:
            raise UnknownNameError(f"where: {name!r} is not a parameter of this sweep: "
                           f"{results.param_names}")
        if name in follow:
            role = "an axis" if name in axes else "linked to an axis"
            raise ParameterError(f"where: {name!r} is {role} of this pivot, so it cannot also "
                                 "be held at one value")
        matched = [r for r in records if value_key(r.params.get(name)) == value_key(value)]
        matched = matched or [r for r in records if r.params.get(name) == value]
        if not matched:
            raise ParameterError(f"where: no iteration has {name}={value!r}; its values are "
                                 f"{_distinct([r.params.get(name) for r in records])}")
        records = matched
    nominal = results.nominal
    for other in varied:
        if other in follow or other in where:
            continue
        values = _distinct([r.params.get(other) for r in records])
        if other not in nominal:
            raise ParameterError(
                f"{other!r} also varies in this sweep and has no nominal value to hold it at, "
                f"so each cell would mix its values {values}: pass where={{{other!r}: "
                f"{values[0]!r}}} (or another of its values)"
            )
        held = [r for r in records if value_key(r.params.get(other)) == value_key(nominal[other])]
        if not held:
            raise ParameterError(
                f"{other!r} also varies in this sweep, but no iteration has it at its nominal "
                f"value {nominal[other]!r}: pass where={{{other!r}: {values[0]!r}}} (or "
                f"another of its values {values})"
            )
        records = held
    return records


def _check_crossed(
    results: ScriptResults, records: list[IterationRecord], index: str, columns: str
) -> None:
    """Refuse two parameters that did not run in every combination (failures count as run)."""
    rows = _distinct([r.params.get(index) for r in records])
    cols = _distinct([r.params.get(columns) for r in records])
    ran = {(value_key(r.params.get(index)), value_key(r.params.get(columns))) for r in records}
    if len(ran) == len(rows) * len(cols):
        return
    mode = design_mode(results)
    why = f" ({DESCRIPTIONS[mode]})" if mode in DESCRIPTIONS and mode != "grid" else ""
    raise ParameterError(
        f"{index!r} and {columns!r} were not crossed{why}: only {len(ran)} of the "
        f"{len(rows)} x {len(cols)} combinations of their values ran, so a pivot table would "
        "be mostly empty; sweep(..., mode='grid') runs every combination, and "
        "sr.to_dataframe() has the runs as they are"
    )


def _distinct(values: Sequence[Any]) -> list[Any]:
    """The distinct values (type-aware), sorted numbers first."""
    unique = {value_key(v): v for v in values}
    return sorted(unique.values(), key=value_order)
