"""One iteration's launch: ``run_iteration(IterationTask(...))`` on real scripts, and the record
it returns for each way a child can end."""

from __future__ import annotations

import pickle
import platform
import socket
import sys
import time

from py3r_script.paramset import ParamSet
from py3r_script.running.launch import IterationTask, run_iteration
from py3r_script.store.provenance import file_sha256

PID_SCRIPT = """
import os
from py3r_script import Output, Param
x = Param(0, name="x")
Output(x, name="x_out")
Output(os.getpid(), name="pid")
Output(os.getppid(), name="ppid")
"""


def _task(script, **fields) -> IterationTask:
    fields.setdefault("params", ParamSet({}))
    return IterationTask(script=str(script), **fields)


def test_unit_of_work_is_picklable(write_script):
    task = IterationTask(script=str(write_script(PID_SCRIPT)), params=ParamSet({"x": 3}),
                         index=5, iteration_id="abc", timeout=10.0)
    assert pickle.loads(pickle.dumps(run_iteration)) is run_iteration
    clone = pickle.loads(pickle.dumps(task))
    assert clone == task
    record = run_iteration(clone)
    assert record.ok, record.error
    assert record.outputs["x_out"] == 3
    assert (record.index, record.iteration_id) == (5, "abc")
    assert pickle.loads(pickle.dumps(record)).outputs["x_out"] == 3


def test_an_ok_record_has_the_outputs_the_stdout_and_where_it_ran(write_script):
    script = write_script(
        """
        import sys
        from py3r_script import Output, Param
        w = Param(1, name="w")
        print("computing", w)
        print("a warning", file=sys.stderr)
        Output({"total": w * 10}, name="summary")
        Output(w + 1, name="next")
        """
    )
    before = time.time()
    record = run_iteration(_task(script, params=ParamSet({"w": 4}), index=2,
                                 iteration_id="it-2", sweep_id="s1", label="four"))
    assert record.status == "ok" and record.ok, record.error
    assert record.error is None and record.signal is None
    assert record.exit_code == 0
    assert dict(record.outputs) == {"summary": {"total": 40}, "next": 5}
    assert record.stdout == "computing 4\n"
    assert record.stderr == "a warning\n"
    assert record.params_seen == {"w": 4}
    assert record.params["w"] == 4
    assert (record.index, record.iteration_id, record.sweep_id, record.label) \
        == (2, "it-2", "s1", "four")
    assert record.script == str(script)
    assert record.host == socket.gethostname()
    assert record.python == platform.python_version()
    assert record.interpreter == sys.executable
    assert before <= record.started <= record.finished <= time.time()


def test_an_exception_gives_its_type_message_and_a_trimmed_traceback(write_script):
    script = write_script(
        """
        from py3r_script import Output, Param
        depth = Param(1, name="depth")
        Output("before", name="early")

        def ping(level):  # two functions: Python would fold one repeated frame
            if level == 0:
                raise KeyError("no such column 'weight'")
            pong(level - 1)

        def pong(level):
            ping(level)

        ping(depth)
        """
    )
    shallow = run_iteration(_task(script, params=ParamSet({"depth": 1})))
    assert shallow.status == "error"
    assert shallow.error_type == "KeyError"
    assert shallow.exit_code == 1
    assert shallow.error.splitlines()[0] == "KeyError: \"no such column 'weight'\""
    assert "Traceback (most recent call last):" in shallow.error
    assert f'File "{script}", line 13, in <module>' in shallow.error
    assert "py3r_script" not in shallow.error.replace(str(script), "")
    assert shallow.outputs["early"] == "before"  # captured before the exception
    deep = run_iteration(_task(script, params=ParamSet({"depth": 40})))
    lines = deep.error.splitlines()
    assert lines[0] == "KeyError: \"no such column 'weight'\""
    assert lines[1] == "Traceback (most recent call last, last frames only):"
    assert lines[2].startswith("  File ")  # the cut starts at a frame
    assert len(lines) <= 2 + 15
    assert lines[-1] == "KeyError: \"no such column 'weight'\""
    assert deep.stderr.count(", in p") == 81  # stderr keeps the whole traceback


