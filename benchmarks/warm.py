"""Warm-start figures: the marginal iteration against the fork floor, a notebook's second
warm sweep against the user's own loop, warm scaling on 2 workers (issue 17), and the warm
executor path (a ProcessPoolExecutor's and a Dask worker's own pool) against the local one.

    python benchmarks/warm.py            # medians of 3, a minute or two
    python benchmarks/warm.py --quick    # a smoke run
    python benchmarks/warm.py --executor # only the executor rows

Every figure is measured in this run against a baseline from this run, in turns (a, b, c,
a, b, c...) so that a slow spell of the machine weighs on each alike, and printed with the
load average; the targets are printed, never asserted. Each ``*_figures`` function returns
its numbers (seconds), for ``speed.py`` or anyone else to import.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
PIPELINE = HERE / "pipelines" / "small_pandas.py"

FLOOR_CODE = """
import os, pickle, statistics, sys, time
import numpy as np
import pandas as pd

def once(window):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # what an iteration of the pipeline computes, in a forked child
        os.close(read)
        frame = pd.DataFrame({"x": np.random.default_rng(0).normal(size=2000)})
        spread = float(frame["x"].rolling(window, min_periods=1).mean().std())
        os.write(write, pickle.dumps(spread))
        os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    return pickle.loads(data)

times = []
for window in range(5, 5 + int(sys.argv[1])):
    start = time.perf_counter()
    once(window)
    times.append(time.perf_counter() - start)
print(statistics.median(times))
"""


def load() -> str:
    """The load averages (1, 5, 15 min) and the core count, as printed with each figure."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def interleaved(actions: dict[str, Callable[[], float | None]], repeats: int
                ) -> dict[str, float]:
    """The median of each action, run in turns; an action may return its own measure
    (seconds), else its wall time counts."""
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            start = time.perf_counter()
            measured = action()
            times[name].append(time.perf_counter() - start if measured is None else measured)
    return {name: statistics.median(values) for name, values in times.items()}


def fork_floor(iterations: int = 20) -> float:
    """Seconds per iteration of the floor: ``os.fork()`` of a process holding pandas, the
    pipeline's compute, the result piped back (measured in a fresh process)."""
    done = subprocess.run([sys.executable, "-c", FLOOR_CODE, str(iterations)], check=True,
                          capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1])


def warm_sweep(values: int, max_workers: int = 1, executor: object = None) -> float:
    """Seconds for one warm sweep of ``values`` windows (the pool's zygote, if warm), here
    or on ``executor``'s workers (each with its own pool)."""
    from py3r_script import sweep

    where = {"executor": executor} if executor is not None else {"max_workers": max_workers}
    start = time.perf_counter()
    results = sweep(PIPELINE, {"window": list(range(5, 5 + values))}, warm=True,
                    progress=False, **where)
    elapsed = time.perf_counter() - start
    bad = [r.error for r in results.records if not r.ok]
    if bad:
        raise RuntimeError(f"the warm sweep failed: {bad[0]}")
    return elapsed


