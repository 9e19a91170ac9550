"""Every value a script can output or a user can pass is stored exactly (it loads back
equal, of the same type), or becomes its iteration's stored error: a sweep never stops on a
value. Through the API and the command line, on real subprocesses and real study files."""

from __future__ import annotations

import math
import subprocess
import sys

import pandas as pd

from py3r_script import load, run, sweep

ODD = ["\udcff", "plain", "x\udc80y"]  # what a surrogate-escaped argument or file name holds

SCRIPT = """
from py3r_script import Output, Param
s = Param("a", name="s")
Output(2**64 + len(s), name="big")
Output(-(2**70), name="negative")
Output(s + "\\udcff", name="text")
if s == "plain":
    raise ValueError("refused " + s + "\\udcfe")
"""


def test_values_beyond_sqlite_are_stored_and_load_back_equal(tmp_path, write_script, peek):
    script = write_script(SCRIPT)
    db = tmp_path / "study.db"
    sr = sweep(script, {"s": ODD}, store=db, label="odd \udcff", include_nominal=False,
               progress=False)
    assert [r.status for r in sr.records] == ["ok", "error", "ok"]
    assert peek.scalar(db, "SELECT COUNT(*) FROM iterations") == 3
    study = load(db)
    assert [r.params["s"] for r in study.records] == ODD
    for s in ("\udcff", "x\udc80y"):
        outputs = study[{"s": s}]
        assert outputs["big"] == 2**64 + len(s) and type(outputs["big"]) is int
        assert outputs["negative"] == -(2**70) and outputs["text"] == s + "\udcff"
    assert study.record({"s": "plain"}).error.startswith("ValueError: refused plain\udcfe")
    assert {r.label for r in study.records} == {"odd \udcff"}
    frame = study.to_dataframe()
    assert frame["s"].tolist() == ["\udcff", "x\udc80y"]
    assert frame["big"].tolist() == [2**64 + 1, 2**64 + 3]
    # the next sweep finds them: nothing runs again but the failure
    again = sweep(script, {"s": ODD}, store=db, include_nominal=False, progress=False)
    assert peek.scalar(db, "SELECT COUNT(*) FROM iterations") == 4
    assert again[{"s": "x\udc80y"}]["text"] == "x\udc80y\udcff"


def test_the_command_line_stores_a_surrogate_escaped_value(tmp_path, write_script):
    script = write_script(SCRIPT)
    db = tmp_path / "study.db"
    done = subprocess.run(
        [sys.executable, "-m", "py3r_script", "sweep", str(script), "-s", b"s=\xff,b,c",
         "--no-include-nominal", "--store", str(db), "--no-progress"],
        capture_output=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert len(done.stdout.splitlines()) == 4  # the header, three rows
    study = load(db)
    assert [r.params["s"] for r in study.records] == ["\udcff", "b", "c"]
    assert study[{"s": "\udcff"}]["text"] == "\udcff\udcff"
    assert study.to_dataframe()["big"].tolist() == [2**64 + 1] * 3


def test_scalars_come_back_as_the_type_they_were(tmp_path, write_script):
    script = write_script("""
        import numpy as np
        from py3r_script import Output
        values = {"true": True, "one": 1, "float": 1.0, "minus_zero": -0.0, "nan": float("nan"),
                  "inf": float("-inf"), "none": None, "nul": "a\\x00b", "f32": np.float32(0.1),
                  "u64": np.uint64(2**64 - 1), "np_bool": np.bool_(False), "i8": np.int8(-3),
                  "np_str": np.str_("é"), "f16": np.float16(0.5), "zero_d": np.array(7)}
        for name, value in values.items():
            Output(value, name=name)
        """)
    db = tmp_path / "study.db"
    ran = run(script, store=db, progress=False)[{}]
    loaded = load(db)[{}]
    for name in ran:
        a, b = ran[name], loaded[name]
        assert type(a) is type(b), name
        same = a is b or a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))
        assert same, name
    assert math.copysign(1, loaded["minus_zero"]) == -1
    assert loaded["zero_d"].shape == () and loaded["zero_d"] == 7


TABLES = {  # name: (value, how it is stored)
    "categorical": ("pd.DataFrame({'c': pd.Categorical(['a', 'b', 'a'])})", "parquet"),
    "tz": ("pd.DataFrame({'t': pd.date_range('2020', periods=3, tz='Europe/Paris')})",
           "parquet"),
    "multiindex": ("pd.DataFrame({'a': [1, 2]}, index=pd.MultiIndex.from_tuples("
                   "[('x', 1), ('y', 2)], names=['s', 'n']))", "parquet"),
    "series": ("pd.Series([0.5, None], name='s', index=['p', 'q'])", "parquet"),
    "mixed": ("pd.DataFrame({'a': [1, 'x']})", "pickle"),  # Parquet refuses it
    "lists": ("pd.DataFrame({'a': [[1, 2], [3]]})", "pickle"),  # would come back as arrays
    "tuple_name": ("pd.Series([1], name=('a', 1))", "pickle"),  # would come back a list
    "f_order": ("np.asfortranarray(np.arange(6.0).reshape(2, 3))", "npy"),
    "structured": ("np.array([(1, 2.5)], dtype=[('a', 'i4'), ('b', 'f8')])", "npy"),
    "objects": ("np.array([1, 'a'], dtype=object)", "pickle"),  # .npy refuses objects
}


def test_tables_and_arrays_load_back_exactly(tmp_path, write_script, peek):
    outputs = "\n".join(f"Output({value}, name={name!r})"
                         for name, (value, _) in TABLES.items())
    script = write_script(f"import numpy as np, pandas as pd\n"
                          f"from py3r_script import Output\n{outputs}\n")
    db = tmp_path / "study.db"
    ran = run(script, store=db, progress=False)[{}]
    loaded = load(db)[{}]
    for name in TABLES:
        a, b = ran[name], loaded[name]
        assert type(a) is type(b), name
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(b, a, check_exact=True)
        elif isinstance(a, pd.Series):
            pd.testing.assert_series_equal(b, a, check_exact=True)
        else:
            assert b.dtype == a.dtype and b.tolist() == a.tolist(), name
            assert b.flags.f_contiguous == a.flags.f_contiguous, name
    stored = {r["name"]: r["format"] for r in peek.query(db, "SELECT name, format FROM outputs")}
    assert stored == {name: how for name, (_, how) in TABLES.items()}


def test_an_output_that_cannot_be_stored_becomes_its_iterations_error(tmp_path, write_script):
    script = write_script("""
        from py3r_script import Output, Param
        x = Param(1, name="x")

        def _copy():
            made = Once()
            made.copied = True
            return made

        class Once:
            copied = False

            def __reduce__(self):  # a value that cannot be pickled again once copied
                if self.copied:
                    raise TypeError("this object cannot be copied twice")
                return (_copy, ())

        Output(x, name="y")
        Output(Once(), name="once")
        """)
    db = tmp_path / "study.db"
    sr = sweep(script, {"x": [1, 2, 3]}, store=db, include_nominal=False, progress=False)
    assert [r.status for r in sr.records] == ["error"] * 3  # all three stored; none stopped it
    study = load(db)
    assert len(study.records) == 3
    record = study.records[0]
    assert "output 'once'" in record.error and "cannot be copied twice" in record.error
    assert record.outputs["y"] == 1 and "once" not in record.outputs
    assert sweep(script, {"x": [1]}, store=db, include_nominal=False,
                 progress=False).records[0].status == "error"  # not reused: it runs again
