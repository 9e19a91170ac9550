"""Benchmarks of the cluster paths: chunks through submitit, and the executor path's cost.

    python benchmarks/cluster.py            # the full run (several minutes)
    python benchmarks/cluster.py --quick    # a smoke run

Measured in this run, each against its baseline from this run, on submitit's
``LocalExecutor`` (real jobs as local processes, so job start-up is a Python process, not a
SLURM queue: a real cluster's per-job cost is larger, seconds to minutes):

* a light script's sweep in chunks of 100 vs chunks of 1: jobs submitted, submission calls
  (one ``sbatch`` each on SLURM: a job array per sweep, or one per job) and wall time;
* the per-iteration time of the executor path (LocalExecutor, 2 jobs) vs ``max_workers=2``
  on this machine, cold and warm, measured in turns and reported as medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any, Callable

LIGHT = """
from py3r_script import Output, Param
x = Param(0, name="x")
Output(x * 2, name="y")
"""


def _sweep(script: Path, n: int, **options: Any) -> Any:
    from py3r_script import sweep

    return sweep(script, {"x": list(range(n))}, include_nominal=False, progress=False,
                 **options)


def _local_jobs(folder: Path) -> Any:
    import submitit

    executor = submitit.LocalExecutor(folder=str(folder))
    executor.update_parameters(timeout_min=60)
    return executor


class _OneByOne(Executor):
    """The submitit adapter seen as a plain executor: one submission per job, as before
    job arrays (the baseline of ``executor.batch()``)."""

    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self.adapter.submit(fn, *args, **kwargs)  # type: ignore[no-any-return]


def _counted(executor: Any) -> list[int]:
    """Count the executor's submission calls (one ``sbatch`` each on SLURM)."""
    calls: list[int] = []
    submit = executor._internal_process_submissions

    def counted(submissions: Any) -> Any:
        calls.append(len(submissions))
        return submit(submissions)

    executor._internal_process_submissions = counted
    return calls


def chunks(script: Path, work: Path, n_big: int, n_small: int) -> None:
    """Chunks of 100 for ``n_big`` iterations vs chunks of 1 for ``n_small``; job arrays
    (``executor.batch()``) vs one submission per job."""
    from py3r_script.running.engines import SubmititExecutor

    print("submitit LocalExecutor, a light script (a trivial Param/Output script)")
    for size, n in ((100, n_big), (1, n_small)):
        for array in (True, False):
            jobs = _local_jobs(work / f"jobs-{size}-{array}")
            calls = _counted(jobs)
            adapter = SubmititExecutor(jobs)
            start = time.perf_counter()
            sr = _sweep(script, n, executor=adapter if array else _OneByOne(adapter),
                        chunk_size=size)
            wall = time.perf_counter() - start
            assert all(r.ok for r in sr.records), [r.error for r in sr.records if not r.ok][:1]
            how = "job arrays" if array else "one by one"
            print(f"  chunks of {size:>3}, {how}: {n:>5} iterations, "
                  f"{adapter.jobs_submitted:>5} jobs in {len(calls):>5} submission(s), "
                  f"{wall:7.1f} s wall, {1000 * wall / n:7.1f} ms per iteration", flush=True)


def overhead(script: Path, work: Path, n: int, repeats: int) -> None:
    """Per-iteration time, executor path vs max_workers=2, cold and warm, in turns."""
    half = (n + 1) // 2
    actions: dict[str, Callable[[], object]] = {
        "max_workers=2, cold": lambda: _sweep(script, n, max_workers=2),
        "submitit, 2 jobs, cold": lambda: _sweep(script, n, executor=_local_jobs(work / "o"),
                                                 chunk_size=half),
        "max_workers=2, warm": lambda: _sweep(script, n, max_workers=2, warm=True),
        "submitit, 2 jobs, warm": lambda: _sweep(script, n, executor=_local_jobs(work / "o"),
                                                 chunk_size=half, warm=True),
    }
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            times[name].append(time.perf_counter() - start)
    print(f"per-iteration time, {n} iterations, median of {repeats} (min-max):")
    for name, values in times.items():
        per = [1000 * v / n for v in values]
        print(f"  {name:<26} {statistics.median(per):7.1f} ms   ({min(per):.1f}-{max(per):.1f})")
    for mode in ("cold", "warm"):
        local = statistics.median(times[f"max_workers=2, {mode}"])
        remote = statistics.median(times[f"submitit, 2 jobs, {mode}"])
        print(f"  {mode}: executor path adds {1000 * (remote - local) / n:+.1f} ms per "
              f"iteration ({remote / local:.2f}x the max_workers=2 time)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    args = parser.parse_args()
    os.environ.setdefault("PY3R_SCRIPT_KEY_FILE", str(Path(tempfile.mkdtemp()) / "key"))
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        script = work / "light.py"
        script.write_text(LIGHT)
        os.chdir(work)
        if args.quick:
            chunks(script, work, 200, 10)
            overhead(script, work, 20, 1)
        else:
            chunks(script, work, 2000, 100)
            overhead(script, work, 100, 3)


if __name__ == "__main__":
    sys.exit(main())
