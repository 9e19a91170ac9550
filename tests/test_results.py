"""``ScriptResults``: lookup by parameter values, errors, repr and DataFrame export."""

from __future__ import annotations

import math
import textwrap

import pytest

from py3r_script import ScriptResults, run, sensitivity
from py3r_script.errors import (
    IterationFailedError,
    IterationNotFoundError,
    OutputTypeError,
    ParameterTypeError,
    SweepError,
    UnknownNameError,
)
from py3r_script.paramset import ParamSet
from py3r_script.records import IterationRecord

SCRIPT = """
from py3r_script import Output, Param
a = Param(2, name="a")
b = Param(5, name="b")
c = Param(name="c")
Output(f"{a}-{b}-{c}", name="label")
if a == 3:
    raise ValueError("a=3 not allowed")
Output(a * b, name="total")
Output([a, b], name="vec")
"""

BASELINE = {"a": 2, "b": 5, "c": "k"}
LOW_A = {"a": 1, "b": 5, "c": "k"}
FAILED = {"a": 3, "b": 5, "c": "k"}
HIGH_B = {"a": 2, "b": 10, "c": "k"}


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    path = tmp_path_factory.mktemp("results") / "pipeline.py"
    path.write_text(textwrap.dedent(SCRIPT))
    return path


@pytest.fixture(scope="module")
def sr(script):
    # independent: baseline (2, 5), a=1, a=3 (fails), b=10; c held constant via nominal
    return sensitivity(script, {"a": [1, 3], "b": [10]}, nominal={"c": "k"})


def test_len_iter_and_param_names(sr):
    assert isinstance(sr, ScriptResults)
    assert len(sr.records) == 4
    assert len(sr) == 3  # completed only
    assert list(sr) == [BASELINE, LOW_A, HIGH_B]
    assert sr.param_names == ["a", "b", "c"]
    assert sr.output_names == ["label", "total", "vec"]


def test_getitem_full_and_partial_keys_filled_from_nominal(sr):
    assert sr[BASELINE]["total"] == 10
    assert sr[{"a": 1}]["total"] == 5
    assert sr[{"b": 10}]["total"] == 20
    assert sr[{"b": 10}]["vec"] == [2, 10]
    assert sr[{}]["label"] == "2-5-k"  # everything at nominal: the baseline
    assert sr.nominal == BASELINE


def test_contains(sr):
    assert {"a": 1} in sr
    assert LOW_A in sr
    assert {"a": 99} not in sr
    assert {"a": 3} not in sr  # ran, but failed
    assert {"unknown": 1} not in sr
    assert "a" not in sr


def test_no_match_raises_key_error_listing_available(sr):
    with pytest.raises(KeyError) as excinfo:
        sr[{"a": 99}]
    message = str(excinfo.value)
    assert "99" in message
    for key in (BASELINE, LOW_A, HIGH_B):
        assert str(key) in message
    assert str(FAILED) not in message


def test_unknown_parameter_name_raises_key_error(sr):
    with pytest.raises(KeyError, match="zzz"):
        sr[{"zzz": 1}]


def test_non_mapping_key_raises_type_error(sr):
    with pytest.raises(TypeError):
        sr[2]


def test_failed_iteration_raises_iteration_failed_error(sr):
    with pytest.raises(IterationFailedError, match="a=3 not allowed"):
        sr[{"a": 3}]
    with pytest.raises(KeyError, match="a=3 not allowed"):  # what `except KeyError` code sees
        sr[{"a": 3}]
    assert {"a": 3} not in sr
    record = sr.record({"a": 3})
    assert record.status == "error"
    assert record.outputs["label"] == "3-5-k"  # produced before the failure
    assert "total" not in record.outputs


def test_record_of_completed_iteration(sr):
    record = sr.record({"b": 10})
    assert record.ok
    assert dict(record.params) == HIGH_B
    assert record.duration > 0


def test_errors(sr):
    assert len(sr.errors) == 1
    params, message = sr.errors[0]
    assert params == FAILED
    assert message.splitlines()[0] == "ValueError: a=3 not allowed"
    assert "pipeline.py" in message


def test_repr_is_readable(sr, script):
    text = repr(sr)
    assert "4 iteration(s)" in text
    assert "3 ok" in text
    assert "1 failed" in text
    assert "a, b, c" in text
    assert "label, total, vec" in text
    assert "a=3 not allowed" in text
    assert "\n" in text and len(text) < 2000


def test_to_dataframe_non_scalar_output_raises_naming_it(sr):
    with pytest.raises(TypeError, match="'vec'") as excinfo:
        sr.to_dataframe()
    # the way out names the scalar outputs, ready to paste
    assert "sr.to_dataframe(outputs=['label', 'total'])" in str(excinfo.value)
    assert sr.scalar_output_names() == ["label", "total"]


def test_to_dataframe_selected_outputs(sr):
    frame = sr.to_dataframe(outputs=["total", "label"])
    assert list(frame.columns) == ["a", "b", "c", "total", "label"]
    assert frame.to_dict("records") == [
        {**BASELINE, "total": 10, "label": "2-5-k"},
        {**LOW_A, "total": 5, "label": "1-5-k"},
        {**HIGH_B, "total": 20, "label": "2-10-k"},
    ]


def test_to_dataframe_unknown_output(sr):
    with pytest.raises(KeyError, match="nope"):
        sr.to_dataframe(outputs=["nope"])


def test_to_dataframe_meta(sr):
    frame = sr.to_dataframe(outputs=["total"], meta=True)
    assert list(frame.columns[:4]) == ["a", "b", "c", "total"]
    for column in ("_status", "_duration_s", "_sweep_id", "_iteration_id", "_error"):
        assert column in frame.columns
    assert list(frame["_status"]) == ["ok", "ok", "ok"]
    assert (frame["_duration_s"] > 0).all()
    assert frame["_sweep_id"].nunique() == 1
    assert frame["_iteration_id"].nunique() == 3


