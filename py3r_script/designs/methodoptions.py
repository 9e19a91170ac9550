"""The options of each sampling method (Morris' levels, Sobol' second order...): their names,
defaults and checks, and how many rows the design they describe has.

Random and Latin-hypercube samples take no options. The Morris and Sobol' options are those
SALib's samplers take, under shorter names: ``levels`` is ``num_levels``, ``second_order``
is ``calc_second_order``. A design request checks them here, once, whichever front end
gave them (the Python API's ``method_options=``, command-line flags, sweep-file keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import DesignError

__all__ = ["BAD_OPTION", "METHOD_OPTIONS", "OPTION_HELP", "OPTION_NAMES", "UNKNOWN_OPTION",
           "check_method_options", "design_rows", "design_size", "method_of"]

# The rules, as DesignError.rule names them.
UNKNOWN_OPTION = "not an option of the method"
BAD_OPTION = "bad method option"

# method -> option -> default
METHOD_OPTIONS: dict[str, dict[str, Any]] = {
    "lhs": {},
    "random": {},
    "morris": {"levels": 4, "optimal_trajectories": None},
    "sobol": {"second_order": False},
}
OPTION_HELP = {
    "levels": "the number of grid levels each parameter takes in a Morris design, an even "
              "int of 2 or more (odd numbers bias the design)",
    "optimal_trajectories": "how many of the n trajectories to keep, chosen to spread "
                            "them out (Campolongo's selection), an int from 2 to n - 1",
    "second_order": "whether to compute second-order indices S2 too (true or false; "
                    "N·(2D+2) runs instead of N·(D+2))",
}
OPTION_NAMES = tuple(OPTION_HELP)


def method_of(option: str) -> str | None:
    """The sampling method that takes ``option`` (``None``: no method does).

    >>> method_of("levels")
    'morris'
    """
    return next((m for m, options in METHOD_OPTIONS.items() if option in options), None)


def check_method_options(method: str, options: Mapping[str, Any] | None,
                         n: int | None) -> dict[str, Any]:
    """The method's options, checked and completed with their defaults.

    ``method`` is a known sampling method; ``n`` the number of samples (trajectories for
    Morris), which some options are checked against. A broken rule raises
    :class:`~py3r_script.errors.DesignError` with rule :data:`UNKNOWN_OPTION` (an option the
    method does not take) or :data:`BAD_OPTION` (a value it does not accept), the option's
    name in ``arguments``.

    Examples
    --------
    >>> check_method_options("morris", {"levels": 6}, 10)
    {'levels': 6, 'optimal_trajectories': None}
    >>> check_method_options("lhs", {"levels": 6}, 10)
    Traceback (most recent call last):
    ...
    py3r_script.errors.DesignError: method_options: 'lhs' sampling takes no options, got ...
    """
    known = METHOD_OPTIONS[method]
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise DesignError(f"method_options must be a dict of option name to value, got "
                          f"{type(options).__name__}", BAD_OPTION, ("method_options",),
                          "sample")
    for name in options:
        if name not in known:
            takes = (f"takes {', '.join(map(repr, known))}" if known else "takes no options")
            raise DesignError(f"method_options: {method!r} sampling {takes}, got {name!r}",
                              UNKNOWN_OPTION, (str(name),), "sample")
    checked = {**known, **options}
    for name, value in checked.items():
        _check_option(name, value, n)
    return checked


def _check_option(name: str, value: Any, n: int | None) -> None:
    if name == "second_order":
        good = isinstance(value, bool)
    elif name == "levels":
        good = _is_int(value) and value >= 2 and value % 2 == 0
    else:  # optimal_trajectories: None, or fewer than the trajectories drawn
        good = value is None or (_is_int(value) and value >= 2
                                 and (not _is_int(n) or value < n))
    if not good:
        raise DesignError(f"method_options[{name!r}] must be {OPTION_HELP[name]}"
                          f"{f' (n is {n})' if name == 'optimal_trajectories' else ''}, got "
                          f"{value!r}", BAD_OPTION, (name,), "sample")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def design_rows(method: str, n: int, dimensions: int, options: Mapping[str, Any]) -> int:
    """How many rows (parameter sets) a design of ``dimensions`` parameters has.

    Morris: ``(D + 1)`` per trajectory, ``n`` trajectories (or the ``optimal_trajectories``
    kept of them); Sobol': ``N·(D + 2)``, or ``N·(2D + 2)`` with second-order indices;
    random and Latin-hypercube samples: ``n``.

    >>> design_rows("sobol", 256, 3, {"second_order": False})
    1280
    >>> design_rows("morris", 10, 6, {"levels": 4, "optimal_trajectories": None})
    70
    """
    if method == "morris":
        return (options.get("optimal_trajectories") or n) * (dimensions + 1)
    if method == "sobol":
        return n * ((2 * dimensions if options.get("second_order") else dimensions) + 2)
    return n


def design_size(method: str, n: int, dimensions: int, options: Mapping[str, Any]) -> str:
    """:func:`design_rows` with its formula, for a preview.

    >>> design_size("sobol", 256, 3, {"second_order": False})
    "Sobol' N·(D+2) = 256·(3+2) = 1280 runs"
    >>> design_size("morris", 10, 6, {"levels": 4, "optimal_trajectories": None})
    'Morris r·(D+1) = 10·(6+1) = 70 runs'
    """
    rows = design_rows(method, n, dimensions, options)
    if method == "sobol" and options.get("second_order"):
        return f"Sobol' N·(2D+2) = {n}·(2·{dimensions}+2) = {rows} runs"
    if method == "sobol":
        return f"Sobol' N·(D+2) = {n}·({dimensions}+2) = {rows} runs"
    if method == "morris":
        kept = options.get("optimal_trajectories") or n
        return f"Morris r·(D+1) = {kept}·({dimensions}+1) = {rows} runs"
    return f"{rows} runs"
