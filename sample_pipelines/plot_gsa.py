"""Global sensitivity, pictured: Sobol' indices of the Ishigami function, and a Morris
screening of the open-field pipeline.

Run from anywhere (needs SALib and matplotlib: ``pip install "py3r-script[gsa,plot]"``):
``python sample_pipelines/plot_gsa.py``. It writes ``figures/ishigami_sobol.png`` and
``figures/oft_morris.png`` beside this file; the README shows them.
"""

import math
from pathlib import Path

import pandas as pd

from py3r_script import sweep

HERE = Path(__file__).parent
FIGURES = HERE / "figures"

if __name__ == "__main__":
    FIGURES.mkdir(exist_ok=True)
    ishigami = sweep(HERE / "ishigami.py",
                     sample={name: (-math.pi, math.pi) for name in ("x1", "x2", "x3")},
                     n=1024, method="sobol", seed=0, warm=True, max_workers="auto")
    oft = sweep(HERE / "oft_pipeline.py",
                sample={"smooth_window": (1, 15), "threshold": (0.5, 4.0),
                        "centre_fraction": (0.3, 0.7), "fps": [15, 30, 60]},
                n=20, method="morris", seed=0, outputs=["time_moving", "centre_time"],
                warm=True, max_workers="auto")
    with pd.option_context("display.width", 160, "display.precision", 3):
        print(ishigami.sensitivity_table("y"))
        print(oft.sensitivity_table())
    ishigami.plot_sensitivity("y").savefig(FIGURES / "ishigami_sobol.png", dpi=110)
    oft.plot_sensitivity("time_moving").savefig(FIGURES / "oft_morris.png", dpi=110)
    print(f"wrote ishigami_sobol.png and oft_morris.png to {FIGURES}")
