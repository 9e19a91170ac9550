"""Running sweeps: plan the iterations, launch one fresh child per iteration, collect the records.

How an iteration flows::

    script + sweep definition
        │  inspect_script()              static AST: names, defaults, outputs
        ▼
    plan_run() / plan_sweep()            list of ParamSets; every check happens here,
        │                                before any subprocess starts
        ▼
    IterationTask per point ──► run_iteration(task)           (launcher.py)
                                   │  child: _bootstrap.run_child() runs the script with
                                   │  the markers live; outputs.bin + outcome.pkl (_boundary)
                                   ▼
                              IterationRecord ──► ScriptResults ──► to_dataframe()
"""

from __future__ import annotations

import difflib
import hashlib
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from .errors import ParameterError, ParameterTypeError
from .inspection import ScriptInfo, inspect_script
from .launcher import IterationTask, run_iteration
from .planning import Plan, plan_run, plan_sweep
from .results import ScriptResults

__all__ = ["run", "sensitivity"]


def run(
    script_path: str | Path,
    params: dict[str, Any] | None = None,
    *,
    outputs: list[str] | None = None,
    stop_after_outputs: bool = False,
    timeout: float | None = None,
) -> ScriptResults:
    """Run a parameterised script exactly once, in a fresh subprocess.

    Unspecified parameters keep their script default; a parameter without a default must be
    given, or ``ValueError`` is raised before anything starts.

    Parameters
    ----------
    script_path : str or Path
        The script, containing ``Param`` and/or ``Output`` calls.
    params : dict, optional
        Values to inject, by parameter name.
    outputs : list of str, optional
        Outputs to capture; all the script declares when omitted.
    stop_after_outputs : bool
        End the subprocess as soon as the last requested output is captured.
    timeout : float, optional
        Seconds after which the child and everything it started are killed.

    Returns
    -------
    ScriptResults
        A single-entry container: ``sr[params]["output_name"]``.

    Examples
    --------
    >>> sr = run("pipeline.py", {"threshold": 0.8})  # doctest: +SKIP
    >>> sr[{"threshold": 0.8}]["summary"]  # doctest: +SKIP
    >>> sr = run("pipeline.py", outputs=["tracking"], stop_after_outputs=True)  # doctest: +SKIP
    """
    info = inspect_script(script_path)
    plan = plan_run(info, params)
    return _execute(script_path, info, plan, outputs, stop_after_outputs, timeout=timeout)


def sensitivity(
    script_path: str | Path,
    params: dict[str, list[Any]],
    *,
    nominal: dict[str, Any] | None = None,
    outputs: list[str] | None = None,
    stop_after_outputs: bool = False,
    mode: Literal["independent", "grid"] = "independent",
    timeout: float | None = None,
) -> ScriptResults:
    """Run a script once per parameter combination, each iteration in a fresh subprocess.

    Each swept parameter's nominal value (``nominal[name]``, else its script default) is
    added to its list of values (duplicates are dropped). ``mode="independent"`` runs one
    baseline with every parameter at nominal, then varies one parameter at a time;
    ``mode="grid"`` runs every combination. A failing iteration is recorded (see
    ``ScriptResults.errors``) and the sweep goes on.

    Parameters
    ----------
    script_path : str or Path
        The script, containing ``Param`` and ``Output`` calls.
    params : dict of str to list
        Values to sweep, by parameter name.
    nominal : dict, optional
        Baseline values: override script defaults, and supply required parameters that are
        held constant.
    outputs : list of str, optional
        Outputs to capture; all the script declares when omitted.
    stop_after_outputs : bool
        End each subprocess as soon as the last requested output is captured.
    mode : {"independent", "grid"}
        One-at-a-time or full factorial.
    timeout : float, optional
        Per-iteration limit in seconds; a child over it is killed and recorded as ``timeout``.

    Returns
    -------
    ScriptResults

    Examples
    --------
    >>> sr = sensitivity("pipeline.py", {"smooth_window": [3, 5, 7], "threshold": [0.5, 0.8]})  # doctest: +SKIP
    >>> sr.to_dataframe()  # doctest: +SKIP
    >>> sr = sensitivity("pipeline.py", {"smooth_window": [3, 7]}, nominal={"threshold": 0.8},
    ...                  mode="grid")  # doctest: +SKIP
    """
    info = inspect_script(script_path)
    plan = plan_sweep(info, params, nominal=nominal, mode=mode)
    return _execute(script_path, info, plan, outputs, stop_after_outputs, timeout=timeout)


def _execute(
    script_path: str | Path,
    info: ScriptInfo,
    plan: Plan,
    outputs: Sequence[str] | None,
    stop_after_outputs: bool,
    *,
    timeout: float | None,
) -> ScriptResults:
    requested = _resolve_outputs(info, outputs, stop_after_outputs)
    _check_timeout(timeout)
    script = os.path.abspath(script_path)
    sweep_id = uuid.uuid4().hex
    template = IterationTask(
        script=script,
        params=plan.nominal,
        outputs=requested,
        stop_after_outputs=stop_after_outputs,
        sweep_id=sweep_id,
        script_sha256=_sha256(script),
        cwd=os.getcwd(),
        timeout=timeout,
    )
    results = ScriptResults(
        plan.param_names,
        requested if requested is not None else info.output_names,
        nominal=plan.nominal,
        script=str(script_path),
    )
    for index, point in enumerate(plan.points):
        task = _replace(template, params=point, index=index, iteration_id=uuid.uuid4().hex)
        results._add(run_iteration(task))
    return results


def _replace(task: IterationTask, **changes: Any) -> IterationTask:
    from dataclasses import replace

    return replace(task, **changes)


def _resolve_outputs(
    info: ScriptInfo, outputs: Sequence[str] | None, stop_after_outputs: bool
) -> tuple[str, ...] | None:
    """The outputs to capture, checked against the script's declarations."""
    if not isinstance(stop_after_outputs, bool):
        raise ParameterTypeError(f"stop_after_outputs must be True or False, got {stop_after_outputs!r}")
    if outputs is None:
        if not stop_after_outputs:
            return None
        if not info.outputs:
            raise ParameterError(
                f"stop_after_outputs=True stops after the last requested output, but "
                f"{info.path} declares no Output(...) and outputs= is not given"
            )
        return tuple(info.output_names)
    if isinstance(outputs, str) or not isinstance(outputs, Sequence):
        raise ParameterTypeError(
            f"outputs must be a list of output names, e.g. outputs=[{outputs!r}], "
            f"got {type(outputs).__name__}"
        )
    if not outputs:
        raise ParameterError("outputs is an empty list: name at least one, or pass None for all")
    names: dict[str, None] = {}
    for name in outputs:
        if not isinstance(name, str):
            raise ParameterTypeError(f"output names must be str, got {name!r}")
        if name not in info.output_names and not info.dynamic_outputs:
            close = difflib.get_close_matches(name, info.output_names, n=1)
            suggestion = f" Did you mean {close[0]!r}?" if close else ""
            declared = ", ".join(info.output_names) or "none"
            raise ParameterError(
                f"unknown output {name!r} for {info.path}.{suggestion} The script declares: "
                f"{declared}."
            )
        names[name] = None
    return tuple(names)


def _check_timeout(timeout: float | None) -> None:
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ParameterError(f"timeout must be a positive number of seconds, got {timeout!r}")


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


