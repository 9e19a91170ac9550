"""Quick demo: mean and spread of ``n`` scaled Gaussian samples (standard library only).

Small and fast enough for tutorials and tests that need a real script to run.

Params
    n       number of samples (1000)
    scale   standard deviation of the samples (1.0)
    seed    random seed (0)
    label   free text echoed in the printed line ("demo")

Outputs
    mean          sample mean (float)
    stdev         sample standard deviation (float)
    samples_head  the first five samples (list of float)
"""

import random
import statistics

from py3r_script import Output, Param

n = Param(1000, name="n")
scale = Param(1.0, name="scale")
seed = Param(0, name="seed")
label = Param("demo", name="label")

if n < 2:
    raise ValueError(f"n must be at least 2 to estimate a standard deviation, got {n}")

rng = random.Random(seed)
samples = [scale * rng.gauss(0.0, 1.0) for _ in range(n)]

mean = Output(statistics.fmean(samples), name="mean")
stdev = Output(statistics.stdev(samples), name="stdev")
Output(samples[:5], name="samples_head")

print(f"[{label}] n={n} scale={scale}: mean={mean:.4f} stdev={stdev:.4f}")
