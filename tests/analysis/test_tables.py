"""Sensitivity tables of real sweeps (against analytic outputs), what each design allows,
and tidy stacks of DataFrame outputs (``concat``)."""

from __future__ import annotations

import math
import textwrap

import pandas as pd
import pytest

from py3r_script import ScriptResults, sensitivity, sweep
from py3r_script.analysis.tables import TABLE_COLUMNS

# the analytic script (tests/conftest.py): y = a * x**2 + b with nominal x0 = 2, a0 = 3,
# b0 = 1  ->  y0 = 13; lin = 5 * x (linear through the origin: elasticity 1 wherever it is
# measured)

X0, A0, B0 = 2.0, 3.0, 1.0
Y0 = A0 * X0**2 + B0


def y(x=X0, a=A0, b=B0):
    return a * x**2 + b


def write(tmp_path_factory, source, name="script.py"):
    path = tmp_path_factory.mktemp("analysis") / name
    path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sr(analytic_script) -> ScriptResults:
    script = analytic_script
    # x's nearest values around 2.0 are 1.5 and 2.5 (symmetric: the central difference of a
    # quadratic is its exact derivative); b = -1 makes the script raise
    return sensitivity(script, {"x": [0.5, 1.5, 2.5, 4.0], "a": [1.0, 6.0],
                                "b": [0.5, -1.0], "label": ["long"]},
                       progress=False, max_workers=2)


@pytest.fixture(scope="module")
def table(sr) -> pd.DataFrame:
    return sr.sensitivity_table()


def row(table, output, parameter):
    match = table[(table["output"] == output) & (table["parameter"] == parameter)]
    assert len(match) == 1, (output, parameter, table)
    return match.iloc[0]


# y = 10 * window + min_len + thr, nominal (5, 3, 0.5) -> 53.5
LINKED = """
from py3r_script import Output, Param
window = Param(5, name="window")
min_len = Param(3, name="min_len")
thr = Param(0.5, name="thr")
Output(window * 10 + min_len + thr, name="y")
"""


def lk(window=5, min_len=3, thr=0.5):
    return 10 * window + min_len + thr


def test_the_sweep_ran_as_expected(sr):
    assert len(sr.records) == 1 + 4 + 2 + 2 + 1
    assert [p for p, _ in sr.errors] == [{"x": X0, "a": A0, "b": -1.0, "label": "p"}]


def test_table_columns_and_rows_per_output_and_parameter(table):
    assert list(table.columns) == TABLE_COLUMNS
    for column in ("nominal", "output_at_nominal", "output_min", "output_max", "abs_change",
                   "rel_change", "elasticity", "rank", "n_values", "n_failed", "failed_values"):
        assert column in table.columns
    # only numeric outputs ("word" is a str), every varied parameter once per output
    assert list(dict.fromkeys(table["output"])) == ["y", "lin", "ln"]
    for output in ("y", "lin", "ln"):
        block = table[table["output"] == output]
        assert sorted(block["parameter"]) == ["a", "b", "label", "x"]
        assert sorted(block["rank"]) == [1, 2, 3, 4]
        assert list(block["rank"]) == [1, 2, 3, 4]  # each block is listed in rank order


def test_nominal_values_keep_their_types(table):
    assert [(type(v).__name__, v) for v in table[table["output"] == "y"]
            .set_index("parameter").loc[["x", "a", "b", "label"], "nominal"]] == [
        ("float", 2.0), ("float", 3.0), ("float", 1.0), ("str", "p")]


def test_y_versus_x_min_max_changes_and_elasticity(table):
    r = row(table, "y", "x")
    values = [0.5, 1.5, 2.0, 2.5, 4.0]
    assert r["nominal"] == X0
    assert r["output_at_nominal"] == pytest.approx(Y0)
    assert r["output_min"] == pytest.approx(min(y(v) for v in values))
    assert r["output_max"] == pytest.approx(max(y(v) for v in values))
    assert r["param_at_min"] == 0.5 and r["param_at_max"] == 4.0
    assert r["abs_change"] == pytest.approx(y(4.0) - y(0.5))
    assert r["rel_change"] == pytest.approx((y(4.0) - y(0.5)) / Y0)
    # the docstring: (dy/dx) * (x0 / y0), dy/dx from the nearest values on each side
    slope = (y(2.5) - y(1.5)) / (2.5 - 1.5)
    assert r["elasticity"] == pytest.approx(slope * X0 / Y0)
    # ... which for a quadratic and symmetric neighbours is the analytic elasticity
    assert r["elasticity"] == pytest.approx(2 * A0 * X0 * X0 / Y0)  # 24 / 13
    assert r["n_values"] == 5 and r["n_failed"] == 0 and r["failed_values"] == ""