def test_to_dataframe_include_failed(sr):
    frame = sr.to_dataframe(outputs=["label", "total"], include_failed=True)
    assert len(frame) == 4
    assert list(frame["a"]) == [2, 1, 3, 2]
    failed = frame[frame["_status"] == "error"]
    assert len(failed) == 1
    row = failed.iloc[0]
    assert row["a"] == 3
    assert row["label"] == "3-5-k"
    assert row["total"] is None or math.isnan(row["total"])
    assert "a=3 not allowed" in row["_error"]
    assert set(frame["_status"]) == {"ok", "error"}


def test_columns_follow_the_order_params_were_given(script):
    sr = sensitivity(script, {"b": [5], "a": [2]}, nominal={"c": "z"})
    assert len(sr) == 1  # both lists hold only the nominal: one baseline
    assert sr.param_names == ["b", "a", "c"]
    frame = sr.to_dataframe(outputs=["total", "label"])
    assert list(frame.columns) == ["b", "a", "c", "total", "label"]
    assert frame.iloc[0].to_dict() == {"b": 5, "a": 2, "c": "z", "total": 10, "label": "2-5-z"}


def test_typed_lookup_distinguishes_bool_int_float(tmp_path):
    path = tmp_path / "typed.py"
    path.write_text(textwrap.dedent(
        """
        from py3r_script import Output, Param
        x = Param(None, name="x")  # untyped: 1, True and 1.0 stay three values
        Output(type(x).__name__, name="t")
        """
    ))
    sr = sensitivity(path, {"x": [1, True, 1.0]}, mode="grid")
    assert len(sr) == 4
    assert sr[{"x": 1}]["t"] == "int"
    assert sr[{"x": True}]["t"] == "bool"
    assert sr[{"x": 1.0}]["t"] == "float"
    assert sr[{"x": None}]["t"] == "NoneType"
    frame = sr.to_dataframe()
    assert [type(v).__name__ for v in frame["t"]] == ["str"] * 4
    assert list(frame["t"]) == ["int", "bool", "float", "NoneType"]


def test_lookup_by_a_parameter_left_at_its_default(write_script):
    script = write_script(
        """
        from py3r_script import Output, Param
        window = Param(5, name="window")
        Output(window * 2, name="double")
        """
    )
    sr = run(script)
    assert sr[{"window": 5}]["double"] == 10
    assert {"window": 5} in sr
    with pytest.raises(KeyError):
        sr[{"window": 6}]
    with pytest.raises(KeyError, match="wndow"):
        sr[{"wndow": 5}]


@pytest.mark.parametrize("refused, kind, builtin", [
    (lambda sr: sr[{"a": 99}], IterationNotFoundError, KeyError),
    (lambda sr: sr[{"zzz": 1}], UnknownNameError, KeyError),
    (lambda sr: sr[2], ParameterTypeError, TypeError),
    (lambda sr: sr.to_dataframe(outputs=["nope"]), UnknownNameError, KeyError),
    (lambda sr: sr.to_dataframe(), OutputTypeError, TypeError),
], ids=["no-match", "unknown-name", "not-a-dict", "unknown-output", "non-scalar-output"])
def test_refusals_are_sweep_errors_of_the_builtin_kind(sr, refused, kind, builtin):
    with pytest.raises(SweepError) as caught:
        refused(sr)
    assert isinstance(caught.value, kind) and isinstance(caught.value, builtin)
    if builtin is KeyError:  # the message as written, not quoted as a KeyError's repr
        assert not str(caught.value).startswith(("'", '"'))


def test_a_partial_key_matching_several_iterations_asks_for_more_names():
    records = [IterationRecord(params=ParamSet({"a": 1, "b": b}), status="ok", index=i)
               for i, b in enumerate((5, 6))]
    sr = ScriptResults(["a", "b"], [], records)
    with pytest.raises(IterationNotFoundError, match=r"2 iterations match \{'a': 1\}; also "
                                                     r"give \['b'\]"):
        sr[{"a": 1}]
    assert dict(sr[{"a": 1, "b": 6}]) == {}


CLASHING = """
from py3r_script import Output, Param
a = Param(2, name="a")
label = Param("p", name="_label")  # named like a bookkeeping column
Output(a * 10, name="a")
Output(a + 1, name="b")
"""


def test_an_output_named_like_a_parameter_is_column_name_1_live_and_stored(write_script,
                                                                           tmp_path):
    import sqlite3

    import pandas as pd

    from py3r_script import load

    db = tmp_path / "study.db"
    sr = sensitivity(write_script(CLASHING), {"a": [1, 3]}, nominal={"_label": "p"}, store=db,
                     label="L")
    assert sr.record({"a": 3}).params["a"] == 3 and sr.record({"a": 3}).outputs["a"] == 30
    for results in (sr, load(db)):
        table = results.to_dataframe()
        assert list(table.columns) == ["a", "_label", "a:1", "b"]
        assert table[["a", "a:1", "b"]].values.tolist() == [[2, 20, 3], [1, 10, 2], [3, 30, 4]]
        with_meta = results.to_dataframe(meta=True)
        assert list(with_meta.columns[:4]) == ["a", "_label:1", "a:1", "b"]
        assert set(with_meta["_label:1"]) == {"p"} and set(with_meta["_label"]) == {"L"}
        assert with_meta.columns.is_unique
    runs = pd.read_sql('SELECT a, "a:1", b FROM runs', sqlite3.connect(db))
    assert runs.values.tolist() == [[2, 20, 3], [1, 10, 2], [3, 30, 4]]
