"""Sweep designs from command-line flags (or a sweep file and the flags that override it).

The design rules are ``designs.request``'s and the planner's; here their errors are worded
from their fields (``rule``, ``arguments``, ``names``...) as the flags to fix, or the keys of
a sweep file, never by reading their messages.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..designs.methodoptions import (
    BAD_OPTION,
    OPTION_HELP,
    OPTION_NAMES,
    UNKNOWN_OPTION,
    method_of,
)
from ..designs.planning import Plan, plan_design
from ..designs.replicates import REPLICATE_SEED
from ..designs.request import (
    BAD_REPLICATES,
    GOES_WITH,
    GRID_ONLY,
    NEEDS_N,
    ONE_DESIGN,
    USED_BY,
    DesignRequest,
    check_replicates,
)
from ..designs.request import design_request as checked_request
from ..designs.valuerules import TOO_MANY
from ..errors import DesignError, MissingValueError, SweepError

if TYPE_CHECKING:
    from ..designs.inspection import ScriptInfo
    from .sweepfile import SweepFile

__all__ = ["FLAGS", "RUN", "Spelling", "command_line_request", "design_overrides",
           "file_request", "file_spelling", "plan_in_terms", "replicate_flags", "single_values"]

_FLAG_NAMES = {"params": "-s/--link", "points": "--points", "sample": "--sample", "n": "-n",
               "seed": "--seed", "method": "--method", "mode": "--mode",
               "include_nominal": "--include-nominal",
               "method_options": "--levels/--optimal-trajectories/--second-order",
               **{name: "--" + name.replace("_", "-") for name in OPTION_NAMES}}
# the design flags that also override a sweep file's design (method options: each its own)
_OVERRIDES = (*(name for name in USED_BY if name != "method_options"), "replicates",
              "replicate_seed")


@dataclass(frozen=True)
class Spelling:
    """How a fix is written: as command-line flags, or as keys of a sweep file."""

    nominal: str  # "{name}" is replaced by the parameter's name
    grid: str
    point: str
    prefix: str = ""
    option: str = "--{flag}"  # a method option: {flag} is its flag's name, {name} its key's
    designs: Mapping[str, str] = field(default_factory=lambda: {
        kind: f"a {_FLAG_NAMES[kind]} design" for kind in ("params", "points", "sample")})


FLAGS = Spelling(nominal="--nominal {name}=VALUE", grid="--mode grid",
                 point="a {name} column in the --points file")
RUN = Spelling(nominal="-p {name}=VALUE", grid="", point="")


def file_spelling(path: object) -> Spelling:
    """The spelling of fixes to the sweep file at ``path``.

    >>> file_spelling("s.toml").nominal.format(name="seed")
    'seed = VALUE in [nominal]'
    """
    tables = {"params": "[params]", "points": "[[points]]", "sample": "[sample]"}
    return Spelling(nominal="{name} = VALUE in [nominal]", grid='mode = "grid"',
                    point="{name} = VALUE in every [[points]] table", prefix=f"{path}: ",
                    option="{name} in [sample]",
                    designs={k: f"the {table} design of {path}" for k, table in tables.items()})


def single_values(texts: list[str], info: ScriptInfo, flag: str) -> dict[str, Any]:
    """``NAME=VALUE`` items of a repeated flag (``-p``, ``--nominal``): one per name.

    >>> single_values(["window=3", "thr=0.5"], info, "-p")  # doctest: +SKIP
    {'window': 3, 'thr': 0.5}
    """
    from .textvalues import parse_assignment

    values: dict[str, Any] = {}
    for text in texts:
        if "=" not in text:
            raise SweepError(f"{flag} takes NAME=VALUE, got {text!r}: write {flag} "
                             f"{shlex.quote(text + '=VALUE')}")
        name, value = parse_assignment(text, info, many=False)
        if name in values:
            raise SweepError(
                f"{flag} gives {name!r} twice ({values[name]!r} and {value!r}); give each "
                "parameter one value" + (" (to try several, sweep them: -s NAME=V1,V2)"
                                         if flag == "-p" else ""))
        values[name] = value
    return values


def command_line_request(args: argparse.Namespace, info: ScriptInfo) -> DesignRequest:
    """The design ``sweep SCRIPT`` flags give: its shape checked from the flags given, then
    its values typed by the script's defaults.

    >>> command_line_request(parse(["sweep", "s.py", "-s", "w=1,2"]), info)  # doctest: +SKIP
    DesignRequest(kind='params', params={'w': [1, 2]}, ...)
    """
    from .textvalues import parse_assignment, parse_linked, parse_sample

    overrides = design_overrides(args)
    shape = _request(info, FLAGS, {} if args.sweeps or args.link else None,
                     points=[] if args.points else None, sample={} if args.sample else None,
                     **overrides, given=list(overrides))
    nominal = single_values(args.nominal, info, "--nominal")
    if shape.kind == "points":
        return replace(shape, nominal=nominal, points=_read_points(args.points, info))
    if shape.kind == "sample":
        return replace(shape, nominal=nominal,
                       sample=dict(parse_sample(text, info) for text in args.sample))
    params: dict[Any, list[Any]] = {}
    for text in args.sweeps:  # -s w=1,2 -s w=3 sweeps 1, 2 and 3
        name, values = parse_assignment(text, info, many=True)
        params.setdefault(name, []).extend(values)  # type: ignore[arg-type]
    for text in args.link:
        names, rows = parse_linked(text, info)
        params[names] = rows
    return replace(shape, nominal=nominal, params=params)


def file_request(spec: SweepFile, info: ScriptInfo, args: argparse.Namespace) -> DesignRequest:
    """A sweep file's design, typed by the script, with the flags that override it.

    >>> file_request(read_sweep_file("s.toml"), info, parse(["sweep", "s.toml"]))  # doctest: +SKIP
    DesignRequest(kind='params', ...)
    """
    design = spec.typed_design(info)
    overrides = design_overrides(args)
    if "method_options" in overrides:  # an option flag overrides that option of the file
        overrides["method_options"] = {**design.get("method_options", {}),
                                       **overrides["method_options"]}
    return _request(info, file_spelling(spec.path), **{**design, **overrides},
                    given=list(overrides), flagged=overrides.get("method_options", ()))


def design_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The design flags given (``n``, ``seed``, ``method``...; the Morris and Sobol' option
    flags together as ``method_options``), by their design argument's name.

    >>> design_overrides(parse(["sweep", "s.py", "-n", "8", "--levels", "6"]))  # doctest: +SKIP
    {'n': 8, 'method_options': {'levels': 6}}
    """
    overrides = {name: getattr(args, name) for name in _OVERRIDES
                 if getattr(args, name, None) is not None}
    if str(overrides.get("replicate_seed", "")).lower() == "none":
        overrides["replicate_seed"] = False  # --replicate-seed none: no seed parameter
    options = {name: getattr(args, name) for name in OPTION_NAMES
               if getattr(args, name, None) is not None}
    if options:
        overrides["method_options"] = options
    return overrides