def own_loop(values: int) -> float:
    """Seconds for the user's own loop: ``python pipeline.py`` once per value."""
    start = time.perf_counter()
    for _ in range(values):
        subprocess.run([sys.executable, str(PIPELINE)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _first_sweep() -> None:
    """A notebook's first warm sweep: starts the pool's zygote and learns the preloads."""
    from py3r_script import warm_pool

    warm_pool().close()
    warm_sweep(2)


def marginal_figures(repeats: int = 3, small: int = 20, large: int = 40) -> dict[str, float]:
    """The warm marginal iteration ((large-value sweep - small-value sweep) per extra
    iteration) and the fork floor per iteration, in turns."""
    _first_sweep()
    median = interleaved({
        "floor": lambda: fork_floor(small),
        "small": lambda: warm_sweep(small),
        "large": lambda: warm_sweep(large),
    }, repeats)
    return {"floor": median["floor"],
            "marginal": (median["large"] - median["small"]) / (large - small)}


def second_sweep_figures(repeats: int = 3, values: int = 20) -> dict[str, float]:
    """Per iteration: a notebook's second warm sweep (the zygote kept from the first one)
    and the user's own loop, in turns."""
    _first_sweep()
    median = interleaved({"own": lambda: own_loop(values),
                          "second": lambda: warm_sweep(values)}, repeats)
    return {"own": median["own"] / values, "second": median["second"] / values}


def _first_warm_sweep(values: int, max_workers: int) -> float:
    from py3r_script import warm_pool

    warm_pool().close()
    return warm_sweep(values, max_workers)


def two_worker_figures(repeats: int = 3, values: int = 40) -> dict[str, float]:
    """Seconds for a warm sweep on 1 worker and on 2, in turns: with the zygote kept from
    an earlier sweep (``one``, ``two``), and a first sweep that starts it (``*_start``)."""
    _first_sweep()
    return interleaved({"one": lambda: warm_sweep(values, 1),
                        "two": lambda: warm_sweep(values, 2),
                        "one_start": lambda: _first_warm_sweep(values, 1),
                        "two_start": lambda: _first_warm_sweep(values, 2)}, repeats)


def _close_warm_pool() -> None:
    """Close this process's warm pool (submitted to a worker: the worker's)."""
    from py3r_script import warm_pool

    warm_pool().close()


def _executor_first(values: int, executor: object, close: Callable[[], object]) -> float:
    close()  # the worker's pool emptied: this sweep's chunks start (and learn) a zygote
    return warm_sweep(values, executor=executor)


@contextlib.contextmanager
def _executors() -> Iterator[dict[str, tuple[object, Callable[[], object]]]]:
    """One-worker executors, each with how to close its worker's warm pool: a
    ProcessPoolExecutor, and a Dask LocalCluster when distributed is installed."""
    from concurrent.futures import ProcessPoolExecutor

    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(ProcessPoolExecutor(1))
        found: dict[str, tuple[object, Callable[[], object]]] = {
            "process pool": (pool, lambda: pool.submit(_close_warm_pool).result())}
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            print("  (Dask not installed: pip install 'py3r-script[dask]'; its rows skipped)")
        else:
            cluster = stack.enter_context(LocalCluster(
                n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                silence_logs=logging.ERROR))
            client = stack.enter_context(Client(cluster))
            found["dask"] = (client.get_executor(), lambda: client.run(_close_warm_pool))
        yield found


def executor_figures(repeats: int = 3, values: int = 20) -> dict[str, float]:
    """Seconds per iteration of warm sweeps, in turns: here (``local``) and on each
    one-worker executor, a first sweep (``* first``: the pool empty, its zygote started and
    taught) and a later one (``* second``: the zygote kept, in the worker's pool)."""
    _first_sweep()
    with _executors() as executors:
        actions: dict[str, Callable[[], float | None]] = {
            "local first": lambda: _first_warm_sweep(values, 1),
            "local second": lambda: warm_sweep(values)}
        for name, (executor, close) in executors.items():
            warm_sweep(2, executor=executor)  # the worker started, its imports done
            actions[f"{name} first"] = functools.partial(_executor_first, values, executor,
                                                         close)
            actions[f"{name} second"] = functools.partial(warm_sweep, values,
                                                          executor=executor)
        median = interleaved(actions, repeats)
    return {name: seconds / values for name, seconds in median.items()}


def report(label: str, value: str, target: str = "", met: bool | None = None) -> None:
    verdict = "" if met is None else ("  [met]" if met else "  [NOT met]")
    suffix = f"   target {target}{verdict}" if target else ""
    print(f"  {label:<56} {value:>12}{suffix}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat, fewer values")
    parser.add_argument("--executor", action="store_true",
                        help="only the executor rows (warm on a worker vs here)")
    args = parser.parse_args()
    repeats, small, large = (1, 5, 10) if args.quick else (3, 20, 40)
    if not args.executor:
        local_sections(repeats, small, large)
    executor_section(repeats, small)
    print(f"\n({load()} at the end)")


def local_sections(repeats: int, small: int, large: int) -> None:
    """The figures of warm sweeps here: marginal iteration, second sweep, 2 workers."""
    print(f"\nWarm marginal iteration, small pandas pipeline ({load()})")
    m = marginal_figures(repeats, small, large)
    report("fork floor (fork + compute + pipe back)", f"{m['floor'] * 1000:.1f} ms")
    report(f"warm marginal ({large} - {small} values, per extra)", f"{m['marginal'] * 1000:.1f} ms")
    ratio = m["marginal"] / m["floor"]
    report("marginal / floor", f"{ratio:.2f}x", "<= 1.2x", ratio <= 1.2)

    print(f"\nA notebook's second warm sweep of {small} values ({load()})")
    s = second_sweep_figures(repeats, small)
    report("user's own loop (python pipeline.py per value)", f"{s['own'] * 1000:.0f} ms")
    report("second warm sweep, per iteration", f"{s['second'] * 1000:.1f} ms")
    speedup = s["own"] / s["second"]
    report("own loop / second warm sweep", f"{speedup:.1f}x", ">= 25x", speedup >= 25)

    print(f"\nWarm on 2 workers, {large} values ({load()})")
    w = two_worker_figures(repeats, large)
    report("1 worker", f"{w['one'] / large * 1000:.1f} ms/it")
    report("2 workers", f"{w['two'] / large * 1000:.1f} ms/it")
    report("speed-up", f"{w['one'] / w['two']:.2f}x", ">= 1.6x", w["one"] / w["two"] >= 1.6)
    report("first sweep (starts the zygote): 1 worker",
           f"{w['one_start'] / large * 1000:.1f} ms/it")
    report("first sweep (starts the zygote): 2 workers",
           f"{w['two_start'] / large * 1000:.1f} ms/it")
    report("first sweep speed-up", f"{w['one_start'] / w['two_start']:.2f}x")


def executor_section(repeats: int, values: int) -> None:
    """Warm on a one-worker executor (its worker's own pool) vs warm here, per iteration."""
    print(f"\nWarm on an executor's worker vs here, {values} values, 1 worker ({load()})")
    e = executor_figures(repeats, values)
    for sweep_kind in ("first", "second"):
        local = e[f"local {sweep_kind}"]
        report(f"here, {sweep_kind} sweep", f"{local * 1000:.1f} ms/it")
        for name in ("process pool", "dask"):
            if f"{name} {sweep_kind}" in e:
                mine = e[f"{name} {sweep_kind}"]
                report(f"{name}, {sweep_kind} sweep", f"{mine * 1000:.1f} ms/it")
                report(f"{name}, {sweep_kind} sweep / here", f"{mine / local:.2f}x")


if __name__ == "__main__":
    main()
