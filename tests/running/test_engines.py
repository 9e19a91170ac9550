"""Sweeps through the engines users bring: submitit executors and dask-jobqueue clusters,
in chunks, cold and warm, each record left in the study's inbox before it is returned."""

from __future__ import annotations

import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest

from py3r_script import Study, sensitivity, sweep
from py3r_script.errors import OptionError
from py3r_script.running.engines import (
    BATCH_CHUNK,
    JOBQUEUE_CHUNK,
    SubmititExecutor,
    default_chunk_size,
    executor_kind,
)

submitit = pytest.importorskip("submitit")

SCRIPT = """
import os
from py3r_script import Output, Param
x = Param(0, name="x")
Output(x * 10, name="y")
Output(os.getppid(), name="parent")
if x == 3:
    raise ValueError("three is bad")
"""

X6 = {"x": [0, 1, 2, 3, 4, 5]}


@pytest.fixture(autouse=True)
def signing_key(tmp_path, monkeypatch):
    """A signing key of the test's own; workers started from here inherit it."""
    monkeypatch.setenv("PY3R_SCRIPT_KEY_FILE", str(tmp_path / "key" / "signing.key"))


@pytest.fixture
def local_jobs(tmp_path):
    executor = submitit.LocalExecutor(folder=str(tmp_path / "jobs"))
    executor.update_parameters(timeout_min=5)
    return executor


def _check(sr, *, warm_parents: bool = False) -> None:
    assert [r.status for r in sr.records] == ["ok"] * 3 + ["error"] + ["ok"] * 2
    assert [sr[{"x": x}]["y"] for x in (0, 1, 2, 4, 5)] == [0, 10, 20, 40, 50]
    assert "three is bad" in sr.records[3].error
    parents = {r.outputs["parent"] for r in sr.records if r.ok}
    if warm_parents:  # forked from one zygote per chunk, not by the job's Python itself
        assert os.getpid() not in parents


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_submitit_local_executor_runs_the_sweep_in_chunks(write_script, tmp_path, local_jobs,
                                                          warm):
    store = tmp_path / "study.db"
    sr = sensitivity(write_script(SCRIPT), X6, executor=local_jobs, chunk_size=4, warm=warm,
                     store=store, progress=False)
    _check(sr, warm_parents=warm)
    jobs = [p for p in (tmp_path / "jobs").iterdir() if p.name.endswith("_submitted.pkl")]
    assert len(jobs) == 2  # six iterations in chunks of four
    with Study(store) as study:
        assert len(study.held_ids()) == 6
    assert not list((tmp_path / "study.db-inbox").iterdir())  # all ingested, then removed


def test_submitit_adapter_gives_futures_and_counts_jobs(local_jobs):
    pool = SubmititExecutor(local_jobs)
    futures = [pool.submit(pow, 2, n) for n in range(3)]
    assert [f.result(timeout=120) for f in futures] == [1, 2, 4]
    assert pool.jobs_submitted == 3
    failing = pool.submit(int, "not a number")
    with pytest.raises(Exception, match="not a number"):
        failing.result(timeout=120)


@pytest.fixture
def jobqueue_client():
    pytest.importorskip("dask_jobqueue")
    distributed = pytest.importorskip("distributed")
    from dask_jobqueue.local import LocalCluster  # real jobs, started as local processes

    environ = dict(os.environ)
    cluster = LocalCluster(cores=1, processes=1, memory="1GB", walltime="00:10:00")
    try:
        cluster.scale(2)
        with distributed.Client(cluster) as client:
            client.wait_for_workers(2, timeout=120)
            yield client
    finally:
        cluster.close()
        os.environ.clear()
        os.environ.update(environ)


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_dask_jobqueue_client_runs_the_sweep_in_chunks(write_script, tmp_path, jobqueue_client,
                                                       warm):
    assert executor_kind(jobqueue_client) == "jobqueue"
    store = tmp_path / "study.db"
    sr = sensitivity(write_script(SCRIPT), X6, executor=jobqueue_client, chunk_size=3,
                     warm=warm, store=store, progress=False)
    _check(sr, warm_parents=warm)
    con = sqlite3.connect(store)
    assert con.execute("SELECT COUNT(*) FROM iterations").fetchone() == (6,)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_default_chunk_sizes_follow_the_executor_kind(local_jobs):
    assert default_chunk_size(None) == default_chunk_size(ThreadPoolExecutor(1)) == 1
    assert default_chunk_size(local_jobs) == BATCH_CHUNK == 50
    assert JOBQUEUE_CHUNK == 10


def test_chunks_of_a_thread_pool_keep_plan_order(write_script):
    with ThreadPoolExecutor(2) as pool:
        sr = sweep(write_script(SCRIPT), X6, executor=pool, chunk_size=4, progress=False,
                   include_nominal=False)
    assert [r.params["x"] for r in sr.records] == [0, 1, 2, 3, 4, 5]