def replicate_flags(args: argparse.Namespace) -> dict[str, Any]:
    """``--replicates`` and ``--replicate-seed`` as design arguments, checked.

    >>> replicate_flags(parse(["run", "s.py", "--replicates", "3"]))  # doctest: +SKIP
    {'replicates': 3}
    """
    given = {name: value for name, value in design_overrides(args).items()
             if name in ("replicates", "replicate_seed")}
    try:
        check_replicates(given.get("replicates", 1))
    except DesignError as exc:
        raise SweepError(_design_message(exc, None, FLAGS)) from None
    return given


def plan_in_terms(info: ScriptInfo, request: DesignRequest, spelling: Spelling) -> Plan:
    """The request's plan; a parameter left without a value is asked for as ``spelling``
    writes it.

    >>> plan_in_terms(info, DesignRequest("single", params={}), RUN)  # doctest: +SKIP
    SweepError: parameter(s) 'threshold' have no default in pipeline.py, so they need a value:
    give -p threshold=VALUE
    """
    try:
        return plan_design(info, request)
    except DesignError as exc:
        if exc.rule != REPLICATE_SEED:
            raise
        flag = spelling.prefix == ""  # else a sweep file's keys
        raise SweepError(spelling.prefix + str(exc).replace(
            "replicate_seed=False", "--replicate-seed none" if flag else "replicate_seed = false"
        ).replace("replicate_seed=", "--replicate-seed " if flag else "replicate_seed = ")
        ) from None
    except MissingValueError as exc:
        fixes = " and ".join(spelling.nominal.format(name=n) for n in exc.names)
        if exc.rule == "nominal":
            described = ", ".join(f"{n!r} ({why})" for n, why in zip(exc.names, exc.reasons))
            raise SweepError(
                f"{spelling.prefix}an independent sweep varies one parameter at a time around "
                f"its nominal value, but {described} has none: give {fixes}, or use "
                f"{spelling.grid}") from None
        if exc.design == "points":
            fixes += " (or " + " and ".join(spelling.point.format(name=n)
                                            for n in exc.names) + ")"
        raise SweepError(f"{spelling.prefix}parameter(s) {', '.join(map(repr, exc.names))} "
                         f"have no default in {info.path}, so they need a value: give "
                         f"{fixes}") from None


