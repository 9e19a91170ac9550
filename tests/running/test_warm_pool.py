"""The warm pool: zygotes that outlive a sweep, never stale, and the preloads they learn."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from py3r_script import run, sensitivity, warm_pool

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork: Linux")

PARENT_PROBE = """
import os
from py3r_script import Output, Param
i = Param(0, name="i")
Output(os.getppid(), name="parent")
"""


def _parents(results) -> set[int]:
    return {r.outputs["parent"] for r in results.records}


def _sweep(script, values=(1, 2), **options):
    results = sensitivity(script, {"i": list(values)}, warm=True, progress=False, **options)
    assert [r.status for r in results.records] == ["ok"] * (len(values) + 1), [
        r.error for r in results.records]
    return results


def _pids() -> list[int]:
    return [z.pid for z in warm_pool().zygotes()]


def test_a_second_sweep_forks_from_the_same_zygote(write_script):
    script = write_script(PARENT_PROBE)
    first, second = _parents(_sweep(script)), _parents(_sweep(script))
    assert first == second and len(first) == 1
    [zygote] = warm_pool().zygotes()
    assert [zygote.pid] == list(first) and zygote.sweeps == 2 and not zygote.busy
    assert zygote.python == sys.executable


def test_a_changed_library_file_gets_a_new_zygote(write_script, tmp_path, monkeypatch):
    libs = tmp_path / "fake" / "site-packages"  # a library folder: its modules are preloaded
    libs.mkdir(parents=True)
    module = libs / "fakelib_pool.py"
    module.write_text("VALUE = 1\n")
    monkeypatch.setenv("PYTHONPATH", str(libs))
    script = write_script("import fakelib_pool\n" + PARENT_PROBE
                          + "Output(fakelib_pool.VALUE, name='value')\n")
    first = _sweep(script)
    assert "fakelib_pool" in warm_pool().zygotes()[0].modules
    module.write_text("VALUE = 22\n")
    second = _sweep(script)
    assert {r.outputs["value"] for r in first.records} == {1}
    assert {r.outputs["value"] for r in second.records} == {22}  # never the stale copy
    assert _parents(first) != _parents(second)
    assert procs_gone(_parents(first))
    assert _pids() == list(_parents(second))


def procs_gone(pids, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(os.path.exists(f"/proc/{pid}") and _state(pid) not in ("Z", "X")
                   for pid in pids):
            return True
        time.sleep(0.05)
    return False


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"


def test_the_users_own_modules_are_never_preloaded(write_script, tmp_path, monkeypatch):
    """A module on PYTHONPATH outside any site-packages is the user's: the children import
    it themselves, the zygote never does."""
    own = tmp_path / "my_code"
    own.mkdir()
    log = tmp_path / "imports.log"
    (own / "my_helpers_pool.py").write_text(f"open({str(log)!r}, 'a').write('x')\nK = 3\n")
    monkeypatch.setenv("PYTHONPATH", str(own))
    script = write_script("import my_helpers_pool\n" + PARENT_PROBE
                          + "Output(my_helpers_pool.K, name='k')\n")
    _sweep(script)
    _sweep(script)
    assert log.read_text() == "x" * 6  # once per child, never by the zygote
    [zygote] = warm_pool().zygotes()
    assert "my_helpers_pool" not in zygote.modules


def test_a_killed_zygote_is_replaced(write_script):
    script = write_script(PARENT_PROBE)
    [first] = _parents(_sweep(script))
    os.kill(first, signal.SIGKILL)
    assert procs_gone([first])
    second = _parents(_sweep(script))
    assert first not in second and len(second) == 1 and _pids() == list(second)


def test_another_environment_gets_another_zygote(write_script, monkeypatch):
    script = write_script(PARENT_PROBE)
    first = _parents(_sweep(script))
    monkeypatch.setenv("PY3R_POOL_TEST", "other")
    second = _parents(_sweep(script))
    assert first != second
    assert sorted(_pids()) == sorted(first | second)  # both kept: the cap is 2


def test_caps_evict_the_least_recently_used_and_the_idle(write_script):
    script = write_script(PARENT_PROBE)
    pool = warm_pool()
    pool.configure(max_alive=1)
    try:
        first = _parents(_sweep(script, preload=["json"]))
        second = _parents(_sweep(script, preload=["decimal"]))
        assert _pids() == list(second) and procs_gone(first)
        pool.configure(max_idle=0.5)
        assert procs_gone(second) and _pids() == []
    finally:
        pool.configure(max_alive=2, max_idle=600)


def test_max_alive_zero_closes_each_zygote_with_its_sweep(write_script):
    script = write_script(PARENT_PROBE)
    warm_pool().configure(max_alive=0)
    try:
        first = _parents(_sweep(script))
        assert _pids() == [] and procs_gone(first)
    finally:
        warm_pool().configure(max_alive=2)


LEARNING_PROBE = """
import sys
from py3r_script import Output, Param
i = Param(0, name="i")
Output("colorsys" in sys.modules, name="preloaded")

