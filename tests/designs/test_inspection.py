"""Static inspection: ``inspect`` prints, ``inspect_script`` returns data, nothing runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import py3r_script
from py3r_script import inspect, inspect_script
from py3r_script.errors import ScriptError

PIPELINE = """
from py3r_script import Output, Param

data_path = Param("/my/data", name="data_path")
smooth_window = Param(5, name="smooth_window")
threshold = Param(name="threshold")

tracking = Output([data_path, smooth_window, threshold], name="tracking")
Output({"n": 1}, name="summary")
"""

EXPECTED_BODY = """
Parameters:
  data_path            default='/my/data'  type=str
  smooth_window        default=5           type=int
  threshold            required

Outputs:
  tracking
  summary
"""


def test_inspect_prints_exact_layout_with_path_as_given(write_script, tmp_path, monkeypatch,
                                                       capsys):
    write_script(PIPELINE, "pipeline.py")
    monkeypatch.chdir(tmp_path)
    inspect("pipeline.py")
    assert capsys.readouterr().out == "Script: pipeline.py\n" + EXPECTED_BODY


def test_inspect_in_weird_directory_shows_path_as_given(write_weird_script, capsys):
    script = write_weird_script(PIPELINE, "pipe line.py")
    inspect(script)
    assert capsys.readouterr().out == f"Script: {script}\n" + EXPECTED_BODY


def test_inspect_script_returns_data(write_script):
    info = inspect_script(write_script(PIPELINE))
    assert info.param_names == ["data_path", "smooth_window", "threshold"]
    assert info.output_names == ["tracking", "summary"]
    by_name = {p.name: p for p in info.params}
    assert by_name["data_path"].default == "/my/data"
    assert by_name["data_path"].type_name == "str"
    assert by_name["data_path"].required is False
    assert by_name["smooth_window"].default == 5
    assert by_name["smooth_window"].type_name == "int"
    assert by_name["threshold"].required is True
    assert by_name["threshold"].type_name is None
    assert [o.name for o in info.outputs] == ["tracking", "summary"]


def test_all_import_styles_keyword_default_negative_and_expression(write_script):
    script = write_script(
        """
        import math
        import py3r_script as ps
        import py3r_script
        from py3r_script import Param as P, Output as O

        a = ps.Param(-3, name="a")
        b = P(default=-0.5, name="b")
        c = py3r_script.Param(math.pi, name="c")
        d = P(None, name="d")
        e = ps.Param(default=True, name="e")
        ps.Output(a, name="o_ps")
        O(b, name="o_alias")
        py3r_script.Output(c, name="o_full")
        """
    )
    info = inspect_script(script)
    assert info.param_names == ["a", "b", "c", "d", "e"]
    assert info.output_names == ["o_ps", "o_alias", "o_full"]
    params = {p.name: p for p in info.params}
    assert (params["a"].default, params["a"].type_name) == (-3, "int")
    assert (params["b"].default, params["b"].type_name) == (-0.5, "float")
    assert params["c"].literal is False
    assert params["c"].default_source == "math.pi"
    assert params["c"].required is False
    assert params["c"].type_name is None
    assert params["d"].default is None and params["d"].required is False
    assert params["e"].default is True and params["e"].type_name == "bool"


def test_inspect_prints_expression_default_and_negative_numbers(write_script, capsys):
    script = write_script(
        """
        import math
        from py3r_script import Param
        offset = Param(-4, name="offset")
        angle = Param(math.pi, name="angle")
        """
    )
    inspect(script)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(line.split() == ["offset", "default=-4", "type=int"] for line in lines), out
    assert any(
        line.split()[:2] == ["angle", "default=math.pi"] for line in lines
    ), out


def test_other_functions_named_param_are_ignored(write_script):
    script = write_script(
        """
        from py3r_script import Param

        def Output(value, name):
            return value

        class other:
            @staticmethod
            def Param(value, name):
                return value

        x = Param(1, name="real")
        other.Param(2, name="fake_param")
        Output(3, name="fake_output")
        """
    )
    info = inspect_script(script)
    assert info.param_names == ["real"]
    assert info.output_names == []


def test_duplicate_names_with_different_defaults_are_noted(write_script, capsys):
    script = write_script(
        """
        from py3r_script import Output, Param
        w = Param(5, name="window")
        w2 = Param(7, name="window")
        same = Param(1, name="same")
        same2 = Param(1, name="same")
        Output(w, name="out")
        Output(w2, name="out")
        """
    )
    info = inspect_script(script)
    assert info.param_names == ["window", "same"]
    assert info.params[0].default == 5  # the first one is listed
    assert info.output_names == ["out"]
    inspect(script)
    out = capsys.readouterr().out
    assert "\nNotes:\n" in out
    notes = out.split("\nNotes:\n", 1)[1]
    assert "'window'" in notes
    assert "default=5" in notes and "default=7" in notes
    assert "'same'" not in notes


def test_no_notes_section_without_duplicates(write_script, capsys):
    inspect(write_script(PIPELINE))
    assert "Notes:" not in capsys.readouterr().out


def test_syntax_error_gives_script_error_with_line_number(write_script):
    script = write_script(
        """
        from py3r_script import Param
        x = Param(1, name="x")
        y = (
        """
    )
    with pytest.raises(ScriptError, match=r"line 3") as excinfo:
        inspect_script(script)
    assert isinstance(excinfo.value, ValueError)
    with pytest.raises(ValueError, match=r"line 3"):
        inspect(script)


def test_missing_script_gives_script_error(tmp_path):
    with pytest.raises(ScriptError, match="not found"):
        inspect_script(tmp_path / "nope.py")


def test_inspection_executes_nothing(write_script, tmp_path, capsys):
    created = tmp_path / "created_by_script.txt"
    script = write_script(
        f"""
        from py3r_script import Output, Param
        open({str(created)!r}, "w").close()
        raise SystemExit("must not run")
        x = Param(1, name="x")
        Output(x, name="y")
        """
    )
    inspect(script)
    info = inspect_script(script)
    assert info.param_names == ["x"]
    assert "  x " in capsys.readouterr().out
    assert not created.exists()


def test_inspect_lists_none_when_script_declares_nothing(write_script, capsys):
    inspect(write_script("print('hi')\n", "plain.py"))
    out = capsys.readouterr().out
    assert out.splitlines()[2:] == ["Parameters:", "  (none)", "", "Outputs:", "  (none)"]


def _cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "py3r_script", *args],
        capture_output=True, text=True, cwd=cwd, timeout=60,
        env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(py3r_script.__file__))},
    )


def test_cli_inspect_prints_the_same_layout(write_script, tmp_path):
    write_script(PIPELINE, "script.py")
    proc = _cli("inspect", "script.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "Script: script.py\n" + EXPECTED_BODY


def test_cli_inspect_json(write_script, tmp_path):
    write_script(PIPELINE, "script.py")
    proc = _cli("inspect", "script.py", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [p["name"] for p in data["params"]] == ["data_path", "smooth_window", "threshold"]
    assert [p["required"] for p in data["params"]] == [False, False, True]
    assert [o["name"] for o in data["outputs"]] == ["tracking", "summary"]


def test_cli_inspect_missing_script_is_an_error(tmp_path):
    proc = _cli("inspect", "missing.py", cwd=tmp_path)
    assert proc.returncode != 0
    assert "missing.py" in proc.stderr
    assert proc.stdout == ""


# -- defaults the inspector cannot, or must not, take at face value -----------------------------


def test_a_hex_default_of_more_than_4300_digits_is_listed_and_runs(write_script, tmp_path):
    big = "0x" + "f" * 4_000  # 16,000 bits: more decimal digits than Python prints
    script = write_script(f"""
        from py3r_script import Output, Param
        x = Param({big}, name="x")
        small = Param(1, name="small")
        Output(x.bit_length(), name="bits")
    """)
    assert subprocess.run([sys.executable, str(script)], timeout=60).returncode == 0
    info = inspect_script(script)
    param = info.param("x")
    assert param is not None and param.literal and param.type_name == "int"
    assert not param.known_default  # no study can store it as a parameter
    assert param.default_source == big
    shown = info.format()
    assert "type=int" in shown and "(4002 characters)" in shown
    assert any("beyond 64 bits" in note for note in info.warnings)
    assert json.loads(json.dumps(info.to_dict()))["params"][0]["default"] is None
    proc = _cli("inspect", str(script), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # the runner leaves such a default to the script, and sweeps the others
    sr = py3r_script.sensitivity(script, {"small": [2]})
    assert [r.outputs["bits"] for r in sr.records] == [16_000, 16_000]
    assert "x" not in sr.records[0].params


def test_a_default_from_a_double_star_mapping_is_unknown_not_required(write_script):
    script = write_script("""
        from py3r_script import Output, Param
        s = Param(name="s", **{"default": 4})
        t = Param(*[5], name="t")
        u = Param(**{"name": "u", "default": 6})
        Output((s, t, u), name="seen")
    """)
    info = inspect_script(script)
    assert info.param_names == ["s", "t"]
    s, t = info.params
    assert (s.required, s.literal, s.default_source) == (False, False, "**{\"default\": 4}")
    assert (t.required, t.literal, t.default_source) == (False, False, "*[5]")
    assert info.dynamic_params  # u's name comes from the mapping
    assert not info.warnings  # not "without name=": it may be in the mapping
    assert "default=**{\"default\": 4}" in info.format()
    assert py3r_script.run(script)[{}]["seen"] == (4, 5, 6)  # nothing required is missing