def test_chunk_size_needs_an_executor_and_a_positive_int(write_script):
    script = write_script(SCRIPT)
    with pytest.raises(OptionError, match=r"chunk_size= .* needs executor="):
        sensitivity(script, X6, chunk_size=10)
    with ThreadPoolExecutor(1) as pool, pytest.raises(OptionError, match="positive int"):
        sensitivity(script, X6, executor=pool, chunk_size=0)


def _count_submissions(executor, *, refuse: int | None = None) -> list[int]:
    """Count the executor's submission calls (one ``sbatch`` each on SLURM; the batch's
    size each); the ``refuse``-th call fails as a scheduler refusing the array would."""
    calls: list[int] = []
    submit = executor._internal_process_submissions

    def counted(submissions):
        calls.append(len(submissions))
        if len(calls) == refuse:
            raise RuntimeError("sbatch: error: QOSMaxSubmitJobPerUserLimit")
        return submit(submissions)

    executor._internal_process_submissions = counted
    return calls


def _values(sr) -> list[tuple]:
    return [(r.params["x"], r.status, r.outputs.get("y")) for r in sr.records]


@pytest.mark.parametrize(("warm", "chunk_size"), [(False, 2), (True, 3)], ids=["cold", "warm"])
def test_a_sweeps_chunks_go_to_submitit_as_one_job_array(write_script, tmp_path, local_jobs,
                                                         warm, chunk_size):
    script = write_script(SCRIPT)
    calls = _count_submissions(local_jobs)
    sr = sensitivity(script, X6, executor=local_jobs, chunk_size=chunk_size, warm=warm,
                     store=tmp_path / "study.db", progress=False)
    _check(sr, warm_parents=warm)
    assert calls == [6 // chunk_size]  # one submission (one sbatch) for every chunk
    assert _values(sr) == _values(sensitivity(script, X6, max_workers=2, progress=False))


def test_arrays_past_the_cap_go_in_several_and_a_refused_one_loses_nothing_else(
        write_script, tmp_path, local_jobs, monkeypatch):
    from py3r_script.running import engines

    monkeypatch.setattr(engines, "ARRAY_SIZE", 2)
    calls = _count_submissions(local_jobs, refuse=2)
    store = tmp_path / "study.db"
    sr = sensitivity(write_script(SCRIPT), X6, executor=local_jobs, chunk_size=1,
                     store=store, progress=False)
    assert calls == [2, 2, 2]
    assert [r.status for r in sr.records] == ["ok", "ok", "crashed", "crashed", "ok", "ok"]
    refused = sr.records[2].error
    assert "refused a job array of 2 job(s)" in refused and "QOSMaxSubmitJobPerUser" in refused
    assert "run the sweep again" in refused
    con = sqlite3.connect(store)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    done = con.execute("SELECT plan_index FROM iterations WHERE status = 'ok' "
                       "ORDER BY plan_index").fetchall()
    assert done == [(0,), (1,), (4,), (5,)]


KILLED_JOB = """
import os, time
from py3r_script import Output, Param
x = Param(0, name="x")
if x == 1:
    with open(os.path.join({folder!r}, "1.tmp"), "w") as handle:
        handle.write(f"{{os.getpid()}} {{os.getppid()}}")
    os.replace(os.path.join({folder!r}, "1.tmp"), os.path.join({folder!r}, "1.pids"))
    time.sleep(60)
Output(x, name="y")
"""


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


@pytest.mark.parametrize("warm", [True], ids=["warm"])  # cold: test_jobarray_tasks
def test_a_killed_job_takes_its_running_iteration_with_it(write_script, tmp_path, local_jobs,
                                                          procs, warm):
    import signal
    import threading
    import time

    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    script = write_script(KILLED_JOB.format(folder=str(pid_dir)))
    results = []
    driver = threading.Thread(target=lambda: results.append(sensitivity(
        script, {"x": [0, 1]}, executor=local_jobs, chunk_size=2, warm=warm,
        store=tmp_path / "study.db", progress=False)))
    driver.start()
    deadline = time.monotonic() + 120
    while not (pid_dir / "1.pids").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child, parent = (int(pid) for pid in (pid_dir / "1.pids").read_text().split())
    job = _parent(parent) if warm else parent  # warm: the zygote's parent runs the chunk
    try:
        os.kill(job, signal.SIGKILL)  # the job's process, as a node or the OOM killer would
        assert procs.wait_gone([child], timeout=15) == []
    finally:
        procs.kill_leftovers([child])
    driver.join(timeout=120)
    [sr] = results
    assert [r.status for r in sr.records] == ["ok", "crashed"]  # x=0 came through the inbox
