"""The design vocabulary, ``Design`` (how a sweep's parameter sets were chosen) and ``Plan``
(the parameter sets themselves, in the order they run).

One place says which kinds of design there are and what each is called, for planning,
storing and analysing a sweep alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..paramset import ParamSet

__all__ = ["DESCRIPTIONS", "MODES", "SAMPLE_METHODS", "Design", "Plan"]

MODES = ("independent", "grid")  # designs made of value lists
SAMPLE_METHODS = ("lhs", "random")
DESCRIPTIONS = {
    "single": "a single run",
    "independent": "an independent sweep, which varies one parameter at a time",
    "grid": "a grid",
    "points": "explicit points",
    "random": "a random sample",
    "lhs": "a Latin-hypercube sample",
}


@dataclass(frozen=True)
class Design:
    """How a sweep's parameter sets were chosen, which analysis needs to read them right.

    ``mode`` is ``"single"``, ``"independent"``, ``"grid"``, ``"points"``, ``"random"`` or
    ``"lhs"``; ``linked`` the groups of parameters that varied together; ``seed`` the seed a
    sampled design was drawn with.

    >>> Design("grid", linked=(("window", "min_len"),))
    Design(mode='grid', linked=(('window', 'min_len'),), seed=None)
    """

    mode: str
    linked: tuple[tuple[str, ...], ...] = ()
    seed: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "linked": [list(g) for g in self.linked], "seed": self.seed}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Design:
        return cls(str(data["mode"]), tuple(tuple(g) for g in data.get("linked") or ()),
                   data.get("seed"))

    @property
    def sampled(self) -> bool:
        """Drawn at random from ranges: no nominal point, no crossed values."""
        return self.mode in SAMPLE_METHODS

    @property
    def scattered(self) -> bool:
        """Several parameters move in every run: no one-at-a-time view around a nominal."""
        return self.sampled or self.mode == "points"

    @property
    def description(self) -> str:
        """``"a Latin-hypercube sample"``, ``"a grid"``...: the design in words."""
        return DESCRIPTIONS.get(self.mode, f"a {self.mode!r} design")


@dataclass(frozen=True)
class Plan:
    """The iterations of a sweep, in the order they run.

    ``param_names`` are the swept names in the order given, then the names held constant;
    ``nominal`` holds their nominal values (where known); ``points`` are what each iteration
    injects; ``seed`` is the seed a sampled design was drawn with; ``linked`` the groups of
    names that vary together.

    >>> p = plan("pipeline.py", {"window": [3, 7]}, mode="independent")  # doctest: +SKIP
    >>> len(p), p.param_names  # doctest: +SKIP
    (3, ('window',))
    >>> p.to_dataframe()  # doctest: +SKIP
    """

    mode: str
    param_names: tuple[str, ...]
    nominal: ParamSet
    points: tuple[ParamSet, ...]
    seed: int | None = None
    linked: tuple[tuple[str, ...], ...] = ()

    def __len__(self) -> int:
        return len(self.points)

    @property
    def design(self) -> Design:
        """The plan's :class:`Design`: its mode, linked groups and seed."""
        return Design(self.mode, self.linked, self.seed)

    def to_dataframe(self) -> Any:
        """The planned combinations as a DataFrame, one row per iteration.

        >>> plan.to_dataframe()  # doctest: +SKIP
        """
        import pandas as pd

        rows = [[point.get(name) for name in self.param_names] for point in self.points]
        return pd.DataFrame(rows, columns=list(self.param_names), dtype=object).infer_objects()
