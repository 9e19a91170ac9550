"""Sweep files (``read_sweep_file``), in process: keys, designs, options, and errors that name
the key and its line.

The ``sweep`` subcommand itself is tested end to end in test_sweep_files.py; typed values in
test_textvalues.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from py3r_script.cli.sweepfile import SweepFile, SweepFileError, read_sweep_file
from py3r_script.errors import ParameterError, SweepError


def write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(SweepFileError) as caught:
        read_sweep_file(path)
    return str(caught.value)


# -- valid files ------------------------------------------------------------------------------


def test_full_file(tmp_path):
    path = write(tmp_path, """
        # comment
        script = "pipelines/oft.py"
        mode = "grid"
        outputs = ["a", "b"]
        stop_after_outputs = true
        workers = 3
        timeout = 2.5
        store = "studies/s.db"
        rerun = false
        backup = true
        workdir = "calc"
        capture_limit = 500
        warm = true
        preload = ["json"]

        [params]
        window = [1, 2]
        thr = [0.5]

        [nominal]
        label = "x"
    """)
    spec = read_sweep_file(path)
    assert isinstance(spec, SweepFile)
    assert spec.path == path
    assert spec.script == tmp_path / "pipelines" / "oft.py"
    assert spec.mode == "grid"
    assert spec.params == {"window": [1, 2], "thr": [0.5]}
    assert spec.nominal == {"label": "x"}
    assert spec.options == {
        "outputs": ["a", "b"], "stop_after_outputs": True, "max_workers": 3, "timeout": 2.5,
        "store": str(tmp_path / "studies" / "s.db"), "rerun": False, "backup": True,
        "workdir": str(tmp_path / "calc"), "capture_limit": 500, "warm": True,
        "preload": ["json"],
    }
    assert spec.design() == {"mode": "grid", "nominal": {"label": "x"},
                             "params": {"window": [1, 2], "thr": [0.5]}}


def test_minimal_file_defaults(tmp_path):
    spec = read_sweep_file(write(tmp_path, 'script = "s.py"\n[params]\nw = [1]\n'))
    assert spec.mode == "independent"
    assert spec.nominal == {} and spec.options == {}
    assert spec.points is None and spec.sample is None


def test_paths_are_relative_to_the_file_not_the_cwd(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    conf.mkdir()
    write(conf, 'script = "../s.py"\nstore = "db.sqlite"\n[params]\nw = [1]\n')
    monkeypatch.chdir(tmp_path)
    spec = read_sweep_file("conf/sweep.toml")
    assert spec.script == Path("conf") / ".." / "s.py"
    assert spec.options["store"] == str(Path("conf") / "db.sqlite")


def test_workdir_true_and_workers_auto(tmp_path):
    spec = read_sweep_file(write(tmp_path, """
        script = "s.py"
        workdir = true
        workers = "auto"
        [params]
        w = [1]
    """))
    assert spec.options == {"workdir": True, "max_workers": "auto"}


def test_linked_tables_become_tuple_keys(tmp_path):
    spec = read_sweep_file(write(tmp_path, """
        script = "s.py"
        [[linked]]
        names = ["window", "min_len"]
        values = [[3, 2], [5, 3]]
        [[linked]]
        names = ["a", "b", "c"]
        values = [[1, 2, 3]]
    """))
    assert spec.params == {("window", "min_len"): [(3, 2), (5, 3)], ("a", "b", "c"): [(1, 2, 3)]}
    assert "params" in spec.design()


def test_linked_and_params_together(tmp_path):
    spec = read_sweep_file(write(tmp_path, """
        script = "s.py"
        [params]
        t = [1.5]
        [[linked]]
        names = ["a", "b"]
        values = [[1, 2]]
    """))
    assert spec.params == {"t": [1.5], ("a", "b"): [(1, 2)]}


def test_points(tmp_path):
    spec = read_sweep_file(write(tmp_path, """
        script = "s.py"
        [nominal]
        c = 0
        [[points]]
        a = 1
        [[points]]
        a = 2
        b = "x"
    """))
    assert spec.points == [{"a": 1}, {"a": 2, "b": "x"}]
    assert spec.design() == {"mode": "independent", "nominal": {"c": 0},
                             "points": [{"a": 1}, {"a": 2, "b": "x"}]}


def test_sample(tmp_path):
    spec = read_sweep_file(write(tmp_path, """
        script = "s.py"
        [sample]
        method = "random"
        n = 20
        seed = 4
        [sample.ranges]
        thr = [0.1, 0.9]
        rate = [1e-4, 1e-1, "log"]
        [sample.choices]
        mode = ["a", "b"]
    """))
    assert spec.sample == {"sample": {"thr": (0.1, 0.9), "rate": (1e-4, 1e-1, "log"),
                                      "mode": ["a", "b"]},
                           "n": 20, "method": "random", "seed": 4}
    design = spec.design()
    assert design["n"] == 20 and design["method"] == "random" and "params" not in design


def test_sample_defaults_to_lhs_without_seed(tmp_path):
    spec = read_sweep_file(write(tmp_path, """
        script = "s.py"
        [sample]
        n = 3
        [sample.ranges]
        x = [0, 10]
    """))
    assert spec.sample == {"sample": {"x": (0, 10)}, "n": 3, "method": "lhs"}


def test_shipped_sample_file():
    path = Path(__file__).resolve().parents[2] / "sample_pipelines" / "oft_sweep.toml"
    spec = read_sweep_file(path)
    assert spec.script == path.parent / "oft_pipeline.py"
    assert spec.script.exists()
    assert spec.params == {"smooth_window": [1, 5, 15], "threshold": [1, 2, 4]}
    assert spec.nominal == {"seed": 1}
    assert spec.options["max_workers"] == "auto" and spec.options["timeout"] == 120


# -- errors with the key and its line ----------------------------------------------------------


@pytest.mark.parametrize(("text", "line", "pattern"), [
    ('script = "s.py"\n\n# a comment\nworkerz = 2\n[params]\nw = [1]\n', 4,
     r"unknown key 'workerz'; the keys are: script, mode"),
    ('script = "s.py"\n"timout" = 2\n[params]\nw = [1]\n', 2, r"unknown key 'timout'"),
    ('mode = "grid"\nscript = 3\n[params]\nw = [1]\n', 2, r"script must be .*an integer 3"),
    ('script = "s.py"\nmode = 1\n[params]\nw = [1]\n', 2, r"mode must be .*an integer 1"),
    ('script = "s.py"\noutputs = "a"\n[params]\nw = [1]\n', 2,
     r"outputs must be a list of output names, got a string 'a'"),
    ('script = "s.py"\noutputs = ["a", 3]\n[params]\nw = [1]\n', 2,
     r"outputs must be names \(strings\), got 3"),
    ('script = "s.py"\nstop_after_outputs = "yes"\n[params]\nw = [1]\n', 2,
     r"stop_after_outputs must be true or false, got a string 'yes'"),
    ('script = "s.py"\nworkers = true\n[params]\nw = [1]\n', 2,
     r"workers must be .*got a boolean True"),
    ('script = "s.py"\nworkers = 1.5\n[params]\nw = [1]\n', 2, r"workers must be .*a float"),
    ('script = "s.py"\ntimeout = "1m"\n[params]\nw = [1]\n', 2,
     r"timeout must be seconds, .*got a string '1m'"),
    ('script = "s.py"\ntimeout = false\n[params]\nw = [1]\n', 2, r"timeout must be"),
    ('script = "s.py"\nstore = 1\n[params]\nw = [1]\n', 2, r"store must be"),
    ('script = "s.py"\nrerun = 1\n[params]\nw = [1]\n', 2, r"rerun must be true or false"),
    ('script = "s.py"\nbackup = "no"\n[params]\nw = [1]\n', 2, r"backup must be"),
    ('script = "s.py"\nworkdir = 3\n[params]\nw = [1]\n', 2, r"workdir must be"),
    ('script = "s.py"\ncapture_limit = true\n[params]\nw = [1]\n', 2,
     r"capture_limit must be .*a boolean True"),
    ('script = "s.py"\ncapture_limit = 1.5\n[params]\nw = [1]\n', 2, r"capture_limit must be"),
    ('script = "s.py"\nwarm = "yes"\n[params]\nw = [1]\n', 2, r"warm must be true or false"),
    ('script = "s.py"\npreload = "json"\n[params]\nw = [1]\n', 2, r"preload must be a list"),
    ('script = "s.py"\nparams = [1, 2]\n', 2, r"params must be a table .*an array"),
    ('script = "s.py"\nnominal = 3\n[params]\nw = [1]\n', 2, r"nominal must be a table"),
    ('script = "s.py"\n\n[linked]\nnames = ["a", "b"]\n', 3, r"linked must be \[\[linked\]\]"),
    ('script = "s.py"\n[[sample]]\nn = 3\n', 2, r"sample must be a \[sample\] table"),
    ('script = "s.py"\npoints = [1, 2]\n', 2, r"points must be \[\[points\]\] tables"),
    ('script = "s.py"\n[params]\nthr = [1.0]\nwindow = 3\n', 4,
     r"params\.window must be a list of values, e\.g\. window = \[3\], got an integer 3"),
    ('script = "s.py"\n[params]\nlabel = "abc"\n', 3,
     r"params\.label must be a list of values.*got a string 'abc'"),
    ('script = "s.py"\n[[linked]]\nnames = ["a"]\nvalues = [[1]]\n', 2,
     r"\[\[linked\]\] table 1: names must be a list of two or more"),
    ('script = "s.py"\n[[linked]]\nnames = ["a", "b"]\nvalues = [[1, 2], [3]]\n', 2,
     r"\[\[linked\]\] table 1: values must be a non-empty list of \[a, b\] lists"),
    ('script = "s.py"\n[[linked]]\nnames = ["a", "b"]\nvalues = []\n', 2, r"values must be"),
    ('script = "s.py"\n[[linked]]\nnames = ["a", "b"]\nvalues = [[1, 2]]\nvalue = 1\n', 2,
     r"unknown key\(s\) \['value'\]"),
    ('script = "s.py"\n[sample]\nn = 3\nsed = 1\n', 4, r"unknown key 'sed' in \[sample\]"),
    ('script = "s.py"\n[sample]\nn = "3"\n', 3, r"sample\.n has the wrong type: a string '3'"),
    ('script = "s.py"\n[sample]\nn = 3\nseed = true\n', 4, r"sample\.seed has the wrong type"),
    ('script = "s.py"\n[sample]\nn = 3\nmethod = 1\n', 4, r"sample\.method has the wrong type"),
    ('script = "s.py"\n\n[sample]\nseed = 3\n', 3, r"\[sample\] needs n"),
    ('script = "s.py"\n[sample]\nn = 3\n[sample.ranges]\nx = [1]\n', 5,
     r"sample\.ranges\.x must be \[low, high\] or \[low, high, \"log\"\], got \[1\]"),
    ('script = "s.py"\n[sample]\nn = 3\n[sample.ranges]\nx = 1\n', 5, r"sample\.ranges\.x"),
    ('script = "s.py"\n[sample]\nn = 3\n[sample.choices]\nx = "a"\n', 5,
     r"sample\.choices\.x must be a list of values, got 'a'"),
    ('script = ""\n[params]\nw = [1]\n', 1, r"script is empty; give the path of the script"),
    ('script = "s.py"\noutputs = []\n[params]\nw = [1]\n', 2,
     r"outputs is empty; name at least one output, or remove the line"),
    ('script = "s.py"\n[params]\nw = []\n', 3,
     r"params\.w is an empty list; give at least one value"),
    ('script = "s.py"\nmode = "grid"\n[params]\n', 3,
     r"\[params\] is empty; give at least one parameter"),
    ('script = "s.py"\ninclude_nominal = "no"\n[params]\nw = [1]\n', 2,
     r"include_nominal must be true or false"),
    ('script = "s.py"\ninclude_nominal = false\n[params]\nw = [1]\n', 2,
     r"include_nominal = false goes with a grid"),
    ('script = "s.py"\nmode = "grid"\ninclude_nominal = false\n[sample]\nn = 3\n', 3,
     r"include_nominal = false goes with a grid of \[params\]"),
])
def test_errors_name_the_key_and_its_line(tmp_path, text, line, pattern):
    message = error_of(write(tmp_path, text))
    assert message.startswith(f"{tmp_path / 'sweep.toml'}, line {line}: "), message
    assert re.search(pattern, message), message


def test_a_utf8_byte_order_mark_is_fine(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_bytes(b'\xef\xbb\xbfscript = "s.py"\n[params]\nw = [1]\n')
    assert read_sweep_file(path).params == {"w": [1]}
    path.write_bytes(b'\xef\xbb\xbfscript = "s.py"\nworkerz = 2\n[params]\nw = [1]\n')
    assert error_of(path).startswith(f"{path}, line 2: unknown key 'workerz'")


def test_tomli_is_read_where_there_is_no_tomllib(tmp_path):
    """Python < 3.11 has no ``tomllib``: the reader falls back to ``tomli``.

    Here ``tomllib`` is blocked and ``tomli`` is a copy of it (tomllib is tomli, renamed),
    so the fallback runs on any Python.
    """
    shim = tmp_path / "shim"
    try:
        import tomllib
    except ModuleNotFoundError:  # an older Python: the real tomli is installed
        shim.mkdir()
    else:
        shutil.copytree(Path(tomllib.__file__).parent, shim / "tomli",
                        ignore=shutil.ignore_patterns("__pycache__"))
    good = write(tmp_path, 'script = "s.py"\n[params]\nw = [1, 2]\n')
    bad = write(tmp_path, 'script = "s.py\n', "bad.toml")
    code = textwrap.dedent("""
        import sys
        sys.modules["tomllib"] = None  # import tomllib fails, as on Python < 3.11
        from py3r_script.cli import sweepfile
        print(sweepfile.tomllib.__name__)
        print(sweepfile.read_sweep_file(sys.argv[1]).params)
        try:
            sweepfile.read_sweep_file(sys.argv[2])
        except sweepfile.SweepFileError as exc:
            print(exc)
    """)
    path = [str(shim), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    result = subprocess.run([sys.executable, "-c", code, str(good), str(bad)],
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    name, params, error = result.stdout.splitlines()
    assert name == "tomli"
    assert params == "{'w': [1, 2]}"
    assert error.startswith(f"{bad}: not valid TOML: ") and "line 1" in error


def test_error_class_is_a_usage_error(tmp_path):
    with pytest.raises(SweepError):
        read_sweep_file(write(tmp_path, 'script = 1\n'))
    assert issubclass(SweepFileError, ParameterError)


def test_line_number_skips_the_same_key_in_other_tables(tmp_path):
    message = error_of(write(tmp_path, """
        script = "s.py"
        [nominal]
        window = 3
        [params]
        thr = [1.0]

        window = 4
    """))
    assert "sweep.toml, line 7: params.window" in message


def test_missing_script(tmp_path):
    message = error_of(write(tmp_path, "mode = 'grid'\n[params]\nw = [1]\n"))
    assert message == f"{tmp_path / 'sweep.toml'}: missing key 'script' (the path of the script " \
                      "to sweep)"


@pytest.mark.parametrize(("text", "found"), [
    ('script = "s.py"\n', "none"),
    ('script = "s.py"\n[params]\nw = [1]\n[[points]]\nw = 2\n', "params, points"),
    ('script = "s.py"\n[[linked]]\nnames = ["a", "b"]\nvalues = [[1, 2]]\n[sample]\nn = 2\n',
     "params, sample"),
])
def test_exactly_one_design(tmp_path, text, found):
    message = error_of(write(tmp_path, text))
    assert "give exactly one design" in message
    assert message.endswith(f"found {found}")


@pytest.mark.parametrize(("text", "where"), [
    ('script = "s.py\n', "line 1"),
    ('script = "s.py"\n[params]\nw = [1, 2\n', "Unclosed array"),
    ('script = "s.py"\nscript = "t.py"\n[params]\nw = [1]\n', "line 2"),
    ('script = "s.py"\n[params]\n= [1]\n', "line 3"),
])
def test_invalid_toml(tmp_path, text, where):
    message = error_of(write(tmp_path, text))
    assert message.startswith(f"{tmp_path / 'sweep.toml'}: not valid TOML: ")
    assert where in message


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.toml"
    assert error_of(missing) == f"sweep file not found: {str(missing)!r}"


def test_unreadable_file(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_bytes(b'script = "\xff\xfe.py"\n')
    assert "cannot read sweep file" in error_of(path)


def test_table_instead_of_a_value_is_an_error(tmp_path):
    message = error_of(write(tmp_path, """
        script = "s.py"
        [params]
        [params.window]
        low = 1
    """))
    assert "params.window must be a list of values, got a table" in message
    message = error_of(write(tmp_path, """
        script = "s.py"
        [params]
        w = [1]
        [nominal.window]
        low = 1
    """))
    assert "nominal.window must be a value, got a table" in message


@pytest.mark.parametrize("text", [
    'script = "s.py"\n[params]\n[params.window]\nlow = 1\n',
    'script = "s.py"\nparams.window = 3\n',
    'script = "s.py"\nparams = { window = 3 }\n',
])
def test_line_number_for_other_toml_spellings(tmp_path, text):
    assert ", line " in error_of(write(tmp_path, text))


@pytest.mark.parametrize(("line", "message"), [
    ('mode = "sideways"', "mode must be one of"),
    ('workers = "many"', 'workers must be a positive integer or "auto"'),
    ("workers = 0", 'workers must be a positive integer or "auto"'),
    ("timeout = 0", "timeout must be a positive number"),
])
def test_out_of_range_values_name_their_line(tmp_path, line, message):
    path = tmp_path / "sweep.toml"
    path.write_text(f'script = "s.py"\n\n{line}\n\n[params]\nx = [1]\n')
    with pytest.raises(SweepFileError, match=rf"sweep\.toml, line 3: {message}"):
        read_sweep_file(path)


# -- checked against the script ----------------------------------------------------------------


@pytest.mark.parametrize(("body", "line", "pattern"), [
    ('[params]\nwindow = ["abc"]\n', 3,
     r"params\.window: parameter 'window' expects int .*got str 'abc'; use e\.g\. 3"),
    ('[params]\nwindw = [1]\n', 3,
     r"params\.windw: unknown parameter 'windw' .*Did you mean 'window'\?"),
    ('[params]\nwindow = [1]\n[nominal]\nthr = "x"\n', 5, r"nominal\.thr: .*expects float"),
    ('[params]\nwindow = [1]\n[nominal]\nwindw = 3\n', 5, r"nominal\.windw: unknown parameter"),
    ('[params]\nopt = [1979-05-27]\n', 3, r"params\.opt: date .* is not a parameter value"),
    ('[params]\nopt = [[1, 2]]\n', 3, r"an array \[1, 2\] is not a parameter value"),
    ('[params]\nwindow = [1]\n[nominal]\nopt = [1]\n', 5, r"nominal\.opt: an array"),
    ('[[points]]\nwindow = 2\n\n[[points]]\nwindow = "x"\n', 6,
     r"\[\[points\]\] table 2: parameter 'window' expects int"),
    ('[[linked]]\nnames = ["window", "thr"]\nvalues = [[1, 2]]\n\n[[linked]]\n'
     'names = ["label", "flag"]\nvalues = [["a", 3]]\n', 6,
     r"\[\[linked\]\] table 2: parameter 'flag' expects bool"),
    ('[sample]\nn = 2\n[sample.ranges]\nwindow = [1.5, 3]\n', 5,
     r"sample\.ranges\.window: parameter 'window' expects int"),
    ('[sample]\nn = 2\n[sample.choices]\nflag = [true, "no"]\n', 5,
     r"sample\.choices\.flag: parameter 'flag' expects bool"),
])
def test_values_checked_against_the_script_name_their_line(tmp_path, info, body, line,
                                                           pattern):
    path = write(tmp_path, 'script = "script.py"\n' + body)
    spec = read_sweep_file(path)
    with pytest.raises(SweepFileError) as caught:
        spec.typed_design(info)
    assert str(caught.value).startswith(f"{path}, line {line}: "), caught.value
    assert re.search(pattern, str(caught.value)), caught.value


def test_typed_design_widens_ints_for_float_defaults(tmp_path, info):
    spec = read_sweep_file(write(tmp_path, """
        script = "script.py"
        [params]
        thr = [1, 2.5]
        [nominal]
        window = 4
    """))
    design = spec.typed_design(info)
    assert design == {"mode": "independent", "nominal": {"window": 4},
                      "params": {"thr": [1.0, 2.5]}}
    assert type(design["params"]["thr"][0]) is float


def test_unknown_output_and_missing_script_name_their_line(tmp_path, info):
    path = write(tmp_path, 'script = "script.py"\noutputs = ["out", "ot"]\n[params]\nw = [1]\n')
    with pytest.raises(SweepFileError, match=r"line 2: unknown output 'ot' .*Did you mean 'out'"):
        read_sweep_file(path).check_outputs(info)
    path = write(tmp_path, '# a comment\nscript = "nowhere.py"\n[params]\nw = [1]\n')
    with pytest.raises(SweepFileError, match=r"sweep\.toml, line 2: script not found: .*nowhere"):
        read_sweep_file(path).script_info()


def test_where_finds_the_nth_array_table(tmp_path):
    spec = read_sweep_file(write(tmp_path, """
        script = "s.py"
        [[points]]
        w = 1
        [[points]]
        x = 2
        w = 3
    """))
    assert spec.where("w", "points") == f"{spec.path}, line 3"
    assert spec.where("w", "points", 1) == f"{spec.path}, line 6"
    assert spec.where("v", "points", 1) == f"{spec.path}, line 4"  # not there: its table
    assert spec.where("points", nth=1) == f"{spec.path}, line 4"


def test_include_nominal_false_gives_exactly_the_grid(tmp_path):
    write(tmp_path, "from py3r_script import Output, Param\nw = Param(5, name='w')\n"
          "Output(w, name='seen')\n", "s.py")
    path = write(tmp_path, 'script = "s.py"\nmode = "grid"\ninclude_nominal = false\n'
                 "[params]\nw = [1, 2]\n")
    spec = read_sweep_file(path)
    assert spec.include_nominal is False
    from py3r_script import plan

    design = spec.design()
    assert design["include_nominal"] is False
    assert [p["w"] for p in plan(spec.script, **design).points] == [1, 2]
    default = write(tmp_path, 'script = "s.py"\nmode = "grid"\n[params]\nw = [1, 2]\n',
                    "default.toml")
    assert [p["w"] for p in plan(tmp_path / "s.py", **read_sweep_file(default).design())
            .points] == [1, 2, 5]