def test_y_versus_a_is_linear_in_a(table):
    r = row(table, "y", "a")
    assert (r["output_min"], r["output_max"]) == pytest.approx((y(a=1.0), y(a=6.0)))
    assert r["abs_change"] == pytest.approx(y(a=6.0) - y(a=1.0))
    # y is linear in a: the elasticity is exactly a0 * x0**2 / y0
    assert r["elasticity"] == pytest.approx(A0 * X0**2 / Y0)


def test_failures_are_counted_and_listed_not_dropped(table):
    r = row(table, "y", "b")
    assert r["n_failed"] == 1
    assert r["failed_values"] == "-1.0"
    assert r["n_values"] == 3  # 0.5, the nominal 1.0 and the failed -1.0
    assert (r["output_min"], r["output_max"]) == pytest.approx((y(b=0.5), y(b=1.0)))
    # only one neighbour is left (below): a one-sided difference, here exact (y linear in b)
    assert r["elasticity"] == pytest.approx(B0 / Y0)
    # the failure shows for every output, and only on b's rows
    assert list(table.loc[table["parameter"] == "b", "n_failed"]) == [1, 1, 1]
    assert table.loc[table["parameter"] != "b", "n_failed"].sum() == 0


def test_elasticity_of_linear_through_origin_is_one(table):
    r = row(table, "lin", "x")
    assert r["elasticity"] == pytest.approx(1.0)
    assert r["rel_change"] == pytest.approx((5 * 4.0 - 5 * 0.5) / (5 * X0))
    assert r["rank"] == 1
    for other in ("a", "b"):  # lin does not depend on them
        assert row(table, "lin", other)["abs_change"] == 0
        assert row(table, "lin", other)["elasticity"] == 0


def test_non_numeric_parameter_has_nan_elasticity(table):
    for output in ("y", "lin", "ln"):
        assert math.isnan(row(table, output, "label")["elasticity"])
    r = row(table, "ln", "label")
    assert r["nominal"] == "p"
    assert (r["output_min"], r["output_max"]) == (1.0, 4.0)
    assert (r["param_at_min"], r["param_at_max"]) == ("p", "long")
    assert r["rel_change"] == pytest.approx(3.0)
    assert r["rank"] == 1


def test_rank_follows_relative_change(table):
    block = table[table["output"] == "y"].set_index("parameter")
    # x: 47.25 / 13, a: 20 / 13, b: 0.5 / 13, label: 0
    assert block.loc[["x", "a", "b", "label"], "rank"].tolist() == [1, 2, 3, 4]
    assert block["rel_change"].is_monotonic_decreasing


def test_outputs_argument_selects_and_non_numeric_output_is_rejected(sr):
    only = sr.sensitivity_table(outputs=["lin"])
    assert set(only["output"]) == {"lin"}
    with pytest.raises(TypeError, match="word"):
        sr.sensitivity_table(outputs=["word"])


def test_elasticity_undefined_at_zero_nominal(write_script):
    script = write_script("""
        from py3r_script import Output, Param
        x = Param(0.0, name="x")
        Output(3.0 * x + 1.0, name="y")
    """)
    table = sensitivity(script, {"x": [-1.0, 1.0]}, progress=False).sensitivity_table()
    assert math.isnan(table.loc[0, "elasticity"])
    assert table.loc[0, "abs_change"] == pytest.approx(6.0)


def test_failure_at_the_nominal_point_is_shown(write_script):
    script = write_script("""
        from py3r_script import Output, Param
        x = Param(2.0, name="x")
        if x == 2.0:
            raise RuntimeError("nominal breaks")
        Output(x * 10, name="y")
    """)
    sr = sensitivity(script, {"x": [1.0, 3.0]}, progress=False, max_workers=2)
    table = sr.sensitivity_table()
    assert len(table) == 1
    r = table.iloc[0]
    assert math.isnan(r["output_at_nominal"]) and math.isnan(r["elasticity"])
    assert r["n_failed"] == 1 and r["failed_values"] == "2.0"
    assert (r["output_min"], r["output_max"]) == (10.0, 30.0)
    assert r["abs_change"] == 20.0 and r["rank"] == 1


def test_sensitivity_table_reflects_linked_variation(write_script):
    sr = sensitivity(write_script(LINKED), {("window", "min_len"): [(3, 2), (9, 4)],
                                            "thr": [0.9]}, progress=False, max_workers=2)
    assert sr.to_dataframe()["y"].tolist() == [53.5, 32.5, 94.5, 53.9]  # it did vary
    table = sr.sensitivity_table().set_index("parameter")
    assert table.loc["window", "n_values"] == 3
    assert table.loc["window", "abs_change"] == pytest.approx(94.5 - 32.5)
    assert table.loc["window", "rank"] == 1