def _request(info: ScriptInfo, spelling: Spelling, *args: Any,
             flagged: Collection[str] = (), **kwargs: Any) -> DesignRequest:
    """``designs.request.design_request``, its errors worded as ``spelling`` writes fixes
    (a method option given as a flag, one of ``flagged``, as that flag)."""
    try:
        return checked_request(*args, **kwargs)
    except DesignError as exc:
        if exc.rule in (UNKNOWN_OPTION, BAD_OPTION) and exc.arguments[0] in flagged:
            spelling = FLAGS
        raise SweepError(_design_message(exc, info, spelling)) from None


def _design_message(exc: DesignError, info: ScriptInfo | None, spelling: Spelling) -> str:
    flags = [_FLAG_NAMES.get(name, name) for name in exc.arguments]
    described = spelling.designs.get(exc.design or "", "")
    if exc.rule == ONE_DESIGN and not flags:
        where = info.path if info else "the script"
        return (f"no design for {where}: give -s NAME=V1,V2,... (a grid of values; add "
                "--mode independent for one at a time), --link A,B=A1:B1,A2:B2 (values that "
                "vary together), --points CSV (parameter sets) or --sample NAME=LOW:HIGH with "
                "-n N (random draws); or give a sweep file")
    if exc.rule == ONE_DESIGN:
        return (f"give exactly one design: -s/--link, --points or --sample; got "
                f"{' and '.join(flags)}")
    if exc.rule == GOES_WITH and exc.arguments == ("mode",):
        return (f"--mode sets how -s and --link values (or a sweep file's [params]) combine; "
                f"it does nothing for {described}: leave it out")
    if exc.rule == GOES_WITH and exc.arguments == ("include_nominal",):
        return (f"--include-nominal decides whether a grid of -s/--link values (or a sweep "
                f"file's [params]) adds the nominal values; it does nothing for {described}: "
                "leave it out")
    if exc.rule == GOES_WITH:
        return (f"{', '.join(flags)} go with --sample (or a sweep file's [sample]); they do "
                f"nothing for {described}: leave them out")
    if exc.rule == NEEDS_N:
        return "--sample needs -n N, the number of parameter sets to draw"
    if exc.rule == BAD_REPLICATES:
        return f"--replicates {str(exc).replace('replicates ', '', 1)}"
    if exc.rule in (UNKNOWN_OPTION, BAD_OPTION):
        return _option_message(exc, spelling)
    if exc.rule == TOO_MANY and exc.arguments == ("n",):
        return f"-n {str(exc).replace('n asks', 'asks', 1)}"
    if exc.rule == GRID_ONLY:
        return (f"{spelling.prefix}leaving the nominal values out is for a grid "
                f"({spelling.grid}): an independent sweep varies each parameter around its "
                "nominal value, so it needs it")
    return str(exc)


def _option_message(exc: DesignError, spelling: Spelling) -> str:
    """A Morris or Sobol' option that the method does not take, or a value it refuses."""
    name = exc.arguments[0]
    option = spelling.prefix + spelling.option.format(flag=name.replace("_", "-"), name=name)
    if exc.rule == UNKNOWN_OPTION:
        owner = method_of(name)
        method = "--method" if spelling.option.startswith("--") else "method"
        return (f"{option} goes with {method} {owner}; it does nothing for another method: "
                "leave it out" if owner else f"{option}: not an option of any method")
    size = " (fewer than the n trajectories)" if name == "optimal_trajectories" else ""
    return f"{option} must be {OPTION_HELP.get(name, 'a valid value')}{size}"


def _read_points(path: str, info: ScriptInfo) -> list[dict[str, Any]]:
    """Parameter sets from a CSV file: a header of names, a row per set; blank: default."""
    import csv

    from .textvalues import parse_assignment

    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SweepError(f"--points {path}: {exc}") from None
    if not rows:
        raise SweepError(f"--points {path}: no parameter sets; the file needs a header of "
                         "parameter names and a row per set")
    return [dict(parse_assignment(f"{name}={value}", info, many=False)
                 for name, value in row.items() if value not in ("", None))
            for row in rows]
