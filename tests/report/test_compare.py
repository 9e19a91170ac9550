"""``Study.compare``: what changed between two sweeps, one row per difference (the report's
"What changed" section shows it; ``py3r-script show --compare`` prints it)."""

from __future__ import annotations

from py3r_script import Study, sensitivity
from py3r_script.store.comparison import COLUMNS, describe_values


def _differences(table) -> dict[tuple[str, str], tuple[object, object]]:
    return {(w, n): (a, b) for w, n, a, b in table.itertuples(index=False, name=None)}


def test_an_edited_script_and_another_design_show_up(study_db):
    with Study(study_db) as study:
        table = study.compare(0, 1)
    assert list(table.columns) == COLUMNS
    changed = _differences(table)
    hash_a, hash_b = changed["script", "sha256"]
    assert len(hash_a) == len(hash_b) == 64 and hash_a != hash_b
    assert changed["design", "mode"] == ("independent", "grid")
    assert changed["parameter", "b"] == ("5, 10, 20, 30", "5, 10, 20")
    assert changed["design", "iterations"] == ("6", "9")
    assert ("parameter", "a") not in changed  # 1.0, 2.0, 3.0 in both
    assert not any(what in ("environment", "git", "package") for what, _ in changed)
    kinds = [what for what, _ in changed]
    assert kinds == sorted(kinds, key=["script", "design", "parameter"].index)


def test_a_sweep_compared_with_itself_has_no_differences(study_db):
    with Study(study_db) as study:
        assert study.compare(2, study.sweep_id(2)[:6]).empty
        sample = _differences(study.compare(-2, -1))  # by number from the end
    assert sample["design", "mode"] == ("lhs", "points")
    assert sample["design", "seed"] == ("1", None)
    assert sample["parameter", "a"][0].startswith("30 values from 0.")


def test_nominal_values_outputs_and_run_options_show_up(write_script, tmp_path):
    script = write_script("""
        from py3r_script import Output, Param
        a = Param(1.0, name="a")
        b = Param(2, name="b")
        Output(a + b, name="y")
        Output(a * b, name="z")
    """)
    db = tmp_path / "runs.db"
    sensitivity(script, {"a": [1.0, 2.0]}, nominal={"b": 3}, outputs=["y"], env={"X": "1"},
                store=db, progress=False)
    sensitivity(script, {"a": [1.0, 2.0]}, outputs=["y", "z"], argv=["--in", "a b.csv"],
                store=db, progress=False)
    with Study(db) as study:
        changed = _differences(study.compare(0, 1))
    assert changed["nominal", "b"] == ("3", None)
    assert changed["outputs", "requested"] == ("y", "y, z")
    assert changed["run", "env"] == ('{"X": "1"}', None)
    assert changed["run", "argv"] == (None, "--in 'a b.csv'")
    assert ("parameter", "a") not in changed


def test_values_are_described_by_type_and_many_by_their_range():
    assert describe_values([3, 1, 2.0, 1, True]) == "1, True, 2.0, 3"
    assert describe_values(["b", None, "a"]) == "'a', 'b', None"
    assert describe_values(x / 7 for x in range(50)) == "50 values from 0.0 to 7.0"
    assert describe_values([*range(20), "x"]).endswith("... (21 values)")
