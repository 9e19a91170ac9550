"""The design vocabulary, ``Design`` (how a sweep's parameter sets were chosen) and ``Plan``
(the parameter sets themselves, in the order they run).

One place says which kinds of design there are and what each is called, for planning,
storing and analysing a sweep alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..paramset import ParamSet

__all__ = ["DESCRIPTIONS", "GLOBAL_METHODS", "MODES", "SAMPLE_METHODS", "Design", "Plan"]

MODES = ("independent", "grid")  # designs made of value lists
# Global sensitivity designs: drawn by SALib, each read by its own estimator (designs.globalsample)
GLOBAL_METHODS = ("morris", "sobol")
SAMPLE_METHODS = ("lhs", "random", *GLOBAL_METHODS)
DESCRIPTIONS = {
    "single": "a single run",
    "independent": "an independent sweep, which varies one parameter at a time",
    "grid": "a grid",
    "points": "explicit points",
    "random": "a random sample",
    "lhs": "a Latin-hypercube sample",
    "morris": "a Morris design (elementary effects along trajectories)",
    "sobol": "a Sobol' design (Saltelli's scheme, for variance-based indices)",
}


_RANGE_FIELDS = ("name", "low", "high", "integer", "log", "choices")


@dataclass(frozen=True)
class Design:
    """How a sweep's parameter sets were chosen, which analysis needs to read them right.

    ``mode`` is ``"single"``, ``"independent"``, ``"grid"``, ``"points"``, ``"random"``,
    ``"lhs"``, ``"morris"`` or ``"sobol"``; ``linked`` the groups of parameters that varied
    together; ``seed`` the seed a sampled design was drawn with. A global sensitivity design
    (Morris, Sobol') also keeps what its analysis needs to draw the same sample again: ``n``,
    the method's ``options`` (sorted ``(name, value)`` pairs) and the ``ranges`` it sampled,
    one ``(name, low, high, integer, log, choices)`` tuple per parameter. ``replicates`` is
    how many times each parameter set runs, and ``replicate_seed`` the parameter each
    replicate's own seed goes to (``None``: none; see ``designs.replicates``).

    >>> Design("grid", linked=(("window", "min_len"),))  # doctest: +ELLIPSIS
    Design(mode='grid', linked=(('window', 'min_len'),), seed=None, n=None, options=(), ...)
    """

    mode: str
    linked: tuple[tuple[str, ...], ...] = ()
    seed: int | None = None
    n: int | None = None
    options: tuple[tuple[str, Any], ...] = ()
    ranges: tuple[tuple[Any, ...], ...] = ()
    replicates: int = 1
    replicate_seed: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"mode": self.mode, "linked": [list(g) for g in self.linked],
                                "seed": self.seed}
        if self.global_sa:  # older designs stay as they were stored
            data.update(n=self.n, options=dict(self.options),
                         ranges=[dict(zip(_RANGE_FIELDS, r)) for r in self.ranges])
        if self.replicates != 1:
            data.update(replicates=self.replicates, replicate_seed=self.replicate_seed)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Design:
        ranges = tuple(tuple(tuple(r[f]) if f == "choices" else r[f] for f in _RANGE_FIELDS)
                       for r in data.get("ranges") or ())
        return cls(str(data["mode"]), tuple(tuple(g) for g in data.get("linked") or ()),
                   data.get("seed"), data.get("n"),
                   tuple(sorted((data.get("options") or {}).items())), ranges,
                   int(data.get("replicates") or 1), data.get("replicate_seed"))

    @property
    def global_sa(self) -> bool:
        """A global sensitivity design (Morris, Sobol'), analysed by its own estimator."""
        return self.mode in GLOBAL_METHODS

    @property
    def sampled(self) -> bool:
        """Drawn at random from ranges (Morris and Sobol' designs too): no nominal point, no
        crossed values."""
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
    names that vary together. A Morris or Sobol' plan keeps its whole :class:`Design` in
    ``global_design`` and the number of rows of its SALib sample in ``design_rows`` (rows
    that give the same parameter set run once, so ``len(plan)`` can be smaller). With
    ``replicates=k`` each parameter set runs k times, one after another: ``points`` holds
    every run (each with its own seed in ``replicate_seed``, when there is one) and
    ``replicate_of`` which replicate each is.

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
    global_design: Design | None = None
    design_rows: int | None = None
    replicates: int = 1
    replicate_seed: str | None = None
    replicate_of: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.points)

    def replicate(self, index: int) -> int:
        """Which replicate iteration ``index`` is (0 without replicates)."""
        return self.replicate_of[index] if self.replicate_of else 0

    @property
    def design(self) -> Design:
        """The plan's :class:`Design`: its mode, linked groups and seed (and, for a Morris or
        Sobol' design, what its analysis needs; with replicates, how many)."""
        design = self.global_design or Design(self.mode, self.linked, self.seed)
        if self.replicates == 1:
            return design
        return replace(design, seed=self.seed, replicates=self.replicates,
                       replicate_seed=self.replicate_seed)

    def __repr__(self) -> str:
        runs = (f"{len(self)} iterations ({len(self) // self.replicates} points x "
                f"{self.replicates} replicates)" if self.replicates > 1
                else f"{len(self)} iterations")
        shown = ", ".join(str(dict(p)) for p in self.points[:3])
        more = ", ..." if len(self) > 3 else ""
        return (f"Plan(mode={self.mode!r}, {runs}, param_names={self.param_names!r}, "
                f"points=[{shown}{more}])")

    def to_dataframe(self) -> Any:
        """The planned combinations as a DataFrame, one row per iteration.

        >>> plan.to_dataframe()  # doctest: +SKIP
        """
        import pandas as pd

        names = list(self.param_names)
        if self.replicates > 1:  # which replicate, and the seed each one is given
            seeded = [self.replicate_seed] if self.replicate_seed else []
            names = [*names, *(n for n in seeded if n not in names)]
        rows = [[point.get(name) for name in names] for point in self.points]
        frame = pd.DataFrame(rows, columns=names, dtype=object).infer_objects()
        if self.replicates > 1:
            frame.insert(len(self.param_names), "replicate", list(self.replicate_of))
        return frame
