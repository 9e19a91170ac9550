"""The pipeline of the schema-2 study fixture: one output of each kind a study stores."""

import numpy as np
import pandas as pd

from py3r_script import Output, Param

x = Param(1, name="x")
tag = Param("a", name="tag")
if x == 3:
    raise ValueError("x = 3 is refused")
Output(x * 10, name="y")
Output(float("nan") if x == 2 else x / 4, name="ratio")
Output(x > 1, name="flag")
Output(f"{tag}-{x}", name="text")
Output(None, name="nothing")
Output(np.float64(x) * 1.5, name="np_scalar")
Output(pd.DataFrame({"a": [x, x + 1], "b": ["u", "v"]}), name="frame")
Output(pd.Series([0.5, x], name="s"), name="series")
Output(np.arange(x * 3, dtype=np.int32).reshape(x, 3), name="array")
Output({"x": x, "items": [1, 2]}, name="mapping")
Output(bytes(range(256)) * 8 if x == 1 else b"", name="raw")
