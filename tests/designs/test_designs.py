"""Sweep designs beyond value lists: linked parameters, explicit points, random and LHS samples.

Every design is run for real (one subprocess per iteration) and checked through what the script
itself saw: each script reports the values it received as outputs. Invalid designs must be
rejected before any subprocess starts (``marked_script`` proves that nothing ran).
"""

from __future__ import annotations

import math

import pytest

from py3r_script import DryRun, ScriptResults, plan, sensitivity, sweep
from py3r_script.errors import ParameterError, ParameterTypeError

LINKED = """
from py3r_script import Output, Param
window = Param(5, name="window")
min_len = Param(3, name="min_len")
thr = Param(0.5, name="thr")
Output(window, name="seen_window")
Output(min_len, name="seen_min_len")
Output(thr, name="seen_thr")
Output(type(window).__name__ + type(min_len).__name__, name="types")
"""

SAMPLED = """
from py3r_script import Output, Param
x = Param(0.5, name="x")
k = Param(3, name="k")
s = Param("a", name="s")
lr = Param(0.01, name="lr")
mode = Param("fast", name="mode")
for name, value in (("x", x), ("k", k), ("s", s), ("lr", lr), ("mode", mode)):
    Output(value, name="seen_" + name)
    Output(type(value).__name__, name="type_" + name)
"""

SAMPLE = {"x": (0.0, 1.0), "k": (1, 10), "s": ["a", "b"], "lr": (1e-4, 1e-1, "log")}


def seen_linked(sr: ScriptResults) -> list[tuple]:
    """(window, min_len, thr) as the script saw them, per iteration in plan order."""
    assert all(r.ok for r in sr.records), sr.errors
    return [(r.outputs["seen_window"], r.outputs["seen_min_len"], r.outputs["seen_thr"])
            for r in sr.records]


def seen_sampled(sr: ScriptResults) -> list[dict]:
    assert all(r.ok for r in sr.records), sr.errors
    return [{n: r.outputs["seen_" + n] for n in ("x", "k", "s", "lr", "mode")}
            for r in sr.records]


# -- linked parameters ----------------------------------------------------------------------


def test_linked_grid_runs_exactly_the_linked_combinations(write_script):
    script = write_script(LINKED)
    sr = sweep(script, {("window", "min_len"): [(3, 2), (9, 4)], "thr": [0.1, 0.9]},
               progress=False, max_workers=2)
    seen = seen_linked(sr)
    # the linked axis gets its nominal pair (5, 3) added, thr its nominal 0.5
    pairs = [(3, 2), (9, 4), (5, 3)]
    expected = {(w, m, t) for w, m in pairs for t in (0.1, 0.9, 0.5)}
    assert len(seen) == 9
    assert set(seen) == expected
    # window and min_len never vary independently: no (3, 4), (9, 2), (5, 2), ...
    assert {(w, m) for w, m, _ in seen} == set(pairs)
    assert {r.outputs["types"] for r in sr.records} == {"intint"}
    # the plan shown beforehand is what ran
    planned = plan(script, {("window", "min_len"): [(3, 2), (9, 4)], "thr": [0.1, 0.9]})
    frame = planned.to_dataframe()
    assert list(frame.columns) == ["window", "min_len", "thr"]
    assert list(frame.itertuples(index=False, name=None)) == seen


def test_linked_independent_varies_the_pair_together_others_at_nominal(write_script):
    script = write_script(LINKED)
    sr = sensitivity(script, {("window", "min_len"): [(3, 2), (9, 4)], "thr": [0.9]},
                     progress=False, max_workers=2)
    assert seen_linked(sr) == [
        (5, 3, 0.5),  # baseline, everything nominal
        (3, 2, 0.5),  # the linked pair moves together, thr at nominal
        (9, 4, 0.5),
        (5, 3, 0.9),  # thr moves, the pair at nominal
    ]
    assert sr.param_names == ["window", "min_len", "thr"]


