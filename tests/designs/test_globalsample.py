"""Morris and Sobol' designs (``designs.globalsample``, ``designs.methodoptions``): their size,
typing, options and reproducibility, through ``plan``/``sweep``, the command line and sweep
files, and the clear error when SALib is not installed.

Nothing here analyses results (``tests/analysis/test_globalsa.py`` does); most cases plan
without running anything.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from py3r_script import plan, sweep
from py3r_script.cli.main import main
from py3r_script.designs.design import Design
from py3r_script.designs.globalsample import design_rows_of
from py3r_script.designs.methodoptions import BAD_OPTION, UNKNOWN_OPTION
from py3r_script.designs.request import GOES_WITH, design_request
from py3r_script.errors import DesignError, MissingDependencyError, ParameterError, SweepFileError

pytest.importorskip("SALib")

SCRIPT = """
import sys
from py3r_script import Output, Param
x = Param(0.5, name="x")
k = Param(2, name="k")
rate = Param(0.01, name="rate")
mode = Param("a", name="mode")
Output(x * k, name="y")
Output(sorted(m for m in ("SALib", "numpy", "pandas") if m in sys.modules), name="heavy")
"""
RANGES = {"x": (0.0, 1.0), "k": (1, 9), "rate": (0.001, 0.1, "log")}


@pytest.fixture
def script(marked_script) -> Path:
    return marked_script(SCRIPT, "s.py")


def quiet_plan(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a power-of-two n plans without a warning
        return plan(*args, **kwargs)


@pytest.mark.parametrize("method, options, rows", [
    ("sobol", {}, 16 * (3 + 2)),
    ("sobol", {"second_order": True}, 16 * (2 * 3 + 2)),
    ("morris", {}, 10 * (3 + 1)),
    ("morris", {"levels": 6, "optimal_trajectories": 4}, 4 * (3 + 1)),
])
def test_the_design_needs_the_iterations_its_formula_says_before_anything_runs(
        script, marker, method, options, rows):
    n = 16 if method == "sobol" else 10
    planned = quiet_plan(script, sample=RANGES, n=n, method=method, seed=3,
                         method_options=options or None)
    assert planned.design_rows == rows
    assert len(planned) <= rows  # a row repeating another parameter set runs once
    preview = sweep(script, sample=RANGES, n=n, method=method, seed=3, dry_run=True,
                    method_options=options or None)
    formula = "N·(2D+2)" if options.get("second_order") else (
        "N·(D+2)" if method == "sobol" else "r·(D+1)")
    assert f"{formula} = " in repr(preview) and f"= {rows} runs" in repr(preview)
    assert preview.n_run == len(planned)
    assert not marker.exists()


def test_a_sobol_n_that_is_not_a_power_of_two_warns_with_the_two_nearest(script):
    with pytest.warns(UserWarning, match=r"n=12 is not a power of two.*use n=8 or n=16"):
        plan(script, sample=RANGES, n=12, method="sobol", seed=0)


def test_ranges_keep_the_typing_rules_of_samples(script):
    frame = quiet_plan(script, sample={**RANGES, "mode": ["a", "b"]}, n=8, method="sobol",
                       seed=1).to_dataframe()
    assert all(type(v) is int and 1 <= v <= 9 for v in frame["k"])
    assert all(type(v) is float and 0.0 <= v < 1.0 for v in frame["x"])
    rates = frame["rate"]
    assert all(0.001 <= v <= 0.1 for v in rates) and (rates < 0.01).mean() > 0.3  # log scale
    assert set(frame["mode"]) == {"a", "b"}  # a discrete uniform input, which Sobol' allows


def test_morris_puts_each_parameter_on_its_levels_and_maps_choices_onto_them(script):
    frame = quiet_plan(script, sample={"x": (0.0, 1.0), "mode": ["a", "b", "c", "d"]}, n=6,
                       method="morris", seed=2).to_dataframe()
    assert sorted(set(frame["x"])) == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])
    assert set(frame["mode"]) <= {"a", "b", "c", "d"} and len(set(frame["mode"])) >= 3
    with pytest.raises(ParameterError, match=r"5 choices.*levels=4.*levels of at least 6"):
        plan(script, sample={"mode": ["a", "b", "c", "d", "e"]}, n=4, method="morris")


def test_the_same_seed_draws_the_same_design_and_a_larger_n_extends_it(script):
    small = quiet_plan(script, sample=RANGES, n=8, method="sobol", seed=5)
    again = quiet_plan(script, sample=RANGES, n=8, method="sobol", seed=5)
    larger = quiet_plan(script, sample=RANGES, n=16, method="sobol", seed=5)
    assert small.points == again.points
    assert set(small.points) <= set(larger.points)
    second = quiet_plan(script, sample=RANGES, n=8, method="sobol", seed=5,
                        method_options={"second_order": True})
    assert set(small.points) <= set(second.points)  # S2 only adds the B·A rows
    morris = quiet_plan(script, sample=RANGES, n=4, method="morris", seed=5)
    assert set(morris.points) <= set(quiet_plan(script, sample=RANGES, n=8, method="morris",
                                                seed=5).points)
    drawn = quiet_plan(script, sample=RANGES, n=8, method="sobol")
    assert isinstance(drawn.seed, int) and drawn.design.seed == drawn.seed


def test_the_stored_design_round_trips_and_older_designs_still_load(script):
    design = quiet_plan(script, sample={**RANGES, "mode": ["a", "b"]}, n=8, method="morris",
                        seed=4, method_options={"levels": 6}).design
    data = json.loads(json.dumps(design.to_json()))
    assert Design.from_json(data) == design
    assert data["options"] == {"levels": 6, "optimal_trajectories": None}
    assert data["ranges"][1] == {"name": "k", "low": 1, "high": 9, "integer": True,
                                 "log": False, "choices": []}
    assert [type(data["ranges"][1][b]) for b in ("low", "high")] == [int, int]  # typed
    assert type(data["ranges"][0]["low"]) is float
    floats = {**data, "ranges": [{**r, "low": float(r["low"]), "high": float(r["high"])}
                                 if r["integer"] else r for r in data["ranges"]]}
    assert design_rows_of(Design.from_json(floats)) == design_rows_of(design)  # stored before
    old = {"mode": "lhs", "linked": [], "seed": 3}  # as schema 2 stored it before
    assert Design.from_json(old) == Design("lhs", seed=3)
    assert Design("lhs", seed=3).to_json() == old


@pytest.mark.parametrize("method, options, rule, argument", [
    ("lhs", {"levels": 4}, UNKNOWN_OPTION, "levels"),
    ("sobol", {"levels": 4}, UNKNOWN_OPTION, "levels"),
    ("morris", {"second_order": True}, UNKNOWN_OPTION, "second_order"),
    ("morris", {"levels": 5}, BAD_OPTION, "levels"),
    ("morris", {"levels": True}, BAD_OPTION, "levels"),
    ("morris", {"optimal_trajectories": 8}, BAD_OPTION, "optimal_trajectories"),
    ("sobol", {"second_order": 1}, BAD_OPTION, "second_order"),
    ("sobol", ["second_order"], BAD_OPTION, "method_options"),
])
def test_method_options_are_checked_once_in_the_design_request(method, options, rule,
                                                                 argument):
    with pytest.raises(DesignError) as caught:
        design_request(sample={"x": (0.0, 1.0)}, n=8, method=method, method_options=options)
    assert (caught.value.rule, caught.value.arguments) == (rule, (argument,))
    request = design_request(sample={"x": (0.0, 1.0)}, n=8, method="morris")
    assert request.method_options == {"levels": 4, "optimal_trajectories": None}
    with pytest.raises(DesignError) as caught:
        design_request({"x": [1.0]}, method_options={"levels": 4})
    assert caught.value.rule == GOES_WITH and caught.value.arguments == ("method_options",)


def test_the_command_line_takes_the_method_and_its_options(script, capsys, marker):
    args = ["sweep", str(script), "--sample", "x=0:1", "--sample", "k=1:9", "-n", "8",
            "--seed", "1", "--dry-run"]
    assert main([*args, "--method", "sobol", "--second-order"]) == 0
    assert "N·(2D+2) = 8·(2·2+2) = 48 runs" in capsys.readouterr().err
    assert main([*args, "--method", "morris", "--levels", "6",
                 "--optimal-trajectories", "3"]) == 0
    assert "r·(D+1) = 3·(2+1) = 9 runs" in capsys.readouterr().err
    for extra, message in [
        (["--method", "sobol", "--levels", "4"], "--levels goes with --method morris"),
        (["--method", "morris", "--levels", "3"], "--levels must be the number of grid"),
        (["--method", "morris", "--optimal-trajectories", "8"], "(fewer than the n traj"),
    ]:
        assert main([*args, *extra]) == 2
        assert message in capsys.readouterr().err
    assert main(["sweep", str(script), "-s", "x=0.1,0.2", "--second-order", "--dry-run"]) == 2
    assert "go with --sample" in capsys.readouterr().err
    assert not marker.exists()


def test_a_sweep_file_gives_options_as_keys_and_names_their_line(script, capsys, marker):
    path = script.parent / "gsa.toml"
    text = ('script = "s.py"\n\n[sample]\nmethod = "morris"\nn = 6\nseed = 2\nlevels = 6\n\n'
            '[sample.ranges]\nx = [0.0, 1.0]\nk = [1, 9]\n')
    path.write_text(text, encoding="utf-8")
    assert main(["sweep", str(path), "--dry-run"]) == 0
    assert "r·(D+1) = 6·(2+1) = 18 runs" in capsys.readouterr().err
    assert main(["sweep", str(path), "--dry-run", "--optimal-trajectories", "3"]) == 0
    assert "= 3·(2+1) = 9 runs" in capsys.readouterr().err  # a flag adds to the file's
    for line, problem in [
        ("levels = 7", "line 7: sample.levels must be the number of grid levels"),
        ("second_order = true", "line 7: sample.second_order goes with method = 'sobol'"),
        ("levels = true", "line 7: sample.levels has the wrong type"),
    ]:
        path.write_text(text.replace("levels = 6", line), encoding="utf-8")
        assert main(["sweep", str(path), "--dry-run"]) == 2
        assert problem in capsys.readouterr().err
    path.write_text(text.replace('"morris"', '"sobol"').replace("levels = 6",
                                                               "second_order = true"))
    assert main(["sweep", str(path), "--dry-run", "-n", "8"]) == 0
    assert "N·(2D+2) = 8·(2·2+2)" in capsys.readouterr().err
    assert not marker.exists()
    with pytest.raises(SweepFileError, match="line 7"):
        from py3r_script.cli.sweepfile import read_sweep_file

        path.write_text(text.replace("levels = 6", "levels = 0"), encoding="utf-8")
        read_sweep_file(path)


def test_children_never_import_salib_or_numpy(script):
    results = sweep(script, sample={"x": (0.0, 1.0), "k": (1, 9)}, n=2, method="sobol",
                    seed=0, outputs=["heavy"])
    assert len(results) >= 6 and all(out["heavy"] == [] for _, out in results.items())


BLOCKED = "import sys; sys.modules['SALib'] = None  # importing SALib now fails\n"


@pytest.mark.parametrize("how", ["api", "cli"])
def test_without_salib_a_clear_error_names_the_extra_before_anything_runs(script, marker,
                                                                          how, tmp_path):
    store = tmp_path / "study.db"
    if how == "api":
        code = BLOCKED + (f"from py3r_script import sweep\nsweep({str(script)!r}, "
                          f"sample={{'x': (0.0, 1.0)}}, n=4, method='morris', "
                          f"store={str(store)!r})\n")
    else:
        code = BLOCKED + ("from py3r_script.cli.main import main\nsys.exit(main(['sweep', "
                          f"{str(script)!r}, '--sample', 'x=0:1', '-n', '4', '--method', "
                          f"'sobol', '--store', {str(store)!r}]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == (1 if how == "api" else 2)
    assert 'need SALib: pip install "py3r-script[gsa]"' in done.stderr
    if how == "api":
        assert "MissingDependencyError" in done.stderr
    assert not marker.exists() and not store.exists()
    assert issubclass(MissingDependencyError, ImportError)


def test_a_plan_keeps_math_of_log_ranges_exact_at_the_bounds(script):
    frame = quiet_plan(script, sample={"rate": (0.001, 0.1, "log")}, n=4, method="morris",
                       seed=0).to_dataframe()
    logs = sorted({round(math.log10(v), 9) for v in frame["rate"]})
    assert logs == pytest.approx([-3.0, -3 + 2 / 3, -3 + 4 / 3, -1.0])
