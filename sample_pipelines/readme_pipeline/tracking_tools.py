"""The "own code" of the README's example ``pipeline.py``: load a tracked session, summarise it.

The README's pipeline imports these two functions, as a real pipeline imports its lab's code;
``tests/test_readme.py`` copies this folder (with ``sessions/``, two short tracked sessions)
next to that pipeline. Standard library only, so each README iteration starts quickly.
"""

from __future__ import annotations

import csv
import math
import statistics


def load_and_track(path: str, window: int) -> list[dict[str, float]]:
    """Per-frame positions of a session CSV (``t, x, y``), median-smoothed, with speed.

    ``window`` is the number of frames of the centred rolling median (1 disables it); the
    speed of a frame is the distance from the previous smoothed position per second.

    >>> track = load_and_track("sessions/s1.csv", 5)  # doctest: +SKIP
    >>> sorted(track[0])  # doctest: +SKIP
    ['speed', 't', 'x', 'y']
    """
    with open(path, newline="", encoding="utf-8") as file:
        rows = [(float(r["t"]), float(r["x"]), float(r["y"])) for r in csv.DictReader(file)]
    half = int(window) // 2
    track: list[dict[str, float]] = []
    for i, (t, _, _) in enumerate(rows):
        near = rows[max(0, i - half) : i + half + 1]
        x = statistics.median(r[1] for r in near)
        y = statistics.median(r[2] for r in near)
        speed = 0.0
        if track:
            last = track[-1]
            speed = math.hypot(x - last["x"], y - last["y"]) / (t - last["t"])
        track.append({"t": t, "x": x, "y": y, "speed": speed})
    return track


def summarise(track: list[dict[str, float]], threshold: float) -> dict[str, float]:
    """Distance travelled, time spent faster than ``threshold`` and mean speed of a track.

    >>> summarise(load_and_track("sessions/s1.csv", 5), 0.8)  # doctest: +SKIP
    {'distance_cm': ..., 'time_moving': ..., 'mean_speed': ...}
    """
    dt = [b["t"] - a["t"] for a, b in zip(track, track[1:])]
    speeds = [frame["speed"] for frame in track[1:]]
    return {
        "distance_cm": sum(s * d for s, d in zip(speeds, dt)),
        "time_moving": sum(d for s, d in zip(speeds, dt) if s > threshold),
        "mean_speed": statistics.fmean(speeds),
    }
