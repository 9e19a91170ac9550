"""Submitting a sweep to the user's executor: adapted, in chunks, warm on each worker.

The one place ``execute`` goes through when ``executor=`` is given: the executor made a
``concurrent.futures.Executor`` (``engines``), the chunk size chosen for its kind, the
study's inbox folder made (so workers that see it leave each record there), and what is
left in the inbox ingested once the sweep ends.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager

from ..designs.inspection import ScriptInfo
from ..store import inbox
from ..store.study import Study
from .chunks import ChunkSubmitter, WarmStart
from .engines import default_chunk_size, usable_executor
from .options import RunOptions, resolve_python
from .warm import sweep_preload

__all__ = ["executor_submitter"]


@contextmanager
def executor_submitter(options: RunOptions, info: ScriptInfo, study: Study | None
                       ) -> Iterator[tuple[Executor, ChunkSubmitter]]:
    """The executor to hand the scheduler, and how to submit the sweep's tasks to it.

    Examples
    --------
    >>> with executor_submitter(options, info, study) as (executor, submit):  # doctest: +SKIP
    ...     futures = submit(pending)
    """
    assert options.executor is not None
    executor = usable_executor(options.executor)
    warm = None
    if options.warm:
        preload, strict = sweep_preload(info.imports, options.preload)
        warm = WarmStart(tuple(preload), resolve_python(options.python), strict)
    folder = None
    if study is not None and not study.read_only:
        folder = inbox.inbox_dir(study.path)
        with contextlib.suppress(OSError):
            os.makedirs(folder, exist_ok=True)
    size = options.chunk_size or default_chunk_size(options.executor)
    try:
        with ChunkSubmitter(executor, size, warm=warm, inbox_dir=folder) as submit:
            yield executor, submit
    finally:
        if executor is not options.executor:
            with contextlib.suppress(Exception):
                executor.shutdown(wait=False)
        if study is not None and folder is not None:
            with contextlib.suppress(Exception):  # the records are saved already
                inbox.ingest(study)  # removes the files of what the sweep committed
