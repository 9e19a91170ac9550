"""Reading a script as Python does: every script Python can run is listed, and every one it
cannot run is a ``ScriptError`` naming the file and the line, never a bare exception."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from py3r_script import inspect_script
from py3r_script.errors import ScriptError

HEAD = b"from py3r_script import Output, Param\n"

# name -> (file contents, the line the error names, words of the message)
CANNOT_RUN = {
    "100,000 chained +1": (HEAD + b"x = Param(1" + b" + 1" * 100_000 + b", name='x')\n", 2,
                           "nested too deeply"),
    "100,000 unary minus": (HEAD + b"y = 1\nx = Param(" + b"-" * 100_000 + b"1, name='x')\n", 3,
                            "nested too deeply"),
    "a null byte": (HEAD + b"x = 1\ny = '\0'\n", 3, "null byte"),
    "an unknown encoding": (b"#!/usr/bin/env python\n# -*- coding: klingon -*-\n" + HEAD, 2,
                            "unknown encoding: klingon"),
    "a BOM with another encoding": (b"\xef\xbb\xbf# coding: latin-1\n" + HEAD, 1,
                                    "byte order mark"),
    "a byte that is not UTF-8": (HEAD + b"x = 1\n# caf\xe9\n", 3, "is not utf-8"),
}


@pytest.mark.parametrize("case", list(CANNOT_RUN))
def test_a_script_python_cannot_run_is_a_script_error_with_its_line(tmp_path, case):
    contents, line, words = CANNOT_RUN[case]
    script = tmp_path / "script.py"
    script.write_bytes(contents)
    python = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=60)
    assert python.returncode != 0  # Python cannot run it either
    with pytest.raises(ScriptError) as caught:
        inspect_script(script)
    message = str(caught.value)
    assert message.startswith(f"{script}, line {line}: "), message
    assert words in message
    assert "line None" not in message


def test_the_command_line_says_the_line_without_a_traceback(tmp_path):
    line = 2  # 10,000 terms are already too many for the parser
    (tmp_path / "deep.py").write_bytes(HEAD + b"x = 1" + b" + 1" * 10_000 + b"\n")
    for command in (("inspect", "deep.py"), ("run", "deep.py")):
        result = subprocess.run([sys.executable, "-m", "py3r_script", *command], cwd=tmp_path,
                                capture_output=True, text=True, timeout=60)
        assert (result.returncode, result.stdout) == (2, "")
        assert f"deep.py, line {line}:" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_long_expression_python_can_run_is_listed_as_an_expression(tmp_path):
    # deep enough that ast.unparse would recurse past the limit, shallow enough to run
    script = tmp_path / "long.py"
    script.write_bytes(HEAD + b"x = Param(1" + b" + 1" * 2_000 + b", name='x')\n"
                       b"Output(x, name='y')\n")
    assert subprocess.run([sys.executable, str(script)], timeout=60).returncode == 0
    info = inspect_script(script)
    param = info.param("x")
    assert param is not None and not param.required and not param.literal
    assert param.default_source == "1" + " + 1" * 2_000
    assert "default=1 + 1 + 1" in info.format()
    assert "(8001 characters)  (expression, known at run time)" in info.format()  # shortened


def test_a_script_that_cannot_be_read_is_a_script_error(tmp_path):
    folder = tmp_path / "script.py"
    folder.mkdir()
    with pytest.raises(ScriptError, match="it is a directory"):
        inspect_script(Path(folder))
