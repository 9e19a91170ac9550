"""Plots of sweep results with matplotlib (an optional extra): response, tornado, heatmap.

Each function returns the matplotlib ``Figure`` (its axes are ``fig.axes``) and draws
nothing on screen by itself, so it works headless, in notebooks and in scripts alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .analysis import (
    _number,
    _order,
    check_output,
    one_at_a_time,
    sensitivity_table,
    varied_params,
)
from .grids import pivot
from .paramset import value_key

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .results import ScriptResults

__all__ = ["plot_heatmap", "plot_response", "plot_tornado"]


def _pyplot_free_figure(**kwargs: Any) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "plotting needs matplotlib: pip install 'py3r-script[plot]' (or matplotlib)"
        ) from None
    return Figure(**kwargs)


def plot_response(
    results: ScriptResults, output: str, params: Sequence[str] | None = None
) -> Figure:
    """The output against each parameter's values (others at nominal), nominal point marked.

    >>> fig = sr.plot_response("time_moving")  # doctest: +SKIP
    >>> fig.savefig("response.png")  # doctest: +SKIP
    """
    check_output(results, output)
    varied = varied_params(results)
    names = list(params) if params is not None else varied
    unknown = [n for n in names if n not in results.param_names]
    if unknown:
        raise KeyError(f"unknown parameter(s) {unknown}; this sweep has {results.param_names}")
    if not names:
        raise ValueError("no parameter varies in this sweep: nothing to plot")
    fig = _pyplot_free_figure(figsize=(4 * len(names), 3.4), layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    nominal = results.nominal
    for ax, name in zip(axes, names):
        points = sorted(
            ((r.params.get(name), r.outputs[output]) for r in one_at_a_time(results, name, varied)
             if r.ok and output in r.outputs),
            key=lambda p: _order(p[0]),
        )
        numeric = all(_number(x) is not None for x, _ in points)
        xs = [x if numeric else i for i, (x, _) in enumerate(points)]
        ax.plot(xs, [y for _, y in points], marker="o", color="tab:blue", label=output)
        at_nominal = [(x, y) for x, (raw, y) in zip(xs, points)
                      if name in nominal and value_key(raw) == value_key(nominal[name])]
        if at_nominal:
            ax.plot(*zip(*at_nominal), marker="*", markersize=14, linestyle="none",
                    color="tab:red", label="nominal", zorder=3)
            ax.axhline(at_nominal[0][1], color="tab:red", linestyle=":", linewidth=1)
        if not numeric:
            ax.set_xticks(xs, [str(x) for x, _ in points])
        ax.set_xlabel(name)
        ax.set_ylabel(output)
        ax.set_title(f"{output} vs {name}")
    axes[0].legend(loc="best", fontsize="small")
    return fig


def plot_tornado(results: ScriptResults, output: str) -> Figure:
    """A tornado chart of the sensitivity table: how far each parameter moves the output.

    For each parameter, a bar from the nominal output to the output at the parameter's
    lowest value and one to its highest value; the most influential parameter is on top.

    >>> fig = sr.plot_tornado("time_moving")  # doctest: +SKIP
    """
    table = sensitivity_table(results, [output])
    table = table.sort_values("rank", ascending=False)
    fig = _pyplot_free_figure(figsize=(7, 1.0 + 0.55 * max(len(table), 1)), layout="constrained")
    ax = fig.subplots()
    y0 = table["output_at_nominal"].iloc[0] if len(table) else math.nan
    varied = varied_params(results)
    labels = []
    for position, row in enumerate(table.itertuples()):
        lowest, highest = _extreme_outputs(results, output, str(row.parameter), varied)
        ax.barh(position, lowest - y0, left=y0, color="tab:blue", height=0.6,
                label="lowest value" if position == 0 else None)
        ax.barh(position, highest - y0, left=y0, color="tab:orange", height=0.6,
                label="highest value" if position == 0 else None)
        labels.append(f"{row.parameter} (nominal {row.nominal!r})")
    ax.set_yticks(range(len(labels)), labels)
    ax.axvline(y0, color="black", linewidth=1)
    ax.set_xlabel(f"{output} (nominal: {y0:.4g})")
    ax.set_title(f"Sensitivity of {output}")
    if labels:
        ax.legend(loc="lower right", fontsize="small")
    return fig


def _extreme_outputs(
    results: ScriptResults, output: str, name: str, varied: Sequence[str]
) -> tuple[float, float]:
    """The output at the parameter's lowest and highest value (others at nominal)."""
    points: list[tuple[Any, float]] = []
    for r in one_at_a_time(results, name, varied):
        y = _number(r.outputs[output]) if r.ok and output in r.outputs else None
        if y is not None and y == y:  # NaN: no value, as in the sensitivity table
            points.append((r.params.get(name), y))
    points.sort(key=lambda p: _order(p[0]))
    return (points[0][1], points[-1][1]) if points else (math.nan, math.nan)


def plot_heatmap(results: ScriptResults, output: str, x: str, y: str) -> Figure:
    """A heatmap of one output over two grid parameters, each cell annotated.

    >>> fig = sr.plot_heatmap("time_moving", x="threshold", y="window")  # doctest: +SKIP
    """
    table = pivot(results, output, index=y, columns=x)
    fig = _pyplot_free_figure(figsize=(1.2 * len(table.columns) + 3, 0.8 * len(table) + 2),
                              layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(table.to_numpy(dtype=float), aspect="auto", cmap="viridis",
                      origin="lower")
    ax.set_xticks(range(len(table.columns)), [str(c) for c in table.columns])
    ax.set_yticks(range(len(table.index)), [str(i) for i in table.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(output)
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