def test_a_linked_pair_with_one_value_at_nominal_still_moves_together(write_script):
    # (3, 3): min_len happens to sit at its nominal 3 while window moves; the design says
    # the two are linked, so both rows are the baseline and both pairs
    sr = sensitivity(write_script(LINKED), {("window", "min_len"): [(3, 3), (9, 4)],
                                            "thr": [0.9]}, progress=False, max_workers=2)
    assert sr.design.linked == (("window", "min_len"),)
    table = sr.sensitivity_table().set_index("parameter")
    for name in ("window", "min_len"):
        r = table.loc[name]
        assert r["n_values"] == 3, name  # baseline, (3, 3) and (9, 4)
        assert r["output_at_nominal"] == pytest.approx(lk())  # the baseline, not (3, 3)
        assert (r["output_min"], r["output_max"]) == pytest.approx((lk(3, 3), lk(9, 4)))
        assert r["abs_change"] == pytest.approx(lk(9, 4) - lk(3, 3))  # 61
    assert (table.loc["window", "param_at_min"], table.loc["window", "param_at_max"]) == (3, 9)
    assert (table.loc["min_len", "param_at_min"], table.loc["min_len", "param_at_max"]) == (3, 4)
    # elasticities along the linked values: window from its neighbours 3 and 9; min_len has
    # no value below 3, so one-sided from (4, lk(9, 4))
    assert table.loc["window", "elasticity"] == pytest.approx(
        (lk(9, 4) - lk(3, 3)) / (9 - 3) * 5 / lk())
    assert table.loc["min_len", "elasticity"] == pytest.approx((lk(9, 4) - lk()) / 1 * 3 / lk())
    assert table.loc["thr", "n_values"] == 2
    assert table.loc["thr", "abs_change"] == pytest.approx(0.4)


def test_missing_outputs_are_counted_not_dropped_silently(write_script):
    script = write_script("""
        from py3r_script import Output, Param
        x = Param(2.0, name="x")
        if x < 3.5:
            Output(x * 10, name="y")      # not emitted for x = 4
        Output(None if x < 1.5 else x, name="maybe")
    """)
    sr = sensitivity(script, {"x": [1.0, 3.0, 4.0]}, progress=False, max_workers=2)
    assert all(r.ok for r in sr.records)
    table = sr.sensitivity_table().set_index("output")  # "maybe" is in, despite its None
    assert list(table.index) == ["y", "maybe"]
    y_row, maybe = table.loc["y"], table.loc["maybe"]
    assert (y_row["n_values"], y_row["n_missing"], y_row["n_failed"]) == (4, 1, 0)
    assert (y_row["output_min"], y_row["output_max"]) == (10.0, 30.0)
    assert (maybe["n_values"], maybe["n_missing"], maybe["n_nan"]) == (4, 1, 0)
    assert (maybe["output_min"], maybe["output_max"]) == (2.0, 4.0)
    assert sr.sensitivity_table("maybe")["n_missing"].tolist() == [1]  # one name, as a str


def test_non_numeric_output_error_names_it_and_its_type(sr):
    with pytest.raises(TypeError, match=r"output 'word' is a str in iteration .* not a "
                                        r"scalar number"):
        sr.sensitivity_table("word")


def test_nan_output_handled_the_same_wherever_it_occurs(write_script):
    results = []
    for name, condition in (("low.py", "x < 1.5"), ("high.py", "x > 3.5")):
        script = write_script(f"""
            from py3r_script import Output, Param
            x = Param(2.0, name="x")
            Output(float("nan") if {condition} else 10.0 * x, name="y")
        """, name)
        sr = sensitivity(script, {"x": [1.0, 3.0, 4.0]}, progress=False, max_workers=2)
        results.append(sr.sensitivity_table().iloc[0])
    low, high = results
    assert math.isnan(low["output_max"]) == math.isnan(high["output_max"])
    assert math.isnan(low["abs_change"]) == math.isnan(high["abs_change"])


def test_nan_outputs_are_counted_and_left_out_of_the_range(write_script):
    script = write_script("""
        from py3r_script import Output, Param
        x = Param(2.0, name="x")
        Output(float("nan") if x > 3.5 else 10.0 * x, name="y")
    """)
    sr = sensitivity(script, {"x": [1.0, 3.0, 4.0]}, progress=False, max_workers=2)
    row = sr.sensitivity_table().iloc[0]
    assert row["n_nan"] == 1
    assert (row["output_min"], row["output_max"]) == (10.0, 30.0)


