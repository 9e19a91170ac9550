"""The child process: it must look like ``python script.py``, stay isolated, and end cleanly.

Every test runs real scripts in real subprocesses, once per launch mode: cold (a fresh
interpreter per iteration) and warm (forked from a zygote that preloaded the imports).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

import py3r_script

_MODE = {"warm": False}


@pytest.fixture(autouse=True, params=["cold", "warm"])
def launch_mode(request: pytest.FixtureRequest) -> Any:
    """Run every test of this module with cold and with warm starts."""
    _MODE["warm"] = request.param == "warm"
    yield request.param
    _MODE["warm"] = False


def run(*args: Any, **kwargs: Any) -> Any:
    return py3r_script.run(*args, warm=_MODE["warm"], **kwargs)


def sensitivity(*args: Any, **kwargs: Any) -> Any:
    return py3r_script.sensitivity(*args, warm=_MODE["warm"], **kwargs)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a killed but unreaped zombie counts as dead)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            state = next(line for line in handle if line.startswith("State:"))
    except FileNotFoundError:
        return False
    return state.split()[1] != "Z"


# -- what the script sees --------------------------------------------------------------------


ENV_SCRIPT = """
import os
import subprocess
import sys

from py3r_script import Output

import sibling_helper

Output(__name__, name="name")
Output(__file__, name="file")
Output(list(sys.argv), name="argv")
Output(sys.path[0], name="path0")
Output(os.getcwd(), name="cwd")
Output(sibling_helper.VALUE, name="sibling")
Output("PY3R_SCRIPT_PAYLOAD" in os.environ, name="env_has_payload")
grandchild = subprocess.run(
    [sys.executable, "-c", "import os; print('PY3R_SCRIPT_PAYLOAD' in os.environ)"],
    capture_output=True, text=True, check=True,
)
Output(grandchild.stdout.strip(), name="grandchild_sees_payload")
if __name__ == "__main__":
    Output("main-guard-ran", name="guard")
