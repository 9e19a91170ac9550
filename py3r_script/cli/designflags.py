"""Sweep designs from command-line flags, checked so that each error names the flag to fix.

The API checks the same things, but its messages name keyword arguments (``nominal={...}``);
here they name ``--nominal NAME=VALUE``, or the key of a sweep file.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from ..designs.inspection import ScriptInfo
from ..errors import SweepError

__all__ = ["FLAGS", "Spelling", "check_complete", "check_design_flags", "command_line_design",
           "file_spelling", "single_values"]


@dataclass(frozen=True)
class Spelling:
    """How a fix is written: as command-line flags, or as keys of a sweep file."""

    nominal: str  # "{name}" is replaced by the parameter's name
    grid: str
    point: str
    prefix: str = ""


FLAGS = Spelling(nominal="--nominal {name}=VALUE", grid="--mode grid",
                 point="a {name} column in the --points file")


def file_spelling(path: object) -> Spelling:
    """The spelling of fixes to the sweep file at ``path``."""
    return Spelling(nominal="{name} = VALUE in [nominal]", grid='mode = "grid"',
                    point="{name} = VALUE in every [[points]] table", prefix=f"{path}: ")


def single_values(texts: list[str], info: ScriptInfo, flag: str) -> dict[str, Any]:
    """``NAME=VALUE`` items of a repeated flag (``-p``, ``--nominal``): one per name.

    >>> single_values(["window=3", "thr=0.5"], info, "-p")  # doctest: +SKIP
    {'window': 3, 'thr': 0.5}
    """
    from .textvalues import parse_assignment

    values: dict[str, Any] = {}
    for text in texts:
        name, value = parse_assignment(text, info, many=False)
        if name in values:
            raise SweepError(
                f"{flag} gives {name!r} twice ({values[name]!r} and {value!r}); give each "
                "parameter one value" + (" (to try several, sweep them: -s NAME=V1,V2)"
                                         if flag == "-p" else ""))
        values[name] = value
    return values


def check_design_flags(args: argparse.Namespace, kind: str, described: str) -> None:
    """``--mode`` goes with value lists, ``-n``/``--seed``/``--method`` with sampling.

    ``kind`` is the design given (``"params"``, ``"points"`` or ``"sample"``); a flag that
    would be ignored by it is an error rather than silently dropped.
    """
    sampling = [flag for flag, value in (("-n", args.n), ("--seed", args.seed),
                                         ("--method", args.method)) if value is not None]
    if args.mode is not None and kind != "params":
        raise SweepError(f"--mode sets how -s and --link values (or a sweep file's [params]) "
                         f"combine; it does nothing for {described}: leave it out")
    if getattr(args, "include_nominal", None) is not None and kind != "params":
        raise SweepError(f"--include-nominal decides whether a grid of -s/--link values (or a "
                         f"sweep file's [params]) adds the nominal values; it does nothing for "
                         f"{described}: leave it out")
    if sampling and kind != "sample":
        raise SweepError(f"{', '.join(sampling)} go with --sample (or a sweep file's "
                         f"[sample]); they do nothing for {described}: leave them out")


def command_line_design(args: argparse.Namespace, info: ScriptInfo) -> dict[str, Any]:
    """The design given by ``sweep SCRIPT`` flags, typed by the script's defaults."""
    from .textvalues import parse_assignment, parse_linked, parse_sample

    designs = [flag for flag, value in (("-s/--link", args.sweeps or args.link),
                                        ("--points", args.points), ("--sample", args.sample))
               if value]
    if not designs:
        raise SweepError(
            f"no design for {info.path}: give -s NAME=V1,V2,... (a grid of values; add "
            "--mode independent for one at a time), --link A,B=A1:B1,A2:B2 (values that "
            "vary together), --points CSV (parameter sets) or --sample NAME=LOW:HIGH with "
            "-n N (random draws); or give a sweep file"
        )
    if len(designs) > 1:
        raise SweepError(f"give exactly one design: -s/--link, --points or --sample; got "
                         f"{' and '.join(designs)}")
    kind = {"-s/--link": "params", "--points": "points", "--sample": "sample"}[designs[0]]
    check_design_flags(args, kind, f"a {designs[0]} design")
    nominal = single_values(args.nominal, info, "--nominal")
    design: dict[str, Any] = {"nominal": nominal, "mode": args.mode or "grid"}
    if args.include_nominal is not None:
        design["include_nominal"] = args.include_nominal
    if args.points:
        design["points"] = _read_points(args.points, info)
    if args.sample:
        if args.n is None:
            raise SweepError("--sample needs -n N, the number of parameter sets to draw")
        design.update(sample=dict(parse_sample(text, info) for text in args.sample),
                      n=args.n, method=args.method or "lhs", seed=args.seed)
    if args.sweeps or args.link:
        params: dict[Any, list[Any]] = {}
        for text in args.sweeps:  # -s w=1,2 -s w=3 sweeps 1, 2 and 3
            name, values = parse_assignment(text, info, many=True)
            params.setdefault(name, []).extend(values)  # type: ignore[arg-type]
        for text in args.link:
            names, rows = parse_linked(text, info)
            params[names] = rows
        design["params"] = params
    return design


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


def check_complete(info: ScriptInfo, design: dict[str, Any], spelling: Spelling) -> None:
    """Every required parameter has a value; a one-at-a-time sweep has its nominal values.

    ``design`` holds the keyword arguments for ``sweep()`` (a single run: its values as
    ``nominal``).
    """
    nominal = design.get("nominal", {})
    swept = [name for key in design.get("params", {})
             for name in (key if isinstance(key, tuple) else (key,))]
    given = {*nominal, *swept, *design.get("sample", {})}
    points = design.get("points")
    if points:
        given |= set.intersection(*(set(point) for point in points))
    missing = [p.name for p in info.params if p.required and p.name not in given]
    if missing:
        fixes = " and ".join(spelling.nominal.format(name=n) for n in missing)
        if points:
            fixes += " (or " + " and ".join(spelling.point.format(name=n) for n in missing) + ")"
        raise SweepError(f"{spelling.prefix}parameter(s) {', '.join(map(repr, missing))} have "
                         f"no default in {info.path}, so they need a value: give {fixes}")
    if design.get("mode") == "independent" and design.get("include_nominal") is False:
        raise SweepError(f"{spelling.prefix}leaving the nominal values out is for a grid "
                         f"({spelling.grid}): an independent sweep varies each parameter "
                         "around its nominal value, so it needs it")
    if design.get("mode") != "independent" or "params" not in design:
        return
    reasons = []
    for name in swept:
        param = info.param(name)
        if name in nominal or (param is not None and param.known_default):
            continue
        if param is not None and param.has_default:
            why = f"its default {param.default_source} is only known at run time"
        else:
            why = "no script default"
        reasons.append((name, why))
    if reasons:
        fixes = " and ".join(spelling.nominal.format(name=n) for n, _ in reasons)
        raise SweepError(
            f"{spelling.prefix}an independent sweep varies one parameter at a time around its "
            f"nominal value, but {', '.join(f'{n!r} ({why})' for n, why in reasons)} has "
            f"none: give {fixes}, or use {spelling.grid}")
