"""Analysis of scalar outputs: one-at-a-time sensitivity tables, grid pivots, tidy stacks.

Functions take a ``ScriptResults``; each is also a method of it (``sr.sensitivity_table()``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .errors import ParameterError
from .paramset import value_key

if TYPE_CHECKING:
    import pandas as pd

    from .records import IterationRecord
    from .results import ScriptResults

__all__ = ["concat", "pivot", "sensitivity_table", "varied_params"]

TABLE_COLUMNS = [
    "output", "parameter", "rank", "nominal", "output_at_nominal", "output_min", "output_max",
    "param_at_min", "param_at_max", "abs_change", "rel_change", "elasticity", "n_values",
    "n_failed", "failed_values", "n_nan",
]


def varied_params(results: ScriptResults) -> list[str]:
    """Parameters that take more than one value across the sweep, in sweep order."""
    varied = []
    for name in results.param_names:
        keys = {value_key(r.params.get(name)) for r in results.records}
        if len(keys) > 1:
            varied.append(name)
    return varied


def partners(results: ScriptResults, name: str, varied: Sequence[str]) -> set[str]:
    """``name`` and the parameters linked to it: those off nominal whenever it is."""
    nominal = results.nominal
    together: set[str] | None = None
    for record in results.records:
        off = {n for n in varied if n in nominal
               and value_key(record.params.get(n)) != value_key(nominal[n])}
        if name in off:
            together = off if together is None else together & off
    return together or {name}


def one_at_a_time(
    results: ScriptResults, name: str, varied: Sequence[str]
) -> list[IterationRecord]:
    """The records where ``name`` varies and every other varied parameter is at nominal.

    Parameters linked to ``name`` (varied together with it) vary with it.
    """
    nominal = results.nominal
    linked = partners(results, name, varied)
    others = [n for n in varied if n not in linked]
    missing = [n for n in others if n not in nominal]
    if missing:
        raise ParameterError(
            f"a one-at-a-time view of {name!r} holds the other parameters at their nominal "
            f"values, but {missing} have none (no script default): use sensitivity(..., "
            "nominal=...) or, for a grid, sr.pivot(...)"
        )
    return [r for r in results.records
            if all(value_key(r.params.get(n)) == value_key(nominal[n]) for n in others)]


def check_output(results: ScriptResults, output: str) -> None:
    """Refuse an output name the sweep does not have, listing those it has."""
    if output not in results.output_names:
        raise KeyError(f"unknown output {output!r}; this sweep has {results.output_names}")


def numeric_outputs(results: ScriptResults, outputs: Sequence[str] | None) -> list[str]:
    """The requested outputs (default: every output whose values are all real numbers)."""
    for name in outputs or ():
        check_output(results, name)
    chosen = []
    for name in outputs if outputs is not None else results.output_names:
        values = [r.outputs[name] for r in results.records if r.ok and name in r.outputs]
        numeric = bool(values) and all(_number(v) is not None for v in values)
        if numeric:
            chosen.append(name)
        elif outputs is not None:
            raise TypeError(f"output {name!r} is not numeric in every iteration; a sensitivity "
                            "table needs numbers")
    return chosen


def sensitivity_table(results: ScriptResults, outputs: Sequence[str] | None = None) -> pd.DataFrame:
    """Per output and parameter: how much the output moves over the parameter's values.

    For each varied parameter (others held at nominal), the output at the nominal point,
    its min and max over the parameter's values and where they occur, the absolute change
    (max - min), the relative change (divided by the output at nominal) and the
    elasticity at the nominal point, ``(dy/dx) * (x0/y0)``, from the nearest values on each
    side (defined for numeric parameters with non-zero nominal values). Rows are ranked
    within each output by relative change (absolute change when it is undefined); failed
    iterations are counted and their values listed; NaN outputs are counted (``n_nan``) and
    left out of the min/max. Parameters linked in the sweep vary together in each other's
    rows.

    Examples
    --------
    >>> sr = sensitivity("pipeline.py", {"window": [3, 5, 7]})  # doctest: +SKIP
    >>> sr.sensitivity_table()  # doctest: +SKIP
    """
    import pandas as pd

    varied = varied_params(results)
    rows = []
    for output in numeric_outputs(results, outputs):
        block = [_row(results, output, name, varied) for name in varied]
        block.sort(key=_sort_key, reverse=True)
        for rank, row in enumerate(block, start=1):
            row["rank"] = rank
        rows.extend(block)
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    for column in ("nominal", "param_at_min", "param_at_max"):  # keep each parameter's type
        table[column] = pd.Series([row[column] for row in rows], dtype=object)
    return table


def _sort_key(row: Mapping[str, Any]) -> tuple[int, float]:
    """Rank by relative change; rows where it is undefined follow, by absolute change."""
    for defined, key in ((2, "rel_change"), (1, "abs_change")):
        if not math.isnan(row[key]):
            return (defined, abs(row[key]))
    return (0, 0.0)


def _row(results: ScriptResults, output: str, name: str, varied: Sequence[str]) -> dict[str, Any]:
    records = one_at_a_time(results, name, varied)
    x0 = results.nominal.get(name)
    measured = sorted(
        ((r.params.get(name), _number(r.outputs[output])) for r in records
         if r.ok and output in r.outputs),
        key=lambda p: _order(p[0]),
    )
    points = [(x, y) for x, y in measured if y is not None and y == y]  # NaN: no value
    failed = [r.params.get(name) for r in records if not r.ok]
    y0 = next((y for x, y in points if value_key(x) == value_key(x0)), math.nan)
    nan = math.nan
    row: dict[str, Any] = {
        "output": output, "parameter": name, "nominal": x0, "output_at_nominal": y0,
        "n_values": len(measured) + len(failed), "n_failed": len(failed),
        "n_nan": len(measured) - len(points),
        "failed_values": ", ".join(map(repr, failed)), "output_min": nan, "output_max": nan,
        "param_at_min": None, "param_at_max": None, "abs_change": nan, "rel_change": nan,
        "elasticity": nan,
    }
    if not points:
        return row
    low = min(points, key=lambda p: p[1])
    high = max(points, key=lambda p: p[1])
    row.update(output_min=low[1], output_max=high[1], param_at_min=low[0],
               param_at_max=high[0], abs_change=high[1] - low[1])
    if y0 == y0 and y0 != 0:
        row["rel_change"] = (high[1] - low[1]) / abs(y0)
    row["elasticity"] = _elasticity(points, x0, y0)
    return row


def _elasticity(points: Sequence[tuple[Any, float]], x0: Any, y0: float) -> float:
    x0n = _number(x0)
    if x0n is None or x0n == 0 or y0 != y0 or y0 == 0:
        return math.nan
    numeric = [(float(x), y) for x, y in points if _number(x) is not None]
    below = [(x, y) for x, y in numeric if x < x0n]
    above = [(x, y) for x, y in numeric if x > x0n]
    left = below[-1] if below else (x0n, y0)
    right = above[0] if above else (x0n, y0)
    if left[0] == right[0]:
        return math.nan
    slope = (right[1] - left[1]) / (right[0] - left[0])
    return slope * x0n / y0


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    module = type(value).__module__
    if module.startswith("numpy") and getattr(value, "ndim", None) == 0:
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return None


def _order(value: Any) -> tuple[int, Any]:
    number = _number(value)
    return (0, number) if number is not None else (1, repr(value))


def pivot(
    results: ScriptResults,
    output: str,
    index: str,
    columns: str,
    *,
    aggfunc: Any = "mean",
) -> pd.DataFrame:
    """One output over two parameters (a grid sweep), others held at nominal.

    >>> sr = sweep("pipeline.py", {"window": [3, 5], "threshold": [0.5, 0.8]})  # doctest: +SKIP
    >>> sr.pivot("time_moving", index="window", columns="threshold")  # doctest: +SKIP
    """
    for name in (index, columns):
        if name not in results.param_names:
            raise KeyError(f"{name!r} is not a parameter of this sweep: {results.param_names}")
    if index == columns:
        raise ParameterError("index and columns must be two different parameters")
    frame = results.to_dataframe(outputs=[output])
    nominal = results.nominal
    for other in varied_params(results):
        if other in (index, columns) or other not in nominal:
            continue
        frame = frame[[value_key(v) == value_key(nominal[other]) for v in frame[other]]]
    return frame.pivot_table(values=output, index=index, columns=columns, aggfunc=aggfunc)


def concat(results: ScriptResults, output: str) -> pd.DataFrame:
    """Stack a DataFrame/Series output of every completed iteration, parameters as columns.

    The result is long ("tidy"): the parameter columns, then the output's own columns (its
    index too, when it is not a plain 0..n-1 range), ready for ``groupby`` or seaborn.

    >>> sr.concat("summary").groupby("smooth_window")["distance_cm"].sum()  # doctest: +SKIP
    """
    import pandas as pd

    check_output(results, output)
    pieces = []
    for record in results.records:
        if not record.ok or output not in record.outputs:
            continue
        table = _as_frame(record.outputs[output], output)
        clash = [n for n in results.param_names if n in table.columns]
        if clash:
            raise ValueError(
                f"output {output!r} has column(s) {clash} named like parameters, so concat "
                "cannot add the parameter columns; rename them in the script"
            )
        for position, name in enumerate(results.param_names):
            table.insert(position, name, record.params.get(name))
        pieces.append(table)
    if not pieces:
        return pd.DataFrame(columns=[*results.param_names])
    return pd.concat(pieces, ignore_index=True)


def _as_frame(value: Any, output: str) -> pd.DataFrame:
    import pandas as pd

    if isinstance(value, pd.Series):
        value = value.to_frame(name=value.name if value.name is not None else output)
    elif not isinstance(value, pd.DataFrame):
        if isinstance(value, (list, tuple)) or (
                hasattr(value, "__array__") and getattr(value, "ndim", 0) >= 1):
            value = pd.DataFrame({output: list(value)})
        else:
            raise TypeError(
                f"output {output!r} is a {type(value).__name__}; concat stacks DataFrames, "
                "Series and sequences (use to_dataframe() for scalars)"
            )
    plain = isinstance(value.index, pd.RangeIndex) and value.index.start == 0 \
        and value.index.step == 1
    return value.reset_index(drop=plain).copy()
