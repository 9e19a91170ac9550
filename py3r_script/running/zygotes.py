"""The warm pool: zygotes kept alive between sweeps in this process, and what they learned.

A warm sweep leases a zygote here (:func:`warm_launcher`): a live idle one started the same
way (same interpreter, preload list, strictness and environment) if there is one, else a
new one. When the sweep ends the zygote goes back to the pool, idle, for the next warm sweep
of this process (a notebook calling ``sensitivity`` again pays no import). The pool keeps at
most :attr:`WarmPool.max_alive` idle zygotes (least recently used go first) for at most
:attr:`WarmPool.max_idle` seconds each, and closes them all on :meth:`WarmPool.close` and
at interpreter exit (a ``multiprocessing`` worker's too, which skips ``atexit``).
Each process has its own pool: a warm chunk on an executor's worker leases from the
worker's (``chunks.run_chunk``), so a long-lived worker's next chunk forks at once.

It never serves stale code: a zygote that died, that an import made unsafe, or one of whose
module files changed on disk since it imported them is closed and replaced. It imports only
libraries' modules (``child/libraries.py``), unless the user names others in ``preload=``.

Learned preloads: the first children of each sweep list the library modules the script
imported that the zygote had not (lazily imported submodules, mostly); the zygote imports
them before forking more, and the set is remembered per script (by content hash) for its
next sweeps. With an explicit ``preload=`` nothing is learned.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import OptionError, warn
from .launch import run_iteration
from .scheduling import Launch
from .warm import Zygote

__all__ = ["WarmPool", "WarmZygote", "warm_launcher", "warm_pool"]

_log = logging.getLogger(__name__)

_SETTLE_SECONDS = 5.0  # how long an interrupted sweep's zygote may take to reap its children


@dataclass(frozen=True)
class WarmZygote:
    """What :meth:`WarmPool.zygotes` shows of one live zygote."""

    pid: int
    python: str
    preload: tuple[str, ...]
    modules: tuple[str, ...]
    sys_path: tuple[str, ...]
    busy: bool
    sweeps: int
    idle_seconds: float


class _Entry:
    """A zygote in the pool, with its key and use."""

    def __init__(self, key: tuple, zygote: Zygote) -> None:
        self.key = key
        self.zygote = zygote
        self.busy = True
        self.sweeps = 0
        self.last_used = time.monotonic()


class WarmPool:
    """The zygotes this process keeps for warm sweeps. Get it with :func:`warm_pool`.

    ``max_alive``: idle zygotes kept (default 2; 0 closes each when its sweep ends);
    ``max_idle``: seconds an idle one is kept (default 600). Set them with
    :meth:`configure`.

    Examples
    --------
    >>> pool = warm_pool()
    >>> pool.configure(max_alive=1, max_idle=120)
    >>> [z.pid for z in pool.zygotes()]  # doctest: +SKIP
    [41217]
    >>> pool.close()
    """

    def __init__(self, max_alive: int = 2, max_idle: float = 600.0) -> None:
        self.max_alive = max_alive
        self.max_idle = max_idle
        self._entries: list[_Entry] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._owner = os.getpid()
        self.learned: dict[tuple[str, str], tuple[str, ...]] = {}  # by (python, script)
        self.refused: dict[tuple[str, str], set[str]] = {}  # learned, but not to import

    def configure(self, *, max_alive: int | None = None, max_idle: float | None = None
                  ) -> None:
        """Change the caps (``None``: keep); idle zygotes beyond them are closed now.

        >>> warm_pool().configure(max_alive=0)  # every warm sweep starts its own zygote
        """
        if max_alive is not None:
            if isinstance(max_alive, bool) or not isinstance(max_alive, int) or max_alive < 0:
                raise OptionError(f"max_alive must be a non-negative int (idle zygotes kept; "
                                  f"0 keeps none), got {max_alive!r}", "max_alive")
            self.max_alive = max_alive
        if max_idle is not None:
            if isinstance(max_idle, bool) or not isinstance(max_idle, (int, float)) \
                    or not max_idle >= 0:
                raise OptionError(f"max_idle must be a non-negative number of seconds, got "
                                  f"{max_idle!r}", "max_idle")
            self.max_idle = float(max_idle)
        self._evict()

    def zygotes(self) -> list[WarmZygote]:
        """The live zygotes, least recently used first.

        >>> warm_pool().zygotes()  # doctest: +SKIP
        [WarmZygote(pid=41217, python='/usr/bin/python3', preload=('pandas',), ...)]
        """
        now = time.monotonic()
        with self._lock:
            entries = list(self._entries)
        return [WarmZygote(
            pid=e.zygote.pid or 0, python=e.zygote.python, preload=tuple(e.zygote.preload),
            modules=tuple(sorted(e.zygote.modules)), sys_path=tuple(e.zygote.sys_path),
            busy=e.busy, sweeps=e.sweeps, idle_seconds=0.0 if e.busy else now - e.last_used,
        ) for e in entries if e.zygote.pid is not None]

    def close(self) -> None:
        """Close every idle zygote now (a busy one closes when its sweep ends).

        >>> warm_pool().close()
        """
        with self._lock:
            idle = [e for e in self._entries if not e.busy]
            for entry in idle:
                self._entries.remove(entry)
        for entry in idle:
            entry.zygote.close()

    @contextmanager
    def lease(self, preload: Sequence[str], python: str, strict: bool
              ) -> Iterator[Zygote | str]:
        """A ready zygote for one sweep (or why there is none), back in the pool after it.

        >>> with warm_pool().lease(["pandas"], sys.executable, False) as zygote:  # doctest: +SKIP
        ...     record = run_iteration(task, spawn=zygote.spawn)
        """
        key = _key(preload, python, strict)
        entry = self._reuse(key)
        if entry is None:
            zygote = Zygote(preload, python=python, strict=strict)
            problem = zygote.start()
            if problem is not None:
                yield problem
                return
            entry = _Entry(key, zygote)
            with self._lock:
                self._entries.append(entry)
        clean = False
        try:
            yield entry.zygote
            clean = True
        finally:
            entry.zygote.on_report = None
            self._release(entry, clean)

    def _reuse(self, key: tuple) -> _Entry | None:
        """A live, fresh, idle zygote of ``key``, now busy; stale ones are closed."""
        self._forget_if_forked()
        while True:
            with self._lock:
                found = next((e for e in reversed(self._entries)
                              if not e.busy and e.key == key), None)
                if found is None:
                    return None
                found.busy = True
            why = found.zygote.stale()
            if why is None:
                return found
            _log.debug("warm zygote %s replaced: %s", found.zygote.pid, why)
            with self._lock:
                self._entries.remove(found)
            found.zygote.close()

    def _release(self, entry: _Entry, clean: bool) -> None:
        keep = self.max_alive > 0 and entry.zygote.stale(files=False) is None and (
            clean or entry.zygote.settled(_SETTLE_SECONDS))
        with self._lock:
            entry.busy = False
            entry.sweeps += 1
            entry.last_used = time.monotonic()
            if not keep and entry in self._entries:
                self._entries.remove(entry)
        if not keep:
            entry.zygote.close()
        self._evict()

    def _evict(self) -> None:
        """Close idle zygotes beyond the caps; check again when the next one expires."""
        now = time.monotonic()
        with self._lock:
            idle = [e for e in self._entries if not e.busy]
            expired = [e for e in idle if now - e.last_used >= self.max_idle]
            kept = [e for e in idle if e not in expired]
            kept.sort(key=lambda e: e.last_used)
            expired += kept[:max(0, len(kept) - self.max_alive)]
            kept = kept[max(0, len(kept) - self.max_alive):]
            for entry in expired:
                self._entries.remove(entry)
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if kept:
                wait = max(0.0, min(e.last_used for e in kept) + self.max_idle - now)
                self._timer = threading.Timer(wait + 0.01, self._evict)
                self._timer.daemon = True
                self._timer.start()
        for entry in expired:
            entry.zygote.close()

    def _forget_if_forked(self) -> None:
        if os.getpid() != self._owner:
            self._forget()

    def _forget(self) -> None:
        """In a forked copy of this process: the zygotes are the parent's, not ours. Close
        our copies of their pipes (so they still see the parent go), touch nothing else."""
        for entry in self._entries:
            entry.zygote.disown()
        self._entries = []
        self._lock = threading.Lock()
        self._timer = None
        self._owner = os.getpid()

    def _at_exit(self) -> None:
        if os.getpid() == self._owner:
            self.max_alive = 0
            self.close()


def _key(preload: Sequence[str], python: str, strict: bool) -> tuple:
    """What a zygote must have been started with to serve a sweep: the interpreter, the
    preload list, strictness and the environment (with the working directory when
    ``PYTHONPATH`` names relative folders, which it resolves)."""
    env = tuple(sorted(os.environ.items()))
    relative = any(p and not os.path.isabs(p)
                   for p in os.environ.get("PYTHONPATH", "").split(os.pathsep))
    return (os.path.abspath(python), tuple(preload), strict, env,
            os.getcwd() if relative else None)


_POOL: WarmPool | None = None
_POOL_LOCK = threading.Lock()
_EXIT_HOOKED: int | None = None  # the process whose end closes the pool (see below)


def warm_pool() -> WarmPool:
    """This process's pool of warm-start zygotes (made on first use, closed at exit).

    Examples
    --------
    >>> from py3r_script import warm_pool
    >>> warm_pool().configure(max_alive=4, max_idle=300)
    >>> warm_pool().close()  # free the memory the idle zygotes hold now
    """
    global _POOL, _EXIT_HOOKED
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = WarmPool()
            atexit.register(_POOL._at_exit)
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=_POOL._forget)
        if os.getpid() != _EXIT_HOOKED:
            _EXIT_HOOKED = os.getpid()
            _close_with_worker(_POOL)
        return _POOL


def _close_with_worker(pool: WarmPool) -> None:
    """In a ``multiprocessing`` worker (a ``ProcessPoolExecutor``'s, whose chunks lease
    zygotes here): close the pool when it ends. A forked or forkserver worker leaves with
    ``os._exit``, which skips ``atexit``, but runs ``multiprocessing``'s own exit hooks."""
    process = sys.modules.get("multiprocessing.process")
    if process is None or process.parent_process() is None:
        return
    from multiprocessing import util

    util.Finalize(pool, pool._at_exit, exitpriority=0)


