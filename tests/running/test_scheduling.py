"""Parallel execution and executors: who launches each child, and what comes back.

Every iteration runs in its own fresh subprocess whoever launches it (this thread, the local
thread pool of ``max_workers``, or any ``concurrent.futures.Executor``); records come back in
plan order whatever the completion order.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import socket
import sys
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

from py3r_script import sensitivity
from py3r_script.running.launch import IterationTask

PID_SCRIPT = """
import os
from py3r_script import Output, Param
x = Param(0, name="x")
Output(x, name="x_out")
Output(os.getpid(), name="pid")
Output(os.getppid(), name="ppid")
"""

SLEEP_SCRIPT = """
import os
import time
from py3r_script import Output, Param
x = Param(0, name="x")
time.sleep({delays!r}[x])
Output(x, name="x_out")
Output(os.getpid(), name="pid")
"""

RAISE_AT_2_SCRIPT = """
import os
from py3r_script import Output, Param
x = Param(0, name="x")
Output(os.getpid(), name="pid")
if x == 2:
    raise ValueError(f"bad x {x}")
Output(x, name="x_out")
"""

X4 = {"x": [0, 1, 2, 3]}


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _max_overlap(records) -> int:
    """The largest number of iterations that were running at the same instant."""
    events = sorted([(r.started, 1) for r in records] + [(r.finished, -1) for r in records],
                    key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def _assert_plan_order(sr, values) -> None:
    assert [r.params["x"] for r in sr.records] == values
    assert [r.index for r in sr.records] == list(range(len(values)))
    assert [r.outputs["x_out"] for r in sr.records] == values  # each record is its own child's


class RecordingExecutor(Executor):
    """Runs each submission inline; remembers what it was given."""

    def __init__(self) -> None:
        self.submitted: list[IterationTask] = []

    def submit(self, fn, /, *args, **kwargs):
        self.submitted.append(args[0])
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # pragma: no cover - run_iteration does not raise
            future.set_exception(exc)
        return future


class FailingExecutor(RecordingExecutor):
    """Like RecordingExecutor, but the futures of the given plan indices raise."""

    def __init__(self, fail: set[int]) -> None:
        super().__init__()
        self.fail = fail

    def submit(self, fn, /, *args, **kwargs):
        task = args[0]
        if task.index in self.fail:
            self.submitted.append(task)
            future: Future = Future()
            future.set_exception(ConnectionError(f"worker lost while running #{task.index}"))
            return future
        return super().submit(fn, *args, **kwargs)


class ScriptDeletingExecutor(RecordingExecutor):
    """A 'remote' executor whose workers do not see the script: it is gone when they run."""

    def submit(self, fn, /, *args, **kwargs):
        Path(args[0].script).unlink(missing_ok=True)
        return super().submit(fn, *args, **kwargs)


# -- local workers: fresh processes, concurrency, plan order ---------------------------------


@pytest.mark.parametrize("max_workers", [1, 2, "auto"])
def test_every_iteration_runs_in_its_own_fresh_subprocess(write_script, max_workers):
    sr = sensitivity(write_script(PID_SCRIPT), X4, max_workers=max_workers, progress=False)
    assert [r.status for r in sr.records] == ["ok"] * 4
    _assert_plan_order(sr, [0, 1, 2, 3])
    pids = [r.outputs["pid"] for r in sr.records]
    assert len(set(pids)) == 4
    assert os.getpid() not in pids
    # launched by this process (a local thread), not by some intermediate worker process
    assert {r.outputs["ppid"] for r in sr.records} == {os.getpid()}
    assert {r.host for r in sr.records} == {socket.gethostname()}


@pytest.mark.parametrize(
    ("max_workers", "delays"),
    [
        (4, [0.6, 0.4, 0.2, 0.0]),  # all at once: they finish in reverse plan order
        (2, [0.9, 0.1, 0.1, 0.1]),  # #0 outlasts #1, #2 and #3 together
    ],
)
def test_results_keep_plan_order_whatever_the_completion_order(
    write_script, max_workers, delays
):
    script = write_script(SLEEP_SCRIPT.format(delays=delays))
    sr = sensitivity(script, X4, max_workers=max_workers, progress=False)
    assert all(r.ok for r in sr.records), sr.errors
    completion = [r.params["x"] for r in sorted(sr.records, key=lambda r: r.finished)]
    assert completion[-1] == 0, f"the setup should make #0 finish last, got {completion}"
    if max_workers == 4:
        assert completion == [3, 2, 1, 0]
    _assert_plan_order(sr, [0, 1, 2, 3])
    frame = sr.to_dataframe()
    assert frame["x"].tolist() == [0, 1, 2, 3]
    assert frame["x_out"].tolist() == [0, 1, 2, 3]
    assert frame["pid"].tolist() == [r.outputs["pid"] for r in sr.records]
    assert [p["x"] for p in sr] == [0, 1, 2, 3]


def test_two_workers_run_iterations_concurrently_and_no_more(write_script):
    script = write_script(SLEEP_SCRIPT.format(delays=[0.5, 0.5, 0.5, 0.5]))
    start = time.monotonic()
    sr = sensitivity(script, X4, max_workers=2, progress=False)
    elapsed = time.monotonic() - start
    assert all(r.ok for r in sr.records), sr.errors
    sequential = sum(r.duration for r in sr.records)
    assert sequential >= 2.0
    assert elapsed < 0.8 * sequential, (elapsed, sequential)
    assert _max_overlap(sr.records) == 2


def test_one_worker_runs_iterations_one_after_another(write_script):
    script = write_script(SLEEP_SCRIPT.format(delays=[0.2, 0.2, 0.2]))
    sr = sensitivity(script, {"x": [0, 1, 2]}, max_workers=1, progress=False)
    assert all(r.ok for r in sr.records), sr.errors
    assert _max_overlap(sr.records) == 1


@pytest.mark.skipif(_cpus() < 2, reason="'auto' means one worker on a single core")
def test_auto_workers_run_concurrently(write_script):
    script = write_script(SLEEP_SCRIPT.format(delays=[0.5, 0.5, 0.5, 0.5]))
    sr = sensitivity(script, X4, max_workers="auto", progress=False)
    assert all(r.ok for r in sr.records), sr.errors
    _assert_plan_order(sr, [0, 1, 2, 3])
    assert len({r.outputs["pid"] for r in sr.records}) == 4
    assert 2 <= _max_overlap(sr.records) <= min(_cpus(), 4)


@pytest.mark.parametrize("max_workers", [1, 2])
def test_a_failing_iteration_does_not_stop_the_others(write_script, max_workers):
    sr = sensitivity(write_script(RAISE_AT_2_SCRIPT), X4, max_workers=max_workers,
                     progress=False)
    assert [r.status for r in sr.records] == ["ok", "ok", "error", "ok"]
    assert "ValueError: bad x 2" in sr.records[2].error
    assert sr.records[2].outputs["pid"] > 0  # produced before the failure, kept
    assert sorted(p["x"] for p in sr) == [0, 1, 3]
    assert sr.errors[0][0] == {"x": 2}
    assert sr.to_dataframe()["x"].tolist() == [0, 1, 3]


# -- option checks: before anything starts ----------------------------------------------------


@pytest.mark.parametrize("bad", [0, -1, "many", 2.5, True, None])
def test_bad_max_workers_raise_before_anything_starts(marked_script, marker, tmp_path, bad):
    script = marked_script(PID_SCRIPT)
    store = tmp_path / "study.db"
    with pytest.raises(ValueError, match="max_workers"):
        sensitivity(script, X4, max_workers=bad, progress=False, store=store)
    assert not marker.exists()
    assert not store.exists()  # checked before the study is even opened


@pytest.mark.parametrize("bad", [0, -1, "5", -0.5, math.nan, True])
def test_bad_timeout_raises_before_anything_starts(marked_script, marker, tmp_path, bad):
    script = marked_script(PID_SCRIPT)
    store = tmp_path / "study.db"
    with pytest.raises(ValueError, match="timeout"):
        sensitivity(script, X4, timeout=bad, progress=False, store=store)
    assert not marker.exists()
    assert not store.exists()


@pytest.mark.parametrize("max_workers", [2, "auto"])
def test_max_workers_and_executor_together_raise_before_anything_starts(
    marked_script, marker, max_workers
):
    script = marked_script(PID_SCRIPT)
    executor = RecordingExecutor()
    with pytest.raises(ValueError, match="not both"):
        sensitivity(script, X4, max_workers=max_workers, executor=executor, progress=False)
    assert executor.submitted == []
    assert not marker.exists()


def test_executor_must_be_an_executor(marked_script, marker):
    with pytest.raises(TypeError, match="Executor"):
        sensitivity(marked_script(PID_SCRIPT), X4, executor=object(), progress=False)
    assert not marker.exists()


# -- executors ------------------------------------------------------------------------------


def test_any_executor_receives_run_iteration_and_one_task_per_iteration(write_script):
    executor = RecordingExecutor()
    sr = sensitivity(write_script(PID_SCRIPT), X4, executor=executor, progress=False)
    assert [t.index for t in executor.submitted] == [0, 1, 2, 3]
    assert [t.params["x"] for t in executor.submitted] == [0, 1, 2, 3]
    assert all(isinstance(t, IterationTask) for t in executor.submitted)
    assert [r.status for r in sr.records] == ["ok"] * 4
    _assert_plan_order(sr, [0, 1, 2, 3])


def test_thread_pool_executor(write_script):
    script = write_script(SLEEP_SCRIPT.format(delays=[0.6, 0.4, 0.2, 0.0]))
    with ThreadPoolExecutor(4) as pool:
        sr = sensitivity(script, X4, executor=pool, progress=False)
    assert all(r.ok for r in sr.records), sr.errors
    _assert_plan_order(sr, [0, 1, 2, 3])
    assert len({r.outputs["pid"] for r in sr.records}) == 4
    assert _max_overlap(sr.records) >= 2


def test_process_pool_executor(write_script):
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        sr = sensitivity(write_script(PID_SCRIPT), X4, executor=pool, progress=False)
        worker_pids = set(pool._processes)  # pid -> process of every pool worker
    assert [r.status for r in sr.records] == ["ok"] * 4, sr.errors
    _assert_plan_order(sr, [0, 1, 2, 3])
    assert len({r.outputs["pid"] for r in sr.records}) == 4
    parents = {r.outputs["ppid"] for r in sr.records}
    assert os.getpid() not in parents  # launched inside the pool's worker processes
    assert parents <= worker_pids


@pytest.fixture(scope="module")
def dask_executor(local_dask):
    with local_dask(n_workers=2) as client:
        yield client.get_executor()


def test_dask_executor_returns_records_with_outputs(write_script, dask_executor):
    sr = sensitivity(write_script(RAISE_AT_2_SCRIPT), X4, executor=dask_executor,
                     progress=False)
    assert [r.status for r in sr.records] == ["ok", "ok", "error", "ok"], sr.errors
    assert [r.index for r in sr.records] == [0, 1, 2, 3]
    assert [r.outputs.get("x_out") for r in sr.records] == [0, 1, None, 3]
    assert "ValueError: bad x 2" in sr.records[2].error
    assert len({r.outputs["pid"] for r in sr.records}) == 4
    assert all(r.host for r in sr.records)
    assert sr.to_dataframe()["x_out"].tolist() == [0, 1, 3]


def test_dask_children_are_launched_by_the_dask_workers(write_script, dask_executor):
    sr = sensitivity(write_script(PID_SCRIPT), X4, executor=dask_executor, progress=False)
    assert [r.status for r in sr.records] == ["ok"] * 4, sr.errors
    _assert_plan_order(sr, [0, 1, 2, 3])
    parents = {r.outputs["ppid"] for r in sr.records}
    assert os.getpid() not in parents
    assert len(parents) <= 2  # two worker processes


def test_executor_future_that_raises_becomes_a_crashed_record(write_script):
    executor = FailingExecutor(fail={1})
    sr = sensitivity(write_script(PID_SCRIPT), X4, executor=executor, progress=False)
    assert [r.status for r in sr.records] == ["ok", "crashed", "ok", "ok"]
    crashed = sr.records[1]
    assert crashed.params["x"] == 1 and crashed.index == 1
    assert "ConnectionError" in crashed.error
    assert "worker lost while running #1" in crashed.error
    assert crashed.error_type == "ConnectionError"
    assert crashed.iteration_id == executor.submitted[1].iteration_id
    assert sr.errors == [({"x": 1}, crashed.error)]
    assert [r.outputs["x_out"] for r in sr.records if r.ok] == [0, 2, 3]


def test_script_missing_on_the_worker_gives_a_not_found_record(write_script):
    script = write_script(PID_SCRIPT)
    sr = sensitivity(script, {"x": [0, 1]}, executor=ScriptDeletingExecutor(), progress=False)
    assert [r.status for r in sr.records] == ["crashed", "crashed"]
    for record in sr.records:
        assert "not found" in record.error
        assert socket.gethostname() in record.error
        assert str(script) in record.error


# -- the script each worker sees ---------------------------------------------------------------

VERSION_SCRIPT = """
from py3r_script import Output, Param
x = Param(0, name="x")
open({marker!r}, "a").write(f"{{x}}\\n")
Output("{version}", name="version")
"""


class StaleCopyExecutor(RecordingExecutor):
    """A worker whose filesystem holds another (older) copy of the script."""

    def __init__(self, stale: str) -> None:
        super().__init__()
        self.stale = stale

    def submit(self, fn, /, *args, **kwargs):
        path = Path(args[0].script)
        real = path.read_text()
        path.write_text(self.stale)
        try:
            return super().submit(fn, *args, **kwargs)
        finally:
            path.write_text(real)


def test_a_worker_seeing_another_copy_of_the_script_runs_nothing(write_script, tmp_path):
    marker = tmp_path / "ran.txt"
    script = write_script(VERSION_SCRIPT.format(marker=str(marker), version="driver"))
    stale = VERSION_SCRIPT.format(marker=str(marker), version="stale")
    store = tmp_path / "study.db"
    sr = sensitivity(script, {"x": [1]}, executor=StaleCopyExecutor(stale), store=store,
                     progress=False)
    assert [r.status for r in sr.records] == ["error", "error"]
    for record in sr.records:
        assert f"the script on host {socket.gethostname()!r} differs" in record.error
        assert str(script) in record.error
        assert record.outputs == {}
    assert not marker.exists(), "the stale copy ran"
    # nothing was stored as a success, so a sweep where the script is right runs it all
    again = sensitivity(script, {"x": [1]}, store=store, progress=False)
    assert [r.outputs["version"] for r in again.records] == ["driver", "driver"]
    assert marker.read_text().split() == ["0", "1"]


EDITING_SCRIPT = """
from py3r_script import Output, Param
x = Param(0, name="x")
if x == 1:  # edits itself, as a user saving a change while the sweep runs
    with open(__file__, "a") as handle:
        handle.write("# edited\\n")