def hue(r):
    import colorsys  # imported lazily, as pandas imports its machinery
    return colorsys.rgb_to_hsv(r, 0.5, 0.25)[0]

Output(hue(i / 10), name="hue")
"""


def test_learned_preloads_serve_the_next_iterations_and_sweeps(write_script):
    script = write_script(LEARNING_PROBE)
    first = _sweep(script, values=(1, 2, 3))
    second = _sweep(script, values=(1, 2, 3))
    assert [r.outputs["preloaded"] for r in first.records] == [False, True, True, True]
    assert [r.outputs["preloaded"] for r in second.records] == [True] * 4
    [zygote] = warm_pool().zygotes()
    assert "colorsys" in zygote.modules
    cold = sensitivity(script, {"i": [1, 2, 3]}, progress=False)
    assert [r.outputs["hue"] for r in second.records] == [r.outputs["hue"] for r in cold.records]


def test_a_child_stopped_after_its_outputs_reports_its_imports_too(write_script):
    """With stop_after_outputs=True every child ends at its last Output, before the end
    of the script: what it imported lazily up to there is learned all the same."""
    script = write_script(LEARNING_PROBE + 'raise SystemExit("not reached: stopped before")\n')
    options = {"outputs": ["preloaded", "hue"], "stop_after_outputs": True}
    first = _sweep(script, values=(1, 2, 3), **options)
    assert all(r.stopped_early for r in first.records)
    [zygote] = warm_pool().zygotes()
    assert "colorsys" in zygote.modules
    second = _sweep(script, values=(1, 2, 3), **options)
    assert [r.outputs["preloaded"] for r in second.records] == [True] * 4
    assert [r.outputs["hue"] for r in second.records] == [r.outputs["hue"] for r in first.records]


def test_an_explicit_preload_learns_nothing(write_script):
    script = write_script(LEARNING_PROBE)
    _sweep(script, preload=["json"])
    results = _sweep(script, preload=["json"])
    assert [r.outputs["preloaded"] for r in results.records] == [False] * 3


def test_a_learned_module_that_fails_to_import_is_dropped_quietly(write_script, tmp_path,
                                                                   monkeypatch):
    """A library module that imports in the child but not in the zygote (here: it needs an
    environment variable only the children get) is left to the children."""
    libs = tmp_path / "site-packages"
    libs.mkdir()
    (libs / "picky_pool.py").write_text(
        "import os\nif 'PICKY_OK' not in os.environ:\n    raise ImportError('not here')\n")
    monkeypatch.setenv("PYTHONPATH", str(libs))
    script = write_script(
        "from py3r_script import Output\ndef f():\n    import picky_pool\n    return 1\n"
        "Output(f(), name='one')\n")
    for _ in range(2):
        results = run(script, warm=True, env={"PICKY_OK": "1"})
        assert results.records[0].ok, results.records[0].error
    [zygote] = warm_pool().zygotes()
    assert "picky_pool" in zygote.modules  # asked for once, never again


EXITING_DRIVER = """
import os, sys
from py3r_script import run, sensitivity, warm_pool
sr = sensitivity(sys.argv[1], {"i": [1]}, warm=True, progress=False)
[pid] = {r.outputs["parent"] for r in sr.records}
assert warm_pool().zygotes()[0].pid == pid
import gc, warnings
warnings.simplefilter("always", ResourceWarning)  # the fork lets go of the pool at once
child = os.fork()
if child == 0:  # a forked copy of the driver has no pool of its own, and says nothing
    empty = warm_pool().zygotes() == []
    gc.collect()  # the zygote's pipes and process, let go of quietly
    sys.stderr.flush()
    os._exit(0 if empty else 3)
