"""Open-field test: pose-tracking analysis of one mouse in a square arena (synthetic data).

A trajectory is simulated instead of loaded, so the script needs no data files: the mouse
switches between rest and locomotion bouts, walks a correlated random walk that prefers the
walls (thigmotaxis) and is reflected at them, and the "tracker" adds positional jitter and
drops a few frames. The analysis then does what a real one would: interpolate the gaps,
smooth the positions, derive speed, classify movement and centre occupancy, and summarise
the session overall and per time bin.

Params
    seed             random seed of the simulated session (int, 0)
    duration_s       session length in seconds (600.0)
    fps              camera frame rate (30)
    arena_cm         side of the square arena in cm (40.0)
    smooth_window    frames of the centred rolling-median position filter; 1 disables it (5)
    threshold        speed in cm/s above which the mouse counts as moving (2.0)
    centre_fraction  side of the central square as a fraction of the arena side (0.5)
    bin_s            length of the summary time bins in seconds (60.0)

Outputs
    tracking      per-frame DataFrame: t, x, y, speed, moving, in_centre
    distance_cm   total distance travelled (float)
    time_moving   seconds spent above threshold (float)
    centre_time   seconds spent in the central square (float)
    mean_speed    mean speed over the session in cm/s (float)
    summary       per-bin DataFrame: bin_start_s, distance_cm, time_moving_s,
                  centre_time_s, mean_speed_cm_s
"""

import math

import numpy as np
import pandas as pd

from py3r_script import Output, Param

seed = Param(0, name="seed")
duration_s = Param(600.0, name="duration_s")
fps = Param(30, name="fps")
arena_cm = Param(40.0, name="arena_cm")
smooth_window = Param(5, name="smooth_window")
threshold = Param(2.0, name="threshold")
centre_fraction = Param(0.5, name="centre_fraction")
bin_s = Param(60.0, name="bin_s")

positive = {"duration_s": duration_s, "fps": fps, "arena_cm": arena_cm, "bin_s": bin_s}
for label, value in positive.items():
    if value <= 0:
        raise ValueError(f"{label} must be > 0, got {value}")
if smooth_window < 1 or smooth_window != int(smooth_window):
    raise ValueError(f"smooth_window must be a whole number of frames >= 1, got {smooth_window}")
if threshold < 0:
    raise ValueError(f"threshold must be >= 0 cm/s, got {threshold}")
if not 0 < centre_fraction <= 1:
    raise ValueError(f"centre_fraction must be in (0, 1], got {centre_fraction}")

# Behavioural constants are in seconds and cm so that fps and arena_cm change the recording,
# not the behaviour being recorded.
REST_BOUT_S, MOVE_BOUT_S = 4.0, 3.0
MOVE_SPEED, MOVE_SPEED_SD, REST_SPEED_SD = 14.0, 5.0, 0.4  # cm/s
SPEED_TAU_S = 0.3  # how quickly speed relaxes towards the current state's mean
TURN_SD = 1.5  # heading diffusion, rad per sqrt(s)
WALL_PULL = 1.5  # rate (1/s) at which the heading turns towards or along the nearest wall
WALL_ZONE_CM = 3.0
JITTER_CM = 0.1  # tracking noise: about one pixel at typical open-field resolutions
DROP_FRAC = 0.01

rng = np.random.default_rng(seed)
n = round(duration_s * fps)
if n < 2:
    raise ValueError(f"duration_s * fps must span at least 2 frames, got {n}")
frame = np.arange(n)
dt = 1.0 / fps


