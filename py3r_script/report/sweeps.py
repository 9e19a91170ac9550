"""One sweep's section of the report: its design, its results table, the analysis that fits
its design (``analysis``) and its failures with their messages and output tails."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..analysis.query import varied_params
from ..records import first_line
from ..store.comparison import describe_values
from .analysis import analysis_part
from .figures import note
from .markup import Html, element, shown_value
from .summary import SweepSummary
from .tables import data_table

if TYPE_CHECKING:
    from ..records import IterationRecord
    from ..results import ScriptResults

__all__ = ["SHOWN_FAILURES", "TAIL_LINES", "sweep_section"]

SHOWN_FAILURES = 20
"""Failures shown in full (message, stderr and stdout tails); the rest are listed."""
TAIL_LINES = 40
"""Lines of a failed iteration's stderr and stdout the report keeps."""


def sweep_section(results: ScriptResults, summary: SweepSummary) -> Html:
    """The section of one sweep: design, results, analysis and failures.

    >>> sweep_section(sr, summary_of_results(sr, "pipeline.py"))  # doctest: +SKIP
    """
    anchor = summary.anchor
    return element(
        "section",
        element("h2", summary.title),
        subsection(f"{anchor}-design", "Design", design_part(results, summary)),
        subsection(f"{anchor}-results", "Results", results_part(results, summary)),
        subsection(f"{anchor}-analysis", "Analysis", analysis_part(results)),
        subsection(f"{anchor}-failures", f"Failures ({summary.failed})",
                   failures_part(results)),
        id=anchor, class_="sweep",
    )


def subsection(anchor: str, title: str, content: Html) -> Html:
    """A titled part of a sweep's section, with an id to link to (its class: the part's
    kind, e.g. ``design``).

    >>> subsection("sweep-0-design", "Design", note("..."))  # doctest: +SKIP
    """
    return element("section", element("h3", title), content, id=anchor,
                   class_=anchor.rsplit("-", 1)[-1])


def facts(pairs: Sequence[tuple[str, Any]]) -> Html:
    """Terms and their values as a definition list (empty values left out).

    >>> facts([("Seed", 7), ("Label", None)])
    '<dl class="facts"><dt>Seed</dt><dd>7</dd></dl>'
    """
    items = [element("dt", term) + element("dd", value if isinstance(value, Html)
                                            else shown_value(value))
             for term, value in pairs if value not in (None, "")]
    return element("dl", items, class_="facts")


def design_part(results: ScriptResults, summary: SweepSummary) -> Html:
    """The design in words (mode, linked groups, seed, script) and each parameter's values
    (or range) and nominal value.

    >>> design_part(sr, summary_of_results(sr, "pipeline.py"))  # doctest: +SKIP
    """
    design = results.design
    linked = "; ".join(" + ".join(group) for group in design.linked) if design else ""
    about = facts([
        ("Design", f"{design.description} ({design.mode})" if design else "unknown"),
        ("Linked parameters", linked),
        ("Seed", None if design is None else design.seed),
        ("Iterations planned", summary.planned),
        ("Script", element("code", summary.script)),
        ("Script SHA-256", element("code", summary.script_sha256)),
    ])
    nominal = results.nominal
    varied = set(varied_params(results))
    rows = [(name, "varied" if name in varied else "held",
             describe_values(r.params[name] for r in results.records if name in r.params),
             repr(nominal[name]) if name in nominal else "")
            for name in results.param_names]
    table = data_table(["parameter", "varied or held", "values (or range)", "nominal"], rows,
                       noun="parameter")
    return Html(about + table)


def results_part(results: ScriptResults, summary: SweepSummary) -> Html:
    """Every iteration of the plan: its parameters, scalar outputs, status and duration
    (and, in a study, the sweep a reused iteration comes from).

    >>> results_part(sr, summary_of_results(sr, "pipeline.py"))  # doctest: +SKIP
    """
    records = results.records
    if not records:
        return note("No iteration of this sweep was stored.")
    scalar = results.scalar_output_names()
    others = [n for n in results.output_names if n not in scalar]
    reuse = summary.reused > 0
    columns = ["#", *results.param_names, *scalar, "status", "seconds"]
    columns += ["reused from"] if reuse else []
    rows = []
    for r in records:
        row = [r.index, *(r.params.get(n) for n in results.param_names),
               *(r.outputs.get(n) for n in scalar), r.status, round(r.duration, 3)]
        if reuse:
            row.append("" if r.sweep_id == summary.sweep_id else f"sweep {r.sweep_seq}")
        rows.append(row)
    parts = [data_table(columns, rows, noun="iteration")]
    if others:
        parts.append(note(f"Outputs that are not scalars ({', '.join(others)}) are not in "
                          "the table; py3r_script.load(study) gives them to Python."))
    return Html("".join(parts))


def failures_part(results: ScriptResults) -> Html:
    """Each failed iteration with its message and the tails of its stderr and stdout;
    beyond ``SHOWN_FAILURES``, a table of the others.

    >>> failures_part(sr)  # doctest: +SKIP
    """
    failed = [r for r in results.records if not r.ok]
    if not failed:
        return note("No iteration failed.")
    names = varied_params(results) or results.param_names
    parts = [_failure(r, names) for r in failed[:SHOWN_FAILURES]]
    if len(failed) > SHOWN_FAILURES:
        parts.append(element("p", f"{len(failed) - SHOWN_FAILURES:,} more failures:"))
        parts.append(data_table(
            ["#", *names, "status", "error"],
            ([r.index, *(r.params.get(n) for n in names), r.status, first_line(r.error)]
             for r in failed[SHOWN_FAILURES:]), noun="failure"))
    return Html("".join(parts))


def _failure(record: IterationRecord, names: Sequence[str]) -> Html:
    where = ", ".join(f"{n}={record.params.get(n)!r}" for n in names)
    parts = [element("h4", f"#{record.index} {record.status}: {where}"),
             element("pre", record.error or record.status, class_="error")]
    for stream in ("stderr", "stdout"):
        text = getattr(record, stream)
        if text.strip():
            lines = text.rstrip("\n").split("\n")
            tail = "\n".join(lines[-TAIL_LINES:])
            kept = f"last {TAIL_LINES} of {len(lines)} lines" if len(lines) > TAIL_LINES \
                else f"{len(lines)} line{'s' if len(lines) > 1 else ''}"
            parts.append(element("details", element("summary", f"{stream} ({kept})"),
                                 element("pre", tail)))
    return element("div", parts, class_="failure")
