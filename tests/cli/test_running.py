"""``run`` and the run options as flags: outputs, workers, timeout, warm starts, dry
runs, reruns, the environment and arguments of the script."""

from __future__ import annotations

import io
import subprocess
import time

import pandas as pd
import pytest


def test_run_once_with_typed_params(tmp_path, typed, log, cli, csv_rows, runs):
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


def test_run_output_selects_columns(tmp_path, typed, cli, csv_rows):
    result = cli("run", typed, "-p", "window=5", "--output", "prod", "--output", "thr_type",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert list(csv_rows(result.stdout).columns) == ["window", "prod", "thr_type"]


def test_run_unknown_output_is_exit_2(tmp_path, marked_typed, marker, cli, assert_usage_error):
    result = cli("run", marked_typed, "--output", "prd", cwd=tmp_path)
    assert_usage_error(result, "'prd'", "prod")
    assert not marker.exists()


def test_run_a_list_is_not_one_value(tmp_path, marked_typed, marker, cli, assert_usage_error):
    result = cli("run", marked_typed, "-p", "window=3,5", cwd=tmp_path)
    assert_usage_error(result, "'window'", "int")
    assert not marker.exists()


STOPPER = """
from py3r_script import Output, Param
x = Param(1, name="x")
Output(x * 10, name="first")
raise RuntimeError("the rest of the script is slow or broken")
"""


def test_run_stop_after_outputs_ends_the_script_early(tmp_path, write_script, cli, csv_rows):
    script = write_script(STOPPER)
    full = cli("run", script, "--output", "first", cwd=tmp_path)
    assert full.returncode == 1
    assert "the rest of the script" in full.stderr
    early = cli("run", script, "-p", "x=2", "--output", "first", "--stop-after-outputs",
                cwd=tmp_path)
    assert early.returncode == 0, early.stderr
    assert csv_rows(early.stdout).to_dict("records") == [{"x": 2, "first": 20}]


def test_two_workers_run_iterations_at_the_same_time(tmp_path, write_script, cli, csv_rows,
                                                     rendezvous_script):
    script = rendezvous_script(write_script, tmp_path)
    result = cli("sensitivity", script, "-s", "who=1", "-j", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(csv_rows(result.stdout)["who_out"]) == [0, 1]


def test_workers_auto(tmp_path, typed, log, cli, csv_rows, runs):
    result = cli("sensitivity", typed, "-s", "window=1,2,4", "-j", "auto", "--output", "prod",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(csv_rows(result.stdout)["window"]) == [1, 2, 3, 4]
    assert runs(log) == 4


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5"])
def test_bad_workers_is_exit_2(tmp_path, marked_typed, marker, value, cli, assert_usage_error):
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


def test_timeout_kills_a_slow_iteration(tmp_path, write_script, cli, csv_rows):
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
def test_bad_timeout_is_exit_2(tmp_path, marked_typed, marker, value, cli, assert_usage_error):
    result = cli("sensitivity", marked_typed, "-s", "window=4", "--timeout", value,
                 cwd=tmp_path)
    assert_usage_error(result, "timeout")
    assert not marker.exists()


def test_warm_gives_the_same_results_as_cold(tmp_path, typed, log, cli, csv_rows, runs):
    args = ("sensitivity", typed, "-s", "window=1", "-s", "thr=0.5")
    cold = cli(*args, cwd=tmp_path)
    warm = cli(*args, "--warm", cwd=tmp_path)
    assert cold.returncode == warm.returncode == 0, warm.stderr
    assert "running cold" not in warm.stderr
    assert warm.stdout == cold.stdout
    assert len(csv_rows(warm.stdout)) == 3
    assert runs(log) == 6


def test_dry_run_runs_nothing_and_shows_run_or_reuse(tmp_path, typed, log, cli, csv_rows, runs):
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


def test_dry_run_without_store(tmp_path, marked_typed, marker, cli, csv_rows):
    result = cli("sensitivity", marked_typed, "-s", "window=4", "-s", "thr=1", "--dry-run",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    frame = csv_rows(result.stdout)
    assert frame["_action"].tolist() == ["run"] * 3


def test_rerun_runs_again(tmp_path, typed, log, cli, runs):
    for _ in range(2):
        assert cli("sensitivity", typed, "-s", "window=4", "--store", "s.db",
                   cwd=tmp_path).returncode == 0
    assert runs(log) == 2
    assert cli("sensitivity", typed, "-s", "window=4", "--store", "s.db", "--rerun",
               cwd=tmp_path).returncode == 0
    assert runs(log) == 4


def test_rerun_without_store_is_exit_2(tmp_path, marked_typed, marker, cli, assert_usage_error):
    result = cli("sensitivity", marked_typed, "-s", "window=4", "--rerun", cwd=tmp_path)
    assert_usage_error(result, "store")
    assert not marker.exists()


ARGV_ENV_SCRIPT = """
import os
import sys
from py3r_script import Output, Param
x = Param(1, name="x")
Output(" ".join(sys.argv[1:]) + "|" + os.environ.get("FLAVOUR", "-"), name="seen")
"""


def _seen(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return pd.read_csv(io.StringIO(result.stdout))["seen"].tolist()


def test_env_and_argv_from_the_command_line_and_a_sweep_file(tmp_path, cli):
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


@pytest.mark.parametrize(("flags", "needles"), [
    (("--workdir",), ["--workdir without a folder", "needs --store DB", "--workdir DIR"]),
    (("--backup",), ["--backup", "needs a study: give --store DB"]),
    (("--rerun",), ["--rerun", "needs a study: give --store DB"]),
])
def test_flags_that_need_a_study_say_so_in_flag_terms(tmp_path, marked_typed, marker, flags,
                                                      needles, cli, assert_usage_error):
    for command in (("run",), ("sensitivity", "-s", "window=4"), ("sweep", "-s", "window=4")):
        result = cli(command[0], marked_typed, *command[1:], *flags, cwd=tmp_path)
        assert_usage_error(result, *needles)
        assert "store=" not in result.stderr and "=True" not in result.stderr
    assert not marker.exists()


def test_argv_with_an_unclosed_quote_is_exit_2(tmp_path, marked_typed, marker, cli,
                                               assert_usage_error):
    result = cli("run", marked_typed, "--argv", "--input 'a b.csv", cwd=tmp_path)
    assert_usage_error(result, "--argv", "No closing quotation")
    assert not marker.exists()
