"""Global sensitivity analysis (``analysis.globalsa``, ``analysis.gsaplots``) checked against
known answers, on real sweeps of scripts written here.

* Ishigami (a = 7, b = 0.1, inputs uniform on [-π, π]): S1 = (0.314, 0.442, 0.000),
  ST = (0.558, 0.442, 0.244).
* Sobol's G-function with a = (0, 1, 4.5, 9, 99, 99): Morris μ* ranks x1 > x2 > x3 > x4 >
  x5, x6.

Then what the analysis promises around them: the same table from a loaded, resumed or
command-line study, failed runs named (Sobol') or their trajectories dropped (Morris), and
the plots.
"""

from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import sys

import pandas as pd
import pytest

import py3r_script
from py3r_script import sweep
from py3r_script.errors import OutputError, ParameterError

pytest.importorskip("SALib")

ISHIGAMI = """
import math
from py3r_script import Output, Param

x1 = Param(0.0, name="x1")
x2 = Param(0.0, name="x2")
x3 = Param(0.0, name="x3")
Output(math.sin(x1) + 7 * math.sin(x2) ** 2 + 0.1 * x3 ** 4 * math.sin(x1), name="y")
"""
G_FUNCTION = """
from py3r_script import Output, Param

a = (0.0, 1.0, 4.5, 9.0, 99.0, 99.0)
x = [Param(0.5, name="x1"), Param(0.5, name="x2"), Param(0.5, name="x3"),
     Param(0.5, name="x4"), Param(0.5, name="x5"), Param(0.5, name="x6")]
g = 1.0
for xi, ai in zip(x, a):
    g *= (abs(4 * xi - 2) + ai) / (1 + ai)
Output(g, name="g")
"""
# Fails where x1 is high: a known set of failed runs
FRAGILE = """
from py3r_script import Output, Param

x1 = Param(0.0, name="x1")
x2 = Param(0.0, name="x2")
if x1 > 0.8:
    raise ValueError(f"x1 too high: {x1}")
Output(x1 + 2 * x2, name="y")
Output(None if x2 > 0.9 else x2, name="sometimes")
"""
PI_RANGES = {name: (-math.pi, math.pi) for name in ("x1", "x2", "x3")}
UNIT = {f"x{i}": (0.0, 1.0) for i in range(1, 7)}


def test_sobol_indices_of_the_ishigami_function_match_the_analytical_values(write_script):
    script = write_script(ISHIGAMI, "ishigami.py")
    results = sweep(script, sample=PI_RANGES, n=256, method="sobol", seed=1, warm=True,
                    max_workers=2, progress=False)
    assert len(results) == 256 * (3 + 2) and not results.errors
    table = results.sensitivity_table("y").set_index("parameter")
    expected = {"x1": (0.314, 0.558), "x2": (0.442, 0.442), "x3": (0.0, 0.244)}
    for name, (s1, st) in expected.items():
        row = table.loc[name]
        assert abs(row.S1 - s1) <= max(row.S1_conf, 0.1), (name, row.S1, row.S1_conf)
        assert abs(row.ST - st) <= max(row.ST_conf, 0.1), (name, row.ST, row.ST_conf)
    assert list(table.index) == ["x1", "x2", "x3"]  # ranked by ST
    assert list(table["rank"]) == [1, 2, 3] and set(table["n_runs"]) == {1280}


def test_morris_ranks_the_g_function_parameters_by_their_importance(write_script):
    script = write_script(G_FUNCTION, "g.py")
    results = sweep(script, sample=UNIT, n=20, method="morris", seed=0, warm=True,
                    max_workers=2, progress=False)
    table = results.sensitivity_table("g")
    assert list(table.columns) == ["output", "parameter", "rank", "mu", "mu_star", "sigma",
                                   "mu_star_conf", "n_trajectories", "n_dropped"]
    assert list(table["parameter"][:4]) == ["x1", "x2", "x3", "x4"]
    assert set(table["parameter"][4:]) == {"x5", "x6"}
    mu_star = table.set_index("parameter")["mu_star"]
    assert mu_star["x4"] > 3 * max(mu_star["x5"], mu_star["x6"])  # x5, x6 tie near zero
    assert set(table["n_trajectories"]) == {20} and set(table["n_dropped"]) == {0}


