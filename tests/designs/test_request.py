"""The design rules (``designs.request``): stated once, the same for the Python API, the command
line and sweep files, each front end wording a broken rule in its own terms.

Each rule is checked on ``design_request`` itself (its ``DesignError`` fields), then through
all three front ends: ``plan``/``sweep`` (keywords), ``py3r-script sweep SCRIPT`` (flags) and
a sweep file (keys with their line). Nothing runs: every case fails before the script starts.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from py3r_script import plan, sweep
from py3r_script.cli.main import main
from py3r_script.cli.sweepfile import read_sweep_file
from py3r_script.designs import request as rules
from py3r_script.designs.request import DesignRequest, design_request
from py3r_script.errors import DesignError, ParameterError, SweepFileError

SCRIPT = """
from py3r_script import Output, Param
x = Param(0.5, name="x")
k = Param(2, name="k")
Output(x * k, name="y")
"""


@pytest.fixture
def script(marked_script) -> Path:
    return marked_script(SCRIPT, "s.py")


@pytest.fixture
def command_line(capsys, marker):
    """``command_line(*args)``: the CLI in this process; its exit status and stderr."""

    def run(*args: object) -> tuple[int, str]:
        status = main([str(a) for a in args])
        captured = capsys.readouterr()
        assert captured.out == ""
        assert not marker.exists()
        return status, captured.err

    return run


def sweep_file(folder: Path, text: str) -> Path:
    path = folder / "sweep.toml"
    path.write_text('script = "s.py"\n' + text, encoding="utf-8")
    return path


def file_error(path: Path) -> SweepFileError:
    with pytest.raises(SweepFileError) as caught:
        read_sweep_file(path)
    return caught.value


# -- the rules, on design_request itself -------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "rule", "arguments", "design"), [
    ({}, rules.ONE_DESIGN, (), None),
    ({"params": {"x": [1]}, "points": [{"x": 2}]}, rules.ONE_DESIGN, ("params", "points"), None),
    ({"points": [{}], "sample": {}, "n": 2}, rules.ONE_DESIGN, ("points", "sample"), None),
    ({"params": {"x": [1]}, "n": 3}, rules.GOES_WITH, ("n",), "params"),
    ({"points": [{}], "include_nominal": False}, rules.GOES_WITH, ("include_nominal",),
     "points"),
    ({"sample": {}}, rules.NEEDS_N, ("sample", "n"), "sample"),
    ({"params": {"x": [1]}, "mode": "independent", "include_nominal": False}, rules.GRID_ONLY,
     ("include_nominal", "mode"), "params"),
    ({"params": {"x": [1]}, "mode": "sideways"}, rules.UNKNOWN_MODE, ("mode",), "params"),
    ({"sample": {}, "n": 2, "method": "halton"}, rules.UNKNOWN_METHOD, ("method",), "sample"),
])
def test_each_broken_rule_says_which_rule_and_which_arguments(kwargs, rule, arguments, design):
    with pytest.raises(DesignError) as caught:
        design_request(**kwargs)
    error = caught.value
    assert (error.rule, error.arguments, error.design) == (rule, arguments, design)
    assert isinstance(error, ParameterError) and isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.rule, copy.arguments, copy.design, str(copy)) == (
        rule, arguments, design, str(error))


def test_a_request_holds_one_design_and_its_defaults():
    request = design_request({"x": [1, 2]})
    assert request == DesignRequest("params", params={"x": [1, 2]})
    assert (request.mode, request.include_nominal, request.method) == ("grid", True, "lhs")
    sampled = design_request(sample={"x": (0.0, 1.0)}, n=4, seed=3, method="random")
    assert (sampled.kind, sampled.n, sampled.seed, sampled.method) == ("sample", 4, 3, "random")
    with pytest.raises(AttributeError):
        request.mode = "independent"  # type: ignore[misc]  # frozen


def test_given_names_the_arguments_the_user_set():
    """The API cannot tell ``mode="grid"`` from its default: unless ``given`` says so, a mode
    or a seed that a points design does not use is left alone; flags that did set them are
    refused."""
    assert design_request(points=[{}], mode="independent", seed=3).kind == "points"
    with pytest.raises(DesignError) as caught:
        design_request(points=[{}], mode="grid", given=["mode"])
    assert caught.value.arguments == ("mode",)
    with pytest.raises(DesignError) as caught:
        design_request({"x": [1]}, seed=3, method="random", given=["seed", "method"])
    assert caught.value.arguments == ("seed", "method")


# -- one rule, three front ends ----------------------------------------------------------------


def test_exactly_one_design_in_the_api_the_command_line_and_a_sweep_file(
        script, command_line, tmp_path):
    with pytest.raises(DesignError, match=r"give exactly one design: params \(value lists\), "
                                          r"points \(a list of dicts\) or sample \(ranges, "
                                          r"with n\); got params and points"):
        plan(script, {"x": [1]}, points=[{"x": 2}])
    (tmp_path / "p.csv").write_text("x\n2\n")
    status, err = command_line("sweep", script, "-s", "x=1", "--points", tmp_path / "p.csv")
    assert status == 2
    assert "give exactly one design: -s/--link, --points or --sample; got -s/--link and " \
           "--points" in err
    assert "params (value lists)" not in err
    error = file_error(sweep_file(tmp_path, "[params]\nx = [1]\n[[points]]\nx = 2\n"))
    assert str(error).endswith("give exactly one design: [params] (and/or [[linked]]), "
                               "[[points]] or [sample]; found params, points")


def test_a_sample_needs_n_in_each_front_end(script, command_line, tmp_path):
    with pytest.raises(DesignError, match=r"sample=\.\.\. needs n"):
        sweep(script, sample={"x": (0.0, 1.0)})
    status, err = command_line("sweep", script, "--sample", "x=0:1")
    assert status == 2 and "--sample needs -n N, the number of parameter sets to draw" in err
    error = file_error(sweep_file(tmp_path, "\n[sample]\nseed = 1\n[sample.ranges]\n"
                                            "x = [0.0, 1.0]\n"))
    assert str(error) == f"{tmp_path / 'sweep.toml'}, line 3: [sample] needs n, the number " \
                         "of draws"
    assert (error.key, error.line) == ("sample", 3)


def test_include_nominal_goes_with_value_lists_in_each_front_end(script, command_line,
                                                                   tmp_path):
    with pytest.raises(DesignError, match="include_nominal goes with params"):
        sweep(script, points=[{"x": 0.1}], include_nominal=False)
    (tmp_path / "p.csv").write_text("x\n2\n")
    status, err = command_line("sweep", script, "--points", tmp_path / "p.csv",
                               "--no-include-nominal")
    assert status == 2
    assert "--include-nominal decides whether a grid" in err
    assert "it does nothing for a --points design: leave it out" in err
    error = file_error(sweep_file(tmp_path, 'mode = "grid"\ninclude_nominal = false\n'
                                            "[[points]]\nx = 2\n"))
    assert str(error).startswith(f"{tmp_path / 'sweep.toml'}, line 3: include_nominal = false "
                                 'goes with a grid of [params] (mode = "grid")')
    assert (error.key, error.line) == ("include_nominal", 3)


def test_leaving_the_nominal_values_out_is_for_grids_in_each_front_end(script, command_line,
                                                                        tmp_path):
    with pytest.raises(DesignError, match="include_nominal=False is for grids"):
        plan(script, {"x": [0.1]}, mode="independent", include_nominal=False)
    status, err = command_line("sweep", script, "-s", "x=0.1", "--mode", "independent",
                               "--no-include-nominal")
    assert status == 2
    assert "leaving the nominal values out is for a grid (--mode grid)" in err
    assert "mode='grid'" not in err
    error = file_error(sweep_file(tmp_path, "include_nominal = false\n[params]\nx = [0.1]\n"))
    assert "line 2: include_nominal = false goes with a grid" in str(error)
    assert "an independent sweep needs its nominal baseline" in str(error)


def test_n_goes_with_a_sample_in_the_api_and_as_a_flag(script, command_line, tmp_path):
    with pytest.raises(DesignError, match="n is the number of samples: it goes with sample"):
        plan(script, {"x": [0.1]}, n=3)
    status, err = command_line("sweep", script, "-s", "x=0.1", "-n", "3")
    assert status == 2
    assert "-n go with --sample (or a sweep file's [sample]); they do nothing for a " \
           "-s/--link design" in err
    toml = sweep_file(tmp_path, "[params]\nx = [0.1]\n")
    status, err = command_line("sweep", toml, "-n", "3")  # a flag overriding a sweep file
    assert status == 2 and f"they do nothing for the [params] design of {toml}" in err


def test_mode_and_method_names_in_the_api_and_a_sweep_file(script, tmp_path):
    with pytest.raises(DesignError, match="unknown mode 'sideways'"):
        plan(script, {"x": [0.1]}, mode="sideways")
    error = file_error(sweep_file(tmp_path, 'mode = "sideways"\n[params]\nx = [0.1]\n'))
    assert "line 2: mode must be one of ('independent', 'grid'), got 'sideways'" in str(error)
    with pytest.raises(DesignError, match="unknown sampling method 'halton'"):
        plan(script, sample={"x": (0.0, 1.0)}, n=2, method="halton")
    error = file_error(sweep_file(tmp_path, '[sample]\nn = 2\nmethod = "halton"\n'
                                            "[sample.ranges]\nx = [0.0, 1.0]\n"))
    assert str(error) == f"{tmp_path / 'sweep.toml'}, line 4: sample.method must be one of " \
                         "('lhs', 'random', 'morris', 'sobol'), got 'halton'"
