"""Grid views of real sweeps: ``pivot`` over two crossed parameters, the others held."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from py3r_script import ScriptResults, sensitivity, sweep

# the analytic script (tests/conftest.py): y = a * x**2 + b with nominal x0 = 2, a0 = 3,
# b0 = 1  ->  y0 = 13; lin = 5 * x
X0, A0, B0 = 2.0, 3.0, 1.0


def y(x=X0, a=A0, b=B0):
    return a * x**2 + b


def write(tmp_path_factory, source, name="script.py"):
    path = tmp_path_factory.mktemp("analysis") / name
    path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return path


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


@pytest.fixture(scope="module")
def grid(analytic_script) -> ScriptResults:
    script = analytic_script
    # x in {1, 3, 2 (nominal)}, a in {1, 5, 3}, b in {0, 1}: 18 iterations
    return sweep(script, {"x": [1.0, 3.0], "a": [1.0, 5.0], "b": [0.0]},
                 progress=False, max_workers=2)


def test_pivot_equals_the_expected_table(grid):
    assert len(grid.records) == 18 and not grid.errors
    table = grid.pivot("y", index="x", columns="a")
    xs, as_ = [1.0, 2.0, 3.0], [1.0, 3.0, 5.0]
    expected = pd.DataFrame([[y(x, a, B0) for a in as_] for x in xs],  # b held at nominal 1.0
                            index=pd.Index(xs, name="x"), columns=pd.Index(as_, name="a"))
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)


def test_pivot_other_axis_pair_holds_the_rest_at_nominal(grid):
    table = grid.pivot("lin", index="b", columns="x")
    expected = pd.DataFrame([[5.0 * x for x in (1.0, 2.0, 3.0)]] * 2,
                            index=pd.Index([0.0, 1.0], name="b"),
                            columns=pd.Index([1.0, 2.0, 3.0], name="x"))
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)


def test_pivot_bad_names(grid):
    with pytest.raises(KeyError, match="nope"):
        grid.pivot("y", index="nope", columns="a")
    with pytest.raises(ValueError, match="different"):
        grid.pivot("y", index="a", columns="a")


def test_pivot_refuses_parameters_that_were_not_crossed(write_script):
    sr = sensitivity(write_script(LINKED), {"window": [3, 9], "thr": [0.9, 0.1]},
                     progress=False, max_workers=2)
    with pytest.raises(ValueError, match=r"'window' and 'thr' were not crossed \(an "
                                         r"independent sweep.*only 5 of the 3 x 3.*mode='grid'"):
        sr.pivot("y", index="window", columns="thr")


def test_pivot_of_a_linked_grid_lets_the_partner_follow(write_script):
    sr = sweep(write_script(LINKED), {("window", "min_len"): [(3, 2), (9, 4)], "thr": [0.9]},
               progress=False, max_workers=2)
    table = sr.pivot("y", index="window", columns="thr")
    expected = pd.DataFrame([[lk(w, m, t) for t in (0.5, 0.9)] for w, m in
                             ((3, 2), (5, 3), (9, 4))],
                            index=pd.Index([3, 5, 9], name="window"),
                            columns=pd.Index([0.5, 0.9], name="thr"))
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    with pytest.raises(ValueError, match="linked: they vary together"):
        sr.pivot("y", index="window", columns="min_len")


def test_pivot_needs_where_for_a_varied_parameter_without_nominal(write_script):
    script = write_script("""
        from py3r_script import Output, Param
        a = Param(name="a")
        b = Param(1.0, name="b")
        c = Param(1.0, name="c")
        Output(a * b + c, name="y")
    """)
    sr = sweep(script, {"a": [1.0, 2.0], "b": [2.0], "c": [5.0]}, progress=False,
               max_workers=2)
    with pytest.raises(ValueError, match=r"'a' also varies.*no nominal value.*\[1\.0, 2\.0\]"
                                         r".*where=\{'a': 1\.0\}"):
        sr.pivot("y", index="b", columns="c")
    table = sr.pivot("y", index="b", columns="c", where={"a": 2.0})
    expected = pd.DataFrame([[2.0 * b + c for c in (1.0, 5.0)] for b in (1.0, 2.0)],
                            index=pd.Index([1.0, 2.0], name="b"),
                            columns=pd.Index([1.0, 5.0], name="c"))
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    assert sr.pivot("y", index="b", columns="c", where={"a": 2}).equals(table)  # 2 == 2.0
    with pytest.raises(ValueError, match=r"no iteration has a=7\.0; its values are"):
        sr.pivot("y", index="b", columns="c", where={"a": 7.0})
    with pytest.raises(KeyError, match="'nope' is not a parameter"):
        sr.pivot("y", index="b", columns="c", where={"nope": 1})
    with pytest.raises(ValueError, match="'b' is an axis"):
        sr.pivot("y", index="b", columns="c", where={"b": 1.0})


def test_pivot_where_holds_a_grid_without_nominal(write_script):
    sr = sweep(write_script(LINKED), {"window": [3, 9], "min_len": [1, 2], "thr": [0.1, 0.2]},
               include_nominal=False, progress=False, max_workers=2)
    with pytest.raises(ValueError, match=r"no iteration has it at its nominal value 0\.5: "
                                         r"pass where=\{'thr': 0\.1\}"):
        sr.pivot("y", index="window", columns="min_len")
    table = sr.pivot("y", index="window", columns="min_len", where={"thr": 0.2})
    assert table.to_numpy().ravel().tolist() == pytest.approx(
        [lk(w, m, 0.2) for w in (3, 9) for m in (1, 2)])


def test_pivot_failed_cells_are_nan_and_the_grid_stays_whole(analytic_script):
    sr = sweep(analytic_script, {"x": [1.0, 3.0], "b": [-1.0]}, progress=False,
               max_workers=2)
    assert len(sr.errors) == 3  # b = -1 raises
    table = sr.pivot("y", index="x", columns="b")
    assert list(table.columns) == [-1.0, 1.0] and list(table.index) == [1.0, 2.0, 3.0]
    assert table[-1.0].isna().all()
    assert table[1.0].tolist() == pytest.approx([y(x) for x in (1.0, 2.0, 3.0)])


def test_pivot_of_an_output_named_like_its_index(tmp_path):
    script = tmp_path / "clash.py"
    script.write_text("from py3r_script import Output, Param\n"
                      "a = Param(1, name='a')\nb = Param(1, name='b')\n"
                      "Output(a * 10 + b, name='a')\n")
    sr = sweep(script, {"a": [1, 2], "b": [1, 2]}, include_nominal=False)
    table = sr.pivot("a", index="a", columns="b")
    assert table.values.tolist() == [[11.0, 12.0], [21.0, 22.0]]
    assert (table.index.name, table.columns.name) == ("a", "b")
