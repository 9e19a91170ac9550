"""What every analysis asks of the results (``analysis.query``), on results built in memory,
and the analyses' refusals: SweepErrors that keep the built-in kind callers catch."""

from __future__ import annotations

import numpy as np
import pytest

from py3r_script import ScriptResults
from py3r_script.analysis import query
from py3r_script.designs.design import Design
from py3r_script.errors import (
    OutputError,
    OutputTypeError,
    ParameterError,
    ParameterTypeError,
    SweepError,
    UnknownNameError,
)
from py3r_script.paramset import ParamSet
from py3r_script.records import FrozenOutputs, IterationRecord


def results(rows, *, design, nominal, outputs=("y",)):
    """ScriptResults of ``rows``: (params, outputs or None for a failed iteration)."""
    records = [
        IterationRecord(params=ParamSet(params), status="ok" if out is not None else "error",
                        outputs=FrozenOutputs(out or {}), index=i,
                        error=None if out is not None else "ValueError: no")
        for i, (params, out) in enumerate(rows)
    ]
    names = list(dict.fromkeys(n for params, _ in rows for n in params))
    return ScriptResults(names, list(outputs), records, nominal=nominal, design=design)


@pytest.fixture
def independent():
    """x and (w, m) linked, varied one at a time around (x, w, m) = (1, 5, 3); x = 3 fails."""
    return results([
        ({"x": 1, "w": 5, "m": 3}, {"y": 10.0, "table": [1, 2]}),
        ({"x": 2, "w": 5, "m": 3}, {"y": 20.0, "table": [1, 2]}),
        ({"x": 3, "w": 5, "m": 3}, None),
        ({"x": 1, "w": 9, "m": 4}, {"y": 13.0, "table": [1, 2]}),
    ], design=Design("independent", linked=(("w", "m"),)), nominal={"x": 1, "w": 5, "m": 3},
        outputs=("y", "table"))


def test_number_takes_real_scalars_only():
    assert [query.number(v) for v in (3, 2.5, True, np.float32(0.5), np.int64(4))] == [
        3.0, 2.5, 1.0, 0.5, 4.0]
    assert [query.number(v) for v in ("3", None, [1], np.arange(3))] == [None] * 4


def test_value_order_puts_numbers_first_then_the_rest_by_repr():
    assert sorted(["b", 2, None, 0.5, "a", True], key=query.value_order) == [
        0.5, True, 2, "a", "b", None]


def test_names_argument_takes_one_name_or_several():
    assert query.names_argument("y") == ["y"]
    assert query.names_argument(("y", "z")) == ["y", "z"]
    assert query.names_argument(None) is None


def test_varied_params_partners_and_the_nominal_point(independent):
    varied = query.varied_params(independent)
    assert varied == ["x", "w", "m"]
    assert query.partners(independent, "w", varied) == ("w", "m")
    assert query.partners(independent, "x", varied) == ("x",)
    nominal_runs = [query.at_nominal(independent, r, varied) for r in independent.records]
    assert nominal_runs == [True, False, False, False]
    assert [r.index for r in query.one_at_a_time(independent, "w", varied)] == [0, 3]
    points, failed, missing = query.response(independent, "y", "x", varied)
    assert points == [(1, 10.0, True), (2, 20.0, False)]
    assert (failed, missing) == ([3], 0)


def test_partners_are_guessed_without_a_design(independent):
    bare = ScriptResults(independent.param_names, independent.output_names,
                         independent.records, nominal=independent.nominal)
    assert query.partners(bare, "m", query.varied_params(bare)) == ("w", "m")


def test_design_kinds_come_from_the_design(independent):
    assert query.design_mode(independent) == "independent"
    assert not query.is_sampled(independent) and not query.is_scattered(independent)
    for mode, sampled in (("lhs", True), ("random", True), ("points", False)):
        moved = results([({"x": 1}, {"y": 1.0}), ({"x": 2}, {"y": 2.0})],
                        design=Design(mode), nominal={})
        assert query.is_sampled(moved) is sampled
        assert query.is_scattered(moved)
        with pytest.raises(ParameterError, match="moves several parameters"):
            query.check_one_at_a_time(moved, "a view")


