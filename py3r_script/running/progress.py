"""The sweep's progress bar (done/total, failures, ETA on stderr), and when to show it."""

from __future__ import annotations

import os
import sys
from typing import Any

from ..records import IterationRecord

__all__ = ["Progress", "interactive"]


def interactive() -> bool:
    """Whether a progress bar should show by default: a terminal or a notebook, not CI.

    Examples
    --------
    >>> interactive()  # doctest: +SKIP
    False
    """
    if os.environ.get("CI"):
        return False
    if "ipykernel" in sys.modules:
        return True
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


class Progress:
    """A tqdm bar with done/total, failures and ETA, or nothing.

    Examples
    --------
    >>> bar = Progress(4, enabled=False)
    >>> bar.update(record)  # doctest: +SKIP
    >>> bar.close()
    """

    def __init__(self, total: int, *, enabled: bool) -> None:
        self._bar: Any = None
        self._failed = 0
        if not enabled:
            return
        options: dict[str, Any] = dict(total=total, unit="it", desc="sweep", dynamic_ncols=True)
        if _terminal_columns() == 0:
            # a terminal that reports no size (a pty nobody sized, as under `script` or some
            # CI runners) hides tqdm's bar altogether: give it the usual 80x24
            options.update(dynamic_ncols=False, ncols=80, nrows=24)
        try:
            from tqdm.auto import tqdm

            self._bar = tqdm(**options)
        except ImportError:  # a notebook without ipywidgets: fall back to the text bar
            from tqdm import tqdm

            self._bar = tqdm(**options)

    def update(self, record: IterationRecord) -> None:
        """One more iteration done (a failure, unless ``record.ok``)."""
        if self._bar is None:
            return
        if not record.ok:
            self._failed += 1
            self._bar.set_postfix(failed=self._failed, refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        """Leave the bar as it ended."""
        if self._bar is not None:
            self._bar.close()


def _terminal_columns() -> int | None:
    """The width of the terminal on stderr (0: one that reports none), ``None`` off one."""
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None
