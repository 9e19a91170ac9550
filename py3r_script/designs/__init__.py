"""Designs: what to run. Static inspection of a script, planning a sweep's parameter sets
(grids, one-at-a-time, linked, points, samples) and the dry-run preview."""
