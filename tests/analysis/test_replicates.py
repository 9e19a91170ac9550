"""Replicated sweeps in the analysis: Student-t intervals against known quantiles, the
one-at-a-time table's confidence columns, whiskers in the plots, Morris and Sobol' tables
from replicate means, and the HTML report."""

from __future__ import annotations

import math

import pytest

from py3r_script import Study, sensitivity, sweep
from py3r_script.analysis.intervals import mean_interval, t_cdf, t_quantile
from py3r_script.analysis.tables import CI_COLUMNS, TABLE_COLUMNS

NOISY = """
import random
from py3r_script import Output, Param
x = Param(2.0, name="x")
w = Param(1, name="w")
seed = Param(0, name="seed")
Output(3.0 * x + w + random.Random(seed).gauss(0.0, 0.5), name="y")
"""
STORE: list = []  # the study the module's replicated sweep was stored in


@pytest.mark.parametrize("df, expected", [(1, 12.706), (2, 4.303), (3, 3.182), (5, 2.571),
                                          (9, 2.262), (30, 2.042), (120, 1.980)])
def test_t_quantiles_match_the_tables_to_three_decimals(df, expected):
    assert round(t_quantile(0.975, df), 3) == expected
    assert t_cdf(t_quantile(0.975, df), df) == pytest.approx(0.975, abs=1e-9)
    assert t_quantile(0.025, df) == pytest.approx(-t_quantile(0.975, df))


def test_mean_interval_of_few_values():
    assert math.isnan(mean_interval([4.0]).std) and mean_interval([4.0]).mean == 4.0
    empty = mean_interval([])
    assert empty.n == 0 and math.isnan(empty.mean)
    assert mean_interval([1.0, float("nan"), 3.0]).n == 2
    with pytest.raises(ValueError):
        t_quantile(1.5, 3)


@pytest.fixture(scope="module")
def replicated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("replicated")
    script = folder / "noisy.py"
    script.write_text(NOISY.lstrip(), encoding="utf-8")
    STORE[:] = [folder / "study.db"]
    return sensitivity(script, {"x": [1.0, 3.0], "w": [0, 2]}, replicates=4, seed=1,
                       store=STORE[0], max_workers=2, progress=False)


def test_the_one_at_a_time_table_shows_means_and_their_intervals(replicated):
    table = replicated.sensitivity_table("y")
    assert list(table.columns) == TABLE_COLUMNS + CI_COLUMNS
    means = replicated.aggregate("y").set_index(["x", "w"])["y_mean"]
    row = table.set_index("parameter").loc["x"]
    assert row["output_at_nominal"] == pytest.approx(means[(2.0, 1)])
    assert row["output_max"] == pytest.approx(means[(3.0, 1)])
    assert row["n_replicates"] == 4
    assert row["max_ci_low"] < row["output_max"] < row["max_ci_high"]
    assert row["nominal_ci_low"] < row["output_at_nominal"] < row["nominal_ci_high"]
    assert row["param_at_max"] == 3.0 and row["abs_change"] > 5


def test_the_plots_draw_whiskers_for_each_mean(replicated):
    pytest.importorskip("matplotlib")
    response = replicated.plot_response("y")
    for ax in response.axes:
        assert ax.containers, "no error bars"  # matplotlib's ErrorbarContainer
        assert "95 % CI" in ax.get_legend_handles_labels()[1][0] or ax is not response.axes[0]
    tornado = replicated.plot_tornado("y")
    whiskers = [line for line in tornado.axes[0].lines if len(line.get_xdata()) == 2]
    assert len(whiskers) >= 2 * 3 * 2  # each parameter: 3 intervals of 3 segments


def test_the_report_of_a_replicated_sweep_shows_the_interval_columns(replicated, tmp_path):
    with Study(STORE[0]) as study:
        page = study.report(tmp_path / "report.html").read_text(encoding="utf-8")
    assert "max_ci_low" in page and "nominal_ci_high" in page


@pytest.mark.parametrize("method, columns", [("morris", ["mu_star", "sigma"]),
                                             ("sobol", ["S1", "ST"])])
def test_morris_and_sobol_read_the_mean_of_each_points_replicates(write_script, method,
                                                                  columns):
    pytest.importorskip("SALib")
    script = write_script(NOISY)
    sr = sweep(script, sample={"x": (0.0, 1.0), "w": [0, 1, 2]} if method == "morris"
               else {"x": (0.0, 1.0), "w": (0.0, 2.0)}, n=4 if method == "morris" else 8,
               method=method, seed=2, replicates=2, max_workers=2, progress=False)
    assert {r.replicate for r in sr.records} == {0, 1}
    table = sr.sensitivity_table("y")
    assert set(columns) <= set(table.columns) and len(table) == 2
    assert "mean of its 2 replicates" in table.attrs["notes"]
    assert table.iloc[0]["parameter"] == "x"  # 3x dominates w and the noise
