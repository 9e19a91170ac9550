"""Plots of sweep results with matplotlib (an optional extra): response, tornado, heatmap.

Each function returns the matplotlib ``Figure`` (its axes are ``fig.axes``) and draws
nothing on screen by itself, so it works headless, in notebooks and in scripts alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import OutputError, ParameterError, UnknownNameError
from .correlation import spearman
from .grids import pivot
from .query import (
    check_one_at_a_time,
    has_values,
    is_sampled,
    is_scattered,
    names_argument,
    number,
    output_number,
    partners,
    require_numeric,
    response_intervals,
    value_order,
    varied_params,
)
from .tables import sensitivity_table

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ..records import IterationRecord
    from ..results import ScriptResults

__all__ = ["new_figure", "plot_heatmap", "plot_response", "plot_tornado"]


def new_figure(**kwargs: Any) -> Figure:
    """A matplotlib ``Figure`` made without pyplot (no window, no global state), or an
    error saying to install matplotlib.

    >>> new_figure(figsize=(4, 3), layout="constrained").subplots()  # doctest: +SKIP
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "plotting needs matplotlib: pip install 'py3r-script[plot]' (or matplotlib)"
        ) from None
    return Figure(**kwargs)


def plot_response(
    results: ScriptResults, output: str, params: str | Sequence[str] | None = None
) -> Figure:
    """The output against each parameter's values (others at nominal), nominal point marked.

    A parameter linked to others is drawn along the linked values (its axis label names
    them). For a sampled or points design, which has no nominal point to vary around, each
    panel is a scatter plot of every completed run (with Spearman's rank correlation in the
    title, for a sample). A replicated sweep (``replicates=k``) draws each point's mean
    over its replicates with whiskers spanning its 95 % confidence interval.

    >>> fig = sr.plot_response("time_moving")  # doctest: +SKIP
    >>> fig.savefig("response.png")  # doctest: +SKIP
    """
    require_numeric(results, output, "plot_response")
    if not has_values(results, output):
        raise OutputError(f"no completed iteration gave {output!r} a value: nothing to plot; "
                         "see sr.errors")
    scattered = is_scattered(results)
    varied = (varied_params(results) if scattered
              else check_one_at_a_time(results, "a response plot"))
    names = names_argument(params)
    names = varied if names is None else names
    unknown = [n for n in names if n not in results.param_names]
    if unknown:
        raise UnknownNameError(
            f"unknown parameter(s) {unknown}; this sweep has {results.param_names}")
    if not names:
        raise ParameterError("no parameter varies in this sweep: nothing to plot")
    fig = new_figure(figsize=(4 * len(names), 3.4), layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    runs = [(r, y) for r in results.records  # the completed runs with a value (not NaN)
            if (y := output_number(r, output)) is not None and y == y] if scattered else []
    for ax, name in zip(axes, names):
        if scattered:
            _scatter(ax, results, runs, output, name)
        else:
            _one_at_a_time(ax, results, output, name, varied)
        ax.set_ylabel(output)
    axes[0].legend(loc="best", fontsize="small")
    return fig


def _one_at_a_time(ax: Any, results: ScriptResults, output: str, name: str,
                   varied: Sequence[str]) -> None:
    measured, _, _ = response_intervals(results, output, name, varied)
    points = [(x, iv.mean, baseline) for x, iv, baseline in measured if iv.mean == iv.mean]
    numeric = all(number(x) is not None for x, _, _ in points)
    xs = [x for x, _, _ in points] if numeric else list(range(len(points)))
    ax.plot(xs, [y for _, y, _ in points], marker="o", color="tab:blue",
            label=f"{output} (mean, 95 % CI)" if results.replicated else output)
    if results.replicated:
        ivs = [iv for _, iv, _ in measured if iv.mean == iv.mean]
        whiskers = [[iv.mean - iv.low if iv.low == iv.low else 0.0 for iv in ivs],
                    [iv.high - iv.mean if iv.high == iv.high else 0.0 for iv in ivs]]
        ax.errorbar(xs, [iv.mean for iv in ivs], yerr=whiskers, fmt="none",
                    ecolor="tab:blue", capsize=3)
    at_nominal = [(x, y) for x, (_, y, baseline) in zip(xs, points) if baseline]
    if at_nominal:
        ax.plot(*zip(*at_nominal), marker="*", markersize=14, linestyle="none",
                color="tab:red", label="nominal", zorder=3)
        ax.axhline(at_nominal[0][1], color="tab:red", linestyle=":", linewidth=1)
    if not numeric:
        ax.set_xticks(xs, [str(x) for x, _, _ in points])
    linked = [n for n in partners(results, name, varied) if n != name]
    ax.set_xlabel(f"{name} (linked with {', '.join(linked)})" if linked else name)
    ax.set_title(f"{output} vs {name}")


def _scatter(ax: Any, results: ScriptResults, runs: Sequence[tuple[IterationRecord, float]],
             output: str, name: str) -> None:
    pairs = [(r.params.get(name), y) for r, y in runs]
    numeric = all(number(x) is not None for x, _ in pairs)
    if numeric:
        xs = [x for x, _ in pairs]
    else:  # each value at its own place, in value_order
        categories = sorted({repr(x): x for x, _ in pairs}.values(), key=value_order)
        where = {repr(x): i for i, x in enumerate(categories)}
        xs = [where[repr(x)] for x, _ in pairs]
    ax.plot(xs, [y for _, y in pairs], marker="o", linestyle="none", color="tab:blue",
            alpha=0.7, label=output)
    if not numeric:
        ax.set_xticks(range(len(categories)), [str(c) for c in categories])
    ax.set_xlabel(name)
    title = f"{output} vs {name} ({len(pairs)} runs)"
    if numeric and is_sampled(results):
        rho = spearman(xs, [y for _, y in pairs])
        if rho == rho:
            title = f"{output} vs {name}: Spearman ρ = {rho:.2f}"
    ax.set_title(title)


def plot_tornado(results: ScriptResults, output: str, *,
                 table: pd.DataFrame | None = None) -> Figure:
    """A tornado chart of the sensitivity table: how far each parameter moves the output.

    For each parameter, a bar from the output at nominal to the lowest output over the
    parameter's values (the table's ``output_min``) and one to the highest
    (``output_max``); the parameter value where each occurs is written at the bar's end.
    For a monotonic response those are the parameter's lowest and highest values;
    otherwise an interior value can be the extreme. The most influential parameter is on
    top. When the nominal run has no value (it failed), each bar spans the output's range
    instead, and the axis label says so. A replicated sweep draws the means, with whiskers
    at each bar's end spanning the 95 % confidence interval of that mean. ``table``: the
    one-at-a-time sensitivity table of these results when it is already at hand (its rows
    of ``output`` are drawn), so it is not worked out again.

    >>> fig = sr.plot_tornado("time_moving")  # doctest: +SKIP
    """
    require_numeric(results, output, "plot_tornado")
    check_one_at_a_time(
        results, "a tornado chart",
        instead="sr.sensitivity_table() ranks the parameters of a sample by rank correlation, and "
        "sr.plot_response(output) draws scatter plots of every run")
    if table is None:
        table = sensitivity_table(results, [output])
    else:
        rows = table[table["output"] == output]
        if rows.empty and not table.empty:
            raise UnknownNameError(
                f"the table given to plot_tornado has no rows of output {output!r} (it has "
                f"{sorted(set(table['output']))}): pass sr.sensitivity_table(), or no table")
        table = rows
    if table.empty:
        raise ParameterError(f"no parameter varies in this sweep, so a tornado chart of "
                         f"{output!r} has nothing to show: sweep at least one parameter")
    if table["abs_change"].isna().all():
        raise OutputError(f"no run of the sweep gave {output!r} a value (they failed or "
                         "did not emit it): nothing to draw; see sr.errors")
    table = table.sort_values("rank", ascending=False)
    fig = new_figure(figsize=(8, 1.0 + 0.55 * len(table)), layout="constrained")
    ax = fig.subplots()
    y0 = float(table["output_at_nominal"].iloc[0])
    labels = []
    for position, row in enumerate(table.itertuples()):
        labels.append(f"{row.parameter} (nominal {row.nominal!r})")
        if row.abs_change != row.abs_change:
            continue  # no value at all for this parameter
        if y0 != y0:
            ax.barh(position, row.abs_change, left=row.output_min, color="tab:gray",
                    height=0.6, label="range" if not ax.patches else None)
        else:
            ax.barh(position, row.output_min - y0, left=y0, color="tab:blue", height=0.6,
                    label="lowest output" if not ax.patches else None)
            ax.barh(position, row.output_max - y0, left=y0, color="tab:orange", height=0.6,
                    label="highest output" if len(ax.patches) == 1 else None)
        if results.replicated:
            _whiskers(ax, position, row)
        for end, value, side in ((row.output_min, row.param_at_min, "right"),
                                 (row.output_max, row.param_at_max, "left")):
            if end == y0:
                continue  # a bar of no length: the extreme is the nominal output
            ax.annotate(f"{row.parameter}={value!r}", (end, position), xytext=(
                -4 if side == "right" else 4, 0), textcoords="offset points",
                ha=side, va="center", fontsize="x-small")
    ax.set_yticks(range(len(labels)), labels)
    ax.margins(x=0.4)  # room for the value labels beyond the bars' ends
    if y0 == y0:
        ax.axvline(y0, color="black", linewidth=1)
        ax.set_xlabel(f"{output} (nominal: {y0:.4g})")
    else:
        ax.set_xlabel(f"{output} (the nominal run has no value, so each bar spans the "
                      "output's range)")
    ax.set_title(f"Sensitivity of {output}")
    ax.legend(loc="lower right", fontsize="small")
    return fig


def _whiskers(ax: Any, position: int, row: Any) -> None:
    """A tornado bar's confidence intervals: at its ends (the means at the minimum and the
    maximum) and at the nominal point."""
    for low, high in ((row.min_ci_low, row.min_ci_high), (row.max_ci_low, row.max_ci_high),
                      (row.nominal_ci_low, row.nominal_ci_high)):
        if low == low and high == high:
            ax.plot([low, high], [position, position], color="black", linewidth=1.2)
            ax.plot([low, low], [position - 0.15, position + 0.15], color="black", linewidth=1)
            ax.plot([high, high], [position - 0.15, position + 0.15], color="black",
                    linewidth=1)


def plot_heatmap(
    results: ScriptResults, output: str, x: str, y: str,
    *, where: Mapping[str, Any] | None = None,
) -> Figure:
    """A heatmap of one output over two grid parameters, each cell annotated.

    ``where`` holds other varied parameters at given values, as in :func:`pivot`.

    >>> fig = sr.plot_heatmap("time_moving", x="threshold", y="window")  # doctest: +SKIP
    """
    table = pivot(results, output, index=y, columns=x, where=where)
    fig = new_figure(figsize=(1.2 * len(table.columns) + 3, 0.8 * len(table) + 2),
                              layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(table.to_numpy(dtype=float), aspect="auto", cmap="viridis",
                      origin="lower")
    ax.set_xticks(range(len(table.columns)), [str(c) for c in table.columns])
    ax.set_yticks(range(len(table.index)), [str(i) for i in table.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    held = ", ".join(f"{n}={v!r}" for n, v in (where or {}).items())
    ax.set_title(f"{output} ({held})" if held else output)
    low, high = image.get_clim()
    for row, index in enumerate(table.index):
        for col, column in enumerate(table.columns):
            value = table.loc[index, column]
            if value == value:
                light = high > low and (value - low) / (high - low) > 0.6  # viridis is yellow
                ax.text(col, row, f"{value:.3g}", ha="center", va="center", fontsize="small",
                        color="black" if light else "white")
    fig.colorbar(image, ax=ax, label=output)
    return fig