def test_linked_independent_in_sweep_and_nominal_override(write_script):
    script = write_script(LINKED)
    sr = sweep(script, {("window", "min_len"): [(7, 1)]}, mode="independent",
               nominal={"window": 4, "min_len": 6, "thr": 0.25}, progress=False)
    assert seen_linked(sr) == [(4, 6, 0.25), (7, 1, 0.25)]


def test_linked_values_may_be_lists_and_duplicates_run_once(write_script):
    # planning only: a list item is as good as a tuple; repeated pairs are dropped
    planned = plan(write_script(LINKED), {("window", "min_len"): [[3, 2], (3, 2), (5, 3)]})
    assert [(p["window"], p["min_len"]) for p in planned.points] == [(3, 2), (5, 3)]


@pytest.mark.parametrize("values", [
    [(3, 2), (9, 4, 1)],   # wrong length
    [(3, 2), (9,)],        # too short
    [(3, 2), 9],           # not a tuple
    ["ab"],                # a string is not a tuple of values
    [(3, [2])],            # a non-scalar inside the tuple
])
@pytest.mark.parametrize("front", ["sweep", "sensitivity", "plan"])
def test_bad_linked_values_raise_type_error_before_anything_runs(marked_script, marker,
                                                                 values, front):
    script = marked_script(LINKED)
    call = {"sweep": sweep, "sensitivity": sensitivity, "plan": plan}[front]
    kwargs = {} if front == "plan" else {"progress": False}
    with pytest.raises(TypeError) as info:
        call(script, {("window", "min_len"): values}, **kwargs)
    assert isinstance(info.value, ParameterTypeError)
    assert "window" in str(info.value)
    assert not marker.exists()


def test_linked_name_also_given_alone_is_rejected(marked_script, marker):
    script = marked_script(LINKED)
    with pytest.raises(ValueError, match="more than one key"):
        sweep(script, {("window", "min_len"): [(3, 2)], "window": [4]}, progress=False)
    assert not marker.exists()


def test_linked_unknown_name_is_rejected(marked_script, marker):
    script = marked_script(LINKED)
    with pytest.raises(ValueError, match="min_lenn"):
        sweep(script, {("window", "min_lenn"): [(3, 2)]}, progress=False)
    assert not marker.exists()


def test_one_name_linked_key_takes_one_tuples(write_script):
    script = write_script(LINKED)
    names = ("window",)  # e.g. built programmatically: {tuple(names): list(zip(*columns))}
    planned = plan(script, {names: list(zip([3, 9]))})
    assert [p["window"] for p in planned.points] == [3, 9, 5]


# -- explicit points ------------------------------------------------------------------------


def test_points_run_exactly_those_with_missing_names_at_default(write_script):
    script = write_script(LINKED)
    points = [
        {"window": 3},
        {"window": 9, "thr": 0.9},
        {"min_len": 7},
        {"window": 3},                  # exact duplicate
        {},                             # everything at its default ...
        {"window": 5, "min_len": 3},    # ... which is this point too: runs once
    ]
    sr = sweep(script, points=points, progress=False, max_workers=2)
    assert seen_linked(sr) == [(3, 3, 0.5), (9, 3, 0.9), (5, 7, 0.5), (5, 3, 0.5)]
    assert len(sr) == 4
    assert sr.param_names == ["window", "thr", "min_len"]


def test_points_with_nominal_hold_other_names_constant(write_script):
    script = write_script(LINKED)
    sr = sweep(script, points=[{"window": 2}, {"window": 8, "thr": 0.75}],
               nominal={"thr": 0.125, "min_len": 6}, progress=False)
    assert seen_linked(sr) == [(2, 6, 0.125), (8, 6, 0.75)]


