"""``to_dataframe()`` built a column at a time gives the very table the row-by-row build
gave: the same columns, dtypes and values, at a size where the two paths could part."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from py3r_script import ScriptResults, sensitivity
from py3r_script.dataframe import column_names, meta_values, scalar_output
from py3r_script.paramset import ParamSet


def row_by_row(results: ScriptResults, outputs: list[str], *, meta: bool,
               include_failed: bool) -> pd.DataFrame:
    """The table as ``to_dataframe`` built it before it went by column (the reference)."""
    bookkeeping = meta or include_failed
    rows = []
    for record in results.records:
        if not (include_failed or record.ok):
            continue
        row = [record.params.get(n) for n in results.param_names]
        row.extend(scalar_output(results, record, name) for name in outputs)
        if bookkeeping:
            meta_row = [  # spelled out, not taken from meta_values: the reference
                record.sweep_id, record.sweep_seq, record.iteration_id, record.iteration_seq,
                record.index, record.params.digest, record.status, record.error,
                record.exit_code, record.signal, record.duration, record.started,
                record.finished, record.host, record.stopped_early, record.script_sha256,
                record.label, record.workdir,
            ]
            assert meta_values(record) == meta_row
            row.extend(meta_row)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=column_names(results.param_names, outputs,
                                                    meta=bookkeeping))
    if bookkeeping:
        for column in ("_started_utc", "_finished_utc"):
            frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
        for column in ("_sweep_seq", "_iteration_seq", "_exit_code"):
            frame[column] = frame[column].astype("Int64")
    return frame


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> ScriptResults:
    """2,400 records (12 real iterations, their copies under other parameter values) whose
    outputs are ints, floats, text, booleans, ``None``, missing, mixed, and failures."""
    script = tmp_path_factory.mktemp("frame") / "kinds.py"
    script.write_text(
        "from py3r_script import Output, Param\n"
        "x = Param(0, name='x')\n"
        "w = Param(0.5, name='w')\n"
        "Output(x * 2 if x % 3 else x / 2, name='number')\n"
        "Output(f'run {x}', name='text')\n"
        "Output(x % 2 == 0, name='flag')\n"
        "Output([1, 'a', None, True][x % 4], name='mixed')\n"
        "if x == 6:\n"
        "    raise SystemExit(3)\n"
        "if x != 5:\n"
        "    Output(None if x == 4 else x, name='sparse')\n")
    results = sensitivity(script, {"x": list(range(12))}, progress=False)
    records = [replace(record, params=ParamSet({**record.params, "x": record.params["x"]
                                                + 1000 * copy}))
               for copy in range(200) for record in results.records]
    return ScriptResults(results.param_names, results.output_names, records)


@pytest.mark.parametrize("meta", [False, True])
@pytest.mark.parametrize("include_failed", [False, True])
def test_the_table_is_the_one_built_row_by_row(many, meta, include_failed):
    frame = many.to_dataframe(meta=meta, include_failed=include_failed)
    expected = row_by_row(many, many.output_names, meta=meta, include_failed=include_failed)
    assert len(frame) == (2400 if include_failed else 2200)
    assert list(frame.columns) == list(expected.columns)
    assert frame.dtypes.to_dict() == expected.dtypes.to_dict()
    pd.testing.assert_frame_equal(frame, expected)


def test_a_selection_of_outputs_and_no_rows_are_as_before(many):
    chosen = ["text", "number"]
    pd.testing.assert_frame_equal(many.to_dataframe(outputs=chosen),
                                  row_by_row(many, chosen, meta=False, include_failed=False))
    empty = ScriptResults(many.param_names, many.output_names)
    for meta in (False, True):
        pd.testing.assert_frame_equal(
            empty.to_dataframe(meta=meta),
            row_by_row(empty, many.output_names, meta=meta, include_failed=False))
