"""The analysis part of a sweep's section: the view that fits its design.

One-at-a-time designs (independent sweeps, grids) get the sensitivity table, and per
output a tornado chart and response plots; grids add a heatmap; random and Latin-hypercube
samples get the rank-correlation table and scatter plots; explicit points get scatter
plots. Every table and plot is the one ``ScriptResults`` gives (``sensitivity_table``,
``plot_tornado``, ``plot_response``, ``plot_heatmap``), drawn as it is. ``VIEWS`` maps a
design's mode to its view: a new design adds its entry there.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Callable

from ..analysis.query import design_mode, numeric_outputs, partners, varied_params
from ..analysis.tables import CI_COLUMNS
from ..designs.design import DESCRIPTIONS
from ..errors import SweepError
from ..paramset import value_key
from .figures import figure, note
from .markup import Html, element
from .tables import frame_table

if TYPE_CHECKING:
    import pandas as pd

    from ..results import ScriptResults

__all__ = ["HEATMAP_CELLS", "PLOTTED_OUTPUTS", "VIEWS", "analysis_part"]

PLOTTED_OUTPUTS = 4
"""Outputs drawn per sweep (the tables cover them all), to keep the page light."""
HEATMAP_CELLS = 400
"""Above this many cells, a grid's heatmap (annotated cell by cell) is left out."""
ONE_AT_A_TIME_COLUMNS = [
    "output", "parameter", "rank", "nominal", "output_at_nominal", "output_min",
    "output_max", "param_at_min", "param_at_max", "rel_change", "elasticity", "n_values",
    "n_failed",
]

View = Callable[["ScriptResults", "list[str]"], "list[Html]"]


def analysis_part(results: ScriptResults) -> Html:
    """The view of ``VIEWS`` that fits the sweep's design, for its numeric outputs.

    >>> analysis_part(sr)  # doctest: +SKIP
    """
    mode = design_mode(results)
    if mode == "single" or not varied_params(results):
        return note("Nothing varied in this sweep, so there is nothing to compare.")
    view = VIEWS.get(mode or "independent")  # an unknown design: try one at a time
    if view is None:
        return note(f"The report has no analysis of {DESCRIPTIONS.get(mode or '', mode)} "
                    "yet; the results table above has every run.")
    outputs = numeric_outputs(results, None)
    if not outputs:
        return note("No output is a number in the completed runs, so there is nothing to "
                    "analyse; the results table above has every run.")
    parts = view(results, outputs)
    if len(outputs) > PLOTTED_OUTPUTS:
        parts.append(note(
            f"Plots are drawn for the first {PLOTTED_OUTPUTS} of {len(outputs)} numeric "
            f"outputs; for the others: sr.plot_response(output) and the like, with sr = "
            "py3r_script.load(study, sweep=...)."))
    return Html("".join(parts))


def _table(results: ScriptResults, outputs: list[str], columns: list[str] | None,
           about: str) -> tuple[Html, pd.DataFrame | None]:
    """The sensitivity table (``columns`` of it) shown, or why there is none; and the
    whole table, for the plots drawn from it."""
    try:
        table = results.sensitivity_table(outputs)
    except SweepError as why:
        return note(f"No sensitivity table: {why}"), None
    shown = table if columns is None else table[columns]
    return Html(element("p", about) + frame_table(shown, shown=len(shown))), table


def one_at_a_time(results: ScriptResults, outputs: list[str]) -> list[Html]:
    """The one-at-a-time table, and per output a tornado chart and the response plots.

    >>> one_at_a_time(sr, ["time_moving"])  # doctest: +SKIP
    """
    replicated = CI_COLUMNS if results.replicated else []  # each mean's 95 % interval
    shown, table = _table(results, outputs, ONE_AT_A_TIME_COLUMNS + replicated,
                          "Each parameter varied alone, the others at their nominal values: "
                          "how far each output moves (ranked within each output by the "
                          "change relative to the output at nominal).")
    parts = [shown]
    for output in outputs[:PLOTTED_OUTPUTS]:
        parts += [element("h4", output),
                  figure(f"Tornado chart of {output}",
                         partial(results.plot_tornado, output, table=table)),
                  figure(f"Response of {output} to each parameter",
                         partial(results.plot_response, output))]
    return parts


def grid(results: ScriptResults, outputs: list[str]) -> list[Html]:
    """The one-at-a-time view through the nominal point, then a heatmap per output over
    the grid's first two axes (linked parameters count as one axis).

    >>> grid(sr, ["time_moving"])  # doctest: +SKIP
    """
    parts = one_at_a_time(results, outputs)
    varied = varied_params(results)
    axes: list[str] = []
    for name in varied:
        if not any(other in axes for other in partners(results, name, varied)):
            axes.append(name)
    if len(axes) < 2:
        return parts
    y, x = axes[:2]
    cells = 1
    for name in (x, y):
        cells *= len({value_key(r.params.get(name)) for r in results.records})
    parts.append(element("h4", f"Over {y} and {x}"))
    if len(axes) > 2:
        parts.append(note(f"{', '.join(axes[2:])} held at nominal."))
    if cells > HEATMAP_CELLS:
        parts.append(note(f"The grid of {y} and {x} has {cells:,} cells, too many to draw as "
                          "an annotated heatmap; sr.pivot(output, index, columns) has it."))
        return parts
    for output in outputs[:PLOTTED_OUTPUTS]:
        parts.append(figure(f"Heatmap of {output} over {y} and {x}",
                            partial(results.plot_heatmap, output, x=x, y=y)))
    return parts


def sample(results: ScriptResults, outputs: list[str]) -> list[Html]:
    """The rank-correlation table, and per output scatter plots against each parameter.

    >>> sample(sr, ["time_moving"])  # doctest: +SKIP
    """
    parts = [_table(results, outputs, None,
                    "Every run at once: Spearman's rank correlation of each parameter with "
                    "each output, the standardised rank regression coefficient (srrc) and "
                    "how much a monotone additive model explains (r2_ranks).")[0]]
    return parts + scatter(results, outputs)


def scatter(results: ScriptResults, outputs: list[str]) -> list[Html]:
    """Per output, scatter plots of every run against each varied parameter.

    >>> scatter(sr, ["time_moving"])  # doctest: +SKIP
    """
    return [figure(f"{output} against each parameter", partial(results.plot_response, output))
            for output in outputs[:PLOTTED_OUTPUTS]]


VIEWS: dict[str, View] = {
    "independent": one_at_a_time,
    "grid": grid,
    "lhs": sample,
    "random": sample,
    "points": scatter,
    # Global sensitivity designs (Morris elementary effects, Sobol indices) add their view
    # here, under their design's mode: a function of the results and their numeric
    # outputs returning the parts to show (their table through _table or frame_table,
    # their charts through figure(), which embeds them and handles a missing matplotlib).
}
"""The analysis view of each design mode."""
