"""Running sweeps: the public ``run`` and ``sensitivity``, from script to ``ScriptResults``.

How an iteration flows::

    script + sweep definition
        │  inspect_script()                 static AST: names, defaults, outputs
        ▼
    plan_run() / plan_sweep()               ParamSets; every check happens here, before
        │                                   any subprocess starts
        ▼
    store.reusable() ──► reuse or run       same script content + params + outputs, ok
        │
        ▼
    IterationTask ──► execute()             this thread, a thread pool or any Executor
                        │  run_iteration(): one fresh child per iteration
                        │  child: _bootstrap.run_child() runs the script with the markers
                        │  live, writing outputs.bin and outcome.pkl (_boundary)
                        ▼
                   IterationRecord ──► Study.add() (as each finishes) ──► ScriptResults
                                                                          └─► to_dataframe()
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, Literal

from ..designs.inspection import ScriptInfo, inspect_script
from ..designs.planning import Plan, plan_points, plan_run, plan_sample, plan_sweep
from ..designs.preview import DryRun
from ..errors import ParameterError, warn
from ..paramset import ParamSet, is_scalar
from ..results import ScriptResults
from ..store.provenance import file_sha256
from ..store.study import Study, SweepInfo
from .launch import IterationTask, run_iteration
from .options import (
    RunOptions,
    check_options,
    resolve_outputs,
    resolve_python,
    workdir_root,
)
from .scheduling import Item, Launch, execute, interactive

__all__ = ["plan", "run", "sensitivity", "sweep"]

def run(
    script_path: str | Path,
    params: dict[str, Any] | None = None,
    *,
    outputs: list[str] | None = None,
    stop_after_outputs: bool = False,
    timeout: float | None = None,
    store: str | os.PathLike[str] | None = None,
    rerun: bool = False,
    dry_run: bool = False,
    backup: bool = False,
    workdir: bool | str | os.PathLike[str] | None = None,
    max_workers: int | Literal["auto"] = 1,
    executor: Executor | None = None,
    progress: bool | None = False,
    capture_limit: int = 20_000,
    warm: bool = False,
    preload: list[str] | None = None,
    label: str | None = None,
    env: dict[str, str] | None = None,
    argv: list[str] | None = None,
    python: str | None = None,
) -> ScriptResults | DryRun:
    """Run a parameterised script exactly once, in a fresh subprocess.

    Unspecified parameters keep their script default; a parameter without a default must be
    given, or ``ValueError`` is raised before anything starts. The options are those of
    :func:`sensitivity` (``executor=`` runs the iteration on, say, a Dask cluster;
    ``max_workers`` is accepted for symmetry and changes nothing for one iteration).

    Returns
    -------
    ScriptResults
        A single-entry container: ``sr[params]["output_name"]`` (a ``DryRun`` when
        ``dry_run=True``).

    Examples
    --------
    >>> sr = run("pipeline.py", {"threshold": 0.8})  # doctest: +SKIP
    >>> sr[{"threshold": 0.8}]["summary"]  # doctest: +SKIP
    >>> sr = run("pipeline.py", outputs=["tracking"], stop_after_outputs=True)  # doctest: +SKIP
    """
    arguments = dict(locals())
    info = inspect_script(script_path)
    plan = plan_run(info, params)
    options = _options(arguments)
    return execute_plan(script_path, info, plan, options)


def sensitivity(
    script_path: str | Path,
    params: dict[str, list[Any]],
    *,
    nominal: dict[str, Any] | None = None,
    outputs: list[str] | None = None,
    stop_after_outputs: bool = False,
    mode: Literal["independent", "grid"] = "independent",
    timeout: float | None = None,
    store: str | os.PathLike[str] | None = None,
    rerun: bool = False,
    dry_run: bool = False,
    backup: bool = False,
    workdir: bool | str | os.PathLike[str] | None = None,
    max_workers: int | Literal["auto"] = 1,
    executor: Executor | None = None,
    progress: bool | None = None,
    capture_limit: int = 20_000,
    warm: bool = False,
    preload: list[str] | None = None,
    label: str | None = None,
    env: dict[str, str] | None = None,
    argv: list[str] | None = None,
    python: str | None = None,
) -> ScriptResults | DryRun:
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
        Per-iteration limit in seconds; the child and its process group are killed and the
        record says ``timeout``.
    store : path, optional
        A study database (SQLite). Every iteration is committed as it finishes; iterations
        that already succeeded for the same script content, parameters and outputs are
        reused instead of run again.
    rerun : bool
        With ``store``: run everything again, reusing nothing.
    dry_run : bool
        Return a :class:`DryRun` (what would run, what would be reused); nothing runs and
        the store is not changed.
    backup : bool
        With ``store``: copy the database (consistently) before the sweep changes it.
    workdir : bool or path, optional
        Run each iteration in its own new working directory: ``True`` puts them under the
        study (``<store>-calc/<iteration_id>``), a path puts them under that folder. The
        directory is in each record's ``workdir``.
    max_workers : int or "auto"
        Iterations to run at once on this machine ("auto": one per core).
    executor : concurrent.futures.Executor, optional
        Run iterations on any executor instead (e.g. ``dask.distributed.Client(...)
        .get_executor()``); every worker must see the script at the same path.
    progress : bool, optional
        Show a progress bar; by default only in a terminal or notebook.
    capture_limit : int
        Bytes of each iteration's stdout and stderr kept (the last ones).
    warm : bool
        Fork each iteration from a process that has already imported the script's
        top-level imports (``preload`` to choose them): much faster for pandas/numpy
        pipelines; Linux only, falls back to cold starts with a warning. See the README.
    preload : list of str, optional
        Modules a warm start imports up front (default: the script's top-level imports).
    label : str, optional
        A name for this sweep (``"coarse scan"``), kept with it and its iterations: the
        ``_label`` column of ``to_dataframe(meta=True)``, and ``label`` in the store.
    env : dict of str to str, optional
        Extra environment variables for every iteration (e.g. ``{"OMP_NUM_THREADS": "1"}``
        when running several iterations at once).
    argv : list of str, optional
        Command-line arguments for the script, its ``sys.argv[1:]``, the same in every
        iteration (for scripts that also read their own command line).
    python : str, optional
        The interpreter to run the script with (e.g. a project's virtualenv); by default
        the Python that launches each iteration (this one, or each worker's own).

    Returns
    -------
    ScriptResults
        (a :class:`DryRun` when ``dry_run=True``)

    Raises
    ------
    SweepInterrupted
        On Ctrl-C, after killing every running child; a ``KeyboardInterrupt`` whose
        ``.results`` holds the iterations that finished (in a notebook:
        ``sys.last_value.results``). With a store they are saved already.

    Examples
    --------
    >>> sr = sensitivity("pipeline.py", {"smooth_window": [3, 5, 7],
    ...                                  "threshold": [0.5, 0.8]})  # doctest: +SKIP
    >>> sr.to_dataframe()  # doctest: +SKIP
    >>> sr = sensitivity("pipeline.py", {"smooth_window": [3, 7]}, nominal={"threshold": 0.8},
    ...                  mode="grid", store="study.db", max_workers="auto")  # doctest: +SKIP
    """
    arguments = dict(locals())
    info = inspect_script(script_path)
    plan = plan_sweep(info, params, nominal=nominal, mode=mode)
    options = _options(arguments)
    return execute_plan(script_path, info, plan, options)


