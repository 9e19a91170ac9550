"""CPU-bound busy work for benchmarking parallel sweeps (standard library only).

Runs ``work`` steps of a 64-bit linear congruential generator in pure Python, which holds
the GIL and one core for roughly half a second at the default size, so the speed-up of a
parallel sweep over, e.g., ``seed`` is easy to measure. The checksum is deterministic.

Params
    work   number of loop iterations (2_000_000)
    seed   starting state of the generator (0)

Outputs
    checksum   final generator state folded with a running sum (int)
    elapsed_s  wall-clock seconds spent in the loop (float)
"""

import time

from py3r_script import Output, Param

work = Param(2_000_000, name="work")
seed = Param(0, name="seed")

if work < 0:
    raise ValueError(f"work must be >= 0, got {work}")

MASK = (1 << 64) - 1
# Knuth's MMIX multiplier and increment.
MULTIPLIER, INCREMENT = 6364136223846793005, 1442695040888963407

start = time.perf_counter()
state, total = seed & MASK, 0
for _ in range(work):
    state = (state * MULTIPLIER + INCREMENT) & MASK
    total = (total + (state >> 33)) & MASK
elapsed = time.perf_counter() - start

checksum = Output(state ^ total, name="checksum")
elapsed_s = Output(elapsed, name="elapsed_s")

print(f"{work:,} iterations from seed {seed} in {elapsed_s:.3f} s: checksum {checksum:#018x}")
