"""The study store: an SQLite study file, its rows and side files, merging and provenance.

``Study``, ``load`` and ``merge`` are also importable from :mod:`py3r_script`.
"""

from .study import Study as Study
from .study import load as load
from .study import merge as merge

__all__ = ["Study", "load", "merge"]