def plan(
    script_path: str | Path,
    params: dict[Any, list[Any]] | None = None,
    *,
    mode: Literal["independent", "grid"] = "grid",
    nominal: dict[str, Any] | None = None,
    include_nominal: bool = True,
    points: list[dict[str, Any]] | None = None,
    sample: dict[str, Any] | None = None,
    n: int | None = None,
    method: Literal["lhs", "random"] = "lhs",
    seed: int | None = None,
) -> Plan:
    """Plan a sweep without running it: ``plan(...).to_dataframe()`` shows every combination.

    Exactly one design: ``params`` (a grid or one-at-a-time sweep of value lists; a tuple
    key such as ``("window", "min_len")`` with a list of tuples links parameters that vary
    together), ``points`` (an explicit list of parameter dicts) or ``sample`` (``n`` random or
    Latin-hypercube draws from ``(low, high)`` ranges, ``(low, high, "log")`` or lists of
    choices, reproducible with ``seed``). ``nominal`` holds other parameters constant.
    A grid adds each parameter's nominal value to its list; ``include_nominal=False`` runs
    exactly the product of the given lists (as pypet's ``cartesian_product`` and psweep's
    ``pgrid`` do), so a one-value list holds that parameter constant.

    Examples
    --------
    >>> plan("pipeline.py", {("window", "min_len"): [(3, 2), (5, 3)],
    ...                      "threshold": [0.5, 0.8]})  # doctest: +SKIP
    >>> plan("pipeline.py", sample={"threshold": (0.1, 0.9), "window": (3, 15)}, n=20,
    ...      seed=1).to_dataframe()  # doctest: +SKIP
    """
    return _plan(inspect_script(script_path), params, mode=mode, nominal=nominal,
                 include_nominal=include_nominal, points=points, sample=sample, n=n,
                 method=method, seed=seed)


