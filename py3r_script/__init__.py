"""py3r-script: sweep the parameters of unmodified Python pipeline scripts.

Mark knobs with ``Param`` and results with ``Output``; the script still runs on its own.
``run``, ``sensitivity`` and ``sweep`` run it once per parameter combination, ``plan``
shows a design first, ``inspect`` lists what a script declares and ``load`` opens a study:
from a notebook, or from the ``py3r-script`` command line.

>>> from py3r_script import Param, Output
>>> window = Param(5, name="window")
>>> window
5

Only the markers are imported eagerly: a script's ``import py3r_script`` runs once per
iteration, so the runner side (and pandas) load on first use.
"""

from __future__ import annotations

from .markers import Output as Output
from .markers import Param as Param

__version__ = "0.1.0"

__all__ = [
    # markers, for scripts
    "Output",
    "Param",
    # running, for notebooks
    "inspect",
    "inspect_script",
    "plan",
    "run",
    "sensitivity",
    "sweep",
    "warm_pool",
    # results and studies
    "DryRun",
    "IterationRecord",
    "ScriptResults",
    "Study",
    "SweepInterrupted",
    "load",
    "merge",
    # errors
    "SweepError",
    "StoreError",
    "StoreWriteError",
    "StudyDamagedError",
    "UntrustedOutputError",
]

_LAZY = {
    "run": "running.api",
    "sensitivity": "running.api",
    "sweep": "running.api",
    "plan": "running.api",
    "warm_pool": "running.zygotes",
    "inspect": "designs.inspection",
    "inspect_script": "designs.inspection",
    "ScriptResults": "results",
    "IterationRecord": "records",
    "DryRun": "designs.preview",
    "Study": "store.study",
    "load": "store.entry",
    "merge": "store.entry",
    "SweepInterrupted": "errors",
    "SweepError": "errors",
    "StoreError": "errors",
    "StoreWriteError": "errors",
    "StudyDamagedError": "errors",
    "UntrustedOutputError": "errors",
}

TYPE_CHECKING = False  # not typing's: importing typing would cost every child ~4 ms
if TYPE_CHECKING:
    from typing import Any

    from .designs.inspection import inspect as inspect
    from .designs.inspection import inspect_script as inspect_script
    from .designs.preview import DryRun as DryRun
    from .errors import SweepInterrupted as SweepInterrupted
    from .records import IterationRecord as IterationRecord
    from .results import ScriptResults as ScriptResults
    from .running.api import plan as plan
    from .running.api import run as run
    from .running.api import sensitivity as sensitivity
    from .running.api import sweep as sweep
    from .running.zygotes import warm_pool as warm_pool
    from .store.entry import load as load
    from .store.entry import merge as merge
    from .store.study import Study as Study


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'py3r_script' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