@contextmanager
def warm_launcher(preload: Sequence[str], explicit: bool, python: str,
                  script_sha256: str, *, quiet: bool = False) -> Iterator[Launch]:
    """How one warm sweep (or a chunk of one, on a worker) launches its iterations: forked
    from a pooled zygote, learning the script's library imports unless ``explicit``
    (``preload=`` given); cold, with a warning unless ``quiet``, when no zygote can start.

    >>> with warm_launcher(["pandas"], False, sys.executable, sha) as launch:  # doctest: +SKIP
    ...     record = launch(task)
    """
    pool = warm_pool()
    with pool.lease(preload, python, explicit) as zygote:
        if isinstance(zygote, str):
            if quiet:
                _log.debug("warm start unavailable (%s); running cold", zygote)
            else:
                warn(f"warm start unavailable ({zygote}); running cold", RuntimeWarning)
            yield run_iteration
            return
        if not explicit:
            _Learner(pool, zygote, (os.path.abspath(python), script_sha256)).begin()
        yield functools.partial(run_iteration, spawn=zygote.spawn)


class _Learner:
    """Learned preloads for one sweep: what earlier sweeps of the script learned is
    imported first; the first child to report adds what it imported."""

    def __init__(self, pool: WarmPool, zygote: Zygote, key: tuple[str, str]) -> None:
        self.pool = pool
        self.zygote = zygote
        self.key = key
        self._lock = threading.Lock()

    def begin(self) -> None:
        known = self.pool.learned.get(self.key, ())
        if known:
            self._import(known)
        self.zygote.on_report = self.reported

    def reported(self, names: list[str]) -> None:
        with self._lock:
            if self.zygote.on_report is None:
                return  # another child reported first
            self.zygote.on_report = None
            refused = self.pool.refused.get(self.key, set())
            names = [n for n in names if n not in refused]
            learned = self.pool.learned.get(self.key, ())
            self.pool.learned[self.key] = tuple(dict.fromkeys([*learned, *names]))
            self._import(names)

    def _import(self, names: Sequence[str]) -> None:
        wanted = [n for n in names if n not in self.zygote.modules]
        if not wanted:
            return
        answer = self.zygote.learn(wanted)
        if answer is None:
            _log.debug("warm zygote %s did not import the learned modules", self.zygote.pid)
            return
        for name, why in answer.failed.items():
            _log.debug("learned module %r not preloaded: %s", name, why)
        if answer.unsafe:
            _log.debug("warm zygote %s forks no more: %s", self.zygote.pid, answer.unsafe)
            bad = set(answer.loaded[-1:])
        else:
            bad = set()
        bad.update(answer.failed)
        if bad:
            self.pool.refused.setdefault(self.key, set()).update(bad)
            self.pool.learned[self.key] = tuple(
                n for n in self.pool.learned.get(self.key, ()) if n not in bad)