_, status = os.waitpid(child, 0)
print(pid, os.waitstatus_to_exitcode(status), flush=True)
"""


def test_no_zygote_outlives_the_driver(write_script, tmp_path):
    script = write_script(PARENT_PROBE)
    driver = tmp_path / "driver.py"
    driver.write_text(textwrap.dedent(EXITING_DRIVER))
    done = subprocess.run([sys.executable, str(driver), str(script)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    zygote, forked = map(int, done.stdout.split())
    assert forked == 0
    assert "ResourceWarning" not in done.stderr, done.stderr
    assert procs_gone([zygote], timeout=5)


INTERRUPTED_DRIVER = """
import os, signal, sys, threading, time
from py3r_script import SweepInterrupted, sensitivity, warm_pool
script, pid_file = sys.argv[1], sys.argv[2]

def interrupt_once_started():
    while not os.path.exists(pid_file):
        time.sleep(0.02)
    os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=interrupt_once_started, daemon=True).start()
try:
    sensitivity(script, {"i": [1]}, warm=True, progress=False)
    sys.exit("the sweep was not interrupted")
except SweepInterrupted as stopped:
    [first] = {r.outputs["parent"] for r in stopped.results.records if r.ok}
kept = [(z.pid, z.busy) for z in warm_pool().zygotes()]
sr = sensitivity(script, {"i": [2]}, warm=True, progress=False)
assert all(r.ok for r in sr.records), [r.error for r in sr.records]
[second] = {r.outputs["parent"] for r in sr.records}
print(first, second, kept, flush=True)
"""

SLOW_WHEN_ONE = """
import os, sys, time
from py3r_script import Output, Param
i = Param(0, name="i")
if i == 1:
    with open(PID_FILE, "w") as handle:
        handle.write(str(os.getpid()))
    time.sleep(120)
Output(os.getppid(), name="parent")
"""


def test_ctrl_c_kills_the_sweeps_children_and_leaves_the_pool_usable(write_script, tmp_path):
    pid_file = tmp_path / "slow.pid"
    script = write_script(f"PID_FILE = {str(pid_file)!r}\n" + SLOW_WHEN_ONE)
    driver = tmp_path / "driver.py"
    driver.write_text(textwrap.dedent(INTERRUPTED_DRIVER))
    done = subprocess.run([sys.executable, str(driver), str(script), str(pid_file)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    first, second, kept = done.stdout.split(" ", 2)
    assert procs_gone([int(pid_file.read_text())])  # the interrupted child was killed
    # the zygote was clean (its children reaped), so it stayed, idle, and served again
    assert kept.strip() == f"[({first}, False)]" and first == second


def test_a_learned_module_that_starts_threads_is_dropped(write_script, tmp_path, monkeypatch):
    """Its import makes the zygote unsafe to fork: the sweep goes on cold, the zygote is
    replaced, and the module is never learned again."""
    libs = tmp_path / "site-packages"
    libs.mkdir()
    (libs / "threads_pool.py").write_text(
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n")
    monkeypatch.setenv("PYTHONPATH", str(libs))
    script = write_script(PARENT_PROBE + "def f():\n    import threads_pool\n    return 1\n"
                          "Output(f(), name='one')\n")
    first = _sweep(script, values=(1, 2))
    parents = [r.outputs["parent"] for r in first.records]
    assert parents[1:] == [os.getpid()] * 2  # after the zygote became unsafe: cold
    assert procs_gone(parents[:1]) and _pids() == []
    second = _parents(_sweep(script, values=(1, 2)))
    assert second.isdisjoint(parents) and _pids() == list(second)


@pytest.mark.parametrize("caps", [{"max_alive": -1}, {"max_alive": 1.5}, {"max_idle": "10"}])
def test_bad_caps_are_refused_with_the_rule(caps):
    from py3r_script.errors import OptionError

    with pytest.raises(OptionError, match=f"{next(iter(caps))} must be a non-negative"):
        warm_pool().configure(**caps)
