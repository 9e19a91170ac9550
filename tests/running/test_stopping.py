"""Stopping a sweep: Ctrl-C, SIGTERM or SIGHUP, a driver or worker killed outright, and a
worker stopping its own child when its sweep's driver cannot reach it.

Whatever stops a sweep, every child and grandchild it started is gone within
``STOP_BOUND`` seconds, and the iterations that finished are kept.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from py3r_script import Study, load
from py3r_script.child.processes import identity
from py3r_script.paramset import ParamSet
from py3r_script.running.launch import IterationTask, run_iteration

# -- Ctrl-C --------------------------------------------------------------------------------

PIDS_SCRIPT = """
import os
import subprocess
import time
from py3r_script import Output, Param

x = Param(0, name="x")
if x >= {slow_from}:
    grandchild = subprocess.Popen(["sleep", "60"])
    tmp = os.path.join({pid_dir!r}, f"{{x}}.tmp")
    with open(tmp, "w") as handle:
        handle.write(f"{{os.getpid()}} {{grandchild.pid}}")
    os.replace(tmp, os.path.join({pid_dir!r}, f"{{x}}.pids"))
    time.sleep(60)
Output(x, name="x_out")
"""

INTERRUPT_DRIVER = """
import json, logging, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in an interactive python
for number in (signal.SIGTERM, signal.SIGHUP):  # as in a terminal: a runner under nohup
    signal.signal(number, signal.SIG_DFL)  # passes SIGHUP ignored to every process it starts
from py3r_script import sensitivity

script, values, options = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
kind = options.pop("executor", None)
if kind == "process pool":
    from concurrent.futures import ProcessPoolExecutor
    pool = ProcessPoolExecutor(2)
    options["executor"] = pool
    close = lambda: pool.shutdown(wait=False, cancel_futures=True)
elif kind == "dask":
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                           silence_logs=logging.ERROR)
    client = Client(cluster)
    options["executor"] = client.get_executor()
    def close():
        client.close()
        cluster.close()
else:
    close = lambda: None
try:
    sensitivity(script, {"x": values}, progress=False, **options)
except KeyboardInterrupt as exc:
    print("INTERRUPTED", len(exc.results.records), type(exc).__name__, flush=True)
    print(json.dumps([[r.params["x"], r.status] for r in exc.results.records]), flush=True)
    print("MESSAGE", exc, flush=True)
else:
    print("FINISHED", flush=True)
finally:
    close()
