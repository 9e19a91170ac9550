"""Typed parameter values from text (``textvalues``): splitting ``a,'b,c'``, typing each value
by the script's default, ``NAME=VALUE`` assignments, and TOML values checked the same way."""

from __future__ import annotations

import pytest

from py3r_script.cli.textvalues import parse_assignment, parse_value, split_values
from py3r_script.errors import ParameterError

# -- split_values ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("3", [("3", False)]),
    ("3,5,7", [("3", False), ("5", False), ("7", False)]),
    (" 3 , 5 ", [("3", False), ("5", False)]),
    ("'a,b',c", [("a,b", True), ("c", False)]),
    ('"a,b",c', [("a,b", True), ("c", False)]),
    ("\"it's\",'say \"hi\"'", [("it's", True), ('say "hi"', True)]),
    ("' padded '", [(" padded ", True)]),
    ("''", [("", True)]),
    ("", [("", False)]),
    ("a,,b", [("a", False), ("", False), ("b", False)]),
    ("a,", [("a", False), ("", False)]),
    ("1e-3,none", [("1e-3", False), ("none", False)]),
    ("it's", [("it's", False)]),  # a quote inside a word opens nothing
    ("don't, 'a,b', it's", [("don't", False), ("a,b", True), ("it's", False)]),
    ('a"b,c', [('a"b', False), ("c", False)]),
])
def test_split_values(text, expected):
    assert split_values(text) == expected


@pytest.mark.parametrize("text", ["'a,b", '"a', "a,'b", "'a\"", "x,\"y'"])
def test_split_values_unbalanced_quote(text):
    with pytest.raises(ParameterError, match="unbalanced"):
        split_values(text)


def test_split_values_space_after_comma_before_quote():
    assert split_values("'a', 'b'") == [("a", True), ("b", True)]


# -- parse_value -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "text", "quoted", "expected"), [
    ("window", "5", False, 5),
    ("window", "-5", False, -5),
    ("window", "none", False, None),
    ("window", "NULL", False, None),
    ("thr", "1", False, 1.0),
    ("thr", "1e-3", False, 0.001),
    ("thr", "-2.5E2", False, -250.0),
    ("thr", "inf", False, float("inf")),
    ("flag", "true", False, True),
    ("flag", "False", False, False),
    ("flag", "yes", False, True),
    ("flag", "off", False, False),
    ("flag", "1", False, True),
    ("flag", "0", False, False),
    ("label", "3", False, "3"),
    ("label", "true", False, "true"),
    ("label", "none", False, None),
    ("label", "none", True, "none"),
    ("label", "a,b", True, "a,b"),
    ("label", "", True, ""),
    ("opt", "3", False, 3),
    ("opt", "3.5", False, 3.5),
    ("opt", "1e-3", False, 0.001),
    ("opt", "true", False, True),
    ("opt", "none", False, None),
    ("opt", "hello", False, "hello"),
    ("opt", "3", True, "3"),
    ("req", "7", False, 7),
    ("req", "off", False, False),
    ("req", "x", False, "x"),
    ("expr", "7", False, 7),
])
def test_parse_value_typed_by_the_default(info, name, text, quoted, expected):
    value = parse_value(text, quoted, info.param(name), name)
    assert value == expected
    assert type(value) is type(expected)


def test_parse_value_without_param_info():
    assert parse_value("1e-3", False, None, "x") == 0.001
    assert parse_value("12", False, None, "x") == 12
    assert parse_value("no", False, None, "x") is False


@pytest.mark.parametrize(("name", "text", "quoted", "kind"), [
    ("window", "abc", False, "int"),
    ("window", "2.5", False, "int"),
    ("window", "1e3", False, "int"),
    ("window", "true", False, "int"),
    ("window", "3", True, "int"),
    ("window", "", False, "int"),
    ("thr", "fast", False, "float"),
    ("thr", "1.0", True, "float"),
    ("flag", "maybe", False, "bool"),
    ("flag", "2", False, "bool"),
    ("flag", "true", True, "bool"),
])
def test_parse_value_mismatch_names_the_parameter_and_type(info, name, text, quoted, kind):
    with pytest.raises(ParameterError) as caught:
        parse_value(text, quoted, info.param(name), name)
    message = str(caught.value)
    assert f"parameter {name!r} expects {kind}" in message
    assert repr(text) in message


# -- parse_assignment ---------------------------------------------------


def test_parse_assignment_many(info):
    assert parse_assignment("window=3,5", info, many=True) == ("window", [3, 5])
    assert parse_assignment(" thr = 1, 2 ", info, many=True) == ("thr", [1.0, 2.0])
    assert parse_assignment("label='a,b',c", info, many=True) == ("label", ["a,b", "c"])
    assert parse_assignment("label=''", info, many=True) == ("label", [""])


def test_parse_assignment_single(info):
    assert parse_assignment("label=a,b", info, many=False) == ("label", "a,b")
    assert parse_assignment("label='x y'", info, many=False) == ("label", "x y")
    assert parse_assignment("label=k=v", info, many=False) == ("label", "k=v")
    assert parse_assignment("thr=3", info, many=False) == ("thr", 3.0)
    assert parse_assignment("opt=none", info, many=False) == ("opt", None)


@pytest.mark.parametrize(("text", "many", "pattern"), [
    ("window", True, r"expected NAME=V1,V2,\.\.\., got 'window'"),
    ("window", False, r"expected NAME=VALUE, got 'window'"),
    ("=3", True, r"expected NAME="),
    ("label=a,,b", True, r"empty value in 'label=a,,b'; quote an empty string as ''"),
    ("label=a,", True, r"empty value"),
    ("label=", False, r"empty value"),
    ("label='a", True, r"unbalanced ' quote"),
    ("windw=3", True, r"unknown parameter 'windw' .*Did you mean 'window'\?"),
    ("zzz=3", False, r"unknown parameter 'zzz' .*The script declares: window, thr, flag"),
    ("window=3,x", True, r"parameter 'window' expects int"),
])
def test_parse_assignment_errors(info, text, many, pattern):
    with pytest.raises(ParameterError, match=pattern):
        parse_assignment(text, info, many=many)


