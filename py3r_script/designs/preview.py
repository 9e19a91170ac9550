"""``DryRun``: what a sweep would do (run, reuse from the store) without running anything."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .methodoptions import design_size
from .planning import Plan

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DryRun"]


@dataclass(frozen=True)
class DryRun:
    """The plan of a sweep and, per iteration, whether it would ``run`` or be ``reused``.

    Returned by ``run``, ``sensitivity`` and ``sweep`` with ``dry_run=True``. Nothing is
    started and the store is not changed.

    Examples
    --------
    >>> preview = sensitivity("pipeline.py", {"w": [3, 5]}, store="s.db",
    ...                       dry_run=True)  # doctest: +SKIP
    >>> preview.n_run, preview.n_reused  # doctest: +SKIP
    (1, 1)
    """

    plan: Plan
    actions: Sequence[str]
    reused_ids: Sequence[str | None]
    store: str | None = None

    @property
    def n_run(self) -> int:
        """How many iterations would run."""
        return sum(action == "run" for action in self.actions)

    @property
    def n_reused(self) -> int:
        """How many iterations would come from the store."""
        return sum(action == "reuse" for action in self.actions)

    def __len__(self) -> int:
        return len(self.actions)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per planned iteration: parameter values, ``_action`` and ``_reused_id``."""
        frame = self.plan.to_dataframe()
        frame["_action"] = list(self.actions)
        frame["_reused_id"] = list(self.reused_ids)
        return frame

    def __repr__(self) -> str:
        where = f" against {self.store}" if self.store else ""
        seed = "" if self.plan.seed is None else f", seed {self.plan.seed}"
        k = self.plan.replicates
        each = f", each point {k} times" if k > 1 else ""
        lines = [f"DryRun{where}: {len(self)} iteration(s) planned ({self.plan.mode}{seed}"
                 f"{self._design_size()}{each}): {self.n_run} would run, {self.n_reused} "
                 "reused from the store"]
        for index, (point, action) in enumerate(list(zip(self.plan.points, self.actions))[:20]):
            which = f" replicate {self.plan.replicate(index)}" if k > 1 else ""
            lines.append(f"  {action:<5} {dict(point.project(self.plan.param_names))}{which}")
        if len(self) > 20:
            lines.append(f"  ... and {len(self) - 20} more (see .to_dataframe())")
        return "\n".join(lines)

    def _design_size(self) -> str:
        """A Morris or Sobol' design's size and its formula (rows that repeat a parameter
        set run once)."""
        design = self.plan.global_design
        if design is None or design.n is None:
            return ""
        size = design_size(design.mode, design.n, len(design.ranges), dict(design.options))
        rows, points = self.plan.design_rows or 0, len(self) // self.plan.replicates
        repeated = f", {rows - points} repeating another" if rows > points else ""
        return f"; {size}{repeated}"
