"""Global sensitivity of a Morris or Sobol' design: SALib's estimators, run on the records.

The design stored with the sweep (method, ``n``, options, seed, ranges) is drawn again
(:func:`~py3r_script.designs.globalsample.design_rows_of`), so every row of SALib's design
is read, in SALib's order, from the iteration that ran its parameter set, whichever order
the iterations ran or were loaded in, and rows that gave the same parameter set share it.
The bootstrap confidence intervals are seeded with the design's seed: the same study
gives the same table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..designs.globalsample import call_salib, design_rows_of, unit_design
from ..errors import OutputError, ParameterError, warn
from ..paramset import ParamSet
from .intervals import mean_interval
from .query import output_number

if TYPE_CHECKING:
    import pandas as pd

    from ..designs.design import Design
    from ..records import IterationRecord
    from ..results import ScriptResults

__all__ = ["CONF_LEVEL", "MORRIS_COLUMNS", "SOBOL_COLUMNS", "global_sensitivity_table",
           "is_global"]

MORRIS_COLUMNS = ["output", "parameter", "rank", "mu", "mu_star", "sigma", "mu_star_conf",
                  "n_trajectories", "n_dropped"]
SOBOL_COLUMNS = ["output", "parameter", "rank", "S1", "S1_conf", "ST", "ST_conf", "n_runs"]
CONF_LEVEL = 0.95  # of every *_conf column: the half-width of a 95 % bootstrap interval
_RESAMPLES = 100
_SHOWN = 5  # failed iterations named in a message


def is_global(results: ScriptResults) -> bool:
    """Whether the sweep ran a Morris or Sobol' design.

    >>> is_global(sweep("s.py", sample={"x": (0, 1)}, n=8, method="sobol"))  # doctest: +SKIP
    True
    """
    return results.design is not None and results.design.global_sa


def global_sensitivity_table(results: ScriptResults, outputs: Sequence[str]) -> pd.DataFrame:
    """Morris or Sobol' indices of each output, one row per sampled parameter, ranked.

    **Morris**: ``mu`` (mean elementary effect: its sign is the direction), ``mu_star``
    (mean absolute effect: the importance), ``sigma`` (spread of the effects: non-linearity
    or interactions) and ``mu_star_conf``; effects are per unit of the sampled range (SALib's
    convention), ranked by ``mu_star``. A trajectory with a failed run, or a run without a
    numeric value, is dropped whole, with a warning naming them (``n_dropped``).

    **Sobol'**: first-order ``S1`` and total ``ST`` indices with their ``*_conf``, and, for a
    design with ``second_order``, a ``S2_<name>`` and ``S2_conf_<name>`` column per other
    parameter; ranked by ``ST``. Saltelli's estimators need every run, so a failed run (or
    one without a value) is an error naming them.

    Each ``*_conf`` is the half-width of a 95 % bootstrap confidence interval (100
    resamples, seeded with the design's seed). With ``replicates=k`` each design point's
    output is the mean of its replicates that have a value (the table's
    ``attrs["notes"]`` says so).

    >>> sr = sweep("s.py", sample={"x": (0, 1), "y": (0, 1)}, n=256,
    ...            method="sobol")  # doctest: +SKIP
    >>> sr.sensitivity_table("out")  # doctest: +SKIP
    """
    import numpy as np
    import pandas as pd

    design = results.design
    assert design is not None and design.global_sa
    unit = unit_design(design.mode, design.n or 0, len(design.ranges), dict(design.options),
                       design.seed or 0)
    runs = _row_runs(results, design, unit)
    records = [next((r for r in group if r.ok), group[0]) for group in runs]
    names = [r[0] for r in design.ranges]
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    frames = []
    for output in outputs:
        values = np.array([_value(group, output) for group in runs], dtype=float)
        if design.mode == "morris":
            frame = _morris(problem, design, unit, values, records, output)
        else:
            frame = _sobol(problem, design, values, records, output)
        frame.insert(0, "output", output)
        frames.append(frame)
    columns = MORRIS_COLUMNS if design.mode == "morris" else SOBOL_COLUMNS
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    if design.replicates > 1:
        table.attrs["notes"] = (f"each design point's output is the mean of its "
                                f"{design.replicates} replicates (failed ones left out)")
    return table


def _row_runs(results: ScriptResults, design: Design, unit: Any
              ) -> list[list[IterationRecord]]:
    """The runs of each design row: per replicate, the latest completed run of its
    parameter set (else its latest failed one)."""
    names = [r[0] for r in design.ranges]
    latest: dict[tuple[ParamSet, int], IterationRecord] = {}
    for record in results.records:
        key = (record.params.project(names), record.replicate)
        if record.ok or key not in latest or not latest[key].ok:
            latest[key] = record
    runs: dict[ParamSet, list[IterationRecord]] = {}
    for (point, _), record in latest.items():
        runs.setdefault(point, []).append(record)
    rows = []
    for position, row in enumerate(design_rows_of(design, unit)):
        found = runs.get(ParamSet(row))
        if found is None:
            raise ParameterError(
                f"row {position} of the {design.mode} design ({row}) is not among this "
                f"sweep's iterations: load the whole sweep (load(db, sweep=...)) or run it "
                f"again with the same seed ({design.seed}); a design drawn with another "
                f"SALib version can differ")
        rows.append(found)
    return rows


def _value(group: Sequence[IterationRecord], output: str) -> float:
    """A design row's output: the mean of its replicates' values (NaN: none has one)."""
    return mean_interval(y for r in group if (y := output_number(r, output)) is not None).mean


def _described(records: Sequence[IterationRecord], names: Sequence[str]) -> str:
    unique = list({id(r): r for r in records}.values())
    shown = [f"{r.params.project(names).to_dict()} ({r.status if not r.ok else 'no value'})"
             for r in unique[:_SHOWN]]
    more = f" and {len(unique) - _SHOWN} more" if len(unique) > _SHOWN else ""
    return "; ".join(shown) + more


def _sobol(problem: dict[str, Any], design: Design, values: Any,
           records: Sequence[IterationRecord], output: str) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    bad = [r for r, y in zip(records, values) if not np.isfinite(y)]
    if bad:
        raise OutputError(
            f"{len(bad)} run(s) of the Sobol' design have no value of {output!r}: "
            f"{_described(bad, problem['names'])}. Saltelli's estimators need every run of "
            "the design: fix them and run the sweep again (with a store, only those run)")
    second = bool(dict(design.options).get("second_order"))
    indices = call_salib("analyze.sobol", "analyze", problem, values, seed=design.seed or 0,
                         calc_second_order=second, num_resamples=_RESAMPLES,
                         conf_level=CONF_LEVEL)
    names = problem["names"]
    frame = pd.DataFrame({"parameter": names, "S1": indices["S1"],
                          "S1_conf": indices["S1_conf"], "ST": indices["ST"],
                          "ST_conf": indices["ST_conf"], "n_runs": len(values)})
    if second:
        for key in ("S2", "S2_conf"):
            matrix = np.array(indices[key], dtype=float)
            matrix = np.where(np.isnan(matrix), matrix.T, matrix)  # SALib fills i < j only
            for j, other in enumerate(names):
                frame[f"{key}_{other}"] = matrix[:, j]
    return _ranked(frame, "ST")


def _morris(problem: dict[str, Any], design: Design, unit: Any, values: Any,
            records: Sequence[IterationRecord], output: str) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    size = problem["num_vars"] + 1
    finite = np.isfinite(values).reshape(-1, size).all(axis=1)
    dropped = [int(t) for t in np.flatnonzero(~finite)]
    if dropped:
        bad = [r for r, y in zip(records, values) if not np.isfinite(y)]
        if not finite.any():
            raise OutputError(f"every trajectory of the Morris design has a run without a "
                              f"value of {output!r}: {_described(bad, problem['names'])}")
        warn(f"{output!r}: dropped {len(dropped)} of {len(finite)} Morris trajectories "
             f"(numbers {', '.join(map(str, dropped))}) with a run without a value: "
             f"{_described(bad, problem['names'])}")
    keep = np.repeat(finite, size)
    indices = call_salib("analyze.morris", "analyze", problem,
                         np.asarray(unit, dtype=float)[keep], values[keep],
                         seed=design.seed or 0, num_resamples=_RESAMPLES,
                         conf_level=CONF_LEVEL, num_levels=dict(design.options)["levels"])
    frame = pd.DataFrame({"parameter": problem["names"],
                          **{k: np.asarray(indices[k], dtype=float)
                             for k in ("mu", "mu_star", "sigma", "mu_star_conf")},
                          "n_trajectories": int(finite.sum()), "n_dropped": len(dropped)})
    return _ranked(frame, "mu_star")


def _ranked(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    frame = frame.sort_values(key, ascending=False, kind="stable").reset_index(drop=True)
    frame.insert(1, "rank", range(1, len(frame) + 1))
    return frame
