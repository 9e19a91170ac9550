"""The README's speed table: every way to sweep a small pandas pipeline, in one run.

    pip install -e ".[bench]"             # psweep, for its baseline rows (optional)
    python benchmarks/speed.py            # the table (about three minutes on 2 cores)
    python benchmarks/speed.py --quick    # a smoke run (well under a minute)

Every row is measured in this run, in turns (row a, b, c, ..., then a, b, c again), and
its median of 3 printed per iteration, with its speed-up over the user's own loop
(``python pipeline.py --window W`` per value) and, for 2 workers, over 1 worker. Rows:
the user's own loop; ours cold and cold on 2 workers; ours warm (the zygote's start
included) and warm on 2 workers; ours warm in a later sweep of the same process (the
zygote kept from the one before), on 1 and 2 workers; psweep calling the script per
value (serial and ``poolsize=2``); a plain ``concurrent.futures.ProcessPoolExecutor``
running the script per value; pypet, sequential in one process (no isolation); and the
floor: ``os.fork()`` of a process that already holds pandas, the compute, the result
piped back. A tool that is missing prints ``not installed``. Then the cold path's 2-worker
speed-up on a CPU-bound pipeline. Targets are printed next to the figures, never asserted:
timings are noisy, and the machine's load average is printed before and after.

``benchmarks/warm.py``, when present, adds its rows to the table: a function
``speed_rows(script, values)`` returning ``{label: action}``, each action one measurement
of a sweep of ``values`` (returning ``None`` to be timed whole, or the seconds per
iteration it measured itself).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import PIPELINES, SAMPLES, interleaved, report  # noqa: E402

SCRIPT = PIPELINES / "small_pandas.py"
MISSING = "not installed (pip install py3r-script[bench])"

Action = Callable[[], Any]

FORK_FLOOR = """
import json, os, pickle, sys, time
import numpy as np
import pandas as pd

def pipeline(window):  # the work of benchmarks/pipelines/small_pandas.py
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=2000)})
    return float(frame["x"].rolling(window, min_periods=1).mean().std())

values = json.loads(sys.argv[1])
pipeline(values[0])  # pandas' lazily imported machinery: held, as a floor would
start = time.perf_counter()
for value in values:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        os.write(write, pickle.dumps(pipeline(value)))
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        pickle.loads(pipe.read())
    os.waitpid(pid, 0)
print(json.dumps((time.perf_counter() - start) / len(values)))
"""


def run_script(value: int) -> None:
    """What a user's loop (or a pool, or psweep) does for one value: run the script."""
    subprocess.run([sys.executable, str(SCRIPT), "--window", str(value)], check=True,
                   stdout=subprocess.DEVNULL)


def ours(values: list[int]) -> dict[str, Action]:
    from py3r_script import sweep, warm_pool

    grid = {"window": values}

    def first_warm(workers: int) -> None:
        warm_pool().close()  # no zygote kept from an earlier row: this one starts its own
        sweep(SCRIPT, grid, progress=False, warm=True, max_workers=workers)

    return {
        "ours, cold": lambda: sweep(SCRIPT, grid, progress=False),
        "ours, cold, 2 workers": lambda: sweep(SCRIPT, grid, progress=False, max_workers=2),
        "ours, warm (zygote's start included)": lambda: first_warm(1),
        "ours, warm, 2 workers": lambda: first_warm(2),
        "ours, warm, a later sweep (zygote kept)": lambda: sweep(
            SCRIPT, grid, progress=False, warm=True),
        "ours, warm, a later sweep, 2 workers": lambda: sweep(
            SCRIPT, grid, progress=False, warm=True, max_workers=2),
    }


def baselines(values: list[int], folder: Path) -> dict[str, Action | str]:
    """The other ways to sweep the script: an action per row, or why a row is missing."""
    rows: dict[str, Action | str] = {
        "ProcessPoolExecutor(2) running the script per value": lambda: process_pool(values),
    }
    if importlib.util.find_spec("psweep") is None:
        rows["psweep calling the script per value"] = MISSING
        rows["psweep calling the script, poolsize=2"] = MISSING
    else:
        rows["psweep calling the script per value"] = lambda: psweep(values, folder, None)
        rows["psweep calling the script, poolsize=2"] = lambda: psweep(values, folder, 2)
    rows["pypet, sequential, in one process (no isolation)"] = pypet_row(values, folder)
    return rows


def process_pool(values: list[int]) -> None:
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        list(pool.map(run_script, values))


def psweep_task(pset: dict[str, Any]) -> dict[str, Any]:
    run_script(pset["window"])
    return {}


def psweep(values: list[int], folder: Path, poolsize: int | None) -> None:
    import psweep as ps

    params = ps.plist("window", values)
    ps.run(psweep_task, params, poolsize=poolsize, save=False,
           calc_dir=str(folder / "psweep"))


