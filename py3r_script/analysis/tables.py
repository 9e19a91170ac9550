"""Analysis of scalar outputs: sensitivity tables and tidy stacks of tabular outputs.

The sweep's :class:`~py3r_script.designs.design.Design` says how to read it: an
independent or grid sweep gets the one-at-a-time view through its nominal point (linked
parameters moving with their group); a random or Latin-hypercube sample gets rank
correlations (``correlation``); a Morris or Sobol' design its indices (``globalsa``);
grids also have pivot tables (``grids``). What they ask of
the results (varied parameters, runs at nominal, an output's numbers) is ``query``'s.
Functions take a ``ScriptResults``; each is also a method of it (``sr.sensitivity_table()``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import OutputError, OutputTypeError
from .correlation import correlation_table
from .globalsa import global_sensitivity_table, is_global
from .query import (
    check_one_at_a_time,
    check_output,
    is_sampled,
    number,
    numeric_outputs,
    response_intervals,
)

if TYPE_CHECKING:
    import pandas as pd

    from ..results import ScriptResults

__all__ = ["CI_COLUMNS", "TABLE_COLUMNS", "concat", "sensitivity_table"]

TABLE_COLUMNS = [
    "output", "parameter", "rank", "nominal", "output_at_nominal", "output_min", "output_max",
    "param_at_min", "param_at_max", "abs_change", "rel_change", "elasticity", "n_values",
    "n_failed", "failed_values", "n_nan", "n_missing",
]
# A replicated sweep's table adds the 95 % confidence interval of each mean it shows.
CI_COLUMNS = [
    "nominal_ci_low", "nominal_ci_high", "min_ci_low", "min_ci_high", "max_ci_low",
    "max_ci_high", "n_replicates",
]


def sensitivity_table(
    results: ScriptResults, outputs: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """Per output and parameter: how much the output moves over the parameter's values.

    For an independent or grid sweep, the one-at-a-time view through the nominal point:
    for each varied parameter (the others held at nominal), the output at the nominal point,
    its min and max over the parameter's values and where they occur, the absolute change
    (max - min), the relative change (divided by the output at nominal) and the
    elasticity at the nominal point, ``(dy/dx) * (x0/y0)``, from the nearest values on each
    side (defined for numeric parameters with non-zero nominal values). Rows are ranked
    within each output by relative change (absolute change when it is undefined).
    ``n_values`` counts the runs in the row; of those, failed iterations are counted
    (``n_failed``) and their values listed, NaN outputs counted (``n_nan``), and runs that
    completed without the output (not emitted, or ``None``) counted (``n_missing``); none of
    them enter the min/max. Parameters linked in the sweep vary together in each other's
    rows (the elasticity of a linked parameter is along the linked values).

    A replicated sweep (``replicates=k``) is read through each point's mean over its
    replicates (``n_values`` counts the points, plus the failed replicates that
    ``n_failed`` counts); the columns
    ``nominal_ci_low``/``_high``, ``min_ci_low``/``_high`` and ``max_ci_low``/``_high``
    give the 95 % confidence interval of the mean at the nominal point, at the minimum and
    at the maximum, and ``n_replicates`` the most replicates with a value at one point.

    For a random or Latin-hypercube sample there is no nominal point to vary around: the
    table ranks the parameters by rank correlation instead (see
    :func:`py3r_script.analysis.correlation.correlation_table`). A Morris or Sobol' design
    gets its own indices (``mu_star``...; ``S1``, ``ST``...: see
    :func:`py3r_script.analysis.globalsa.global_sensitivity_table`). Explicit points are
    refused.

    Examples
    --------
    >>> sr = sensitivity("pipeline.py", {"window": [3, 5, 7]})  # doctest: +SKIP
    >>> sr.sensitivity_table()  # doctest: +SKIP
    """
    import pandas as pd

    chosen = numeric_outputs(results, outputs)
    if is_global(results):
        return global_sensitivity_table(results, chosen)
    if is_sampled(results):
        return correlation_table(results, chosen)
    varied = check_one_at_a_time(
        results, "a one-at-a-time sensitivity table",
        instead="analyse sr.to_dataframe() directly (e.g. .corr(method='spearman')), or draw "
        "sr.plot_response(output) for scatter plots")
    rows = []
    for output in chosen:
        block = [_row(results, output, name, varied) for name in varied]
        block.sort(key=_sort_key, reverse=True)
        for rank, row in enumerate(block, start=1):
            row["rank"] = rank
        rows.extend(block)
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS + (CI_COLUMNS if results.replicated
                                                        else []))
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
    intervals, failed, missing = response_intervals(results, output, name, varied)
    measured = [(x, interval.mean, baseline) for x, interval, baseline in intervals]
    x0 = results.nominal.get(name)
    points = [(x, y) for x, y, _ in measured if y == y]  # NaN: no value
    y0 = next((y for _, y, baseline in measured if baseline), math.nan)
    nan = math.nan
    row: dict[str, Any] = {
        "output": output, "parameter": name, "nominal": x0, "output_at_nominal": y0,
        "n_values": len(measured) + len(failed) + missing, "n_failed": len(failed),
        "n_nan": len(measured) - len(points), "n_missing": missing,
        "failed_values": ", ".join(map(repr, failed)), "output_min": nan, "output_max": nan,
        "param_at_min": None, "param_at_max": None, "abs_change": nan, "rel_change": nan,
        "elasticity": nan,
    }
    if results.replicated:
        row.update(_intervals_row(intervals))
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


def _intervals_row(intervals: Sequence[tuple[Any, Any, bool]]) -> dict[str, Any]:
    """The confidence intervals of the means at the nominal point, the minimum and the
    maximum (NaN where there is no such point, or a single value)."""
    nan = math.nan
    valued = [iv for _, iv, _ in intervals if iv.mean == iv.mean]
    at = {"nominal": next((iv for _, iv, baseline in intervals if baseline), None),
          "min": min(valued, key=lambda iv: iv.mean, default=None),
          "max": max(valued, key=lambda iv: iv.mean, default=None)}
    row: dict[str, Any] = {"n_replicates": max((iv.n for _, iv, _ in intervals), default=0)}
    for where, iv in at.items():
        row[f"{where}_ci_low"] = nan if iv is None else iv.low
        row[f"{where}_ci_high"] = nan if iv is None else iv.high
    return row


def _elasticity(points: Sequence[tuple[Any, float]], x0: Any, y0: float) -> float:
    x0n = number(x0)
    if x0n is None or x0n == 0 or y0 != y0 or y0 == 0:
        return math.nan
    numeric = [(float(x), y) for x, y in points if number(x) is not None]
    below = [(x, y) for x, y in numeric if x < x0n]
    above = [(x, y) for x, y in numeric if x > x0n]
    left = below[-1] if below else (x0n, y0)
    right = above[0] if above else (x0n, y0)
    if left[0] == right[0]:
        return math.nan
    slope = (right[1] - left[1]) / (right[0] - left[0])
    return slope * x0n / y0


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
        captured = output in record.outputs or output in record.outputs.untrusted
        if not record.ok or not captured:
            continue
        table = _as_frame(record.outputs[output], output)  # an untrusted pickle: its error
        clash = [n for n in results.param_names if n in table.columns]
        if clash:
            raise OutputError(
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
            raise OutputTypeError(
                f"output {output!r} is a {type(value).__name__}; concat stacks DataFrames, "
                "Series and sequences (use to_dataframe() for scalars)"
            )
    plain = isinstance(value.index, pd.RangeIndex) and value.index.start == 0 \
        and value.index.step == 1
    return value.reset_index(drop=plain).copy()
