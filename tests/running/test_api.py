"""``run`` and ``sensitivity`` end to end: planning, one subprocess per iteration, results."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest

from py3r_script import ScriptResults, run, sensitivity, sweep
from py3r_script.errors import ParameterError, ParameterTypeError

AB_SCRIPT = """
from py3r_script import Output, Param
a = Param(2, name="a")
b = Param(5, name="b")
threshold = Param(0.5, name="threshold")
Output((a, b), name="seen")
Output(type(a).__name__, name="a_type")
Output(a * b, name="product")
"""

REQUIRED_SCRIPT = """
from py3r_script import Output, Param
a = Param(2, name="a")
threshold = Param(name="threshold")
Output((a, threshold), name="seen")
Output(type(threshold).__name__, name="threshold_type")
"""


def test_marker_control_a_started_script_creates_the_marker(marked_script, marker):
    # the control for every "nothing started" test below
    run(marked_script(AB_SCRIPT))
    assert marker.exists()


# -- run ---------------------------------------------------------------------------------------


def test_run_uses_script_defaults_for_unspecified_params(write_script):
    sr = run(write_script(AB_SCRIPT), {"b": 7})
    assert isinstance(sr, ScriptResults)
    assert len(sr) == 1
    assert sr[{"b": 7}]["seen"] == (2, 7)
    assert sr.param_names == ["b"]
    assert sr.records[0].params_seen == {"a": 2, "b": 7, "threshold": 0.5}


def test_run_without_params(write_script):
    sr = run(write_script(AB_SCRIPT))
    assert sr[{}]["seen"] == (2, 5)
    assert sr.records[0].ok


def test_run_required_param_missing_raises_before_start(marked_script, marker):
    script = marked_script(REQUIRED_SCRIPT)
    with pytest.raises(ValueError, match="'threshold'"):
        run(script, {"a": 1})
    assert not marker.exists()


def test_run_required_param_given(write_script):
    sr = run(write_script(REQUIRED_SCRIPT), {"threshold": 0.9})
    assert sr[{}]["seen"] == (2, 0.9)


def test_run_unknown_param_raises_before_start(marked_script, marker):
    script = marked_script(AB_SCRIPT)
    with pytest.raises(ValueError, match="Did you mean 'threshold'"):
        run(script, {"treshold": 0.1})
    assert not marker.exists()


def test_run_in_weird_directory(write_weird_script, weird_dir):
    script = write_weird_script(AB_SCRIPT, "my script's.py")
    sr = run(str(script), {"a": 3})
    assert sr[{"a": 3}]["product"] == 15
    assert sr.records[0].script == str(script)


def test_run_missing_script_raises(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        run(tmp_path / "missing.py")


# -- sensitivity: which iterations run --------------------------------------------------------


def test_independent_sweep_runs_baseline_plus_one_at_a_time(write_script):
    sr = sensitivity(write_script(AB_SCRIPT), {"a": [1, 2, 3], "b": [10, 20]})
    expected = [(2, 5), (1, 5), (3, 5), (2, 10), (2, 20)]
    assert len(sr.records) == 5 == len(sr)
    assert [(r.params["a"], r.params["b"]) for r in sr.records] == expected
    # what each child actually saw
    assert [r.outputs["seen"] for r in sr.records] == expected
    assert sorted((p["a"], p["b"]) for p in sr) == sorted(expected)
    assert sr.param_names == ["a", "b"]


def test_grid_sweep_runs_every_combination(write_script):
    sr = sensitivity(write_script(AB_SCRIPT), {"a": [1, 3], "b": [10]}, mode="grid")
    seen = [r.outputs["seen"] for r in sr.records]
    assert len(seen) == 6
    assert set(seen) == {(a, b) for a in (1, 3, 2) for b in (10, 5)}


def test_nominal_overrides_default_and_holds_required_constant(write_script):
    sr = sensitivity(write_script(REQUIRED_SCRIPT), {"a": [1]}, nominal={"threshold": 0.7})
    assert sr.param_names == ["a", "threshold"]
    assert [r.outputs["seen"] for r in sr.records] == [(2, 0.7), (1, 0.7)]
    assert sr[{"a": 1}]["seen"] == (1, 0.7)


def test_type_aware_dedup_end_to_end(write_script):
    script = write_script(
        """
        from py3r_script import Output, Param
        flag = Param(None, name="flag")  # no type to take values to
        Output(type(flag).__name__, name="type_seen")
        """
    )
    sr = sweep(script, {"flag": [1, 1.0, True]}, include_nominal=False)
    assert len(sr) == 3
    assert [r.outputs["type_seen"] for r in sr.records] == ["int", "float", "bool"]
    assert sr[{"flag": True}]["type_seen"] == "bool"
    assert sr[{"flag": 1.0}]["type_seen"] == "float"
    assert sr[{"flag": 1}]["type_seen"] == "int"


def test_numpy_scalars_are_accepted_and_arrive_as_plain_python(write_script):
    script = write_script(AB_SCRIPT)
    sr = sensitivity(script, {"a": [np.int64(4)], "threshold": [np.float64(0.25)]},
                     nominal={"b": np.int64(3)}, mode="grid")
    record = sr.record({"a": 4, "threshold": 0.25})
    assert record.outputs["a_type"] == "int"
    assert record.outputs["seen"] == (4, 3)
    sr = run(script, {"threshold": np.float32(1.5)})
    assert type(sr.records[0].params["threshold"]) is float
    assert sr.records[0].params["threshold"] == 1.5


TYPED_SCRIPT = """
from py3r_script import Output, Param
threshold = Param(2.0, name="threshold")
window = Param(3, name="window")
flag = Param(False, name="flag")
label = Param("a", name="label")
anything = Param(None, name="anything")
Output(repr((threshold, window, flag, label, anything)), name="seen")
"""


def test_values_are_typed_by_the_scripts_defaults_as_on_the_command_line(write_script):
    script = write_script(TYPED_SCRIPT)
    sr = sensitivity(script, {"threshold": [1, 4], "anything": [1, 1.0]})
    assert [r.outputs["seen"] for r in sr.records] == [
        "(2.0, 3, False, 'a', None)", "(1.0, 3, False, 'a', None)",
        "(4.0, 3, False, 'a', None)", "(2.0, 3, False, 'a', 1)", "(2.0, 3, False, 'a', 1.0)"]
    assert sr[{"threshold": 4.0}] == sr[{"threshold": 4}]
    assert run(script, {"window": None})[{}]["seen"] == "(2.0, None, False, 'a', None)"


@pytest.mark.parametrize(("params", "message"), [
    ({"threshold": ["high"]}, "parameter 'threshold' expects float (the type of its default), "
                              "got str 'high'"),
    ({"window": [True]}, "parameter 'window' expects int (the type of its default), got bool "
                         "True; use e.g. 3 (True is a bool, not a number)"),
    ({"window": [2.5]}, "parameter 'window' expects int (the type of its default), got float "
                        "2.5"),
    ({"flag": [1]}, "parameter 'flag' expects bool (the type of its default), got int 1; use "
                    "True or False (1 is a number, not a bool)"),
    ({"label": [3]}, "parameter 'label' expects str (the type of its default), got int 3"),
])
def test_a_value_whose_type_cannot_fit_is_refused_before_anything_runs(marked_script, marker,
                                                                       params, message):
    script = marked_script(TYPED_SCRIPT)
    with pytest.raises(ParameterTypeError) as caught:
        sensitivity(script, params)
    assert message in str(caught.value)
    single = {name: values[0] for name, values in params.items()}
    with pytest.raises(ParameterTypeError, match="expects"):
        run(script, single)
    with pytest.raises(ParameterTypeError, match="expects"):
        sensitivity(script, {"anything": [1]}, nominal=single)
    assert not marker.exists()


# -- sensitivity: bad inputs, rejected before anything starts -------------------------------


@pytest.mark.parametrize(
    "kwargs, exc, pattern",
    [
        (dict(params={"threshold": [1.0]}), ValueError, "nominal"),  # required, no nominal
        (dict(params={"a": [1]}), ValueError, "'threshold'"),  # required not swept
        (dict(params={"treshold": [1.0]}, nominal={"threshold": 1.0}), ValueError,
         "Did you mean 'threshold'"),
        (dict(params={"a": [1]}, nominal={"threshold": 1.0}, mode="full"), ValueError, "mode"),
        (dict(params={"a": []}, nominal={"threshold": 1.0}), ValueError, "empty"),
        (dict(params={"a": 1}, nominal={"threshold": 1.0}), TypeError, "list"),
        (dict(params={"a": "12"}, nominal={"threshold": 1.0}), TypeError, "list"),
        (dict(params={"a": {1, 2}}, nominal={"threshold": 1.0}), TypeError, "list"),
        (dict(params={"a": [[1, 2]]}, nominal={"threshold": 1.0}), TypeError, "scalar"),
        (dict(params={"a": [{"k": 1}]}, nominal={"threshold": 1.0}), TypeError, "scalar"),
        (dict(params={"a": [1]}, nominal={"threshold": [1.0]}), TypeError, "scalar"),
        (dict(params={"a": [1]}, nominal={"threshold": 1.0}, outputs=["sene"]), ValueError,
         "Did you mean 'seen'"),
        (dict(params={"a": [1]}, nominal={"threshold": 1.0}, outputs=[]), ValueError, "empty"),
        (dict(params={"a": [1]}, nominal={"threshold": 1.0}, outputs="seen"), TypeError,
         "list"),
        (dict(params={"a": [1]}, nominal={"threshold": 1.0}, timeout=-1), ValueError,
         "timeout"),
        (dict(params={"a": (v for v in [1])}, nominal={"threshold": 1.0}), TypeError,
         r"pass list\(\.\.\.\)"),
        (dict(params={"a": {1: 2}}, nominal={"threshold": 1.0}), TypeError, "tuple key"),
        (dict(params={"a": {1, 2}}, nominal={"threshold": 1.0}), TypeError, "sorted"),
    ],
    ids=[
        "required-swept-no-nominal", "required-not-given", "unknown-name", "unknown-mode",
        "empty-list", "bare-int", "str", "set", "nested-list", "dict-value",
        "non-scalar-nominal", "unknown-output", "empty-outputs", "outputs-str",
        "bad-timeout", "generator-hint", "dict-hint", "set-hint",
    ],
)
def test_bad_sweep_inputs_rejected_before_any_subprocess(marked_script, marker, kwargs, exc,
                                                         pattern):
    script = marked_script(REQUIRED_SCRIPT)
    with pytest.raises(exc, match=pattern):
        sensitivity(script, **kwargs)
    assert not marker.exists()


def test_bad_inputs_are_package_exceptions(write_script):
    script = write_script(AB_SCRIPT)
    with pytest.raises(ParameterError):
        sensitivity(script, {"zzz": [1]})
    with pytest.raises(ParameterTypeError):
        sensitivity(script, {"a": 1})


def test_unknown_output_message_lists_declared_outputs(marked_script, marker):
    script = marked_script(AB_SCRIPT)
    with pytest.raises(ValueError) as excinfo:
        run(script, outputs=["prodcut"])
    message = str(excinfo.value)
    assert "'prodcut'" in message
    assert "Did you mean 'product'" in message
    assert "seen, a_type, product" in message
    assert not marker.exists()


def test_unknown_param_message_lists_declared_names(marked_script, marker):
    script = marked_script(AB_SCRIPT)
    with pytest.raises(ValueError) as excinfo:
        sensitivity(script, {"treshold": [0.1]})
    message = str(excinfo.value)
    assert "Did you mean 'threshold'" in message
    assert "a, b, threshold" in message
    assert not marker.exists()


def test_outputs_selects_what_is_captured(write_script):
    sr = sensitivity(write_script(AB_SCRIPT), {"a": [1]}, outputs=["product", "seen"])
    assert sr.output_names == ["product", "seen"]
    assert all(set(r.outputs) == {"product", "seen"} for r in sr.records)
    frame = sr.to_dataframe(outputs=["product"])
    assert list(frame.columns) == ["a", "product"]
    assert sorted(frame["product"]) == [5, 10]


def test_concurrent_sweep_keeps_plan_order(write_script):
    script = write_script(
        """
        import os
        import time
        from py3r_script import Output, Param
        i = Param(0, name="i")
        time.sleep(0.3)
        Output(os.getpid(), name="pid")
        Output(i * 2, name="double")
        if i == 2:
            raise ValueError("two")
        """
    )
    sr = sensitivity(script, {"i": [1, 2, 3]}, max_workers=2)
    assert [r.params["i"] for r in sr.records] == [0, 1, 2, 3]
    assert [r.status for r in sr.records] == ["ok", "ok", "error", "ok"]
    assert [sr[{"i": i}]["double"] for i in (0, 1, 3)] == [0, 2, 6]
    assert len({sr[{"i": i}]["pid"] for i in (0, 1, 3)}) == 3
    spans = sorted((r.started, r.finished) for r in sr.records)
    assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:]))


def test_dry_run_starts_nothing(marked_script, marker):
    preview = sensitivity(marked_script(AB_SCRIPT), {"a": [1, 3]}, dry_run=True)
    assert len(preview) == 3
    assert not marker.exists()


ENV_ARGV_SCRIPT = """
import os
import sys
from py3r_script import Output, Param
x = Param(1, name="x")
Output(os.environ.get("SWEEP_FLAVOUR"), name="flavour")
Output(sys.argv, name="argv")
Output(list(sys.version_info[:2]), name="python")
Output("PY3R_SCRIPT_PAYLOAD" in os.environ, name="payload_visible")
"""


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_env_and_argv_reach_the_script(write_script, warm):
    script = write_script(ENV_ARGV_SCRIPT)
    sr = sensitivity(script, {"x": [1, 2]}, env={"SWEEP_FLAVOUR": "mint"},
                     argv=["--input", "a b.csv"], warm=warm, progress=False)
    for record in sr.records:
        assert record.ok, record.error
        assert record.outputs["flavour"] == "mint"
        assert record.outputs["argv"] == [str(script), "--input", "a b.csv"]
        assert record.outputs["payload_visible"] is False
    assert "SWEEP_FLAVOUR" not in os.environ  # the driver's environment is untouched


def _another_python() -> str | None:
    """A working interpreter of another Python version than this one, if the machine has one."""
    import glob
    import sys

    candidates = [shutil.which(f"python3.{minor}") for minor in range(9, 15)]
    candidates += glob.glob(os.path.join(os.path.dirname(sys.base_prefix), "3.*", "bin", "python3"))
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print(*sys.version_info[:2])"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            continue
        version = tuple(int(part) for part in probe.stdout.split())
        if version != sys.version_info[:2] and version >= (3, 9):
            return candidate
    return None


def test_another_interpreter_runs_the_script(write_script):
    other = _another_python()
    if other is None:
        pytest.skip("no second Python interpreter (3.9 or later) on this machine")
    script = write_script(ENV_ARGV_SCRIPT)
    record = run(script, python=other).records[0]
    assert record.ok, record.error
    expected = subprocess.run([other, "-c", "import sys; print(*sys.version_info[:2])"],
                              capture_output=True, text=True, check=True).stdout.split()
    assert record.outputs["python"] == [int(v) for v in expected]
    assert record.python.startswith(".".join(expected) + ".")  # the child's, not ours


@pytest.mark.parametrize(("options", "message"), [
    ({"env": {"A": 1}}, "env must be a dict of str to str"),
    ({"env": "A=1"}, "env must be a dict of str to str"),
    ({"argv": "--input a.csv"}, "argv must be a list of str"),
    ({"python": "/no/such/python"}, "not an executable Python interpreter"),
])
def test_bad_env_argv_python_fail_before_anything_runs(marked_script, marker, options, message):
    script = marked_script("from py3r_script import Param\nx = Param(1, name='x')\n")
    with pytest.raises((ValueError, TypeError), match=message):
        sensitivity(script, {"x": [1, 2]}, **options)
    assert not marker.exists()


def test_run_with_a_list_of_values_points_at_sensitivity(marked_script, marker):
    script = marked_script(AB_SCRIPT)
    with pytest.raises(TypeError, match=r"one value.*sensitivity\(script, \{'a': \[3, 5\]\}\)"):
        run(script, {"a": [3, 5]})
    assert not marker.exists()


def test_a_script_that_is_not_a_path_is_a_clear_type_error():
    with pytest.raises(TypeError, match="must be a path"):
        run(123)


def test_an_output_named_like_a_swept_parameter_runs_and_keeps_both(write_script):
    script = write_script(AB_SCRIPT + 'Output(a * 100, name="a")\n')
    sr = sensitivity(script, {"a": [1, 3]}, outputs=["product", "a"])
    assert [(r.params["a"], r.outputs["a"]) for r in sr.records] == [(2, 200), (1, 100),
                                                                      (3, 300)]
    table = sr.to_dataframe()
    assert list(table.columns) == ["a", "product", "a:1"]
    assert table["a:1"].tolist() == [200, 100, 300]
    assert sr[{"a": 3}]["a"] == 300


DYNAMIC_SCRIPT = """
from py3r_script import Output, Param
window = Param(5, name="window")
extra = [Param(0, name=f"x{i}") for i in range(2)]
Output(window + sum(extra), name="y")
"""


def test_misspelt_name_with_dynamic_names_warns_before_and_after(write_script):
    # names computed at run time switch the planner's check to a warning; the end of the
    # sweep then says the misspelt name was never read
    script = write_script(DYNAMIC_SCRIPT)
    with pytest.warns(UserWarning) as caught:
        sr = sensitivity(script, {"windw": [1, 2]}, mode="grid")
    messages = [str(w.message) for w in caught]
    assert any("Did you mean 'window'" in m for m in messages)
    assert any("never read parameter(s) 'windw'" in m for m in messages)
    assert all(w.filename == __file__ for w in caught)  # attributed to the caller's line
    assert sr.to_dataframe()["y"].tolist() == [5, 5]


def test_a_dynamic_name_that_the_script_reads_gives_no_warning(write_script, recwarn):
    script = write_script(DYNAMIC_SCRIPT)
    sr = sensitivity(script, {"x1": [1, 2]}, mode="grid")
    assert sr.to_dataframe()["y"].tolist() == [6, 7]
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_run_accepts_an_executor(write_script):
    from concurrent.futures import ThreadPoolExecutor

    script = write_script(AB_SCRIPT)
    with ThreadPoolExecutor(1) as pool:
        sr = run(script, {"a": 4}, executor=pool)
    assert sr[{"a": 4}]["product"] == 20
    assert run(script, {"a": 4}, max_workers=2)[{"a": 4}]["product"] == 20


def test_parameters_left_at_their_default_are_not_injected(write_script):
    # a name declared twice with different defaults: each call keeps its own default, as in
    # `python script.py`, while the record still lists the (first) default it was planned at
    script = write_script(
        """
        from py3r_script import Output, Param
        def first():
            return Param(10, name="k")
        def second():
            return Param(20, name="k")
        x = Param(1, name="x")
        Output((first(), second()), name="ks")
        """
    )
    sr = sensitivity(script, {"x": [2]})
    assert sr[{"x": 2}]["ks"] == (10, 20)
    assert sr.record({"x": 2}).params["k"] == 10
    assert sensitivity(script, {"k": [5]})[{"k": 5}]["ks"] == (5, 5)  # swept: injected


def test_include_nominal_goes_with_value_lists_only(marked_script, marker):
    script = marked_script(AB_SCRIPT)
    with pytest.raises(ParameterError, match="include_nominal goes with params"):
        sweep(script, points=[{"a": 1}], include_nominal=False)
    with pytest.raises(ParameterError, match="include_nominal goes with params"):
        sweep(script, sample={"a": (1, 4)}, n=2, include_nominal=False)
    assert not marker.exists()
