"""Sweep planning (no subprocess): the iterations a sweep definition produces, what it rejects."""

from __future__ import annotations

import numpy as np
import pytest

from py3r_script.designs.inspection import inspect_script
from py3r_script.designs.planning import plan_run, plan_sweep
from py3r_script.errors import ParameterError, ParameterTypeError

SCRIPT = """
import math
from py3r_script import Output, Param
a = Param(2, name="a")
b = Param(5, name="b")
threshold = Param(0.5, name="threshold")
req = Param(name="req")
angle = Param(math.pi, name="angle")
flag = Param(1, name="flag")
Output(a, name="out")
"""


@pytest.fixture
def info(write_script):
    return inspect_script(write_script(SCRIPT))


def typed(points):
    """Points as lists of (name, type name, value): makes 1, 1.0 and True distinguishable."""
    return [sorted((k, type(v).__name__, v) for k, v in p.items()) for p in points]


def test_independent_adds_nominal_and_varies_one_at_a_time(info):
    plan = plan_sweep(info, {"a": [1, 2, 3], "b": [10, 20]}, nominal={"req": 0})
    assert len(plan) == 1 + (3 - 1) + (3 - 1)
    assert [dict(p) for p in plan.points] == [
        {"a": 2, "b": 5, "req": 0},  # baseline: every parameter at nominal
        {"a": 1, "b": 5, "req": 0},
        {"a": 3, "b": 5, "req": 0},
        {"a": 2, "b": 10, "req": 0},
        {"a": 2, "b": 20, "req": 0},
    ]
    assert plan.param_names == ("a", "b", "req")


def test_independent_uses_nominal_argument_over_script_default(info):
    plan = plan_sweep(info, {"a": [1, 3]}, nominal={"a": 3, "req": 0})
    assert [p["a"] for p in plan.points] == [3, 1]


def test_grid_is_the_product_of_augmented_lists(info):
    plan = plan_sweep(info, {"a": [1, 2, 3], "b": [10, 20]}, nominal={"req": 0}, mode="grid")
    assert len(plan) == 9
    combos = [(p["a"], p["b"]) for p in plan.points]
    assert len(set(combos)) == 9
    assert set(combos) == {(a, b) for a in (1, 2, 3) for b in (10, 20, 5)}
    assert all(p["req"] == 0 for p in plan.points)


def test_duplicates_dropped_silently_and_order_kept(info):
    plan = plan_sweep(info, {"a": [7, 1, 7, 2, 1]}, nominal={"req": 0}, mode="grid")
    assert [p["a"] for p in plan.points] == [7, 1, 2]


def test_nominal_appended_when_missing_order_of_given_values_kept(info):
    plan = plan_sweep(info, {"b": [30, 10, 20]}, nominal={"req": 0}, mode="grid")
    values = [p["b"] for p in plan.points]
    assert values[:3] == [30, 10, 20]
    assert sorted(values) == [5, 10, 20, 30]


def test_type_aware_dedup_grid(info):
    # req has no default, so no type: 1, 1.0 and True are three values
    plan = plan_sweep(info, {"req": [1, 1.0, True]}, mode="grid")
    assert [(type(p["req"]).__name__, p["req"]) for p in plan.points] == [
        ("int", 1), ("float", 1.0), ("bool", True)
    ]


def test_type_aware_dedup_independent(info):
    plan = plan_sweep(info, {"req": [1, 1.0, True, 1]}, nominal={"req": 1})
    assert [type(p["req"]).__name__ for p in plan.points] == ["int", "float", "bool"]


def test_values_of_a_typed_parameter_take_its_defaults_type(info):
    # threshold defaults to 0.5: ints are widened, so 1 and 1.0 are one value
    plan = plan_sweep(info, {"threshold": [1, 1.0, 2]}, nominal={"req": 0})
    assert [(type(p["threshold"]).__name__, p["threshold"]) for p in plan.points] == [
        ("float", 0.5), ("float", 1.0), ("float", 2.0)]
    for value, kind in ((1.0, "float 1.0"), (True, "bool True")):
        with pytest.raises(ParameterTypeError, match=rf"parameter 'flag' expects int \(the type "
                                                     rf"of its default\), got {kind}"):
            plan_sweep(info, {"flag": [1, value]}, nominal={"req": 0})


