"""A study's records read back are the very records a plain build of its rows gives, one
``sqlite3.Row`` and one ``json.loads`` at a time: statuses, errors, NaN, ``None``, ints
and floats, text and large integers, command lines and environments, outputs that are
deferred pickles, untrusted ones and ones no longer there; and reading leaves the garbage
collector as it found it.

Real scripts run in real subprocesses; the study is tampered with through plain
``sqlite3`` and its side files, as anyone who can write the file could.
"""

from __future__ import annotations

import gc
import json
import math
import pickle
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import closing
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from py3r_script import IterationRecord, Study, load, sweep
from py3r_script.errors import OutputTypeError
from py3r_script.paramset import ParamSet
from py3r_script.records import NOTHING, seen_params
from py3r_script.store.loading import OUTPUT_COLUMNS, read_outputs

MIXED = """
import math, os, signal, sys, time
from py3r_script import Output, Param
x = Param(None, name="x")  # untyped: ints and floats both
w = Param(0.5, name="w")
tag = Param(None, name="tag")
print(f"x is {x}")
print("a warning", file=sys.stderr)
Output(x, name="number")  # an int or a float, as x is
Output(math.nan if x == 2 else w, name="w_or_nan")
Output(None, name="nothing")
Output(f"run {x}", name="text")
Output(x % 2 == 0, name="flag")
Output(2 ** 70 + int(x), name="huge")  # beyond 64 bits: stored as text
Output({"x": x, "items": [1, 2]}, name="mapping")  # a pickle, deferred when read
if x == 7:
    Output(b"z" * 1_500_000, name="raw")  # a side file (deleted below)
if x == 3:
    raise ValueError("three is bad")
if x == 4:
    sys.exit(5)
if x == 5:
    time.sleep(60)
if x == 6:
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _as_built(db: Path) -> list[IterationRecord]:
    """The study's records as a plain build gives them (the reference): each row as a
    ``sqlite3.Row``, each JSON text read by ``json.loads``."""
    def text(value: Any) -> Any:
        return bytes(value).decode("utf-8", "surrogatepass") if isinstance(value, bytes) \
            else value

    with closing(sqlite3.connect(db)) as con:
        found = read_outputs(con.execute(
            f"SELECT {', '.join(f'o.{c}' for c in OUTPUT_COLUMNS)} FROM outputs o JOIN "
            "iterations i USING (iteration_id) ORDER BY i.iteration_seq, o.position"),
            db.parent, db, trusted=False)
        con.row_factory = sqlite3.Row
        rows = con.execute("SELECT i.*, s.sweep_seq FROM iterations i LEFT JOIN sweeps s "
                           "USING (sweep_id) ORDER BY i.iteration_seq").fetchall()
    records = []
    for row in rows:
        seen, requested = row["params_seen_json"], row["requested_outputs"]
        params = ParamSet(json.loads(row["params_json"]))
        records.append(IterationRecord(
            params=params, status=row["status"],
            outputs=found.of(row["iteration_id"]), error=text(row["error"]),
            error_type=text(row["error_type"]), exit_code=row["exit_code"],
            signal=row["signal"], stopped_early=bool(row["stopped_early"]),
            # what the script read: read-only, its params when the same (see seen_params)
            params_seen=seen_params(params, json.loads(seen)) if seen and seen != "{}"
            else NOTHING,
            started=row["started"], finished=row["finished"],
            stdout=text(row["stdout"]) or "", stderr=text(row["stderr"]) or "",
            index=row["plan_index"], iteration_id=row["iteration_id"],
            script=text(row["script"]) or "", script_sha256=row["script_sha256"],
            requested_outputs=None if requested is None else tuple(json.loads(requested)),
            host=text(row["host"]) or "", python=row["python"] or "",
            workdir=text(row["workdir"]), sweep_id=row["sweep_id"], label=text(row["label"]),
            argv=tuple(json.loads(row["argv_json"])), env=json.loads(row["env_json"]) or NOTHING,
            interpreter=text(row["interpreter"]) or "", iteration_seq=row["iteration_seq"],
            sweep_seq=row["sweep_seq"], replicate=row["replicate"] or 0,
        ))
    return records


def _described(record: IterationRecord) -> tuple[Any, ...]:
    """Everything a record holds, each value with its type (``1`` is not ``1.0``, a NaN is
    one), its outputs described without reading a deferred one."""
    values = [(f.name, type(getattr(record, f.name)).__name__, repr(getattr(record, f.name)))
              for f in fields(record) if f.name != "outputs"]
    outputs = record.outputs
    described = [(name, outputs.is_deferred(name), outputs.type_name(name),
                  None if outputs.is_deferred(name) else repr(outputs[name]))
                 for name in outputs]
    return values, described, outputs.unavailable, outputs.untrusted


@pytest.fixture(scope="module", autouse=True)
def signing_key(tmp_path_factory) -> Iterator[Path]:
    """One key for the module (the study is written once, for all its tests)."""
    key = tmp_path_factory.mktemp("keys") / "signing.key"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PY3R_SCRIPT_KEY_FILE", str(key))
        yield key


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, signing_key) -> Path:
    """A study of two sweeps: every way an iteration ends, ints and floats and NaN and
    ``None`` as parameters and outputs, a second sweep with its own label, arguments and
    environment; one pickle unsigned (untrusted), one side file deleted (unavailable)."""
    folder = tmp_path_factory.mktemp("mixed")
    script = folder / "mixed.py"
    script.write_text(MIXED)
    db = folder / "study.db"
    points = [{"x": 0}, {"x": 1.0}, {"x": 2, "w": math.nan}, {"x": 3}, {"x": 4, "tag": "t"},
              {"x": 5}, {"x": 6}, {"x": 7, "w": 1}, {"x": 8, "tag": True}, {"x": 1}]
    sweep(script, points=points, timeout=5, store=db, progress=False)
    sweep(script, {"x": [10, 11.5]}, store=db, label="second", argv=["--flag", "é"],
          env={"MIXED_A": "1"}, progress=False)
    with closing(sqlite3.connect(db)) as con, con:
        con.execute("UPDATE outputs SET signature = NULL WHERE name = 'mapping' AND "
                    "iteration_id IN (SELECT iteration_id FROM iterations WHERE "
                    "params_json LIKE '%\"x\": 8%')")
        (side,) = con.execute("SELECT file FROM outputs WHERE file IS NOT NULL").fetchone()
    (db.parent / side).unlink()
    return db


def _copy(db: Path, to: Path) -> None:
    with closing(sqlite3.connect(db)) as source, closing(sqlite3.connect(to)) as copy:
        source.backup(copy)


def _read(db: Path, **records: Any) -> tuple[list[IterationRecord], list[IterationRecord]]:
    """``Study.records(**records)`` and ``load(db).records``, their warnings (an output
    unavailable, one untrusted) taken as said."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Study(db, create=False) as study:
            read = study.records(**records)
        return read, load(db).records


