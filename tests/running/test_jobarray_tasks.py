"""Job-array tasks killed outright: their iterations' processes die with them, the claims
they leave are told stale by ``show``, and running the task again takes them over."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from py3r_script import Study, sweep
from py3r_script.cli import main
from py3r_script.store import inbox, pending

SLOW = """
import os, time
from py3r_script import Output, Param
x = Param(0, name="x")
if x == 1:
    marker = os.path.join({folder!r}, "1.pids")
    if not os.path.exists(marker + ".done"):
        with open(marker + ".tmp", "w") as handle:
            handle.write(str(os.getpid()))
        os.replace(marker + ".tmp", marker)
        time.sleep(60)
Output(x * 10, name="y")
"""


@pytest.fixture(autouse=True)
def signing_key(tmp_path, monkeypatch):
    monkeypatch.setenv("PY3R_SCRIPT_KEY_FILE", str(tmp_path / "key" / "signing.key"))


def _work(store, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "py3r_script", "work", str(store),
                             "--task", "0", "--of", "1", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


@pytest.mark.parametrize("mode", [(), ("--warm",)], ids=["cold", "warm"])
def test_a_task_killed_outright_takes_its_iteration_with_it_and_reruns_only_that(
        mode, write_script, tmp_path, procs, capsys):
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    store = tmp_path / "study.db"
    script = write_script(SLOW.format(folder=str(pid_dir)))
    sweep(script, {"x": [0, 1, 2]}, store=store, prepare=True, include_nominal=False)
    task = _work(store, *mode)
    child = procs.wait_for_pid_files(task, pid_dir, [1])
    try:
        os.kill(task.pid, signal.SIGKILL)  # the task alone: its child is in its own session
        task.wait()
        assert procs.wait_gone(child, timeout=15) == []
    finally:
        procs.kill_driver_group(task)
        procs.kill_leftovers(child)
    folder = inbox.inbox_dir(store)
    assert len(inbox.records_waiting(folder)) == 1  # x=0 finished before the kill
    assert main(["show", str(store)]) == 0
    err = capsys.readouterr().err
    assert "1 stale" in err and "work" in err and "--task 0" in err
    (pid_dir / "1.pids.done").write_text("")
    rerun = _work(store, *mode)
    _out, err_bytes = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err_bytes
    assert b"ran 2 iteration(s)" in err_bytes  # x=1 (killed) and x=2, not x=0 again
    assert main(["collect", str(store)]) == 0
    assert "0 pending, 0 running, 0 stale, 3 done" in capsys.readouterr().err
    with Study(store) as study:
        assert sorted(r.outputs["y"] for r in study.records()) == [0, 10, 20]


def _claim(folder, iteration_id: str, **fields) -> None:
    with open(os.path.join(folder, f"{iteration_id}.running"), "w") as handle:
        json.dump(fields, handle)


def test_show_tells_live_stale_and_other_hosts_claims_apart(write_script, tmp_path, capsys):
    store = tmp_path / "study.db"
    sweep(write_script(SLOW.format(folder=str(tmp_path))), {"x": [0, 2, 3, 4]}, store=store,
          prepare=True, include_nominal=False)
    ids = [item.iteration_id for item in pending.pending_items(store)]
    folder = inbox.inbox_dir(store)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    with open(f"/proc/{ended.pid}/stat") as handle:
        started = int(handle.read().rsplit(")", 1)[1].split()[19])
    ended.wait()
    host = socket.gethostname()
    me = open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19]
    _claim(folder, ids[0], host=host, pid=os.getpid(), started=int(me), task=0, of=2)
    _claim(folder, ids[1], host=host, pid=ended.pid, started=started, task=1, of=2)
    _claim(folder, ids[2], host="node-b.cluster", pid=os.getpid(), started=1, task=0, of=2)
    _claim(folder, ids[3], host=host, pid=os.getpid(), started=int(me) + 1)  # pid given again
    [progress] = pending.sweep_progress(store)
    assert (progress.pending, progress.running, progress.stale) == (0, 2, 2)
    assert progress.elsewhere == ("node-b.cluster",) and progress.stale_shares == (None, (1, 2))
    assert main(["show", str(store)]) == 0
    err = capsys.readouterr().err
    assert "0 pending, 2 running (on node-b.cluster, not checked from here), 2 stale" in err
    assert f"py3r-script work {store} --task 1 --of 2` again" in err
