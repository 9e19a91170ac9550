"""A design checked against its script: names it declares, values it requires, nominal values.

Every planner (value lists, points, samples, a single run) uses these, so a design names an
unknown parameter, or leaves a required one without a value, in the same words whichever
way it was given.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import MissingValueError, ParameterError, ParameterTypeError, warn
from ..paramset import ParamSet, Scalar
from .design import Plan
from .inspection import ScriptInfo

__all__ = ["check_mapping", "check_names", "check_nominal_known", "check_required",
           "finish_plan", "names_and_centre"]

# How the Python API says to give a required value, by kind of design.
_REQUIRED_HINTS = {
    "single": "run(script, {{{name!r}: ...}})",
    "params": "sensitivity(..., nominal={{{name!r}: ...}})",
    "points": "add it to each point, or nominal={{{name!r}: ...}}",
    "sample": "nominal={{{name!r}: ...}}",
}


def check_mapping(value: Any, what: str) -> dict[Any, Any]:
    """``value`` as a dict, or a type error naming ``what`` it should have been.

    >>> check_mapping({"window": 3}, "nominal")
    {'window': 3}
    """
    if not isinstance(value, Mapping):
        raise ParameterTypeError(
            f"{what} must be a dict of parameter name to value(s), got {type(value).__name__}"
        )
    return dict(value)


def check_names(info: ScriptInfo, names: Iterable[Any], what: str) -> None:
    """Every name is a parameter the script declares; an unknown one suggests a close name.

    With names computed at run time (``info.dynamic_params``) an unlisted name may exist: it
    only warns, when it looks like a typo of a listed one.

    >>> check_names(info, ["windw"], "params")  # doctest: +SKIP
    ParameterError: unknown parameter 'windw' in params for pipeline.py. Did you mean 'window'?
    """
    known = info.param_names
    for name in names:
        if not isinstance(name, str):
            raise ParameterTypeError(f"{what} keys must be parameter names (str), got {name!r}")
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        declared = ", ".join(known) if known else "none"
        if info.dynamic_params:  # names computed at run time: an unlisted one may exist
            if close:
                warn(f"parameter {name!r} in {what} is not among the names {info.path} "
                     f"declares literally ({declared}), though some names are computed at run "
                     f"time.{suggestion} The sweep warns at the end if the script never "
                     "read it.")
            continue
        raise ParameterError(
            f"unknown parameter {name!r} in {what} for {info.path}.{suggestion} "
            f"The script declares: {declared}."
        )


def check_required(info: ScriptInfo, values: Mapping[str, Any], design: str) -> None:
    """Every parameter without a script default has a value in ``values``.

    ``design`` is the kind of design (``"single"``, ``"params"``, ``"points"``,
    ``"sample"``): the error carries it, so each front end can say how to give the value.

    >>> check_required(info, {}, "single")  # doctest: +SKIP
    MissingValueError: parameter(s) 'threshold' have no default in pipeline.py, so they must ...
    """
    missing = tuple(p.name for p in info.params if p.required and p.name not in values)
    if missing:
        hint = _REQUIRED_HINTS[design].format(name=missing[0])
        raise MissingValueError(
            f"parameter(s) {', '.join(map(repr, missing))} have no default in {info.path}, so "
            f"they must be given a value: {hint}", "required", missing, (), design)


def check_nominal_known(info: ScriptInfo, swept: list[str], centre: Mapping[str, Any]) -> None:
    """A one-at-a-time sweep varies each parameter around its nominal value: each needs one.

    >>> check_nominal_known(info, ["threshold"], {})  # doctest: +SKIP
    MissingValueError: an independent sweep varies one parameter at a time around a nominal ...
    """
    missing = [name for name in swept if name not in centre]
    if not missing:
        return
    reasons = []
    for name in missing:
        param = info.param(name)
        if param is not None and param.has_default and not param.literal:
            reasons.append(f"its default {param.default_source} is only known at run time")
        elif param is None:
            reasons.append("not declared with a literal name in the script")
        else:
            reasons.append("no script default")
    example = ", ".join(f"{n!r}: ..." for n in missing)
    described = ", ".join(f"{n!r} ({why})" for n, why in zip(missing, reasons))
    raise MissingValueError(
        f"an independent sweep varies one parameter at a time around a nominal value, but "
        f"{described} has none: pass nominal={{{example}}}, or use mode='grid'",
        "nominal", tuple(missing), tuple(reasons), "params")


def names_and_centre(
    info: ScriptInfo, varied: list[str], fixed: ParamSet
) -> tuple[tuple[str, ...], dict[str, Scalar]]:
    """The plan's names (varied, then held constant) and nominal values (given, else default).

    >>> names_and_centre(info, ["window"], ParamSet({"seed": 1}))  # doctest: +SKIP
    (('window', 'seed'), {'seed': 1, 'window': 5})
    """
    names = tuple(varied + [n for n in fixed if n not in varied])
    centre = {n: fixed[n] for n in names if n in fixed}
    for name in varied:
        param = info.param(name)
        if name not in centre and param is not None and param.known_default:
            centre[name] = param.default
    return names, centre


def finish_plan(
    mode: str,
    info: ScriptInfo,
    varied: list[str],
    fixed: ParamSet,
    planned: list[ParamSet],
    *,
    seed: int | None = None,
) -> Plan:
    """The plan of explicit parameter sets: each completed with the known nominal values it
    leaves out, duplicates dropped (type-aware).

    >>> point = ParamSet({"window": 3})
    >>> finish_plan("points", info, ["window"], ParamSet(), [point])  # doctest: +SKIP
    Plan(mode='points', param_names=('window',), ...)
    """
    names, centre = names_and_centre(info, varied, fixed)
    complete = [point.merged({n: v for n, v in centre.items() if n not in point})
                for point in planned]  # a name a point leaves out keeps its known default
    unique = list(dict.fromkeys(complete))
    return Plan(mode, names, ParamSet(centre), tuple(unique), seed=seed)