def test_a_loaded_resumed_or_command_line_study_gives_the_same_table(write_script, tmp_path):
    script = write_script(ISHIGAMI, "ishigami.py")
    store = tmp_path / "study.db"
    design = {"sample": PI_RANGES, "n": 16, "method": "sobol", "seed": 7}
    first = sweep(script, **design, store=store, warm=True, max_workers=2)
    table = first.sensitivity_table()
    assert sweep(script, **design, store=store, dry_run=True).n_reused == len(first)
    resumed = sweep(script, **design, store=store)  # same seed: every point reused
    assert resumed.sensitivity_table().equals(table)
    loaded = py3r_script.load(store, sweep=0)
    assert loaded.design == first.design
    pd.testing.assert_frame_equal(loaded.sensitivity_table(), table)
    pd.testing.assert_frame_equal(py3r_script.load(store).sensitivity_table(), table)
    preview = sweep(script, **{**design, "n": 32}, store=store, dry_run=True)
    assert preview.n_reused == len(first)  # the smaller design is the larger one's start
    extended = sweep(script, **{**design, "n": 32}, store=store, warm=True, max_workers=2)
    pd.testing.assert_frame_equal(py3r_script.load(store, sweep=-1).sensitivity_table(),
                                  extended.sensitivity_table())
    cli_store = tmp_path / "cli.db"
    subprocess.run([sys.executable, "-m", "py3r_script", "sweep", str(script), "--sample",
                    f"x1={-math.pi}:{math.pi}", "--sample", f"x2={-math.pi}:{math.pi}",
                    "--sample", f"x3={-math.pi}:{math.pi}", "-n", "16", "--method", "sobol",
                    "--seed", "7", "--store", str(cli_store), "--warm", "-j", "2",
                    "-o", str(tmp_path / "o.csv")],
                   check=True, capture_output=True, timeout=120)
    pd.testing.assert_frame_equal(py3r_script.load(cli_store).sensitivity_table(), table)
    with sqlite3.connect(store) as db:
        stored = db.execute("SELECT design_json FROM sweeps").fetchall()
    designs = [json.loads(row[0]) for row in stored]
    assert [d["n"] for d in designs] == [16, 16, 32]
    assert all(d["mode"] == "sobol" and d["options"] == {"second_order": False} and d["seed"] == 7
               and [r["name"] for r in d["ranges"]] == ["x1", "x2", "x3"] for d in designs)


def test_a_sweep_file_runs_a_morris_design_with_its_options(write_script, tmp_path):
    write_script(G_FUNCTION, "g.py")
    path = tmp_path / "g.toml"
    path.write_text('script = "g.py"\nstore = "g.db"\n\n[sample]\nmethod = "morris"\nn = 8\n'
                    'seed = 3\nlevels = 6\n\n[sample.ranges]\n'
                    + "".join(f"x{i} = [0.0, 1.0]\n" for i in range(1, 7)), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "py3r_script", "sweep", str(path), "-j", "2", "--warm",
                    "-o", str(tmp_path / "o.csv")], check=True, capture_output=True,
                   timeout=120)
    results = py3r_script.load(tmp_path / "g.db")
    assert dict(results.design.options) == {"levels": 6, "optimal_trajectories": None}
    table = results.sensitivity_table("g")
    assert table["parameter"].iloc[0] == "x1" and set(table["n_trajectories"]) == {8}


def test_sobol_refuses_failed_runs_and_names_them(write_script):
    script = write_script(FRAGILE, "fragile.py")
    results = sweep(script, sample={"x1": (0.0, 1.0), "x2": (0.0, 1.0)}, n=8,
                    method="sobol", seed=0, warm=True, max_workers=2)
    assert results.errors
    with pytest.raises(OutputError, match=r"run\(s\) of the Sobol' design have no value of "
                                          r"'y': \{'x1': 0\.[89].*\(error\).*need every run"):
        results.sensitivity_table("y")
    with pytest.raises(OutputError, match=r"no value of 'sometimes'.*\(no value\)"):
        results.sensitivity_table("sometimes")