"""

EXECUTORS = ["process pool", "dask"]


def _executor_options(kind: str) -> dict:
    if kind == "dask":
        pytest.importorskip("distributed")
    return {"executor": kind}


def _start_driver(script: Path, values, options) -> subprocess.Popen:
    """The driver runs in the script's folder (where an executor sweep's stop file goes)."""
    return subprocess.Popen(
        [sys.executable, "-c", INTERRUPT_DRIVER, str(script), json.dumps(values),
         json.dumps(options)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        cwd=script.parent,
    )


STOP_BOUND = 2.5  # seconds from the signal until every child and grandchild is gone


def _interrupt(procs, driver: subprocess.Popen, pids, number=signal.SIGINT):
    """Signal the driver only; return the pids still alive ``STOP_BOUND`` s later, and its
    output."""
    os.kill(driver.pid, number)
    alive = procs.wait_gone(pids, timeout=STOP_BOUND)
    try:
        out, err = driver.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        out, err = procs.kill_driver_group(driver)
        pytest.fail(f"the driver did not exit after {number!r}:\n{out}\n{err}")
    return alive, out, err


def _run_interrupted_sweep(procs, tmp_path, write_script, *, values, slow, slow_from, options,
                           number=signal.SIGINT):
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    script = write_script(PIDS_SCRIPT.format(slow_from=slow_from, pid_dir=str(pid_dir)),
                          "sleepy.py")
    driver = _start_driver(script, values, options)
    pids: list[int] = []
    try:
        pids = procs.wait_for_pid_files(driver, pid_dir, slow)
        alive, out, err = _interrupt(procs, driver, pids, number)
        assert alive == [], f"children or grandchildren outlived the sweep: {alive}"
        assert driver.returncode == 0, err
        started = sorted(p.name for p in pid_dir.glob("*.pids"))
        return out, err, started
    finally:
        if driver.poll() is None:
            procs.kill_driver_group(driver)
        procs.kill_leftovers(pids)


def test_ctrl_c_kills_every_child_and_grandchild_and_keeps_partial_results(
    tmp_path, write_script, launch_mode, procs
):
    out, err, started = _run_interrupted_sweep(
        procs, tmp_path, write_script, values=[0, 1], slow=[0, 1], slow_from=0,
        options={"max_workers": 2, **launch_mode},
    )
    assert "INTERRUPTED 0 SweepInterrupted" in out, (out, err)
    assert "FINISHED" not in out
    assert started == ["0.pids", "1.pids"]


def test_ctrl_c_sequential_kills_the_running_child_and_starts_no_more(
    tmp_path, write_script, launch_mode, procs
):
    out, err, _ = _run_interrupted_sweep(
        procs, tmp_path, write_script, values=[0, 1, 2, 3], slow=[1], slow_from=1,
        options={"max_workers": 1, **launch_mode},
    )
    assert "INTERRUPTED 1 SweepInterrupted" in out, (out, err)
    assert '[[0, "ok"]]' in out
    time.sleep(0.3)
    assert sorted(p.name for p in (tmp_path / "pids").glob("*.pids")) == ["1.pids"]


def test_ctrl_c_with_a_store_keeps_finished_iterations_and_marks_the_sweep_interrupted(
    tmp_path, write_script, launch_mode, procs
):
    db = tmp_path / "study.db"
    out, err, _ = _run_interrupted_sweep(
        procs, tmp_path, write_script, values=[0, 1, 2, 3], slow=[2, 3], slow_from=2,
        options={"max_workers": 2, "store": str(db), **launch_mode},
    )
    assert "INTERRUPTED 2 SweepInterrupted" in out, (out, err)
    assert '[[0, "ok"], [1, "ok"]]' in out
    stored = load(db)
    assert sorted((r.params["x"], r.status) for r in stored.records) == [(0, "ok"), (1, "ok")]
    assert sorted(r.outputs["x_out"] for r in stored.records) == [0, 1]
    with Study(db) as study:
        sweeps = study.sweeps()
    assert sweeps["status"].tolist() == ["interrupted"]
    assert sweeps["n_planned"].tolist() == [4]
    assert sweeps["n_done"].tolist() == [2]


@pytest.mark.parametrize("kind", EXECUTORS)
def test_ctrl_c_with_an_executor_kills_the_children_its_workers_started(
    tmp_path, write_script, kind, procs
):
    db = tmp_path / "study.db"
    out, err, started = _run_interrupted_sweep(
        procs, tmp_path, write_script, values=[0, 1, 2, 3, 4, 5, 6, 7], slow=[2, 3], slow_from=2,
        options={"store": str(db), **_executor_options(kind)},
    )
    assert "INTERRUPTED 2 SweepInterrupted" in out, (out, err)
    time.sleep(0.5)
    assert started == ["2.pids", "3.pids"]  # the queued iterations never started
    assert sorted(p.name for p in (tmp_path / "pids").glob("*.pids")) == started
    assert '[[0, "ok"], [1, "ok"]]' in out
    assert "the iterations running on the executor's workers were stopped" in out
    assert sorted(r.params["x"] for r in load(db).records) == [0, 1]
    with Study(db) as study:
        assert study.sweeps()["status"].tolist() == ["interrupted"]
    assert not list(tmp_path.glob(".py3r-script-stop-*")), "the stop file was left behind"


TERMINAL_CTRL_C_DRIVER = """
import glob, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
from concurrent.futures import ProcessPoolExecutor
from py3r_script import sensitivity

pool = ProcessPoolExecutor(2)
try:
    sensitivity(sys.argv[1], {"x": [0, 1, 2, 3]}, executor=pool, progress=False)
except KeyboardInterrupt as exc:
    print("MESSAGE", exc, flush=True)
signal.signal(signal.SIGINT, signal.SIG_IGN)
deadline = time.monotonic() + 5  # this process lives on, as a notebook's kernel does
while glob.glob(".py3r-script-stop-*") and time.monotonic() < deadline:
    time.sleep(0.05)
