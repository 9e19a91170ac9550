"""Benchmark: a Sobol' study of the Ishigami function, warm, on 2 workers.

    python benchmarks/gsa.py            # N = 1024: 5,120 iterations (about a minute)
    python benchmarks/gsa.py --quick    # N = 64: 320 iterations (a smoke run)
    python benchmarks/gsa.py --no-store # the same, without a study database

It prints the sweep's wall time and cost per iteration, the time of the analysis, and the
indices next to their analytical values. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

from py3r_script import sweep

SCRIPT = Path(__file__).resolve().parent.parent / "sample_pipelines" / "ishigami.py"
RANGES = {name: (-math.pi, math.pi) for name in ("x1", "x2", "x3")}
EXACT = {"x1": (0.314, 0.558), "x2": (0.442, 0.442), "x3": (0.0, 0.244)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (N = 64)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-store", action="store_true", help="run without a study store")
    args = parser.parse_args()
    n = 64 if args.quick else 1024
    with tempfile.TemporaryDirectory() as folder:
        store = None if args.no_store else os.path.join(folder, "ishigami.db")
        start = time.perf_counter()
        results = sweep(SCRIPT, sample=RANGES, n=n, method="sobol", seed=0, warm=True,
                        max_workers=args.workers, store=store, progress=False)
        wall = time.perf_counter() - start
        start = time.perf_counter()
        table = results.sensitivity_table("y").set_index("parameter")
        analysis = time.perf_counter() - start
    runs = len(results.records)
    print(f"Sobol' study of the Ishigami function: N = {n}, D = 3, {runs} iterations, warm, "
          f"{args.workers} workers, {'without' if args.no_store else 'with'} a store")
    print(f"  sweep wall time        {wall:8.1f} s")
    print(f"  per iteration          {1000 * wall / runs:8.2f} ms  "
          f"({1000 * wall * args.workers / runs:.2f} ms of a worker each)")
    print(f"  analysis (SALib)       {analysis:8.2f} s")
    print("  parameter    S1 (exact)          ST (exact)")
    for name, (s1, st) in EXACT.items():
        row = table.loc[name]
        print(f"  {name:<9} {row.S1:6.3f} ± {row.S1_conf:.3f} ({s1:.3f})   "
              f"{row.ST:6.3f} ± {row.ST_conf:.3f} ({st:.3f})")


if __name__ == "__main__":
    main()
