"""Which knob of the open-field pipeline matters? A sensitivity table and its pictures.

Run from anywhere (needs matplotlib): ``python sample_pipelines/plot_oft.py``. It writes
``figures/oft_tornado.png``, ``figures/oft_response.png`` and ``figures/oft_heatmap.png``
beside this file; the README shows them.
"""

from pathlib import Path

import pandas as pd

from py3r_script import sensitivity, sweep

HERE = Path(__file__).parent
PIPELINE = HERE / "oft_pipeline.py"
FIGURES = HERE / "figures"
OUTPUTS = ["time_moving", "distance_cm", "centre_time"]

if __name__ == "__main__":
    FIGURES.mkdir(exist_ok=True)
    sr = sensitivity(
        PIPELINE,
        {"smooth_window": [1, 3, 9, 15], "threshold": [1.0, 3.0, 4.0],
         "centre_fraction": [0.3, 0.7], "fps": [15, 60]},
        outputs=OUTPUTS, max_workers="auto",
    )
    with pd.option_context("display.width", 160, "display.max_columns", None,
                           "display.precision", 3):
        print(sr.sensitivity_table()[["output", "parameter", "rank", "nominal",
                                      "output_at_nominal", "rel_change", "elasticity"]])
    sr.plot_tornado("time_moving").savefig(FIGURES / "oft_tornado.png", dpi=110)
    sr.plot_response("time_moving", ["smooth_window", "threshold"]).savefig(
        FIGURES / "oft_response.png", dpi=110)
    grid = sweep(PIPELINE, {"smooth_window": [1, 5, 15], "threshold": [1.0, 2.0, 4.0]},
                 outputs=["time_moving"], max_workers="auto")
    grid.plot_heatmap("time_moving", x="threshold", y="smooth_window").savefig(
        FIGURES / "oft_heatmap.png", dpi=110)
    print(f"wrote {', '.join(p.name for p in sorted(FIGURES.glob('oft_*.png')))} to {FIGURES}")
