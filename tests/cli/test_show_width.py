"""``show`` on a terminal fits its width (short ids, cut text, bookkeeping only with
``--meta``); ``--wide``, ``-o`` and pipes get every column in full."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from py3r_script import sensitivity
from py3r_script.dataframe import META_COLUMNS

WIDE_SCRIPT = """
from py3r_script import Output, Param
window = Param(5, name="smoothing_window_in_frames")
session = Param("default.csv", name="session_file")
Output(window * 1.5, name="distance_travelled_cm")
Output(window / 7, name="time_moving_fraction")
Output(window * 11, name="centre_time_seconds")
Output("a long text output " * 3, name="summary_text")
"""
SESSION = "sessions/2026/cohort_b/animal_0042/open_field_day_3_recording.csv"
LONG_ID = re.compile(r"\b[0-9a-f]{32}\b")


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wide")
    script = folder / "wide.py"
    script.write_text(WIDE_SCRIPT)
    sensitivity(script, {"smoothing_window_in_frames": [3, 9]}, store=folder / "study.db",
                nominal={"session_file": SESSION}, progress=False)
    return folder / "study.db"


def _on_a_terminal(*args: object, columns: int, cwd: Path) -> tuple[list[str], str]:
    """``py3r-script ARGS`` with stdout on a pseudo-terminal ``columns`` wide: its lines,
    and stderr."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    try:
        proc = subprocess.Popen([sys.executable, "-m", "py3r_script", *map(str, args)],
                                stdout=slave, stderr=subprocess.PIPE, cwd=cwd, env=env)
        os.close(slave)
        received = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            received += chunk
        _, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
    assert proc.returncode == 0, err
    return received.decode().replace("\r\n", "\n").rstrip("\n").split("\n"), err.decode()


def test_show_fits_a_120_column_terminal(study):
    shown = {args: _on_a_terminal("show", study, *args, columns=120, cwd=study.parent)
             for args in (("--sweep", "-1"), ("--sweep", "-1", "--meta"), ())}
    for lines, _ in shown.values():
        assert max(map(len, lines)) <= 120, "\n".join(lines)
        assert not LONG_ID.search("\n".join(lines))  # ids and hashes shortened
    rows, err = shown[("--sweep", "-1")]
    assert rows[0].split() == ["smoothing_window_in_frames", "session_file",
                               "distance_travelled_cm", "time_moving_fraction",
                               "centre_time_seconds", "summary_text"]  # no bookkeeping
    assert "--wide" in err
    assert [line.split()[0] for line in rows[1:]] == ["5", "3", "9"]
    assert all(line.split()[1].startswith("…") and line.split()[1].endswith(".csv")
               for line in rows[1:])  # a path is cut at its start: the file name stays
    meta, _ = shown[("--sweep", "-1", "--meta")]
    assert meta[0].split()[2:4] == ["_status", "_error"]
    sweeps, _ = shown[()]
    assert sweeps[0].split()[:2] == ["sweep_seq", "sweep_id"]
    assert len(sweeps[1].split()[1]) == 8


def test_a_narrow_terminal_leaves_columns_out_and_says_which(study):
    lines, err = _on_a_terminal("show", study, "--sweep", "-1", columns=40, cwd=study.parent)
    assert max(map(len, lines)) <= 40
    assert lines[0].startswith("smoothing_window_in_frames")
    assert "left out: " in err and "summary_text" in err


def test_wide_pipes_and_files_keep_every_column_in_full(study, tmp_path):
    wide, _ = _on_a_terminal("show", study, "--sweep", "-1", "--wide", columns=120,
                             cwd=study.parent)
    assert max(map(len, wide)) > 120 and LONG_ID.search("\n".join(wide))
    piped = subprocess.run([sys.executable, "-m", "py3r_script", "show", study, "--sweep",
                            "-1"], capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0, piped.stderr
    out = tmp_path / "rows.csv"
    written = subprocess.run([sys.executable, "-m", "py3r_script", "show", study, "--sweep",
                              "-1", "-o", out], capture_output=True, text=True, timeout=60)
    assert written.returncode == 0, written.stderr
    for table in (pd.read_csv(io.StringIO(piped.stdout)), pd.read_csv(out)):
        assert set(META_COLUMNS) <= set(table.columns)
        assert all(LONG_ID.fullmatch(i) for i in table["_iteration_id"])
        assert table["session_file"].str.endswith("open_field_day_3_recording.csv").all()
