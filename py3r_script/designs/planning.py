"""Planning: from a design request and the script's declarations to a :class:`Plan`.

Every check a sweep needs happens here, before any subprocess starts: the design rules
(``request``), then unknown names (with a suggestion), required parameters without a value,
bad value lists, non-scalar values. Each kind of design has its planner: value lists
(``valuelists``), explicit points and single runs (``points``), random and Latin-hypercube
samples (``sampling``), Morris and Sobol' designs (``globalsample``); then each parameter
set is run ``replicates`` times (``replicates``).
"""

from __future__ import annotations

from .design import GLOBAL_METHODS, MODES, Design, Plan
from .globalsample import plan_global_sample
from .inspection import ScriptInfo
from .points import plan_points, plan_run
from .replicates import replicate_plan
from .request import DesignRequest
from .sampling import plan_sample
from .valuelists import plan_sweep

__all__ = ["MODES", "Design", "Plan", "plan_design", "plan_global_sample", "plan_points",
           "plan_run", "plan_sample", "plan_sweep"]


def plan_design(info: ScriptInfo, request: DesignRequest) -> Plan:
    """The plan of a checked design request for the script ``info`` describes.

    Examples
    --------
    >>> from py3r_script.designs.request import design_request
    >>> info = inspect_script("pipeline.py")  # doctest: +SKIP
    >>> plan_design(info, design_request({"window": [3, 7]})).mode  # doctest: +SKIP
    'grid'
    """
    planned = _plan_points(info, request)
    return replicate_plan(info, planned, request.replicates, request.replicate_seed,
                          request.seed)


def _plan_points(info: ScriptInfo, request: DesignRequest) -> Plan:
    """The plan of the design's parameter sets, each run once."""
    if request.kind == "single":
        return plan_run(info, request.params)
    if request.kind == "points":
        assert request.points is not None
        return plan_points(info, request.points, nominal=request.nominal)
    if request.kind == "sample" and request.method in GLOBAL_METHODS:
        assert request.sample is not None and request.n is not None
        return plan_global_sample(info, request.sample, n=request.n, method=request.method,
                                  options=request.method_options, seed=request.seed,
                                  nominal=request.nominal)
    if request.kind == "sample":
        assert request.sample is not None and request.n is not None
        return plan_sample(info, request.sample, n=request.n, method=request.method,
                           seed=request.seed, nominal=request.nominal)
    assert request.params is not None
    return plan_sweep(info, request.params, nominal=request.nominal, mode=request.mode,
                      include_nominal=request.include_nominal)
