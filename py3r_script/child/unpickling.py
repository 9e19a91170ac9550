"""Unpickling what a child sent without letting it end this process.

Loading a value runs code of the child's choosing (a ``__setstate__``, a ``__reduce__``
callable), which may raise anything, ``SystemExit`` and ``KeyboardInterrupt`` included.
Raised by the value, they are that value's problem, to be reported; raised because this
process received a signal meanwhile (Ctrl-C, or the SIGTERM and SIGHUP a sweep turns into
one), they must go on. Python runs signal handlers only in the main thread: while loading
there, :func:`signals_noted` wraps the handlers of those signals to note that one ran, so
the two are told apart. In any other thread a signal never raises.

Only the reading side (the driver) imports this module.
"""

from __future__ import annotations

import pickle
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

__all__ = ["load", "signals_noted"]

_STOPPING_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


@contextmanager
def signals_noted() -> Iterator[list[int]]:
    """A list that receives the number of each stopping signal whose handler runs meanwhile.

    Examples
    --------
    >>> with signals_noted() as arrived:
    ...     pass
    >>> arrived
    []
    """
    arrived: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield arrived  # no handler runs here: nothing to note
        return
    wrapped: dict[int, tuple[Any, Any]] = {}
    for name in _STOPPING_SIGNALS:
        number: int | None = getattr(signal, name, None)
        handler = None if number is None else signal.getsignal(number)
        if number is not None and callable(handler):  # SIG_DFL, SIG_IGN: no Python raise
            wrapped[number] = (handler, _noting(handler, arrived))
            signal.signal(number, wrapped[number][1])
    try:
        yield arrived
    finally:
        for number, (handler, noting) in wrapped.items():
            if signal.getsignal(number) is noting:  # unless changed meanwhile
                signal.signal(number, handler)


def _noting(handler: Any, arrived: list[int]) -> Any:
    def noting(number: int, frame: Any) -> Any:
        arrived.append(number)
        return handler(number, frame)

    return noting


def load(handle: IO[bytes], arrived: list[int]) -> tuple[bool, Any]:
    """``(True, value)`` unpickled from ``handle``, or ``(False, exception)`` for whatever
    the unpickling raised, unless a signal ``arrived`` meanwhile (then it goes on).

    Examples
    --------
    >>> import io
    >>> with signals_noted() as arrived:
    ...     load(io.BytesIO(pickle.dumps(42)), arrived)
    (True, 42)
    """
    try:
        return True, pickle.load(handle)
    except BaseException as exc:  # the value's own SystemExit, KeyboardInterrupt...
        if arrived:
            raise  # ...unless this process was told to stop
        return False, exc
