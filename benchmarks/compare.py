"""Compare this checkout's speed with another commit's, in the same run.

    python benchmarks/compare.py --against HEAD~1        # cold, warm and 2-worker figures
    python benchmarks/compare.py --against v0.1.0 --repeats 5

The other commit is checked out in a temporary git worktree; each figure is measured in a
fresh driver process that imports py3r-script from one checkout or the other, in turns
(this, that, this, that, ...) so that a slow spell of the machine weighs on both alike.
Printed: the median of each figure for both, and their ratio (this / that; below 1 is
faster). Nothing is asserted: timings are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PIPELINES = HERE / "pipelines"

DRIVER = """
import json, sys, time
from py3r_script import sweep
script, values, options = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
start = time.perf_counter()
results = sweep(script, {options.pop("name"): list(range(1, values + 1))}, progress=False,
                **options)
elapsed = time.perf_counter() - start
assert all(r.ok for r in results.records), [r.error for r in results.records if not r.ok]
print(json.dumps(elapsed))
"""

FIGURES = {  # name: (script, swept parameter, options, iterations)
    "cold, pandas pipeline": ("small_pandas.py", "window", {}, 10),
    "warm, pandas pipeline": ("small_pandas.py", "window", {"warm": True}, 20),
    "cold, 2 workers": ("small_pandas.py", "window", {"max_workers": 2}, 10),
    "warm, 2 workers": ("small_pandas.py", "window", {"warm": True, "max_workers": 2}, 20),
    "cold, trivial script": ("trivial.py", "i", {}, 20),
}


def measure(checkout: Path, script: str, name: str, options: dict, values: int) -> float:
    """Seconds per iteration of one sweep, driven from ``checkout``'s package."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run(
        [sys.executable, "-c", DRIVER, str(PIPELINES / script), str(values),
         json.dumps({"name": name, **options})],
        env=env, check=True, capture_output=True, text=True, cwd=checkout)
    return json.loads(out.stdout.strip().splitlines()[-1]) / values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="the commit to compare with")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="py3r-compare-") as folder:
        other = Path(folder) / "other"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(other), args.against],
                       cwd=ROOT, check=True)
        try:
            checkouts = {"this": ROOT, args.against: other}
            times: dict[tuple[str, str], list[float]] = {}
            for _ in range(args.repeats):
                for figure, (script, name, options, values) in FIGURES.items():
                    for label, checkout in checkouts.items():
                        times.setdefault((figure, label), []).append(
                            measure(checkout, script, name, dict(options), values))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=ROOT,
                           check=False)
    print(f"Per iteration, median of {args.repeats}, this checkout against {args.against}:")
    print(f"  {'figure':<26} {'this':>10} {args.against[:12]:>12} {'ratio':>8}")
    for figure in FIGURES:
        mine = statistics.median(times[(figure, "this")]) * 1000
        theirs = statistics.median(times[(figure, args.against)]) * 1000
        print(f"  {figure:<26} {mine:>8.1f}ms {theirs:>10.1f}ms {mine / theirs:>7.2f}x")


if __name__ == "__main__":
    main()
