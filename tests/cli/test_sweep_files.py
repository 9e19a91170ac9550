"""``sweep FILE.toml`` end to end: paths relative to the file, every key, each design,
errors with their line, and the flags that override the file (``read_sweep_file``
itself is tested in test_sweepfile.py)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

import py3r_script

REPO = Path(__file__).resolve().parents[2]  # the repository


STOPPER = """
from py3r_script import Output, Param
x = Param(1, name="x")
Output(x * 10, name="first")
raise RuntimeError("the rest of the script is slow or broken")
"""


SLEEPER = """
import time
from py3r_script import Output, Param
seconds = Param(10.0, name="seconds")
time.sleep(seconds)
Output(seconds, name="slept")
"""


def test_sweep_file_paths_are_relative_to_the_file(tmp_path, project, log, cli, csv_rows, runs,
                                                   write_toml):
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


def test_sweep_file_float_widening_shows_in_the_csv(tmp_path, project, cli, write_toml):
    toml = write_toml(project / "conf" / "s.toml", """
script = "../scripts/typed.py"
outputs = ["thr_type"]
[params]
thr = [1, 2]
""")
    result = cli("sweep", toml, cwd=tmp_path / "elsewhere")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["thr,thr_type", "2.0,float", "1.0,float"]


def test_sweep_file_stop_after_outputs(tmp_path, write_script, cli, csv_rows, write_toml):
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


def test_sweep_file_workers(tmp_path, write_script, cli, csv_rows, write_toml, rendezvous_script):
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


def test_sweep_file_workers_auto_and_command_line_j(tmp_path, project, log, cli, runs,
                                                    assert_usage_error, write_toml):
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


def test_sweep_file_timeout(tmp_path, write_script, cli, csv_rows, write_toml):
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


def test_sweep_file_warm(tmp_path, project, cli, write_toml):
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


def test_sweep_file_rerun_and_backup(tmp_path, project, log, cli, runs, write_toml):
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


def test_sweep_file_workdir_and_capture_limit(tmp_path, write_script, cli, csv_rows, write_toml):
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


def test_sweep_file_linked(tmp_path, project, cli, csv_rows, write_toml):
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


def test_sweep_file_points(tmp_path, project, log, cli, csv_rows, runs, write_toml):
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


def test_sweep_file_sample(tmp_path, project, cli, csv_rows, write_toml):
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


def test_sweep_file_sample_choices_widen_ints_for_a_float_param(tmp_path, project, cli, csv_rows,
                                                                write_toml):
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


def test_sweep_file_sample_int_range_for_a_float_param_draws_floats(tmp_path, project, cli,
                                                                    csv_rows, write_toml):
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


def test_sweep_file_value_of_the_wrong_type_is_exit_2(tmp_path, project, log, cli, runs,
                                                      assert_usage_error, write_toml):
    toml = write_toml(project / "conf" / "s.toml", """
script = "../scripts/typed.py"
[params]
window = ["abc"]
""")
    result = cli("sweep", toml, cwd=tmp_path)
    assert_usage_error(result, f"{toml}, line 3: params.window: parameter 'window' expects "
                               "int (the type of its default), got str 'abc'; use e.g. 3")
    assert runs(log) == 0


def test_command_line_overrides_the_file(tmp_path, project, log, cli, csv_rows, runs, write_toml):
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
def test_bad_sweep_files_are_exit_2(tmp_path, marked_typed, marker, text, needles, cli,
                                    assert_usage_error, write_toml):
    toml = write_toml(tmp_path / "bad.toml", text)
    result = cli("sweep", toml.name, cwd=tmp_path)
    assert_usage_error(result, *needles)
    assert not marker.exists()


def test_missing_sweep_file_is_exit_2(tmp_path, cli, assert_usage_error):
    assert_usage_error(cli("sweep", "nope.toml", cwd=tmp_path), "nope.toml")


def test_shipped_sample_sweep_file_runs(tmp_path, cli, csv_rows):
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


def test_no_flag_overrides_a_sweep_file_setting(tmp_path, cli):
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


def test_sweep_file_mode_and_sampling_flags_override_the_file(tmp_path, project, cli, csv_rows,
                                                              write_toml):
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


def test_sweep_file_flags_that_do_nothing_for_its_design_are_exit_2(tmp_path, project, log, cli,
                                                                    runs, assert_usage_error,
                                                                    write_toml):
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
