"""The store's entry points for users: ``load`` a study as results, ``merge`` studies.

Both open a :class:`~py3r_script.store.study.Study` for the call and close it after.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from . import reading, studyrows
from .study import Study

if TYPE_CHECKING:
    from ..results import ScriptResults

__all__ = ["load", "merge"]


def merge(target: str | os.PathLike[str], *sources: str | os.PathLike[str]) -> int:
    """Merge other studies into ``target`` (created if needed); returns iterations added.

    For studies run apart (two laptops, one study per cluster node) that belong together.

    >>> merge("oft_all.db", "oft_laptop.db", "oft_cluster.db")  # doctest: +SKIP
    42
    """
    with Study(target) as study:
        return sum(study.merge(source) for source in sources)


def load(path: str | os.PathLike[str], *, sweep: str | int | None = None,
         trusted: bool = False) -> ScriptResults:
    """Load a study (or one sweep of it) as ``ScriptResults``.

    Parameters
    ----------
    path : path
        The study database.
    sweep : str or int, optional
        A sweep id (or a unique prefix), or its number in the study (``-1``: the latest).
        Without it, every iteration of the study, in the order they finished.
    trusted : bool, default False
        Unpickle any pickled output when it is read. Without it, only those your own
        py3r-script signed are; the others (a study an older py3r-script or another user
        wrote) are left out of their records, and reading one raises
        :class:`~py3r_script.errors.UntrustedOutputError`. Unpickling can run any code:
        pass ``True`` only if you trust whoever wrote the study. Scalars, DataFrames,
        Series and arrays never need it.

    Returns
    -------
    ScriptResults
        Its ``design`` is the sweep's (for a whole study: the one all its sweeps share, else
        ``None``). A study this process cannot write is read without being changed.

    Examples
    --------
    >>> all_runs = load("oft_study.db")  # doctest: +SKIP
    >>> all_runs.to_dataframe(meta=True)  # doctest: +SKIP
    >>> latest = load("oft_study.db", sweep=-1)  # doctest: +SKIP
    """
    with Study(path, create=False, trusted=trusted) as study:
        if sweep is None:
            rows = study.sweep_rows()
            records = study.records()
        else:
            rows = [study.sweep_row(study.sweep_id(sweep))]
            records = study.records(sweep=rows[0]["sweep_id"])
    return reading.results_of(path, [studyrows.sweep_from_row(row) for row in rows], records)