print("LEFT", glob.glob(".py3r-script-stop-*"), flush=True)
pool.shutdown(wait=False, cancel_futures=True)
"""


def test_ctrl_c_in_a_terminal_removes_the_stop_file_once_the_workers_return(
    tmp_path, write_script, procs
):
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    script = write_script(PIDS_SCRIPT.format(slow_from=0, pid_dir=str(pid_dir)), "sleepy.py")
    driver = subprocess.Popen(
        [sys.executable, "-c", TERMINAL_CTRL_C_DRIVER, str(script)], cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    pids: list[int] = []
    try:
        pids = procs.wait_for_pid_files(driver, pid_dir, [0, 1])
        os.killpg(driver.pid, signal.SIGINT)  # the driver and its pool's workers, as a terminal
        assert procs.wait_gone(pids, timeout=STOP_BOUND) == []
        out, err = driver.communicate(timeout=30)
        assert "LEFT []" in out, (out, err)
        assert "the iterations running on the executor's workers were stopped" in out, out
        assert sorted(p.name for p in pid_dir.glob("*.pids")) == ["0.pids", "1.pids"]
    finally:
        if driver.poll() is None:
            procs.kill_driver_group(driver)
        procs.kill_leftovers(pids)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP], ids=lambda n: n.name)
def test_sigterm_and_sighup_stop_a_sweep_like_ctrl_c(tmp_path, write_script, number, procs):
    db = tmp_path / "study.db"
    out, err, _ = _run_interrupted_sweep(
        procs, tmp_path, write_script, values=[0, 1, 2, 3], slow=[2, 3], slow_from=2,
        options={"max_workers": 2, "store": str(db)}, number=number,
    )
    assert "INTERRUPTED 2 SweepInterrupted" in out, (out, err)
    assert f"(received {number.name})" in out
    assert sorted((r.params["x"], r.status) for r in load(db).records) == [(0, "ok"), (1, "ok")]
    with Study(db) as study:
        sweeps = study.sweeps()
    assert sweeps["status"].tolist() == ["interrupted"]
    assert sweeps["n_done"].tolist() == [2]


# -- the driver killed outright ---------------------------------------------------------------


def _kill_driver_mid_iteration(procs, tmp_path, write_script, options):
    """SIGKILL the driver while two iterations run; the pids still alive after the bound."""
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    script = write_script(PIDS_SCRIPT.format(slow_from=0, pid_dir=str(pid_dir)), "sleepy.py")
    driver = _start_driver(script, [0, 1], options)
    pids: list[int] = []
    try:
        pids = procs.wait_for_pid_files(driver, pid_dir, [0, 1])
        os.kill(driver.pid, signal.SIGKILL)
        return procs.wait_gone(pids, timeout=STOP_BOUND)
    finally:
        procs.kill_driver_group(driver)
        procs.kill_leftovers(pids)


def test_children_die_with_a_killed_driver(tmp_path, write_script, launch_mode, procs):
    alive = _kill_driver_mid_iteration(procs, tmp_path, write_script,
                                       {"max_workers": 2, **launch_mode})
    assert alive == [], f"children or grandchildren outlived the killed driver: {alive}"


@pytest.mark.parametrize("kind", EXECUTORS)
def test_executor_children_die_with_a_killed_driver(tmp_path, write_script, kind, procs):
    alive = _kill_driver_mid_iteration(procs, tmp_path, write_script, _executor_options(kind))
    assert alive == [], f"children or grandchildren outlived the killed driver: {alive}"


WORKER_KILLING_DRIVER = """
import json, os, signal, sys, time
from concurrent.futures import ProcessPoolExecutor
from py3r_script import sensitivity

script, pid_dir = sys.argv[1], sys.argv[2]
with ProcessPoolExecutor(1) as pool:
    sr = sensitivity(script, {"x": [0]}, executor=pool, progress=False)
print(json.dumps([r.status for r in sr.records]))
"""


def test_children_die_with_a_killed_executor_worker(tmp_path, write_script, procs):
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    script = write_script(PIDS_SCRIPT.format(slow_from=0, pid_dir=str(pid_dir)), "sleepy.py")
    driver = subprocess.Popen(
        [sys.executable, "-c", WORKER_KILLING_DRIVER, str(script), str(pid_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    pids: list[int] = []
    try:
        pids = procs.wait_for_pid_files(driver, pid_dir, [0])
        worker = _parent_of(pids[0])
        assert worker != driver.pid
        os.kill(worker, signal.SIGKILL)  # as the out-of-memory killer would
        assert procs.wait_gone(pids, timeout=STOP_BOUND) == [], "the worker's child survived it"
        out, err = driver.communicate(timeout=30)
        assert '["crashed"]' in out, (out, err)  # the executor says it lost the worker
    finally:
        if driver.poll() is None:
            procs.kill_driver_group(driver)
        procs.kill_leftovers(pids)


def _parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


LAUNCH_RACE_DRIVER = """
import json, os, signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)

