"""The rules every parameter value obeys, whichever front end gave it (the Python API, the
command line or a sweep file): typed by the script's default, ints within 64 bits, and plans
of a bounded size.

Typing by the default:

* a parameter whose default is a literal ``bool``, ``int``, ``float`` or ``str`` takes values
  of that type; an ``int`` is widened to ``float`` for a float default (``[1, 4]`` runs
  ``1.0`` and ``4.0``); anything else is refused before any subprocess starts. ``True`` is not
  an int parameter's value and ``1`` is not a bool's.
* ``None`` fits every parameter (a script may test ``if x is None``).
* a parameter without a known type (no default, a default of ``None``, an expression known
  only at run time, a name computed at run time) takes any scalar as given; then ``1``,
  ``1.0`` and ``True`` stay three different values.

Parameters are a study's keys, stored as SQLite values: an int must fit in 64 bits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import DesignError, ParameterError, ParameterTypeError
from ..paramset import Scalar, to_scalar

if TYPE_CHECKING:
    from .inspection import ParamInfo, ScriptInfo

__all__ = ["INT64_MAX", "INT64_MIN", "MAX_PLAN_SIZE", "TOO_MANY", "TYPED_KINDS", "check_int64",
           "check_plan_size", "count_text", "fits_int64", "typed_value", "typed_values"]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_PLAN_SIZE = 1_000_000
"""The most parameter sets one sweep plans: a plan is held in memory, and each set is stored."""
TOO_MANY = "too many parameter sets"  # the DesignError.rule of check_plan_size
TYPED_KINDS = ("bool", "int", "float", "str")
"""The default types that type a parameter's values."""

_EXAMPLES = {"int": "e.g. 3", "float": "e.g. 0.5", "bool": "True or False",
             "str": 'a string, e.g. "abc"'}


def fits_int64(value: object) -> bool:
    """False for an ``int`` outside SQLite's 64-bit integers; True for anything else.

    >>> fits_int64(2**63 - 1), fits_int64(2**63), fits_int64(1e30)
    (True, False, True)
    """
    return type(value) is not int or INT64_MIN <= value <= INT64_MAX  # type: ignore[operator]


def count_text(number: int) -> str:
    """An int for a message, however big: ``'1,000'``, or ``'a 5000-digit number'``.

    >>> count_text(10**6), count_text(10**5000)
    ('1,000,000', 'a 5001-digit number')
    """
    if abs(number) < 10**30:
        return f"{number:,}"
    digits = len(f"{abs(number):x}") * 4 * 0.30103  # hex needs no int_max_str_digits
    return f"a {int(digits) + 1}-digit number"


def check_int64(value: object, what: str) -> None:
    """Refuse an int that does not fit in 64 bits, naming ``what`` it is.

    >>> check_int64(2**64, "parameter 'seed'")
    Traceback (most recent call last):
    ...
    py3r_script.errors.ParameterError: parameter 'seed' is 18446744073709551616: ...
    """
    if fits_int64(value):
        return
    number: int = value  # type: ignore[assignment]
    shown = str(number) if abs(number) < 10**30 else count_text(number)
    raise ParameterError(
        f"{what} is {shown}: parameter ints must fit in 64 bits "
        f"(-2**63 to 2**63 - 1), since parameters are a study's keys and SQLite stores "
        "64-bit integers; pass such a number as a str (or a float) and convert it in the script")


def typed_value(param: ParamInfo | None, value: object, *, name: str,
                what: str | None = None) -> Scalar:
    """``value`` as parameter ``name`` takes it: a plain scalar of its default's type.

    ``param`` is the script's declaration (``None`` when the name is computed at run time);
    ``what`` names the value in messages (by default ``parameter 'name'``). See the module's
    docstring for the rules.

    >>> typed_value(info.param("threshold"), 1, name="threshold")  # doctest: +SKIP
    1.0
    >>> typed_value(info.param("threshold"), "high", name="threshold")  # doctest: +SKIP
    ParameterTypeError: parameter 'threshold' expects float (the type of its default), got ...
    """
    scalar = to_scalar(value, what=what or f"parameter {name!r}")
    check_int64(scalar, what or f"parameter {name!r}")
    kind = param.type_name if param is not None else None
    if kind not in TYPED_KINDS or scalar is None or type(scalar).__name__ == kind:
        return scalar
    if kind == "float" and type(scalar) is int:
        return float(scalar)
    hint = _EXAMPLES[kind]  # type: ignore[index]
    if type(scalar) is bool:
        hint += f" ({scalar} is a bool, not a number)" if kind in ("int", "float") else ""
    elif kind == "bool" and type(scalar) in (int, float):
        hint += f" ({scalar!r} is a number, not a bool)"
    shown = repr(scalar) if len(repr(scalar)) <= 60 else repr(scalar)[:57] + "..."
    raise ParameterTypeError(
        f"parameter {name!r} expects {kind} (the type of its default), got "
        f"{type(scalar).__name__} {shown}; use {hint}")


def typed_values(info: ScriptInfo, values: Mapping[str, Any], what: str) -> dict[str, Scalar]:
    """Each value of a ``{name: value}`` mapping typed by :func:`typed_value`; ``what`` names
    the mapping in messages (``"nominal"``, ``"points[2]"``).

    >>> typed_values(info, {"threshold": 1}, "nominal")  # doctest: +SKIP
    {'threshold': 1.0}
    """
    return {name: typed_value(info.param(name), value, name=name, what=f"{what}[{name!r}]")
            for name, value in values.items()}


def check_plan_size(count: int, what: str, arguments: tuple[str, ...] = (),
                    design: str | None = None) -> None:
    """Refuse a design of more than :data:`MAX_PLAN_SIZE` parameter sets, before it is built:
    a :class:`~py3r_script.errors.DesignError` whose rule is :data:`TOO_MANY` and whose
    ``arguments`` name what to make smaller (``("n",)``).

    >>> check_plan_size(10**12, "n = 1000000000000", ("n",), "sample")
    Traceback (most recent call last):
    ...
    py3r_script.errors.DesignError: n = 1000000000000 asks for 1,000,000,000,000 parameter ...
    """
    if count > MAX_PLAN_SIZE:
        raise DesignError(
            f"{what} asks for {count_text(count)} parameter sets; one sweep plans at most "
            f"{MAX_PLAN_SIZE:,} (the plan is held in memory and every set is stored): ask for "
            "fewer, or split the study into several sweeps into the same store",
            TOO_MANY, arguments, design)
