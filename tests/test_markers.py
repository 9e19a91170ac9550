"""``Param`` and ``Output``: transparent on their own, live under the runner."""

from __future__ import annotations

import subprocess
import sys

import pytest

from py3r_script import Output, Param, run


@pytest.mark.parametrize(
    "default",
    [5, 0, True, False, None, -2.5, 0.0, "text", ""],
    ids=repr,
)
def test_param_standalone_returns_default_unchanged(default):
    value = Param(default, name="knob")
    assert value is default
    assert type(value) is type(default)


def test_param_keyword_default_standalone():
    assert Param(default=-3, name="knob") == -3


def test_script_runs_standalone_with_python(write_script):
    script = write_script(
        """
        from py3r_script import Output, Param
        n = Param(3, name="n")
        flag = Param(False, name="flag")
        neg = Param(-0.25, name="neg")
        missing = Param(None, name="missing")
        label = Output(f"{n!r}|{type(n).__name__}|{flag!r}|{neg!r}|{missing!r}", name="label")
        print(label)
        """
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "3|int|False|-0.25|None"


def test_required_param_standalone_fails_with_clear_message(write_script):
    script = write_script(
        """
        from py3r_script import Param
        threshold = Param(name="threshold")
        print("unreachable")
        """
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 1
    assert "unreachable" not in proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError:")
    assert "'threshold'" in last
    assert "must be supplied by the runner" in last


def test_required_param_in_process_raises_runtime_error():
    with pytest.raises(RuntimeError, match=r"'needed'.*must be supplied by the runner"):
        Param(name="needed")


@pytest.mark.parametrize("default", [[1, 2], {"a": 1}, (1,), {1}, 1j, b"x", object()],
                         ids=lambda v: type(v).__name__)
def test_non_scalar_default_raises_type_error_naming_the_param(default):
    with pytest.raises(TypeError, match="'window'"):
        Param(default, name="window")


@pytest.mark.parametrize("name", ["", None, 3])
def test_param_and_output_need_a_non_empty_str_name(name):
    with pytest.raises(TypeError):
        Param(1, name=name)
    with pytest.raises(TypeError):
        Output(1, name=name)


def test_output_returns_the_very_object_standalone():
    data = {"rows": [1, 2, 3]}
    assert Output(data, name="summary") is data
    sentinel = object()
    assert Output(sentinel, name="anything") is sentinel


def test_param_returns_injected_value_under_runner(write_script):
    script = write_script(
        """
        from py3r_script import Output, Param
        window = Param(5, name="window")
        label = Param("default", name="label")
        Output((window, type(window).__name__), name="window_seen")
        Output(label, name="label_seen")
        """
    )
    sr = run(script, {"window": 9})
    out = sr[{"window": 9}]
    assert out["window_seen"] == (9, "int")
    assert out["label_seen"] == "default"  # not injected: the script default


def test_injected_bool_stays_bool_and_float_stays_float(write_script):
    script = write_script(
        """
        from py3r_script import Output, Param
        a = Param(None, name="a")  # untyped: each value arrives as given
        b = Param(None, name="b")
        c = Param(0, name="c")
        Output([type(v).__name__ for v in (a, b, c)], name="types")
        Output([a, b, c], name="values")
        """
    )
    out = run(script, {"a": True, "b": 1.0, "c": None})[{}]
    assert out["types"] == ["bool", "float", "NoneType"]
    assert out["values"] == [True, 1.0, None]


def test_output_returns_the_very_object_under_runner(write_script):
    script = write_script(
        """
        from py3r_script import Output
        data = {"rows": [1, 2, 3]}
        returned = Output(data, name="data")
        Output(returned is data, name="same_object")
        """
    )
    out = run(script)[{}]
    assert out["same_object"] is True
    assert out["data"] == {"rows": [1, 2, 3]}


def test_required_param_supplied_by_runner(write_script):
    script = write_script(
        """
        from py3r_script import Output, Param
        threshold = Param(name="threshold")
        Output(threshold * 2, name="double")
        """
    )
    assert run(script, {"threshold": 0.25})[{}]["double"] == 0.5
