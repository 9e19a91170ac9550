"""What a sweep's records hold, however compactly: their own ids, and mappings that say
what ran and cannot be changed behind the record's back."""

from __future__ import annotations

import copy
import pickle
import re

import pytest

from py3r_script import Study, load, sweep

SCRIPT = """
from py3r_script import Output, Param
a = Param(1, name="a")
b = Param(2, name="b")
if a > 2:
    c = Param(0.5, name="c")
Output(a * b, name="y")
"""


def test_each_iteration_has_its_own_id_and_a_rerun_gets_new_ones(write_script, tmp_path):
    script, db = write_script(SCRIPT), tmp_path / "study.db"
    first = sweep(script, {"a": [1, 2, 3, 4]}, store=db, max_workers=2, progress=False)
    ids = [r.iteration_id for r in first.records]
    assert len(set(ids)) == 4
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    again = sweep(script, {"a": [1, 2, 3, 4]}, store=db, rerun=True, progress=False)
    assert not set(ids) & {r.iteration_id for r in again.records}
    with Study(db) as study:
        assert study.held_ids() == set(ids) | {r.iteration_id for r in again.records}
    # a record keeps its id, folder and index from the run to the study
    stored = {r.iteration_id: r for r in load(db).records}
    assert [stored[i].index for i in ids] == [0, 1, 2, 3]


def test_an_iteration_folder_is_named_by_its_own_id(write_script, tmp_path):
    script = write_script(SCRIPT)
    sr = sweep(script, {"a": [1, 2]}, workdir=tmp_path / "runs", progress=False)
    folders = [r.workdir for r in sr.records]
    assert len(set(folders)) == 2
    for record in sr.records:
        assert record.workdir is not None and record.workdir.endswith(record.iteration_id)


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_a_records_mappings_say_what_ran_and_cannot_be_changed(write_script, warm):
    script = write_script(SCRIPT)
    sr = sweep(script, {"a": [1, 3]}, env={"PIPELINE_MODE": "test"}, warm=warm,
               progress=False)
    low, high = sr.records
    assert low.params_seen == {"a": 1, "b": 2} and list(low.params_seen) == ["a", "b"]
    assert high.params_seen == {"a": 3, "b": 2, "c": 0.5}
    assert low.env == {"PIPELINE_MODE": "test"}
    plain = sweep(script, {"a": [1]}, warm=warm, progress=False).records[0]
    assert plain.env == {} and not plain.env
    for mapping in (low.params_seen, plain.env, low.params):
        with pytest.raises(TypeError):
            mapping["a"] = 5  # type: ignore[index]
    for record in (low, high, plain):
        assert pickle.loads(pickle.dumps(record)) == record
        assert copy.deepcopy(record) == record
        assert pickle.loads(pickle.dumps(record)).params_seen == record.params_seen
    assert low.params_seen == {"a": 1, "b": 2}  # nothing above changed it