def test_records_read_are_those_a_plain_build_of_the_rows_gives(mixed, monkeypatch):
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("reading a study unpickled something")

    monkeypatch.setattr(pickle, "loads", refuse)
    read, loaded = _read(mixed)
    expected = [_described(record) for record in _as_built(mixed)]
    assert [_described(record) for record in read] == expected
    assert [_described(record) for record in loaded] == expected

    assert {r.status for r in read} == {"ok", "error", "timeout", "crashed"}
    assert [type(r.params["x"]) for r in read][:2] == [int, float]
    assert math.isnan(read[2].params["w"]) and math.isnan(read[2].outputs["w_or_nan"])
    assert all(r.outputs.is_deferred("mapping") for r in read if "mapping" in r.outputs)
    assert [r.params["x"] for r in read if r.outputs.untrusted] == [8]
    assert [r.params["x"] for r in read if r.outputs.unavailable] == [7]
    assert {r.argv for r in read} == {(), ("--flag", "é")}
    assert read[-1].env == {"MIXED_A": "1"} and read[-1].label == "second"


def test_a_sweep_ids_or_some_outputs_read_as_a_plain_build_gives_them(mixed):
    everything = {r.iteration_id: _described(r) for r in _as_built(mixed)}
    latest, _ = _read(mixed, sweep=-1)
    assert [_described(r) for r in latest] == [everything[r.iteration_id] for r in latest]
    wanted = [*(r.iteration_id for r in reversed(latest)), "not there"]
    by_ids, _ = _read(mixed, ids=wanted)
    assert [r.iteration_id for r in by_ids] == wanted[:-1]
    assert [_described(r) for r in by_ids] == [everything[i] for i in wanted[:-1]]
    some, _ = _read(mixed, outputs=["number"])
    assert {tuple(r.outputs) for r in some} == {("number",)}  # each had it, failed or not
    assert [_described(r)[0] for r in some] == [d[0] for d in everything.values()]


def test_json_edited_by_hand_reads_as_json_loads_reads_it(mixed, tmp_path):
    db = tmp_path / "edited.db"
    _copy(mixed, db)
    with closing(sqlite3.connect(db)) as con, con:
        con.execute("UPDATE iterations SET params_json = ' ' || params_json || '\n', "
                    "env_json = env_json || ' ', params_seen_json = "
                    "char(9) || params_seen_json")
    read, _ = _read(db)
    assert [_described(r)[0] for r in read] == [_described(r)[0] for r in _as_built(db)]
    assert [(r.params["x"], type(r.params["x"])) for r in read][:2] == [(0, int), (1.0, float)]
    _copy(mixed, db)
    with closing(sqlite3.connect(db)) as con, con:  # more after the value: not JSON
        con.execute("UPDATE iterations SET params_json = params_json || '{}' "
                    "WHERE iteration_seq = 1")
    with pytest.raises(json.JSONDecodeError, match="Extra data"):
        _read(db)


@pytest.mark.parametrize("collector_on", [True, False])
def test_reading_leaves_the_garbage_collector_as_it_found_it(mixed, tmp_path, collector_on):
    was_on = gc.isenabled()
    (gc.enable if collector_on else gc.disable)()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = load(mixed)
        results.to_dataframe(outputs=["number", "text"], meta=True)
        assert gc.isenabled() is collector_on
        with pytest.raises(OutputTypeError):  # "mapping" is no column
            results.to_dataframe(meta=True)
        assert gc.isenabled() is collector_on
        broken = tmp_path / "broken.db"
        _copy(mixed, broken)
        with closing(sqlite3.connect(broken)) as con, con:
            con.execute("UPDATE iterations SET params_json = '{\"x\": ' "
                        "WHERE iteration_seq = 3")
        with pytest.raises(json.JSONDecodeError):
            _read(broken)
        assert gc.isenabled() is collector_on
    finally:
        (gc.enable if was_on else gc.disable)()