def test_points_are_typed_by_the_defaults_then_deduplicated(write_script):
    # thr's default is a float: 1 is widened to 1.0, so {"thr": 1} and {"thr": 1.0} are one
    planned = plan(write_script(LINKED), points=[{"thr": 1}, {"thr": 1.0}, {"window": 3}])
    assert [dict(p) for p in planned.points] == [
        {"thr": 1.0, "window": 5}, {"thr": 0.5, "window": 3}]
    assert type(planned.points[0]["thr"]) is float
    # window's default is an int: 3.0 does not fit
    with pytest.raises(ParameterTypeError, match=r"parameter 'window' expects int .*float 3\.0"):
        plan(write_script(LINKED), points=[{"window": 3}, {"window": 3.0}])


@pytest.mark.parametrize("kwargs", [
    {"points": [{"window": 3}, {"windw": 4}]},               # unknown name
    {"points": [{"window": 3}], "nominal": {"tresh": 1.0}},  # unknown name in nominal
])
def test_points_unknown_names_raise_value_error_before_running(marked_script, marker, kwargs):
    script = marked_script(LINKED)
    with pytest.raises(ValueError, match="unknown parameter"):
        sweep(script, progress=False, **kwargs)
    assert not marker.exists()


@pytest.mark.parametrize("points", [[], {"window": 3}, "window", [{"window": [1, 2]}], [3]])
def test_points_bad_shapes_raise_type_error(marked_script, marker, points):
    script = marked_script(LINKED)
    with pytest.raises(TypeError):
        sweep(script, points=points, progress=False)
    assert not marker.exists()


# -- random and Latin-hypercube samples -----------------------------------------------------


@pytest.mark.parametrize("method", ["lhs", "random"])
def test_sampled_sweep_runs_the_seeded_plan_within_ranges(write_script, method):
    script = write_script(SAMPLED)
    sr = sweep(script, sample=SAMPLE, n=6, method=method, seed=11, nominal={"mode": "slow"},
               progress=False, max_workers=2)
    seen = seen_sampled(sr)
    planned = plan(script, sample=SAMPLE, n=6, method=method, seed=11, nominal={"mode": "slow"})
    assert planned.mode == method
    assert planned.seed == 11
    assert seen == [dict(p) for p in planned.points]  # the script saw exactly the plan
    assert 1 <= len(seen) <= 6
    for record in sr.records:
        types = {n: record.outputs["type_" + n] for n in ("x", "k", "s", "lr", "mode")}
        assert types == {"x": "float", "k": "int", "s": "str", "lr": "float", "mode": "str"}
    for point in seen:
        assert 0.0 <= point["x"] < 1.0
        assert 1 <= point["k"] <= 10
        assert point["s"] in ("a", "b")
        assert 1e-4 <= point["lr"] <= 1e-1
        assert point["mode"] == "slow"  # held constant by nominal


@pytest.mark.parametrize("method", ["lhs", "random"])
def test_sample_is_reproducible_from_its_seed(write_script, method):
    script = write_script(SAMPLED)
    first = plan(script, sample=SAMPLE, n=12, method=method, seed=5)
    again = plan(script, sample=SAMPLE, n=12, method=method, seed=5)
    other = plan(script, sample=SAMPLE, n=12, method=method, seed=6)
    assert first.points == again.points
    assert first.to_dataframe().equals(again.to_dataframe())
    assert first.points != other.points
    assert [p["x"] for p in first.points] != [p["x"] for p in other.points]


def test_lhs_and_random_differ_for_the_same_seed(write_script):
    script = write_script(SAMPLED)
    lhs = plan(script, sample={"x": (0.0, 1.0)}, n=8, method="lhs", seed=3)
    rnd = plan(script, sample={"x": (0.0, 1.0)}, n=8, method="random", seed=3)
    assert lhs.points != rnd.points


