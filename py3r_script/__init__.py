"""py3r-script: sweep the parameters of unmodified Python pipeline scripts.

Mark knobs with ``Param`` and results with ``Output``; the script still runs on its own.
``run``, ``sensitivity`` and ``inspect`` drive it from a notebook or the command line.

>>> from py3r_script import Param, Output
>>> window = Param(5, name="window")
>>> window
5

Only the markers are imported eagerly: a script's ``import py3r_script`` runs once per
iteration, so the runner side (and pandas) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
]

_LAZY = {
    "run": "runner",
    "sensitivity": "runner",
    "sweep": "runner",
    "plan": "runner",
    "inspect": "inspection",
    "inspect_script": "inspection",
    "ScriptResults": "results",
    "IterationRecord": "records",
    "DryRun": "preview",
    "Study": "store",
    "load": "store",
    "merge": "store",
    "SweepInterrupted": "execution",
    "SweepError": "errors",
    "StoreError": "errors",
    "StoreWriteError": "errors",
}

if TYPE_CHECKING:
    from .execution import SweepInterrupted as SweepInterrupted
    from .inspection import inspect as inspect
    from .inspection import inspect_script as inspect_script
    from .preview import DryRun as DryRun
    from .records import IterationRecord as IterationRecord
    from .results import ScriptResults as ScriptResults
    from .runner import plan as plan
    from .runner import run as run
    from .runner import sensitivity as sensitivity
    from .runner import sweep as sweep
    from .store import Study as Study
    from .store import load as load
    from .store import merge as merge


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
