"""The parent/child contract: the private iteration folder and the output channel's framing."""

from __future__ import annotations

import os

from py3r_script import run
from py3r_script.child import boundary as _boundary


def test_iteration_folder_is_private_and_removed_afterwards(write_script):
    script = write_script(
        """
        import os, stat
        from py3r_script import Output
        folder = os.path.dirname(os.environ["PY3R_SCRIPT_WORKER_PAYLOAD"])
        Output(folder, name="folder")
        Output(stat.S_IMODE(os.stat(folder).st_mode), name="mode")
        Output(sorted(os.listdir(folder)), name="files")
        """
    )
    out = run(script)[{}]
    assert out["mode"] == 0o700
    assert "payload.pkl" in out["files"]
    assert not os.path.exists(out["folder"])


def _write_two_outputs(files: _boundary.IterationFiles) -> int:
    """Write two framed outputs; return where the second frame starts."""
    with open(files.outputs, "wb") as sink:
        _boundary.append_output(sink, "first", {"a": 1})
        first_end = sink.tell()
        _boundary.append_output(sink, "second", list(range(1000)))
    return first_end


def test_a_truncated_last_output_record_is_ignored(tmp_path):
    # a child killed in the middle of Output(...) leaves a torn frame: the earlier outputs stay
    files = _boundary.IterationFiles(str(tmp_path))
    second = _write_two_outputs(files)
    whole = os.path.getsize(files.outputs)
    # inside the name-length field, the name, the size field, and the pickle of the second
    for cut in (second + 1, second + 4, second + 10, whole - 1):
        _write_two_outputs(files)
        with open(files.outputs, "r+b") as handle:
            handle.truncate(cut)
        assert _boundary.read_outputs(files) == ({"first": {"a": 1}}, {})
    _write_two_outputs(files)
    assert set(_boundary.read_outputs(files)[0]) == {"first", "second"}  # the control


def test_an_output_captured_twice_keeps_its_last_value(tmp_path):
    files = _boundary.IterationFiles(str(tmp_path))
    with open(files.outputs, "ab") as sink:
        _boundary.append_output(sink, "x", 1)
        _boundary.append_output(sink, "x", 2)
    assert _boundary.read_outputs(files) == ({"x": 2}, {})
