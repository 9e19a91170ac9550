"""The design vocabulary, and ``Design``: how a sweep's parameter sets were chosen.

One place says which kinds of design there are and what each is called, for planning,
storing and analysing a sweep alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["DESCRIPTIONS", "MODES", "SAMPLE_METHODS", "Design"]

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
