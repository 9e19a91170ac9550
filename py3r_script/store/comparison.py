"""What changed between two sweeps of a study: the script and its git state, the design,
parameters and nominal values, the outputs asked for, how and where the iterations ran.

Each sweep's recorded facts are gathered as text under a ``(what, name)`` key; the
comparison lists every key whose text differs (or that only one sweep has).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..designs.design import Design

if TYPE_CHECKING:
    import pandas as pd

    from .study import Study

__all__ = ["COLUMNS", "KINDS", "compare", "describe_values", "installed_packages",
           "sweep_facts"]

COLUMNS = ["what", "name", "a", "b"]
KINDS = ("script", "git", "design", "parameter", "nominal", "outputs", "run", "environment",
         "package")
"""The kinds of fact (``what``), in the order the comparison lists them."""
SHOWN_VALUES = 12
"""A parameter with more distinct values than this is described by its range."""

Facts = dict[tuple[str, str], str]


def compare(study: Study, sweep_a: str, sweep_b: str) -> pd.DataFrame:
    """One row per recorded fact that differs between two sweeps (given by full id).

    Columns ``what`` (one of ``KINDS``), ``name``, ``a`` and ``b``: the fact's value in
    each sweep, as text, ``None`` where a sweep has no such fact (a parameter it did not
    have, no git repository). An empty table: nothing recorded changed.

    >>> compare(study, study.sweep_id(0), study.sweep_id(-1))  # doctest: +SKIP
            what        name                 a                 b
    0     script      sha256  9f86d081884c...   3a7bd3e2360a...
    1  parameter   threshold   1.0, 2.0, 4.0    0.5, 1.0, 2.0
    """
    import pandas as pd

    a, b = sweep_facts(study, sweep_a), sweep_facts(study, sweep_b)
    keys = sorted(dict.fromkeys([*a, *b]), key=lambda key: KINDS.index(key[0]))
    rows = [(what, name, a.get((what, name)), b.get((what, name)))
            for what, name in keys if a.get((what, name)) != b.get((what, name))]
    return pd.DataFrame(rows, columns=COLUMNS, dtype=object)


def sweep_facts(study: Study, sweep_id: str) -> Facts:
    """What the study records about one sweep, as text under ``(what, name)`` keys
    (facts it does not have are left out).

    >>> sweep_facts(study, study.sweep_id(-1))[("design", "mode")]  # doctest: +SKIP
    'grid'
    """
    row = study.sweep_row(sweep_id)
    records = study.records(sweep=sweep_id, outputs=())
    design_json = row["design_json"]
    design = Design.from_json(json.loads(design_json)) if design_json else Design(row["mode"])
    requested = row["requested_outputs"]
    facts: dict[tuple[str, str], Any] = {
        ("script", "path"): row["script"],
        ("script", "sha256"): row["script_sha256"],
        ("git", "commit"): row["git_commit"],
        ("git", "dirty"): None if row["git_dirty"] is None else
        ("yes" if row["git_dirty"] else "no"),
        ("design", "mode"): design.mode,
        ("design", "linked"): "; ".join(" + ".join(group) for group in design.linked),
        ("design", "seed"): design.seed,
        ("design", "iterations"): row["n_planned"],
    }
    for name in json.loads(row["param_names"]):
        facts["parameter", name] = describe_values(
            r.params[name] for r in records if name in r.params)
    for name, value in json.loads(row["nominal_json"]).items():
        facts["nominal", name] = repr(value)
    facts["outputs", "requested"] = ", ".join(json.loads(requested)) if requested else "all"
    facts.update({
        ("run", "argv"): _distinct(shlex.join(r.argv) for r in records),
        ("run", "env"): _distinct(json.dumps(dict(sorted(r.env.items()))) for r in records
                                  if r.env),
        ("run", "interpreter"): _distinct(r.interpreter for r in records),
        ("run", "child python"): _distinct(r.python for r in records),
        ("environment", "python"): row["python"],
        ("environment", "py3r-script"): row["package_version"],
        ("environment", "host"): row["host"],
        ("environment", "platform"): row["platform"],
    })
    facts.update({("package", name): version
                  for name, version in installed_packages(study, sweep_id).items()})
    return {key: str(value) for key, value in facts.items() if value not in (None, "")}


# -- installed packages ---------------------------------------------------------------
def installed_packages(study: Study, sweep_id: str) -> dict[str, str]:
    """The packages installed where a sweep ran (name -> version), as the study recorded
    them (``Study.environment``); empty for a sweep stored before they were recorded.
    :func:`compare` lists each package added, removed or upgraded as a ``package`` row.

    >>> installed_packages(study, study.sweep_id(-1))  # doctest: +SKIP
    {'numpy': '2.4.6', 'pandas': '3.1.1'}
    """
    return study.environment(sweep_id)


def describe_values(values: Iterable[Any]) -> str:
    """A parameter's distinct values (type-aware: ``1`` and ``1.0`` differ), in order, as
    text; many numbers as their range.

    >>> describe_values([3, 1, 2.0, 1]), describe_values(range(100)), describe_values(["a"])
    ('1, 2.0, 3', '100 values from 0 to 99', "'a'")
    """
    distinct = sorted({(type(v), v): v for v in values}.values(), key=_order)
    if len(distinct) <= SHOWN_VALUES:
        return ", ".join(map(repr, distinct))
    if all(_order(v)[0] == 0 for v in distinct):
        low, high = (_short(v) for v in (distinct[0], distinct[-1]))
        return f"{len(distinct):,} values from {low} to {high}"
    return f"{', '.join(map(repr, distinct[:SHOWN_VALUES]))}, ... ({len(distinct):,} values)"


def _order(value: Any) -> tuple[int, Any]:
    """Numbers first, by value; then the others by their repr."""
    if isinstance(value, (bool, int, float)):
        return (0, value)
    return (1, repr(value))


def _short(value: Any) -> str:
    """A number in six significant digits at most (a float keeps its point: ``7.0``)."""
    if not isinstance(value, float):
        return repr(value)
    text = f"{value:.6g}"
    return text if any(c in text for c in ".einf") else f"{text}.0"


def _distinct(texts: Iterable[str]) -> str:
    """The distinct texts in the order first seen, joined by "; "."""
    return "; ".join(dict.fromkeys(texts))
