"""The parent/child contract: the private iteration folder, the output channel's framing, the
zygote's messages and the launch commands."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

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


# -- the zygote's messages and the launch commands -------------------------------------------

MESSAGES = [
    _boundary.ForkRequest(ident=7, payload="/t/payload.pkl", stdout="/t/stdout.txt",
                          stderr="/t/stderr.txt", env={"A": "1"}),
    _boundary.Preloading(module="numpy"),
    _boundary.Ready(preloaded=["numpy", "pandas"]),
    _boundary.Unavailable(reason="preloading 'x' failed: ImportError: no"),
    _boundary.Started(ident=7, pid=1234),
    _boundary.Exited(pid=1234, returncode=-9),
    _boundary.Import(modules=["pandas.io.formats.style"]),
    _boundary.Imported(loaded=["json"], failed={"x": "ImportError: no"},
                       files=[["/s/json/__init__.py", 17, 400]], unsafe=""),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_each_zygote_message_is_one_line_read_back_as_itself(message):
    line = message.encode()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert _boundary.split_messages(line) == ([message], b"")


def test_messages_split_across_reads_wait_for_the_end_of_their_line():
    stream = b"".join(m.encode() for m in MESSAGES)
    pending, received = b"", []
    for start in range(0, len(stream), 7):  # as a pipe may hand them over
        messages, pending = _boundary.split_messages(pending + stream[start:start + 7])
        received += messages
    assert received == MESSAGES
    assert pending == b""


def test_a_fork_request_names_the_iteration_files(tmp_path):
    files = _boundary.IterationFiles(str(tmp_path))
    request = _boundary.fork_request(files, {"K": "v"}, 3)
    assert (request.payload, request.stdout, request.stderr) \
        == (files.payload, files.stdout, files.stderr)
    assert (request.ident, request.env) == (3, {"K": "v"})


def test_the_cold_child_command_without_a_payload_says_what_is_missing(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != _boundary.ENV_VAR}
    proc = subprocess.run(_boundary.child_command(sys.executable), capture_output=True,
                          text=True, timeout=60, env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert _boundary.ENV_VAR in proc.stderr


def test_the_zygote_command_preloads_says_so_and_exits_with_its_stdin(tmp_path):
    proc = subprocess.Popen(_boundary.zygote_command(sys.executable, ["json"], True),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=tmp_path)
    try:
        first, second = proc.stdout.readline(), proc.stdout.readline()
        preloading, ready = _boundary.split_messages(first + second)[0]
        assert preloading == _boundary.Preloading(module="json")
        assert isinstance(ready, _boundary.Ready) and ready.preloaded == ["json"]
        assert any(path.endswith(os.path.join("json", "__init__.py"))
                   for path, _, _ in ready.files)  # what would make it stale once changed
        assert sys.path[-1] in ready.path
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def test_the_sentinel_command_is_isolated_and_named():
    command = _boundary.sentinel_command("python3")
    assert command[:3] == ["python3", "-I", "-S"]
    assert command[-2:] == [_boundary.PACKAGE_PARENT, "py3r-script-sentinel"]
    assert _boundary.sentinel_line(12, b"=/p\0") == b"+ 12 3d2f7000\n"
    assert _boundary.sentinel_line(12, None) == b"- 12\n"
