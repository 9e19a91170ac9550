"""Sensitivity of a sampled design: rank correlations and a rank regression over all runs.

A random or Latin-hypercube sample has no nominal point to vary one parameter around, so
its ``sensitivity_table()`` is this one: measures that use every run at once and hold for
any monotone response (ranks do not change under a monotone transform, e.g. a log scale).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .query import number, output_number, varied_params

if TYPE_CHECKING:
    import pandas as pd

    from ..results import ScriptResults

__all__ = ["CORRELATION_COLUMNS", "correlation_table", "spearman"]

CORRELATION_COLUMNS = [
    "output", "parameter", "rank", "spearman", "srrc", "r2_ranks", "n_values", "n_failed",
    "n_nan", "n_missing",
]


def spearman(xs: Sequence[Any], ys: Sequence[float]) -> float:
    """Spearman's rank correlation (ties take their average rank); NaN when undefined.

    >>> round(spearman([1, 2, 3, 4], [10.0, 20.0, 15.0, 40.0]), 3)
    0.8
    """
    import pandas as pd

    if len(xs) < 3:
        return math.nan
    value = pd.Series(xs, dtype=float).rank().corr(pd.Series(ys, dtype=float).rank())
    return float(value)


def correlation_table(results: ScriptResults, outputs: Sequence[str]) -> pd.DataFrame:
    """Per output and sampled parameter: how strongly the output follows it, over all runs.

    ``spearman`` is Spearman's rank correlation of the parameter and the output: +1 (-1)
    when the output rises (falls) with the parameter however steeply, 0 when it does not
    follow it; with ``n`` runs, ``|spearman|`` below about ``2 / sqrt(n)`` is within noise.
    ``srrc`` is the standardised rank regression coefficient, from regressing the output's
    ranks on every numeric parameter's ranks at once: it separates the parameters when the
    sample happens to correlate them. ``r2_ranks`` is the share of the output's rank variance
    that regression explains: when it is low, interactions or non-monotone effects dominate
    and neither measure tells the whole story (look at ``sr.plot_response(output)``).
    Non-numeric parameters (choices of strings) have NaN. Rows are ranked within each output
    by ``|spearman|``; ``n_values`` counts the runs, of which ``n_failed`` failed, ``n_nan``
    gave NaN and ``n_missing`` completed without the output; those are left out.

    >>> sr = sweep("pipeline.py", sample={"window": (1, 15)}, n=40, seed=0)  # doctest: +SKIP
    >>> sr.sensitivity_table()  # doctest: +SKIP
    """
    import numpy as np
    import pandas as pd

    varied = varied_params(results)
    records = results.records
    rows = []
    for output in outputs:
        values = [output_number(r, output) for r in records]
        used = [(i, y) for i, y in enumerate(values) if y is not None and y == y]
        ys = [y for _, y in used]
        xs = {n: [records[i].params.get(n) for i, _ in used] for n in varied}
        numeric = [n for n in varied if all(number(x) is not None for x in xs[n])
                   and len({number(x) for x in xs[n]}) > 1]
        srrc, r2 = dict.fromkeys(numeric, math.nan), math.nan
        if numeric and len(ys) > len(numeric) + 1 and len(set(ys)) > 1:
            ranks = pd.DataFrame({n: [number(x) for x in xs[n]] for n in numeric}).rank()
            design = ((ranks - ranks.mean()) / ranks.std(ddof=0)).to_numpy()
            target = pd.Series(ys).rank()
            target = ((target - target.mean()) / target.std(ddof=0)).to_numpy()
            coefficients = np.linalg.lstsq(design, target, rcond=None)[0]
            residual = target - design @ coefficients
            r2 = 1.0 - float(residual @ residual) / float(target @ target)
            srrc = dict(zip(numeric, map(float, coefficients)))
        failed = sum(not r.ok for r in records)
        missing = sum(r.ok and v is None for r, v in zip(records, values))
        block: list[dict[str, Any]] = [{
            "output": output, "parameter": name,
            "spearman": spearman([number(x) for x in xs[name]], ys)
            if name in numeric else math.nan,
            "srrc": srrc.get(name, math.nan), "r2_ranks": r2, "n_values": len(records),
            "n_failed": failed, "n_missing": missing,
            "n_nan": len(records) - failed - missing - len(ys),
        } for name in varied]
        block.sort(key=lambda row: -abs(row["spearman"]) if row["spearman"] == row["spearman"]
                   else math.inf)
        for rank, row in enumerate(block, start=1):
            row["rank"] = rank
        rows.extend(block)
    return pd.DataFrame(rows, columns=CORRELATION_COLUMNS)
