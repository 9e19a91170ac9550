"""The ``py3r-script`` command line: parse, run the subcommand, map errors to exit codes.

Exit codes: 0 every iteration succeeded, 1 some failed (listed on stderr), 2 usage or input
errors (a ``SweepError``, or ``-o`` that could not be written), 130 interrupted; anything
else is a bug and ends with its traceback. Messages go to stderr and data to stdout, so
``py3r-script sensitivity ... > out.csv`` writes a CSV file.

The arguments are defined in ``parser``; the subcommands in ``commands`` (running a script),
``studies`` (reading studies) and ``reporting`` (a study's HTML page); designs given as flags
are read in ``designflags``, run options in ``runflags``, sweep files in ``sweepfile``;
tables are written by ``terminal``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Callable

from ..errors import StudyPathError, SweepError
from .cluster import batch_command, collect_command, work_command
from .commands import inspect_command, run_command, sensitivity_command, sweep_command
from .habits import habit_hint
from .parser import ArgumentsError, parse_command_line
from .reporting import report_command
from .studies import merge_command, show_command
from .terminal import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, check_out, report, say

__all__ = ["main"]

_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "inspect": inspect_command, "run": run_command, "sensitivity": sensitivity_command,
    "sweep": sweep_command, "merge": merge_command, "show": show_command,
    "report": report_command, "work": work_command, "collect": collect_command,
    "batch": batch_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Bad input (every error py3r-script raises on purpose) is exit 2 with a message; any
    other exception is a bug, and ends with its traceback (exit 1). A command line written
    in another tool's habits (hydra's ``a=1,2``, papermill's ``-p NAME VALUE``) is told
    the py3r-script command that does the same.

    Examples
    --------
    >>> main(["inspect", "pipeline.py"])  # doctest: +SKIP
    0
    """
    tokens = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse_command_line(tokens)
    except ArgumentsError as exc:
        exc.parser.print_usage(sys.stderr)
        print(f"{exc.parser.prog}: error: {exc.message}", file=sys.stderr)
        hint = habit_hint(tokens, exc.extras)
        if hint:
            say(hint)
        return EXIT_USAGE
    try:
        check_out(getattr(args, "out", None))
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt as exc:
        return _interrupted(exc, args)
    except BrokenPipeError:  # the reader (e.g. `head`) went away: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except StudyPathError as exc:  # its fix, in the command line's terms
        reading = args.command in ("show", "merge", "report", "work", "collect", "batch")
        fix = ("give a study database (a file written with --store DB)" if reading
               else "choose another file name for --store")
        say(f"error: {exc.problem}; {fix}")
        return EXIT_USAGE
    except SweepError as exc:
        say(f"error: {exc}")
        return EXIT_USAGE


def _interrupted(exc: KeyboardInterrupt, args: argparse.Namespace) -> int:
    """Ctrl-C: the iterations that finished (a ``SweepInterrupted``'s results) are shown."""
    results = getattr(exc, "results", None)
    if results is None:
        say("interrupted")
        return EXIT_INTERRUPTED
    saved = " (saved in the store)" if getattr(args, "store", None) else \
        " (printed only: use --store to keep them)"
    say(f"interrupted: {len(results.records)} finished iteration(s){saved}")
    report(results, getattr(args, "out", None), getattr(args, "format", None))
    return EXIT_INTERRUPTED