def test_nominal_supplies_required_param_held_constant(info):
    plan = plan_sweep(info, {"a": [1]}, nominal={"req": "x", "b": 11})
    assert plan.param_names == ("a", "req", "b")
    assert all(p["req"] == "x" and p["b"] == 11 for p in plan.points)


def test_required_swept_param_without_nominal(info):
    with pytest.raises(ValueError, match="nominal"):
        plan_sweep(info, {"req": [1, 2]})
    # grid mode needs no nominal: exactly the given values
    plan = plan_sweep(info, {"req": [1, 2]}, mode="grid")
    assert [p["req"] for p in plan.points] == [1, 2]


def test_expression_default_needs_nominal_in_independent_mode(info):
    with pytest.raises(ParameterError, match=r"'angle'.*nominal"):
        plan_sweep(info, {"angle": [0.0, 1.0]}, nominal={"req": 0})
    plan = plan_sweep(info, {"angle": [0.0, 1.0]}, nominal={"req": 0, "angle": 0.5})
    assert [p["angle"] for p in plan.points] == [0.5, 0.0, 1.0]


def test_required_param_not_swept_needs_nominal(info):
    with pytest.raises(ValueError, match="'req'"):
        plan_sweep(info, {"a": [1]})


def test_unknown_name_suggests_closest(info):
    with pytest.raises(ValueError, match="Did you mean 'threshold'") as excinfo:
        plan_sweep(info, {"treshold": [0.1]}, nominal={"req": 0})
    message = str(excinfo.value)
    assert "'treshold'" in message
    for name in ("a", "b", "threshold", "req", "angle", "flag"):
        assert name in message.split("declares:", 1)[1]


def test_unknown_name_in_nominal(info):
    with pytest.raises(ValueError, match="'zzz'"):
        plan_sweep(info, {"a": [1]}, nominal={"req": 0, "zzz": 1})


@pytest.mark.parametrize(
    "params, exc, pattern",
    [
        ({"a": []}, ValueError, "empty"),
        ({"a": 3}, TypeError, "list"),
        ({"a": "abc"}, TypeError, "list"),
        ({"a": {1, 2}}, TypeError, "sorted"),
        ({"a": [[1]]}, TypeError, "scalar"),
        ({"a": [1, {"x": 1}]}, TypeError, "scalar"),
        ({}, ValueError, "empty"),
    ],
    ids=["empty-list", "bare-int", "str", "set", "nested-list", "dict-value", "no-params"],
)
def test_bad_value_lists(info, params, exc, pattern):
    with pytest.raises(exc, match=pattern):
        plan_sweep(info, params, nominal={"req": 0})


def test_unknown_mode(info):
    with pytest.raises(ValueError, match="'fractional'"):
        plan_sweep(info, {"a": [1]}, nominal={"req": 0}, mode="fractional")


def test_errors_are_package_exceptions(info):
    with pytest.raises(ParameterTypeError):
        plan_sweep(info, {"a": 3}, nominal={"req": 0})
    with pytest.raises(ParameterError):
        plan_sweep(info, {"a": []}, nominal={"req": 0})


def test_numpy_values_become_plain_scalars(info):
    plan = plan_sweep(
        info,
        {"a": [np.int64(7)], "threshold": np.array([0.25, 0.75])},
        nominal={"req": np.float64(1.5)},
        mode="grid",
    )
    for point in plan.points:
        assert type(point["a"]) is int
        assert type(point["threshold"]) is float
        assert type(point["req"]) is float
    assert {p["threshold"] for p in plan.points} == {0.25, 0.75, 0.5}


def test_plan_run_fills_nothing_and_checks_required(info):
    plan = plan_run(info, {"req": 1, "a": 9})
    assert [dict(p) for p in plan.points] == [{"req": 1, "a": 9}]
    with pytest.raises(ValueError, match="'req'"):
        plan_run(info, {"a": 9})
    with pytest.raises(ValueError, match="Did you mean 'threshold'"):
        plan_run(info, {"req": 1, "threshhold": 0.1})
    with pytest.raises(TypeError):
        plan_run(info, {"req": [1]})
