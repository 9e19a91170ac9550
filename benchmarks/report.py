"""Benchmark: the HTML report of a 10,000-iteration study, its time and its size.

    python benchmarks/report.py                      # 10,000 iterations, a sample and a grid
    python benchmarks/report.py --quick              # 1,000 (a smoke run)
    python benchmarks/report.py --against main --rounds 3   # and another commit's figures

Two studies are written, each one sweep: a Latin-hypercube sample of three parameters
(scatter plots of every run, rank correlations) and a 100 x 100 grid (one-at-a-time table,
tornado and response plots; the heatmap is left out at that size). Iterations go into the
study through ``Study.add``, what a sweep does after each child finishes, so the figures
measure the report and not 10,000 child processes; 2 % of them fail with a message and a
stderr tail. Printed: the time ``Study.report`` takes, in a fresh interpreter (so
importing pandas and matplotlib counts), and the file's size, next to their targets
(under 5 s and under 20 MB), with the time on the CPU (the machine may be busy) and the
load average; then where the time went (importing, reading the records, the results
table, the analysis' tables, its plots, the rest). ``--against REV`` measures that
commit too, from a temporary git worktree, in turns with this checkout (this, that, this,
that...), each reading the same study written by its own code (so a commit with an older
schema is measured too), and prints the medians and their ratio. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from py3r_script import Study
from py3r_script.designs.design import Design
from py3r_script.paramset import ParamSet
from py3r_script.records import FrozenOutputs, IterationRecord
from py3r_script.store.studyrows import SweepInfo

TIMED = """
import sys, time
start, cpu = time.perf_counter(), time.process_time()
from py3r_script import Study
with Study(sys.argv[1], create=False) as study:
    study.report(sys.argv[2])
print(time.perf_counter() - start, time.process_time() - cpu)
"""
PHASES = """
import sys, time
from collections import defaultdict
spent = defaultdict(float)
def timed(phase, call):
    def wrapper(*args, **kwargs):
        cpu = time.process_time()
        try:
            return call(*args, **kwargs)
        finally:
            spent[phase] += time.process_time() - cpu
    return wrapper
cpu = time.process_time()
import pandas, matplotlib.figure, matplotlib.backends.backend_agg
from py3r_script import Study
from py3r_script.report import analysis, studies, sweeps
spent["import"] = time.process_time() - cpu
studies.sweep_results = timed("read", studies.sweep_results)
sweeps.results_part = timed("results table", sweeps.results_part)
analysis.figure = timed("plots", analysis.figure)
sweeps.analysis_part = timed("tables", sweeps.analysis_part)
with Study(sys.argv[1], create=False) as study:
    study.report(sys.argv[2])
