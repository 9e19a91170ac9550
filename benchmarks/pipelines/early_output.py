"""A pipeline whose only requested output is ready at 10 % of its runtime."""

import time

from py3r_script import Output, Param

total_s = Param(1.0, name="total_s")
seed = Param(0, name="seed")

time.sleep(0.1 * total_s)  # the early stage
Output(seed, name="early")
time.sleep(0.9 * total_s)  # downstream stages nobody asked for
Output(seed + 1, name="late")
