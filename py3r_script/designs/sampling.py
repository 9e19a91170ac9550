"""Random and Latin-hypercube samples of parameter ranges, reproducible from a seed.

A range is a ``(low, high)`` tuple: floats are drawn uniformly in ``[low, high)``, ints
uniformly among ``low..high`` inclusive; ``(low, high, "log")`` draws floats uniformly in
log space (integers, for an integer dimension: the floor of a log-uniform draw in
``[low, high + 1)``, so each integer ``k`` has the log-measure of ``[k, k + 1)``). A list is a
set of choices, each equally likely. :func:`plan_sample` plans such a sample for a script.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import ParameterError, ParameterTypeError
from ..paramset import ParamSet, Scalar, to_scalar
from .design import Plan
from .inspection import ParamInfo, ScriptInfo
from .request import check_method
from .scriptchecks import check_mapping, check_names, check_required, finish_plan
from .valuerules import check_int64, check_plan_size, typed_value, typed_values

__all__ = ["Dimension", "check_sample", "dimension", "draw", "plan_sample",
           "sample_dimensions", "sample_seed"]


@dataclass(frozen=True)
class Dimension:
    """One sampled parameter: a numeric range, or a list of choices."""

    name: str
    low: float = 0.0
    high: float = 0.0
    integer: bool = False
    log: bool = False
    choices: tuple[Scalar, ...] = ()

    def value(self, u: float) -> Scalar:
        """The value at quantile ``u`` in ``[0, 1)``."""
        if self.choices:
            return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]
        if self.integer and self.log:  # monotone in u, so LHS strata stay ordered
            top = math.log(self.high + 1)
            value = math.floor(math.exp(math.log(self.low) + u * (top - math.log(self.low))))
            return min(max(value, int(self.low)), int(self.high))
        if self.integer:
            span = int(self.high) - int(self.low) + 1
            return int(self.low) + min(int(u * span), span - 1)
        if self.log:
            return math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)


def dimension(name: str, spec: Any) -> Dimension:
    """Check and build a :class:`Dimension` from a ``(low, high[, "log"])`` tuple or a list."""
    if isinstance(spec, list):
        if not spec:
            raise ParameterError(f"sample[{name!r}] is an empty list of choices")
        choices = tuple(to_scalar(v, what=f"choice of sample[{name!r}]") for v in spec)
        return Dimension(name, choices=choices)
    if not isinstance(spec, tuple) or len(spec) not in (2, 3):
        raise ParameterTypeError(
            f"sample[{name!r}] must be a range (low, high), (low, high, 'log'), or a list of "
            f"choices, got {spec!r}"
        )
    low, high = (to_scalar(v, what=f"bound of sample[{name!r}]") for v in spec[:2])
    scale = spec[2] if len(spec) == 3 else "linear"
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in (low, high)):
        raise ParameterTypeError(f"sample[{name!r}] bounds must be numbers, got {spec!r}")
    for bound in (low, high):  # an int range draws ints between them
        check_int64(bound, f"a bound of sample[{name!r}]")
    if not low < high:  # type: ignore[operator]
        raise ParameterError(f"sample[{name!r}] needs low < high, got {spec!r}")
    if scale not in ("linear", "log"):
        raise ParameterError(f"sample[{name!r}]: the third item must be 'log', got {scale!r}")
    if scale == "log" and low <= 0:  # type: ignore[operator]
        raise ParameterError(f"sample[{name!r}]: a log range needs low > 0, got {spec!r}")
    integer = type(low) is int and type(high) is int and scale == "linear"
    if integer:  # kept as ints, as the design stores them
        return Dimension(name, low, high, integer=True)  # type: ignore[arg-type]
    return Dimension(name, float(low), float(high), log=scale == "log")  # type: ignore[arg-type]


def draw(
    dimensions: Sequence[Dimension], n: int, *, method: str, seed: int
) -> list[dict[str, Scalar]]:
    """``n`` points: independent uniform draws (``random``) or a Latin hypercube (``lhs``).

    >>> draw([dimension("x", (0.0, 1.0))], 2, method="lhs", seed=0)  # doctest: +SKIP
    [{'x': 0.42...}, {'x': 0.88...}]
    """
    rng = random.Random(seed)
    columns: list[list[float]] = []
    for _ in dimensions:
        if method == "random":
            columns.append([rng.random() for _ in range(n)])
        else:  # one draw in each of n equal strata, strata shuffled per dimension
            strata = list(range(n))
            rng.shuffle(strata)
            top = math.nextafter(1.0, 0.0)  # (n - 1 + r) / n can round up to 1.0
            columns.append([min((s + rng.random()) / n, top) for s in strata])
    return [
        {d.name: d.value(column[i]) for d, column in zip(dimensions, columns)} for i in range(n)
    ]


def check_sample(sample: Mapping[str, Any], n: Any, method: str) -> list[Dimension]:
    """Validate a sampling design; returns its dimensions.

    >>> check_sample({"x": (0.0, 1.0)}, 4, "lhs")
    [Dimension(name='x', low=0.0, high=1.0, integer=False, log=False, choices=())]
    """
    check_method(method)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ParameterError(f"n (the number of samples) must be a positive int, got {n!r}")
    check_plan_size(n, "n", ("n",), "sample")
    if not isinstance(sample, Mapping) or not sample:
        raise ParameterError("sample must be a non-empty dict of name -> (low, high) or [choices]")
    return [dimension(name, spec) for name, spec in sample.items()]


def plan_sample(
    info: ScriptInfo,
    sample: Mapping[str, Any],
    *,
    n: int,
    method: str = "lhs",
    seed: int | None = None,
    nominal: Mapping[str, Any] | None = None,
) -> Plan:
    """Plan ``n`` random or Latin-hypercube samples of parameter ranges.

    ``sample`` maps names to ``(low, high)``, ``(low, high, "log")`` or a list of choices.
    A range's values take the type of the script's default: a float parameter gets floats
    (even from int bounds), an int parameter integers in the closed range (log-uniform for
    ``"log"``; its bounds must be whole numbers); without a known default, int bounds give
    integers and float bounds floats. The same seed gives the same plan; without
    one a seed is chosen and kept in ``Plan.seed``. Duplicate draws (possible with ints
    and choices) run once.

    >>> plan = plan_sample(info, {"threshold": (0.1, 0.9)}, n=8, seed=1)  # doctest: +SKIP
    """
    dimensions = sample_dimensions(info, sample, n, method)
    held = check_mapping(nominal or {}, "nominal")
    check_names(info, held, "nominal")
    fixed = ParamSet(typed_values(info, held, "nominal"))
    seed = sample_seed(seed)
    planned = [fixed.merged(point) for point in draw(dimensions, n, method=method, seed=seed)]
    for values in planned[:1]:
        check_required(info, values, "sample")
    return finish_plan(method, info, [d.name for d in dimensions], fixed, planned, seed=seed)


def sample_dimensions(
    info: ScriptInfo, sample: Mapping[str, Any], n: Any, method: str
) -> list[Dimension]:
    """A sample's dimensions, checked against the script and typed by its defaults.

    A range takes the type of the script's default: a float parameter gets floats (even from
    int bounds), an int parameter integers (its bounds must be whole numbers).

    >>> sample_dimensions(info, {"window": (1, 15)}, 8, "lhs")  # doctest: +SKIP
    [Dimension(name='window', low=1.0, high=15.0, integer=True, log=False, choices=())]
    """
    dimensions = check_sample(sample, n, method)
    check_names(info, [d.name for d in dimensions], "sample")
    return [_typed_dimension(d, info.param(d.name), sample[d.name]) for d in dimensions]


def sample_seed(seed: Any) -> int:
    """The seed a sample is drawn with: the one given, else one chosen now (and kept).

    >>> sample_seed(3)
    3
    """
    if seed is None:
        return random.SystemRandom().randrange(2**32)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ParameterTypeError(f"seed must be an int, got {seed!r}")
    return seed


def _typed_dimension(dimension: Dimension, param: ParamInfo | None, spec: Any) -> Dimension:
    """A dimension drawing values of the type of the parameter's default (``valuerules``):
    choices typed one by one; a range of floats for a float knob, of integers for an int
    knob, refused for a bool or str knob."""
    name = dimension.name
    if dimension.choices:
        return replace(dimension, choices=tuple(
            typed_value(param, c, name=name, what=f"choice of sample[{name!r}]")
            for c in dimension.choices))
    kind = param.type_name if param is not None else None
    if kind in ("bool", "str"):
        raise ParameterTypeError(
            f"sample[{name!r}] = {spec!r} is a range of numbers, but {name!r} is a {kind} "
            f"parameter (its default is {param.default!r}): give a list of choices instead")  # type: ignore[union-attr]
    if dimension.integer and kind == "float":  # (1, 4) for a float knob: floats
        return replace(dimension, integer=False)
    if not dimension.integer and kind == "int":  # (1, 100, "log") for an int knob
        dimension = _integer_dimension(dimension, spec, param.default)  # type: ignore[union-attr]
    if dimension.integer:  # the values drawn must fit in 64 bits; the bounds are the extremes
        for bound in spec[:2]:
            check_int64(int(bound), f"a bound of sample[{name!r}]")
    return dimension


def _integer_dimension(dimension: Dimension, spec: Any, default: Any) -> Dimension:
    """An int parameter's range drawn as integers (bounds must be whole numbers)."""
    if not (dimension.low.is_integer() and dimension.high.is_integer()):
        raise ParameterError(
            f"sample[{dimension.name!r}] = {spec!r}: {dimension.name!r} is an int parameter "
            f"(its default is {default!r}), so it is sampled as integers and the range needs "
            f"whole-number bounds: write them as ints, e.g. ({math.ceil(dimension.low)}, "
            f"{max(math.floor(dimension.high), math.ceil(dimension.low) + 1)}"
            f"{', ' + repr('log') if dimension.log else ''})"
        )
    return replace(dimension, integer=True)
