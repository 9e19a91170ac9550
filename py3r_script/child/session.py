"""The live state of a child: the values ``Param`` reads and the sink ``Output`` feeds.

The markers read it and the bootstrap sets it, so it lives in a module that is only ever
imported, never run as ``__main__`` (a module run as a program is a second copy, and
``Param`` would see an empty one). A multiprocessing worker of a child finds the values
through :func:`worker_params` instead.
"""

from __future__ import annotations

import os
import pickle
import sys

from . import boundary

TYPE_CHECKING = False  # not typing's: importing typing would cost every child ~4 ms
if TYPE_CHECKING:
    from typing import Any, BinaryIO, Callable

__all__ = ["SESSION", "ChildSession", "worker_params"]


class ChildSession:
    """The injected state of a running child, read by ``Param`` and fed by ``Output``.

    Examples
    --------
    >>> session = ChildSession(payload, on_complete=stop_now)  # doctest: +SKIP
    >>> session.capture("total", 42)  # doctest: +SKIP
    """

    def __init__(self, payload: boundary.Payload, on_complete: Callable[[], None]) -> None:
        self.payload = payload
        self.params = payload.params
        self.wanted = None if payload.outputs is None else frozenset(payload.outputs)
        self.pending = set(payload.outputs or ())
        self.params_seen: dict[str, Any] = {}
        self._on_complete = on_complete
        # Opened before the script runs: a script that closes fd 1 or 2 must not get its
        # stdout reused for our outputs.
        self._sink: BinaryIO = open(payload.files.outputs, "ab")  # type: ignore[assignment]
        folder = os.path.dirname(os.path.realpath(payload.script))
        self._local_roots = (os.path.join(folder, ""),)

    def capture(self, name: str, value: object) -> None:
        """Send ``value`` back as output ``name`` (if requested); stop early once every
        requested output is in, when the payload asks for it."""
        if self.wanted is not None and name not in self.wanted:
            return
        try:
            boundary.append_output(self._sink, name, value, self._local_roots)
        except Exception as exc:
            raise TypeError(
                f"Output {name!r} could not be pickled to send it back to the sweep "
                f"({type(exc).__name__}: {exc}). Output a picklable value (e.g. a DataFrame, "
                "array or dict) or leave this output out of outputs=[...]."
            ) from None
        self.pending.discard(name)
        if self.payload.stop_after_outputs and self.wanted is not None and not self.pending:
            self._on_complete()


SESSION: ChildSession | None = None
"""The active session in a child; ``None`` when a script runs on its own."""

_UNREAD: Any = object()
_worker_params: dict[str, Any] | None = _UNREAD


def worker_params() -> dict[str, Any] | None:
    """The injected values, in a multiprocessing worker of a child; ``None`` elsewhere.

    ``spawn`` and ``forkserver`` workers run the script again as ``__mp_main__`` in a new
    interpreter, where ``SESSION`` is empty. Such a worker inherits
    ``boundary.WORKER_ENV_VAR`` and takes the values from the iteration's payload, but only
    while it is re-importing that very script: an unrelated program the script starts keeps
    its own defaults. Workers never capture outputs.

    Examples
    --------
    >>> worker_params() is None  # not a worker of a child
    True
    """
    global _worker_params
    if _worker_params is _UNREAD:
        _worker_params = None
        path = os.environ.get(boundary.WORKER_ENV_VAR)
        process = sys.modules.get("multiprocessing.process")
        main = sys.modules.get("__mp_main__")
        if path and process is not None and main is not None and _is_worker(process):
            try:
                payload = boundary.read_payload(path)
            except (OSError, pickle.UnpicklingError, EOFError):
                return None  # the iteration is over: nothing to inherit
            if os.path.realpath(getattr(main, "__file__", "") or "") \
                    == os.path.realpath(payload.script):
                _worker_params = payload.params
    return _worker_params


def _is_worker(process: Any) -> bool:
    """Whether this is a multiprocessing worker: while it imports the parent's main module
    (``_inheriting``, set during ``spawn.prepare``), or once it runs tasks."""
    current = process.current_process()
    return getattr(current, "_inheriting", False) or process.parent_process() is not None
