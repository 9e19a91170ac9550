"""``sweep SCRIPT`` with a design given as flags (value lists, linked parameters,
points, samples), and design errors worded as the flags to fix."""

from __future__ import annotations

import io
import re
import subprocess

import pandas as pd

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


def test_sweep_a_script_with_linked_parameters_in_a_grid(tmp_path, cli):
    (tmp_path / "d.py").write_text(DESIGN_SCRIPT)
    seen = _seen(cli("sweep", "d.py", "--link", "a,b=2:1.5,3:2.5", "-s", "tag=x,y",
                     cwd=tmp_path))
    assert sorted(seen) == sorted(f"int:{a}|float:{b}|{t}"
                                  for a, b in ((2, 1.5), (3, 2.5), (1, 0.5))
                                  for t in ("x", "y", "t"))


def test_sweep_a_script_from_a_points_file(tmp_path, cli):
    (tmp_path / "d.py").write_text(DESIGN_SCRIPT)
    (tmp_path / "points.csv").write_text("a,b,tag\n7,2,p\n8,,q\n")
    seen = _seen(cli("sweep", "d.py", "--points", "points.csv", cwd=tmp_path))
    assert seen == ["int:7|float:2.0|p", "int:8|float:0.5|q"]


def test_sweep_a_script_with_sampled_ranges_is_reproducible(tmp_path, cli):
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


def test_sweep_design_errors_are_usage_errors(tmp_path, cli):
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


def test_sweep_a_script_design_flags_that_do_nothing_are_exit_2(tmp_path, cli, assert_usage_error):
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


def test_missing_values_are_asked_for_in_flag_terms(tmp_path, write_script, cli,
                                                    assert_usage_error):
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


def test_sweep_without_the_nominal_values_runs_exactly_the_grid(tmp_path, typed, log, cli, csv_rows,
                                                                runs, assert_usage_error):
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


def test_a_sampled_sweep_says_its_seed_so_it_can_be_repeated(tmp_path, typed, cli, csv_rows):
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
