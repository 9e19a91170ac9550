"""Replicates: each planned parameter set run k times, each run with its own seed.

A script with random parts (a seed, a bootstrap, noise) gives a different number on every
run; ``replicates=k`` runs every point of a design k times so its analysis can give a mean
and a confidence interval. When the script declares a seed parameter (``replicate_seed``,
by default the Param named ``"seed"``), replicate ``r`` of every point is given the seed
:func:`replicate_seed_value` derives from the sweep's ``seed`` (0 when not given) and
``r``: a rerun, a resumed or an extended sweep gives every replicate the same seed again.
Without one, the replicates run as they are, with the script's own randomness.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from ..errors import DesignError
from .design import Plan
from .inspection import ScriptInfo
from .valuerules import check_plan_size

__all__ = ["DEFAULT_SEED_PARAM", "REPLICATE_SEED", "replicate_plan", "replicate_seed_value"]

DEFAULT_SEED_PARAM = "seed"
REPLICATE_SEED = "replicate seed"  # DesignError.rule of a replicate_seed that cannot be used
_MAX_SEED = 2**31 - 1  # NumPy's legacy seeding and most libraries take 0..2**31 - 1


def replicate_seed_value(seed: int | None, replicate: int) -> int:
    """The seed replicate ``replicate`` is given, derived from the sweep's ``seed`` by a
    stable hash (the same on every machine and Python): an int in 0..2**31 - 1.

    >>> replicate_seed_value(0, 0) == replicate_seed_value(None, 0)
    True
    >>> replicate_seed_value(0, 0) != replicate_seed_value(0, 1)
    True
    """
    text = f"py3r-script replicate {0 if seed is None else seed} {replicate}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % _MAX_SEED


def replicate_plan(info: ScriptInfo, plan: Plan, replicates: int,
                   replicate_seed: str | bool | None, seed: int | None) -> Plan:
    """``plan`` with each point run ``replicates`` times in a row, replicate ``r`` given its
    seed in the parameter ``replicate_seed`` names (``None``: ``"seed"`` when the script
    declares it; ``False``: none). One replicate leaves the plan as it is.

    >>> replicate_plan(info, plan, 3, None, seed=1).replicate_of  # doctest: +SKIP
    (0, 1, 2, 0, 1, 2)
    """
    if replicates == 1:
        return plan
    check_plan_size(len(plan) * replicates,
                    f"replicates={replicates} of {len(plan):,} parameter sets", ("replicates",))
    name = _seed_name(info, plan, replicate_seed)
    seeds = [replicate_seed_value(seed, r) for r in range(replicates)]
    kind = _seed_type(info, name)
    points = tuple(point if name is None else point.merged({name: kind(seeds[r])})
                   for point in plan.points for r in range(replicates))
    return replace(plan, points=points, seed=seed, replicates=replicates, replicate_seed=name,
                   replicate_of=tuple(r for _ in plan.points for r in range(replicates)))


def _seed_name(info: ScriptInfo, plan: Plan, replicate_seed: str | bool | None) -> str | None:
    """The parameter each replicate's seed goes to, checked against the script and design."""
    if replicate_seed is False:
        return None
    if replicate_seed is None or replicate_seed is True:
        if DEFAULT_SEED_PARAM not in info.param_names:
            return None  # the script's own randomness, as it is
        name = DEFAULT_SEED_PARAM
    elif not isinstance(replicate_seed, str):
        raise DesignError(f"replicate_seed must name a parameter of the script (str), or be "
                          f"False for none; got {replicate_seed!r}", REPLICATE_SEED,
                          ("replicate_seed",))
    else:
        name = replicate_seed
    if name not in info.param_names and not info.dynamic_params:
        declared = ", ".join(info.param_names) or "none"
        raise DesignError(
            f"replicate_seed={name!r}, but {info.path} declares no parameter {name!r} "
            f"(it declares: {declared}): name its seed parameter, declare one "
            f"({name} = Param(0, name={name!r})) and pass it to the random generator, or "
            "pass replicate_seed=False to run the replicates with the script's own randomness",
            REPLICATE_SEED, ("replicate_seed",))
    if name in plan.param_names:
        raise DesignError(
            f"{name!r} is the replicate seed (each replicate gets its own), but the design also "
            f"gives it values: leave {name!r} out of the design and its nominal values, or "
            f"pass replicate_seed=False to run each replicate with the {name!r} given",
            REPLICATE_SEED, ("replicate_seed",))
    return name


def _seed_type(info: ScriptInfo, name: str | None) -> Any:
    """The type a seed is given as: the type of the parameter's literal default (a float
    seed stays a float, a str seed a str), an int otherwise."""
    param = None if name is None else info.param(name)
    default = param.default if param is not None and param.known_default else None
    if isinstance(default, float):
        return float
    if isinstance(default, str):
        return str
    return int
