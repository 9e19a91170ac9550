"""Morris and Sobol' designs for global sensitivity analysis, drawn by SALib.

SALib draws the design in the unit hypercube, one column per sampled parameter; each
column is mapped to the parameter's values as a random or Latin-hypercube sample's is
(:meth:`~py3r_script.designs.sampling.Dimension.value`): a float range linearly, a
``"log"`` range in log space, an int range to its integers, a list to its choices. So the
same range syntax and typing rules hold, and the estimators, which SALib runs on the unit
design, see the inverse-CDF transform of uniform inputs that the methods assume.

* **Morris** (``n`` trajectories of ``D + 1`` runs, each moving one parameter by a fixed
  step on a grid of ``levels`` levels): a list of choices maps the levels onto the choices,
  so it needs no more choices than levels.
* **Sobol'** (Saltelli's scheme, ``N·(D + 2)`` runs, ``N·(2D + 2)`` with second-order
  indices, from a scrambled Sobol' sequence): an int range or a list of choices is a
  discrete uniform input, which the variance-based indices allow; ``N`` should be a
  power of two.

The stored :class:`~py3r_script.designs.design.Design` keeps ``n``, the options, the seed
and the typed ranges, so :func:`design_rows_of` draws the very same design again for the
analysis of a loaded or resumed study. SALib (and NumPy) are imported only here and in the
analysis, never in a child.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import astuple, replace
from typing import Any

from ..errors import MissingDependencyError, ParameterError, warn
from ..paramset import ParamSet, Scalar
from .design import Design, Plan
from .inspection import ScriptInfo
from .methodoptions import check_method_options
from .sampling import Dimension, sample_dimensions, sample_seed
from .scriptchecks import check_mapping, check_names, check_required, finish_plan

__all__ = ["GSA_EXTRA", "call_salib", "design_rows_of", "plan_global_sample", "salib_module",
           "unit_design"]

GSA_EXTRA = 'pip install "py3r-script[gsa]"'


def salib_module(name: str) -> Any:
    """``SALib.<name>`` (``"sample.sobol"``, ``"analyze.morris"``...), or an error naming the
    extra that installs SALib.

    >>> salib_module("sample.sobol").__name__  # doctest: +SKIP
    'SALib.sample.sobol'
    """
    from importlib import import_module

    try:
        return import_module(f"SALib.{name}")
    except ImportError as exc:
        raise MissingDependencyError(
            f"Morris and Sobol' designs and their analysis need SALib: {GSA_EXTRA} (or pip "
            f"install SALib); importing SALib.{name} failed: {exc}") from None


def call_salib(name: str, function: str, *args: Any, seed: int, **kwargs: Any) -> Any:
    """``SALib.<name>.<function>(*args, seed=seed, **kwargs)``, reproducible from ``seed``
    on every SALib version.

    SALib before 1.6 seeds NumPy's global generator, and only with a true seed (so not 0);
    that generator is seeded here too, and restored after.

    >>> call_salib("sample.sobol", "sample", problem, 8, seed=0)  # doctest: +SKIP
    """
    import numpy as np

    module = salib_module(name)
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        return getattr(module, function)(*args, seed=seed, **kwargs)
    finally:
        np.random.set_state(state)


def unit_design(method: str, n: int, dimensions: int, options: Mapping[str, Any],
                seed: int) -> Any:
    """The design SALib draws in the unit hypercube: a NumPy array, one row per run.

    >>> unit_design("sobol", 4, 2, {"second_order": False}, seed=0).shape  # doctest: +SKIP
    (16, 2)
    """
    problem = {"num_vars": dimensions, "names": [f"x{i}" for i in range(dimensions)],
               "bounds": [[0.0, 1.0]] * dimensions}
    if method == "sobol":
        with warnings.catch_warnings():  # plan_global_sample warns about N in its own words
            warnings.simplefilter("ignore", UserWarning)
            return call_salib("sample.sobol", "sample", problem, n, seed=seed,
                              calc_second_order=options["second_order"])
    return call_salib("sample.morris", "sample", problem, n, seed=seed,
                      num_levels=options["levels"],
                      optimal_trajectories=options["optimal_trajectories"])


def plan_global_sample(
    info: ScriptInfo,
    sample: Mapping[str, Any],
    *,
    n: int,
    method: str,
    options: Mapping[str, Any] | None = None,
    seed: int | None = None,
    nominal: Mapping[str, Any] | None = None,
) -> Plan:
    """Plan a Morris or Sobol' design over ``sample``'s ranges, drawn by SALib.

    ``n`` is the number of trajectories (Morris) or the base sample size ``N`` (Sobol');
    ``options`` the method's (``levels``, ``optimal_trajectories``; ``second_order``),
    defaults filled in. The same seed gives the same design; without one a seed is chosen
    and kept in ``Plan.seed``. Design rows that give the same parameter set (possible with
    int ranges and choices) run once; the analysis reads each row from that run.

    Examples
    --------
    >>> plan = plan_global_sample(info, {"x": (0.0, 1.0), "y": (0.0, 1.0)}, n=8,
    ...                           method="sobol", seed=1)  # doctest: +SKIP
    >>> plan.design_rows, len(plan)  # doctest: +SKIP
    (32, 32)
    """
    options = check_method_options(method, options, n)
    dimensions = sample_dimensions(info, sample, n, method)
    _check_choices(method, dimensions, options)
    fixed = ParamSet(check_mapping(nominal or {}, "nominal"))
    check_names(info, fixed, "nominal")
    seed = sample_seed(seed)
    if method == "sobol" and n & (n - 1):
        below = 2 ** int(math.log2(n))
        warn(f"n={n} is not a power of two: the Sobol' sequence behind this design keeps its "
             f"balance only for powers of two (SALib's advice); use n={below} or "
             f"n={2 * below}")
    design = Design(method, (), seed, n, tuple(sorted(options.items())),
                    tuple(astuple(d) for d in dimensions))
    rows = design_rows_of(design)
    planned = [fixed.merged(point) for point in rows]
    for values in planned[:1]:
        check_required(info, values, "sample")
    plan = finish_plan(method, info, [d.name for d in dimensions], fixed, planned, seed=seed)
    return replace(plan, global_design=design, design_rows=len(rows))


def design_rows_of(design: Design, unit: Any = None) -> list[dict[str, Scalar]]:
    """The parameter values of every row of a stored Morris or Sobol' design, in SALib's
    order (``unit``: the unit design, when already drawn with :func:`unit_design`).

    >>> design_rows_of(sr.design)[:2]  # doctest: +SKIP
    [{'x1': 0.42..., 'x2': -1.3...}, {'x1': 2.9..., 'x2': -1.3...}]
    """
    dimensions = [Dimension(*r) for r in design.ranges]
    if unit is None:
        assert design.n is not None and design.seed is not None
        unit = unit_design(design.mode, design.n, len(dimensions), dict(design.options),
                           design.seed)
    return [{d.name: d.value(float(u)) for d, u in zip(dimensions, row)} for row in unit]


def _check_choices(method: str, dimensions: Sequence[Dimension],
                   options: Mapping[str, Any]) -> None:
    """A Morris design moves each parameter over ``levels`` grid levels: a list of more
    choices than that would leave some never drawn."""
    if method != "morris":
        return
    levels = options["levels"]
    for dimension in dimensions:
        count = len(dimension.choices)
        if count > levels:
            raise ParameterError(
                f"sample[{dimension.name!r}] has {count} choices, but a "
                f"Morris design with levels={levels} puts each parameter on {levels} levels, "
                f"so some choices would never run: give levels of at least "
                f"{count + count % 2} (levels are even), or fewer choices")