def test_sys_exit_3_is_an_error_with_its_status_and_no_traceback(write_script):
    script = write_script(
        """
        import sys
        print("giving up soon")
        sys.exit(3)
        """
    )
    record = run_iteration(_task(script))
    assert record.status == "error"
    assert record.exit_code == 3
    assert record.signal is None
    assert record.error.startswith("the script exited with status 3 (sys.exit)")
    assert "Traceback" not in record.error
    assert record.stdout == "giving up soon\n"


def test_a_crash_by_sigkill_is_crashed_naming_the_signal(write_script):
    script = write_script(
        """
        import os
        import signal
        from py3r_script import Output
        Output(1, name="before")
        os.kill(os.getpid(), signal.SIGKILL)
        Output(2, name="after")
        """
    )
    record = run_iteration(_task(script))
    assert record.status == "crashed"
    assert record.signal == "SIGKILL"
    assert record.exit_code is None
    assert record.error.startswith("killed by signal SIGKILL (9)")
    assert "out-of-memory killer" in record.error
    assert dict(record.outputs) == {"before": 1}


def test_a_timeout_kills_the_child_and_says_so(write_script):
    script = write_script(
        """
        import time
        from py3r_script import Output
        Output("started", name="state")
        time.sleep(60)
        """
    )
    start = time.monotonic()
    record = run_iteration(_task(script, timeout=0.5))
    assert time.monotonic() - start < 10
    assert record.status == "timeout"
    assert record.signal == "SIGKILL"
    assert record.exit_code is None
    assert "timed out after" in record.error and "(timeout=0.5 s)" in record.error
    assert "killed" in record.error
    assert 0.5 <= record.duration < 10
    assert record.outputs["state"] == "started"


def test_run_iteration_with_a_missing_script(tmp_path):
    missing = tmp_path / "gone.py"
    record = run_iteration(IterationTask(script=str(missing), params=ParamSet({"x": 1}),
                                         index=3, iteration_id="i3"))
    assert record.status == "crashed"
    assert "not found" in record.error
    assert f"host {socket.gethostname()!r}" in record.error
    assert str(missing) in record.error
    assert (record.index, record.iteration_id, record.params["x"]) == (3, "i3", 1)


def test_a_script_edited_after_its_hash_was_taken_does_not_run(write_script, marker):
    script = write_script(f"open({str(marker)!r}, 'w').close()\n")
    sha = file_sha256(script)
    script.write_text(script.read_text() + "# edited\n")
    record = run_iteration(_task(script, script_sha256=sha))
    assert record.status == "error"
    assert f"the script on host {socket.gethostname()!r} differs" in record.error
    assert "was edited during the sweep" in record.error
    assert sha[:12] in record.error and file_sha256(script)[:12] in record.error
    assert record.script_sha256 == sha
    assert record.outputs == {}
    assert not marker.exists(), "the edited script ran"
    assert run_iteration(_task(script, script_sha256=file_sha256(script))).ok  # the control
    assert marker.exists()


def test_a_requested_output_never_produced_is_an_error(write_script):
    script = write_script(
        """
        from py3r_script import Output
        Output(1, name="made")
        """
    )
    record = run_iteration(_task(script, outputs=("made", "never")))
    assert record.status == "error"
    assert record.exit_code == 0
    assert "requested output(s) 'never' never produced" in record.error
    assert "Output(..., name='never')" in record.error
    assert dict(record.outputs) == {"made": 1}


def test_capture_limit_keeps_the_tail_of_stdout_and_marks_the_cut(write_script):
    script = write_script(
        """
        for i in range(500):
            print(f"line {i:04d}")
        """
    )
    written = 500 * len("line 0000\n")
    record = run_iteration(_task(script, capture_limit=1000))
    assert record.ok, record.error
    header = f"[... {written - 1000} earlier bytes not kept ...]\n"
    assert record.stdout.startswith(header)
    kept = record.stdout[len(header):]
    assert len(kept) == 1000
    assert kept.endswith("line 0499\n")
    assert kept.startswith("line 0400\n")
    whole = run_iteration(_task(script, capture_limit=written))
    assert whole.stdout.startswith("line 0000\n") and len(whole.stdout) == written


def test_a_python_that_does_not_exist_is_a_crashed_record(write_script, tmp_path):
    python = tmp_path / "no-such-venv" / "python"
    record = run_iteration(_task(write_script(PID_SCRIPT), python=str(python)))
    assert record.status == "crashed"
    assert f"python={str(python)!r} does not exist on host {socket.gethostname()!r}" \
        in record.error
    assert record.interpreter == str(python)
