"""A sweep's planned iterations, each task built when it is sent.

A sweep of 100,000 iterations would hold 100,000 tasks (and as many complete parameter
sets) before the first one ran if they were all built up front; :class:`PlannedItems` keeps
what they share and builds each one as the scheduler sends it. The same index always gives
the same task: its iteration id comes from the sweep's id and the index.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from ..designs.design import Plan
from ..paramset import ParamSet
from ..records import IterationRecord
from .task import IterationTask

__all__ = ["PlannedItems", "iteration_id"]


def iteration_id(sweep_id: str, index: int) -> str:
    """The id of iteration ``index`` of sweep ``sweep_id``: 32 hex digits, as unique as
    the sweep's own (random) id, and the same each time it is worked out.

    >>> iteration_id("3f2a", 0) == iteration_id("3f2a", 0) != iteration_id("3f2a", 1)
    True
    """
    return hashlib.sha256(f"{sweep_id}/{index}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class PlannedItems:
    """The iterations of a sweep in plan order: a record the store already holds for each
    index of ``reused``, a task (``template`` with the point's values) for every other.

    ``defaults`` are the script's literal defaults, which complete each point into the
    parameter set its record names; ``workdirs`` the folder of the iterations' own working
    folders (``None``: none).

    Examples
    --------
    >>> items = PlannedItems(template, plan, ParamSet(), {}, None)  # doctest: +SKIP
    >>> len(items), next(items.pending())[1].params  # doctest: +SKIP
    (3, ParamSet(window=3))
    """

    template: IterationTask
    plan: Plan
    defaults: ParamSet
    reused: Mapping[int, IterationRecord]
    workdirs: str | None

    def __len__(self) -> int:
        return len(self.plan)

    @property
    def n_pending(self) -> int:
        """How many iterations are to run (not reused)."""
        return len(self.plan) - len(self.reused)

    def task(self, index: int) -> IterationTask:
        """The task of iteration ``index`` (built now; equal each time it is built)."""
        given = self.plan.points[index]
        ident = iteration_id(self.template.sweep_id or "", index)
        return replace(
            self.template, params=self.defaults.merged(given), inject=tuple(given),
            index=index, iteration_id=ident, replicate=self.plan.replicate(index),
            workdir=None if self.workdirs is None else os.path.join(self.workdirs, ident),
        )

    def pending(self) -> Iterator[tuple[int, IterationTask]]:
        """Each iteration to run, with its index, in plan order, built as it is asked for."""
        reused = self.reused
        return ((index, self.task(index)) for index in range(len(self.plan))
                if index not in reused)
