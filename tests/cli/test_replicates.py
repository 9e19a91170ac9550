"""Replicates from the command line and sweep files: ``--replicates K``, ``--replicate-seed``,
``replicates = K``; each bad value a clear error; ``show`` lists the replicate column."""

from __future__ import annotations

import pytest

NOISY = """
import random
from py3r_script import Output, Param
mean = Param(1.0, name="mean")
seed = Param(0, name="seed")
Output(mean + random.Random(seed).gauss(0.0, 1.0), name="y")
"""


@pytest.fixture
def noisy(write_script):
    return write_script(NOISY, "noisy.py")


def test_replicates_flag_runs_each_point_k_times_and_show_lists_them(
        noisy, tmp_path, cli, csv_rows):
    result = cli("sweep", noisy, "-s", "mean=0,5", "--no-include-nominal", "--replicates", "3",
                 "--seed", "2", "--store", "s.db", "--format", "csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = csv_rows(result.stdout)
    assert list(table.columns) == ["mean", "replicate", "y"]
    assert table["replicate"].tolist() == [0, 1, 2, 0, 1, 2]
    assert "each parameter set ran 3 times, replicate seeds in 'seed' from --seed 2" in \
        result.stderr
    shown = cli("show", "s.db", "--sweep", "-1", "--format", "csv", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert csv_rows(shown.stdout)["replicate"].tolist() == [0, 1, 2, 0, 1, 2]
    single = cli("run", noisy, "--replicates", "2", "--format", "csv", cwd=tmp_path)
    assert csv_rows(single.stdout)["replicate"].tolist() == [0, 1]


@pytest.mark.parametrize("command, bad", [("run", "0"), ("sensitivity", "-1"),
                                          ("sweep", "x"), ("sweep", "1.5")])
def test_a_bad_replicates_flag_is_a_usage_error(noisy, tmp_path, cli, assert_usage_error,
                                                command, bad):
    design = [] if command == "run" else ["-s", "mean=2"]
    result = cli(command, noisy, *design, f"--replicates={bad}", cwd=tmp_path)
    assert_usage_error(result, "--replicates")
    assert "whole number" in result.stderr or "invalid int value" in result.stderr


def test_replicate_seed_flag_errors_name_the_flag(noisy, tmp_path, cli, assert_usage_error):
    result = cli("sweep", noisy, "-s", "mean=2", "--replicates", "2", "--replicate-seed",
                 "sede", cwd=tmp_path)
    assert_usage_error(result, "--replicate-seed 'sede'", "--replicate-seed none")
    swept = cli("sweep", noisy, "-s", "seed=1,2", "--replicates", "2", cwd=tmp_path)
    assert_usage_error(swept, "also gives it values", "--replicate-seed none")
    none = cli("sweep", noisy, "-s", "seed=1", "--no-include-nominal", "--replicates", "2",
               "--replicate-seed", "none", "--dry-run", "--format", "csv", cwd=tmp_path)
    assert none.returncode == 0, none.stderr
    assert "seed,replicate" in none.stdout.splitlines()[0].replace("mean,", "")


@pytest.mark.parametrize("value, problem", [
    ("0", "replicates must be a whole number of runs per parameter set, at least 1, got 0"),
    ("-1", "replicates must be a whole number of runs per parameter set, at least 1, got -1"),
    ('"x"', "replicates must be a whole number of runs per parameter set, at least 1, got a "
            "string 'x'"),
    ("1.5", "got a float 1.5"),
    ("true", "got a boolean True"),
])
def test_a_bad_replicates_key_names_its_line(noisy, tmp_path, cli, write_toml,
                                             assert_usage_error, value, problem):
    path = write_toml(tmp_path / "s.toml", f"""
script = "noisy.py"
mode = "grid"
replicates = {value}

[params]
mean = [1.0]
""")
    result = cli("sweep", path, cwd=tmp_path)
    assert result.returncode != 0
    assert "s.toml, line 3" in result.stderr and problem in result.stderr, result.stderr


def test_sweep_file_replicates_and_the_flag_that_overrides_it(noisy, tmp_path, cli, write_toml,
                                                              csv_rows):
    path = write_toml(tmp_path / "s.toml", """
script = "noisy.py"
mode = "grid"
include_nominal = false
replicates = 2
replicate_seed = "seed"

[params]
mean = [1.0]
""")
    result = cli("sweep", path, "--format", "csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert csv_rows(result.stdout)["replicate"].tolist() == [0, 1]
    more = cli("sweep", path, "--replicates", "4", "--format", "csv", cwd=tmp_path)
    assert csv_rows(more.stdout)["replicate"].tolist() == [0, 1, 2, 3]
    undeclared = write_toml(tmp_path / "u.toml", """
script = "noisy.py"
replicates = 2
replicate_seed = "sede"

[params]
mean = [1.0]
""")
    failed = cli("sweep", undeclared, cwd=tmp_path)
    assert failed.returncode != 0 and "replicate_seed = 'sede'" in failed.stderr
    assert "replicate_seed = false" in failed.stderr
