"""Benchmarks: per-iteration cost against the user's own loop, warm starts, early stops,
parallel speed-up, the Dask path's overhead and a 10,000-iteration sweep.

    python benchmarks/run.py            # the full run (a few minutes)
    python benchmarks/run.py --quick    # a smoke run (under a minute)
    python benchmarks/run.py --long 100000   # only the long sweep, of 100,000 iterations

Every figure is measured in this run and reported with its baseline from this run; the
targets are printed next to them, never asserted: timings are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
PIPELINES = HERE / "pipelines"
SAMPLES = HERE.parent / "sample_pipelines"


def median_time(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(label: str, value: str, target: str = "", met: bool | None = None) -> None:
    verdict = "" if met is None else ("  [met]" if met else "  [NOT met]")
    suffix = f"   target {target}{verdict}" if target else ""
    print(f"  {label:<52} {value:>14}{suffix}", flush=True)


def interleaved(actions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """The median time of each action, run in turns (a, b, c, a, b, c, ...) so that a slow
    spell of the machine weighs on all of them alike. An action that returns a float has
    timed itself (say, without its interpreter's start): that is its time."""
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            start = time.perf_counter()
            took = action()
            elapsed = time.perf_counter() - start
            times[name].append(took if isinstance(took, float) else elapsed)
    return {name: statistics.median(values) for name, values in times.items()}


def per_iteration(values: int, repeats: int) -> None:
    from py3r_script import sweep

    script = PIPELINES / "small_pandas.py"
    trivial = PIPELINES / "trivial.py"
    grid = {"window": list(range(5, 5 + values))}

    def own_loop(path: Path = script) -> None:  # what users do today: python pipeline.py
        for _ in range(values):
            subprocess.run([sys.executable, str(path)], check=True, stdout=subprocess.DEVNULL)

    steady: list[float] = []

    def warm() -> None:
        from py3r_script import warm_pool

        warm_pool().close()  # a first sweep: it starts its zygote (a later one reuses it)
        results = sweep(script, grid, progress=False, warm=True)
        # the marginal cost of one more iteration, driver included: the spacing of finishes
        finished = sorted(r.finished for r in results.records)
        steady.append((finished[-1] - finished[0]) / (len(finished) - 1))

    print(f"\nPer iteration: {values}-value sweep of a small pandas pipeline, median of "
          f"{repeats}, interleaved")
    median = interleaved({
        "own": own_loop,
        "cold": lambda: sweep(script, grid, progress=False),
        "warm": warm,
        "imports": lambda: subprocess.run([sys.executable, "-c", "import pandas, numpy"],
                                          check=True),
        "own trivial": lambda: own_loop(trivial),
        "cold trivial": lambda: sweep(trivial, {"i": list(range(values))}, progress=False),
    }, repeats)
    own, cold_s, warm_s = (median[k] / values for k in ("own", "cold", "warm"))
    warm_steady = statistics.median(steady)
    overhead = (median["cold trivial"] - median["own trivial"]) / values
    report("user's own loop (python pipeline.py per value)", f"{own * 1000:.0f} ms")
    report("  of which python -c 'import pandas, numpy'", f"{median['imports'] * 1000:.0f} ms")
    report("py3r-script cold (fresh interpreter)", f"{cold_s * 1000:.0f} ms")
    report("py3r-script warm, whole sweep incl. zygote start",
           f"{warm_s * 1000:.1f} ms")
    report("py3r-script warm, steady state (spacing of finishes)",
           f"{warm_steady * 1000:.1f} ms")
    report("cold / own loop", f"{cold_s / own:.3f}x", "<= 1.05x", cold_s / own <= 1.05)
    report("cold overhead per iteration, trivial script", f"{overhead * 1000:+.1f} ms")
    report("own loop / warm steady state (warm speed-up)", f"{own / warm_steady:.1f}x",
           ">= 20x", own / warm_steady >= 20)
    report("own loop / warm incl. start", f"{own / warm_s:.1f}x")


def early_termination(iterations: int) -> None:
    from py3r_script import sweep

    script = PIPELINES / "early_output.py"
    grid = {"seed": list(range(iterations))}
    full = median_time(lambda: sweep(script, grid, outputs=["early"], progress=False), 1)
    stopped = median_time(lambda: sweep(script, grid, outputs=["early"],
                                        stop_after_outputs=True, progress=False), 1)
    stopped_warm = median_time(lambda: sweep(script, grid, outputs=["early"], warm=True,
                                             stop_after_outputs=True, progress=False), 1)
    print(f"\nEarly termination: output at 10 % of a 1 s pipeline, {iterations} iterations")
    report("without stop_after_outputs", f"{full / iterations:.3f} s/it")
    report("with stop_after_outputs=True", f"{stopped / iterations:.3f} s/it")
    report("time saved", f"{(1 - stopped / full) * 100:.0f} %", "~90 %")
    report("time saved, warm (no interpreter start to pay)",
           f"{(1 - stopped_warm / full) * 100:.0f} %", "~90 %")


def parallel(iterations: int, work: int) -> None:
    from py3r_script import sweep

    script = SAMPLES / "cpu_bound.py"
    grid = {"seed": list(range(iterations))}
    nominal = {"work": work}
    one = median_time(lambda: sweep(script, grid, nominal=nominal, progress=False), 1)
    two = median_time(lambda: sweep(script, grid, nominal=nominal, max_workers=2,
                                    progress=False), 1)
    print(f"\nParallel: {iterations} CPU-bound iterations of ~{one / iterations:.2f} s, "
          f"{os.cpu_count()} cores")
    report("max_workers=1", f"{one:.2f} s")
    report("max_workers=2", f"{two:.2f} s")
    report("speed-up", f"{one / two:.2f}x", ">= 1.8x", one / two >= 1.8)


def dask_overhead(iterations: int) -> None:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        print("\nDask: not installed (pip install 'py3r-script[dask]'); skipped")
        return
    from py3r_script import sweep

    script = PIPELINES / "trivial.py"
    grid = {"i": list(range(iterations))}
    local = median_time(lambda: sweep(script, grid, progress=False), 1) / iterations
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        executor = client.get_executor()
        sweep(script, {"i": [0]}, executor=executor, progress=False)  # warm the worker up
        dask = median_time(lambda: sweep(script, grid, executor=executor, progress=False),
                           1) / iterations
    print(f"\nDask: {iterations} iterations of a trivial script, one worker, one thread")
    report("local path", f"{local * 1000:.1f} ms/it")
    report("dask.distributed executor", f"{dask * 1000:.1f} ms/it")
    report("overhead of the Dask path", f"{(dask - local) * 1000:+.1f} ms/it")


LONG_SWEEP = """
import json, os, resource, sys, time
from py3r_script import Study, load, sweep
n, store = int(sys.argv[1]), sys.argv[2]
# everything imported and a zygote started first, so the growth below is the sweep's own
sweep(sys.argv[3], {"i": [0, 1]}, warm=True, max_workers=2, progress=False,
      store=os.path.join(os.path.dirname(store), "warm-up.db"))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
sr = sweep(sys.argv[3], {"i": list(range(n))}, warm=True, max_workers=2, store=store,
           progress=False)
elapsed = time.perf_counter() - start
sweep_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
frame = sr.to_dataframe()
to_df = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
rows = len(frame)
finished = sorted(r.finished for r in sr.records)
chunk = max(n // 10, 1)
first = (finished[chunk - 1] - finished[0]) / (chunk - 1)
last = (finished[-1] - finished[-chunk]) / (chunk - 1)
ok = sum(r.ok for r in sr.records)
del frame, sr  # what follows reads the study as a new session would
t0 = time.perf_counter()
loaded = load(store)
load_s = time.perf_counter() - t0
t0 = time.perf_counter()
meta_rows = len(loaded.to_dataframe(meta=True))
meta_s = time.perf_counter() - t0
print(json.dumps({
    "ok": ok, "rows": rows, "elapsed": elapsed,
    "to_dataframe": to_df, "sweep_peak_mb": sweep_peak, "peak_mb": peak, "before_mb": before,
    "first_chunk": first, "last_chunk": last, "loaded": len(loaded.records),
    "load": load_s, "meta_rows": meta_rows, "to_dataframe_meta": meta_s,
    "load_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def long_sweep(iterations: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        driver = Path(folder) / "driver.py"
        driver.write_text(textwrap.dedent(LONG_SWEEP))
        store = Path(folder) / "study.db"
        out = subprocess.run(
            [sys.executable, str(driver), str(iterations), str(store),
             str(PIPELINES / "trivial.py")],
            check=True, capture_output=True, text=True,
        )
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        size = sum(p.stat().st_size for p in Path(folder).glob("study.db*"))
    print(f"\nLong sweep: {iterations:,} warm iterations of a trivial script, 2 workers, "
          "with a store")
    report("completed", f"{figures['ok']:,} ok")
    report("wall time", f"{figures['elapsed']:.1f} s")
    report("per iteration", f"{figures['elapsed'] / iterations * 1000:.1f} ms")
    growth = (figures["sweep_peak_mb"] - figures["before_mb"]) * 1024 * 1024 / iterations
    report("driver memory (RSS) before the sweep", f"{figures['before_mb']:.0f} MB")
    report("driver peak memory (RSS), the sweep", f"{figures['sweep_peak_mb']:.0f} MB")
    report("growth per iteration held", f"{growth:,.0f} bytes")
    report("driver peak memory (RSS), with to_dataframe()", f"{figures['peak_mb']:.0f} MB",
           "< 300 MB", figures["peak_mb"] < 300)
    report("store size", f"{size / 1e6:.1f} MB")
    report("to_dataframe()", f"{figures['to_dataframe']:.2f} s", "< 2 s",
           figures["to_dataframe"] < 2)
    loaded, rows = figures["loaded"], max(figures["meta_rows"], 1)
    report(f"load() of the study ({loaded:,} records)", f"{figures['load']:.2f} s")
    report("load() per record", f"{figures['load'] / max(loaded, 1) * 1e6:.0f} us")
    report("to_dataframe(meta=True) of the loaded study", f"{figures['to_dataframe_meta']:.2f} s")
    report("to_dataframe(meta=True) per row",
           f"{figures['to_dataframe_meta'] / rows * 1e6:.0f} us")
    report("driver peak memory (RSS), with load() too", f"{figures['load_peak_mb']:.0f} MB")
    report("time per iteration, first tenth", f"{figures['first_chunk'] * 1000:.1f} ms")
    report("time per iteration, last tenth", f"{figures['last_chunk'] * 1000:.1f} ms")
    growth = figures["last_chunk"] / figures["first_chunk"]
    report("time per iteration, last tenth / first tenth", f"{growth:.2f}x", "~1 (flat)",
           growth < 1.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--long", type=int, metavar="N",
                        help="only the long sweep, of N iterations (say 100000)")
    args = parser.parse_args()
    quick = args.quick
    print(f"py3r-script benchmarks on {os.cpu_count()} cores, Python {sys.version.split()[0]}"
          f"{' (quick)' if quick else ''}; load average {os.getloadavg()[0]:.2f}")
    if args.long:
        long_sweep(iterations=args.long)
        return
    per_iteration(values=5 if quick else 20, repeats=1 if quick else 3)
    early_termination(iterations=2 if quick else 5)
    parallel(iterations=4 if quick else 8, work=300_000 if quick else 2_000_000)
    dask_overhead(iterations=5 if quick else 40)
    long_sweep(iterations=500 if quick else 10_000)


if __name__ == "__main__":
    main()
