"""Sweep the open-field pipeline: a one-at-a-time sensitivity analysis of two knobs.

Run from anywhere: ``python sample_pipelines/sweep_oft.py``. Each iteration runs
``oft_pipeline.py`` unchanged, in a fresh subprocess, with the swept values injected.
"""

from pathlib import Path

import pandas as pd

from py3r_script import inspect, sensitivity

PIPELINE = Path(__file__).with_name("oft_pipeline.py")

if __name__ == "__main__":
    inspect(PIPELINE)
    print()
    results = sensitivity(
        PIPELINE,
        {"smooth_window": [1, 5, 15], "threshold": [1.0, 2.0, 4.0]},
        outputs=["distance_cm", "time_moving", "centre_time", "mean_speed"],
        max_workers="auto",
    )
    print(results)
    print()
    with pd.option_context("display.width", 160, "display.max_columns", None,
                           "display.precision", 2):
        print(results.to_dataframe())
