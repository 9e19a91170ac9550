"""Questions every analysis asks of a sweep's results: which parameters varied, how the
design was drawn, which runs go through the nominal point, and an output's numbers.

Sensitivity tables, rank correlations, grid views and plots all read the results through
these functions, so each question is answered one way. None of them imports pandas.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from ..errors import OutputTypeError, ParameterError, UnknownNameError
from ..paramset import value_key
from .intervals import Interval, mean_interval

if TYPE_CHECKING:
    from ..records import IterationRecord
    from ..results import ScriptResults

__all__ = [
    "at_nominal", "check_one_at_a_time", "check_output", "design_mode", "has_values",
    "is_sampled", "is_scattered", "names_argument", "nominal_test", "not_numeric", "number",
    "numeric_outputs", "one_at_a_time", "output_number", "partners", "require_numeric",
    "response", "response_intervals", "value_order", "varied_params",
]


_VARIED: WeakKeyDictionary[ScriptResults, tuple[int, list[str]]] = WeakKeyDictionary()
"""The varied parameters of results, with how many records they had then: results only
ever gain records (``ScriptResults.add``), so the same count means the same records, and
each analysis of them asks again."""


# -- values ----------------------------------------------------------------------------
def number(value: Any) -> float | None:
    """A real-number scalar as a float (bools and NumPy scalars included); else ``None``.

    >>> number(3), number(True), number("3")
    (3.0, 1.0, None)
    """
    if type(value) is float:
        return value
    if isinstance(value, (bool, int, float)):
        return float(value)
    module = type(value).__module__
    if module.startswith("numpy") and getattr(value, "ndim", None) == 0:
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return None


def value_order(value: Any) -> tuple[int, Any]:
    """A sort key for parameter values of mixed kinds: numbers first, by value, then the
    others by their repr.

    >>> sorted([2, "b", 0.5, "a"], key=value_order)
    [0.5, 2, 'a', 'b']
    """
    as_number = number(value)
    return (0, as_number) if as_number is not None else (1, repr(value))


def names_argument(names: str | Sequence[str] | None) -> list[str] | None:
    """A list of names from a list, or from one name given alone.

    >>> names_argument("window"), names_argument(["a", "b"]), names_argument(None)
    (['window'], ['a', 'b'], None)
    """
    if names is None:
        return None
    return [names] if isinstance(names, str) else list(names)


# -- the design ------------------------------------------------------------------------
def varied_params(results: ScriptResults) -> list[str]:
    """Parameters that take more than one value across the sweep, in sweep order.

    >>> varied_params(sr)  # doctest: +SKIP
    ['window', 'threshold']
    """
    records = results.records
    known = _VARIED.get(results)
    if known is None or known[0] != len(records):
        known = (len(records), [name for name in results.param_names if _varies(records, name)])
        _VARIED[results] = known
    return list(known[1])


def _varies(records: Sequence[IterationRecord], name: str) -> bool:
    """Whether ``name`` takes more than one value (by :func:`value_key`) in ``records``.

    A set of the values themselves is quick to build; their keys are compared only where
    it cannot tell: distinct NaNs are several values of it but one key, and ``0.0`` hides
    ``-0.0`` (equal, but two keys).
    """
    values = {(type(v), v) for v in (r.params.get(name) for r in records)}
    if len(values) > 1:
        keys = (value_key(v) for _, v in values)
        first = next(keys)
        return any(key != first for key in keys)
    if not values or next(iter(values)) != (float, 0.0):
        return False
    return len({value_key(r.params.get(name)) for r in records}) > 1


def design_mode(results: ScriptResults) -> str | None:
    """The sweep's design mode (``"grid"``, ``"lhs"``...), or ``None`` when it is unknown.

    >>> design_mode(sr)  # doctest: +SKIP
    'grid'
    """
    return None if results.design is None else results.design.mode


def is_sampled(results: ScriptResults) -> bool:
    """Whether the sweep was drawn at random from ranges (no nominal point, no grid).

    >>> is_sampled(sweep("pipeline.py", sample={"x": (0, 1)}, n=8))  # doctest: +SKIP
    True
    """
    return results.design is not None and results.design.sampled


def is_scattered(results: ScriptResults) -> bool:
    """Whether several parameters move in every run (a sample, or explicit points), so
    there is no one-at-a-time view around the nominal point.

    >>> is_scattered(sr)  # doctest: +SKIP
    False
    """
    return results.design is not None and results.design.scattered


def partners(results: ScriptResults, name: str, varied: Sequence[str]) -> tuple[str, ...]:
    """``name`` and the varied parameters linked to it, in sweep order.

    The design says which parameters were linked; when it is unknown (a study mixing
    sweeps) they are guessed: those off nominal whenever ``name`` is.

    >>> partners(sr, "window", varied_params(sr))  # doctest: +SKIP
    ('window', 'min_len')
    """
    design = results.design
    if design is not None:
        group = next((g for g in design.linked if name in g), (name,))
        together = {n for n in group if n in varied} | {name}
    else:
        nominal = results.nominal
        guess: set[str] | None = None
        for record in results.records:
            off = {n for n in varied if n in nominal
                   and value_key(record.params.get(n)) != value_key(nominal[n])}
            if name in off:
                guess = off if guess is None else guess & off
        together = guess or {name}
    return tuple(n for n in results.param_names if n in together)


# -- the nominal point -----------------------------------------------------------------
def at_nominal(results: ScriptResults, record: IterationRecord, names: Sequence[str]) -> bool:
    """Whether ``record`` has each of ``names`` (those with a nominal value) at nominal.

    >>> [at_nominal(sr, r, ["window"]) for r in sr.records]  # doctest: +SKIP
    [True, False, False]
    """
    return nominal_test(results, names)(record)


def nominal_test(results: ScriptResults, names: Sequence[str]
                 ) -> Callable[[IterationRecord], bool]:
    """:func:`at_nominal` for many records: a test of one record, the nominal values'
    keys worked out once.

    >>> [r.index for r in sr.records if nominal_test(sr, ["window"])(r)]  # doctest: +SKIP
    [0]
    """
    nominal = results.nominal
    keys = [(n, value_key(nominal[n])) for n in names if n in nominal]

    def test(record: IterationRecord) -> bool:
        get = record.params.get
        return all(value_key(get(n)) == key for n, key in keys)

    return test


def check_one_at_a_time(results: ScriptResults, what: str, *, instead: str = "") -> list[str]:
    """The varied parameters, after refusing a design that has no one-at-a-time view.

    ``what`` names the view in the message and ``instead`` says what to use for a sampled
    or points design; a :class:`~py3r_script.errors.ParameterError` when the design moves
    several parameters in every run, or never ran the nominal point.

    >>> check_one_at_a_time(sr, "a tornado chart")  # doctest: +SKIP
    ['window', 'threshold']
    """
    design = results.design
    if design is not None and design.scattered:
        raise ParameterError(
            f"{what} varies one parameter at a time around the nominal point, but this "
            f"sweep ran {design.description}, which moves several parameters in every run: "
            f"{instead}"
        )
    varied = varied_params(results)
    if varied and not any(map(nominal_test(results, varied), results.records)):
        point = {n: v for n, v in results.nominal.items() if n in varied}
        raise ParameterError(
            f"{what} goes through the nominal point {point}, which this sweep never ran (a "
            "grid run with include_nominal=False, or a sampled or points design): "
            "sr.pivot(...) shows a grid as it ran, and a grid with include_nominal=True "
            "(the default) runs the nominal point"
        )
    return varied


def one_at_a_time(
    results: ScriptResults, name: str, varied: Sequence[str]
) -> list[IterationRecord]:
    """The records where ``name`` varies and every other varied parameter is at nominal.

    Parameters linked to ``name`` (varied together with it) vary with it.

    >>> [r.params["window"] for r in one_at_a_time(sr, "window", ["window", "thr"])]
    ... # doctest: +SKIP
    [3, 5, 7]
    """
    nominal = results.nominal
    linked = partners(results, name, varied)
    others = [n for n in varied if n not in linked]
    missing = [n for n in others if n not in nominal]
    if missing:
        raise ParameterError(
            f"a one-at-a-time view of {name!r} holds the other parameters at their nominal "
            f"values, but {missing} have none (no script default): use sensitivity(..., "
            "nominal=...) or, for a grid, sr.pivot(..., where=...)"
        )
    return list(filter(nominal_test(results, others), results.records))


def response(
    results: ScriptResults, output: str, name: str, varied: Sequence[str]
) -> tuple[list[tuple[Any, float, bool]], list[Any], int]:
    """One parameter's one-at-a-time runs.

    Returns ``(value, output, is the nominal run)`` sorted by value (then by the linked
    parameters' values), NaN outputs included; the values whose iteration failed; and how
    many completed without the output. A point run several times (``replicates=k``) is
    one entry, the mean of its replicates (see :func:`response_intervals`).

    >>> points, failed, missing = response(sr, "time_moving", "window", ["window"])
    ... # doctest: +SKIP
    """
    measured, failed, missing = response_intervals(results, output, name, varied)
    return [(x, interval.mean, baseline) for x, interval, baseline in measured], failed, missing


def response_intervals(
    results: ScriptResults, output: str, name: str, varied: Sequence[str]
) -> tuple[list[tuple[Any, Interval, bool]], list[Any], int]:
    """:func:`response` with each point's replicates as an
    :class:`~py3r_script.analysis.intervals.Interval` (mean and 95 % confidence interval;
    ``n == 1`` without replicates); failed replicates are in the failed values.

    >>> points, failed, missing = response_intervals(sr, "y", "window", ["window"])
    ... # doctest: +SKIP
    """
    group = partners(results, name, varied)
    others = [n for n in group if n != name]
    points: dict[Any, tuple[Any, list[float], bool, tuple[Any, ...]]] = {}
    failed: list[Any] = []
    missing = 0
    replicated = results.replicated  # else each run is its own point, as it always was
    baseline_test = nominal_test(results, group) if name in results.nominal else None
    for position, record in enumerate(one_at_a_time(results, name, varied)):
        x = record.params.get(name)
        y = output_number(record, output)
        if not record.ok:
            failed.append(x)
        elif y is None:
            missing += 1
        else:
            baseline = baseline_test is not None and baseline_test(record)
            order = (value_order(x), *(value_order(record.params.get(n)) for n in others))
            key = record.params.project(results.param_names) if replicated else position
            points.setdefault(key, (x, [], baseline, order))[1].append(y)
    ordered = sorted(points.values(), key=lambda p: p[3])
    return ([(x, _interval(ys), baseline) for x, ys, baseline, _ in ordered], failed,
            missing)


def _interval(values: list[float]) -> Interval:
    """The mean and interval of a point's values; a NaN alone stays a NaN (no value)."""
    if len(values) == 1:
        return Interval(1, values[0], math.nan, math.nan, math.nan)
    return mean_interval(values)


# -- an output's numbers ---------------------------------------------------------------
def check_output(results: ScriptResults, output: str) -> None:
    """Refuse an output name the sweep does not have, listing those it has.

    >>> check_output(sr, "nope")  # doctest: +SKIP
    Traceback (most recent call last):
    UnknownNameError: unknown output 'nope'; this sweep has ['time_moving']
    """
    if output not in results.output_names:
        raise UnknownNameError(
            f"unknown output {output!r}; this sweep has {results.output_names}")


def output_number(record: IterationRecord, output: str) -> float | None:
    """A completed record's output as a float (NaN kept); ``None`` when it is missing, or
    a study's pickle (never a number, and not unpickled to tell).

    >>> [output_number(r, "time_moving") for r in sr.records]  # doctest: +SKIP
    [41.2, None, 38.0]
    """
    if not record.ok or record.outputs.is_deferred(output):
        return None
    value = record.outputs.get(output)
    return None if value is None else number(value)


def not_numeric(results: ScriptResults, output: str) -> str | None:
    """Why ``output`` is not a numeric scalar (missing and ``None`` values aside), or None.

    >>> not_numeric(sr, "summary")  # doctest: +SKIP
    "is a DataFrame in iteration {'window': 3}, not a scalar number"
    """
    for record in results.records:
        outputs = record.outputs
        if not record.ok:
            continue
        if outputs.is_deferred(output):  # a study's pickle: named, not unpickled
            kind = outputs.type_name(output).rpartition(".")[2]
        else:
            value = outputs.get(output)
            if value is None or number(value) is not None:
                continue
            kind = type(value).__name__
        where = record.params.project(results.param_names).to_dict()
        return f"is a {kind} in iteration {where}, not a scalar number"
    return None


def has_values(results: ScriptResults, output: str) -> bool:
    """Whether some completed iteration gave ``output`` a value.

    >>> has_values(sr, "time_moving")  # doctest: +SKIP
    True
    """
    return any(output_number(r, output) is not None for r in results.records)


def require_numeric(results: ScriptResults, output: str, what: str) -> None:
    """Refuse an unknown or non-numeric output, saying what (``what``) needs numbers.

    >>> require_numeric(sr, "summary", "a pivot table")  # doctest: +SKIP
    Traceback (most recent call last):
    OutputTypeError: output 'summary' is a DataFrame in iteration ...
    """
    check_output(results, output)
    problem = not_numeric(results, output)
    if problem is not None:
        raise OutputTypeError(
            f"output {output!r} {problem}: {what} needs a numeric scalar output")


def numeric_outputs(results: ScriptResults, outputs: str | Sequence[str] | None) -> list[str]:
    """The requested outputs (default: every output whose values are all real numbers).

    >>> numeric_outputs(sr, None)  # doctest: +SKIP
    ['distance_cm', 'time_moving']
    """
    names = names_argument(outputs)
    for name in names or ():
        require_numeric(results, name, "a sensitivity table")
    if names is not None:
        return names
    return [n for n in results.output_names
            if has_values(results, n) and not_numeric(results, n) is None]
