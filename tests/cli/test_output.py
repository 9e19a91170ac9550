"""What the command line writes: the table on stdout (CSV when redirected, JSON, a
readable table) or to ``-o FILE``, messages on stderr, and its exit codes."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

CONSOLE = shutil.which("py3r-script")
needs_console = pytest.mark.skipif(CONSOLE is None, reason="py3r-script is not on PATH")


TYPED_OUTPUTS = ["window_type", "thr_type", "flag_type", "label_type", "opt_type", "prod"]


def test_csv_on_stdout_when_not_a_terminal(tmp_path, typed, cli, csv_rows):
    result = cli("sensitivity", typed, "-s", "window=4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    frame = csv_rows(result.stdout)
    assert list(frame.columns) == ["window", *TYPED_OUTPUTS]
    assert frame["window"].tolist() == [3, 4]
    assert frame["prod"].tolist() == [6.0, 8.0]


def test_format_csv_explicit(tmp_path, typed, cli):
    result = cli("sensitivity", typed, "-s", "window=4", "--format", "csv", "--output", "prod",
                 cwd=tmp_path)
    assert result.stdout.splitlines() == ["window,prod", "3,6.0", "4,8.0"]


def test_format_json_gives_records(tmp_path, typed, cli):
    result = cli("sensitivity", typed, "-s", "window=4", "--format", "json",
                 "--output", "prod", "--output", "window_type", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"window": 3, "prod": 6.0, "window_type": "int"},
        {"window": 4, "prod": 8.0, "window_type": "int"},
    ]


def test_format_table_is_readable(tmp_path, typed, cli):
    result = cli("sensitivity", typed, "-s", "window=4", "--format", "table",
                 "--output", "prod", "--output", "window_type", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines == [["window", "prod", "window_type"], ["3", "6.0", "int"],
                     ["4", "8.0", "int"]]
    assert "," not in result.stdout


def test_out_csv(tmp_path, typed, cli):
    result = cli("sensitivity", typed, "-s", "window=4", "-o", "result.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "wrote 2 row(s) to result.csv" in result.stderr
    frame = pd.read_csv(tmp_path / "result.csv")
    assert list(frame.columns) == ["window", *TYPED_OUTPUTS]
    assert frame["prod"].tolist() == [6.0, 8.0]


def test_out_json(tmp_path, typed, cli):
    result = cli("run", typed, "-p", "thr=0.5", "--output", "prod", "-o", "out.json",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert json.loads((tmp_path / "out.json").read_text()) == [{"thr": 0.5, "prod": 1.5}]


def test_out_parquet(tmp_path, typed, cli):
    pytest.importorskip("pyarrow")  # in the dev extra
    result = cli("sensitivity", typed, "-s", "window=4", "--output", "prod",
                 "-o", "out.parquet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wrote 2 row(s) to out.parquet" in result.stderr
    frame = pd.read_parquet(tmp_path / "out.parquet")
    assert frame.to_dict("records") == [{"window": 3, "prod": 6.0}, {"window": 4, "prod": 8.0}]


def test_out_parquet_with_mixed_value_types_writes_them_as_strings(tmp_path, typed, cli):
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


def test_out_parquet_without_pyarrow_says_how_to_install_it(tmp_path, marked_typed, marker,
                                                            cli_after, assert_usage_error):
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
        tmp_path, marked_typed, marker, out, needles, cli, assert_usage_error):
    (tmp_path / "d.csv").mkdir()
    for command in (("run",), ("sensitivity", "-s", "window=4")):
        result = cli(command[0], marked_typed, *command[1:], "-o", out, cwd=tmp_path)
        assert_usage_error(result, *needles)
        assert not marker.exists()


def test_out_that_fails_at_the_end_prints_the_table_instead(tmp_path, write_script, cli, csv_rows):
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


def test_out_with_unknown_suffix_is_exit_2(tmp_path, typed, cli, assert_usage_error):
    result = cli("sensitivity", typed, "-s", "window=4", "-o", "out.xlsx", cwd=tmp_path)
    assert_usage_error(result, "out.xlsx", ".csv")
    assert not (tmp_path / "out.xlsx").exists()


def test_out_with_unknown_suffix_is_rejected_before_running(tmp_path, marked_typed, marker, cli):
    result = cli("sensitivity", marked_typed, "-s", "window=4", "-o", "out.xlsx", cwd=tmp_path)
    assert result.returncode == 2
    assert not marker.exists()


def test_redirected_stdout_is_a_clean_csv_file(tmp_path, typed, log, cli, runs):
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
def test_what_a_script_prints_stays_out_of_a_redirected_csv(tmp_path, write_script, flags, cli):
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


def test_non_scalar_outputs_are_left_out_with_a_note(tmp_path, write_script, cli, csv_rows):
    script = write_script(NON_SCALAR)
    result = cli("sensitivity", script, "-s", "n=3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert csv_rows(result.stdout).to_dict("records") == [{"n": 2, "square": 4},
                                                          {"n": 3, "square": 9}]
    assert "note" in result.stderr
    assert "items" in result.stderr and "mapping" in result.stderr
    assert "not scalars" in result.stderr


def test_all_succeeded_is_exit_0_and_stderr_has_no_failure(tmp_path, typed, cli, csv_rows):
    result = cli("sensitivity", typed, "-s", "window=1,2", "--mode", "grid", "-s", "thr=1,2",
                 cwd=tmp_path)
    assert result.returncode == 0
    assert "failed" not in result.stderr
    assert len(csv_rows(result.stdout)) == 6  # (3, 1, 2) x (2.0, 1.0): nominal included


def test_some_failed_is_exit_1_with_the_failures_on_stderr(tmp_path, typed, cli, csv_rows):
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


def test_an_output_named_like_a_parameter_is_its_own_column(tmp_path, write_script, cli,
                                                            csv_rows):
    script = write_script("""
        from py3r_script import Output, Param
        a = Param(2, name="a")
        Output(a * 10, name="a")
    """, "clash.py")
    result = cli("sensitivity", script, "-s", "a=1", "--store", "s.db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert csv_rows(result.stdout).values.tolist() == [[2, 20], [1, 10]]
    assert result.stdout.splitlines()[0] == "a,a:1"
    shown = cli("show", "s.db", "--sweep", "-1", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0].startswith("a,a:1,_sweep_id,")
