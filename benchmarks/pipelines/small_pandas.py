"""A small pandas/numpy pipeline whose own work is about a millisecond: import cost dominates."""

import numpy as np
import pandas as pd

from py3r_script import Output, Param

window = Param(5, name="window")

rng = np.random.default_rng(0)
frame = pd.DataFrame({"x": rng.normal(size=2000)})
smooth = frame["x"].rolling(window, min_periods=1).mean()
Output(float(smooth.std()), name="spread")