@pytest.mark.parametrize("method", ["lhs", "random"])
def test_sampled_values_stay_in_their_ranges(write_script, method):
    script = write_script(SAMPLED)
    sample = {"x": (-2.5, 7.5), "k": (-3, 4), "s": ["a", "b", "c"], "lr": (1e-4, 1e-1, "log")}
    for seed in range(5):
        planned = plan(script, sample=sample, n=40, method=method, seed=seed)
        assert len(planned) == 40  # the float range makes every draw distinct
        for point in planned.points:
            assert type(point["x"]) is float and -2.5 <= point["x"] < 7.5
            assert type(point["k"]) is int and -3 <= point["k"] <= 4
            assert point["s"] in ("a", "b", "c")
            assert type(point["lr"]) is float and 1e-4 <= point["lr"] <= 1e-1
            assert "mode" not in point  # not sampled: the script keeps its default
        # over 40 draws an 8-value int range and a 3-choice list are (almost surely) covered
        assert {p["k"] for p in planned.points} <= set(range(-3, 5))
        assert {p["s"] for p in planned.points} <= {"a", "b", "c"}
    # the endpoints of an int range are reachable: the range is closed
    planned = plan(script, sample={"k": (1, 3)}, n=30, method=method, seed=0)
    assert sorted(p["k"] for p in planned.points) == [1, 2, 3]


def test_log_range_is_uniform_in_log_space(write_script):
    script = write_script(SAMPLED)
    planned = plan(script, sample={"lr": (1e-4, 1e-1, "log")}, n=300, method="random", seed=2)
    decades = [math.floor(math.log10(p["lr"])) for p in planned.points]
    counts = [decades.count(d) for d in (-4, -3, -2)]
    assert sum(counts) == 300
    assert all(60 <= c <= 140 for c in counts), counts  # ~100 per decade, not ~3 / 27 / 270


@pytest.mark.parametrize("seed", [0, 1, 7, 12345])
@pytest.mark.parametrize("n", [1, 5, 17])
def test_lhs_puts_exactly_one_draw_in_each_stratum(write_script, seed, n):
    script = write_script(SAMPLED)
    low, high = 2.0, 5.0
    planned = plan(script, sample={"x": (low, high), "lr": (1e-4, 1e-1, "log")}, n=n,
                   method="lhs", seed=seed)
    assert len(planned) == n
    x_strata = sorted(math.floor((p["x"] - low) / (high - low) * n) for p in planned.points)
    assert x_strata == list(range(n))
    span = math.log(1e-1) - math.log(1e-4)
    lr_strata = sorted(math.floor((math.log(p["lr"]) - math.log(1e-4)) / span * n)
                       for p in planned.points)
    assert lr_strata == list(range(n))


def test_lhs_of_an_int_range_with_n_equal_to_its_size_draws_each_int_once(write_script):
    script = write_script(SAMPLED)
    for seed in range(4):
        planned = plan(script, sample={"k": (1, 10), "x": (0.0, 1.0)}, n=10, seed=seed)
        assert sorted(p["k"] for p in planned.points) == list(range(1, 11))


def test_random_is_not_stratified(write_script):
    script = write_script(SAMPLED)
    stratified = 0
    for seed in range(10):
        planned = plan(script, sample={"x": (0.0, 1.0)}, n=10, method="random", seed=seed)
        strata = sorted(math.floor(p["x"] * 10) for p in planned.points)
        stratified += strata == list(range(10))
    assert stratified < 3  # each happens with probability 10!/10**10 ~ 0.00036


def test_duplicate_draws_run_once(write_script):
    # documented: duplicate draws (ints, choices) run once, so the plan may hold fewer than n
    script = write_script(SAMPLED)
    planned = plan(script, sample={"s": ["a", "b"]}, n=6, method="random", seed=0)
    assert sorted(p["s"] for p in planned.points) == ["a", "b"]


