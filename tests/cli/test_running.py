"""The ``py3r-script`` command line, end to end: every test runs the CLI as a subprocess.

Data go to stdout (CSV when stdout is not a terminal, as here), messages to stderr; exit codes
are 0 (all iterations succeeded), 1 (some failed), 2 (usage or input errors).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

import py3r_script

REPO = Path(__file__).resolve().parents[1]
SUBCOMMANDS = ("inspect", "run", "sensitivity", "sweep", "show")
CONSOLE = shutil.which("py3r-script")
needs_console = pytest.mark.skipif(CONSOLE is None, reason="py3r-script is not on PATH")


def cli(*args: object, cwd: Path, stdout: object = subprocess.PIPE,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m py3r_script ARGS`` in ``cwd``; stdout captured unless a file is given."""
    return subprocess.run(
        [sys.executable, "-m", "py3r_script", *map(str, args)],
        cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=timeout,
    )


def cli_after(prelude: str, *args: object, cwd: Path,
              timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The command line in a fresh interpreter that first runs ``prelude`` (to block a module,
    or replace a function)."""
    code = textwrap.dedent(prelude) + "\nimport sys\nfrom py3r_script.cli.main import main\n" \
                                      "sys.exit(main())\n"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def console(*args: object, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The installed ``py3r-script`` console script."""
    assert CONSOLE is not None
    return subprocess.run([CONSOLE, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


_ID_COLUMNS = ("sweep_id", "iteration_id", "_sweep_id", "_iteration_id")


def csv_rows(text: str) -> pd.DataFrame:
    """A CSV table; ids stay text (a hex prefix such as 52e41234 would parse as a float)."""
    header = text.split("\n", 1)[0].split(",")
    ids = {name: str for name in _ID_COLUMNS if name in header}
    return pd.read_csv(io.StringIO(text), keep_default_na=False, dtype=ids)


def runs(log: Path) -> int:
    """How many iterations started (each appends a line to ``log``)."""
    return len(log.read_text().splitlines()) if log.exists() else 0


def assert_usage_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


# Every knob type; writes a line to LOG_PATH as its first statement (a run counter).
TYPED = """
with open(LOG_PATH, "a") as fh:
    fh.write("run\\n")
from py3r_script import Output, Param

window = Param(3, name="window")
thr = Param(2.0, name="thr")
flag = Param(False, name="flag")
label = Param("abc", name="label")
opt = Param(None, name="opt")
if window < 0:
    raise ValueError(f"negative window {window}")
Output(type(window).__name__, name="window_type")
Output(type(thr).__name__, name="thr_type")
Output(type(flag).__name__, name="flag_type")
Output(type(label).__name__, name="label_type")
Output(type(opt).__name__, name="opt_type")
Output(window * thr, name="prod")
"""
TYPED_OUTPUTS = ["window_type", "thr_type", "flag_type", "label_type", "opt_type", "prod"]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "runs.log"


@pytest.fixture
def typed(write_script, log: Path) -> Path:
    return write_script(TYPED.replace("LOG_PATH", repr(str(log))), "typed.py")


@pytest.fixture
def marked_typed(marked_script, log: Path) -> Path:
    return marked_script(TYPED.replace("LOG_PATH", repr(str(log))), "typed.py")


# -- help and argument parsing --------------------------------------------------------------


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_each_subcommand_help_exits_0_with_an_example(tmp_path, command):
    result = cli(command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "example" in result.stdout.lower()
    assert f"py3r-script {command} " in result.stdout  # the example uses the subcommand


def test_top_level_help_lists_the_subcommands(tmp_path):
    result = cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in SUBCOMMANDS:
        assert command in result.stdout


@needs_console
@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_console_script_help(tmp_path, command):
    result = console(command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "example" in result.stdout.lower()
    assert f"py3r-script {command} " in result.stdout


@pytest.mark.parametrize("args", [
    (),                                                     # no subcommand
    ("frobnicate",),                                        # unknown subcommand
    ("sensitivity", "typed.py"),                            # -s is required
    ("sensitivity", "typed.py", "-s", "window=3", "--bogus"),
    ("sensitivity", "typed.py", "-s", "window=3", "--mode", "diagonal"),
    ("sensitivity", "typed.py", "-s", "window=3", "--timeout", "soon"),
    ("sensitivity", "typed.py", "-s", "window=3", "--format", "xml"),
])
def test_bad_flags_are_usage_errors(tmp_path, typed, log, args):
    result = cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "usage:" in result.stderr
    assert runs(log) == 0


def test_missing_script_file_is_exit_2(tmp_path):
    for command in (["inspect"], ["run"], ["sensitivity", "-s", "window=1"]):
        result = cli(command[0], "no_such_script.py", *command[1:], cwd=tmp_path)
        assert_usage_error(result, "no_such_script.py")


def test_script_with_syntax_error_is_exit_2(tmp_path, write_script):
    write_script("x = (\n", "broken.py")
    assert_usage_error(cli("inspect", "broken.py", cwd=tmp_path), "broken.py", "line 1")


# -- inspect ---------------------------------------------------------------------------------


def test_inspect_lists_params_with_types_and_outputs(tmp_path, typed, log):
    result = cli("inspect", typed, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for name, kind in [("window", "int"), ("thr", "float"), ("flag", "bool"), ("label", "str")]:
        assert any(line.split()[:1] == [name] and f"type={kind}" in line for line in lines), (
            name, result.stdout)
    for name in TYPED_OUTPUTS:
        assert name in result.stdout
    assert runs(log) == 0  # inspecting never runs the script


def test_inspect_json(tmp_path, typed, log):
    result = cli("inspect", typed, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    params = {p["name"]: p for p in info["params"]}
    assert list(params) == ["window", "thr", "flag", "label", "opt"]
    assert params["window"]["default"] == 3 and params["window"]["type"] == "int"
    assert params["thr"]["default"] == 2.0 and params["thr"]["type"] == "float"
    assert params["opt"]["default"] is None
    assert [o["name"] for o in info["outputs"]] == TYPED_OUTPUTS
    assert runs(log) == 0


@needs_console
def test_console_script_inspect_json(tmp_path, typed):
    result = console("inspect", typed, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [p["name"] for p in json.loads(result.stdout)["params"]][:2] == ["window", "thr"]


# -- run -------------------------------------------------------------------------------------


def test_run_once_with_typed_params(tmp_path, typed, log):
    result = cli("run", typed, "-p", "window=4", "-p", "thr=1", "-p", "label='x,y'",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    frame = csv_rows(result.stdout)
    assert len(frame) == 1 and runs(log) == 1
    row = frame.iloc[0]
    assert row["window"] == 4 and row["window_type"] == "int"
    assert row["thr"] == 1.0 and row["thr_type"] == "float"
    assert row["label"] == "x,y"  # -p takes one value: the comma is part of it
    assert row["prod"] == 4.0


def test_run_output_selects_columns(tmp_path, typed):
    result = cli("run", typed, "-p", "window=5", "--output", "prod", "--output", "thr_type",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert list(csv_rows(result.stdout).columns) == ["window", "prod", "thr_type"]


def test_run_unknown_output_is_exit_2(tmp_path, marked_typed, marker):
    result = cli("run", marked_typed, "--output", "prd", cwd=tmp_path)
    assert_usage_error(result, "'prd'", "prod")
    assert not marker.exists()


def test_run_a_list_is_not_one_value(tmp_path, marked_typed, marker):
    result = cli("run", marked_typed, "-p", "window=3,5", cwd=tmp_path)
    assert_usage_error(result, "'window'", "int")
    assert not marker.exists()


STOPPER = """
from py3r_script import Output, Param
x = Param(1, name="x")
Output(x * 10, name="first")
raise RuntimeError("the rest of the script is slow or broken")
"""


def test_run_stop_after_outputs_ends_the_script_early(tmp_path, write_script):
    script = write_script(STOPPER)
    full = cli("run", script, "--output", "first", cwd=tmp_path)
    assert full.returncode == 1
    assert "the rest of the script" in full.stderr
    early = cli("run", script, "-p", "x=2", "--output", "first", "--stop-after-outputs",
                cwd=tmp_path)
    assert early.returncode == 0, early.stderr
    assert csv_rows(early.stdout).to_dict("records") == [{"x": 2, "first": 20}]


# -- values typed from the script ----------------------------------------------------------


def test_int_default_gives_ints(tmp_path, typed):
    result = cli("sensitivity", typed, "-s", "window=3,5", "--output", "window_type",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["window,window_type", "3,int", "5,int"]


def test_float_default_turns_ints_into_floats(tmp_path, typed):
    result = cli("sensitivity", typed, "-s", "thr=1,3", "--output", "thr_type", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["thr,thr_type", "2.0,float", "1.0,float",
                                          "3.0,float"]


def test_scientific_float(tmp_path, typed):
    result = cli("sensitivity", typed, "-s", "thr=1e-3", "--nominal", "thr=2.5e1",
                 "--output", "prod", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert [r["thr"] for r in records] == [25.0, 0.001]
    assert [r["prod"] for r in records] == [75.0, pytest.approx(0.003)]


def test_bools(tmp_path, typed):
    result = cli("sensitivity", typed, "-s", "flag=true,false", "--nominal", "flag=yes",
                 "--output", "flag_type", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert [r["flag"] for r in records] == [True, False]
    assert {r["flag_type"] for r in records} == {"bool"}


def test_none_and_untyped_default(tmp_path, typed):
    # opt's default is None: values are read as none / int / float / string
    result = cli("sensitivity", typed, "-s", "opt=none,7,1e-3,hello", "-s", "label=none",
                 "--output", "opt_type", "--output", "label_type", "--format", "json",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    by_opt = {r["opt"]: r for r in json.loads(result.stdout)}
    assert by_opt[7]["opt_type"] == "int"
    assert by_opt[0.001]["opt_type"] == "float"
    assert by_opt["hello"]["opt_type"] == "str"
    nones = [r for r in json.loads(result.stdout) if r["opt"] is None]
    assert {r["opt_type"] for r in nones} == {"NoneType"}
    assert any(r["label"] is None and r["label_type"] == "NoneType" for r in nones)


def test_quoted_string_keeps_its_comma(tmp_path, typed):
    # the shell turns  -s label="'a,b'",c  into the argument  label='a,b',c
    result = cli("sensitivity", typed, "-s", "label='a,b',c", "--nominal", "label=c",
                 "--output", "label_type", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    frame = csv_rows(result.stdout)
    assert sorted(frame["label"]) == ["a,b", "c"]  # two values, not three
    assert set(frame["label_type"]) == {"str"}


def test_quoted_number_for_a_string_param_stays_a_string(tmp_path, typed):
    result = cli("sensitivity", typed, "-s", "label=3,'4'", "--output", "label_type",
                 "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert [r["label"] for r in records] == ["abc", "3", "4"]
    assert {r["label_type"] for r in records} == {"str"}


@pytest.mark.parametrize(("assignment", "expected"), [
    ("window=abc", "int"),
    ("window=3,2.5", "int"),
    ("thr=fast", "float"),
    ("flag=maybe", "bool"),
    ("window='3'", "int"),  # quoted: a string, not an int
])
def test_value_that_does_not_fit_is_exit_2_before_anything_runs(
        tmp_path, marked_typed, marker, assignment, expected):
    name = assignment.split("=")[0]
    result = cli("sensitivity", marked_typed, "-s", assignment, cwd=tmp_path)
    assert_usage_error(result, f"'{name}'", expected)
    assert not marker.exists()


def test_bad_nominal_value_is_exit_2(tmp_path, marked_typed, marker):
    result = cli("sensitivity", marked_typed, "-s", "window=3", "--nominal", "thr=high",
                 cwd=tmp_path)
    assert_usage_error(result, "'thr'", "float")
    assert not marker.exists()


def test_unknown_parameter_suggests_the_close_name(tmp_path, marked_typed, marker):
    result = cli("sensitivity", marked_typed, "-s", "windw=3,5", cwd=tmp_path)
    assert_usage_error(result, "'windw'", "Did you mean 'window'?")
    assert not marker.exists()
    result = cli("run", marked_typed, "-p", "thrr=1", cwd=tmp_path)
    assert_usage_error(result, "'thrr'", "Did you mean 'thr'?")
    assert not marker.exists()


@pytest.mark.parametrize("args", [
    ("sensitivity", "-s", "window"),
    ("sensitivity", "-s", "=3,5"),
    ("sensitivity", "-s", "window=3", "--nominal", "thr"),
    ("run", "-p", "window"),
])
def test_missing_equals_is_exit_2(tmp_path, marked_typed, marker, args):
    result = cli(args[0], marked_typed, *args[1:], cwd=tmp_path)
    assert_usage_error(result, "NAME=")
    assert not marker.exists()


@pytest.mark.parametrize(("assignment", "needle"), [
    ("label=a,,b", "empty value"),
    ("label=a,", "empty value"),
    ("label='a,b", "unbalanced"),
])
def test_empty_item_or_unbalanced_quote_is_exit_2(tmp_path, marked_typed, marker, assignment,
                                                  needle):
    result = cli("sensitivity", marked_typed, "-s", assignment, cwd=tmp_path)
    assert_usage_error(result, needle)
    assert not marker.exists()


def test_repeated_sweep_flag_for_one_parameter_sweeps_the_values_of_both(tmp_path, typed):
    for command in ("sensitivity", "sweep"):
        result = cli(command, typed, "-s", "window=4,5", "-s", "window=7",
                     "--output", "prod", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert sorted(csv_rows(result.stdout)["window"]) == [3, 4, 5, 7]


@pytest.mark.parametrize("args", [
    ("run", "-p", "window=4", "-p", "window=5"),
    ("sensitivity", "-s", "thr=1", "--nominal", "window=4", "--nominal", "window=5"),
    ("sweep", "-s", "thr=1", "--nominal", "window=4", "--nominal", "window=5"),
])
def test_repeated_single_value_for_one_parameter_is_exit_2(tmp_path, marked_typed, marker,
                                                            args):
    flag = args[-2]
    result = cli(args[0], marked_typed, *args[1:], cwd=tmp_path)
    assert_usage_error(result, f"{flag} gives 'window' twice (4 and 5)", "one value")
    assert not marker.exists()


def test_a_quote_inside_a_word_is_part_of_the_value(tmp_path, typed):
    result = cli("sensitivity", typed, "-s", "label=it's,'a,b'", "--output", "label_type",
                 "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [r["label"] for r in json.loads(result.stdout)] == ["abc", "it's", "a,b"]
    single = cli("run", typed, "-p", "label=it's", "--output", "label_type", cwd=tmp_path)
    assert csv_rows(single.stdout)["label"].tolist() == ["it's"]


# -- output formats ------------------------------------------------------------------------


def test_csv_on_stdout_when_not_a_terminal(tmp_path, typed):
    result = cli("sensitivity", typed, "-s", "window=4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    frame = csv_rows(result.stdout)
    assert list(frame.columns) == ["window", *TYPED_OUTPUTS]
    assert frame["window"].tolist() == [3, 4]
    assert frame["prod"].tolist() == [6.0, 8.0]


def test_format_csv_explicit(tmp_path, typed):
    result = cli("sensitivity", typed, "-s", "window=4", "--format", "csv", "--output", "prod",
                 cwd=tmp_path)
    assert result.stdout.splitlines() == ["window,prod", "3,6.0", "4,8.0"]


def test_format_json_gives_records(tmp_path, typed):
    result = cli("sensitivity", typed, "-s", "window=4", "--format", "json",
                 "--output", "prod", "--output", "window_type", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"window": 3, "prod": 6.0, "window_type": "int"},
        {"window": 4, "prod": 8.0, "window_type": "int"},
    ]


def test_format_table_is_readable(tmp_path, typed):
    result = cli("sensitivity", typed, "-s", "window=4", "--format", "table",
                 "--output", "prod", "--output", "window_type", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines == [["window", "prod", "window_type"], ["3", "6.0", "int"],
                     ["4", "8.0", "int"]]
    assert "," not in result.stdout


def test_out_csv(tmp_path, typed):
    result = cli("sensitivity", typed, "-s", "window=4", "-o", "result.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "wrote 2 row(s) to result.csv" in result.stderr
    frame = pd.read_csv(tmp_path / "result.csv")
    assert list(frame.columns) == ["window", *TYPED_OUTPUTS]
    assert frame["prod"].tolist() == [6.0, 8.0]


def test_out_json(tmp_path, typed):
    result = cli("run", typed, "-p", "thr=0.5", "--output", "prod", "-o", "out.json",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert json.loads((tmp_path / "out.json").read_text()) == [{"thr": 0.5, "prod": 1.5}]


def test_out_parquet(tmp_path, typed):
    pytest.importorskip("pyarrow")  # in the dev extra
    result = cli("sensitivity", typed, "-s", "window=4", "--output", "prod",
                 "-o", "out.parquet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wrote 2 row(s) to out.parquet" in result.stderr
    frame = pd.read_parquet(tmp_path / "out.parquet")
    assert frame.to_dict("records") == [{"window": 3, "prod": 6.0}, {"window": 4, "prod": 8.0}]


def test_out_parquet_with_mixed_value_types_writes_them_as_strings(tmp_path, typed):
    parquet = pytest.importorskip("pyarrow.parquet")
    result = cli("sensitivity", typed, "-s", "opt=none,7,hello,1.5", "--output", "prod",
                 "-o", "out.parquet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "column(s) opt mix value types" in result.stderr
    assert "written as strings" in result.stderr
    table = parquet.read_table(tmp_path / "out.parquet")
    assert str(table.schema.field("opt").type) in ("string", "large_string")
    assert table.column("opt").to_pylist() == [None, "7", "hello", "1.5"]
    assert table.column("prod").to_pylist() == [6.0] * 4


def test_out_parquet_without_pyarrow_says_how_to_install_it(tmp_path, marked_typed, marker):
    result = cli_after("import sys; sys.modules['pyarrow'] = None  # as if not installed",
                       "sensitivity", marked_typed, "-s", "window=4", "-o", "out.parquet",
                       cwd=tmp_path)
    assert_usage_error(result, "writing .parquet needs pyarrow", "pip install pyarrow",
                       "py3r-script[parquet]", ".csv or .json")
    assert not marker.exists()
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize(("out", "needles"), [
    ("nodir/x.csv", ["-o nodir/x.csv", "the folder 'nodir' does not exist", "mkdir -p nodir"]),
    ("d.csv", ["-o d.csv", "is a folder", "give a file name"]),
    ("d.csv/", ["is a folder"]),
])
def test_out_to_a_missing_folder_or_onto_a_folder_is_exit_2_before_running(
        tmp_path, marked_typed, marker, out, needles):
    (tmp_path / "d.csv").mkdir()
    for command in (("run",), ("sensitivity", "-s", "window=4")):
        result = cli(command[0], marked_typed, *command[1:], "-o", out, cwd=tmp_path)
        assert_usage_error(result, *needles)
        assert not marker.exists()


def test_out_that_fails_at_the_end_prints_the_table_instead(tmp_path, write_script):
    """The folder of ``-o`` disappears while the sweep runs: no finished row is lost."""
    results = tmp_path / "results"
    results.mkdir()
    script = write_script(f"""
        import shutil
        from py3r_script import Output, Param
        x = Param(1, name="x")
        shutil.rmtree({str(results)!r}, ignore_errors=True)
        Output(x * 2, name="y")
    """)
    result = cli("sensitivity", script, "-s", "x=2,3", "-o", results / "out.csv", cwd=tmp_path)
    assert result.returncode == 2
    assert "error: cannot write -o" in result.stderr
    assert "the table follows on stdout instead" in result.stderr
    assert "Traceback" not in result.stderr
    assert csv_rows(result.stdout).to_dict("records") == [{"x": 1, "y": 2}, {"x": 2, "y": 4},
                                                          {"x": 3, "y": 6}]

def test_out_with_unknown_suffix_is_exit_2(tmp_path, typed):
    result = cli("sensitivity", typed, "-s", "window=4", "-o", "out.xlsx", cwd=tmp_path)
    assert_usage_error(result, "out.xlsx", ".csv")
    assert not (tmp_path / "out.xlsx").exists()


def test_out_with_unknown_suffix_is_rejected_before_running(tmp_path, marked_typed, marker):
    result = cli("sensitivity", marked_typed, "-s", "window=4", "-o", "out.xlsx", cwd=tmp_path)
    assert result.returncode == 2
    assert not marker.exists()


def test_redirected_stdout_is_a_clean_csv_file(tmp_path, typed, log):
    """``py3r-script sensitivity ... > out.csv``, with a failure and a forced progress bar."""
    target = tmp_path / "out.csv"
    with target.open("w") as handle:
        result = cli("sensitivity", typed, "-s", "window=-1,5,7", "-s", "thr=0.5",
                     "--progress", cwd=tmp_path, stdout=handle)
    assert result.returncode == 1
    text = target.read_text()
    for leak in ("py3r-script", "%|", "it/s", "note", "error", "Traceback", "wrote"):
        assert leak not in text
    frame = pd.read_csv(target)
    assert runs(log) == 5  # baseline, -1 (fails), 5, 7, thr=0.5
    assert len(frame) == 4  # one row per completed iteration
    assert list(frame.columns) == ["window", "thr", *TYPED_OUTPUTS]
    assert -1 not in frame["window"].tolist()
    assert "%|" in result.stderr or "it/s" in result.stderr  # the bar went to stderr


NOISY = """
import os
import sys
import warnings
from py3r_script import Output, Param
x = Param(1, name="x")
print("NOISE-print")
print("NOISE-stderr", file=sys.stderr)
sys.stdout.flush()
os.write(1, b"NOISE-fd1\\n")
warnings.warn("NOISE-warning")
Output(x * 2, name="y")
"""


@pytest.mark.parametrize("flags", [(), ("--warm",), ("-j", "2")])
def test_what_a_script_prints_stays_out_of_a_redirected_csv(tmp_path, write_script, flags):
    script = write_script(NOISY)
    target = tmp_path / "out.csv"
    with target.open("w") as handle:
        result = cli("sensitivity", script, "-s", "x=2,3", *flags, cwd=tmp_path,
                     stdout=handle)
    assert result.returncode == 0, result.stderr
    assert target.read_text() == "x,y\n1,2\n2,4\n3,6\n"
    assert "NOISE" not in result.stderr  # captured per iteration, not passed through


@needs_console
def test_console_script_redirected_to_a_file(tmp_path, typed):
    target = tmp_path / "table.csv"
    with target.open("w") as handle:
        result = subprocess.run([CONSOLE, "sensitivity", str(typed), "-s", "window=1,2",
                                 "--output", "prod"], cwd=tmp_path, stdout=handle,
                                stderr=subprocess.PIPE, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert pd.read_csv(target).to_dict("records") == [
        {"window": 3, "prod": 6.0}, {"window": 1, "prod": 2.0}, {"window": 2, "prod": 4.0}]


NON_SCALAR = """
from py3r_script import Output, Param
n = Param(2, name="n")
Output(list(range(n)), name="items")
Output({"n": n}, name="mapping")
Output(n * n, name="square")
"""


def test_non_scalar_outputs_are_left_out_with_a_note(tmp_path, write_script):
    script = write_script(NON_SCALAR)
    result = cli("sensitivity", script, "-s", "n=3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert csv_rows(result.stdout).to_dict("records") == [{"n": 2, "square": 4},
                                                          {"n": 3, "square": 9}]
    assert "note" in result.stderr
    assert "items" in result.stderr and "mapping" in result.stderr
    assert "not scalars" in result.stderr


# -- exit codes and failures ---------------------------------------------------------------


def test_all_succeeded_is_exit_0_and_stderr_has_no_failure(tmp_path, typed):
    result = cli("sensitivity", typed, "-s", "window=1,2", "--mode", "grid", "-s", "thr=1,2",
                 cwd=tmp_path)
    assert result.returncode == 0
    assert "failed" not in result.stderr
    assert len(csv_rows(result.stdout)) == 6  # (3, 1, 2) x (2.0, 1.0): nominal included


def test_some_failed_is_exit_1_with_the_failures_on_stderr(tmp_path, typed):
    result = cli("sensitivity", typed, "-s", "window=-1,4,-2", cwd=tmp_path)
    assert result.returncode == 1
    assert "2 of 4 iteration(s) failed" in result.stderr
    assert "{'window': -1}" in result.stderr and "{'window': -2}" in result.stderr
    assert "ValueError: negative window -1" in result.stderr
    assert "ValueError: negative window -2" in result.stderr
    assert csv_rows(result.stdout)["window"].tolist() == [3, 4]


def test_keyboard_interrupt_is_exit_130(tmp_path, write_script):
    started = tmp_path / "started"
    script = write_script(f"""
        import time
        from py3r_script import Output, Param
        d = Param(0.0, name="d")
        if d:
            open({str(started)!r}, "w").close()
            time.sleep(d)
        Output(d, name="slept")
    """)
    process = subprocess.Popen(
        [sys.executable, "-m", "py3r_script", "sensitivity", str(script), "-s", "d=30"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists()
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130
    assert "interrupted" in err


def test_closed_stdout_pipe_gives_no_traceback(tmp_path, typed):
    process = subprocess.Popen(
        [sys.executable, "-m", "py3r_script", "sensitivity", str(typed), "-s", "window=1,2"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # the reader went away before anything was written
    err = process.stderr.read()
    process.stderr.close()
    process.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err


# -- workers, timeout, warm ----------------------------------------------------------------


def rendezvous_script(write_script, tmp_path: Path):
    """Each iteration waits (3 s at most) to see the other one running: passes only in parallel."""
    return write_script(f"""
        import os, time
        from py3r_script import Output, Param
        who = Param(0, name="who")
        folder = {str(tmp_path / "rv")!r}
        os.makedirs(folder, exist_ok=True)
        open(os.path.join(folder, str(who)), "w").close()
        deadline = time.monotonic() + 3
        while len(os.listdir(folder)) < 2:
            if time.monotonic() > deadline:
                raise RuntimeError("ran alone")
            time.sleep(0.02)
        Output(who, name="who_out")
    """, "rendezvous.py")


def test_two_workers_run_iterations_at_the_same_time(tmp_path, write_script):
    script = rendezvous_script(write_script, tmp_path)
    result = cli("sensitivity", script, "-s", "who=1", "-j", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(csv_rows(result.stdout)["who_out"]) == [0, 1]


def test_workers_auto(tmp_path, typed, log):
    result = cli("sensitivity", typed, "-s", "window=1,2,4", "-j", "auto", "--output", "prod",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(csv_rows(result.stdout)["window"]) == [1, 2, 3, 4]
    assert runs(log) == 4


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5"])
def test_bad_workers_is_exit_2(tmp_path, marked_typed, marker, value):
    result = cli("sensitivity", marked_typed, "-s", "window=4", "-j", value, cwd=tmp_path)
    assert_usage_error(result, value)
    assert not marker.exists()


SLEEPER = """
import time
from py3r_script import Output, Param
seconds = Param(10.0, name="seconds")
time.sleep(seconds)
Output(seconds, name="slept")
"""


def test_timeout_kills_a_slow_iteration(tmp_path, write_script):
    script = write_script(SLEEPER)
    start = time.monotonic()
    result = cli("sensitivity", script, "-s", "seconds=0", "--timeout", "1", "-j", "2",
                 cwd=tmp_path)
    assert time.monotonic() - start < 8
    assert result.returncode == 1
    assert "timed out" in result.stderr
    assert "{'seconds': 10.0}" in result.stderr
    assert csv_rows(result.stdout).to_dict("records") == [{"seconds": 0.0, "slept": 0.0}]


@pytest.mark.parametrize("value", ["0", "-1"])
def test_bad_timeout_is_exit_2(tmp_path, marked_typed, marker, value):
    result = cli("sensitivity", marked_typed, "-s", "window=4", "--timeout", value,
                 cwd=tmp_path)
    assert_usage_error(result, "timeout")
    assert not marker.exists()


def test_warm_gives_the_same_results_as_cold(tmp_path, typed, log):
    args = ("sensitivity", typed, "-s", "window=1", "-s", "thr=0.5")
    cold = cli(*args, cwd=tmp_path)
    warm = cli(*args, "--warm", cwd=tmp_path)
    assert cold.returncode == warm.returncode == 0, warm.stderr
    assert "running cold" not in warm.stderr
    assert warm.stdout == cold.stdout
    assert len(csv_rows(warm.stdout)) == 3
    assert runs(log) == 6


# -- the study database ----------------------------------------------------------------------


def test_store_reuses_and_show_lists_the_sweeps(tmp_path, typed, log):
    first = cli("sensitivity", typed, "-s", "window=4,5", "--store", "study.db", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert runs(log) == 3
    again = cli("sensitivity", typed, "-s", "window=4,5", "--store", "study.db", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert runs(log) == 3  # everything reused
    assert again.stdout == first.stdout

    shown = cli("show", "study.db", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    sweeps = csv_rows(shown.stdout)
    assert len(sweeps) == 2
    assert {"sweep_id", "status", "mode", "n_planned", "n_done", "n_failed"} <= set(sweeps)
    assert sweeps["n_planned"].tolist() == [3, 3]
    assert "2 sweep(s)" in shown.stderr

    latest = cli("show", "study.db", "--sweep", "-1", cwd=tmp_path)
    assert latest.returncode == 0, latest.stderr
    rows = csv_rows(latest.stdout)
    assert rows["window"].tolist() == [3, 4, 5]
    assert rows["prod"].tolist() == [6.0, 8.0, 10.0]
    assert set(rows["_status"]) == {"ok"}
    by_id = cli("show", "study.db", "--sweep", sweeps["sweep_id"][0], "--format", "json",
                cwd=tmp_path)
    assert by_id.returncode == 0, by_id.stderr
    assert [r["window"] for r in json.loads(by_id.stdout)] == [3, 4, 5]


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A study built once for the read-only ``show`` tests: a good sweep, then a failing one."""
    folder = tmp_path_factory.mktemp("study")
    script = folder / "typed.py"
    script.write_text(TYPED.replace("LOG_PATH", repr(str(folder / "runs.log"))))
    assert cli("sensitivity", script, "-s", "window=4", "--store", "study.db",
               cwd=folder).returncode == 0
    assert cli("sensitivity", script, "-s", "window=-1,5", "--store", "study.db",
               cwd=folder).returncode == 1
    return folder / "study.db"


def test_show_errors_lists_failed_iterations(tmp_path, study):
    result = cli("show", study, "--errors", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(io.StringIO(result.stdout))  # data on stdout, CSV when redirected
    assert table["window"].tolist() == [-1]
    assert "ValueError: negative window -1" in table["_error"][0]
    assert "1 failed iteration(s)" in result.stderr
    latest = cli("show", study, "--sweep", "-1", "--errors", cwd=tmp_path)
    assert pd.read_csv(io.StringIO(latest.stdout))["window"].tolist() == [-1]
    first = cli("show", study, "--sweep", "0", "--errors", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "0 failed iteration(s)" in first.stderr
    assert pd.read_csv(io.StringIO(first.stdout)).empty


def test_show_sweep_rows_and_summary(tmp_path, study):
    summary = csv_rows(cli("show", study, cwd=tmp_path).stdout)
    assert summary["n_planned"].tolist() == [2, 3]
    assert summary["n_failed"].tolist() == [0, 1]
    rows = csv_rows(cli("show", study, "--sweep", "-1", cwd=tmp_path).stdout)
    assert rows["window"].tolist() == [3, 5]  # completed iterations only; 3 was reused
    table = cli("show", study, "--sweep", "0", "--format", "table", cwd=tmp_path)
    assert table.stdout.split()[:2] == ["window", "window_type"]


def test_show_errors_honours_out_file(tmp_path, study):
    result = cli("show", study, "--errors", "-o", "errors.csv", cwd=tmp_path)
    assert result.returncode == 0
    assert (tmp_path / "errors.csv").exists()


@pytest.fixture
def not_studies(tmp_path: Path) -> Path:
    """Files that are no study: empty, an SQLite database of something else."""
    (tmp_path / "empty.db").write_bytes(b"")
    with sqlite3.connect(tmp_path / "other.db") as con:
        con.execute("CREATE TABLE animals (name TEXT)")
    con.close()
    return tmp_path


@pytest.mark.parametrize(("db", "needles"), [
    ("missing.db", ["no study at 'missing.db'", "does not exist or is empty"]),
    ("empty.db", ["no study at 'empty.db'", "does not exist or is empty"]),
    ("typed.py", ["typed.py is not a py3r-script study (not an SQLite database)"]),
    ("other.db", ["other.db is an SQLite database but not a py3r-script study"]),
])
def test_show_something_that_is_no_study_is_exit_2(tmp_path, typed, not_studies, db, needles):
    before = (tmp_path / "other.db").read_bytes()
    result = cli("show", db, cwd=tmp_path)
    assert_usage_error(result, *needles, "give a study database (a file written with "
                                         "--store DB)")
    assert "store=" not in result.stderr
    assert (tmp_path / "other.db").read_bytes() == before  # show changed nothing


def test_show_a_sweep_that_is_not_there_is_exit_2(tmp_path, study):
    ids = csv_rows(cli("show", study, cwd=tmp_path).stdout)["sweep_id"].tolist()
    number = next(n for n in range(2, 100) if not any(i.startswith(str(n)) for i in ids))
    result = cli("show", study, "--sweep", number, cwd=tmp_path)
    assert_usage_error(result, f"--sweep {number}", f"no sweep number {number}",
                       "0 to 1, or -1 for the latest", f"no sweep id starting with '{number}'",
                       "lists its sweeps")
    result = cli("show", study, "--sweep", "nosuchid", cwd=tmp_path)
    assert_usage_error(result, "no sweep id starting with 'nosuchid'")
    assert "sweep number" not in result.stderr
    assert "Study.sweeps" not in result.stderr


def test_show_sweep_takes_an_all_digit_id_prefix(tmp_path, typed):
    """Sweep ids whose first 8 characters (what show prints) are digits."""
    assert cli("sensitivity", typed, "-s", "window=4", "--store", "s.db",
               cwd=tmp_path).returncode == 0
    digits = """
        import itertools, uuid
        ids = itertools.count(0x12345678 << 96)
        uuid.uuid4 = lambda: uuid.UUID(int=next(ids))
    """
    made = cli_after(digits, "sensitivity", typed, "-s", "window=5,6", "--store", "s.db",
                     cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    shown = csv_rows(cli("show", "s.db", cwd=tmp_path).stdout)
    assert shown["sweep_id"].tolist()[1] == "12345678"
    by_prefix = cli("show", "s.db", "--sweep", "12345678", cwd=tmp_path)
    assert by_prefix.returncode == 0, by_prefix.stderr
    assert csv_rows(by_prefix.stdout)["window"].tolist() == [3, 5, 6]
    by_number = cli("show", "s.db", "--sweep", "1", cwd=tmp_path)  # a number wins
    assert by_number.stdout == by_prefix.stdout
    first = cli("show", "s.db", "--sweep", "0", cwd=tmp_path)
    assert csv_rows(first.stdout)["window"].tolist() == [3, 4]


def test_dry_run_runs_nothing_and_shows_run_or_reuse(tmp_path, typed, log):
    preview = cli("sensitivity", typed, "-s", "window=4", "--store", "study.db", "--dry-run",
                  cwd=tmp_path)
    assert preview.returncode == 0, preview.stderr
    assert runs(log) == 0
    assert not (tmp_path / "study.db").exists()  # a preview creates no study
    assert csv_rows(preview.stdout)["_action"].tolist() == ["run", "run"]

    assert cli("sensitivity", typed, "-s", "window=4", "--store", "study.db",
               cwd=tmp_path).returncode == 0
    assert runs(log) == 2
    preview = cli("sensitivity", typed, "-s", "window=4,7", "--store", "study.db", "--dry-run",
                  cwd=tmp_path)
    assert preview.returncode == 0, preview.stderr
    assert runs(log) == 2
    frame = csv_rows(preview.stdout)
    assert frame["window"].tolist() == [3, 4, 7]
    assert frame["_action"].tolist() == ["reuse", "reuse", "run"]
    assert "1 would run, 2 reused" in preview.stderr
    shown = csv_rows(cli("show", "study.db", cwd=tmp_path).stdout)
    assert len(shown) == 1  # the preview added no sweep


def test_dry_run_without_store(tmp_path, marked_typed, marker):
    result = cli("sensitivity", marked_typed, "-s", "window=4", "-s", "thr=1", "--dry-run",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    frame = csv_rows(result.stdout)
    assert frame["_action"].tolist() == ["run"] * 3


def test_rerun_runs_again(tmp_path, typed, log):
    for _ in range(2):
        assert cli("sensitivity", typed, "-s", "window=4", "--store", "s.db",
                   cwd=tmp_path).returncode == 0
    assert runs(log) == 2
    assert cli("sensitivity", typed, "-s", "window=4", "--store", "s.db", "--rerun",
               cwd=tmp_path).returncode == 0
    assert runs(log) == 4


def test_rerun_without_store_is_exit_2(tmp_path, marked_typed, marker):
    result = cli("sensitivity", marked_typed, "-s", "window=4", "--rerun", cwd=tmp_path)
    assert_usage_error(result, "store")
    assert not marker.exists()


def test_script_and_store_in_a_weird_directory(tmp_path, write_weird_script, weird_dir, log):
    script = write_weird_script(TYPED.replace("LOG_PATH", repr(str(log))), "my script.py")
    store = weird_dir / "my study.db"
    result = cli("sensitivity", script, "-s", "window=4", "--store", store, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert store.exists()
    shown = cli("show", store, "--sweep", "-1", cwd=tmp_path)
    assert csv_rows(shown.stdout)["window"].tolist() == [3, 4]
    assert csv_rows(cli("show", store, cwd=weird_dir).stdout)["script"].tolist() == [
        str(script)]


# -- sweep files (end to end; read_sweep_file itself is in test_sweepfile.py) ------------------


def write_toml(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path, log: Path) -> Path:
    """``project/scripts/typed.py``; sweep files go in ``project/conf``; run from ``elsewhere``."""
    scripts = tmp_path / "project" / "scripts"
    scripts.mkdir(parents=True)
    (scripts / "typed.py").write_text(TYPED.replace("LOG_PATH", repr(str(log))))
    (tmp_path / "project" / "conf").mkdir()
    (tmp_path / "elsewhere").mkdir()
    return tmp_path / "project"


def test_sweep_file_paths_are_relative_to_the_file(tmp_path, project, log):
    toml = write_toml(project / "conf" / "sweep.toml", """
script = "../scripts/typed.py"
mode = "grid"
outputs = ["prod", "thr_type", "window_type"]
store = "study.db"

[params]
window = [4]
thr = [1, 3]

[nominal]
label = "fixed"
""")
    result = cli("sweep", os.path.relpath(toml, tmp_path / "elsewhere"),
                 cwd=tmp_path / "elsewhere")
    assert result.returncode == 0, result.stderr
    frame = csv_rows(result.stdout)
    assert list(frame.columns) == ["window", "thr", "label", "prod", "thr_type", "window_type"]
    assert len(frame) == 6  # (3, 4) x (2.0, 1.0, 3.0)
    assert set(frame["thr_type"]) == {"float"}  # TOML ints widened for a float default
    assert sorted(set(frame["thr"])) == [1.0, 2.0, 3.0]
    assert set(frame["window_type"]) == {"int"}
    assert set(frame["label"]) == {"fixed"}
    assert (project / "conf" / "study.db").exists()
    assert not (tmp_path / "elsewhere" / "study.db").exists()
    assert runs(log) == 6
    again = cli("sweep", toml, cwd=tmp_path)
    assert again.returncode == 0 and runs(log) == 6  # reused from the file's store


def test_sweep_file_float_widening_shows_in_the_csv(tmp_path, project):
    toml = write_toml(project / "conf" / "s.toml", """
script = "../scripts/typed.py"
outputs = ["thr_type"]
[params]
thr = [1, 2]
""")
    result = cli("sweep", toml, cwd=tmp_path / "elsewhere")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["thr,thr_type", "2.0,float", "1.0,float"]


def test_sweep_file_stop_after_outputs(tmp_path, write_script):
    write_script(STOPPER, "stopper.py")
    toml = write_toml(tmp_path / "s.toml", """
script = "stopper.py"
outputs = ["first"]
stop_after_outputs = true
[params]
x = [2, 3]
""")
    result = cli("sweep", toml, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert csv_rows(result.stdout)["first"].tolist() == [10, 20, 30]


def test_sweep_file_workers(tmp_path, write_script):
    rendezvous_script(write_script, tmp_path)
    toml = write_toml(tmp_path / "s.toml", """
script = "rendezvous.py"
workers = 2
[params]
who = [1]
""")
    result = cli("sweep", toml, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(csv_rows(result.stdout)) == 2


def test_sweep_file_workers_auto_and_command_line_j(tmp_path, project, log):
    toml = write_toml(project / "conf" / "s.toml", """
script = "../scripts/typed.py"
workers = "auto"
outputs = ["prod"]
[params]
window = [1, 2]
""")
    assert cli("sweep", toml, cwd=tmp_path).returncode == 0
    assert cli("sweep", toml, "-j", "1", cwd=tmp_path).returncode == 0
    assert_usage_error(cli("sweep", toml, "-j", "many", cwd=tmp_path), "many")
    assert runs(log) == 6


def test_sweep_file_timeout(tmp_path, write_script):
    write_script(SLEEPER, "sleeper.py")
    toml = write_toml(tmp_path / "s.toml", """
script = "sleeper.py"
timeout = 0.5
workers = 2
[params]
seconds = [0]
""")
    start = time.monotonic()
    result = cli("sweep", toml, cwd=tmp_path)
    assert time.monotonic() - start < 8
    assert result.returncode == 1
    assert "timed out" in result.stderr
    assert csv_rows(result.stdout)["seconds"].tolist() == [0.0]


def test_sweep_file_warm(tmp_path, project):
    text = """
script = "../scripts/typed.py"
outputs = ["prod", "window_type"]
[params]
window = [1, 2]
"""
    cold = cli("sweep", write_toml(project / "conf" / "cold.toml", text), cwd=tmp_path)
    warm = cli("sweep", write_toml(project / "conf" / "warm.toml", "warm = true\n" + text),
               cwd=tmp_path)
    assert cold.returncode == warm.returncode == 0, warm.stderr
    assert "running cold" not in warm.stderr
    assert warm.stdout == cold.stdout


def test_sweep_file_rerun_and_backup(tmp_path, project, log):
    base = """
script = "../scripts/typed.py"
store = "study.db"
outputs = ["prod"]
[params]
window = [4]
"""
    plain = write_toml(project / "conf" / "plain.toml", base)
    assert cli("sweep", plain, cwd=tmp_path).returncode == 0
    assert runs(log) == 2
    assert cli("sweep", plain, cwd=tmp_path).returncode == 0
    assert runs(log) == 2
    assert list((project / "conf").glob("study.db.bak-*")) == []
    rerun = write_toml(project / "conf" / "rerun.toml", "rerun = true\nbackup = true\n" + base)
    assert cli("sweep", rerun, cwd=tmp_path).returncode == 0
    assert runs(log) == 4
    assert len(list((project / "conf").glob("study.db.bak-*"))) == 1


WHERE = """
import os
from py3r_script import Output, Param
k = Param(1, name="k")
print("x" * 1000)
Output(os.getcwd(), name="cwd")
"""


def test_sweep_file_workdir_and_capture_limit(tmp_path, write_script):
    write_script(WHERE, "where.py", directory=tmp_path / "proj")
    toml = write_toml(tmp_path / "proj" / "s.toml", """
script = "where.py"
workdir = "calc"
store = "study.db"
capture_limit = 10
[params]
k = [2]
""")
    result = cli("sweep", toml, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    cwds = csv_rows(result.stdout)["cwd"].tolist()
    assert len(cwds) == 2
    for folder in cwds:
        assert Path(folder).parent == tmp_path / "proj" / "calc"
        assert Path(folder).is_dir()
    records = py3r_script.load(tmp_path / "proj" / "study.db").records
    assert len(records) == 2
    for record in records:  # the last 10 bytes of the 1001 printed, and a note
        assert record.stdout.endswith("x" * 9 + "\n")
        assert record.stdout.count("x") == 9
        assert "991 earlier bytes not kept" in record.stdout


def test_sweep_file_linked(tmp_path, project):
    toml = write_toml(project / "conf" / "s.toml", """
script = "../scripts/typed.py"
mode = "grid"
outputs = ["prod", "thr_type"]

[[linked]]
names = ["window", "thr"]
values = [[1, 10], [5, 20]]

[params]
label = ["x"]
""")
    result = cli("sweep", toml, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    frame = csv_rows(result.stdout)
    pairs = set(zip(frame["window"], frame["thr"]))
    assert pairs == {(1, 10.0), (5, 20.0), (3, 2.0)}  # linked pairs plus the nominal pair
    assert len(frame) == 6  # 3 linked pairs x ("x", "abc")
    assert set(frame["thr_type"]) == {"float"}
    assert sorted(frame["prod"]) == sorted([10.0, 100.0, 6.0] * 2)


def test_sweep_file_points(tmp_path, project, log):
    toml = write_toml(project / "conf" / "s.toml", """
script = "../scripts/typed.py"
outputs = ["prod", "thr_type"]

[[points]]
window = 2

[[points]]
window = 4
thr = 3
""")
    result = cli("sweep", toml, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    frame = csv_rows(result.stdout)
    assert frame[["window", "thr", "prod", "thr_type"]].values.tolist() == [
        [2, 2.0, 4.0, "float"], [4, 3.0, 12.0, "float"]]
    assert runs(log) == 2


SAMPLE_TOML = """
script = "../scripts/typed.py"
outputs = ["thr_type", "window_type"]

[sample]
method = "lhs"
n = 4
seed = 11

[sample.ranges]
thr = [0.5, 1.5]

[sample.choices]
window = [7, 8]
"""


def test_sweep_file_sample(tmp_path, project):
    toml = write_toml(project / "conf" / "s.toml", SAMPLE_TOML)
    first = cli("sweep", toml, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    frame = csv_rows(first.stdout)
    assert len(frame) == 4
    assert frame["thr"].between(0.5, 1.5).all()
    assert set(frame["window"]) <= {7, 8}
    assert set(frame["thr_type"]) == {"float"} and set(frame["window_type"]) == {"int"}
    assert cli("sweep", toml, cwd=tmp_path).stdout == first.stdout  # same seed, same draws
    other = write_toml(project / "conf" / "r.toml",
                       SAMPLE_TOML.replace('"lhs"', '"random"').replace("11", "12"))
    assert cli("sweep", other, cwd=tmp_path).stdout != first.stdout


def test_sweep_file_sample_choices_widen_ints_for_a_float_param(tmp_path, project):
    toml = write_toml(project / "conf" / "s.toml", """
script = "../scripts/typed.py"
outputs = ["thr_type"]
[sample]
n = 4
seed = 1
[sample.choices]
thr = [1, 2]
""")
    result = cli("sweep", toml, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert set(csv_rows(result.stdout)["thr_type"]) == {"float"}


def test_sweep_file_sample_int_range_for_a_float_param_draws_floats(tmp_path, project):
    toml = write_toml(project / "conf" / "s.toml", """
script = "../scripts/typed.py"
outputs = ["thr_type"]
[sample]
n = 8
seed = 1
[sample.ranges]
thr = [1, 4]
""")
    result = cli("sweep", toml, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    frame = csv_rows(result.stdout)
    assert set(frame["thr_type"]) == {"float"}
    assert not all(float(v).is_integer() for v in frame["thr"])


def test_sweep_file_value_of_the_wrong_type_is_exit_2(tmp_path, project, log):
    toml = write_toml(project / "conf" / "s.toml", """
script = "../scripts/typed.py"
[params]
window = ["abc"]
""")
    result = cli("sweep", toml, cwd=tmp_path)
    assert_usage_error(result, f"{toml}, line 3: params.window: parameter 'window' expects "
                               "int (the type of its default), got str 'abc'; use e.g. 3")
    assert runs(log) == 0


def test_command_line_overrides_the_file(tmp_path, project, log):
    toml = write_toml(project / "conf" / "s.toml", """
script = "../scripts/typed.py"
outputs = ["prod"]
store = "study.db"
[params]
window = [4]
""")
    preview = cli("sweep", toml, "--dry-run", cwd=tmp_path)
    assert preview.returncode == 0, preview.stderr
    assert runs(log) == 0
    assert csv_rows(preview.stdout)["_action"].tolist() == ["run", "run"]
    other = cli("sweep", toml, "--output", "window_type", "--store", "mine.db", cwd=tmp_path)
    assert other.returncode == 0, other.stderr
    assert list(csv_rows(other.stdout).columns) == ["window", "window_type"]
    assert (tmp_path / "mine.db").exists()  # a command-line path is relative to the cwd
    assert not (project / "conf" / "study.db").exists()
    preview = cli("sweep", toml, "--dry-run", "--store", "mine.db", "--output", "window_type",
                  "--format", "json", cwd=tmp_path)
    assert [r["_action"] for r in json.loads(preview.stdout)] == ["reuse", "reuse"]


@pytest.mark.parametrize(("text", "needles"), [
    ('script = "typed.py"\n\nworkerz = 2\n[params]\nwindow = [1]\n',
     ["bad.toml, line 3", "'workerz'"]),
    ('script = "typed.py"\ntimeout = "long"\n[params]\nwindow = [1]\n',
     ["bad.toml, line 2", "timeout"]),
    ('[params]\nwindow = [1]\n', ["bad.toml", "'script'"]),
    ('script = "typed.py"\n[params]\nthr = [1.0]\nwindow = 4\n',
     ["bad.toml, line 4", "params.window", "list"]),
    ('script = "typed.py\n[params]\n', ["bad.toml", "not valid TOML", "line 1"]),
    ('script = "typed.py"\n[params]\nwindw = [1]\n',
     ["bad.toml, line 3", "params.windw", "unknown parameter 'windw'", "'window'"]),
    ('script = "typed.py"\n[params]\nwindow = [1]\n[nominal]\nwindw = 3\n',
     ["bad.toml, line 5", "nominal.windw", "Did you mean 'window'?"]),
    ('script = "typed.py"\n[params]\nwindow = []\n',
     ["bad.toml, line 3", "params.window is an empty list"]),
    ('script = "typed.py"\n[params]\nopt = [1979-05-27]\n',
     ["bad.toml, line 3", "params.opt", "is not a parameter value"]),
    ('script = "typed.py"\noutputs = []\n[params]\nwindow = [1]\n',
     ["bad.toml, line 2", "outputs is empty"]),
    ('script = "typed.py"\noutputs = ["nosuch"]\n[params]\nwindow = [1]\n',
     ["bad.toml, line 2", "unknown output 'nosuch'"]),
    ('script = ""\n[params]\nwindow = [1]\n', ["bad.toml, line 1", "script is empty"]),
    ('script = "nowhere.py"\n[params]\nwindow = [1]\n',
     ["bad.toml, line 1", "nowhere.py", "relative to the sweep file"]),
    ('script = "typed.py"\nrerun = true\n[params]\nwindow = [1]\n',
     ["bad.toml, line 2", "rerun = true needs a study database", "--store DB"]),
    ('script = "typed.py"\n[params]\nwindow = [1]\n[[points]]\nwindow = 2\n', ["one design"]),
    ('script = "typed.py"\nmode = "sideways"\n[params]\nwindow = [1]\n', ["sideways"]),
])
def test_bad_sweep_files_are_exit_2(tmp_path, marked_typed, marker, text, needles):
    toml = write_toml(tmp_path / "bad.toml", text)
    result = cli("sweep", toml.name, cwd=tmp_path)
    assert_usage_error(result, *needles)
    assert not marker.exists()


def test_missing_sweep_file_is_exit_2(tmp_path):
    assert_usage_error(cli("sweep", "nope.toml", cwd=tmp_path), "nope.toml")


def test_shipped_sample_sweep_file_runs(tmp_path):
    toml = REPO / "sample_pipelines" / "oft_sweep.toml"
    before = sorted(p.name for p in toml.parent.iterdir())
    result = cli("sweep", toml, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    frame = csv_rows(result.stdout)
    assert len(frame) == 5
    assert list(frame.columns) == ["smooth_window", "threshold", "seed", "distance_cm",
                                   "time_moving", "centre_time", "mean_speed"]
    assert sorted(frame["threshold"]) == [1.0, 2.0, 2.0, 2.0, 4.0]
    assert sorted(p.name for p in toml.parent.iterdir()) == before  # nothing written there


def test_no_flag_overrides_a_sweep_file_setting(tmp_path):
    counter = tmp_path / "runs.txt"
    (tmp_path / "s.py").write_text(
        "from py3r_script import Output, Param\n"
        "x = Param(1, name='x')\n"
        f"open({str(counter)!r}, 'a').write('x')\n"
        "Output(x, name='y')\n"
    )
    (tmp_path / "s.toml").write_text('script = "s.py"\nwarm = true\n'
                                     "[params]\nx = [2]\n")
    dry = cli("sweep", "s.toml", "--dry-run", "--no-warm", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert not counter.exists()
    ran = cli("sweep", "s.toml", "--no-warm", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert counter.read_text() == "xx"


DESIGN_SCRIPT = """
from py3r_script import Output, Param
a = Param(1, name="a")
b = Param(0.5, name="b")
tag = Param("t", name="tag")
Output(f"{type(a).__name__}:{a}|{type(b).__name__}:{b}|{tag}", name="seen")
"""


def _seen(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return pd.read_csv(io.StringIO(result.stdout))["seen"].tolist()


def test_sweep_a_script_with_linked_parameters_in_a_grid(tmp_path):
    (tmp_path / "d.py").write_text(DESIGN_SCRIPT)
    seen = _seen(cli("sweep", "d.py", "--link", "a,b=2:1.5,3:2.5", "-s", "tag=x,y",
                     cwd=tmp_path))
    assert sorted(seen) == sorted(f"int:{a}|float:{b}|{t}"
                                  for a, b in ((2, 1.5), (3, 2.5), (1, 0.5))
                                  for t in ("x", "y", "t"))


def test_sweep_a_script_from_a_points_file(tmp_path):
    (tmp_path / "d.py").write_text(DESIGN_SCRIPT)
    (tmp_path / "points.csv").write_text("a,b,tag\n7,2,p\n8,,q\n")
    seen = _seen(cli("sweep", "d.py", "--points", "points.csv", cwd=tmp_path))
    assert seen == ["int:7|float:2.0|p", "int:8|float:0.5|q"]


def test_sweep_a_script_with_sampled_ranges_is_reproducible(tmp_path):
    (tmp_path / "d.py").write_text(DESIGN_SCRIPT)
    args = ("sweep", "d.py", "--sample", "a=1:9", "--sample", "b=0.1:10:log",
            "--sample", "tag=u,v", "-n", "5", "--seed", "3")
    first, again = _seen(cli(*args, cwd=tmp_path)), _seen(cli(*args, cwd=tmp_path))
    assert first == again and len(first) == 5
    for item in first:
        a, b, tag = item.split("|")
        assert a.startswith("int:") and 1 <= int(a[4:]) <= 9
        assert b.startswith("float:") and 0.1 <= float(b[6:]) <= 10
        assert tag in ("u", "v")


def test_sweep_design_errors_are_usage_errors(tmp_path):
    (tmp_path / "d.py").write_text(DESIGN_SCRIPT)
    (tmp_path / "s.toml").write_text('script = "d.py"\n[params]\na = [2]\n')
    (tmp_path / "p.csv").write_text("a\n2\n")
    for args, message in [
        (("--sample", "a=1:9"), "needs -n N"),
        (("--link", "a=1:2"), "NAME,NAME="),
        (("--link", "a,b=1:2:3"), "take 2 values"),
        (("--sample", "a=1:x", "-n", "2"), "expects int"),
        (("-s", "a=1", "--points", "p.csv"), "give exactly one design"),
        (("--points", "missing.csv"), "No such file"),
    ]:
        result = cli("sweep", "d.py", *args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
    result = cli("sweep", "s.toml", "-s", "a=3", cwd=tmp_path)
    assert result.returncode == 2 and "design options go with a script" in result.stderr


def test_merge_command(tmp_path):
    (tmp_path / "d.py").write_text(DESIGN_SCRIPT)
    for name, value in (("one.db", "2"), ("two.db", "3")):
        assert cli("sensitivity", "d.py", "-s", f"a={value}", "--store", name,
                   cwd=tmp_path).returncode == 0
    result = cli("merge", "all.db", "one.db", "two.db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "one.db: 2 iteration(s) added" in result.stderr
    shown = cli("show", "all.db", cwd=tmp_path)
    assert len(pd.read_csv(io.StringIO(shown.stdout))) == 2
    again = cli("merge", "all.db", "one.db", cwd=tmp_path)
    assert "one.db: 0 iteration(s) added" in again.stderr
    bad = cli("merge", "all.db", "d.py", cwd=tmp_path)
    assert_usage_error(bad, "d.py is not a py3r-script study", "give a study database")
    assert "store=" not in bad.stderr


ARGV_ENV_SCRIPT = """
import os
import sys
from py3r_script import Output, Param
x = Param(1, name="x")
Output(" ".join(sys.argv[1:]) + "|" + os.environ.get("FLAVOUR", "-"), name="seen")
"""


def test_env_and_argv_from_the_command_line_and_a_sweep_file(tmp_path):
    (tmp_path / "a.py").write_text(ARGV_ENV_SCRIPT)
    result = cli("run", "a.py", "--env", "FLAVOUR=mint", "--argv", "--input 'a b.csv'",
                 cwd=tmp_path)
    assert _seen(result) == ["--input a b.csv|mint"]
    (tmp_path / "a.toml").write_text('script = "a.py"\nargv = ["-v"]\n[env]\nFLAVOUR = "lime"\n'
                                     "[params]\nx = [2]\n")
    assert _seen(cli("sweep", "a.toml", cwd=tmp_path)) == ["-v|lime", "-v|lime"]
    (tmp_path / "bad.toml").write_text('script = "a.py"\n[env]\nN = 1\n[params]\nx = [2]\n')
    bad = cli("sweep", "bad.toml", cwd=tmp_path)
    assert bad.returncode == 2 and "bad.toml, line 2: env values must be strings" in bad.stderr
    assert cli("run", "a.py", "--env", "NOEQUALS", cwd=tmp_path).returncode == 2


# -- sweep-file overrides, design flags and messages in flag terms -----------------------------


def test_sweep_file_mode_and_sampling_flags_override_the_file(tmp_path, project):
    grid = write_toml(project / "conf" / "g.toml", """
script = "../scripts/typed.py"
outputs = ["prod"]
[params]
window = [4]
thr = [1]
""")
    assert len(csv_rows(cli("sweep", grid, cwd=tmp_path).stdout)) == 3  # independent
    result = cli("sweep", grid, "--mode", "grid", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(csv_rows(result.stdout)) == 4

    sample = write_toml(project / "conf" / "s.toml", SAMPLE_TOML)
    default = cli("sweep", sample, cwd=tmp_path).stdout
    fewer = cli("sweep", sample, "-n", "2", cwd=tmp_path)
    assert fewer.returncode == 0, fewer.stderr
    assert len(csv_rows(fewer.stdout)) == 2
    for flags in (("--seed", "12"), ("--method", "random")):
        other = cli("sweep", sample, *flags, cwd=tmp_path)
        assert other.returncode == 0, other.stderr
        assert len(csv_rows(other.stdout)) == 4 and other.stdout != default, flags
    assert cli("sweep", sample, "--seed", "11", cwd=tmp_path).stdout == default


def test_sweep_file_flags_that_do_nothing_for_its_design_are_exit_2(tmp_path, project, log):
    params = write_toml(project / "conf" / "p.toml", """
script = "../scripts/typed.py"
[params]
window = [4]
""")
    sample = write_toml(project / "conf" / "s.toml", SAMPLE_TOML)
    result = cli("sweep", sample, "--mode", "grid", cwd=tmp_path)
    assert_usage_error(result, "--mode", f"the [sample] design of {sample}", "leave it out")
    result = cli("sweep", params, "-n", "3", "--seed", "1", cwd=tmp_path)
    assert_usage_error(result, "-n, --seed go with --sample",
                       f"the [params] design of {params}", "leave them out")
    assert runs(log) == 0


def test_sweep_a_script_design_flags_that_do_nothing_are_exit_2(tmp_path):
    (tmp_path / "d.py").write_text(DESIGN_SCRIPT)
    (tmp_path / "p.csv").write_text("a\n2\n")
    for args, needles in [
        ((), ["no design for d.py", "-s NAME=V1,V2", "--link A,B=", "--points CSV",
              "--sample NAME=LOW:HIGH with -n N"]),
        (("--points", "p.csv", "--mode", "independent"), ["--mode", "a --points design"]),
        (("-s", "a=2", "--seed", "3"), ["--seed go with --sample", "a -s/--link design"]),
        (("-s", "a=2", "--sample", "b=0:1", "-n", "2"),
         ["give exactly one design: -s/--link, --points or --sample; got -s/--link and "
          "--sample"]),
    ]:
        result = cli("sweep", "d.py", *args, cwd=tmp_path)
        assert_usage_error(result, *needles)
        assert "(value lists)" not in result.stderr and "sample=" not in result.stderr


UNKNOWN_DEFAULTS = """
from py3r_script import Output, Param
req = Param(name="req")
expr = Param(2 * 3, name="expr")
Output(f"{req}|{expr}", name="seen")
"""


def test_missing_values_are_asked_for_in_flag_terms(tmp_path, write_script):
    write_script(UNKNOWN_DEFAULTS, "u.py")
    (tmp_path / "p.csv").write_text("expr\n4\n")
    (tmp_path / "u.toml").write_text('script = "u.py"\n[params]\nexpr = [4]\n'
                                     '[nominal]\nreq = 1\n')
    for args, needles in [
        (("run", "u.py"), ["'req' have no default", "give -p req=VALUE"]),
        (("sensitivity", "u.py", "-s", "expr=4"), ["give --nominal req=VALUE"]),
        (("sensitivity", "u.py", "-s", "expr=4", "--nominal", "req=1"),
         ["'expr' (its default 2 * 3 is only known at run time)",
          "give --nominal expr=VALUE, or use --mode grid"]),
        (("sweep", "u.py", "--points", "p.csv"),
         ["give --nominal req=VALUE (or a req column in the --points file)"]),
        (("sweep", "u.toml"), ["u.toml: an independent sweep", "expr = VALUE in [nominal]",
                               'or use mode = "grid"']),
    ]:
        result = cli(*args, cwd=tmp_path)
        assert_usage_error(result, *needles)
        assert "nominal={" not in result.stderr and "mode='grid'" not in result.stderr
        assert "run(script" not in result.stderr
    result = cli("sensitivity", "u.py", "-s", "expr=4", "--nominal", "req=1", "--mode", "grid",
                 cwd=tmp_path)
    assert _seen(result) == ["1|4"]


@pytest.mark.parametrize(("flags", "needles"), [
    (("--workdir",), ["--workdir without a folder", "needs --store DB", "--workdir DIR"]),
    (("--backup",), ["--backup", "needs a study: give --store DB"]),
    (("--rerun",), ["--rerun", "needs a study: give --store DB"]),
])
def test_flags_that_need_a_study_say_so_in_flag_terms(tmp_path, marked_typed, marker, flags,
                                                      needles):
    for command in (("run",), ("sensitivity", "-s", "window=4"), ("sweep", "-s", "window=4")):
        result = cli(command[0], marked_typed, *command[1:], *flags, cwd=tmp_path)
        assert_usage_error(result, *needles)
        assert "store=" not in result.stderr and "=True" not in result.stderr
    assert not marker.exists()


def test_a_sweep_file_where_a_script_belongs_is_exit_2(tmp_path, project, log):
    toml = write_toml(project / "conf" / "S.TOML", """
script = "../scripts/typed.py"
[params]
window = [4]
""")
    result = cli("inspect", toml, cwd=tmp_path)
    assert_usage_error(result, "is a sweep file, not a script", f"py3r-script sweep {toml}",
                       "or inspect the script it names: py3r-script inspect "
                       f"{project / 'conf' / '..' / 'scripts' / 'typed.py'}")
    for command in (("run",), ("sensitivity", "-s", "window=5")):
        result = cli(command[0], toml, *command[1:], cwd=tmp_path)
        assert_usage_error(result, "is a sweep file, not a script", "py3r-script sweep")
    assert runs(log) == 0
    ran = cli("sweep", toml, "--output", "prod", cwd=tmp_path)  # the suffix in capitals
    assert ran.returncode == 0, ran.stderr
    assert csv_rows(ran.stdout)["window"].tolist() == [3, 4]


def test_an_unexpected_error_is_a_traceback_not_a_usage_error(tmp_path, typed):
    broken = """
        import py3r_script.designs.inspection
        def inspect_script(path):
            raise ValueError("an internal bug")
        py3r_script.designs.inspection.inspect_script = inspect_script
    """
    result = cli_after(broken, "run", typed, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "ValueError: an internal bug" in result.stderr
    assert "py3r-script: error" not in result.stderr


def test_argv_with_an_unclosed_quote_is_exit_2(tmp_path, marked_typed, marker):
    result = cli("run", marked_typed, "--argv", "--input 'a b.csv", cwd=tmp_path)
    assert_usage_error(result, "--argv", "No closing quotation")
    assert not marker.exists()


def test_sweep_without_the_nominal_values_runs_exactly_the_grid(tmp_path, typed, log):
    exact = cli("sweep", typed, "-s", "window=1,2", "--no-include-nominal", "--format", "csv",
                cwd=tmp_path)
    assert exact.returncode == 0, exact.stderr
    assert csv_rows(exact.stdout)["window"].tolist() == [1, 2]
    assert runs(log) == 2
    usual = cli("sweep", typed, "-s", "window=1,2", "--format", "csv", cwd=tmp_path)
    assert csv_rows(usual.stdout)["window"].tolist() == [1, 2, 3]  # the default 3 added
    assert_usage_error(cli("sweep", typed, "-s", "window=1,2", "--mode", "independent",
                           "--no-include-nominal", cwd=tmp_path),
                       "leaving the nominal values out is for a grid (--mode grid)")
    assert_usage_error(cli("sweep", typed, "--sample", "thr=0:1", "-n", "2",
                           "--no-include-nominal", cwd=tmp_path),
                       "--include-nominal decides whether a grid", "leave it out")
    assert runs(log) == 5  # the refused ones ran nothing


def test_a_sampled_sweep_says_its_seed_so_it_can_be_repeated(tmp_path, typed):
    first = cli("sweep", typed, "--sample", "thr=0:1", "-n", "3", "--format", "csv",
                cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    seed = re.search(r"sampled \(lhs\) with seed (\d+): --seed \1 draws", first.stderr)
    assert seed, first.stderr
    again = cli("sweep", typed, "--sample", "thr=0:1", "-n", "3", "--seed", seed.group(1),
                "--format", "csv", cwd=tmp_path)
    assert csv_rows(again.stdout)["thr"].tolist() == csv_rows(first.stdout)["thr"].tolist()
    preview = cli("sweep", typed, "--sample", "thr=0:1", "-n", "3", "--seed", "7",
                  "--dry-run", cwd=tmp_path)
    assert "planned (lhs, seed 7)" in preview.stderr
