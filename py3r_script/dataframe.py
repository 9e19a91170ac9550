"""``ScriptResults`` as a DataFrame: one row per iteration, its parameters, its scalar
outputs and, on request, its bookkeeping columns (``_sweep_id``, ``_status``...)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from .errors import OutputTypeError
from .gcpause import gc_paused
from .paramset import plain_scalar

if TYPE_CHECKING:
    import pandas as pd

    from .records import IterationRecord
    from .results import ScriptResults

__all__ = ["META_COLUMNS", "column_names", "meta_values", "results_frame", "scalar_output"]

META_COLUMNS = (
    "_sweep_id", "_sweep_seq", "_iteration_id", "_iteration_seq", "_plan_index",
    "_params_sha256", "_status", "_error", "_exit_code", "_signal", "_duration_s",
    "_started_utc", "_finished_utc", "_host", "_stopped_early", "_script_sha256", "_label",
    "_workdir",
)
"""The bookkeeping columns of ``to_dataframe(meta=True)``, in order."""


def results_frame(results: ScriptResults, outputs: Sequence[str], *, meta: bool,
                  include_failed: bool) -> pd.DataFrame:
    """The table of :meth:`ScriptResults.to_dataframe` for known ``outputs``.

    >>> results_frame(sr, ["time_moving"], meta=False, include_failed=False)  # doctest: +SKIP
       smooth_window  time_moving
    0              5        41.2
    """
    import pandas as pd

    bookkeeping = meta or include_failed
    records = [record for record in results.records if include_failed or record.ok]
    # built a column at a time (the per-row calls were the cost at 100,000 rows), then
    # handed to pandas as rows, so that it infers each column's dtype as it always did
    with gc_paused():  # a tuple per row and a value per cell, all kept: see gcpause
        values: list[Sequence[Any]] = [[record.params.get(name) for record in records]
                                       for name in results.param_names]
        replicated = results.replicated
        if replicated:
            values.append([record.replicate for record in records])
        values.extend(_output_column(results, records, name) for name in outputs)
        if bookkeeping:  # the record's attributes each row, read in one call
            values.extend(zip(*map(_META_ATTRIBUTES, records)) if records
                          else [()] * len(META_COLUMNS))
        rows = list(zip(*values)) if values else [() for _ in records]
    params = [*results.param_names, *(["replicate"] if replicated else [])]
    columns = column_names(params, outputs, meta=bookkeeping)
    try:
        frame = pd.DataFrame(rows, columns=columns)
    except UnicodeError:  # a str that is not valid Unicode, which pandas' str dtype refuses
        frame = _frame_by_column(rows, columns)
    if bookkeeping:
        for column in ("_started_utc", "_finished_utc"):
            frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
        for column in ("_sweep_seq", "_iteration_seq", "_exit_code"):  # ints, or missing
            frame[column] = frame[column].astype("Int64")
    return frame


_PLAIN_TYPES = (bool, int, float, str)


def _output_column(results: ScriptResults, records: Sequence[IterationRecord],
                   name: str) -> list[Any]:
    """Output ``name`` of each record as a plain scalar (see :func:`scalar_output`, which
    the values that are not plainly one go through)."""
    column = []
    for record in records:
        outputs = record.outputs
        if not outputs.is_deferred(name):
            value = outputs.get(name)
            if value is None or type(value) in _PLAIN_TYPES:
                column.append(value)
                continue
        column.append(scalar_output(results, record, name))
    return column


def _frame_by_column(rows: Sequence[Sequence[Any]], columns: list[str]) -> pd.DataFrame:
    """The table of ``rows``, a column holding text that is not valid Unicode (a lone
    surrogate, from a file name or argument decoded with ``surrogateescape``) kept as
    Python objects."""
    import pandas as pd

    def column(values: list[Any]) -> pd.Series:
        try:
            return pd.Series(values)
        except UnicodeError:
            return pd.Series(values, dtype=object)

    frame = pd.concat([column([row[i] for row in rows]) for i in range(len(columns))], axis=1)
    frame.columns = pd.Index(columns, dtype=object)
    return frame


def column_names(params: Sequence[str], outputs: Sequence[str], *, meta: bool) -> list[str]:
    """The table's column names: the parameters, the outputs, then (with ``meta``)
    :data:`META_COLUMNS`. A name already taken (an output named like a parameter, or a
    parameter or output named like a bookkeeping column) gets ``NAME:1`` (``NAME:2``...),
    as in the study's ``runs`` view, so each column means one thing.

    >>> column_names(["a", "b"], ["a", "y"], meta=False)
    ['a', 'b', 'a:1', 'y']
    """
    taken = set(META_COLUMNS) if meta else set()
    columns = []
    for name in (*params, *outputs):
        column, suffix = name, 0
        while column in taken:
            suffix += 1
            column = f"{name}:{suffix}"
        taken.add(column)
        columns.append(column)
    return columns + list(META_COLUMNS) if meta else columns


def scalar_output(results: ScriptResults, record: IterationRecord, name: str) -> Any:
    """Output ``name`` of ``record`` as a plain scalar (``None`` when it has none); an
    :class:`~py3r_script.errors.OutputTypeError` saying how to get it when it is not one.

    >>> scalar_output(sr, sr.records[0], "time_moving")  # doctest: +SKIP
    41.2
    """
    if name not in record.outputs:
        return None
    if record.outputs.is_deferred(name):  # a pickle, never a scalar: not read to say so
        kind = record.outputs.type_name(name).rpartition(".")[2]
    else:
        value = record.outputs[name]
        scalar, plain = plain_scalar(value)
        if scalar:
            return plain
        kind = type(value).__name__
    key = record.params.project(results.param_names).to_dict()
    keep = results.scalar_output_names()
    hint = (f"or leave it out: sr.to_dataframe(outputs={keep!r})" if keep
            else "(no output of this sweep is a scalar to tabulate)")
    raise OutputTypeError(
        f"output {name!r} is not a scalar (it is a {kind} in iteration {key}), "
        f"so it cannot be a DataFrame column. Get it by indexing, sr[{key}][{name!r}], "
        f"stack it over iterations with sr.concat({name!r}), {hint}."
    )


def meta_values(record: IterationRecord) -> list[Any]:
    """The record's values for :data:`META_COLUMNS`, in that order.

    >>> dict(zip(META_COLUMNS, meta_values(sr.records[0])))["_status"]  # doctest: +SKIP
    'ok'
    """
    return list(_META_ATTRIBUTES(record))


_META_ATTRIBUTES = attrgetter(
    "sweep_id", "sweep_seq", "iteration_id", "iteration_seq", "index", "params.digest",
    "status", "error", "exit_code", "signal", "duration", "started", "finished", "host",
    "stopped_early", "script_sha256", "label", "workdir",
)
"""A record's values for :data:`META_COLUMNS`, in that order, as a tuple."""


def scalar_outputs(names: Sequence[str], completed: Iterable[IterationRecord]) -> list[str]:
    """The outputs among ``names`` that are scalars in every completed record, decided
    without reading a study's pickles (a pickle never holds a scalar).

    >>> scalar_outputs(["y"], [])
    ['y']
    """
    def scalar_in(record: IterationRecord, name: str) -> bool:
        outputs = record.outputs
        if name not in outputs:  # an untrusted pickle (not a scalar), or missing: no say
            return name not in outputs.untrusted
        return not outputs.is_deferred(name) and plain_scalar(outputs[name])[0]

    scalar = dict.fromkeys(names, True)
    for record in completed:
        for name in scalar:
            scalar[name] = scalar[name] and scalar_in(record, name)
    return [name for name, is_scalar in scalar.items() if is_scalar]
