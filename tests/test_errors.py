"""The exception hierarchy: one root, clear kinds, and every exception survives pickling."""

from __future__ import annotations

import pickle

import pytest

import py3r_script
from py3r_script import errors
from py3r_script.cli.sweepfile import SweepFileError
from py3r_script.store.study import StoreError

SIMPLE = [
    errors.SweepError, errors.ScriptError, errors.ParameterError, errors.ParameterTypeError,
    errors.IterationFailedError, StoreError, SweepFileError,
]


@pytest.mark.parametrize("cls", SIMPLE, ids=lambda c: c.__name__)
def test_every_error_pickles_and_keeps_its_message(cls):
    error = cls("something specific went wrong")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert str(copy) == str(error)
    assert isinstance(copy, errors.SweepError)


def test_errors_are_also_the_builtin_kinds_users_catch():
    assert issubclass(errors.ParameterError, ValueError)
    assert issubclass(errors.ScriptError, ValueError)
    assert issubclass(errors.ParameterTypeError, TypeError)
    assert issubclass(errors.IterationFailedError, KeyError)


def test_sweep_interrupted_pickles_with_its_results(write_script):
    script = write_script(
        """
        from py3r_script import Output, Param
        x = Param(1, name="x")
        Output(x * 2, name="double")
        """
    )
    results = py3r_script.run(script, {"x": 3})
    error = py3r_script.SweepInterrupted(results)
    assert isinstance(error, KeyboardInterrupt)
    copy = pickle.loads(pickle.dumps(error))
    assert copy.results[{"x": 3}]["double"] == 6
    assert "1 finished iteration" in str(copy)


@pytest.mark.parametrize("cls, builtin", [
    (errors.UnknownNameError, KeyError), (errors.IterationNotFoundError, KeyError),
    (errors.OutputError, ValueError), (errors.OutputTypeError, TypeError),
], ids=lambda c: c.__name__)
def test_errors_of_results_and_analysis_pickle_and_are_builtin_kinds(cls, builtin):
    error = cls("output 'y' went wrong")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls and str(copy) == str(error) == "output 'y' went wrong"
    assert isinstance(copy, errors.SweepError) and isinstance(copy, builtin)


@pytest.mark.parametrize("error", [
    errors.DesignError("n goes with sample", "goes with another design", ("n",), "params"),
    errors.MissingValueError("no value", "nominal", ("expr",), ("no script default",), "params"),
    errors.OptionError("rerun needs a store", "rerun", "store"),
    errors.SweepFileError("sweep.toml, line 3: bad", "timeout", 3),
], ids=lambda e: type(e).__name__)
def test_structured_errors_pickle_with_their_fields(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)
    assert isinstance(copy, errors.ParameterError)


def test_the_sweep_file_error_lives_with_the_others():
    assert SweepFileError is errors.SweepFileError
    assert errors.SweepFileError("x").key is None and errors.SweepFileError("x").line is None
