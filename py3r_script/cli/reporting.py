"""The ``report`` subcommand: a study as one self-contained HTML page."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import SweepError
from .terminal import EXIT_OK, say

__all__ = ["report_command"]


def report_command(args: argparse.Namespace) -> int:
    """``py3r-script report STUDY [-o FILE.html] [--sweep ID|LABEL ...]``: write the page
    (by default beside the study, named like it, ``.html``)."""
    from ..store.study import Study

    out = Path(args.html) if args.html else Path(args.study).with_suffix(".html")
    if out.is_dir():
        raise SweepError(f"-o {out}: that is a folder; give a file name, e.g. "
                         f"-o {out / 'report.html'}")
    if not out.parent.is_dir():
        raise SweepError(f"-o {out}: the folder {str(out.parent)!r} does not exist; create "
                         "it first or write elsewhere")
    with Study(args.study, create=False) as study:
        written = study.report(out, sweeps=args.sweeps)
    say(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB); open it in any browser")
    return EXIT_OK
