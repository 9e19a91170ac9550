"""``IterationTask``: everything one iteration needs to run anywhere, in one picklable value.

The unit of work: the scheduler plans one task per iteration and hands it, whole, to
:func:`~py3r_script.running.launch.run_iteration` on whichever worker runs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..paramset import ParamSet

__all__ = ["IterationTask"]


@dataclass(frozen=True)
class IterationTask:
    """Everything needed to run one iteration anywhere: plain, picklable values only.

    ``python`` is the interpreter to start (``None``: the one running :func:`run_iteration`,
    so each worker uses its own); ``stop_file``, when it exists, means the sweep was stopped;
    ``driver`` identifies the sweep's driver process, so a worker on its machine stops its
    child when the driver is gone. ``params`` is the complete parameter set (what the record
    says ran); ``inject`` the names the sweep sets (``None``: all), the others being the
    script's own literal defaults, which the script is left to supply itself. ``inbox`` is
    the study's inbox folder, where the worker leaves the record before returning it.
    ``replicate`` is which run of its parameter set this is (``replicates=k``), kept in the
    record.

    Examples
    --------
    >>> task = IterationTask(script="/abs/pipeline.py", params=ParamSet({"w": 3}), timeout=60)
    >>> task.params["w"], task.capture_limit
    (3, 20000)
    """

    script: str
    params: ParamSet
    outputs: tuple[str, ...] | None = None
    stop_after_outputs: bool = False
    index: int = 0
    iteration_id: str = ""
    sweep_id: str | None = None
    label: str | None = None
    script_sha256: str = ""
    cwd: str | None = None
    workdir: str | None = None
    timeout: float | None = None
    capture_limit: int = 20_000
    python: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    argv: tuple[str, ...] = ()
    stop_file: str | None = None
    driver: tuple[str, int, int] | None = None
    inject: tuple[str, ...] | None = None
    inbox: str | None = None
    replicate: int = 0