def test_unseeded_plan_keeps_its_seed_and_replanning_reproduces_it(write_script):
    script = write_script(SAMPLED)
    first = plan(script, sample=SAMPLE, n=8)
    assert isinstance(first.seed, int) and not isinstance(first.seed, bool)
    again = plan(script, sample=SAMPLE, n=8, seed=first.seed)
    assert again.points == first.points
    assert again.seed == first.seed
    other = plan(script, sample=SAMPLE, n=8)
    assert other.seed != first.seed  # a fresh seed each time (2**32 of them)
    # a dry run shows the drawn seed too, and that seed reproduces the preview
    preview = sweep(script, sample=SAMPLE, n=8, method="random", dry_run=True)
    assert isinstance(preview.plan.seed, int)
    replay = plan(script, sample=SAMPLE, n=8, method="random", seed=preview.plan.seed)
    assert replay.points == preview.plan.points


def test_unseeded_sweep_runs_with_a_seed_that_can_be_recovered(write_script):
    script = write_script(SAMPLED)
    preview = sweep(script, sample={"x": (0.0, 1.0)}, n=3, dry_run=True)
    sr = sweep(script, sample={"x": (0.0, 1.0)}, n=3, seed=preview.plan.seed, progress=False)
    assert [p["x"] for p in seen_sampled(sr)] == [p["x"] for p in preview.plan.points]


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"sample": {"x": (1.0, 1.0)}, "n": 3}, ValueError),             # low == high
    ({"sample": {"x": (2.0, 1.0)}, "n": 3}, ValueError),             # low > high
    ({"sample": {"k": (5, 5)}, "n": 3}, ValueError),
    ({"sample": {"lr": (0.0, 1.0, "log")}, "n": 3}, ValueError),     # log needs low > 0
    ({"sample": {"lr": (-1.0, 1.0, "log")}, "n": 3}, ValueError),
    ({"sample": {"lr": (0.1, 1.0, "ln")}, "n": 3}, ValueError),      # unknown scale
    ({"sample": {"x": (0.0, 1.0)}, "n": 0}, ValueError),
    ({"sample": {"x": (0.0, 1.0)}, "n": -2}, ValueError),
    ({"sample": {"x": (0.0, 1.0)}, "n": 2.0}, ValueError),
    ({"sample": {"x": (0.0, 1.0)}, "n": True}, ValueError),
    ({"sample": {"x": (0.0, 1.0)}, "n": 3, "method": "halton"}, ValueError),
    ({"sample": {"x": (0.0, 1.0)}}, ValueError),                      # sample without n
    ({"sample": {}, "n": 3}, ValueError),
    ({"sample": {"s": []}, "n": 3}, ValueError),                      # no choices
    ({"sample": {"xx": (0.0, 1.0)}, "n": 3}, ValueError),             # unknown name
    ({"params": {"x": [0.1]}, "points": [{"x": 0.2}]}, ValueError),  # two designs
    ({"params": {"x": [0.1]}, "sample": {"x": (0.0, 1.0)}, "n": 2}, ValueError),
    ({"points": [{"x": 0.2}], "sample": {"x": (0.0, 1.0)}, "n": 2}, ValueError),
    ({"params": {"x": [0.1]}, "n": 2}, ValueError),                   # n without sample
    ({}, ValueError),                                                 # no design at all
    ({"sample": {"x": (0.0, 1.0)}, "n": 3, "seed": 1.5}, TypeError),
    ({"sample": {"x": (0.0, 1.0)}, "n": 3, "seed": "1"}, TypeError),
    ({"sample": {"x": (0.0, "1")}, "n": 3}, TypeError),               # non-numeric bound
    ({"sample": {"x": (False, 1)}, "n": 3}, TypeError),
    ({"sample": {"x": 0.5}, "n": 3}, TypeError),                      # not a range
    ({"sample": {"x": (0.0, 0.5, 1.0, 2.0)}, "n": 3}, TypeError),
    ({"sample": {"s": [["a"]]}, "n": 3}, TypeError),                  # non-scalar choice
])
@pytest.mark.parametrize("front", ["plan", "sweep"])
def test_bad_designs_are_rejected_before_anything_runs(marked_script, marker, kwargs, error,
                                                       front):
    script = marked_script(SAMPLED)
    with pytest.raises(error) as info:
        if front == "plan":
            plan(script, **kwargs)
        else:
            sweep(script, progress=False, **kwargs)
    assert isinstance(info.value, (ParameterError, ParameterTypeError))
    assert not marker.exists()