"""


@pytest.mark.parametrize("where", ["plain", "weird"])
def test_child_environment_matches_python_script(where, tmp_path, weird_dir, monkeypatch):
    folder = (tmp_path / "scripts") if where == "plain" else weird_dir
    folder.mkdir(exist_ok=True)
    script = folder / "env_probe.py"
    script.write_text(ENV_SCRIPT)
    (folder / "sibling_helper.py").write_text("VALUE = 'from sibling'\n")
    caller_dir = tmp_path / "caller cwd"
    caller_dir.mkdir()
    monkeypatch.chdir(caller_dir)

    # a relative path, as a user in the caller's directory would type it
    relative = os.path.relpath(script, caller_dir)
    sr = run(relative)
    record = sr.records[0]
    assert record.ok, record.error
    out = sr[{}]
    assert out["name"] == "__main__"
    assert out["guard"] == "main-guard-ran"
    assert out["file"] == str(script)
    assert os.path.isabs(out["file"])
    assert out["argv"] == [str(script)]
    assert out["path0"] == str(folder)
    assert out["cwd"] == str(caller_dir)
    assert out["sibling"] == "from sibling"
    assert out["env_has_payload"] is False
    assert out["grandchild_sees_payload"] == "False"


def test_symlinked_script_imports_siblings_of_its_target(tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    (real_dir / "target_sibling.py").write_text("VALUE = 7\n")
    target = real_dir / "pipeline.py"
    target.write_text(
        "import sys\n"
        "from py3r_script import Output\n"
        "import target_sibling\n"
        "Output(target_sibling.VALUE, name='value')\n"
        "Output(sys.path[0], name='path0')\n"
    )
    link_dir = tmp_path / "links"
    link_dir.mkdir()
    link = link_dir / "pipeline.py"
    link.symlink_to(target)
    standalone = subprocess.run([sys.executable, str(link)], capture_output=True, text=True,
                                timeout=30)
    assert standalone.returncode == 0, standalone.stderr  # works with plain python
    record = run(link).records[0]
    assert record.ok, record.error
    assert record.outputs["value"] == 7
    assert record.outputs["path0"] == str(real_dir)


def test_child_does_not_import_heavy_modules(write_script):
    script = write_script(
        """
        import sys
        from py3r_script import Output, Param
        x = Param(1, name="x")
        heavy = sorted(m for m in sys.modules
                       if m.split(".")[0] in {"pandas", "numpy", "cloudpickle", "sqlite3"})
        Output(heavy, name="heavy")
        """
    )
    assert run(script, {"x": 2})[{}]["heavy"] == []


# -- isolation ---------------------------------------------------------------------------------


def test_one_fresh_process_per_iteration_no_state_leaks(write_script):
    write_script("SEEN = []\n", "shared_state.py")
    script = write_script(
        """
        import builtins
        import os
        from py3r_script import Output, Param
        import shared_state

        i = Param(0, name="i")
        Output(os.getpid(), name="pid")
        Output(os.environ.get("LEAKY_VAR"), name="env_before")
        Output(getattr(builtins, "leaky_global", None), name="global_before")
        shared_state.SEEN.append(i)
        Output(list(shared_state.SEEN), name="seen")
        os.environ["LEAKY_VAR"] = str(i)
        builtins.leaky_global = i
        """
    )
    sr = sensitivity(script, {"i": [1, 2, 3]})
    assert len(sr) == 4
    pids = [sr[{"i": i}]["pid"] for i in (0, 1, 2, 3)]
    assert len(set(pids)) == 4
    assert os.getpid() not in pids
    for i in (0, 1, 2, 3):
        out = sr[{"i": i}]
        assert out["seen"] == [i]
        assert out["env_before"] is None
        assert out["global_before"] is None
    assert "LEAKY_VAR" not in os.environ


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_spawned_multiprocessing_workers_see_injected_values(write_script, method):
    # spawn/forkserver workers import the script afresh as __mp_main__: its module-level
    # Param calls must still return the injected value there, and its Outputs capture nothing
    write_script("from py3r_script import Param\nprint(Param(1, name='window'))\n", "other.py")
    script = write_script(
        f"""
        import multiprocessing
        import subprocess
        import sys
        from pathlib import Path
        from py3r_script import Output, Param
        window = Param(5, name="window")
        Output("from the worker's import", name="captured_once")

        def work(_):
            return window

        if __name__ == "__main__":
            with multiprocessing.get_context({method!r}).Pool(2) as pool:
                Output(pool.map(work, [0, 1]), name="seen_in_worker")
            Output(window, name="seen_in_main")
            other = Path(__file__).with_name("other.py")
            Output(subprocess.run([sys.executable, str(other)], capture_output=True,
                                  text=True, check=True).stdout.strip(), name="other_script")
        """
    )
    record = run(script, {"window": 9}, timeout=60).records[0]
    assert record.ok, record.error
    assert record.outputs["seen_in_main"] == 9
    assert record.outputs["seen_in_worker"] == [9, 9]
    # another script the iteration starts is not a worker of it: it keeps its default
    assert record.outputs["other_script"] == "1"


# -- outputs travel through a file ----------------------------------------------------------------


def test_big_stdout_and_big_outputs(write_script):
    script = write_script(
        """
        import sys
        from py3r_script import Output
        chunk = "y" * 1000 + "\\n"
        for _ in range(5000):
            sys.stdout.write(chunk)
        sys.stderr.write("e" * 1_000_000)
        Output(b"\\x01\\x02" * 1_000_000, name="blob")
        Output(list(range(300_000)), name="numbers")
        print("LAST LINE")
        """
    )
    sr = run(script, timeout=60)
    record = sr.records[0]
    assert record.ok, record.error
    assert record.outputs["blob"] == b"\x01\x02" * 1_000_000
    assert record.outputs["numbers"] == list(range(300_000))
    assert record.stdout.rstrip().endswith("LAST LINE")
    # only the tail of a huge stdout is kept, and the cut is marked
    assert len(record.stdout) < 1_000_000
    assert record.stdout.startswith("[...")


def test_outputs_before_a_failure_are_kept(write_script):
    script = write_script(
        """
        from py3r_script import Output, Param
        n = Param(1, name="n")
        a = Output({"partial": n}, name="a")
        raise RuntimeError("late failure")
        Output(2, name="b")
        """
    )
    sr = run(script, {"n": 4})
    record = sr.record({"n": 4})
    assert record.status == "error"
    assert record.outputs["a"] == {"partial": 4}
    assert "b" not in record.outputs


def test_output_called_twice_keeps_the_last_value(write_script):
    script = write_script(
        """
        from py3r_script import Output
        for i in range(3):
            Output(i, name="progress")
        """
    )
    assert run(script)[{}]["progress"] == 2


def test_lambda_output_travels_with_cloudpickle(write_script):
    script = write_script(
        """
        from py3r_script import Output, Param
        k = Param(3, name="k")
        Output(lambda x: x * k, name="scale")
        """
    )
    assert run(script)[{}]["scale"](2) == 6


def test_output_of_class_defined_in_script(write_script):
    script = write_script(
        """
        from dataclasses import dataclass
        from py3r_script import Output

        @dataclass
        class Summary:
            total: int

        Output(Summary(3), name="summary")
        Output(42, name="after")
        """
    )
    record = run(script).records[0]
    assert record.outputs.get("after") == 42
    assert record.outputs.get("summary") is not None
    assert record.outputs["summary"].total == 3


def test_unpicklable_output_is_an_error_naming_it(write_script):
    script = write_script(
        """
        from py3r_script import Output
        Output(1, name="fine")
        Output((i for i in range(3)), name="gen")
        """
    )
    record = run(script).records[0]
    assert record.status == "error"
    assert record.error_type == "TypeError"
    assert "'gen'" in record.error.splitlines()[0]
    assert record.outputs["fine"] == 1


def test_unpicklable_output_error_shows_no_internal_frames(write_script):
    script = write_script(
        """
        from py3r_script import Output
        Output((i for i in range(3)), name="gen")
        """
    )
    record = run(script).records[0]
    assert "py3r_script" not in record.error
    assert "cloudpickle" not in record.error
    assert str(record.script) in record.error


# -- failing iterations --------------------------------------------------------------------------


def test_exception_message_has_type_message_and_user_traceback(write_weird_script):
    script = write_weird_script(
        """
        from py3r_script import Output, Param
        x = Param(1, name="x")

        def check(value):
            if value > 3:
                raise ValueError(f"value {value} is too large")

        check(x)
        Output(x, name="x_seen")
        """
    )
    sr = sensitivity(script, {"x": [5, 2]})
    assert len(sr) == 2  # the sweep went on after the failure
    assert sr[{"x": 2}]["x_seen"] == 2
    [(params, message)] = sr.errors
    assert params == {"x": 5}
    record = sr.record({"x": 5})
    assert record.status == "error"
    assert record.error_type == "ValueError"
    assert message == record.error
    assert message.splitlines()[0] == "ValueError: value 5 is too large"
    assert f'File "{script}", line 8, in <module>' in message
    assert f'File "{script}", line 6, in check' in message
    assert "_bootstrap" not in message
    assert "runpy" not in message
    assert "py3r_script" not in message.replace(str(script), "")
    # the user's script is the first and the last frame
    frames = [line for line in message.splitlines() if line.lstrip().startswith("File ")]
    assert frames[0].strip().startswith(f'File "{script}"')
    assert frames[-1].strip().startswith(f'File "{script}"')
    # stderr holds the same trimmed traceback
    assert "Traceback (most recent call last):" in record.stderr
    assert "_bootstrap" not in record.stderr and "runpy" not in record.stderr


def test_sys_exit_codes(write_script):
    script = write_script(
        """
        import sys
        from py3r_script import Output, Param
        mode = Param("fall", name="mode")
        Output(mode, name="mode_seen")
        if mode == "exit3":
            sys.exit(3)
        elif mode == "exit0":
            sys.exit(0)
        elif mode == "exit_none":
            sys.exit()
        elif mode == "exit_message":
            sys.exit("giving up")
        """
    )
    sr = sensitivity(script, {"mode": ["exit3", "exit0", "exit_none", "exit_message"]})
    exit3 = sr.record({"mode": "exit3"})
    assert exit3.status == "error"
    assert exit3.exit_code == 3
    assert "3" in exit3.error
    assert "Traceback" not in exit3.error  # an exit status, not an exception
    for mode in ("fall", "exit0", "exit_none"):
        record = sr.record({"mode": mode})
        assert record.status == "ok", record.error
        assert record.exit_code == 0
        assert sr[{"mode": mode}]["mode_seen"] == mode
    message = sr.record({"mode": "exit_message"})
    assert message.status == "error"
    assert message.exit_code == 1  # as python prints the message and exits with 1
    assert message.stderr == "giving up\n"
    assert "giving up" in message.error
    assert [p for p, _ in sr.errors] == [{"mode": "exit3"}, {"mode": "exit_message"}]


def test_crash_by_signal_is_recorded_and_sweep_goes_on(write_script):
    script = write_script(
        """
        import os
        import signal
        from py3r_script import Output, Param
        mode = Param("fine", name="mode")
        Output(mode, name="before_crash")
        if mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif mode == "abort":
            os.abort()
        Output("survived", name="after")
        """
    )
    sr = sensitivity(script, {"mode": ["kill", "abort", "later"]}, mode="grid")
    assert [r.params["mode"] for r in sr.records] == ["kill", "abort", "later", "fine"]
    for mode, name in (("kill", "SIGKILL"), ("abort", "SIGABRT")):
        record = sr.record({"mode": mode})
        assert record.status == "crashed"
        assert record.signal == name
        assert name in record.error
        assert record.outputs["before_crash"] == mode  # captured before the crash
        assert "after" not in record.outputs
        assert record.exit_code is None
        assert "_bootstrap" not in record.error
    # faulthandler's dump names the crashing line of the script
    assert f'File "{script}", line 9' in sr.record({"mode": "abort"}).error
    assert sr[{"mode": "later"}]["after"] == "survived"
    assert sr[{"mode": "fine"}]["after"] == "survived"


def test_timeout_kills_child_and_grandchildren(write_script):
    script = write_script(
        """
        import subprocess
        import sys
        import time
        from py3r_script import Output
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        Output(child.pid, name="grandchild_pid")
        time.sleep(60)
        """
    )
    start = time.monotonic()
    record = run(script, timeout=1.0).records[0]
    assert time.monotonic() - start < 20
    assert record.status == "timeout"
    pid = record.outputs["grandchild_pid"]
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):  # pragma: no cover - cleanup before failing
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the grandchild survived the timeout")


# -- early termination ---------------------------------------------------------------------------


STOP_SCRIPT = """
import sys
from py3r_script import Output, Param
n = Param(1, name="n")
print("first print", n)
sys.stderr.write("first stderr\\n")
Output(n, name="a")
print("second print")
Output(n * 10, name="b")
print("after b")
open({after!r}, "w").close()
Output(n * 100, name="c")
"""


@pytest.fixture
def stop_script(write_script, tmp_path, unbuffered_unset):
    after = tmp_path / "after_last_output.txt"
    return write_script(STOP_SCRIPT.format(after=str(after))), after


def test_stop_after_requested_outputs(stop_script):
    script, after = stop_script
    sr = run(script, {"n": 2}, outputs=["a", "b"], stop_after_outputs=True)
    record = sr.record({"n": 2})
    assert record.ok, record.error
    assert record.stopped_early is True
    assert dict(record.outputs) == {"a": 2, "b": 20}
    assert not after.exists()
    assert record.stdout == "first print 2\nsecond print\n"
    assert record.stderr == "first stderr\n"


def test_stop_after_outputs_with_outputs_none_uses_declared_outputs(stop_script):
    script, after = stop_script
    record = run(script, stop_after_outputs=True).records[0]
    assert record.ok, record.error
    assert dict(record.outputs) == {"a": 1, "b": 10, "c": 100}
    # c is the last declared output: the script had to run up to it
    assert after.exists()
    assert record.stopped_early is True


def test_without_stop_the_script_runs_to_the_end(stop_script):
    script, after = stop_script
    record = run(script, outputs=["a"]).records[0]
    assert record.ok
    assert record.stopped_early is False
    assert after.exists()
    assert dict(record.outputs) == {"a": 1}  # only what was requested is captured
    assert record.stdout.endswith("after b\n")


def test_stop_after_outputs_in_a_sweep(stop_script):
    script, after = stop_script
    sr = sensitivity(script, {"n": [3, 4]}, outputs=["a"], stop_after_outputs=True)
    assert [sr[{"n": n}]["a"] for n in (1, 3, 4)] == [1, 3, 4]
    assert all(r.stopped_early for r in sr.records)
    assert all(r.stdout == f"first print {r.params['n']}\n" for r in sr.records)
    assert not after.exists()


def test_requested_output_never_produced_is_an_error(write_script):
    script = write_script(
        """
        from py3r_script import Output, Param
        skip = Param(False, name="skip")
        Output(1, name="always")
        if not skip:
            Output(2, name="sometimes")
        """
    )
    for stop in (False, True):
        sr = run(script, {"skip": True}, outputs=["always", "sometimes"],
                 stop_after_outputs=stop)
        record = sr.records[0]
        assert record.status == "error"
        assert "'sometimes'" in record.error
        assert record.outputs["always"] == 1
        assert len(sr) == 0
