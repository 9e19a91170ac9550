"""Analysis of scalar outputs: sensitivity tables and tidy stacks of tabular outputs.

The sweep's :class:`~py3r_script.designs.planning.Design` says how to read it: an
independent or grid sweep gets the one-at-a-time view through its nominal point (linked
parameters moving with their group); a random or Latin-hypercube sample gets rank
correlations (``correlation``); grids also have pivot tables (``grids``). Functions take a
``ScriptResults``; each is also a method of it (``sr.sensitivity_table()``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..designs.design import DESCRIPTIONS, SAMPLE_METHODS
from ..errors import ParameterError
from ..paramset import value_key

if TYPE_CHECKING:
    import pandas as pd

    from ..records import IterationRecord
    from ..results import ScriptResults

__all__ = ["concat", "sensitivity_table", "varied_params"]

SAMPLED = SAMPLE_METHODS
SCATTERED = (*SAMPLED, "points")  # designs with no baseline to vary one parameter around

TABLE_COLUMNS = [
    "output", "parameter", "rank", "nominal", "output_at_nominal", "output_min", "output_max",
    "param_at_min", "param_at_max", "abs_change", "rel_change", "elasticity", "n_values",
    "n_failed", "failed_values", "n_nan", "n_missing",
]


def varied_params(results: ScriptResults) -> list[str]:
    """Parameters that take more than one value across the sweep, in sweep order."""
    varied = []
    for name in results.param_names:
        keys = {value_key(r.params.get(name)) for r in results.records}
        if len(keys) > 1:
            varied.append(name)
    return varied


def design_mode(results: ScriptResults) -> str | None:
    """The sweep's design mode, or ``None`` when it is unknown."""
    return None if results.design is None else results.design.mode


def names_argument(names: str | Sequence[str] | None) -> list[str] | None:
    """A list of names from a list, or from one name given alone."""
    if names is None:
        return None
    return [names] if isinstance(names, str) else list(names)


def partners(results: ScriptResults, name: str, varied: Sequence[str]) -> tuple[str, ...]:
    """``name`` and the varied parameters linked to it, in sweep order.

    The design says which parameters were linked; when it is unknown (a study mixing
    sweeps) they are guessed: those off nominal whenever ``name`` is.
    """
    design = results.design
    if design is not None:
        group = next((g for g in design.linked if name in g), (name,))
        together = {n for n in group if n in varied} | {name}
    else:
        nominal = results.nominal
        guess: set[str] | None = None
        for record in results.records:
            off = {n for n in varied if n in nominal
                   and value_key(record.params.get(n)) != value_key(nominal[n])}
            if name in off:
                guess = off if guess is None else guess & off
        together = guess or {name}
    return tuple(n for n in results.param_names if n in together)


def at_nominal(results: ScriptResults, record: IterationRecord, names: Sequence[str]) -> bool:
    """Whether ``record`` has each of ``names`` (those with a nominal value) at nominal."""
    nominal = results.nominal
    return all(value_key(record.params.get(n)) == value_key(nominal[n])
               for n in names if n in nominal)


def check_one_at_a_time(results: ScriptResults, what: str, *, instead: str = "") -> list[str]:
    """The varied parameters, after refusing a design that has no one-at-a-time view
    (``instead`` says what to use for a sampled or points design)."""
    mode = design_mode(results)
    if mode in SCATTERED:
        kind = DESCRIPTIONS[str(mode)]
        raise ParameterError(
            f"{what} varies one parameter at a time around the nominal point, but this "
            f"sweep ran {kind}, which moves several parameters in every run: {instead}"
        )
    varied = varied_params(results)
    if varied and not any(at_nominal(results, r, varied) for r in results.records):
        point = {n: v for n, v in results.nominal.items() if n in varied}
        raise ParameterError(
            f"{what} goes through the nominal point {point}, which this sweep never ran (a "
            "grid run with include_nominal=False, or a sampled or points design): "
            "sr.pivot(...) shows a grid as it ran, and a grid with include_nominal=True "
            "(the default) runs the nominal point"
        )
    return varied


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
            "nominal=...) or, for a grid, sr.pivot(..., where=...)"
        )
    return [r for r in results.records if at_nominal(results, r, others)]