# -- the plan before running ----------------------------------------------------------------


def test_plan_dataframe_has_one_row_per_combination(write_script):
    script = write_script(LINKED)
    grid = plan(script, {"window": [3, 9], "thr": [0.1]})  # plan defaults to a grid
    frame = grid.to_dataframe()
    assert list(frame.columns) == ["window", "thr"]
    assert len(frame) == len(grid) == 3 * 2
    assert set(frame.itertuples(index=False, name=None)) == {
        (w, t) for w in (3, 9, 5) for t in (0.1, 0.5)}
    assert str(frame["window"].dtype) == "int64" and str(frame["thr"].dtype) == "float64"

    oat = plan(script, {"window": [3, 9], "thr": [0.1]}, mode="independent")
    assert list(oat.to_dataframe().itertuples(index=False, name=None)) == [
        (5, 0.5), (3, 0.5), (9, 0.5), (5, 0.1)]

    pts = plan(script, points=[{"window": 1}, {"thr": 0.3}], nominal={"min_len": 8})
    assert list(pts.to_dataframe().columns) == ["window", "thr", "min_len"]
    assert list(pts.to_dataframe().itertuples(index=False, name=None)) == [
        (1, 0.5, 8), (5, 0.3, 8)]

    sampled = plan(write_script(SAMPLED, "sampled.py"), sample=SAMPLE, n=7, seed=0)
    frame = sampled.to_dataframe()
    assert list(frame.columns) == ["x", "k", "s", "lr"]
    assert len(frame) == len(sampled.points) == 7
    assert [dict(zip(frame.columns, row)) for row in frame.itertuples(index=False)] == [
        dict(p) for p in sampled.points]


@pytest.mark.parametrize("kwargs", [
    {"params": {("window", "min_len"): [(3, 2), (9, 4)], "thr": [0.1]}},
    {"points": [{"window": 3}, {"thr": 0.2}]},
    {"sample": {"thr": (0.0, 1.0), "window": (1, 9)}, "n": 4, "seed": 1},
])
def test_dry_run_returns_the_plan_and_runs_nothing(marked_script, marker, kwargs):
    script = marked_script(LINKED)
    preview = sweep(script, dry_run=True, **kwargs)
    assert isinstance(preview, DryRun)
    assert not marker.exists()
    expected = plan(script, **kwargs)
    assert preview.plan.points == expected.points
    assert len(preview) == len(expected) == preview.n_run
    frame = preview.to_dataframe()
    assert len(frame) == len(expected)
    assert set(frame["_action"]) == {"run"}
    assert list(frame.columns[: len(expected.param_names)]) == list(expected.param_names)


def test_sensitivity_dry_run_with_linked_keys(marked_script, marker):
    script = marked_script(LINKED)
    preview = sensitivity(script, {("window", "min_len"): [(3, 2)]}, dry_run=True)
    assert isinstance(preview, DryRun)
    assert not marker.exists()
    assert [(p["window"], p["min_len"]) for p in preview.plan.points] == [(5, 3), (3, 2)]


# -- sampled types follow the script's defaults ---------------------------------------------


def test_int_parameter_log_range_draws_ints_the_script_sees(write_script):
    script = write_script(SAMPLED)
    sr = sweep(script, sample={"k": (1, 100, "log"), "x": (0.0, 1.0)}, n=6, seed=0,
               progress=False, max_workers=2)
    seen = seen_sampled(sr)
    assert len(seen) == 6
    assert {r.outputs["type_k"] for r in sr.records} == {"int"}
    assert all(1 <= p["k"] <= 100 for p in seen)


