"""Shared fixtures: real script files written to temporary directories, run in real subprocesses."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable

import pytest

WEIRD_DIR_NAME = "dir with space's \"and\" quotes"

ScriptWriter = Callable[..., Path]


def _writer(base: Path) -> ScriptWriter:
    def write(source: str, name: str = "script.py", *, directory: Path | None = None) -> Path:
        folder = base if directory is None else directory
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def write_script(tmp_path: Path) -> ScriptWriter:
    """Write a (dedented) script into ``tmp_path`` and return its path.

    ``write_script(source, name="script.py", directory=None)``; ``directory`` puts the file
    elsewhere (e.g. in ``weird_dir``), and sibling modules can be written the same way.
    """
    return _writer(tmp_path)


@pytest.fixture
def weird_dir(tmp_path: Path) -> Path:
    """A directory whose name holds spaces and both kinds of quotes."""
    path = tmp_path / WEIRD_DIR_NAME
    path.mkdir()
    return path


@pytest.fixture
def write_weird_script(weird_dir: Path) -> ScriptWriter:
    """Like ``write_script``, but into ``weird_dir``."""
    return _writer(weird_dir)


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    """A file path a script writes as its very first statement, to prove whether it started."""
    return tmp_path / "started.marker"


@pytest.fixture
def marked_script(write_script: ScriptWriter, marker: Path) -> ScriptWriter:
    """Like ``write_script``, but the script's first statement creates ``marker``.

    A test that expects an error *before any subprocess starts* asserts ``not marker.exists()``.
    """

    def write(source: str, name: str = "script.py", **kwargs: object) -> Path:
        prelude = f"open({str(marker)!r}, 'w').close()\n"
        return write_script(prelude + textwrap.dedent(source).lstrip("\n"), name, **kwargs)

    return write


@pytest.fixture
def unbuffered_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Children inherit no PYTHONUNBUFFERED, so flushing bugs are not hidden."""
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)

