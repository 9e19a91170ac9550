"""The ``report`` subcommand: a study as one self-contained HTML page."""

from __future__ import annotations

import argparse
from pathlib import Path

from .terminal import EXIT_OK, say

__all__ = ["report_command"]


def report_command(args: argparse.Namespace) -> int:
    """``py3r-script report STUDY [-o FILE.html] [--sweep ID|LABEL ...]``: write the page
    (by default beside the study, named like it, ``.html``)."""
    from ..store.study import Study

    out = Path(args.html) if args.html else Path(args.study).with_suffix(".html")
    with Study(args.study, create=False) as study:
        written = study.report(out, sweeps=args.sweeps)
    say(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB); open it in any browser")
    return EXIT_OK
