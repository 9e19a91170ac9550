"""The study store: an SQLite study of every sweep and iteration, read back as results.

``study`` holds ``Study`` (an open study), ``load`` and ``merge``; the file and its schema
(``studyfile``, ``schema``), rows (``studyrows``, with exact SQL values: ``sqlvalues``),
outputs stored by kind (``formats``) and read back without running code (``loading``,
``signing``), side files for large outputs (``sidefiles``), writing, reading, reuse
decisions, interpreters, editing, merging, backups (``maintenance``) and provenance each
have their module.

``Study``, ``load`` and ``merge`` are also importable from :mod:`py3r_script`.
"""

from .entry import load as load
from .entry import merge as merge
from .study import Study as Study

__all__ = ["Study", "load", "merge"]