# -- what each design allows ----------------------------------------------------------------

SAMPLED = """
from py3r_script import Output, Param
x = Param(0.5, name="x")
z = Param(0.5, name="z")
s = Param("a", name="s")
Output(x, name="up")
Output(-x**3, name="down")
"""


def ranks(values):
    ordered = sorted(values)
    return [ordered.index(v) + 1 for v in values]  # distinct floats: no ties


def test_sampled_design_table_ranks_by_rank_correlation(write_script):
    sr = sweep(write_script(SAMPLED), sample={"x": (0.0, 1.0), "z": (0.0, 1.0), "s": ["a", "b"]},
               n=12, seed=3, progress=False, max_workers=2)
    assert sr.design.mode == "lhs" and len(sr.records) == 12
    table = sr.sensitivity_table()
    assert list(table.columns) == ["output", "parameter", "rank", "spearman", "srrc",
                                   "r2_ranks", "n_values", "n_failed", "n_nan", "n_missing"]
    xs = [r.params["x"] for r in sr.records]
    zs = [r.params["z"] for r in sr.records]
    n = len(xs)
    d2 = sum((a - b) ** 2 for a, b in zip(ranks(zs), ranks(xs)))
    rho_z = 1 - 6 * d2 / (n * (n * n - 1))  # the textbook formula, for untied ranks
    assert abs(rho_z) < 1  # a real check: z is not x
    up = table[table["output"] == "up"].set_index("parameter")
    assert list(up.index) == ["x", "z", "s"]  # ranked by |spearman|; the str choice last
    assert up.loc["x", "spearman"] == pytest.approx(1.0)
    assert up.loc["z", "spearman"] == pytest.approx(rho_z)
    # the output's ranks are x's ranks: the rank regression gives x all of it, z nothing
    assert up.loc["x", "srrc"] == pytest.approx(1.0)
    assert up.loc["z", "srrc"] == pytest.approx(0.0, abs=1e-9)
    assert up["r2_ranks"].tolist() == pytest.approx([1.0] * 3)
    assert math.isnan(up.loc["s", "spearman"]) and math.isnan(up.loc["s", "srrc"])
    assert up["rank"].tolist() == [1, 2, 3]
    assert up["n_values"].tolist() == [12] * 3 and up["n_failed"].sum() == 0
    down = table[table["output"] == "down"].set_index("parameter")
    assert down.loc["x", "spearman"] == pytest.approx(-1.0)  # falls with x, not linearly
    assert down.loc["z", "spearman"] == pytest.approx(-rho_z)


def test_points_design_has_no_one_at_a_time_table(write_script):
    sr = sweep(write_script(LINKED), points=[{"window": 3}, {"window": 9, "thr": 0.9}],
               progress=False)
    with pytest.raises(ValueError, match=r"explicit points.*to_dataframe\(\)"):
        sr.sensitivity_table()


def test_design_unknown_falls_back_to_guessing_from_the_runs(write_script):
    sampled = sweep(write_script(LINKED), sample={"window": (1, 9), "thr": (0.0, 1.0)}, n=6,
                    seed=1, progress=False, max_workers=2)
    # the same runs without their design (as a study mixing sweeps would give them)
    bare = ScriptResults(sampled.param_names, sampled.output_names, sampled.records,
                         nominal=sampled.nominal)
    assert bare.design is None
    with pytest.raises(ValueError, match=r"nominal point \{'window': 5, 'thr': 0.5\}.*never "
                                         r"ran"):
        bare.sensitivity_table()
    linked = sensitivity(write_script(LINKED, "linked.py"),
                         {("window", "min_len"): [(3, 2), (9, 4)]}, progress=False)
    guessed = ScriptResults(linked.param_names, linked.output_names, linked.records,
                            nominal=linked.nominal).sensitivity_table().set_index("parameter")
    assert guessed.loc["window", "n_values"] == guessed.loc["min_len", "n_values"] == 3


def test_grid_without_its_nominal_point_has_no_one_at_a_time_table(write_script):
    sr = sweep(write_script(LINKED), {"window": [3, 9], "thr": [0.1, 0.2]},
               include_nominal=False, progress=False, max_workers=2)
    with pytest.raises(ValueError, match="include_nominal=False"):
        sr.sensitivity_table()
    expected = pd.DataFrame([[lk(w, 3, t) for t in (0.1, 0.2)] for w in (3, 9)],
                            index=pd.Index([3, 9], name="window"),
                            columns=pd.Index([0.1, 0.2], name="thr"))
    pd.testing.assert_frame_equal(sr.pivot("y", index="window", columns="thr"), expected,
                                  check_dtype=False)


