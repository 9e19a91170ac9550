"""The public calls: ``run``, ``sensitivity``, ``sweep`` and ``plan``, from script to results.

How an iteration flows (the command line and sweep files join at the design request and the
run options, and from there take the same path)::

    script + parameter values
        │  designs.inspection.inspect_script()      static AST: names, defaults, outputs
        ▼
    designs.request.design_request()               one design, its rules checked
        │  designs.planning.plan_design()           ParamSets; every check happens here,
        ▼                                           before any subprocess starts
    Plan  +  running.options.run_options()          how to run it, checked: one RunOptions
        │
        ▼
    running.execute.execute_plan()                  store.study: reuse, or an IterationTask
        │  running.scheduling.execute()             this thread, a thread pool or any Executor
        ▼
    running.launch.run_iteration()                  one fresh child per iteration (or forked
        │                                           from a running.warm zygote)
        ▼
    child.bootstrap                                 runs the script with the markers live;
        │                                           writes outputs and outcome (child.boundary)
        ▼
    records.IterationRecord ──► store.study.Study.add() (as each finishes)
                            ──► results.ScriptResults ──► to_dataframe(), analysis
"""

from __future__ import annotations

import os
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, Literal

from ..designs.inspection import inspect_script
from ..designs.planning import Plan, plan_design
from ..designs.preview import DryRun
from ..designs.request import DesignRequest, check_replicates, design_request
from ..results import ScriptResults
from .execute import execute_plan
from .jobarrays import PreparedSweep
from .options import run_options

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
    chunk_size: int | None = None,
    prepare: bool = False,
    replicates: int = 1,
    replicate_seed: str | bool | None = None,
    seed: int | None = None,
) -> ScriptResults | DryRun | PreparedSweep:
    """Run a parameterised script exactly once, in a fresh subprocess.

    Unspecified parameters keep their script default; a parameter without a default must be
    given, or ``ValueError`` is raised before anything starts. The options are those of
    :func:`sensitivity` (``executor=`` runs the iteration on, say, a Dask cluster;
    ``max_workers`` is accepted for symmetry and changes nothing for one iteration;
    ``replicates=k`` runs it k times, as :func:`sensitivity` says).

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
    info = inspect_script(script_path)
    planned = plan_design(info, DesignRequest("single", params=params, seed=seed,
                                              replicates=check_replicates(replicates),
                                              replicate_seed=replicate_seed))
    options = run_options(
        outputs=outputs, stop_after_outputs=stop_after_outputs, timeout=timeout, store=store,
        rerun=rerun, dry_run=dry_run, backup=backup, workdir=workdir, max_workers=max_workers,
        executor=executor, progress=progress, capture_limit=capture_limit, warm=warm,
        preload=preload, label=label, env=env, argv=argv, python=python,
        chunk_size=chunk_size, prepare=prepare)
    return execute_plan(script_path, info, planned, options)


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
    chunk_size: int | None = None,
    prepare: bool = False,
    replicates: int = 1,
    replicate_seed: str | bool | None = None,
    seed: int | None = None,
) -> ScriptResults | DryRun | PreparedSweep:
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
    executor : concurrent.futures.Executor, Dask Client or submitit executor, optional
        Run iterations on any executor instead (e.g. a ``dask.distributed.Client`` on a
        dask-jobqueue ``SLURMCluster``, or ``submitit.AutoExecutor(...)``); every worker must
        see the script at the same path. ``warm=True`` starts one zygote per job.
    chunk_size : int, optional
        With ``executor``: iterations per submitted job, run one after another in it
        (default: 1 for local pools, 10 for dask-jobqueue, 50 for submitit); with
        ``prepare``, the iterations per job-array task the printed instructions suggest.
    prepare : bool
        With ``store``: plan the sweep into the study, every iteration pending, and return
        a :class:`~py3r_script.running.jobarrays.PreparedSweep` saying how to run it as
        job-array tasks (``py3r-script work``); nothing runs here.
    replicates : int
        Run each parameter set this many times (default 1), for a mean and a 95 %
        confidence interval per point (``sr.aggregate()``, the sensitivity table, the
        plots). Each replicate is a record of its own (``record.replicate``, the
        ``replicate`` column of ``to_dataframe()``).
    replicate_seed : str or False, optional
        The parameter each replicate's own seed goes to; by default ``"seed"`` when the
        script declares a Param of that name. Replicate ``r`` of every point gets a seed
        derived from ``seed`` (0 when not given: a rerun gives the same seeds) and ``r``.
        Without a seed parameter (or with ``False``) the replicates run as they are, with
        the script's own randomness.
    seed : int, optional
        With ``replicates``: the seed each replicate's seed is derived from (default 0).
    progress : bool, optional
        Show a progress bar; by default only in a terminal or notebook.
    capture_limit : int
        Bytes of each iteration's stdout and stderr kept (the last ones).
    warm : bool
        Fork each iteration from a process that has already imported the script's
        top-level imports (``preload`` to choose them): much faster for pandas/numpy
        pipelines; Linux only, falls back to cold starts with a warning. The process is
        kept for the next warm sweeps (:func:`~py3r_script.running.zygotes.warm_pool`).
        See the README.
    preload : list of str, optional
        Modules a warm start imports up front (default: the script's top-level library
        imports, plus those it learns the script imports later; given, exactly these).
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
    info = inspect_script(script_path)
    planned = plan_design(info, design_request(params, nominal=nominal, mode=mode,
                                               replicates=replicates, seed=seed,
                                               replicate_seed=replicate_seed))
    options = run_options(
        outputs=outputs, stop_after_outputs=stop_after_outputs, timeout=timeout, store=store,
        rerun=rerun, dry_run=dry_run, backup=backup, workdir=workdir, max_workers=max_workers,
        executor=executor, progress=progress, capture_limit=capture_limit, warm=warm,
        preload=preload, label=label, env=env, argv=argv, python=python,
        chunk_size=chunk_size, prepare=prepare)
    return execute_plan(script_path, info, planned, options)


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
    method: Literal["lhs", "random", "morris", "sobol"] = "lhs",
    seed: int | None = None,
    method_options: dict[str, Any] | None = None,
    replicates: int = 1,
    replicate_seed: str | bool | None = None,
) -> Plan:
    """Plan a sweep without running it: ``plan(...).to_dataframe()`` shows every combination.

    Exactly one design: ``params`` (a grid or one-at-a-time sweep of value lists; a tuple
    key such as ``("window", "min_len")`` with a list of tuples links parameters that vary
    together), ``points`` (an explicit list of parameter dicts) or ``sample`` (``n`` random or
    Latin-hypercube draws from ``(low, high)`` ranges, ``(low, high, "log")`` or lists of
    choices, reproducible with ``seed``). ``nominal`` holds other parameters constant.
    ``method="morris"`` (``n`` trajectories) and ``method="sobol"`` (base sample size ``n``)
    draw a global sensitivity design from the same ranges with SALib (``pip install
    "py3r-script[gsa]"``); ``method_options`` gives their options: ``levels`` (default 4)
    and ``optimal_trajectories`` (default ``None``) for Morris, ``second_order`` (default
    ``False``) for Sobol'. ``len(plan(...))`` is the number of iterations the design needs.
    A grid adds each parameter's nominal value to its list; ``include_nominal=False`` runs
    exactly the product of the given lists (as pypet's ``cartesian_product`` and psweep's
    ``pgrid`` do), so a one-value list holds that parameter constant. ``replicates=k`` runs
    each parameter set k times (``len`` counts every run), replicate ``r`` given a seed
    derived from ``seed`` (0 when not given) and ``r`` in ``replicate_seed`` (see
    :func:`sensitivity`).

    Examples
    --------
    >>> plan("pipeline.py", {("window", "min_len"): [(3, 2), (5, 3)],
    ...                      "threshold": [0.5, 0.8]})  # doctest: +SKIP
    >>> plan("pipeline.py", sample={"threshold": (0.1, 0.9), "window": (3, 15)}, n=20,
    ...      seed=1).to_dataframe()  # doctest: +SKIP
    >>> len(plan("pipeline.py", sample={"threshold": (0.1, 0.9), "window": (3, 15)}, n=64,
    ...          method="sobol", seed=1))  # 64 * (2 + 2)  # doctest: +SKIP
    256
    """
    info = inspect_script(script_path)
    request = design_request(params, points=points, sample=sample, nominal=nominal, mode=mode,
                             include_nominal=include_nominal, n=n, method=method, seed=seed,
                             method_options=method_options, replicates=replicates,
                             replicate_seed=replicate_seed)
    return plan_design(info, request)


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
    method: Literal["lhs", "random", "morris", "sobol"] = "lhs",
    seed: int | None = None,
    method_options: dict[str, Any] | None = None,
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
    chunk_size: int | None = None,
    prepare: bool = False,
    replicates: int = 1,
    replicate_seed: str | bool | None = None,
) -> ScriptResults | DryRun | PreparedSweep:
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
    >>> sr = sweep("pipeline.py", sample={"threshold": (0.1, 0.9), "window": (3, 15)},
    ...            n=256, method="sobol", seed=0, warm=True)  # doctest: +SKIP
    >>> sr.sensitivity_table("time_moving")  # S1, S1_conf, ST, ST_conf  # doctest: +SKIP
    """
    info = inspect_script(script_path)
    request = design_request(params, points=points, sample=sample, nominal=nominal, mode=mode,
                             include_nominal=include_nominal, n=n, method=method, seed=seed,
                             method_options=method_options, replicates=replicates,
                             replicate_seed=replicate_seed)
    planned = plan_design(info, request)
    options = run_options(
        outputs=outputs, stop_after_outputs=stop_after_outputs, timeout=timeout, store=store,
        rerun=rerun, dry_run=dry_run, backup=backup, workdir=workdir, max_workers=max_workers,
        executor=executor, progress=progress, capture_limit=capture_limit, warm=warm,
        preload=preload, label=label, env=env, argv=argv, python=python,
        chunk_size=chunk_size, prepare=prepare)
    return execute_plan(script_path, info, planned, options)