def pypet_row(values: list[int], folder: Path) -> Action | str:
    """pypet's sequential environment running the pipeline's work in this process, or why
    it cannot (pypet 0.6 does not import with NumPy 2)."""
    if importlib.util.find_spec("pypet") is None:
        return "not installed (pip install pypet: not in the bench extra, 0.6.1 needs NumPy < 2)"
    try:
        import pypet
    except Exception as exc:  # e.g. AttributeError: np.string_ under NumPy 2
        return f"does not import here ({type(exc).__name__}: {str(exc)[:50]})"

    def job(traj: Any) -> None:
        import numpy as np
        import pandas as pd

        frame = pd.DataFrame({"x": np.random.default_rng(0).normal(size=2000)})
        spread = float(frame["x"].rolling(traj.window, min_periods=1).mean().std())
        traj.f_add_result("spread", spread)

    def run() -> None:
        env = pypet.Environment(trajectory="speed", filename=str(folder / "pypet.hdf5"),
                                overwrite_file=True, log_config=None, multiproc=False)
        traj = env.trajectory
        traj.f_add_parameter("window", values[0])
        traj.f_explore({"window": values})
        env.run(job)
        env.disable_logging()

    return run


def fork_floor(values: list[int]) -> float:
    out = subprocess.run([sys.executable, "-c", FORK_FLOOR, json.dumps(values)], check=True,
                         capture_output=True, text=True)
    return float(json.loads(out.stdout.strip().splitlines()[-1])) * len(values)


def warm_rows(values: list[int]) -> dict[str, Action]:
    """The rows ``benchmarks/warm.py`` adds, when it is there (see this module's docstring)."""
    if not (HERE / "warm.py").exists():
        return {}
    import warm

    rows = getattr(warm, "speed_rows", None)
    return dict(rows(SCRIPT, values)) if rows is not None else {}


def speed_table(values: list[int], repeats: int) -> None:
    own = "the user's own loop, python pipeline.py --window W"
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        actions: dict[str, Action] = {own: lambda: [run_script(v) for v in values]}
        actions.update(ours(values))
        actions.update(warm_rows(values))
        missing: dict[str, str] = {}
        for label, row in baselines(values, folder).items():
            if isinstance(row, str):
                missing[label] = row
            else:
                actions[label] = row
        floor = "floor: os.fork() of a process holding pandas, compute, pipe back"
        actions[floor] = lambda: fork_floor(values)
        print(f"\nSpeed table: a {len(values)}-value sweep of a small pandas pipeline "
              f"(benchmarks/pipelines/small_pandas.py), median of {repeats}, interleaved")
        median = {label: seconds / len(values)
                  for label, seconds in interleaved(actions, repeats).items()}
    base = median[own]
    pairs = {"ours, cold, 2 workers": "ours, cold", "ours, warm, 2 workers":
             "ours, warm (zygote's start included)",
             "ours, warm, a later sweep, 2 workers": "ours, warm, a later sweep (zygote kept)",
             "psweep calling the script, poolsize=2": "psweep calling the script per value"}
    print(f"  {'way to run the iterations':<66} {'per iteration':>14}  speed-up over own loop")
    for label, seconds in median.items():
        ratio = f"{base / seconds:.2f}x"
        if label in pairs and pairs[label] in median:
            ratio += f"  ({median[pairs[label]] / seconds:.2f}x over 1 worker)"
        print(f"  {label:<66} {seconds * 1000:>11.1f} ms  {ratio}", flush=True)
    for label, why in missing.items():
        print(f"  {label:<66} {why}")
    cold = median["ours, cold"] / base
    report("ours cold / the user's own loop", f"{cold:.3f}x", "<= 1.05x", cold <= 1.05)


def cpu_bound_scaling(iterations: int, work: int, repeats: int) -> None:
    from py3r_script import sweep

    script = SAMPLES / "cpu_bound.py"
    grid = {"seed": list(range(iterations))}
    nominal = {"work": work}
    median = interleaved({
        "one": lambda: sweep(script, grid, nominal=nominal, progress=False),
        "two": lambda: sweep(script, grid, nominal=nominal, progress=False, max_workers=2),
    }, repeats)
    print(f"\nCold on 2 workers: {iterations} CPU-bound iterations of "
          f"~{median['one'] / iterations:.2f} s (sample_pipelines/cpu_bound.py), median of "
          f"{repeats}, interleaved")
    report("max_workers=1", f"{median['one']:.2f} s")
    report("max_workers=2", f"{median['two']:.2f} s")
    speedup = median["one"] / median["two"]
    report("speed-up", f"{speedup:.2f}x", ">= 1.8x", speedup >= 1.8)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args()
    quick = args.quick
    print(f"py3r-script speed table on {os.cpu_count()} cores, Python "
          f"{sys.version.split()[0]}{' (quick)' if quick else ''}; load average {load()}")
    speed_table(list(range(5, 10 if quick else 25)), repeats=1 if quick else 3)
    cpu_bound_scaling(iterations=4 if quick else 8, work=300_000 if quick else 2_000_000,
                      repeats=1 if quick else 3)
    print(f"\nload average at the end: {load()}")


if __name__ == "__main__":
    main()
