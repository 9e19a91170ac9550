"""The value rules every front end shares (``designs.valuerules``): values typed by the
script's defaults, parameter ints within 64 bits, plans of a bounded size; all checked before
anything runs."""

from __future__ import annotations

import time

import pytest

from py3r_script import plan, run, sweep
from py3r_script.designs.inspection import inspect_script
from py3r_script.designs.valuerules import MAX_PLAN_SIZE, typed_value
from py3r_script.errors import DesignError, ParameterError, ParameterTypeError

SCRIPT = """
from py3r_script import Output, Param
window = Param(3, name="window")
thr = Param(2.0, name="thr")
flag = Param(False, name="flag")
label = Param("abc", name="label")
opt = Param(None, name="opt")
req = Param(name="req")
expr = Param(2 * 3, name="expr")
Output(window, name="out")
"""


@pytest.fixture
def info(write_script):
    return inspect_script(write_script(SCRIPT))


def test_typed_value_widens_ints_for_a_float_default_and_types_nothing_untyped(info):
    def typed(name, value):
        result = typed_value(info.param(name), value, name=name)
        return type(result).__name__, result

    assert typed("thr", 2) == ("float", 2.0)
    assert typed("window", 2) == ("int", 2)
    assert typed("window", None) == ("NoneType", None)  # None fits every parameter
    for untyped in ("opt", "req", "expr"):  # default None, none, an expression
        assert [typed(untyped, v) for v in (1, 1.0, True, "x")] == [
            ("int", 1), ("float", 1.0), ("bool", True), ("str", "x")]
    assert typed_value(None, 2, name="computed") == 2  # a name computed at run time
    for value, name in ((True, "thr"), ("x", "thr"), (2.5, "window"), (True, "window"),
                        (1, "flag"), ("3", "window"), (3, "label")):
        with pytest.raises(ParameterTypeError, match=f"parameter {name!r} expects"):
            typed_value(info.param(name), value, name=name)


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**5000],
                         ids=["2**63", "-2**63-1", "10**5000"])
def test_parameter_ints_must_fit_in_64_bits_in_every_design(marked_script, marker, value):
    script = marked_script(SCRIPT)
    designs = [
        lambda: run(script, {"req": 1, "opt": value}),
        lambda: sweep(script, {"window": [1, value]}, nominal={"req": 1}),
        lambda: sweep(script, {("window", "opt"): [(1, value)]}, nominal={"req": 1}),
        lambda: sweep(script, {"window": [1]}, nominal={"req": value}),
        lambda: sweep(script, points=[{"req": 1}, {"req": value}]),
        lambda: sweep(script, sample={"opt": [1, value]}, n=2, nominal={"req": 1}),
        lambda: sweep(script, sample={"window": tuple(sorted((0, value)))}, n=2,
                      nominal={"req": 1}),
    ]
    for design in designs:
        with pytest.raises(ParameterError, match="must fit in 64 bits"):
            design()
    assert not marker.exists()
    edges = plan(script, {"opt": [2**63 - 1, -(2**63)]}, nominal={"req": 1})
    assert [p["opt"] for p in edges.points] == [2**63 - 1, -(2**63), None]


def test_a_design_too_big_to_plan_is_refused_before_it_is_built(marked_script, marker):
    script = marked_script(SCRIPT)
    started = time.monotonic()
    with pytest.raises(DesignError, match=rf"n asks for 100,000,000,000 parameter sets; one "
                                          rf"sweep plans at most {MAX_PLAN_SIZE:,}"):
        sweep(script, sample={"thr": (0.0, 1.0)}, n=100_000_000_000, nominal={"req": 1})
    with pytest.raises(DesignError, match=r"a grid of 1000 × 1000 × 2 values asks for "
                                          r"2,000,000 parameter sets"):
        sweep(script, {"window": range(1000), "thr": range(1000), "req": [1, 2]},
              include_nominal=False)
    assert time.monotonic() - started < 10  # neither was drawn nor built
    assert not marker.exists()
    assert len(plan(script, sample={"thr": (0.0, 1.0)}, n=1000, seed=0,
                    nominal={"req": 1})) == 1000


def test_a_range_for_a_bool_or_str_parameter_is_refused(info, write_script):
    script = write_script(SCRIPT)
    for name in ("flag", "label"):
        with pytest.raises(ParameterTypeError, match=rf"sample\[{name!r}\].* is a range of "
                                                     "numbers, but .* give a list of choices"):
            plan(script, sample={name: (0, 1)}, n=2, nominal={"req": 1})
    widened = plan(script, sample={"thr": [1, 2]}, n=4, seed=0, nominal={"req": 1})
    assert {type(p["thr"]) for p in widened.points} == {float}