def check_output(results: ScriptResults, output: str) -> None:
    """Refuse an output name the sweep does not have, listing those it has."""
    if output not in results.output_names:
        raise KeyError(f"unknown output {output!r}; this sweep has {results.output_names}")


def output_number(record: IterationRecord, output: str) -> float | None:
    """A completed record's output as a float (NaN kept); ``None`` when it is missing."""
    if not record.ok or record.outputs.get(output) is None:
        return None
    return _number(record.outputs[output])


def not_numeric(results: ScriptResults, output: str) -> str | None:
    """Why ``output`` is not a numeric scalar (missing and ``None`` values aside), or None."""
    for record in results.records:
        value = record.outputs.get(output) if record.ok else None
        if value is not None and _number(value) is None:
            where = record.params.project(results.param_names).to_dict()
            return f"is a {type(value).__name__} in iteration {where}, not a scalar number"
    return None


def has_values(results: ScriptResults, output: str) -> bool:
    """Whether some completed iteration gave ``output`` a value."""
    return any(output_number(r, output) is not None for r in results.records)


def require_numeric(results: ScriptResults, output: str, what: str) -> None:
    """Refuse an unknown or non-numeric output, saying what needs numbers."""
    check_output(results, output)
    problem = not_numeric(results, output)
    if problem is not None:
        raise TypeError(f"output {output!r} {problem}: {what} needs a numeric scalar output")


def numeric_outputs(results: ScriptResults, outputs: str | Sequence[str] | None) -> list[str]:
    """The requested outputs (default: every output whose values are all real numbers)."""
    names = names_argument(outputs)
    for name in names or ():
        require_numeric(results, name, "a sensitivity table")
    if names is not None:
        return names
    return [n for n in results.output_names
            if has_values(results, n) and not_numeric(results, n) is None]


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

    For a random or Latin-hypercube sample there is no nominal point to vary around: the
    table ranks the parameters by rank correlation instead (see
    :func:`py3r_script.analysis.correlation.correlation_table`). Explicit points are refused.

    Examples
    --------
    >>> sr = sensitivity("pipeline.py", {"window": [3, 5, 7]})  # doctest: +SKIP
    >>> sr.sensitivity_table()  # doctest: +SKIP
    """
    import pandas as pd

    chosen = numeric_outputs(results, outputs)
    if design_mode(results) in SAMPLED:
        from .correlation import correlation_table

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


def response(
    results: ScriptResults, output: str, name: str, varied: Sequence[str]
) -> tuple[list[tuple[Any, float, bool]], list[Any], int]:
    """One parameter's one-at-a-time runs: ``(value, output, is the nominal run)`` sorted by
    value (then by the linked parameters' values), NaN outputs included; the values whose
    iteration failed; and how many completed without the output."""
    group = partners(results, name, varied)
    others = [n for n in group if n != name]
    points: list[tuple[Any, float, bool, tuple[Any, ...]]] = []
    failed: list[Any] = []
    missing = 0
    for record in one_at_a_time(results, name, varied):
        x = record.params.get(name)
        y = output_number(record, output)
        if not record.ok:
            failed.append(x)
        elif y is None:
            missing += 1
        else:
            baseline = name in results.nominal and at_nominal(results, record, group)
            order = (_order(x), *(_order(record.params.get(n)) for n in others))
            points.append((x, y, baseline, order))
    points.sort(key=lambda p: p[3])
    return [(x, y, baseline) for x, y, baseline, _ in points], failed, missing


def _row(results: ScriptResults, output: str, name: str, varied: Sequence[str]) -> dict[str, Any]:
    measured, failed, missing = response(results, output, name, varied)
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
