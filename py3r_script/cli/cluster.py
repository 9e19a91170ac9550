"""The job-array subcommands: ``work`` (a task's share), ``collect`` (the inbox) and
``batch`` (an sbatch script), for sweeps prepared with ``sweep ... --prepare``."""

from __future__ import annotations

import argparse
from typing import Any

from .terminal import EXIT_FAILED, EXIT_OK, say

__all__ = ["add_cluster_commands", "batch_command", "collect_command", "say_progress",
           "work_command"]


def add_cluster_commands(commands: Any, command: Any) -> None:
    """Add ``work``, ``collect`` and ``batch`` (``command`` builds one subparser)."""
    work = command(commands, "work", "Run one job-array task's share of a prepared study's "
                   "pending iterations; records go to the study's inbox only.",
                   "py3r-script work study.db --task 0 --of 8 --warm", [])
    work.add_argument("db", help="the study, prepared with sweep ... --prepare")
    work.add_argument("--task", type=int, metavar="I",
                      help="this task's number, 0..N-1 (default: $SLURM_ARRAY_TASK_ID)")
    work.add_argument("--of", type=int, metavar="N",
                      help="how many tasks share the work (default: $SLURM_ARRAY_TASK_COUNT)")
    work.add_argument("--warm", action="store_true",
                      help="fork iterations from a process with the script's imports loaded")
    work.add_argument("--preload", action="append", metavar="MODULE",
                      help="with --warm: a module to import up front (repeat)")
    collect = command(commands, "collect", "Ingest the records job-array tasks left in the "
                      "study's inbox, and tell what is pending, running, done, failed.",
                      "py3r-script collect study.db", [])
    collect.add_argument("db", help="the study")
    batch = command(commands, "batch", "Write an sbatch job-array script that runs a "
                    "prepared study's pending iterations (read and edit it, then sbatch it).",
                    "py3r-script batch study.db --slurm --tasks 20 --time 02:00:00 > run.sbatch",
                    [])
    batch.add_argument("db", help="the study, prepared with sweep ... --prepare")
    batch.add_argument("--slurm", action="store_true", required=True,
                       help="a SLURM script (the only kind so far)")
    batch.add_argument("--tasks", type=int, default=10, metavar="N",
                       help="array tasks to share the work (default 10)")
    batch.add_argument("--warm", action="store_true", help="each task forks warm children")
    for name, hint in (("time", "wall time per task, e.g. 02:00:00"),
                       ("mem", "memory per task, e.g. 4G"), ("cpus-per-task", "e.g. 1"),
                       ("partition", "the partition"), ("account", "the account")):
        batch.add_argument(f"--{name}", metavar="X", help=hint)


def work_command(args: argparse.Namespace) -> int:
    """``py3r-script work DB --task I --of N``: run this task's share."""
    from ..running.jobarrays import work

    records = work(args.db, args.task, args.of, warm=args.warm, preload=args.preload)
    failed = sum(not r.ok for r in records)
    say(f"ran {len(records)} iteration(s), {failed} failed; records are in the study's inbox "
        f"(py3r-script collect {args.db} ingests them)")
    return EXIT_FAILED if failed else EXIT_OK


def collect_command(args: argparse.Namespace) -> int:
    """``py3r-script collect DB``: the inbox into the study, then each sweep's progress."""
    from ..running.jobarrays import collect

    collect(args.db)
    say_progress(args.db)
    return EXIT_OK


def batch_command(args: argparse.Namespace) -> int:
    """``py3r-script batch DB --slurm``: the job-array script, on stdout."""
    from ..running.jobarrays import batch_script

    resources = {name: getattr(args, name.replace("-", "_"))
                 for name in ("time", "mem", "cpus-per-task", "partition", "account")}
    print(batch_script(args.db, args.tasks, warm=args.warm,
                       resources={k: v for k, v in resources.items() if v is not None}))
    return EXIT_OK


def say_progress(db: str) -> None:
    """One line per prepared sweep of the study: pending, running, stale, done, failed;
    and for stale iterations (claimed by a task that ended), the command that takes them
    over."""
    import shlex
    from pathlib import Path

    from ..store.pending import sweep_progress

    for sweep in sweep_progress(Path(db)):
        where = f" (on {', '.join(sweep.elsewhere)}, not checked from here)" \
            if sweep.elsewhere else ""
        say(f"sweep {sweep.sweep_seq} ({sweep.sweep_id[:8]}, {sweep.status}): "
            f"{sweep.pending} pending, {sweep.running} running{where}, {sweep.stale} stale, "
            f"{sweep.done} done, {sweep.failed} failed")
        if not sweep.stale:
            continue
        shares = [f"py3r-script work {shlex.quote(db)} --task {share[0]} --of {share[1]}"
                  for share in sweep.stale_shares if share is not None]
        fix = "run " + (" and ".join(f"`{c}`" for c in shares) if shares else
                        "the tasks that held them") + " again: a rerun takes them over"
        say(f"  {sweep.stale} iteration(s) of sweep {sweep.sweep_seq} were claimed by a "
            f"task on this host that has ended (killed?) before finishing them: {fix}")
