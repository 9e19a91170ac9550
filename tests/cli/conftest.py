"""Fixtures for the command-line tests: the CLI run as a subprocess, and the helpers that read
what it printed (each a fixture returning a function, since test modules cannot import
each other)."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

from py3r_script.designs.inspection import ScriptInfo, inspect_script

# Every knob type; writes a line to LOG_PATH as its first statement (a run counter).
TYPED = """
with open(LOG_PATH, "a") as fh:
    fh.write("run\\n")
from py3r_script import Output, Param

window = Param(3, name="window")
thr = Param(2.0, name="thr")
flag = Param(False, name="flag")
label = Param("abc", name="label")
opt = Param(None, name="opt")
if window < 0:
    raise ValueError(f"negative window {window}")
Output(type(window).__name__, name="window_type")
Output(type(thr).__name__, name="thr_type")
Output(type(flag).__name__, name="flag_type")
Output(type(label).__name__, name="label_type")
Output(type(opt).__name__, name="opt_type")
Output(window * thr, name="prod")
"""
_ID_COLUMNS = ("sweep_id", "iteration_id", "_sweep_id", "_iteration_id")


def _cli(*args: object, cwd: Path, stdout: object = subprocess.PIPE,
         timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m py3r_script ARGS`` in ``cwd``; stdout captured unless a file is given."""
    return subprocess.run(
        [sys.executable, "-m", "py3r_script", *map(str, args)],
        cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=timeout,
    )


def _cli_after(prelude: str, *args: object, cwd: Path,
               timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The command line in a fresh interpreter that first runs ``prelude`` (to block a module,
    or replace a function)."""
    code = textwrap.dedent(prelude) + "\nimport sys\nfrom py3r_script.cli.main import main\n" \
                                      "sys.exit(main())\n"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def _console(*args: object, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The installed ``py3r-script`` console script."""
    console = shutil.which("py3r-script")
    assert console is not None
    return subprocess.run([console, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def _csv_rows(text: str) -> pd.DataFrame:
    """A CSV table; ids stay text (a hex prefix such as 52e41234 would parse as a float)."""
    header = text.split("\n", 1)[0].split(",")
    ids = {name: str for name in _ID_COLUMNS if name in header}
    return pd.read_csv(io.StringIO(text), keep_default_na=False, dtype=ids)


def _runs(log: Path) -> int:
    """How many iterations started (each appends a line to ``log``)."""
    return len(log.read_text().splitlines()) if log.exists() else 0


def _assert_usage_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def _write_toml(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


def _typed_source(log: Path) -> str:
    """The source of the typed script, counting its runs in ``log``."""
    return TYPED.replace("LOG_PATH", repr(str(log)))


def _rendezvous_script(write_script: Callable[..., Path], tmp_path: Path) -> Path:
    """Each iteration waits (3 s at most) to see the other one running: passes only in parallel."""
    return write_script(f"""
        import os, time
        from py3r_script import Output, Param
        who = Param(0, name="who")
        folder = {str(tmp_path / "rv")!r}
        os.makedirs(folder, exist_ok=True)
        open(os.path.join(folder, str(who)), "w").close()
        deadline = time.monotonic() + 3
        while len(os.listdir(folder)) < 2:
            if time.monotonic() > deadline:
                raise RuntimeError("ran alone")
            time.sleep(0.02)
        Output(who, name="who_out")
    """, "rendezvous.py")


@pytest.fixture(scope="session")
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``cli(*args, cwd=..., stdout=PIPE, timeout=60)``: ``python -m py3r_script ARGS``."""
    return _cli


@pytest.fixture(scope="session")
def cli_after() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``cli_after(prelude, *args, cwd=...)``: the CLI after running ``prelude`` first."""
    return _cli_after


@pytest.fixture(scope="session")
def console() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``console(*args, cwd=...)``: the installed ``py3r-script`` console script."""
    return _console


@pytest.fixture(scope="session")
def csv_rows() -> Callable[[str], pd.DataFrame]:
    """``csv_rows(text)``: a CSV table printed by the CLI, ids kept as text."""
    return _csv_rows


@pytest.fixture(scope="session")
def runs() -> Callable[[Path], int]:
    """``runs(log)``: how many iterations of the typed script started."""
    return _runs


@pytest.fixture(scope="session")
def assert_usage_error() -> Callable[..., None]:
    """``assert_usage_error(result, *needles)``: exit 2, nothing on stdout, no traceback, and
    each needle on stderr."""
    return _assert_usage_error


@pytest.fixture(scope="session")
def write_toml() -> Callable[[Path, str], Path]:
    """``write_toml(path, text)``: a sweep file (its folder made as needed)."""
    return _write_toml


@pytest.fixture(scope="session")
def typed_source() -> Callable[[Path], str]:
    """``typed_source(log)``: the typed script's source, counting its runs in ``log``."""
    return _typed_source


@pytest.fixture(scope="session")
def rendezvous_script() -> Callable[[Callable[..., Path], Path], Path]:
    """``rendezvous_script(write_script, tmp_path)``: a script whose two iterations pass only
    when they run at the same time."""
    return _rendezvous_script


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "runs.log"


@pytest.fixture
def typed(write_script, log: Path) -> Path:
    return write_script(_typed_source(log), "typed.py")


@pytest.fixture
def marked_typed(marked_script, log: Path) -> Path:
    return marked_script(_typed_source(log), "typed.py")


@pytest.fixture
def project(tmp_path: Path, log: Path) -> Path:
    """``project/scripts/typed.py``; sweep files go in ``project/conf``; run from ``elsewhere``."""
    scripts = tmp_path / "project" / "scripts"
    scripts.mkdir(parents=True)
    (scripts / "typed.py").write_text(_typed_source(log))
    (tmp_path / "project" / "conf").mkdir()
    (tmp_path / "elsewhere").mkdir()
    return tmp_path / "project"


@pytest.fixture
def info(write_script) -> ScriptInfo:
    """A script with a parameter of every kind: typed, required, an expression default."""
    return inspect_script(write_script("""
        from py3r_script import Output, Param
        window = Param(3, name="window")
        thr = Param(2.0, name="thr")
        flag = Param(False, name="flag")
        label = Param("abc", name="label")
        opt = Param(None, name="opt")
        req = Param(name="req")
        expr = Param(2 * 3, name="expr")
        Output(window, name="out")
    """))
