"""Fixtures of the running tests: the launch modes, and watching the processes a test started."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

LAUNCH_MODES = {"cold": {}, "warm": {"warm": True}}


@pytest.fixture(scope="session")
def local_dask() -> Any:
    """``local_dask(n_workers)``: a context giving a Dask client of a real ``LocalCluster``."""
    return _local_dask


@contextlib.contextmanager
def _local_dask(n_workers: int) -> Iterator[Any]:
    """A Dask client of a real ``LocalCluster`` of ``n_workers`` one-thread processes (skips
    the test without ``distributed``); this process's environment is as it was after."""
    distributed = pytest.importorskip("distributed")
    environ = dict(os.environ)  # LocalCluster sets PYTHONHASHSEED, MALLOC_TRIM_THRESHOLD_...
    with warnings.catch_warnings():  # the scheduler's HTTP server may find 8787 taken
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
        os.environ.clear()
        os.environ.update(environ)  # do not leak them into other tests' children


@pytest.fixture(params=list(LAUNCH_MODES))
def launch_mode(request: pytest.FixtureRequest) -> dict:
    """Keyword arguments for ``sensitivity`` selecting how children are launched."""
    return dict(LAUNCH_MODES[request.param])


class ProcessWatch:
    """What a test needs to check that processes died, and to clean up when they did not."""

    @staticmethod
    def gone(pid: int) -> bool:
        """True when ``pid`` no longer runs: no such process, or a zombie (dead, not yet
        reaped).

        Killed grandchildren are reparented to init, which may reap them late (or, in some
        containers, never): a zombie is dead.
        """
        try:
            with open(f"/proc/{pid}/stat") as handle:
                stat = handle.read()
        except FileNotFoundError:
            return True
        except OSError:  # pragma: no cover - no /proc
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            return False
        return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")

    def wait_gone(self, pids: Iterable[int], timeout: float = 3.0) -> list[int]:
        """Poll until every pid is gone; return those still alive after ``timeout`` seconds."""
        pids = list(pids)
        deadline = time.monotonic() + timeout
        while True:
            alive = [pid for pid in pids if not self.gone(pid)]
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.05)

    def kill_leftovers(self, pids: Iterable[int]) -> None:
        """Clean up after a failed test: kill the processes (and groups) it started."""
        for pid in pids:
            if self.gone(pid):
                continue
            for kill in (os.killpg, os.kill):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    kill(pid, signal.SIGKILL)

    def wait_for_pid_files(self, driver: subprocess.Popen, pid_dir: Path, names: Iterable,
                           timeout: float = 60.0) -> list[int]:
        """The (child, grandchild) pids written by the iterations ``names`` once all have
        started (each writes ``<name>.pids``)."""
        names = list(names)
        deadline = time.monotonic() + timeout
        while True:
            files = [pid_dir / f"{name}.pids" for name in names]
            if all(f.exists() for f in files):
                return [int(pid) for f in files for pid in f.read_text().split()]
            if driver.poll() is not None:
                out, err = self.kill_driver_group(driver)
                pytest.fail(f"the driver ended before the iterations started:\n{out}\n{err}")
            if time.monotonic() > deadline:
                pytest.fail("the iterations did not start in time")
            time.sleep(0.02)

    @staticmethod
    def kill_driver_group(driver: subprocess.Popen) -> tuple[str, str]:
        """Clean up a driver and what it started in its group (pool workers, Dask processes);
        return its output. Nothing left holds its pipes, so reading them ends."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(driver.pid, signal.SIGKILL)
        try:
            return driver.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # a grandchild outside the group holds a pipe
            driver.stdout.close()
            driver.stderr.close()
            driver.wait()
            return "", ""


@pytest.fixture
def procs() -> ProcessWatch:
    """Checks that processes died (``gone``, ``wait_gone``), cleanup (``kill_leftovers``,
    ``kill_driver_group``), and a driver's iterations' pid files (``wait_for_pid_files``)."""
    return ProcessWatch()