def test_numbers_of_an_output(independent):
    assert [query.output_number(r, "y") for r in independent.records] == [
        10.0, 20.0, None, 13.0]
    assert query.has_values(independent, "y")
    assert query.not_numeric(independent, "y") is None
    assert "is a list in iteration" in query.not_numeric(independent, "table")
    assert query.numeric_outputs(independent, None) == ["y"]


def test_unknown_and_non_numeric_outputs_are_refused(independent):
    with pytest.raises(UnknownNameError) as unknown:
        query.check_output(independent, "nope")
    assert isinstance(unknown.value, KeyError)
    assert str(unknown.value) == "unknown output 'nope'; this sweep has ['y', 'table']"
    with pytest.raises(OutputTypeError, match="a pivot table needs a numeric scalar output"):
        query.require_numeric(independent, "table", "a pivot table")


@pytest.mark.parametrize("call, kind, builtin", [
    (lambda sr: sr.sensitivity_table("table"), OutputTypeError, TypeError),
    (lambda sr: sr.sensitivity_table("nope"), UnknownNameError, KeyError),
    (lambda sr: sr.pivot("y", index="x", columns="x"), ParameterError, ValueError),
    (lambda sr: sr.pivot("y", index="nope", columns="x"), UnknownNameError, KeyError),
    (lambda sr: sr.pivot("y", index="x", columns="w"), ParameterError, ValueError),
    (lambda sr: sr.pivot("y", index="x", columns="w", where=3), ParameterTypeError, TypeError),
    (lambda sr: sr.pivot("y", index="x", columns="w", where={"nope": 1}), UnknownNameError,
     KeyError),
    (lambda sr: sr.concat("nope"), UnknownNameError, KeyError),
    (lambda sr: sr.concat("y"), OutputTypeError, TypeError),
    (lambda sr: sr.plot_response("y", ["nope"]), UnknownNameError, KeyError),
], ids=["non-numeric", "unknown-output", "same-axes", "unknown-axis", "not-crossed",
        "where-not-a-dict", "where-unknown", "concat-unknown", "concat-scalar",
        "plot-unknown-parameter"])
def test_refusals_are_sweep_errors_of_the_builtin_kind(independent, call, kind, builtin):
    with pytest.raises(SweepError) as caught:
        call(independent)
    assert isinstance(caught.value, kind) and isinstance(caught.value, builtin)


def test_plots_of_outputs_without_values_are_output_errors():
    empty = results([({"x": 1}, {"y": None}), ({"x": 2}, {"y": None})],
                    design=Design("independent"), nominal={"x": 1})
    with pytest.raises(OutputError, match="no completed iteration gave 'y' a value"):
        empty.plot_response("y")
    with pytest.raises(OutputError, match="no run of the sweep gave 'y' a value"):
        empty.plot_tornado("y")
    still = results([({"x": 1}, {"y": 1.0})], design=Design("single"), nominal={"x": 1})
    with pytest.raises(ParameterError, match="no parameter varies"):
        still.plot_response("y")
    assert issubclass(OutputError, ValueError)


def test_varied_params_tells_values_apart_by_type_and_repr():
    def varied(*values):
        return query.varied_params(results([({"v": v, "k": 1}, {"y": 1.0}) for v in values],
                                           design=None, nominal={}))

    assert varied(0.0, -0.0) == ["v"]  # equal, but two values
    assert varied(-0.0, 0.0, -0.0) == ["v"] and varied(0.0, 0.0) == []
    assert varied(float("nan"), float("nan")) == []  # one value, never equal to itself
    assert varied(1, True) == ["v"] and varied(1, 1.0) == ["v"] and varied(None, None) == []
    assert varied(*[0.5] * 50, 0.25) == ["v"] and varied("a") == []


def test_varied_params_follow_records_added_later():
    sr = results([({"v": 1}, {"y": 1.0}), ({"v": 1}, {"y": 2.0})], design=None, nominal={})
    assert query.varied_params(sr) == []
    sr.add(IterationRecord(params=ParamSet({"v": 2}), status="ok", index=2))
    assert query.varied_params(sr) == ["v"]