def simulate_path() -> tuple[np.ndarray, np.ndarray]:
    """True body-centre positions of a rest/locomotion walker with wall preference."""
    p_start, p_stop = dt / REST_BOUT_S, dt / MOVE_BOUT_S
    relax = 1.0 - math.exp(-dt / SPEED_TAU_S)
    switch_u = rng.random(n).tolist()
    speed_z = rng.standard_normal(n).tolist()
    turn_z = rng.standard_normal(n).tolist()
    xs, ys = np.empty(n), np.empty(n)
    x, y = (rng.uniform(0.3, 0.7, size=2) * arena_cm).tolist()
    heading, speed, moving = float(rng.uniform(-math.pi, math.pi)), 0.0, False
    for i in range(n):
        moving = switch_u[i] >= p_stop if moving else switch_u[i] < p_start
        mean, sd = (MOVE_SPEED, MOVE_SPEED_SD) if moving else (0.0, REST_SPEED_SD)
        speed = abs(speed + relax * (mean - speed) + sd * math.sqrt(2 * relax) * speed_z[i])
        # Away from the walls, steer towards the nearest one; along them, follow the wall.
        gaps = (x, arena_cm - x, y, arena_cm - y)
        wall = gaps.index(min(gaps))
        towards_wall = (math.pi, 0.0, -math.pi / 2, math.pi / 2)[wall]
        if gaps[wall] > WALL_ZONE_CM:
            target = towards_wall
        else:
            target = towards_wall + math.copysign(math.pi / 2, math.sin(heading - towards_wall))
        heading += WALL_PULL * dt * math.sin(target - heading) + TURN_SD * math.sqrt(dt) * turn_z[i]
        x += speed * dt * math.cos(heading)
        y += speed * dt * math.sin(heading)
        if not 0 <= x <= arena_cm:
            x = -x if x < 0 else 2 * arena_cm - x
            heading = math.pi - heading
        if not 0 <= y <= arena_cm:
            y = -y if y < 0 else 2 * arena_cm - y
            heading = -heading
        xs[i], ys[i] = x, y
    return xs, ys


true_x, true_y = simulate_path()

# What a pose tracker would report: jittered positions with occasional lost frames.
jitter = rng.normal(0.0, JITTER_CM, size=(2, n))
raw = pd.DataFrame({"x": true_x + jitter[0], "y": true_y + jitter[1]})
raw.loc[rng.random(n) < DROP_FRAC, ["x", "y"]] = np.nan

# Jitter can put a wall-hugging mouse a hair outside the arena; clip so the arena holds the track.
positions = raw.interpolate(limit_direction="both").clip(0.0, arena_cm)
positions = positions.rolling(int(smooth_window), center=True, min_periods=1).median()
step_cm = np.hypot(positions["x"].diff(), positions["y"].diff()).fillna(0.0)
speed = step_cm * fps

half_centre = centre_fraction * arena_cm / 2
centre_offset = (positions - arena_cm / 2).abs()
df_tracking = pd.DataFrame(
    {
        "t": frame / fps,
        "x": positions["x"],
        "y": positions["y"],
        "speed": speed,
        "moving": speed > threshold,
        "in_centre": (centre_offset["x"] <= half_centre) & (centre_offset["y"] <= half_centre),
    }
)
tracking = Output(df_tracking, name="tracking")

total_distance_cm = float(step_cm.sum())
time_moving_s = float(tracking["moving"].sum() * dt)
centre_time_s = float(tracking["in_centre"].sum() * dt)
mean_speed = float(tracking["speed"].mean())
Output(total_distance_cm, name="distance_cm")
Output(time_moving_s, name="time_moving")
Output(centre_time_s, name="centre_time")
Output(mean_speed, name="mean_speed")

# Bins come from frame indices rather than t, so float rounding never shifts a boundary frame.
bins = pd.Series(frame // (bin_s * fps) * bin_s, name="bin_start_s")
summary = (
    tracking.assign(
        step_cm=step_cm,
        moving_s=tracking["moving"] * dt,
        centre_s=tracking["in_centre"] * dt,
    )
    .groupby(bins)
    .agg(
        distance_cm=("step_cm", "sum"),
        time_moving_s=("moving_s", "sum"),
        centre_time_s=("centre_s", "sum"),
        mean_speed_cm_s=("speed", "mean"),
    )
    .reset_index()
)
Output(summary, name="summary")

duration = n * dt
print(f"Open-field session: {duration:.0f} s at {fps} fps, {arena_cm:g} cm arena (seed {seed})")
print(f"  distance travelled  {total_distance_cm:8.1f} cm")
print(f"  time moving         {time_moving_s:8.1f} s  ({100 * time_moving_s / duration:.0f}%)")
print(f"  time in centre      {centre_time_s:8.1f} s  ({100 * centre_time_s / duration:.0f}%)")
print(f"  mean speed          {mean_speed:8.2f} cm/s")
print()
print(summary.round(1).to_string(index=False))
