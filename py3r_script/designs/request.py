"""A design request: the one design a sweep asks for, checked against the design rules.

The Python API, the command line and sweep files all build a :class:`DesignRequest` with
:func:`design_request`, so each rule below is stated here once. A broken rule raises
:class:`~py3r_script.errors.DesignError`, worded for the Python API; its ``rule``,
``arguments`` and ``design`` let the command line and sweep files word it as flags or keys.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import DesignError, ParameterTypeError
from .design import MODES, SAMPLE_METHODS
from .methodoptions import check_method_options
from .valuerules import check_plan_size

__all__ = [
    "BAD_REPLICATES", "DESIGN_ARGUMENTS", "GOES_WITH", "GRID_ONLY", "NEEDS_N", "ONE_DESIGN",
    "UNKNOWN_METHOD", "UNKNOWN_MODE", "USED_BY", "DesignRequest", "check_include_nominal",
    "check_method", "check_mode", "check_replicates", "design_request",
]

DESIGN_ARGUMENTS = ("params", "points", "sample")  # the ways to give a design
# The design arguments that only one kind of design uses (in the order they are checked).
USED_BY = {"mode": "params", "include_nominal": "params", "n": "sample", "seed": "sample",
           "method": "sample", "method_options": "sample"}

# The rules, as DesignError.rule names them.
ONE_DESIGN = "give exactly one design"
GOES_WITH = "goes with another design"
NEEDS_N = "sample needs n"
GRID_ONLY = "include_nominal=False is for grids"
UNKNOWN_MODE = "unknown mode"
UNKNOWN_METHOD = "unknown sampling method"
BAD_REPLICATES = "replicates is a whole number of runs, at least 1"


@dataclass(frozen=True)
class DesignRequest:
    """One design as asked for: its ``kind`` and values, and how they combine.

    ``kind`` is ``"params"`` (value lists, in a grid or one at a time), ``"points"``,
    ``"sample"``, or ``"single"`` (one run of ``params``, which keep one value each). Only
    the fields of its kind are used; a sample's ``method_options`` are its method's options,
    checked and completed with their defaults (``designs.methodoptions``). Every kind may
    run each parameter set ``replicates`` times, each replicate's seed going to the
    parameter ``replicate_seed`` names (``designs.replicates``). Planning it
    against a script gives a ``Plan`` (:func:`py3r_script.designs.planning.plan_design`).

    >>> design_request({"window": [3, 5]}, mode="independent")  # doctest: +ELLIPSIS
    DesignRequest(kind='params', params={'window': [3, 5]}, ..., mode='independent', ...)
    """

    kind: str
    params: Mapping[Any, Any] | None = None
    points: Sequence[Mapping[str, Any]] | None = None
    sample: Mapping[str, Any] | None = None
    nominal: Mapping[str, Any] | None = None
    mode: str = "grid"
    include_nominal: bool = True
    n: int | None = None
    method: str = "lhs"
    seed: int | None = None
    method_options: Mapping[str, Any] | None = None
    replicates: int = 1
    replicate_seed: str | bool | None = None


def design_request(
    params: Mapping[Any, Any] | None = None,
    *,
    points: Sequence[Mapping[str, Any]] | None = None,
    sample: Mapping[str, Any] | None = None,
    nominal: Mapping[str, Any] | None = None,
    mode: str | None = None,
    include_nominal: bool | None = None,
    n: int | None = None,
    method: str | None = None,
    seed: int | None = None,
    method_options: Mapping[str, Any] | None = None,
    replicates: int = 1,
    replicate_seed: str | bool | None = None,
    given: Collection[str] | None = None,
) -> DesignRequest:
    """Check a design against the rules and return it as one :class:`DesignRequest`.

    The rules: exactly one of ``params``, ``points`` and ``sample``; a design argument that
    only another kind of design uses (``mode`` and ``include_nominal`` go with ``params``;
    ``n``, ``seed``, ``method`` and ``method_options`` with ``sample``) is refused when it
    was given; ``sample`` needs ``n``, at most
    :data:`~py3r_script.designs.valuerules.MAX_PLAN_SIZE`; ``include_nominal=False`` is for
    grids; a grid's ``mode`` and a sample's ``method`` are known names, and
    ``method_options`` are options of that method (``designs.methodoptions``). ``None``
    leaves an argument at its default (``mode="grid"``, ``method="lhs"``, each option its
    method's default). ``replicates`` (a whole number, at least 1) runs each parameter set
    that many times; then ``seed`` goes with any design, as the seed each replicate's own
    seed is derived from (``designs.replicates``).

    ``given`` names the design arguments the user set: the command line and sweep-file
    overrides know it. The Python API cannot tell ``mode="grid"`` from its default, so it
    leaves ``given=None``: then only ``n`` and ``method_options`` (when not ``None``) and
    ``include_nominal`` (when not ``True``), which no default sets, count as given.

    Examples
    --------
    >>> design_request(sample={"x": (0.0, 1.0)}, n=8, seed=1).kind
    'sample'
    >>> design_request({"x": [1, 2]}, n=8)
    Traceback (most recent call last):
    ...
    py3r_script.errors.DesignError: n is the number of samples: it goes with sample=...
    """
    designs = tuple(name for name, value in zip(DESIGN_ARGUMENTS, (params, points, sample))
                    if value is not None)
    if len(designs) != 1:
        shown = " and ".join(designs) if designs else "none"
        raise DesignError(f"give exactly one design: params (value lists), points (a list of "
                          f"dicts) or sample (ranges, with n); got {shown}", ONE_DESIGN, designs)
    kind = designs[0]
    replicates = check_replicates(replicates)
    if given is None:
        given = [name for name, value in (("n", n), ("method_options", method_options))
                 if value is not None]
        if include_nominal is not None and include_nominal is not True:
            given.append("include_nominal")
    if replicates > 1:  # the replicates' seeds derive from it, whatever the design
        given = [name for name in given if name != "seed"]
    _check_used(kind, given)
    if kind == "sample" and n is None:
        raise DesignError("sample=... needs n, the number of parameter sets to draw", NEEDS_N,
                          ("sample", "n"), kind)
    if kind == "sample" and type(n) is int:  # other types: the sampler says what n takes
        check_plan_size(n, "n", ("n",), kind)
    mode = "grid" if mode is None else mode
    method = "lhs" if method is None else method
    include = True if include_nominal is None else include_nominal
    if kind == "params":  # what other designs do not use is not checked either
        include = check_include_nominal(include, check_mode(mode))
    options = None
    if kind == "sample":
        method = check_method(method)
        options = check_method_options(method, method_options, n)
    return DesignRequest(kind, params, points, sample, nominal, mode, include, n, method, seed,
                         options, replicates, replicate_seed)


def _check_used(kind: str, given: Collection[str]) -> None:
    """A design argument given with a design that does not use it would be silently ignored:
    refused, one value-list argument at a time, the sampling ones together."""
    unused = [name for name, user in USED_BY.items() if name in given and user != kind]
    for name in unused:
        if USED_BY[name] == "params":
            raise DesignError(
                f"{name} goes with params (a grid of value lists); points and samples run "
                f"exactly the parameter sets given", GOES_WITH, (name,), kind)
    if unused:
        sampling = tuple(unused)
        message = ("n is the number of samples: it goes with sample=..." if sampling == ("n",)
                   else f"{', '.join(sampling)} go with sample=...")
        raise DesignError(message, GOES_WITH, sampling, kind)


def check_replicates(replicates: Any) -> int:
    """How many times each parameter set runs: a whole number, at least 1.

    >>> check_replicates(3)
    3
    >>> check_replicates(0)
    Traceback (most recent call last):
    ...
    py3r_script.errors.DesignError: replicates must be a whole number of runs per parameter ...
    """
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 1:
        raise DesignError(f"replicates must be a whole number of runs per parameter set, at "
                          f"least 1 (1: run each once); got {replicates!r}", BAD_REPLICATES,
                          ("replicates",))
    return replicates


def check_mode(mode: Any) -> str:
    """How value lists combine: ``"independent"`` (one at a time) or ``"grid"``.

    >>> check_mode("grid")
    'grid'
    """
    if mode not in MODES:
        raise DesignError(f"unknown mode {mode!r}; use one of {', '.join(map(repr, MODES))}",
                          UNKNOWN_MODE, ("mode",), "params")
    return str(mode)


def check_method(method: Any) -> str:
    """How a sample is drawn: ``"lhs"`` (Latin hypercube), ``"random"``, or a global
    sensitivity design, ``"morris"`` or ``"sobol"`` (drawn by SALib).

    >>> check_method("random")
    'random'
    """
    if method not in SAMPLE_METHODS:
        raise DesignError(f"unknown sampling method {method!r}; use one of {SAMPLE_METHODS}",
                          UNKNOWN_METHOD, ("method",), "sample")
    return str(method)


def check_include_nominal(include_nominal: Any, mode: str) -> bool:
    """Whether a grid adds each parameter's nominal value to its list; ``False`` is for grids.

    >>> check_include_nominal(False, "grid")
    False
    """
    if not isinstance(include_nominal, bool):
        raise ParameterTypeError(f"include_nominal must be True or False, got "
                                 f"{include_nominal!r}")
    if not include_nominal and mode == "independent":
        raise DesignError(
            "include_nominal=False is for grids: an independent sweep varies one parameter at "
            "a time around a baseline run at the nominal values, so it always runs them; use "
            "mode='grid' to run exactly the product of the given values",
            GRID_ONLY, ("include_nominal", "mode"), "params")
    return include_nominal
