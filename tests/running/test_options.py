"""Run options (``running.options``): one frozen ``RunOptions``, each rule checked once by
``run_options``, the same for the Python API, the command line and sweep files, each front end
wording a broken rule in its own terms."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from pathlib import Path

import pytest

from py3r_script import run, sensitivity, sweep
from py3r_script.cli.main import main
from py3r_script.cli.sweepfile import read_sweep_file
from py3r_script.cli.sweepkeys import TOP_LEVEL
from py3r_script.errors import OptionError, ParameterError, ParameterTypeError, SweepFileError
from py3r_script.running.options import RunOptions, check_option, run_options

SCRIPT = """
from py3r_script import Output, Param
x = Param(1, name="x")
Output(x * 2, name="y")
"""


@pytest.fixture
def script(marked_script) -> Path:
    return marked_script(SCRIPT, "s.py")


@pytest.fixture
def command_line(capsys, marker):
    """``command_line(*args)``: the CLI in this process; its exit status and stderr."""

    def run_cli(*args: object) -> tuple[int, str]:
        status = main([str(a) for a in args])
        captured = capsys.readouterr()
        assert not marker.exists()
        return status, captured.err

    return run_cli


def file_error(folder: Path, text: str) -> SweepFileError:
    path = folder / "sweep.toml"
    path.write_text('script = "s.py"\n' + text + "[params]\nx = [2]\n", encoding="utf-8")
    with pytest.raises(SweepFileError) as caught:
        read_sweep_file(path)
    return caught.value


def test_run_options_is_one_frozen_checked_value():
    options = run_options(timeout=5, store="s.db", rerun=True, max_workers="auto")
    assert isinstance(options, RunOptions)
    assert (options.timeout, options.rerun, options.capture_limit) == (5, True, 20_000)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.timeout = 1  # type: ignore[misc]
    assert run_options() == RunOptions()
    with pytest.raises(TypeError, match="unknown run option"):
        run_options(timeuot=5)


@pytest.mark.parametrize(("name", "value", "error"), [
    ("capture_limit", -1, OptionError),
    ("capture_limit", True, OptionError),
    ("capture_limit", 1.5, OptionError),
    ("timeout", 0, OptionError),
    ("timeout", False, OptionError),
    ("max_workers", 0, OptionError),
    ("max_workers", "many", OptionError),
    ("python", "no-such-python-here", OptionError),
    ("outputs", "y", ParameterTypeError),
    ("outputs", [], ParameterError),
    ("env", {"A": 1}, ParameterTypeError),
    ("argv", "-v", ParameterTypeError),
    ("preload", "json", ParameterTypeError),
    ("label", 3, ParameterTypeError),
    ("store", 3, ParameterTypeError),
    ("stop_after_outputs", "yes", ParameterTypeError),
])
def test_each_option_is_checked_alone_and_by_run_options(name, value, error):
    with pytest.raises(error) as alone:
        check_option(name, value)
    with pytest.raises(error) as built:
        run_options(**{name: value})
    assert str(alone.value) == str(built.value)
    if isinstance(alone.value, OptionError):
        assert alone.value.option == name


@pytest.mark.parametrize(("options", "option"), [
    ({"rerun": True}, "rerun"),
    ({"backup": True}, "backup"),
    ({"workdir": True}, "workdir"),
])
def test_options_that_need_a_study_say_so_in_their_fields(options, option):
    with pytest.raises(OptionError) as caught:
        run_options(**options)
    assert (caught.value.option, caught.value.needs) == (option, "store")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.option, copy.needs, str(copy)) == (option, "store", str(caught.value))
    assert run_options(**options, store="s.db")  # with a study, fine


def test_options_together():
    with pytest.raises(OptionError, match=r"either max_workers .* or executor"):
        run_options(max_workers=2, executor=_Submits())
    assert run_options(warm=True, executor=_Submits()).warm  # a zygote per job
    with pytest.raises(OptionError, match=r"chunk_size= .* needs executor="):
        run_options(chunk_size=5)


class _Submits:
    def submit(self, *args: object) -> None:  # what makes an executor, for the check
        raise NotImplementedError


def test_every_run_option_is_a_keyword_of_the_public_calls():
    """Adding an option touches the options module and the public signatures: no option may
    be missing from one of them."""
    names = {f.name for f in dataclasses.fields(RunOptions)}
    for call in (run, sensitivity, sweep):
        parameters = inspect.signature(call).parameters
        assert names <= set(parameters), (call.__name__, names - set(parameters))
        for field in dataclasses.fields(RunOptions):
            if call is not run or field.name != "progress":  # run() shows no bar by default
                assert parameters[field.name].default == field.default, field.name
    keys = {"workers" if name == "max_workers" else name for name in names}
    assert keys - set(TOP_LEVEL) == {"dry_run", "executor", "progress"}  # flags or API only


# -- one rule, three front ends ----------------------------------------------------------------


def test_a_study_needed_by_rerun_in_each_front_end(script, command_line, tmp_path):
    with pytest.raises(OptionError, match=r"rerun=True needs store=\.\.\. \(a study database\)"):
        run(script, rerun=True)
    status, err = command_line("run", script, "--rerun")
    assert status == 2
    assert "--rerun (reuse nothing) needs a study: give --store DB, or leave --rerun out" in err
    assert "store=" not in err
    (tmp_path / "sweep.toml").write_text('script = "s.py"\n\nrerun = true\n[params]\nx = [2]\n')
    status, err = command_line("sweep", tmp_path / "sweep.toml")
    assert status == 2
    assert f"{tmp_path / 'sweep.toml'}, line 3: rerun = true needs a study database: add " \
           'store = "study.db" to the file, or give --store DB' in err
    status, err = command_line("sweep", tmp_path / "sweep.toml", "--dry-run", "--store",
                               tmp_path / "s.db")
    assert status == 0, err  # the command line gives the study the file's rerun needs


def test_a_positive_timeout_in_each_front_end(script, command_line, tmp_path):
    with pytest.raises(OptionError, match="timeout must be a positive number of seconds, "
                                          "got 0"):
        sensitivity(script, {"x": [2]}, timeout=0)
    status, err = command_line("sensitivity", script, "-s", "x=2", "--timeout", "0")
    assert status == 2 and "timeout must be a positive number of seconds, got 0.0" in err
    error = file_error(tmp_path, "timeout = 0\n")
    assert str(error) == f"{tmp_path / 'sweep.toml'}, line 2: timeout must be a positive " \
                         "number of seconds, got 0"
    assert (error.key, error.line) == ("timeout", 2)


def test_capture_limit_in_the_api_and_a_sweep_file(script, tmp_path):
    with pytest.raises(OptionError, match="capture_limit must be a non-negative int, got -1"):
        sweep(script, {"x": [2]}, capture_limit=-1)
    error = file_error(tmp_path, "capture_limit = -1\n")
    assert str(error).endswith("line 2: capture_limit must be 0 or more, got -1")


def test_workers_in_each_front_end(script, command_line, tmp_path):
    with pytest.raises(OptionError, match="max_workers must be a positive int or 'auto', "
                                          "got 0"):
        sweep(script, {"x": [2]}, max_workers=0)
    status, err = command_line("sweep", script, "-s", "x=2", "-j", "0")
    assert status == 2 and "got 0" in err
    error = file_error(tmp_path, "workers = 0\n")
    assert str(error).endswith('line 2: workers must be a positive integer or "auto", got 0')
