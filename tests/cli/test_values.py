"""Parameter values given as text (``-p``, ``-s``, ``--nominal``), typed by the script's
defaults; values that do not fit are usage errors before anything runs."""

from __future__ import annotations

import json
import sqlite3

import pytest


def test_int_default_gives_ints(tmp_path, typed, cli):
    result = cli("sensitivity", typed, "-s", "window=3,5", "--output", "window_type",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["window,window_type", "3,int", "5,int"]


def test_float_default_turns_ints_into_floats(tmp_path, typed, cli):
    result = cli("sensitivity", typed, "-s", "thr=1,3", "--output", "thr_type", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["thr,thr_type", "2.0,float", "1.0,float",
                                          "3.0,float"]


def test_scientific_float(tmp_path, typed, cli):
    result = cli("sensitivity", typed, "-s", "thr=1e-3", "--nominal", "thr=2.5e1",
                 "--output", "prod", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert [r["thr"] for r in records] == [25.0, 0.001]
    assert [r["prod"] for r in records] == [75.0, pytest.approx(0.003)]


def test_bools(tmp_path, typed, cli):
    result = cli("sensitivity", typed, "-s", "flag=true,false", "--nominal", "flag=yes",
                 "--output", "flag_type", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert [r["flag"] for r in records] == [True, False]
    assert {r["flag_type"] for r in records} == {"bool"}


def test_none_and_untyped_default(tmp_path, typed, cli):
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


def test_quoted_string_keeps_its_comma(tmp_path, typed, cli, csv_rows):
    # the shell turns  -s label="'a,b'",c  into the argument  label='a,b',c
    result = cli("sensitivity", typed, "-s", "label='a,b',c", "--nominal", "label=c",
                 "--output", "label_type", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    frame = csv_rows(result.stdout)
    assert sorted(frame["label"]) == ["a,b", "c"]  # two values, not three
    assert set(frame["label_type"]) == {"str"}


def test_quoted_number_for_a_string_param_stays_a_string(tmp_path, typed, cli):
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
        tmp_path, marked_typed, marker, assignment, expected, cli, assert_usage_error):
    name = assignment.split("=")[0]
    result = cli("sensitivity", marked_typed, "-s", assignment, cwd=tmp_path)
    assert_usage_error(result, f"'{name}'", expected)
    assert not marker.exists()


def test_bad_nominal_value_is_exit_2(tmp_path, marked_typed, marker, cli, assert_usage_error):
    result = cli("sensitivity", marked_typed, "-s", "window=3", "--nominal", "thr=high",
                 cwd=tmp_path)
    assert_usage_error(result, "'thr'", "float")
    assert not marker.exists()


def test_unknown_parameter_suggests_the_close_name(tmp_path, marked_typed, marker, cli,
                                                   assert_usage_error):
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
def test_missing_equals_is_exit_2(tmp_path, marked_typed, marker, args, cli, assert_usage_error):
    result = cli(args[0], marked_typed, *args[1:], cwd=tmp_path)
    assert_usage_error(result, "NAME=")
    assert not marker.exists()


@pytest.mark.parametrize(("assignment", "needle"), [
    ("label=a,,b", "empty value"),
    ("label=a,", "empty value"),
    ("label='a,b", "unbalanced"),
])
def test_empty_item_or_unbalanced_quote_is_exit_2(tmp_path, marked_typed, marker, assignment,
                                                  needle, cli, assert_usage_error):
    result = cli("sensitivity", marked_typed, "-s", assignment, cwd=tmp_path)
    assert_usage_error(result, needle)
    assert not marker.exists()


def test_repeated_sweep_flag_for_one_parameter_sweeps_the_values_of_both(tmp_path, typed, cli,
                                                                         csv_rows):
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
                                                            args, cli, assert_usage_error):
    flag = args[-2]
    result = cli(args[0], marked_typed, *args[1:], cwd=tmp_path)
    assert_usage_error(result, f"{flag} gives 'window' twice (4 and 5)", "one value")
    assert not marker.exists()


def test_a_quote_inside_a_word_is_part_of_the_value(tmp_path, typed, cli, csv_rows):
    result = cli("sensitivity", typed, "-s", "label=it's,'a,b'", "--output", "label_type",
                 "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [r["label"] for r in json.loads(result.stdout)] == ["abc", "it's", "a,b"]
    single = cli("run", typed, "-p", "label=it's", "--output", "label_type", cwd=tmp_path)
    assert csv_rows(single.stdout)["label"].tolist() == ["it's"]


def test_the_api_the_command_line_and_a_sweep_file_store_the_same_parameter_sets(
        tmp_path, typed, log, cli, runs, write_toml):
    # one input, three front ends: ints widened for the float knob thr, opt (default None)
    # untyped, so its 1 and 1.0 stay two values
    from py3r_script import sweep

    design = {"window": [4], "thr": [4], "opt": [1, 1.0], "label": ["x"]}
    sweep(typed, design, include_nominal=False, store=tmp_path / "api.db", progress=False)
    result = cli("sweep", typed, "-s", "window=4", "-s", "thr=4", "-s", "opt=1,1.0",
                 "-s", "label=x", "--no-include-nominal", "--store", "cli.db", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    toml = write_toml(tmp_path / "sweep.toml", f"""
script = {typed.name!r}
mode = "grid"
include_nominal = false
store = "toml.db"
[params]
window = [4]
thr = [4]
opt = [1, 1.0]
label = ["x"]
""")
    result = cli("sweep", toml, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert runs(log) == 6

    def stored(db: str) -> set[tuple[object, ...]]:
        with sqlite3.connect(tmp_path / db) as con:
            return set(con.execute(
                "SELECT i.params_sha256, p.name, p.value, typeof(p.value), p.type "
                "FROM params p JOIN iterations i USING (iteration_id)"))

    api = stored("api.db")
    assert api == stored("cli.db") == stored("toml.db")
    assert {(value, kind) for _, name, value, kind, _ in api if name == "thr"} == {(4.0, "real")}
    assert {(value, kind) for _, name, value, _, kind in api if name == "opt"} == {
        (1, "int"), (1.0, "float")}
    # so the notebook reuses what the shell ran: nothing runs again
    sweep(typed, design, include_nominal=False, store=tmp_path / "cli.db", progress=False)
    assert runs(log) == 6
