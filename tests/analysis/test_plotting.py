"""Plots of real sweeps: response curves, tornado charts and heatmaps, headless (Agg), and the
install hint when matplotlib is missing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import matplotlib
import pytest
from matplotlib.figure import Figure

from py3r_script import ScriptResults, run, sensitivity, sweep
from py3r_script.errors import UnknownNameError

matplotlib.use("Agg")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# y = 3a + 0.1b + (1 if c == "n"); nominal a = 2.0, b = 10, c = "m"  ->  y0 = 7
SCRIPT = """
from py3r_script import Output, Param
a = Param(2.0, name="a")
b = Param(10, name="b")
c = Param("m", name="c")
Output(3 * a + 0.1 * b + (1 if c == "n" else 0), name="y")
Output(b * 1.0, name="b_out")
"""


def y(a=2.0, b=10, c="m"):
    return 3 * a + 0.1 * b + (1 if c == "n" else 0)


Y0 = y()
VALUES = {"a": [1.0, 2.0, 3.0, 4.0], "b": [5, 10, 20], "c": ["m", "n"]}
NOMINAL = {"a": 2.0, "b": 10, "c": "m"}


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    path = tmp_path_factory.mktemp("plots") / "plotted.py"
    path.write_text(textwrap.dedent(SCRIPT).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sr(script) -> ScriptResults:
    # one at a time: baseline + 3 + 2 + 1 = 7 iterations
    return sensitivity(script, {"a": [1.0, 3.0, 4.0], "b": [5, 20], "c": ["n"]},
                       progress=False, max_workers=2)


@pytest.fixture(scope="module")
def grid(script) -> ScriptResults:
    # a in {1, 3, 2}, b in {5, 20, 10}: 9 iterations
    return sweep(script, {"a": [1.0, 3.0], "b": [5, 20]}, progress=False, max_workers=2)


def assert_png(fig: Figure, path) -> None:
    assert isinstance(fig, Figure)
    assert fig.canvas.manager is None  # made without pyplot: not registered anywhere
    fig.savefig(path)
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 1000


def test_plot_response_one_axes_per_parameter_with_nominal_marked(sr, tmp_path):
    assert not sr.errors
    fig = sr.plot_response("y")
    assert len(fig.axes) == 3
    for ax, name in zip(fig.axes, ["a", "b", "c"]):
        assert ax.get_xlabel() == name
        assert ax.get_ylabel() == "y"
        curve = [line for line in ax.lines if line.get_label() == "y"]
        assert len(curve) == 1
        values = VALUES[name]
        assert len(curve[0].get_xdata()) == len(values)
        assert list(curve[0].get_ydata()) == pytest.approx([y(**{name: v}) for v in values])
        nominal = [line for line in ax.lines if line.get_label() == "nominal"]
        assert len(nominal) == 1
        assert nominal[0].get_marker() == "*"
        assert list(nominal[0].get_ydata()) == pytest.approx([Y0])
        if name == "c":  # a non-numeric parameter: positions, labelled with the values
            assert list(curve[0].get_xdata()) == [0, 1]
            assert [t.get_text() for t in ax.get_xticklabels()] == ["m", "n"]
            assert list(nominal[0].get_xdata()) == [0]
        else:
            assert list(curve[0].get_xdata()) == values
            assert list(nominal[0].get_xdata()) == [NOMINAL[name]]
    assert_png(fig, tmp_path / "response.png")


def test_plot_response_selected_parameters(sr):
    fig = sr.plot_response("b_out", params=["b"])
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("b", "b_out")
    curve = next(line for line in ax.lines if line.get_label() == "b_out")
    assert list(curve.get_xdata()) == [5, 10, 20]
    assert list(curve.get_ydata()) == [5.0, 10.0, 20.0]


def test_plot_response_skips_failed_values(write_script):
    script = write_script("""
        from py3r_script import Output, Param
        x = Param(2.0, name="x")
        if x > 5:
            raise ValueError("too big")
        Output(x * 2, name="y")
    """)
    sr = sensitivity(script, {"x": [1.0, 3.0, 9.0]}, progress=False, max_workers=2)
    assert len(sr.errors) == 1
    curve = next(line for line in sr.plot_response("y").axes[0].lines
                 if line.get_label() == "y")
    assert list(curve.get_xdata()) == [1.0, 2.0, 3.0]


def test_plot_tornado_two_bars_per_parameter_most_influential_on_top(sr, tmp_path):
    fig = sr.plot_tornado("y")
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert len(ax.patches) == 2 * 3
    ticks = list(ax.get_yticks())
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 3
    # bottom to top; the top is the highest y position (the axis is not inverted)
    assert not ax.yaxis_inverted()
    order = [label for _, label in sorted(zip(ticks, labels))]
    assert [label.split()[0] for label in order] == ["c", "b", "a"]
    table = sr.sensitivity_table(outputs=["y"])
    assert table.set_index("parameter").loc["a", "rank"] == 1
    assert order[-1].startswith("a") and "2.0" in order[-1]  # names the nominal value too
    # each bar starts at the output at nominal and reaches the output at an extreme value
    for patch in ax.patches:
        assert patch.get_x() == pytest.approx(Y0)
    ends = sorted(round(p.get_x() + p.get_width(), 9) for p in ax.patches)
    expected = sorted(round(v, 9) for v in
                      [y(a=1.0), y(a=4.0), y(b=5), y(b=20), y(c="m"), y(c="n")])
    assert ends == expected
    assert_png(fig, tmp_path / "tornado.png")


def test_plot_heatmap_image_ticks_colorbar_and_annotations(grid, tmp_path):
    assert len(grid.records) == 9 and not grid.errors
    fig = grid.plot_heatmap("y", x="a", y="b")
    table = grid.pivot("y", index="b", columns="a")
    assert table.shape == (3, 3)
    ax = fig.axes[0]
    assert len(ax.images) == 1
    image = ax.images[0]
    assert image.get_array().tolist() == table.to_numpy(dtype=float).tolist()
    assert image.get_array().tolist() == [[y(a, b) for a in (1.0, 2.0, 3.0)]
                                          for b in (5, 10, 20)]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1.0", "2.0", "3.0"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["5", "10", "20"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("a", "b")
    assert image.colorbar is not None
    assert len(fig.axes) == 2 and image.colorbar.ax is fig.axes[1]
    assert len(ax.texts) == table.size == 9
    cells = {tuple(t.get_position()): t.get_text() for t in ax.texts}
    for row, b in enumerate(table.index):
        for col, a in enumerate(table.columns):
            assert cells[(col, row)] == f"{table.loc[b, a]:.3g}"
    assert_png(fig, tmp_path / "heatmap.png")


# y = 10 * window + min_len + thr, nominal (5, 3, 0.5)
LINKED = """
from py3r_script import Output, Param
window = Param(5, name="window")
min_len = Param(3, name="min_len")
thr = Param(0.5, name="thr")
Output(window * 10 + min_len + thr, name="y")
Output([window, min_len], name="lst")
"""


def lk(window=5, min_len=3, thr=0.5):
    return 10 * window + min_len + thr


def curve(ax, label):
    lines = [line for line in ax.lines if line.get_label() == label]
    assert len(lines) == 1, [line.get_label() for line in ax.lines]
    return list(lines[0].get_xdata()), list(lines[0].get_ydata())


def test_plot_response_draws_a_linked_pair_along_its_values(write_script):
    sr = sensitivity(write_script(LINKED), {("window", "min_len"): [(3, 3), (9, 4)],
                                            "thr": [0.9]}, progress=False, max_workers=2)
    window, min_len, thr = sr.plot_response("y").axes
    assert curve(window, "y") == ([3, 5, 9], pytest.approx([lk(3, 3), lk(), lk(9, 4)]))
    # min_len is 3 at both (3, 3) and the nominal (5, 3): ordered by the linked window too
    assert curve(min_len, "y") == ([3, 3, 4], pytest.approx([lk(3, 3), lk(), lk(9, 4)]))
    for ax in (window, min_len):  # the star is the nominal run only, not (3, 3)
        assert curve(ax, "nominal")[1] == pytest.approx([lk()])
    assert curve(min_len, "nominal")[0] == [3]
    assert window.get_xlabel() == "window (linked with min_len)"
    assert min_len.get_xlabel() == "min_len (linked with window)"
    assert thr.get_xlabel() == "thr"
    assert curve(thr, "y") == ([0.5, 0.9], pytest.approx([lk(), lk(thr=0.9)]))


def test_plot_response_takes_one_name_and_refuses_a_non_scalar_output(sr, write_script):
    fig = sr.plot_response("y", "b")  # a str is one name, not the letters of one
    assert len(fig.axes) == 1 and fig.axes[0].get_xlabel() == "b"
    linked = sensitivity(write_script(LINKED), {"window": [3]}, progress=False)
    with pytest.raises(TypeError, match=r"output 'lst' is a list in iteration .*not a scalar "
                                        r"number: plot_response needs a numeric scalar output"):
        linked.plot_response("lst")


def test_plot_response_of_a_sample_is_a_scatter_of_every_run(write_script):
    sr = sweep(write_script(LINKED), sample={"window": (1, 9), "thr": (0.0, 1.0)}, n=8,
               seed=2, progress=False, max_workers=2)
    runs = [(r.params["window"], r.params["thr"], r.outputs["y"]) for r in sr.records]
    window, thr = sr.plot_response("y").axes
    for ax, position in ((window, 0), (thr, 1)):
        lines = [line for line in ax.lines if line.get_label() == "y"]
        assert len(lines) == 1 and lines[0].get_linestyle() == "None"  # points, not a curve
        assert sorted(zip(lines[0].get_xdata(), lines[0].get_ydata())) == sorted(
            (run[position], run[2]) for run in runs)
        assert not [line for line in ax.lines if line.get_label() == "nominal"]
    # y rises with window whatever thr is: the ranks agree except for ties in window
    assert window.get_title().startswith("y vs window: Spearman ρ = 0.9")
    assert "Spearman ρ" in thr.get_title()


def test_plot_tornado_bars_reach_the_tables_extremes(write_script):
    script = write_script("""
        from py3r_script import Output, Param
        x = Param(1.0, name="x")
        b = Param(0.0, name="b")
        Output(x**2 + b, name="y")
    """)
    sr = sensitivity(script, {"x": [-3.0, 0.0, 2.0], "b": [0.5]}, progress=False,
                     max_workers=2)
    ax = sr.plot_tornado("y").axes[0]
    # y = x**2 is lowest at the interior x = 0, highest at x = -3 (not at x's ends: 9 and 4)
    bars = sorted((round(p.get_x(), 9), round(p.get_x() + p.get_width(), 9)) for p in ax.patches)
    assert bars == [(1.0, 0.0), (1.0, 1.0), (1.0, 1.5), (1.0, 9.0)]
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels == ["b=0.5", "x=-3.0", "x=0.0"]  # b's low end is its nominal: no label
    ends = {t.get_text(): t.xy for t in ax.texts}
    assert ends["x=0.0"][0] == 0.0 and ends["x=-3.0"][0] == 9.0
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "lowest output", "highest output"]
    table = sr.sensitivity_table("y").set_index("parameter")
    assert (table.loc["x", "output_min"], table.loc["x", "output_max"]) == (0.0, 9.0)


def test_plot_tornado_with_a_failed_nominal_run_draws_ranges_and_says_so(write_script):
    script = write_script("""
        from py3r_script import Output, Param
        x = Param(1.0, name="x")
        b = Param(0.0, name="b")
        if b > 5:
            raise ValueError("b too big")
        Output(x**2 + b, name="y")
    """)
    sr = sensitivity(script, {"x": [2.0], "b": [1.0, 2.0]}, nominal={"b": 9.0},
                     progress=False, max_workers=2)
    assert len(sr.errors) == 2  # the baseline and x = 2, both at b = 9
    ax = sr.plot_tornado("y").axes[0]
    assert [(p.get_x(), p.get_width()) for p in ax.patches] == [(2.0, 1.0)]  # b: 2 to 3
    assert "nominal run has no value" in ax.get_xlabel()
    assert sorted(t.get_text().split()[0] for t in ax.get_yticklabels()) == ["b", "x"]
    assert not ax.lines  # no nominal line to draw


def test_plot_tornado_refuses_what_it_cannot_draw(write_script):
    script = write_script(LINKED)
    with pytest.raises(ValueError, match="no parameter varies"):
        run(script).plot_tornado("y")
    sampled = sweep(script, sample={"window": (1, 9)}, n=3, seed=0, progress=False)
    with pytest.raises(ValueError, match=r"Latin-hypercube sample.*sensitivity_table"):
        sampled.plot_tornado("y")


def test_plot_heatmap_refuses_an_independent_sweep_and_honours_where(write_script):
    script = write_script(LINKED)
    independent = sensitivity(script, {"window": [3, 9], "thr": [0.9]}, progress=False,
                              max_workers=2)
    with pytest.raises(ValueError, match="not crossed"):
        independent.plot_heatmap("y", x="thr", y="window")
    grid = sweep(script, {"window": [3, 9], "min_len": [1, 2], "thr": [0.1, 0.2]},
                 include_nominal=False, progress=False, max_workers=2)
    ax = grid.plot_heatmap("y", x="min_len", y="window", where={"thr": 0.2}).axes[0]
    assert ax.get_title() == "y (thr=0.2)"
    assert ax.images[0].get_array().tolist() == [[lk(w, m, 0.2) for m in (1, 2)]
                                                 for w in (3, 9)]


@pytest.mark.parametrize("call", [
    lambda sr: sr.plot_response("y"),
    lambda sr: sr.plot_tornado("y"),
    lambda sr: sr.plot_heatmap("y", x="a", y="b"),
])
def test_missing_matplotlib_raises_import_error_with_install_hint(grid, monkeypatch, call):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # the import now fails
    with pytest.raises(ImportError, match="pip install"):
        call(grid)


def test_plots_never_import_pyplot(script):
    # in a fresh interpreter (this one may have pyplot loaded by another test)
    code = textwrap.dedent(f"""
        import sys
        import matplotlib
        from py3r_script import sweep
        sr = sweep({str(script)!r}, {{"a": [1.0], "b": [5]}}, progress=False)
        figures = [sr.plot_response("y"), sr.plot_tornado("y"),
                   sr.plot_heatmap("y", x="a", y="b")]
        assert all(type(f).__name__ == "Figure" for f in figures)
        print("pyplot" if "matplotlib.pyplot" in sys.modules else "no pyplot")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "no pyplot"


def test_unknown_names_are_key_errors_listing_what_exists(sr):
    for call in (lambda: sr.plot_response("nope"), lambda: sr.plot_tornado("nope"),
                 lambda: sr.sensitivity_table(["nope"]), lambda: sr.concat("nope")):
        with pytest.raises(KeyError, match="unknown output 'nope'"):
            call()
    with pytest.raises(KeyError, match="unknown parameter"):
        sr.plot_response(sr.output_names[0], ["nope"])


def test_plot_tornado_draws_a_table_given_to_it(sr):
    table = sr.sensitivity_table()
    given, computed = sr.plot_tornado("y", table=table), sr.plot_tornado("y")
    bars = [[(p.get_x(), p.get_width(), p.get_y()) for p in fig.axes[0].patches]
            for fig in (given, computed)]
    assert bars[0] == bars[1]
    labels = [[t.get_text() for t in fig.axes[0].get_yticklabels()] for fig in (given, computed)]
    assert labels[0] == labels[1]
    with pytest.raises(UnknownNameError, match=r"no rows of output 'y'.*sensitivity_table"):
        sr.plot_tornado("y", table=table[table["output"] != "y"])
