"""``ScriptResults``: a sweep's records, indexed by parameter values, exported to pandas.

What :func:`~py3r_script.run`, :func:`~py3r_script.sensitivity` and
:func:`~py3r_script.sweep` return (without ``dry_run``), and what
:func:`~py3r_script.load` reads back from a study: every iteration's record, a mapping
from parameter values to the outputs of the iteration that completed with them, and a
DataFrame of the scalar outputs. Its analysis methods (``sensitivity_table``, ``pivot``,
``plot_tornado``...) are a facade on :mod:`py3r_script.analysis`, imported inside each
method: the analysis modules read the results back, so importing them here at the top
would make an import circle, and pandas and matplotlib load only when asked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import lookup
from .dataframe import results_frame, scalar_outputs
from .display import results_html, results_text
from .errors import IterationFailedError, IterationNotFoundError, UnknownNameError
from .lookup import RecordKey, record_key
from .paramset import ParamSet, Scalar
from .records import IterationRecord, first_line

if TYPE_CHECKING:
    import pandas as pd

    from .designs.design import Design

__all__ = ["ScriptResults"]


class ScriptResults:
    """Results of :func:`run`, :func:`sensitivity`, :func:`sweep` or :func:`load`, keyed
    by parameter combination.

    The mapping view (``sr[...]``, ``len``, iteration, ``in``) covers the iterations that
    completed; failed ones are listed in :attr:`errors`, and :attr:`records` holds every
    iteration, in plan order, whatever its status.

    Examples
    --------
    >>> sr = sensitivity("pipeline.py", {"window": [3, 5, 7]})  # doctest: +SKIP
    >>> sr[{"window": 3}]["summary"]  # doctest: +SKIP
    >>> sr.errors  # doctest: +SKIP
    [({'window': 7}, 'ValueError: window larger than the recording ...')]
    >>> df = sr.to_dataframe()  # doctest: +SKIP
    """

    def __init__(
        self,
        param_names: Sequence[str],
        output_names: Sequence[str],
        records: Iterable[IterationRecord] = (),
        *,
        nominal: Mapping[str, Any] | None = None,
        script: str | None = None,
        design: Design | None = None,
    ) -> None:
        self._param_names = tuple(param_names)
        self._design = design
        self._output_names = list(output_names)
        self._nominal = ParamSet(nominal or {}).project(self._param_names)
        self._script = script
        self._records: list[IterationRecord] = []
        self._completed: dict[RecordKey, IterationRecord] = {}
        self._recorded_names: set[str] = set(self._param_names)
        self._replicated = False
        for record in records:
            self.add(record)

    def add(self, record: IterationRecord) -> None:
        """Append a finished iteration's record (the runner adds them in plan order).

        A later successful record of the same parameter values (and replicate) wins when
        indexing.

        >>> sr = ScriptResults(["w"], ["y"])
        >>> sr.add(IterationRecord(params=ParamSet({"w": 3}), status="ok"))  # doctest: +SKIP
        """
        self._records.append(record)
        self._recorded_names.update(record.params)
        self._replicated = self._replicated or record.replicate != 0
        if record.ok:
            key = record_key(record, self._param_names)
            self._completed.pop(key, None)  # re-insert: the latest run of a key wins
            self._completed[key] = record
        for name in record.outputs:
            if name not in self._output_names:
                self._output_names.append(name)

    @property
    def param_names(self) -> list[str]:
        """The swept (and given) parameter names, in the order the sweep was defined."""
        return list(self._param_names)

    @property
    def output_names(self) -> list[str]:
        """The requested outputs, or all those the script declares (plus any seen at run time)."""
        return list(self._output_names)

    @property
    def nominal(self) -> dict[str, Scalar]:
        """The nominal values used to fill in partial keys in ``sr[...]``."""
        return self._nominal.to_dict()

    @property
    def design(self) -> Design | None:
        """How the parameter sets were chosen (mode, linked groups, seed); ``None`` when
        unknown, e.g. for a study whose sweeps had different designs."""
        return self._design

    @property
    def replicated(self) -> bool:
        """Whether parameter sets ran several times (``replicates=k``): then each key of
        ``sr`` names its ``"replicate"`` too, and ``to_dataframe()`` has a ``replicate``
        column."""
        return self._replicated or (self._design is not None and self._design.replicates > 1)

    def _key_dict(self, key: RecordKey | IterationRecord) -> dict[str, Scalar]:
        key = key if isinstance(key, tuple) else record_key(key, self._param_names)
        return lookup.key_dict(key, self.replicated)

    @property
    def records(self) -> tuple[IterationRecord, ...]:
        """Every iteration's record, in plan order, completed or not."""
        return tuple(self._records)

    @property
    def errors(self) -> list[tuple[dict[str, Scalar], str]]:
        """Failed iterations as ``(param_dict, error_message)`` pairs, in plan order."""
        return [(self._key_dict(record), record.error or record.status)
                for record in self._records if not record.ok]

    def __len__(self) -> int:
        return len(self._completed)

    def __iter__(self) -> Iterator[dict[str, Scalar]]:
        return (self._key_dict(key) for key in self._completed)

    def __contains__(self, params: object) -> bool:
        if not isinstance(params, Mapping):
            return False
        try:
            self._lookup(params, completed_only=True)
        except LookupError:
            return False
        return True

    def __getitem__(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        """Outputs of the completed iteration matching ``params`` (nominal fills gaps).

        Any recorded parameter may be named, swept or not: ``run(script)[{"window": 5}]``
        finds the iteration that ran with the script's default ``window=5``. With
        replicates, ``"replicate": r`` names one of them; without it, a parameter set that
        ran several times raises :class:`~py3r_script.errors.ReplicateAmbiguityError`
        (all of them: :meth:`select`).
        """
        return self._lookup(params, completed_only=True).outputs

    def items(self) -> Iterator[tuple[dict[str, Scalar], Mapping[str, Any]]]:
        """``(param_dict, outputs)`` for every completed iteration, in plan order.

        >>> for params, outputs in sr.items():  # doctest: +SKIP
        ...     print(params, outputs["time_moving"])
        """
        return ((self._key_dict(key), record.outputs) for key, record in self._completed.items())

    def select(self, params: Mapping[str, Any]) -> list[IterationRecord]:
        """The records of every completed iteration matching ``params`` (nominal fills the
        gaps), in plan order: all the replicates of a parameter set, say. An empty list when
        none completed (failed ones are in :attr:`errors`).

        >>> [r.outputs["y"] for r in sr.select({"window": 5})]  # doctest: +SKIP
        [0.98, 1.03, 1.01]
        """
        lookup.check_query(params, self._param_names, self._recorded_names, self.replicated)
        values, replicate = lookup.split_replicate(params, self._recorded_names)
        query = {**self._nominal.to_dict(), **values}
        return lookup.matching(query, self._completed.values(), self._param_names, replicate)

    def record(self, params: Mapping[str, Any]) -> IterationRecord:
        """The record of the iteration matching ``params``, whatever its status.

        >>> sr.record({"window": 7}).stderr  # doctest: +SKIP
        """
        return self._lookup(params, completed_only=False)

    def _lookup(self, params: Mapping[str, Any], *, completed_only: bool) -> IterationRecord:
        lookup.check_query(params, self._param_names, self._recorded_names, self.replicated)
        values, replicate = lookup.split_replicate(params, self._recorded_names)
        query = {**self._nominal.to_dict(), **values}
        names = self._param_names
        matches = lookup.matching(query, self._completed.values(), names, replicate)
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise lookup.too_many_replicates(params, matches, names) or IterationNotFoundError(
                f"{len(matches)} iterations match {params}; also give "
                f"{[n for n in names if n not in query]}")
        failed = lookup.matching(query, [r for r in reversed(self._records) if not r.ok], names,
                          replicate)
        if failed:
            if not completed_only:
                return failed[0]
            raise IterationFailedError(
                f"the iteration {self._key_dict(failed[0])} "
                f"failed ({failed[0].status}), so it has no complete outputs: "
                f"{first_line(failed[0].error)}. Its partial outputs and captured output are "
                "in sr.record(params)."
            )
        raise IterationNotFoundError(self._not_found(params))

    def _not_found(self, params: Mapping[str, Any]) -> str:
        keys = [self._key_dict(k) for k in self._completed]
        shown = "\n  ".join(map(str, keys[:10])) or "(none completed)"
        more = f"\n  ... and {len(keys) - 10} more" if len(keys) > 10 else ""
        return (f"no completed iteration matches {dict(params)} (missing names taken from "
                f"nominal {self._nominal.to_dict()}). Available:\n  {shown}{more}")

    def scalar_output_names(self) -> list[str]:
        """The outputs that are scalars in every completed iteration: the table's columns.

        Decided without reading a study's pickles (a pickle never holds a scalar).

        >>> sr.scalar_output_names()  # doctest: +SKIP
        ['distance_cm', 'time_moving', 'centre_time', 'mean_speed']
        """
        return scalar_outputs(self._output_names, self._completed.values())

    def to_dataframe(
        self,
        *,
        outputs: Sequence[str] | None = None,
        meta: bool = False,
        include_failed: bool = False,
    ) -> pd.DataFrame:
        """Flatten scalar outputs into a DataFrame, one row per completed iteration.

        A loaded study that ran the same parameters more than once (say before and after
        a script change) has a row for each run; ``meta=True`` tells them apart.

        Columns are the parameter names, then the outputs (``outputs`` selects and orders
        them). An output named like a parameter has the column ``NAME:1`` (the record keeps
        both: ``sr.record(params).params[NAME]`` and ``.outputs[NAME]``), as in the study's
        ``runs`` view; so does a parameter or output named like a bookkeeping column.
        ``meta=True`` adds bookkeeping columns: ``_sweep_id`` and ``_sweep_seq`` (of the
        sweep that ran the iteration), ``_iteration_id``, ``_iteration_seq`` (its number in
        the study; both sequence numbers are empty without a store), ``_plan_index``
        (position in the sweep that ran it), ``_params_sha256`` (the parameter set's stable
        hash), ``_status``, ``_error``, ``_exit_code``, ``_signal``, ``_duration_s``,
        ``_started_utc``, ``_finished_utc``, ``_host``, ``_stopped_early``,
        ``_script_sha256``, ``_label`` and ``_workdir``;
        ``include_failed=True`` adds failed iterations
        with missing outputs as ``None`` (and implies the ``_status``/``_error`` columns).

        Raises :class:`~py3r_script.errors.OutputTypeError` (a ``TypeError``) naming the
        first non-scalar output: get those by indexing.

        Examples
        --------
        >>> sr.to_dataframe()  # doctest: +SKIP
           smooth_window  threshold  time_moving
        0              5        0.8        41.2
        """
        names = list(outputs) if outputs is not None else self._output_names
        unknown = [n for n in names if n not in self._output_names]
        if unknown:
            raise UnknownNameError(
                f"unknown output(s) {unknown}; this sweep has {self._output_names}")
        return results_frame(self, names, meta=meta, include_failed=include_failed)

    # -- analysis: a facade on py3r_script.analysis -----------------------------------------
    # Each method imports its analysis module when called: those modules take a
    # ScriptResults and read it back, so a top-level import would be an import circle (the
    # one the package allows, see tests/test_layout.py), and pandas/matplotlib load late.
    def sensitivity_table(self, outputs: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Ranked sensitivity of each numeric output to each varied parameter.

        One at a time through the nominal point for independent and grid sweeps; rank
        correlations over every run for a random or Latin-hypercube sample; SALib's indices
        for a Morris (``mu``, ``mu_star``, ``sigma``, ``mu_star_conf``) or Sobol' design
        (``S1``, ``S1_conf``, ``ST``, ``ST_conf``). See
        :func:`py3r_script.analysis.tables.sensitivity_table` for the columns.

        >>> sr.sensitivity_table()  # doctest: +SKIP
        """
        from .analysis.tables import sensitivity_table

        return sensitivity_table(self, outputs)

    def pivot(self, output: str, index: str, columns: str, *,
              where: Mapping[str, Any] | None = None, aggfunc: str = "mean") -> pd.DataFrame:
        """One output over two crossed parameters of a grid (the others at nominal, or at
        the values ``where`` gives).

        See :func:`py3r_script.analysis.grids.pivot`.

        >>> sr.pivot("time_moving", index="window", columns="threshold")  # doctest: +SKIP
        """
        from .analysis.grids import pivot

        return pivot(self, output, index, columns, where=where, aggfunc=aggfunc)

    def concat(self, output: str) -> pd.DataFrame:
        """Stack a DataFrame/Series output of every completed iteration, with parameter columns.

        >>> sr.concat("summary")  # doctest: +SKIP
        """
        from .analysis.tables import concat

        return concat(self, output)

    def plot_response(self, output: str, params: str | Sequence[str] | None = None) -> Any:
        """Plot ``output`` against each varied parameter (or ``params``, one name or a list);
        returns the matplotlib Figure. For a sampled or points design: scatter plots.

        >>> fig = sr.plot_response("time_moving")  # doctest: +SKIP
        """
        from .analysis.plotting import plot_response

        return plot_response(self, output, params)

    def plot_tornado(self, output: str, *, table: pd.DataFrame | None = None) -> Any:
        """Tornado chart of the one-at-a-time sensitivity table for ``output`` (each bar from
        the output at nominal to its lowest or highest value); returns the Figure.
        ``table``: that table, when already at hand (``sr.sensitivity_table()``).

        >>> sr.plot_tornado("time_moving").savefig("tornado.png")  # doctest: +SKIP
        """
        from .analysis.plotting import plot_tornado

        return plot_tornado(self, output, table=table)

    def plot_sensitivity(self, output: str) -> Any:
        """The plot that fits the design: Morris μ* against σ, Sobol' S1 and ST bars with
        confidence whiskers, or a tornado chart (one at a time); returns the Figure.

        See :mod:`py3r_script.analysis.gsaplots`.

        >>> sr.plot_sensitivity("y").savefig("sobol.png")  # doctest: +SKIP
        """
        from .analysis.gsaplots import plot_sensitivity

        return plot_sensitivity(self, output)

    def plot_heatmap(self, output: str, x: str, y: str, *,
                     where: Mapping[str, Any] | None = None) -> Any:
        """Heatmap of ``output`` over two grid parameters (others as in :meth:`pivot`);
        returns the Figure.

        >>> fig = sr.plot_heatmap("time_moving", x="threshold", y="window")  # doctest: +SKIP
        """
        from .analysis.plotting import plot_heatmap

        return plot_heatmap(self, output, x, y, where=where)

    def aggregate(self, outputs: str | Sequence[str] | None = None) -> pd.DataFrame:
        """One row per parameter set: its values and, per numeric output, ``n``, ``mean``,
        ``std`` and the 95 % confidence interval of the mean over its replicates
        (``replicates=k``); ``summary()`` is the same. See
        :func:`py3r_script.analysis.replicates.aggregate`.

        >>> sr.aggregate("y")  # doctest: +SKIP
        """
        from .analysis.replicates import aggregate

        return aggregate(self, outputs)

    summary = aggregate

    def report(self, path: str | os.PathLike[str]) -> Path:
        """Write these results as one self-contained HTML page (design, results table,
        analysis, failures); returns its path. A study's report: ``Study(db).report(path)``.

        >>> sr.report("sweep.html")  # doctest: +SKIP
        PosixPath('sweep.html')
        """
        from .report.document import results_report

        return results_report(self, path, self._script)

    def _repr_html_(self) -> str:
        """The notebook view: counts, parameters, outputs, the head of the table, errors."""
        return results_html(self, self._script)

    def __repr__(self) -> str:
        return results_text(self, self._script)

