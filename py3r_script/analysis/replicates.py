"""A replicated sweep point by point: each parameter set's replicates as a mean, a standard
deviation and a 95 % confidence interval (``sr.aggregate()``, alias ``sr.summary()``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..paramset import ParamSet
from .intervals import mean_interval
from .query import numeric_outputs, output_number

if TYPE_CHECKING:
    import pandas as pd

    from ..records import IterationRecord
    from ..results import ScriptResults

__all__ = ["STAT_COLUMNS", "aggregate", "point_groups"]

STAT_COLUMNS = ("n", "mean", "std", "ci_low", "ci_high")
"""Per output, the columns ``<output>_n``, ``<output>_mean``... of :func:`aggregate`."""


def point_groups(results: ScriptResults) -> dict[ParamSet, list[IterationRecord]]:
    """Every record by parameter set (projected on the sweep's names), in plan order: the
    replicates of each point (the latest run of each replicate).

    >>> [len(group) for group in point_groups(sr).values()]  # doctest: +SKIP
    [8, 8, 8]
    """
    latest: dict[tuple[ParamSet, int], IterationRecord] = {}
    for record in results.records:
        key = (record.params.project(results.param_names), record.replicate)
        if record.ok or key not in latest or not latest[key].ok:
            latest.pop(key, None)
            latest[key] = record
    groups: dict[ParamSet, list[IterationRecord]] = {}
    for (point, _), record in sorted(latest.items(), key=lambda item: item[1].index):
        groups.setdefault(point, []).append(record)
    return groups


def aggregate(results: ScriptResults, outputs: str | Sequence[str] | None = None
              ) -> pd.DataFrame:
    """One row per parameter set, over its replicates: the parameters, ``replicates`` (how
    many ran), ``n_failed`` (how many of those failed), then per numeric output
    ``<output>_n`` (replicates with a value), ``_mean``, ``_std`` (sample standard
    deviation) and ``_ci_low``/``_ci_high``, the 95 % confidence interval of the mean
    (Student's t with n - 1 degrees of freedom).

    Failed replicates, and those without a value (or a NaN), are left out of ``n`` and of
    the statistics, never hidden: ``n_failed`` counts the failed ones. With n = 1 (say a
    sweep without replicates) ``std`` and the interval are NaN; with n = 0 the mean is
    too. ``sr.summary()`` is the same table.

    Examples
    --------
    >>> sr = sweep("noisy.py", {"mean": [0.0, 1.0]}, replicates=8, seed=1)  # doctest: +SKIP
    >>> sr.aggregate("y")[["mean", "y_mean", "y_ci_low", "y_ci_high"]]  # doctest: +SKIP
    """
    import pandas as pd

    chosen = numeric_outputs(results, outputs)
    rows = []
    for point, group in point_groups(results).items():
        row: dict[str, object] = {n: point.get(n) for n in results.param_names}
        row["replicates"] = len(group)
        row["n_failed"] = sum(not r.ok for r in group)
        for output in chosen:
            values = [y for r in group if (y := output_number(r, output)) is not None]
            stats = mean_interval(values)
            row.update({f"{output}_n": stats.n, f"{output}_mean": stats.mean,
                        f"{output}_std": stats.std, f"{output}_ci_low": stats.low,
                        f"{output}_ci_high": stats.high})
        rows.append(row)
    columns = [*results.param_names, "replicates", "n_failed",
               *(f"{o}_{s}" for o in chosen for s in STAT_COLUMNS)]
    frame = pd.DataFrame(rows, columns=columns)
    frame.attrs["confidence"] = 0.95
    return frame