def _plan(info: ScriptInfo, params: Any, *, mode: str, nominal: Any, points: Any,
          sample: Any, n: Any, method: str, seed: Any, include_nominal: bool = True) -> Plan:
    designs = [name for name, value in (("params", params), ("points", points),
                                        ("sample", sample)) if value is not None]
    if len(designs) != 1:
        given = " and ".join(designs) if designs else "none"
        raise ParameterError(
            f"give exactly one design: params (value lists), points (a list of dicts) or "
            f"sample (ranges, with n); got {given}"
        )
    if sample is None and n is not None:
        raise ParameterError("n is the number of samples: it goes with sample=...")
    if include_nominal is not True and params is None:
        raise ParameterError("include_nominal goes with params (a grid of value lists); "
                             "points and samples run exactly the parameter sets given")
    if points is not None:
        return plan_points(info, points, nominal=nominal)
    if sample is not None:
        if n is None:
            raise ParameterError("sample=... needs n, the number of parameter sets to draw")
        return plan_sample(info, sample, n=n, method=method, seed=seed, nominal=nominal)
    return plan_sweep(info, params, nominal=nominal, mode=mode,
                      include_nominal=include_nominal)


def sweep(
    script_path: str | Path,
    params: dict[Any, list[Any]] | None = None,
    *,
    mode: Literal["independent", "grid"] = "grid",
    nominal: dict[str, Any] | None = None,
    include_nominal: bool = True,
    points: list[dict[str, Any]] | None = None,
    sample: dict[str, Any] | None = None,
    n: int | None = None,
    method: Literal["lhs", "random"] = "lhs",
    seed: int | None = None,
    outputs: list[str] | None = None,
    stop_after_outputs: bool = False,
    timeout: float | None = None,
    store: str | os.PathLike[str] | None = None,
    rerun: bool = False,
    dry_run: bool = False,
    backup: bool = False,
    workdir: bool | str | os.PathLike[str] | None = None,
    max_workers: int | Literal["auto"] = 1,
    executor: Executor | None = None,
    progress: bool | None = None,
    capture_limit: int = 20_000,
    warm: bool = False,
    preload: list[str] | None = None,
    label: str | None = None,
    env: dict[str, str] | None = None,
    argv: list[str] | None = None,
    python: str | None = None,
) -> ScriptResults | DryRun:
    """Run any sweep design: a grid (default), one-at-a-time, explicit points or samples.

    The design arguments are those of :func:`plan`; the running options those of
    :func:`sensitivity`.

    Examples
    --------
    >>> sr = sweep("pipeline.py", {("window", "min_len"): [(3, 2), (5, 3)],
    ...                            "threshold": [0.5, 0.8]})  # doctest: +SKIP
    >>> sr = sweep("pipeline.py", points=[{"window": 3},
    ...                                   {"window": 9, "threshold": 0.2}])  # doctest: +SKIP
    >>> sr = sweep("pipeline.py", sample={"threshold": (0.1, 0.9)}, n=50, seed=0,
    ...            max_workers="auto", store="study.db")  # doctest: +SKIP
    """
    arguments = dict(locals())
    info = inspect_script(script_path)
    planned = _plan(info, params, mode=mode, nominal=nominal, points=points, sample=sample,
                    n=n, method=method, seed=seed, include_nominal=include_nominal)
    options = _options(arguments)
    return execute_plan(script_path, info, planned, options)


def _options(arguments: dict[str, Any]) -> RunOptions:
    """The run options among a front end's arguments (its ``locals()``)."""
    names = {f.name for f in fields(RunOptions)}
    return RunOptions(**{name: arguments[name] for name in names if name in arguments})


