"""Values that cannot run are refused up front, with the key and line (a sweep file) or the
flag and parameter (the command line): parameter ints beyond 64 bits, numbers beyond a float,
samples bigger than a sweep can plan. Never a traceback, never a value that changed meaning."""

from __future__ import annotations

import sqlite3

import pytest

BIG = "9" * 5_000  # more digits than Python converts between int and text

BAD_FILES = {
    "n beyond the plan limit": (
        '[sample]\nn = 100000000000\n[sample.ranges]\nthr = [0, 1]\n',
        ["bad.toml, line 4", "sample.n = 100,000,000,000", "at most 1,000,000"]),
    "an int just beyond 64 bits": (
        "[params]\nwindow = [3, 9223372036854775808]\n",
        ["bad.toml, line 4", "params.window", "9223372036854775808", "64 bits"]),
    "a negative one, in [[points]]": (
        "[[points]]\nwindow = -9223372036854775809\n",
        ["bad.toml, line 4", "[[points]] table 1", "64 bits"]),
    "one in [nominal], for an untyped parameter": (
        "[params]\nwindow = [1]\n[nominal]\nopt = 18446744073709551616\n",
        ["bad.toml, line 6", "nominal.opt", "64 bits"]),
    "one among [sample.choices]": (
        "[sample]\nn = 2\n[sample.choices]\nopt = [1, 18446744073709551616]\n",
        ["bad.toml, line 6", "sample.choices.opt", "64 bits"]),
    "an int of 5,000 digits": (
        f"[params]\nopt = [{BIG}]\n", ["bad.toml, line 4", "4,300 digits", "64 bits"]),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_sweep_file_value_that_cannot_run_names_its_line(tmp_path, marked_typed, marker,
                                                           case, cli, assert_usage_error,
                                                           write_toml):
    text, needles = BAD_FILES[case]
    toml = write_toml(tmp_path / "bad.toml", 'script = "typed.py"\nstore = "s.db"\n' + text)
    assert_usage_error(cli("sweep", toml.name, cwd=tmp_path), *needles)
    assert not marker.exists()
    assert not (tmp_path / "s.db").exists()


BAD_FLAGS = {
    "a 5,000-digit value without a typed default": (
        ("run", "typed.py", "-p", f"opt={BIG}"),
        ["parameter 'opt' is a 5000-digit number", "64 bits"]),
    "an int just beyond 64 bits": (
        ("sweep", "typed.py", "-s", "window=1,9223372036854775808"),
        ["parameter 'window' is 9223372036854775808", "64 bits"]),
    "a float beyond the float range": (
        ("run", "typed.py", "-p", "thr=1e999"), ["parameter 'thr'", "beyond the range"]),
    "an untyped one": (
        ("run", "typed.py", "--store", "s.db", "-p", "opt=" + "9" * 400 + ".5"),
        ["parameter 'opt'", "beyond the range of a float"]),
    "-n beyond the plan limit": (
        ("sweep", "typed.py", "--sample", "thr=0:1", "-n", "100000000000"),
        ["-n asks for 100,000,000,000 parameter sets", "at most 1,000,000"]),
}


@pytest.mark.parametrize("case", list(BAD_FLAGS))
def test_a_command_line_value_that_cannot_run_is_a_usage_error(tmp_path, marked_typed, marker,
                                                               case, cli, assert_usage_error):
    args, needles = BAD_FLAGS[case]
    assert_usage_error(cli(*args, cwd=tmp_path), *needles)  # never silently inf
    assert not marker.exists()


def test_the_64_bit_extremes_and_text_that_only_looks_like_a_number(tmp_path, typed, cli):
    result = cli("sweep", typed, "--store", "s.db", "-s",
                 "opt=9223372036854775807,-9223372036854775808,٣,1_000", "--output", "opt_type",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "s.db") as con:
        stored = con.execute("SELECT value, type FROM params WHERE name = 'opt' "
                             "ORDER BY rowid").fetchall()
    assert stored == [(2**63 - 1, "int"), (-(2**63), "int"), ("٣", "str"), (1000, "int"),
                      (None, "NoneType")]  # an Arabic-Indic digit stays text
