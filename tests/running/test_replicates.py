"""Replicates: each parameter set run k times, each replicate with its own derived seed; the
records, the DataFrame, indexing and ``aggregate()`` know which replicate is which."""

from __future__ import annotations

import math

import pytest

from py3r_script import plan, run, sensitivity, sweep
from py3r_script.designs.replicates import replicate_seed_value
from py3r_script.designs.valuerules import MAX_PLAN_SIZE
from py3r_script.errors import DesignError, IterationNotFoundError, ReplicateAmbiguityError

NOISY = """
import random
from py3r_script import Output, Param
mean = Param(1.0, name="mean")
seed = Param(0, name="seed")
Output(mean + random.Random(seed).gauss(0.0, 1.0), name="y")
Output(seed, name="seed_seen")
"""

UNSEEDED = """
import os
from py3r_script import Output, Param
x = Param(1, name="x")
Output(x + int.from_bytes(os.urandom(2), "big") / 65536, name="y")
"""


def test_the_confidence_interval_of_each_point_covers_its_true_mean(write_script):
    script = write_script(NOISY)
    sr = sweep(script, {"mean": [0.0, 10.0]}, replicates=8, seed=3, max_workers=2,
               progress=False)
    assert len(sr.records) == 3 * 8  # the nominal 1.0 too
    table = sr.aggregate("y")
    assert list(table.columns) == ["mean", "replicates", "n_failed", "y_n", "y_mean", "y_std",
                                   "y_ci_low", "y_ci_high"]
    assert table["mean"].tolist() == [0.0, 10.0, 1.0]
    assert table["y_n"].tolist() == [8, 8, 8] and table["n_failed"].tolist() == [0, 0, 0]
    for row in table.itertuples():
        assert row.y_ci_low < row.mean < row.y_ci_high
        assert 0.2 < row.y_std < 2.5
        half = (row.y_ci_high - row.y_ci_low) / 2
        assert half == pytest.approx(2.365 * row.y_std / math.sqrt(8), rel=1e-3)  # t(0.975, 7)
    # the seeds differ between replicates, are the same at every point, and again on a rerun
    seeds = [r.outputs["seed_seen"] for r in sr.records]
    assert seeds[:8] == seeds[8:16] == seeds[16:]
    assert len(set(seeds[:8])) == 8 and all(0 <= s < 2**31 for s in seeds)
    assert seeds[:8] == [replicate_seed_value(3, r) for r in range(8)]
    again = sweep(script, {"mean": [0.0]}, replicates=8, seed=3, include_nominal=False,
                  progress=False)
    assert [r.outputs["y"] for r in again.records] == [r.outputs["y"] for r in sr.records[:8]]
    assert sr.summary("y").equals(table)  # the alias


def test_records_the_dataframe_and_the_plan_say_which_replicate(write_script):
    script = write_script(NOISY)
    sr = sensitivity(script, {"mean": [2.0]}, replicates=3, progress=False)
    assert [r.replicate for r in sr.records] == [0, 1, 2, 0, 1, 2]
    assert [r.params["seed"] for r in sr.records[:3]] == [
        replicate_seed_value(0, r) for r in range(3)]  # no seed given: 0
    frame = sr.to_dataframe()
    assert list(frame.columns) == ["mean", "replicate", "y", "seed_seen"]
    assert frame["replicate"].tolist() == [0, 1, 2, 0, 1, 2]
    assert "_replicate" not in frame.columns
    planned = plan(script, {"mean": [2.0]}, replicates=3)
    assert len(planned) == 6 and planned.replicates == 3
    assert list(planned.to_dataframe().columns) == ["mean", "replicate", "seed"]
    shown = repr(planned)
    assert "6 iterations (2 points x 3 replicates)" in shown and shown.count("{") == 3
    assert planned.design.replicates == 3 and planned.design.replicate_seed == "seed"
    preview = sensitivity(script, {"mean": [2.0]}, replicates=3, dry_run=True)
    assert "each point 3 times" in repr(preview) and "replicate 2" in repr(preview)


def test_one_replicate_changes_nothing(write_script):
    script = write_script(NOISY)
    sr = run(script, {"mean": 2.0})
    assert sr.records[0].params["seed"] == 0 and sr.records[0].replicate == 0
    assert list(sr.to_dataframe().columns) == ["mean", "y", "seed_seen"]
    assert list(sr) == [{"mean": 2.0}] and not sr.replicated
    assert plan(script, {"mean": [2.0]}).design.to_json() == {
        "mode": "grid", "linked": [], "seed": None}