spent["tables"] -= spent["plots"]  # the analysis, less its plots
spent["rest"] = time.process_time() - cpu - sum(spent.values())
print(", ".join(f"{k}={v:.3f}" for k, v in spent.items()))
"""
ROOT = Path(__file__).resolve().parent.parent
STDERR_TAIL = "".join(f"  frame {i}: something went wrong deep down\n" for i in range(40))


def sample_points(n: int) -> list[dict[str, Any]]:
    draw = random.Random(0)
    return [{"a": draw.uniform(0, 4), "b": draw.randint(1, 50),
             "c": draw.choice(["low", "mid", "high"])} for _ in range(n)]


def grid_points(n: int) -> list[dict[str, Any]]:
    side = round(n ** 0.5)
    return [{"a": 1.0 + i / side, "b": j, "c": "mid"} for i in range(side) for j in range(side)]


def write_study(db: Path, mode: str, points: list[dict[str, Any]]) -> None:
    """One sweep of ``points`` into the study ``db``, every iteration added as a sweep adds
    it (its own transaction)."""
    sweep_id = str(uuid.uuid4())
    design = Design(mode, seed=0 if mode == "lhs" else None)
    nominal = ParamSet({"a": 1.5, "b": 25, "c": "mid"})  # on the grid, too
    with Study(db) as study:
        study.begin_sweep(SweepInfo(
            sweep_id, "pipeline.py", "0" * 64, mode, ("a", "b", "c"), nominal, None,
            ("y", "z", "note"), len(points), os.getcwd(), label=f"{mode} of {len(points)}",
            design=design))
        clock = time.time()
        for index, point in enumerate(points):
            a, b = float(point["a"]), int(point["b"])
            failed = index % 50 == 49
            outputs = {} if failed else {"y": 3 * a + 0.1 * b + (point["c"] == "high"),
                                         "z": a * b, "note": f"run {index}"}
            study.add(IterationRecord(
                params=ParamSet(point), status="error" if failed else "ok",
                outputs=FrozenOutputs(outputs),
                error="ValueError: b out of range" if failed else None,
                stderr=STDERR_TAIL if failed else "", started=clock + index * 0.01,
                finished=clock + index * 0.01 + 0.008, index=index,
                iteration_id=str(uuid.uuid4()), script="pipeline.py",
                script_sha256="0" * 64, host="bench", python="3.11.0", sweep_id=sweep_id,
            ), sweep_id=sweep_id, plan_index=index)
        study.finish_sweep(sweep_id, "finished")


def timed(checkout: Path, db: Path, page: Path) -> tuple[float, float]:
    """Seconds ``Study.report`` takes (wall and CPU), in a fresh interpreter importing
    py3r-script from ``checkout``."""
    out = subprocess.run([sys.executable, "-c", TIMED, str(db), str(page)], check=True,
                         capture_output=True, text=True, cwd=checkout,
                         env={**os.environ, "PYTHONPATH": str(checkout)})
    seconds, cpu = map(float, out.stdout.split()[-2:])
    return seconds, cpu


def phases(db: Path, page: Path) -> str:
    """Where this checkout's report spends its CPU time, phase by phase."""
    out = subprocess.run([sys.executable, "-c", PHASES, str(db), str(page)], check=True,
                         capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    parts = dict(item.rsplit("=", 1) for item in out.stdout.strip().split(", "))
    return ", ".join(f"{name} {float(value):.2f} s" for name, value in parts.items())


WRITE = """
import sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]  # the checkout's py3r_script, this benchmark
import report
report.write_study(report.Path(sys.argv[3]), sys.argv[4], report.{points}(int(sys.argv[5])))
"""


def other_study(checkout: Path, db: Path, mode: str, n: int) -> None:
    """The same study as this checkout's, written by ``checkout``'s own code (so written in
    the schema it reads)."""
    points = "sample_points" if mode == "lhs" else "grid_points"
    subprocess.run([sys.executable, "-c", WRITE.format(points=points), str(checkout),
                    str(Path(__file__).resolve().parent), str(db), mode, str(n)],
                   check=True, cwd=checkout, env={**os.environ, "PYTHONPATH": str(checkout)})


def measure(folder: Path, mode: str, n: int, checkouts: dict[str, Path], rounds: int) -> None:
    db = folder / f"{mode}.db"
    points = sample_points(n) if mode == "lhs" else grid_points(n)
    start = time.perf_counter()
    write_study(db, mode, points)
    written = time.perf_counter() - start
    page = folder / f"{mode}.html"
    studies = {label: db if label == "this" else folder / f"{mode}-{label}.db"
               for label in checkouts}
    for label, checkout in checkouts.items():
        if label != "this":
            other_study(checkout, studies[label], mode, n)
    runs: dict[str, list[tuple[float, float]]] = {label: [] for label in checkouts}
    loads = []
    for _ in range(rounds):
        for label, checkout in checkouts.items():
            runs[label].append(timed(checkout, studies[label], page if label == "this" else
                                     folder / f"{mode}-{label}.html"))
            loads.append(os.getloadavg()[0])
    seconds = statistics.median(s for s, _ in runs["this"])
    cpu = statistics.median(c for _, c in runs["this"])
    size = page.stat().st_size / 1e6
    print(f"\n{mode}: {len(points):,} iterations (study written in {written:.1f} s; load "
          f"average {min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} cores)")
    print(f"  {'report written in (fresh interpreter)':<44} {seconds:>8.2f} s   target < 5 s"
          f"  [{'met' if seconds < 5 else 'NOT met'}]")
    print(f"  {'  of which on the CPU (imports included)':<44} {cpu:>8.2f} s   (wall time "
          "beyond it: waiting for a busy machine)")
    print(f"  {'report size':<44} {size:>8.2f} MB  target < 20 MB"
          f"  [{'met' if size < 20 else 'NOT met'}]")
    print(f"  CPU by phase: {phases(db, page)}")
    for label in checkouts:
        if label != "this":
            theirs = [statistics.median(v[i] for v in runs[label]) for i in (0, 1)]
            print(f"  {label[:20]:<20} wall {theirs[0]:.2f} s, CPU {theirs[1]:.2f} s; this / "
                  f"that: wall {seconds / theirs[0]:.2f}x, CPU {cpu / theirs[1]:.2f}x "
                  f"(medians of {rounds})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 iterations")
    parser.add_argument("--against", help="a commit to measure too, in turns with this one")
    parser.add_argument("--rounds", type=int, default=1, help="reports per study and commit")
    args = parser.parse_args()
    n = 1_000 if args.quick else 10_000
    print(f"py3r-script report benchmark on {os.cpu_count()} cores, Python "
          f"{sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as folder:
        checkouts = {"this": ROOT}
        if args.against:
            other = Path(folder) / "other"
            subprocess.run(["git", "worktree", "add", "--detach", "-q", str(other),
                            args.against], cwd=ROOT, check=True)
            checkouts[args.against] = other
        try:
            for mode in ("lhs", "grid"):
                measure(Path(folder), mode, n, checkouts, max(1, args.rounds))
        finally:
            if args.against:
                subprocess.run(["git", "worktree", "remove", "--force", str(other)],
                               cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
