"""Other tools' habits on the command line (hydra's ``a=1,2``, papermill's ``-p NAME
VALUE``): a usage error that says the py3r-script command doing the same, before anything
runs."""

from __future__ import annotations

import shlex

import pytest

HABITS = {
    "hydra's override, sweep": (
        ("sweep", "typed.py", "window=1,2"),
        "did you mean -s window=1,2?", "py3r-script sweep typed.py -s window=1,2"),
    "hydra's multirun, with -s missing": (
        ("sensitivity", "typed.py", "-m", "window=1,2", "+thr=3"),
        "did you mean -s window=1,2 -s thr=3?",
        "py3r-script sensitivity typed.py -s window=1,2 -s thr=3"),
    "hydra's override, run": (
        ("run", "typed.py", "--timeout", "9", "window=3"),
        "did you mean -p window=3?", "py3r-script run typed.py --timeout 9 -p window=3"),
    "hydra's override of several values, run": (
        ("run", "typed.py", "window=3,5"),
        "values to sweep are given with -s", "py3r-script sweep typed.py -s window=3,5"),
    "papermill's -p, run": (
        ("run", "typed.py", "-p", "label", "two words"),
        "-p takes NAME=VALUE, not papermill's -p NAME VALUE (did you mean -p "
        "'label=two words'?)", "py3r-script run typed.py -p 'label=two words'"),
    "papermill's -p, sweep": (
        ("sweep", "typed.py", "-s", "window=1,2", "-p", "thr", "0.5"),
        "did you mean --nominal thr=0.5?",
        "py3r-script sweep typed.py -s window=1,2 --nominal thr=0.5"),
}


@pytest.mark.parametrize("case", list(HABITS))
def test_another_tools_habit_is_answered_with_our_command(tmp_path, typed, log, case, cli, runs):
    args, meant, command = HABITS[case]
    result = cli(*args, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert "usage:" in result.stderr and "Traceback" not in result.stderr
    assert meant in result.stderr, result.stderr
    assert result.stderr.rstrip().endswith("\n  " + command), result.stderr
    assert runs(log) == 0


def test_the_command_suggested_runs(tmp_path, typed, log, cli, runs):
    *_, command = HABITS["papermill's -p, run"]
    result = cli(*shlex.split(command)[1:], "--output", "label_type", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert runs(log) == 1


def test_other_unknown_words_get_the_plain_error(tmp_path, typed, cli):
    for args in (("sweep", "typed.py", "--bogus"), ("run", "typed.py", "-p", "window")):
        result = cli(*args, cwd=tmp_path)
        assert result.returncode == 2
        assert "did you mean" not in result.stderr
    assert "-p takes NAME=VALUE, got 'window': write -p window=VALUE" in result.stderr