Output(x, name="x_out")
"""


def test_a_script_edited_during_the_sweep_is_not_run_under_the_old_hash(write_script, tmp_path):
    script = write_script(EDITING_SCRIPT)
    store = tmp_path / "study.db"
    sr = sensitivity(script, {"x": [1, 2, 3]}, store=store, progress=False)
    assert [r.status for r in sr.records] == ["ok", "ok", "error", "error"]
    assert "was edited during the sweep" in sr.records[2].error
    assert "x_out" not in sr.records[2].outputs
    # the edited script is another script: nothing of the first sweep's runs is reused wrongly
    again = sensitivity(script, {"x": [2, 3]}, store=store, progress=False, dry_run=True)
    assert again.actions == ["run", "run", "run"]


# -- the interpreter each worker uses ----------------------------------------------------------

PYTHON_SCRIPT = """
import sys
from py3r_script import Output, Param
x = Param(0, name="x")
Output(sys.executable, name="python")
"""


def test_each_worker_starts_children_with_its_own_python(write_script, tmp_path):
    """The driver's interpreter path means nothing on a worker whose Python lives elsewhere."""
    elsewhere = tmp_path / "worker-python" / "python"
    elsewhere.parent.mkdir()
    elsewhere.symlink_to(sys.executable)
    context = multiprocessing.get_context("spawn")
    context.set_executable(str(elsewhere))
    executor = RecordingExecutor()
    sensitivity(write_script(PYTHON_SCRIPT), {"x": [1]}, executor=executor, progress=False)
    assert {t.python for t in executor.submitted} == {None}
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        sr = sensitivity(write_script(PYTHON_SCRIPT), {"x": [1]}, executor=pool,
                         progress=False)
    assert [r.status for r in sr.records] == ["ok", "ok"], sr.errors
    assert {r.outputs["python"] for r in sr.records} == {str(elsewhere)}


