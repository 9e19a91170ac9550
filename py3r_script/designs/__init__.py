"""Designs: what to run. Static inspection of a script, the design request and its rules,
planning a sweep's parameter sets (grids, one-at-a-time, linked, points, samples) and the
dry-run preview."""
