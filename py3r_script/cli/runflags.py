"""Run options from command-line flags (and a sweep file's keys), checked by ``run_options``.

The rules are the options module's; here only their wording changes: an option that needs a
study says which flag (or which key of the sweep file) to add.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import OptionError, SweepError
from ..running.options import RunOptions, run_options

if TYPE_CHECKING:
    from .sweepfile import SweepFile

__all__ = ["flag_options", "options_in_terms"]

# How the command line says to give an option the study it needs.
_NEEDS_STORE = {
    "rerun": "--rerun (reuse nothing) needs a study: give --store DB, or leave --rerun out",
    "backup": "--backup (back up the study first) needs a study: give --store DB, or leave "
              "--backup out",
    "workdir": "--workdir without a folder puts the iteration folders next to the study, so "
               "it needs --store DB; or give a folder: --workdir DIR",
}


def flag_options(args: argparse.Namespace) -> dict[str, Any]:
    """The run options given as flags, by keyword name; flags left out are not there.

    >>> flag_options(build_parser().parse_args(["run", "s.py", "--timeout", "5"]))  # doctest: +SKIP
    {'timeout': 5.0}
    """
    options = {
        "outputs": args.outputs,
        "stop_after_outputs": args.stop_after_outputs,
        "timeout": args.timeout,
        "store": args.store,
        "dry_run": args.dry_run,
        "rerun": args.rerun,
        "backup": args.backup,
        "workdir": args.workdir,
        "progress": args.progress,
        "warm": args.warm,
        "preload": args.preload,
        "label": args.label,
        "env": _env(args.env),
        "argv": _argv(args.argv),
        "python": args.python,
        "chunk_size": args.chunk_size,
        "prepare": args.prepare,
        "max_workers": _workers(getattr(args, "workers", None)),
    }
    return {name: value for name, value in options.items() if value is not None}


def options_in_terms(options: Mapping[str, Any], spec: SweepFile | None = None,
                     flags: Mapping[str, Any] | None = None) -> RunOptions:
    """:func:`~py3r_script.running.options.run_options`, its errors worded as flags or keys.

    With a sweep file ``spec``, an option that does not come from the command line
    (``flags``) came from the file: its error names the key and its line.

    >>> options_in_terms({"rerun": True})  # doctest: +SKIP
    SweepError: --rerun (reuse nothing) needs a study: give --store DB, or leave --rerun out
    """
    try:
        return run_options(**options)
    except OptionError as exc:
        if exc.needs != "store" or options.get("store"):
            raise
        if spec is not None and exc.option not in (flags or {}):
            raise spec.error(f"{exc.option} = true needs a study database: add "
                             'store = "study.db" to the file, or give --store DB',
                             exc.option) from None
        raise SweepError(_NEEDS_STORE[exc.option]) from None


def _env(items: list[str] | None) -> dict[str, str] | None:
    if items is None:
        return None
    env = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SweepError(f"--env takes NAME=VALUE, got {item!r}")
        env[name] = value
    return env


def _argv(text: str | None) -> list[str] | None:
    if text is None:
        return None
    try:
        return shlex.split(text)
    except ValueError as exc:  # e.g. an unclosed quote
        raise SweepError(f"--argv {text!r}: {exc}; quote it as a shell would, e.g. "
                         "--argv \"--input 'a b.csv'\"") from None


def _workers(text: str | None) -> int | str | None:
    if text is None or text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise SweepError(
            f"-j/--workers takes a positive integer or 'auto', got {text!r}") from None
