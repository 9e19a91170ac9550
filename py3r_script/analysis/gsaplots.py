"""Plots of global sensitivity: Morris μ* against σ, Sobol' S1 and ST bars with whiskers.

They draw :func:`~py3r_script.analysis.globalsa.global_sensitivity_table`'s numbers in the
style of the tornado and response plots (``plotting``): a ``Figure`` made without pyplot,
blue for the first measure and orange for the second. :func:`plot_sensitivity` picks the
plot that fits the design.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ParameterError
from .globalsa import CONF_LEVEL, global_sensitivity_table
from .plotting import new_figure, plot_tornado
from .query import design_mode, require_numeric

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..results import ScriptResults

__all__ = ["plot_morris", "plot_sensitivity", "plot_sobol"]


def plot_sensitivity(results: ScriptResults, output: str) -> Figure:
    """The sensitivity plot that fits the design: :func:`plot_morris` for a Morris design,
    :func:`plot_sobol` for a Sobol' one, a tornado chart for a one-at-a-time sweep or grid.

    >>> fig = sr.plot_sensitivity("time_moving")  # doctest: +SKIP
    """
    mode = design_mode(results)
    if mode == "morris":
        return plot_morris(results, output)
    if mode == "sobol":
        return plot_sobol(results, output)
    return plot_tornado(results, output)


def _check_design(results: ScriptResults, method: str, what: str) -> None:
    design = results.design
    if design is None or design.mode != method:
        ran = "an unknown design" if design is None else design.description
        raise ParameterError(
            f"{what} shows the indices of a {method} design, but this sweep ran {ran}: "
            f"sweep(..., sample={{...}}, n=..., method={method!r}) runs one, and "
            "sr.plot_sensitivity(output) draws the plot that fits any design")


def plot_morris(results: ScriptResults, output: str) -> Figure:
    """Morris screening: each parameter at (μ*, σ), labelled, with μ*'s confidence whisker.

    Far right: influential; high up: non-linear or interacting with others (above the
    dashed line σ = μ*, the spread of the effects exceeds their mean size); near the origin:
    negligible.

    >>> fig = sr.plot_morris("g")  # doctest: +SKIP
    """
    require_numeric(results, output, "a Morris plot")
    _check_design(results, "morris", "a Morris plot")
    table = global_sensitivity_table(results, [output])
    fig = new_figure(figsize=(6.4, 4.8), layout="constrained")
    ax = fig.subplots()
    ax.errorbar(table["mu_star"], table["sigma"], xerr=table["mu_star_conf"], fmt="o",
                color="tab:blue", ecolor="tab:blue", elinewidth=1, capsize=3,
                label=f"parameters (μ* ± its {CONF_LEVEL:.0%} interval)")
    for row in table.itertuples():
        ax.annotate(str(row.parameter), (row.mu_star, row.sigma), xytext=(5, 4),
                    textcoords="offset points", fontsize="small")
    top = float(max(table["mu_star"].max(), table["sigma"].max(), 0.0)) * 1.1 or 1.0
    ax.plot([0, top], [0, top], color="tab:orange", linestyle="--", linewidth=1,
            label="σ = μ*")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("μ* (mean |elementary effect|): importance")
    ax.set_ylabel("σ (spread of the effects): non-linearity, interactions")
    used = int(table["n_trajectories"].iloc[0])
    ax.set_title(f"Morris screening of {output} ({used} trajectories)")
    ax.legend(loc="upper left", fontsize="small")
    return fig


def plot_sobol(results: ScriptResults, output: str) -> Figure:
    """Sobol' indices: first-order S1 and total ST bars per parameter, with confidence
    whiskers, most influential (largest ST) first.

    ``ST - S1`` is what a parameter adds through interactions; a bar's whisker spans its
    95 % bootstrap confidence interval.

    >>> fig = sr.plot_sobol("y")  # doctest: +SKIP
    """
    require_numeric(results, output, "a Sobol' plot")
    _check_design(results, "sobol", "a Sobol' plot")
    table = global_sensitivity_table(results, [output])
    fig = new_figure(figsize=(1.0 + 1.1 * len(table), 4.2), layout="constrained")
    ax = fig.subplots()
    positions = range(len(table))
    width = 0.38
    for shift, name, colour, meaning in ((-width / 2, "S1", "tab:blue", "first order"),
                                         (width / 2, "ST", "tab:orange", "total")):
        ax.bar([p + shift for p in positions], table[name], width=width, color=colour,
               yerr=table[f"{name}_conf"], capsize=3, ecolor="black",
               error_kw={"elinewidth": 1}, label=f"{name} ({meaning})")
    ax.axhline(0, color="black", linewidth=1)
    ax.set_xticks(list(positions), [str(p) for p in table["parameter"]])
    ax.set_ylabel(f"Sobol' index (whiskers: {CONF_LEVEL:.0%} interval)")
    ax.set_title(f"Sobol' indices of {output} ({int(table['n_runs'].iloc[0])} runs)")
    ax.legend(loc="upper right", fontsize="small")
    return fig
