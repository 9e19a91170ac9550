"""The subcommands that read studies: ``show`` (what a study holds) and ``merge``."""

from __future__ import annotations

import argparse
import shlex

from ..dataframe import META_COLUMNS
from ..errors import SweepError
from .cluster import say_progress
from .terminal import EXIT_OK, say, scalar_table, show_table

__all__ = ["merge_command", "show_command"]

# With --meta on a narrow terminal, the bookkeeping a person reads first (then the outputs,
# then the rest of it) is the last to be left out.
_META_FIRST = ("_status", "_error", "_duration_s", "_iteration_id", "_sweep_seq", "_label")


def show_command(args: argparse.Namespace) -> int:
    """``py3r-script show DB [--sweep ID] [--errors] [--compare A B]``: a study's sweeps,
    rows, failures, or what changed between two sweeps; on a terminal fitted to its width
    (``--meta`` adds the bookkeeping columns, ``--wide`` shows everything in full), complete in
    a file or a pipe."""
    from ..store.entry import load
    from ..store.study import Study

    with Study(args.db, create=False) as study:
        sweeps = study.sweeps()
        if args.compare:
            a, b = (_sweep_id(text, sweeps["sweep_id"].tolist(), args.db) for text in args.compare)
            return show_table(study.compare(a, b), args.out, args.format, wide=args.wide)
    if args.sweep is None and not args.errors:
        columns = ["sweep_seq", "sweep_id", "label", "created_utc", "status", "mode", "script",
                   "n_planned", "n_done", "n_failed", "git_commit"]
        table = sweeps[columns].copy()
        table["sweep_id"] = table["sweep_id"].str[:8]
        say(f"{args.db}: {len(sweeps)} sweep(s); show one with --sweep N or ID")
        say_progress(args.db)  # prepared sweeps: pending, running, done, failed
        return show_table(table, args.out, args.format, wide=args.wide)
    sweep = None if args.sweep is None else _sweep_id(args.sweep, sweeps["sweep_id"].tolist(),
                                                      args.db)
    results = load(args.db, sweep=sweep)
    if args.errors:
        import pandas as pd

        failed = [r for r in results.records if not r.ok]
        table = pd.DataFrame(
            [[r.params.get(n) for n in results.param_names]
             + [r.status, r.sweep_id, r.iteration_id, r.error] for r in failed],
            columns=[*results.param_names, "_status", "_sweep_id", "_iteration_id", "_error"],
        )
        say(f"{len(failed)} failed iteration(s)")
        return show_table(table, args.out, args.format, wide=args.wide)
    rows = scalar_table(results, meta=True)
    params = list(rows.columns[:len(results.param_names)])  # then outputs, then bookkeeping
    return show_table(rows, args.out, args.format, wide=args.wide,
                      hidden=() if args.meta else META_COLUMNS,
                      first=[*params, *_META_FIRST] if args.meta else ())


def _sweep_id(text: str, ids: list[str], db: str) -> str:
    """``--sweep``: a sweep number when there is such a sweep, else an id (or id prefix).

    An id prefix may be all digits (``show`` prints 8-character prefixes); sweep numbers
    are small, so a number that is no sweep's is tried as an id prefix.
    """
    try:
        number: int | None = int(text)
    except ValueError:
        number = None
    if number is not None and -len(ids) <= number < len(ids):
        return ids[number]
    matches = [i for i in ids if i.startswith(text.lower())] if text else []
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise SweepError(f"--sweep {text}: {len(matches)} sweeps have an id starting with "
                         f"{text!r}; give more of the id")
    problem = f"no sweep id starting with {text!r}"
    if number is not None:
        numbers = f"0 to {len(ids) - 1}, or -1 for the latest" if ids else "none"
        problem = f"no sweep number {number} (its numbers: {numbers}) and {problem}"
    raise SweepError(f"--sweep {text}: {db} has {problem}; py3r-script show "
                     f"{shlex.quote(db)} lists its sweeps")


def merge_command(args: argparse.Namespace) -> int:
    """``py3r-script merge TARGET SOURCE...``: studies run apart, merged into one."""
    from ..store.study import Study

    with Study(args.target) as study:
        for source in args.sources:
            say(f"{source}: {study.merge(source)} iteration(s) added to {args.target}")
    return EXIT_OK