script, pid_dir, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
RealPopen = subprocess.Popen


class SlowToComeBack(RealPopen):
    # Popen runs Python code after the fork (closing pipes, reading the exec status); on a
    # loaded machine that takes a while. Widen that window from microseconds to 2 s.
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        open(os.path.join(pid_dir, f"spawned-{self.pid}"), "w").close()
        time.sleep(2)


subprocess.Popen = SlowToComeBack
from py3r_script import sensitivity

try:
    sensitivity(script, {"x": [0, 1]}, progress=False, **options)
except KeyboardInterrupt as exc:
    print("INTERRUPTED", len(exc.results.records), type(exc).__name__, flush=True)
"""


@pytest.mark.parametrize("max_workers", [1, 2])
def test_ctrl_c_while_a_child_is_being_launched_still_kills_it(
    tmp_path, write_script, launch_mode, max_workers, procs
):
    if launch_mode:
        pytest.skip("the window is widened inside subprocess.Popen, which only cold starts use")
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    script = write_script(PIDS_SCRIPT.format(slow_from=0, pid_dir=str(pid_dir)), "sleepy.py")
    driver = subprocess.Popen(
        [sys.executable, "-c", LAUNCH_RACE_DRIVER, str(script), str(pid_dir),
         json.dumps({"max_workers": max_workers, **launch_mode})],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    pids: list[int] = []
    try:
        pids = procs.wait_for_pid_files(driver, pid_dir, range(max_workers))
        os.kill(driver.pid, signal.SIGINT)  # the driver is still inside Popen
        alive = procs.wait_gone(pids, timeout=STOP_BOUND)
        assert alive == [], f"children or grandchildren outlived the sweep: {alive}"
        out, _ = driver.communicate(timeout=2)
        assert "INTERRUPTED 0 SweepInterrupted" in out
    finally:
        if driver.poll() is None:
            procs.kill_driver_group(driver)
        procs.kill_leftovers(pids)


# -- a worker stopping its iteration on its own -------------------------------------------------
# Remote workers cannot be reached by the driver: they stop their child when the sweep's stop
# file appears, or when the sweep's driver on their machine is gone.

SLEEPER_SCRIPT = """
import os
import subprocess
import time
from py3r_script import Output, Param
x = Param(0, name="x")
Output(os.getpid(), name="pid")
Output(subprocess.Popen(["sleep", "60"]).pid, name="grandchild")
time.sleep(60)
"""


def _run_in_thread(task: IterationTask) -> tuple[Future, ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(1)
    return pool.submit(run_iteration, task), pool


def test_a_worker_stops_its_child_when_the_stop_file_appears(write_script, tmp_path, procs):
    stop = tmp_path / ".py3r-script-stop-s1"
    task = IterationTask(script=str(write_script(SLEEPER_SCRIPT)), params=ParamSet({"x": 1}),
                         stop_file=str(stop), outputs=("pid", "grandchild"))
    future, pool = _run_in_thread(task)
    time.sleep(1.0)
    stop.touch()
    signalled = time.monotonic()
    record = future.result(timeout=10)
    pool.shutdown()
    assert time.monotonic() - signalled < 1.0
    assert record.status == "cancelled"
    assert "interrupted" in record.error
    assert procs.gone(record.outputs["pid"]) and procs.gone(record.outputs["grandchild"])
    # and a stopped sweep starts nothing more
    again = run_iteration(task)
    assert again.status == "cancelled" and again.error.startswith("not started")
    assert again.outputs == {}


def test_a_worker_stops_its_child_when_the_driver_on_its_machine_is_gone(
    write_script, procs
):
    driver = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        task = IterationTask(script=str(write_script(SLEEPER_SCRIPT)),
                             params=ParamSet({"x": 1}), driver=identity(driver.pid))
        future, pool = _run_in_thread(task)
        time.sleep(1.0)
        assert not future.done()
    finally:
        driver.kill()
        driver.wait()
    record = future.result(timeout=10)
    pool.shutdown()
    assert record.status == "cancelled"
    assert "driver process has ended" in record.error
    assert procs.gone(record.outputs["pid"]) and procs.gone(record.outputs["grandchild"])
