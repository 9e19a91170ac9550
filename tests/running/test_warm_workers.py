"""Warm chunks on long-lived executor workers: a worker keeps the zygote of its last chunk
in its own warm pool, so its next chunk of the script forks at once."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor

import pytest

from py3r_script import sensitivity, warm_pool

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork: Linux")

PROBE = """
import os, sys
from py3r_script import Output, Param
i = Param(0, name="i")
Output(os.getppid(), name="parent")
Output("colorsys" in sys.modules, name="preloaded")

def hue(r):
    import colorsys  # imported lazily: learned by the worker's zygote
    return colorsys.rgb_to_hsv(r, 0.5, 0.25)[0]

Output(hue(i / 10), name="hue")
"""


def _parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


@contextlib.contextmanager
def _process_pool():
    with ProcessPoolExecutor(1) as pool:
        yield pool, pool.submit(os.getpid).result()


@contextlib.contextmanager
def _dask_worker(local_dask):
    with local_dask(n_workers=1) as client:
        [worker] = client.run(os.getpid).values()
        yield client, worker


WORKERS = ["process pool", "dask"]


@pytest.mark.parametrize("kind", WORKERS)
def test_a_workers_next_sweep_forks_from_the_zygote_its_last_chunk_left(write_script, procs,
                                                                        kind, local_dask):
    script = write_script(PROBE)
    workers = _process_pool() if kind == "process pool" else _dask_worker(local_dask)
    with workers as (executor, worker):
        sweeps = [sensitivity(script, {"i": [1, 2, 3]}, executor=executor, warm=True,
                              progress=False) for _ in range(2)]
        for results in sweeps:
            assert [r.status for r in results.records] == ["ok"] * 4, [
                r.error for r in results.records]
        parents = {r.outputs["parent"] for s in sweeps for r in s.records}
        assert len(parents) == 1, parents  # one zygote served every chunk of both sweeps
        [zygote] = parents
        assert _parent_of(zygote) == worker  # the worker's own pool, not the driver's
        assert zygote not in [z.pid for z in warm_pool().zygotes()]
        assert [r.outputs["preloaded"] for r in sweeps[1].records] == [True] * 4
    assert procs.wait_gone([zygote], timeout=10) == []  # closed with its worker
    cold = sensitivity(script, {"i": [1, 2, 3]}, progress=False)
    assert [r.outputs["hue"] for r in sweeps[1].records] == [r.outputs["hue"] for r in
                                                             cold.records]


def test_a_workers_dead_zygote_is_replaced(write_script, procs):
    script = write_script(PROBE)
    with _process_pool() as (executor, worker):
        zygotes = []
        for _ in range(2):
            results = sensitivity(script, {"i": [1, 2]}, executor=executor, warm=True,
                                  progress=False)
            assert [r.status for r in results.records] == ["ok"] * 3
            [zygote] = {r.outputs["parent"] for r in results.records}
            zygotes.append(zygote)
            os.kill(zygote, signal.SIGKILL)  # between the sweeps, on the worker
            assert procs.wait_gone([zygote]) == []
        assert zygotes[0] != zygotes[1] and _parent_of(zygotes[1]) == worker