class InterpreterRemovingExecutor(RecordingExecutor):
    """A worker on which the interpreter given as python= does not exist."""

    def submit(self, fn, /, *args, **kwargs):
        Path(args[0].python).unlink(missing_ok=True)
        return super().submit(fn, *args, **kwargs)


def test_a_python_missing_on_the_worker_is_named_with_the_host(write_script, tmp_path):
    python = tmp_path / "venv" / "python"
    python.parent.mkdir()
    python.symlink_to(sys.executable)
    sr = sensitivity(write_script(PYTHON_SCRIPT), {"x": [1]}, python=str(python),
                     executor=InterpreterRemovingExecutor(), progress=False)
    assert [r.status for r in sr.records] == ["crashed", "crashed"]
    for record in sr.records:
        assert f"python={str(python)!r} does not exist on host " \
               f"{socket.gethostname()!r}" in record.error


# -- a real Dask cluster: timeouts and a script its workers cannot see --------------------------

HANG_SCRIPT = """
import os
import subprocess
import time
from py3r_script import Output, Param
x = Param(0, name="x")
Output(os.getpid(), name="pid")
if x == 1:
    grandchild = subprocess.Popen(["sleep", "60"])
    Output(grandchild.pid, name="grandchild")
    time.sleep(60)
Output(x, name="x_out")
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_dask_timeout_kills_the_child_and_its_grandchild(write_script, dask_executor):
    sr = sensitivity(write_script(HANG_SCRIPT), {"x": [1]}, executor=dask_executor, timeout=1,
                     progress=False)
    assert [r.status for r in sr.records] == ["ok", "timeout"], sr.errors
    record = sr.records[1]
    assert "timed out after" in record.error and "timeout=1 s" in record.error
    assert 1.0 <= record.duration < 10
    pids = [record.outputs["pid"], record.outputs["grandchild"]]
    deadline = time.monotonic() + 2
    while any(map(_alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(_alive, pids)), "the child or its grandchild survived the timeout"


class HidingExecutor(Executor):
    """Dask workers that cannot see the script: it is gone before each task is sent."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    def submit(self, fn, /, *args, **kwargs):
        Path(args[0].script).unlink(missing_ok=True)
        return self.executor.submit(fn, *args, **kwargs)


def test_dask_worker_that_cannot_see_the_script_gives_a_not_found_record(
    write_script, dask_executor
):
    script = write_script(PID_SCRIPT)
    sr = sensitivity(script, {"x": [1]}, executor=HidingExecutor(dask_executor),
                     progress=False)
    assert [r.status for r in sr.records] == ["crashed", "crashed"]
    for record in sr.records:
        assert f"script not found on host {record.host!r}: {script}" in record.error
        assert record.host  # the worker's host, as the worker saw it
