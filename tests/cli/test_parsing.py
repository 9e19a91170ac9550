"""The command line's arguments, help and ``inspect``; and the errors that are no
usage error (exit 2) but a bug (a traceback)."""

from __future__ import annotations

import json
import shutil

import pytest

needs_console = pytest.mark.skipif(shutil.which("py3r-script") is None,
                                   reason="py3r-script is not on PATH")


SUBCOMMANDS = ("inspect", "run", "sensitivity", "sweep", "show")


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_each_subcommand_help_exits_0_with_an_example(tmp_path, command, cli):
    result = cli(command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "example" in result.stdout.lower()
    assert f"py3r-script {command} " in result.stdout  # the example uses the subcommand


def test_top_level_help_lists_the_subcommands(tmp_path, cli):
    result = cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in SUBCOMMANDS:
        assert command in result.stdout


@needs_console
@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_console_script_help(tmp_path, command, console):
    result = console(command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "example" in result.stdout.lower()
    assert f"py3r-script {command} " in result.stdout


@pytest.mark.parametrize("args", [
    (),                                                     # no subcommand
    ("frobnicate",),                                        # unknown subcommand
    ("sensitivity", "typed.py"),                            # -s is required
    ("sensitivity", "typed.py", "-s", "window=3", "--bogus"),
    ("sensitivity", "typed.py", "-s", "window=3", "--mode", "diagonal"),
    ("sensitivity", "typed.py", "-s", "window=3", "--timeout", "soon"),
    ("sensitivity", "typed.py", "-s", "window=3", "--format", "xml"),
])
def test_bad_flags_are_usage_errors(tmp_path, typed, log, args, cli, runs):
    result = cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "usage:" in result.stderr
    assert runs(log) == 0


def test_missing_script_file_is_exit_2(tmp_path, cli, assert_usage_error):
    for command in (["inspect"], ["run"], ["sensitivity", "-s", "window=1"]):
        result = cli(command[0], "no_such_script.py", *command[1:], cwd=tmp_path)
        assert_usage_error(result, "no_such_script.py")


def test_script_with_syntax_error_is_exit_2(tmp_path, write_script, cli, assert_usage_error):
    write_script("x = (\n", "broken.py")
    assert_usage_error(cli("inspect", "broken.py", cwd=tmp_path), "broken.py", "line 1")


TYPED_OUTPUTS = ["window_type", "thr_type", "flag_type", "label_type", "opt_type", "prod"]


def test_inspect_lists_params_with_types_and_outputs(tmp_path, typed, log, cli, runs):
    result = cli("inspect", typed, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for name, kind in [("window", "int"), ("thr", "float"), ("flag", "bool"), ("label", "str")]:
        assert any(line.split()[:1] == [name] and f"type={kind}" in line for line in lines), (
            name, result.stdout)
    for name in TYPED_OUTPUTS:
        assert name in result.stdout
    assert runs(log) == 0  # inspecting never runs the script


def test_inspect_json(tmp_path, typed, log, cli, runs):
    result = cli("inspect", typed, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    params = {p["name"]: p for p in info["params"]}
    assert list(params) == ["window", "thr", "flag", "label", "opt"]
    assert params["window"]["default"] == 3 and params["window"]["type"] == "int"
    assert params["thr"]["default"] == 2.0 and params["thr"]["type"] == "float"
    assert params["opt"]["default"] is None
    assert [o["name"] for o in info["outputs"]] == TYPED_OUTPUTS
    assert runs(log) == 0


@needs_console
def test_console_script_inspect_json(tmp_path, typed, console):
    result = console("inspect", typed, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [p["name"] for p in json.loads(result.stdout)["params"]][:2] == ["window", "thr"]


def test_a_sweep_file_where_a_script_belongs_is_exit_2(tmp_path, project, log, cli, csv_rows, runs,
                                                       assert_usage_error, write_toml):
    toml = write_toml(project / "conf" / "S.TOML", """
script = "../scripts/typed.py"
[params]
window = [4]
""")
    result = cli("inspect", toml, cwd=tmp_path)
    assert_usage_error(result, "is a sweep file, not a script", f"py3r-script sweep {toml}",
                       "or inspect the script it names: py3r-script inspect "
                       f"{project / 'conf' / '..' / 'scripts' / 'typed.py'}")
    for command in (("run",), ("sensitivity", "-s", "window=5")):
        result = cli(command[0], toml, *command[1:], cwd=tmp_path)
        assert_usage_error(result, "is a sweep file, not a script", "py3r-script sweep")
    assert runs(log) == 0
    ran = cli("sweep", toml, "--output", "prod", cwd=tmp_path)  # the suffix in capitals
    assert ran.returncode == 0, ran.stderr
    assert csv_rows(ran.stdout)["window"].tolist() == [3, 4]


def test_an_unexpected_error_is_a_traceback_not_a_usage_error(tmp_path, typed, cli_after):
    broken = """
        import py3r_script.designs.inspection
        def inspect_script(path):
            raise ValueError("an internal bug")
        py3r_script.designs.inspection.inspect_script = inspect_script
    """
    result = cli_after(broken, "run", typed, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "ValueError: an internal bug" in result.stderr
    assert "py3r-script: error" not in result.stderr


def test_version_prints_the_package_version_and_exits_0(tmp_path, cli):
    import py3r_script

    result = cli("--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"py3r-script {py3r_script.__version__}\n"
    assert result.stderr == ""


@needs_console
def test_console_script_version(tmp_path, console):
    import py3r_script

    result = console("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, f"py3r-script {py3r_script.__version__}\n")