def test_int_log_range_is_log_uniform_over_the_integers(write_script):
    script = write_script(SAMPLED)
    # the float x keeps the 300 points distinct, so no duplicate is dropped
    planned = plan(script, sample={"k": (1, 999, "log"), "x": (0.0, 1.0)}, n=300,
                   method="random", seed=4)
    ks = [p["k"] for p in planned.points]
    assert len(ks) == 300 and all(type(k) is int and 1 <= k <= 999 for k in ks)
    # [1, 1000) has three decades of equal log-measure: ~100 draws in each
    counts = [sum(low <= k < 10 * low for k in ks) for low in (1, 10, 100)]
    assert sum(counts) == 300
    assert all(70 <= c <= 130 for c in counts), counts
    assert max(ks) > 500 and min(ks) < 3  # both ends of the range are reached


@pytest.mark.parametrize("seed", [0, 3, 8])
def test_int_log_range_keeps_one_lhs_draw_per_stratum(write_script, seed):
    script = write_script(SAMPLED)
    n, low, high = 5, 1, 100_000
    planned = plan(script, sample={"k": (low, high, "log")}, n=n, seed=seed)
    ks = sorted(p["k"] for p in planned.points)
    assert len(ks) == n  # strata this wide cannot share an integer
    # stratum s of log space [log 1, log 100001) holds the draws floor(exp(...)) in:
    bounds = [math.exp(math.log(low) + s / n * (math.log(high + 1) - math.log(low)))
              for s in range(n + 1)]
    for s, k in enumerate(ks):
        assert math.floor(bounds[s]) <= k <= math.floor(bounds[s + 1]), (s, k, bounds)


def test_float_range_on_an_int_parameter_draws_ints(write_script):
    script = write_script(SAMPLED)
    planned = plan(script, sample={"k": (1.0, 9.0)}, n=30, method="random", seed=1)
    assert all(type(p["k"]) is int for p in planned.points)
    assert sorted({p["k"] for p in planned.points}) == list(range(1, 10))


@pytest.mark.parametrize("spec", [(0.5, 9.0), (1.0, 9.5, "log")])
def test_fractional_bounds_on_an_int_parameter_are_refused(marked_script, marker, spec):
    script = marked_script(SAMPLED)
    with pytest.raises(ParameterError, match=r"'k' is an int parameter .*default is 3.*"
                                             r"whole-number bounds.*e\.g\. \(1, 9"):
        sweep(script, sample={"k": spec}, n=3, progress=False)
    assert not marker.exists()


def test_int_range_on_a_float_parameter_draws_floats(write_script):
    script = write_script(SAMPLED)  # x defaults to 0.5
    planned = plan(script, sample={"x": (1, 4)}, n=5, seed=2)
    xs = [p["x"] for p in planned.points]
    assert all(type(x) is float for x in xs)
    assert len(set(xs)) == 5 and all(1.0 <= x < 4.0 for x in xs)
    assert any(not x.is_integer() for x in xs)  # not ints dressed as floats


# -- Latin hypercube: each dimension has its own strata permutation -------------------------


def test_lhs_shuffles_the_strata_of_each_dimension_independently(write_script):
    script = write_script(SAMPLED)
    n, identical, orders = 10, 0, set()
    for seed in range(8):
        planned = plan(script, sample={"x": (0.0, 1.0), "lr": (1.0, 2.0)}, n=n, seed=seed)
        x_strata = [math.floor(p["x"] * n) for p in planned.points]
        lr_strata = [math.floor((p["lr"] - 1.0) * n) for p in planned.points]
        assert sorted(x_strata) == sorted(lr_strata) == list(range(n))  # both stratified
        identical += x_strata == lr_strata
        orders.add(tuple(x_strata))
        mean = (n - 1) / 2
        cov = sum((a - mean) * (b - mean) for a, b in zip(x_strata, lr_strata))
        assert cov / sum((a - mean) ** 2 for a in x_strata) < 0.99  # not perfectly correlated
    assert identical == 0
    assert len(orders) == 8  # and the points come in a different order for each seed
    assert tuple(range(n)) not in orders


# -- points as a DataFrame, linked values as a 2-D array ------------------------------------


