"""``ParamSet``: type-aware identity, order-free equality, a digest stable across processes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from py3r_script.errors import ParameterTypeError
from py3r_script.paramset import ParamSet


def test_type_aware_equality():
    assert ParamSet({"w": 1}) != ParamSet({"w": 1.0})
    assert ParamSet({"w": 1}) != ParamSet({"w": True})
    assert ParamSet({"w": 1.0}) != ParamSet({"w": True})
    assert ParamSet({"w": 0}) != ParamSet({"w": None})
    assert ParamSet({"w": "1"}) != ParamSet({"w": 1})
    assert len({ParamSet({"w": 1}), ParamSet({"w": 1.0}), ParamSet({"w": True})}) == 3


def test_equality_ignores_order_and_matches_plain_dicts():
    one = ParamSet({"a": 1, "b": "x"})
    two = ParamSet({"b": "x", "a": 1})
    assert one == two
    assert hash(one) == hash(two)
    assert one == {"a": 1, "b": "x"}
    assert one != {"a": 1.0, "b": "x"}
    assert list(one) == ["a", "b"] and list(two) == ["b", "a"]


def test_is_an_immutable_mapping():
    params = ParamSet({"a": 1})
    assert params["a"] == 1 and len(params) == 1 and dict(params) == {"a": 1}
    with pytest.raises(TypeError):
        params["a"] = 2  # type: ignore[index]
    copy = params.to_dict()
    copy["a"] = 5
    assert params["a"] == 1


def test_numpy_scalars_are_converted():
    params = ParamSet({"i": np.int64(3), "f": np.float64(0.5), "b": np.bool_(True)})
    assert [type(v) for v in params.values()] == [int, float, bool]
    assert params == ParamSet({"i": 3, "f": 0.5, "b": True})


@pytest.mark.parametrize("value", [[1], {"a": 1}, (1,), object()], ids=lambda v: type(v).__name__)
def test_non_scalars_are_rejected(value):
    with pytest.raises(ParameterTypeError, match="'p'"):
        ParamSet({"p": value})
    with pytest.raises(TypeError):
        ParamSet({"p": value})


def test_digest_is_type_aware_and_order_independent():
    base = ParamSet({"a": 1, "b": 0.5, "c": "x", "d": None, "e": True})
    assert base.digest == ParamSet(dict(reversed(list(base.items())))).digest
    assert base.digest != base.merged({"a": 1.0}).digest
    assert base.digest != base.merged({"e": 1}).digest
    assert len(base.digest) == 64


def test_digest_is_stable_across_processes():
    values = {"a": 1, "b": 0.5, "c": "x y", "d": None, "e": True, "f": -2.25}
    code = (
        "from py3r_script.paramset import ParamSet;"
        f"print(ParamSet({values!r}).digest)"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert digests == {ParamSet(values).digest}


def test_project_gives_the_set_itself_when_nothing_is_left_out():
    base = ParamSet({"a": 1, "b": 0.5})
    assert base.project(["a", "b"]) is base
    assert list(base.project(["b", "a"])) == ["b", "a"]  # another order: another set
    assert base.project(["a", "zz"]) == ParamSet({"a": 1}) and base.project([]) == ParamSet()
    assert base.get("a") == 1 and base.get("zz", 7) == 7 and "a" in base and "zz" not in base
