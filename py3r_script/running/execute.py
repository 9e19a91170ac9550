"""Executing a checked plan with run options: the common path of every front end.

:func:`execute_plan` opens the study, finds the iterations it can reuse, returns a
:class:`~py3r_script.designs.preview.DryRun` or turns each remaining parameter set into an
:class:`~py3r_script.running.launch.IterationTask`, and hands them to
:func:`~py3r_script.running.scheduling.execute` (cold launches, or warm ones forked from a
zygote), which fills the :class:`~py3r_script.results.ScriptResults`.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields, replace
from pathlib import Path

from ..designs.design import Plan
from ..designs.inspection import ScriptInfo
from ..designs.preview import DryRun
from ..errors import warn
from ..paramset import ParamSet, is_scalar
from ..records import IterationRecord
from ..results import ScriptResults
from ..store.provenance import file_sha256
from ..store.study import Study, SweepInfo
from . import scheduling
from .jobarrays import PreparedSweep, prepare_items
from .launch import IterationTask, run_iteration
from .options import RunOptions, resolve_outputs, resolve_python, workdir_root, worker_count
from .planned import PlannedItems

__all__ = ["execute_plan"]

_OPTION_NAMES = frozenset(f.name for f in fields(RunOptions))


def execute_plan(
    script_path: str | os.PathLike[str], info: ScriptInfo, plan: Plan, options: RunOptions
) -> ScriptResults | DryRun | PreparedSweep:
    """Run (or preview, with ``options.dry_run``) a checked plan of the script ``info``
    describes.

    Examples
    --------
    >>> from py3r_script.designs.planning import plan_run
    >>> from py3r_script.running.options import run_options
    >>> info = inspect_script("pipeline.py")  # doctest: +SKIP
    >>> execute_plan("pipeline.py", info, plan_run(info, {}), run_options())  # doctest: +SKIP
    """
    requested = resolve_outputs(info, options)
    output_names = list(requested) if requested is not None else info.output_names
    script = os.path.abspath(script_path)
    study = _open_study(options)
    try:
        defaults = _defaults(info)
        template = _task_template(script, plan, options, requested)
        reuse = _reusable(study, info, template, plan, defaults, options)
        if options.dry_run:
            return DryRun(plan, ["reuse" if r else "run" for r in reuse], reuse,
                          None if options.store is None else str(options.store))
        template = replace(template, sweep_id=uuid.uuid4().hex)
        if study is not None:
            study.begin_sweep(SweepInfo(
                sweep_id=template.sweep_id or "", script=script,
                script_sha256=template.script_sha256, mode=plan.mode,
                param_names=plan.param_names, nominal=plan.nominal, requested_outputs=requested,
                output_names=output_names, n_planned=len(plan), cwd=template.cwd or "",
                label=options.label, design=plan.design, python=template.python,
            ))
        items = _items(study, template, plan, defaults, reuse, workdir_root(options))
        if options.prepare and study is not None:
            return _prepared(study, template.sweep_id or "", items, options)
        results = ScriptResults(plan.param_names, output_names, nominal=plan.nominal,
                                script=str(script_path), design=plan.design)
        results = _schedule(items, results, study, info, options, template.sweep_id)
        _warn_unread(plan, results)
        return results
    finally:
        if study is not None:
            study.close()


def _prepared(study: Study, sweep_id: str, items: PlannedItems,
              options: RunOptions) -> PreparedSweep:
    """``prepare=True``: the reused iterations noted, the others left pending for tasks."""
    for index, record in items.reused.items():
        study.add_reused(record.iteration_id, sweep_id=sweep_id, plan_index=index)
    tasks = [task for _, task in items.pending()]
    return prepare_items(study, sweep_id, tasks, len(items.reused), options.chunk_size)


def _task_template(script: str, plan: Plan, options: RunOptions,
                   requested: tuple[str, ...] | None) -> IterationTask:
    """What every iteration's task shares.

    A run option an iteration needs reaches it as the task field of the same name
    (``timeout``, ``capture_limit``...), made plain and picklable where it has to be:
    adding such an option takes no change here.
    """
    carried = {f.name: getattr(options, f.name) for f in fields(IterationTask)
               if f.name in _OPTION_NAMES and f.name != "workdir"}  # workdir: per iteration
    return IterationTask(**{
        **carried, "script": script, "params": plan.nominal, "outputs": requested,
        "script_sha256": file_sha256(script), "cwd": os.getcwd(),
        "env": tuple((options.env or {}).items()), "argv": tuple(options.argv or ()),
        "python": resolve_python(options.python),
    })


def _reusable(study: Study | None, info: ScriptInfo, template: IterationTask, plan: Plan,
              defaults: ParamSet, options: RunOptions) -> list[str | None]:
    """For each point, the id of a stored iteration that can stand for it (``None``: run it):
    one of the same complete parameter set and replicate."""
    if study is None or options.rerun:
        return [None] * len(plan)
    found = study.reusable(
        template.script_sha256, template.outputs, template.argv, options.env,
        python=template.python, declared=None if info.dynamic_outputs else info.output_names)
    return [found.get((defaults.merged(point).digest, plan.replicate(index)))
            for index, point in enumerate(plan.points)]


def _items(study: Study | None, template: IterationTask, plan: Plan, defaults: ParamSet,
           reuse: list[str | None], workdirs: str | None) -> PlannedItems:
    """The sweep's items in plan order: a stored record to reuse, or a task to run (built
    when it is sent)."""
    wanted = [r for r in reuse if r]
    stored: dict[str, IterationRecord] = {} if study is None or not wanted else {
        r.iteration_id: r for r in study.records(ids=wanted, outputs=template.outputs)}
    reused = {index: stored[found] for index, found in enumerate(reuse)
              if found is not None and found in stored}
    return PlannedItems(template, plan, defaults, reused, workdirs)


def _schedule(items: PlannedItems, results: ScriptResults, study: Study | None,
              info: ScriptInfo, options: RunOptions, sweep_id: str | None) -> ScriptResults:
    show = scheduling.interactive() if options.progress is None else options.progress
    if options.executor is not None:  # chunks, each warm on its worker when asked
        from .submitting import executor_submitter

        with executor_submitter(options, info, study) as (executor, submit):
            return scheduling.execute(items, results, study=study, sweep_id=sweep_id,
                                      executor=executor, progress=show, submit=submit)
    sha = items.template.script_sha256 if items.n_pending else ""
    with _launcher(info, options, sha) as launch:
        return scheduling.execute(items, results, study=study, sweep_id=sweep_id,
                                  max_workers=worker_count(options), progress=show,
                                  launch=launch)


@contextmanager
def _launcher(info: ScriptInfo, options: RunOptions, script_sha256: str
              ) -> Iterator[scheduling.Launch]:
    """``run_iteration``, or a warm variant forking from a pooled zygote (``zygotes``)."""
    if not options.warm:
        yield run_iteration
        return
    from .warm import sweep_preload
    from .zygotes import warm_launcher

    preload, explicit = sweep_preload(info.imports, options.preload)
    python = resolve_python(options.python) or sys.executable
    with warm_launcher(preload, explicit, python, script_sha256) as launch:
        yield launch


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


def _defaults(info: ScriptInfo) -> ParamSet:
    """The script's literal defaults, which complete each point into its full parameter set.

    The script would use those values anyway; naming them makes the parameter set (and its
    hash) complete, so a store recognises the same iteration whichever sweep planned it.
    """
    return ParamSet({p.name: p.default for p in info.params
                     if p.known_default and is_scalar(p.default)})


def _open_study(options: RunOptions) -> Study | None:
    if options.store is None:
        return None
    path = Path(options.store)
    if options.dry_run:  # a preview never creates, upgrades or otherwise changes the study
        exists = path.exists() and path.stat().st_size > 0
        return Study(path, read_only=True) if exists else None
    return Study(path, backup=options.backup)  # the copy is taken before anything changes