def test_points_as_a_dataframe_one_row_per_point_empty_cells_keep_defaults(write_script):
    pd = pytest.importorskip("pandas")
    script = write_script(LINKED)
    frame = pd.DataFrame({"window": [3, None, 9], "thr": [0.25, 0.75, float("nan")]})
    sr = sweep(script, points=frame, progress=False, max_workers=2)
    # window is float in pandas (it has an empty cell) but an int knob: it stays int
    assert seen_linked(sr) == [(3, 3, 0.25), (5, 3, 0.75), (9, 3, 0.5)]
    assert {r.outputs["types"] for r in sr.records} == {"intint"}
    whole = plan(script, points=pd.DataFrame({"window": [3, 9], "thr": [0.1, 0.2]}))
    assert [(type(p["window"]).__name__, p["window"], p["thr"]) for p in whole.points] == [
        ("int", 3, 0.1), ("int", 9, 0.2)]
    with pytest.raises(ParameterTypeError, match="'window' expects int"):
        plan(script, points=frame.to_dict("records")[:1])  # a list of dicts is taken as it is


def test_linked_values_as_a_2d_array(write_script):
    np = pytest.importorskip("numpy")
    script = write_script(LINKED)
    planned = plan(script, {("window", "min_len"): np.array([[3, 2], [9, 4]])})
    assert [(p["window"], p["min_len"]) for p in planned.points] == [(3, 2), (9, 4), (5, 3)]
    assert all(type(p["window"]) is int for p in planned.points)


# -- grids exactly as given: include_nominal=False ------------------------------------------


def test_grid_without_nominal_runs_exactly_the_product(write_script):
    script = write_script(LINKED)
    sr = sweep(script, {"window": [3, 9], "thr": [0.1]}, include_nominal=False,
               progress=False, max_workers=2)
    assert seen_linked(sr) == [(3, 3, 0.1), (9, 3, 0.1)]  # no window=5, no thr=0.5
    with_nominal = plan(script, {"window": [3, 9], "thr": [0.1]})
    assert len(with_nominal) == 3 * 2
    linked = plan(script, {("window", "min_len"): [(3, 2), (9, 4)], "thr": [1.23]},
                  include_nominal=False)
    # psweep's constant idiom: a one-value list is that value only
    assert [tuple(p.values()) for p in linked.points] == [(3, 2, 1.23), (9, 4, 1.23)]
    assert plan(script, {"thr": [1.23]}, include_nominal=False).to_dataframe()[
        "thr"].tolist() == [1.23]


@pytest.mark.parametrize("front", ["plan", "sweep"])
def test_independent_without_nominal_is_refused(marked_script, marker, front):
    script = marked_script(LINKED)
    call = plan if front == "plan" else sweep
    with pytest.raises(ParameterError, match=r"include_nominal=False is for grids.*baseline"):
        call(script, {"window": [3, 9]}, mode="independent", include_nominal=False)
    with pytest.raises(ParameterTypeError, match="True or False"):
        call(script, {"window": [3, 9]}, include_nominal="no")
    assert not marker.exists()


def test_results_keep_the_design_with_a_drawn_seed(write_script):
    from py3r_script import sweep as sweep_

    script = write_script("from py3r_script import Output, Param\n"
                          "x = Param(0.5, name='x')\nOutput(x, name='y')\n")
    sr = sweep_(script, sample={"x": (0.0, 1.0)}, n=3)
    assert sr.design is not None and sr.design.mode == "lhs"
    assert isinstance(sr.design.seed, int)
    assert f"design:  lhs, seed {sr.design.seed}" in repr(sr)
    again = sweep_(script, sample={"x": (0.0, 1.0)}, n=3, seed=sr.design.seed)
    assert [r.params["x"] for r in again.records] == [r.params["x"] for r in sr.records]
    linked = sweep_(script, {("x",): [(0.1,), (0.2,)]})
    assert linked.design.linked == ()  # a one-name tuple key is no linked group