def test_indexing_a_replicated_point_names_the_ways_to_get_one_or_all(write_script):
    script = write_script(NOISY)
    sr = run(script, {"mean": 2.0}, replicates=3)
    with pytest.raises(ReplicateAmbiguityError) as caught:
        sr[{"mean": 2.0}]
    message = str(caught.value)
    assert "ran 3 times" in message and "'replicate': 0" in message
    assert "sr.select(" in message and "sr.aggregate()" in message
    assert isinstance(caught.value, KeyError)
    assert sr[{"mean": 2.0, "replicate": 1}]["seed_seen"] == replicate_seed_value(0, 1)
    assert [r.replicate for r in sr.select({"mean": 2.0})] == [0, 1, 2]
    assert sr.select({"mean": 5.0}) == []
    assert list(sr) == [{"mean": 2.0, "replicate": r} for r in range(3)]
    assert {"mean": 2.0, "replicate": 2} in sr
    with pytest.raises(IterationNotFoundError, match="replicate"):
        sr[{"mean": 2.0, "replicate": 7}]
    with pytest.raises(ReplicateAmbiguityError, match=r"0, 1, \.\.\."):
        sr[{"mean": 2.0, "replicate": -1}]


def test_without_a_seed_parameter_replicates_run_with_the_scripts_own_randomness(
        write_script):
    script = write_script(UNSEEDED)
    sr = sweep(script, {"x": [1, 2]}, replicates=4, include_nominal=False, progress=False)
    assert [dict(r.params) for r in sr.records[:4]] == [{"x": 1}] * 4  # nothing injected
    assert sr.design.replicate_seed is None
    table = sr.aggregate()
    assert table["y_n"].tolist() == [4, 4]
    assert (table["y_std"] > 0).all()  # the replicates differ: the script's own randomness
    assert len(sr.to_dataframe()) == 8


def test_replicate_seed_names_a_declared_parameter_the_design_leaves_alone(write_script):
    script = write_script(NOISY)
    with pytest.raises(DesignError, match=r"declares no parameter 'sede'.*replicate_seed=False"):
        plan(script, {"mean": [1.0]}, replicates=2, replicate_seed="sede")
    with pytest.raises(DesignError, match="also gives it values"):
        plan(script, {"seed": [1, 2]}, replicates=2)
    with pytest.raises(DesignError, match="also gives it values"):
        plan(script, {"mean": [1.0]}, nominal={"seed": 4}, replicates=2)
    with pytest.raises(DesignError, match="also gives it values"):
        plan(script, sample={"seed": (0, 9)}, n=4, replicates=2)
    # False: the seed given, the same in every replicate
    planned = plan(script, {"seed": [1, 2]}, replicates=2, replicate_seed=False,
                   include_nominal=False)
    assert [p["seed"] for p in planned.points] == [1, 1, 2, 2]
    named = plan(script, {"seed": [7]}, replicates=2, replicate_seed="mean", seed=5,
                 include_nominal=False)
    assert [p["mean"] for p in named.points] == [float(replicate_seed_value(5, r))
                                                 for r in range(2)]  # a float Param: floats


@pytest.mark.parametrize("bad", [0, -1, "x", 1.5, True])
def test_replicates_is_a_whole_number_of_at_least_one(write_script, bad):
    script = write_script(NOISY)
    with pytest.raises(DesignError, match="replicates must be a whole number"):
        sweep(script, {"mean": [1.0]}, replicates=bad)
    with pytest.raises(DesignError, match="replicates must be a whole number"):
        run(script, replicates=bad)


def test_the_plan_size_limit_counts_replicates(write_script):
    script = write_script(NOISY)
    with pytest.raises(DesignError, match="replicates="):
        plan(script, {"mean": [1.0, 2.0]}, replicates=MAX_PLAN_SIZE)


def test_failed_replicates_are_left_out_of_n_and_counted(write_script):
    script = write_script("""
        from py3r_script import Output, Param
        x = Param(1, name="x")
        seed = Param(0, name="seed")
        if seed % 2:
            raise ValueError("odd seed")
        Output(x * 1.0, name="y")
        """)
    sr = run(script, replicates=6)
    failed = sum(not r.ok for r in sr.records)
    assert 0 < failed < 6
    table = sr.aggregate("y")
    assert table["n_failed"].tolist() == [failed] and table["y_n"].tolist() == [6 - failed]
    assert table["y_mean"].tolist() == [1.0]
    assert [params["replicate"] for params, _ in sr.errors] == [
        r.replicate for r in sr.records if not r.ok]