def execute_plan(
    script_path: str | Path, info: ScriptInfo, plan: Plan, options: RunOptions
) -> ScriptResults | DryRun:
    """Run (or preview) a checked plan with ``options``; the common path of every front end."""
    requested = resolve_outputs(info, options.outputs, options.stop_after_outputs)
    _check_no_clash(plan, list(requested) if requested is not None else info.output_names)
    workers = check_options(options)
    workdirs = workdir_root(options)
    script = os.path.abspath(script_path)
    script_sha256 = file_sha256(script)
    study = _open_study(options)
    try:
        points = _complete(info, plan)
        python = resolve_python(options.python)
        reusable = {} if study is None or options.rerun else study.reusable(
            script_sha256, requested, options.argv or (), options.env, python=python,
            declared=None if info.dynamic_outputs else info.output_names)
        reuse = [reusable.get(point.digest) for point in points]
        if options.dry_run:
            return DryRun(plan, ["reuse" if r else "run" for r in reuse], reuse,
                          None if options.store is None else str(options.store))
        sweep_id = uuid.uuid4().hex
        output_names = list(requested) if requested is not None else info.output_names
        if study is not None:
            study.begin_sweep(SweepInfo(
                sweep_id=sweep_id, script=script, script_sha256=script_sha256, mode=plan.mode,
                param_names=plan.param_names, nominal=plan.nominal, requested_outputs=requested,
                output_names=output_names, n_planned=len(plan), cwd=os.getcwd(),
                label=options.label, design=plan.design,
            ))
        reused = {} if study is None else {r.iteration_id: r for r in study.records(
            ids=[r for r in reuse if r], outputs=requested)}
        template = IterationTask(
            script=script, params=plan.nominal, outputs=requested,
            stop_after_outputs=options.stop_after_outputs, sweep_id=sweep_id,
            script_sha256=script_sha256, cwd=os.getcwd(), timeout=options.timeout,
            capture_limit=options.capture_limit, label=options.label,
            env=tuple((options.env or {}).items()), argv=tuple(options.argv or ()),
            python=python,
        )
        items: list[Item] = []
        for index, (point, given, reused_id) in enumerate(zip(points, plan.points, reuse)):
            if reused_id is not None and reused_id in reused:
                items.append(reused[reused_id])
                continue
            iteration_id = uuid.uuid4().hex
            items.append(replace(
                template, params=point, inject=tuple(given), index=index,
                iteration_id=iteration_id,
                workdir=None if workdirs is None else os.path.join(workdirs, iteration_id),
            ))
        results = ScriptResults(plan.param_names, output_names, nominal=plan.nominal,
                                script=str(script_path), design=plan.design)
        show = interactive() if options.progress is None else options.progress
        with _launcher(info, options) as launch:
            results = execute(items, results, study=study, sweep_id=sweep_id,
                              max_workers=workers, executor=options.executor, progress=show,
                              launch=launch)
        _warn_unread(plan, results)
        return results
    finally:
        if study is not None:
            study.close()


@contextmanager
def _launcher(info: ScriptInfo, options: RunOptions) -> Iterator[Launch]:
    """``run_iteration``, or a warm variant forking from a zygote for this sweep."""
    if not options.warm:
        yield run_iteration
        return
    from .warm import Zygote, preload_modules

    explicit = options.preload is not None
    preload = list(options.preload or ()) if explicit else preload_modules(info.imports)
    zygote = Zygote(preload, python=resolve_python(options.python), strict=explicit)
    problem = zygote.start()
    if problem is not None:
        warn(f"warm start unavailable ({problem}); running cold", RuntimeWarning)
        yield run_iteration
        return
    try:
        yield functools.partial(run_iteration, spawn=zygote.spawn)
    finally:
        zygote.close()


def _check_no_clash(plan: Plan, output_names: list[str]) -> None:
    """An output named like a parameter of the plan would give the table two such columns."""
    clash = [n for n in output_names if n in plan.param_names]
    if clash:
        others = [n for n in output_names if n not in clash]
        hint = f"outputs={others!r}" if others else "outputs=[...] without it"
        raise ParameterError(
            f"output {clash[0]!r} has the same name as a parameter of this sweep, so results "
            f"could not tell them apart: rename the Output(..., name={clash[0]!r}) in the "
            f"script, or leave it out with {hint}"
        )


def _warn_unread(plan: Plan, results: ScriptResults) -> None:
    """Warn about given parameters that no iteration's script ever read: a typo, most often
    (with names computed at run time, the planner cannot tell)."""
    reported = [r for r in results.records if r.params_seen]
    if not reported:
        return  # no iteration got far enough to say
    unread = [n for n in plan.param_names if not any(n in r.params_seen for r in reported)]
    if unread:
        names = ", ".join(map(repr, unread))
        warn(f"the script never read parameter(s) {names}: no Param(..., name=...) call with "
             "that name ran, so the values given had no effect (a misspelt name? or a Param "
             "reached only after the requested outputs, with stop_after_outputs=True)")


def _complete(info: ScriptInfo, plan: Plan) -> list[ParamSet]:
    """Each point with every literal script default filled in: the full parameter set.

    The script would use those values anyway; naming them makes the parameter set (and its
    hash) complete, so a store recognises the same iteration whichever sweep planned it.
    """
    defaults = ParamSet({p.name: p.default for p in info.params
                         if p.known_default and is_scalar(p.default)})
    return [defaults.merged(point) for point in plan.points]


def _open_study(options: RunOptions) -> Study | None:
    if options.store is None:
        return None
    path = Path(options.store)
    if options.dry_run:  # a preview never creates, upgrades or otherwise changes the study
        exists = path.exists() and path.stat().st_size > 0
        return Study(path, read_only=True) if exists else None
    return Study(path, backup=options.backup)  # the copy is taken before anything changes
