"""Running: the public ``run``/``sensitivity``/``sweep``/``plan``, the run options, scheduling
many iterations across workers and executors, launching one iteration, and warm starts."""
