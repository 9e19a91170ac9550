"""How ``ScriptResults`` show themselves: the text summary (``repr``) and the notebook view."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from .records import first_line

if TYPE_CHECKING:
    from .results import ScriptResults

__all__ = ["results_html", "results_text"]

SHOWN_ROWS = 10
"""Rows of the table (and failed iterations) the notebook view shows."""
SHOWN_FAILURES = 5
"""Failed iterations the text summary lists."""


def results_text(results: ScriptResults, script: str | None) -> str:
    """A few lines: counts, parameters, outputs, the design's seed, the first failures.

    >>> print(results_text(sr, "pipeline.py"))  # doctest: +SKIP
    ScriptResults of pipeline.py: 3 iteration(s), 2 ok, 1 failed
      params:  window
      outputs: time_moving
      failed:  {'window': 7}: ValueError: window larger than the recording
    """
    records = results.records
    errors = results.errors
    where = f" of {script}" if script else ""
    lines = [
        f"ScriptResults{where}: {len(records)} iteration(s), "
        f"{len(records) - len(errors)} ok, {len(errors)} failed",
        f"  params:  {', '.join(results.param_names) or '(none)'}",
        f"  outputs: {', '.join(results.output_names) or '(none)'}",
    ]
    design = results.design
    if design is not None and design.seed is not None:
        lines.append(f"  design:  {design.mode}, seed {design.seed}")
    for params, message in errors[:SHOWN_FAILURES]:
        lines.append(f"  failed:  {params}: {first_line(message)}")
    if len(errors) > SHOWN_FAILURES:
        lines.append(f"  ... and {len(errors) - SHOWN_FAILURES} more failures (see .errors)")
    return "\n".join(lines)


def results_html(results: ScriptResults, script: str | None) -> str:
    """The notebook view: counts, parameters, outputs, the head of the table, errors.

    >>> from IPython.display import HTML  # doctest: +SKIP
    >>> HTML(results_html(sr, "pipeline.py"))  # doctest: +SKIP
    """
    records = results.records
    failed = results.errors
    parts = [
        "<div class='py3r-script-results'>",
        f"<b>ScriptResults</b> of <code>{escape(str(script or ''))}</code>: "
        f"{len(records)} iteration(s), {len(records) - len(failed)} ok, "
        f"{len(failed)} failed<br>",
        f"<b>params</b>: {escape(', '.join(results.param_names) or '(none)')}<br>",
        f"<b>outputs</b>: {escape(', '.join(results.output_names) or '(none)')}",
    ]
    completed = len(results)
    if completed:
        table = results.to_dataframe(outputs=results.scalar_output_names())
        parts.append(table.head(SHOWN_ROWS).to_html(index=False))
        if completed > SHOWN_ROWS:
            parts.append(f"<i>... {completed - SHOWN_ROWS} more rows</i>")
    if failed:
        items = "".join(f"<li><code>{escape(str(p))}</code>: {escape(first_line(m))}</li>"
                        for p, m in failed[:SHOWN_ROWS])
        parts.append(f"<b>errors</b><ul>{items}</ul>")
    parts.append("</div>")
    return "\n".join(parts)