# -- concat: tidy stacks of DataFrame and Series outputs ------------------------------------

TABULAR = """
import pandas as pd
from py3r_script import Output, Param
n = Param(2, name="n")
tag = Param("t", name="tag")
if n == 0:
    raise ValueError("n must be > 0")
Output(pd.DataFrame({"i": list(range(n)), "sq": [i * i for i in range(n)]}), name="summary")
Output(pd.Series([n * 1.5] * n, name="val"), name="series")
Output({"n": n}, name="mapping")
Output(n * 1.5, name="scalar")
Output(f"n={n}", name="text")
"""


@pytest.fixture(scope="module")
def tabular(tmp_path_factory) -> ScriptResults:
    script = write(tmp_path_factory, TABULAR, "tabular.py")
    # baseline (2, t), n=1, n=3, n=0 (fails), (2, u)
    return sensitivity(script, {"n": [1, 3, 0], "tag": ["u"]}, progress=False, max_workers=2)


def test_concat_stacks_every_completed_iteration(tabular):
    assert len(tabular.records) == 5 and len(tabular) == 4
    stacked = tabular.concat("summary")
    assert list(stacked.columns) == ["n", "tag", "i", "sq"]  # parameters first
    completed = [(p, o["summary"]) for p, o in tabular.items()]
    assert len(stacked) == sum(len(frame) for _, frame in completed) == 2 + 1 + 3 + 2
    position = 0
    for params, frame in completed:  # block by block, in iteration order
        block = stacked.iloc[position:position + len(frame)]
        position += len(frame)
        assert block["n"].tolist() == [params["n"]] * len(frame)  # constant within the block
        assert block["tag"].tolist() == [params["tag"]] * len(frame)
        assert block["i"].tolist() == frame["i"].tolist()
        assert block["sq"].tolist() == frame["sq"].tolist()
    assert 0 not in set(stacked["n"])  # the failed iteration has no rows
    assert stacked.groupby(["n", "tag"]).size().to_dict() == {
        (1, "t"): 1, (2, "t"): 2, (2, "u"): 2, (3, "t"): 3}


def test_concat_a_series_output(tabular):
    stacked = tabular.concat("series")
    assert list(stacked.columns) == ["n", "tag", "val"]
    assert len(stacked) == 8
    assert (stacked["val"] == stacked["n"] * 1.5).all()


def test_concat_keeps_a_meaningful_index_and_names_an_unnamed_series(write_script):
    script = write_script("""
        import pandas as pd
        from py3r_script import Output, Param
        n = Param(2, name="n")
        rows = pd.Index([f"r{i}" for i in range(n)], name="row")
        Output(pd.DataFrame({"v": [n * 10 + i for i in range(n)]}, index=rows), name="named")
        Output(pd.DataFrame({"v": [n] * n}, index=[5 + i for i in range(n)]), name="shifted")
        Output(pd.Series([n * 1.5] * n), name="bare")
    """)
    sr = sensitivity(script, {"n": [1, 3]}, progress=False, max_workers=2)  # n = 2, 1, 3
    named = sr.concat("named")
    assert list(named.columns) == ["n", "row", "v"]  # the index is data: kept, by its name
    assert named["row"].tolist() == ["r0", "r1", "r0", "r0", "r1", "r2"]
    assert named["v"].tolist() == [20, 21, 10, 30, 31, 32]
    assert named.index.tolist() == list(range(6))  # and the stack has a fresh index
    shifted = sr.concat("shifted")
    assert list(shifted.columns) == ["n", "index", "v"]
    assert shifted["index"].tolist() == [5, 6, 5, 5, 6, 7]
    bare = sr.concat("bare")  # an unnamed Series takes the output's name
    assert list(bare.columns) == ["n", "bare"]
    assert bare["bare"].tolist() == [3.0, 3.0, 1.5, 4.5, 4.5, 4.5]


def test_concat_rejects_non_tabular_and_unknown_outputs(tabular):
    for name in ("mapping", "scalar", "text"):
        with pytest.raises(TypeError, match=name):
            tabular.concat(name)
    with pytest.raises(KeyError, match="nope"):
        tabular.concat("nope")


def test_to_dataframe_with_a_non_scalar_output_points_to_concat(tabular):
    with pytest.raises(TypeError, match=r"concat\("):
        tabular.to_dataframe()
    frame = tabular.to_dataframe(outputs=["scalar", "text"])
    assert list(frame.columns) == ["n", "tag", "scalar", "text"]