def test_morris_drops_the_trajectories_of_failed_runs_and_says_which(write_script):
    script = write_script(FRAGILE, "fragile.py")
    results = sweep(script, sample={"x1": (0.0, 1.0), "x2": (0.0, 1.0)}, n=10,
                    method="morris", seed=1, warm=True, max_workers=2)
    with pytest.warns(UserWarning, match=r"'y': dropped (\d+) of 10 Morris trajectories "
                                         r"\(numbers [\d, ]+\).*'x1': 1\.0.*\(error\)") as caught:
        table = results.sensitivity_table("y").set_index("parameter")
    dropped = int(table["n_dropped"].iloc[0])
    assert 0 < dropped < 10 and str(dropped) in str(caught[0].message)
    assert table["n_trajectories"].iloc[0] == 10 - dropped
    # y = x1 + 2·x2: elementary effects per unit range (SALib's), the same along every step
    assert table.loc["x1", "mu"] == pytest.approx(1.0)
    assert table.loc["x2", "mu"] == pytest.approx(2.0)
    everything = sweep(script, sample={"x1": (0.85, 1.0), "x2": (0.0, 1.0)}, n=4,
                       method="morris", seed=1, warm=True, max_workers=2)
    with pytest.raises(OutputError, match="every trajectory of the Morris design"):
        everything.sensitivity_table("y")


def test_second_order_indices_come_as_a_column_per_other_parameter(write_script):
    script = write_script(ISHIGAMI, "ishigami.py")
    results = sweep(script, sample=PI_RANGES, n=16, method="sobol", seed=2,
                    method_options={"second_order": True}, warm=True, max_workers=2)
    table = results.sensitivity_table("y").set_index("parameter")
    assert {"S2_x1", "S2_x3", "S2_conf_x2"} <= set(table.columns)
    assert table.loc["x1", "S2_x3"] == table.loc["x3", "S2_x1"]  # the x1·x3 interaction
    assert math.isnan(table.loc["x1", "S2_x1"])
    assert set(table["n_runs"]) == {16 * (2 * 3 + 2)}


def test_int_ranges_and_choices_repeat_rows_that_run_once_and_are_read_for_each(
        write_script):
    script = write_script("""
        from py3r_script import Output, Param
        k = Param(1, name="k")
        c = Param("low", name="c")
        Output(k + (100 if c == "high" else 0), name="y")
        """)
    results = sweep(script, sample={"k": (1, 3), "c": ["low", "high"]}, n=6,
                    method="morris", seed=4, warm=True, max_workers=2)
    assert len(results) < 6 * 3  # rows that repeat a parameter set ran once
    table = results.sensitivity_table("y").set_index("parameter")
    assert table.loc["c", "mu_star"] > table.loc["k", "mu_star"] > 0


def test_plots_draw_the_indices_and_refuse_another_design(write_script):
    pytest.importorskip("matplotlib")
    script = write_script(G_FUNCTION, "g.py")
    morris = sweep(script, sample=UNIT, n=6, method="morris", seed=0, warm=True, max_workers=2)
    figure = morris.plot_sensitivity("g")
    ax = figure.axes[0]
    assert ax.get_title() == "Morris screening of g (6 trajectories)"
    assert ax.get_xlabel().startswith("μ*") and ax.get_ylabel().startswith("σ")
    assert {t.get_text() for t in ax.texts} == {f"x{i}" for i in range(1, 7)}
    sobol = sweep(script, sample=UNIT, n=8, method="sobol", seed=0, warm=True, max_workers=2)
    ax = sobol.plot_sensitivity("g").axes[0]
    assert ax.get_title() == "Sobol' indices of g (64 runs)"
    assert {t.get_text() for t in ax.get_xticklabels()} == {f"x{i}" for i in range(1, 7)}
    assert len(ax.patches) == 2 * 6 and ax.get_legend() is not None
    from py3r_script.analysis.gsaplots import plot_morris, plot_sobol

    with pytest.raises(ParameterError, match="a Morris plot shows the indices of a morris "
                                             "design, but this sweep ran a Sobol' design"):
        plot_morris(sobol, "g")
    lhs = sweep(script, sample=UNIT, n=4, seed=0, warm=True, max_workers=2)
    with pytest.raises(ParameterError, match="Latin-hypercube"):
        plot_sobol(lhs, "g")
    with pytest.raises(ParameterError, match="a tornado chart"):
        lhs.plot_sensitivity("g")
