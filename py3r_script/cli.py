"""The ``py3r-script`` command line: a thin adapter that parses, calls the API, maps errors to exit codes."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .errors import SweepError

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="py3r-script",
        description="Sweep the parameters of unmodified Python pipeline scripts.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    inspect = commands.add_parser(
        "inspect",
        help="list a script's parameters and outputs without running it",
        description="List a script's Param and Output declarations without running it.",
        epilog="example:\n  py3r-script inspect sample_pipelines/oft_pipeline.py --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inspect.add_argument("script", help="path to the script")
    inspect.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def _inspect(args: argparse.Namespace) -> int:
    from .inspection import inspect_script

    info = inspect_script(args.script)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2, default=repr))
    else:
        print(info.format(display_path=args.script))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 iterations failed, 2 usage)."""
    args = _parser().parse_args(argv)
    try:
        return {"inspect": _inspect}[args.command](args)
    except SweepError as exc:
        print(f"py3r-script: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
