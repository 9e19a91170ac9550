"""Running: the public ``run``/``sensitivity``/``sweep``/``plan``, the run options, scheduling
many iterations across workers and executors, launching one iteration, warm starts, and
clearing what launching processes killed outright left on disk (``leftovers``)."""
