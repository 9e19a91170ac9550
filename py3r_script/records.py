"""``IterationRecord``: the one immutable value describing an iteration, from child to DataFrame."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ParameterTypeError, UntrustedOutputError
from .paramset import ParamSet

__all__ = ["NOTHING", "STATUSES", "DeferredOutput", "FrozenOutputs", "IterationRecord",
           "first_line", "seen_params"]

STATUSES = ("ok", "error", "timeout", "crashed", "cancelled")
"""``ok``: finished with every requested output; ``error``: exception, non-zero exit or a
missing output; ``timeout``: killed at the time limit; ``crashed``: killed by a signal or
could not start; ``cancelled``: stopped by the user (Ctrl-C)."""


_ABSENT = object()


class _Nothing(Mapping[str, Any]):
    """The empty read-only mapping (there is one: :data:`NOTHING`)."""

    __slots__ = ()

    def __getitem__(self, name: str) -> Any:
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"

    def __reduce__(self) -> str:
        return "NOTHING"  # unpickled as the one there is


NOTHING: Mapping[str, Any] = _Nothing()
"""The empty read-only mapping every record without an environment (or without values
read) shares: a long sweep's records hold one, not one empty ``dict`` each.

>>> NOTHING == {}, len(NOTHING)
(True, 0)
"""
_EMPTY: dict[str, Any] = {}  # shared by outputs that have no such names: never changed
# Records take slots where frozen dataclasses with slots pickle and copy reliably: 100 bytes
# less each, which a sweep of 100,000 iterations holds 100,000 times.
_SLOTS = {"slots": True} if sys.version_info >= (3, 11) else {}


class DeferredOutput:
    """An output read only when first asked for: a study's pickle, unpickled only then.

    ``type_name`` names the value's type without reading it; :meth:`load` returns the value,
    or raises a ``KeyError`` saying why it cannot (an
    :class:`~py3r_script.errors.UntrustedOutputError` when nothing says the pickle is safe).
    """

    __slots__ = ()

    @property
    def type_name(self) -> str:
        raise NotImplementedError

    def load(self) -> Any:
        raise NotImplementedError


class FrozenOutputs(Mapping[str, Any]):
    """A read-only mapping of output name to captured value (picklable).

    A value may be a :class:`DeferredOutput`, read when first asked for. ``unavailable``
    maps the names of outputs that were captured but cannot be loaded any more (say a
    study's side file was deleted) to the reason, and ``untrusted`` those of a study's
    pickles that may not be unpickled (see ``load(..., trusted=True)``) to the error saying
    so; neither kind is in the mapping, and asking for one raises that ``KeyError``.
    """

    __slots__ = ("_data", "_unavailable", "_untrusted")

    def __init__(self, data: Mapping[str, Any] | None = None,
                 unavailable: Mapping[str, str] | None = None,
                 untrusted: Mapping[str, UntrustedOutputError] | None = None) -> None:
        # only a deferred output's entry is ever replaced (by its value), so outputs that
        # have none of a kind share one empty dict
        self._data = dict(data) if data else _EMPTY
        self._unavailable = dict(unavailable) if unavailable else _EMPTY
        self._untrusted = dict(untrusted) if untrusted else _EMPTY

    @property
    def unavailable(self) -> dict[str, str]:
        """Outputs that were captured but could not be loaded: name -> why."""
        return dict(self._unavailable)

    @property
    def untrusted(self) -> dict[str, str]:
        """Pickled outputs of a study that were not unpickled, as nothing says they are
        safe: name -> why, and how to read them if you trust who wrote the study."""
        return {name: str(error) for name, error in self._untrusted.items()}

    @property
    def deferred(self) -> list[str]:
        """Outputs not read yet: each is read (a pickle: unpickled) when first asked for."""
        return [name for name, value in self._data.items() if isinstance(value, DeferredOutput)]

    def is_deferred(self, name: str) -> bool:
        """Whether output ``name`` is not read yet (a pickle of a study: never a scalar).

        >>> FrozenOutputs({"y": 3}).is_deferred("y")
        False
        """
        return isinstance(self._data.get(name), DeferredOutput)

    def type_name(self, name: str) -> str:
        """The qualified name of output ``name``'s type, found without reading it.

        >>> FrozenOutputs({"y": 3}).type_name("y")
        'int'
        """
        value = self._data[name]
        if isinstance(value, DeferredOutput):
            return value.type_name
        cls = type(value)
        return cls.__qualname__ if cls.__module__ == "builtins" else \
            f"{cls.__module__}.{cls.__qualname__}"

    def __getitem__(self, name: str) -> Any:
        try:
            value = self._data[name]
        except KeyError:
            raise self._missing(name) from None
        if isinstance(value, DeferredOutput):
            value = value.load()
            self._data[name] = value  # read once
        return value

    def get(self, name: str, default: Any = None) -> Any:
        """Output ``name``'s value (a deferred one read now), or ``default`` when it is
        not there or cannot be read.

        >>> FrozenOutputs({"y": 3}).get("y"), FrozenOutputs().get("y", 0)
        (3, 0)
        """
        value = self._data.get(name, _ABSENT)
        if value is _ABSENT:
            return default
        if isinstance(value, DeferredOutput):
            try:
                return self[name]
            except KeyError:
                return default
        return value

    def __contains__(self, name: object) -> bool:
        """Whether output ``name`` was captured and can be read (a deferred output is not
        read to tell: asking whether it is there never unpickles anything)."""
        return name in self._data

    def _missing(self, name: str) -> KeyError:
        if name in self._untrusted:
            error = self._untrusted[name]
            return UntrustedOutputError(str(error), error.output, error.study)
        if name in self._unavailable:
            return KeyError(f"output {name!r} of this iteration could not be loaded: "
                            f"{self._unavailable[name]}")
        available = ", ".join(map(repr, self._data)) or "none"
        return KeyError(f"no output {name!r} in this iteration; captured: {available}")

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        missing = f"; unavailable: {', '.join(self._unavailable)}" if self._unavailable else ""
        if self._untrusted:
            missing += f"; untrusted: {', '.join(self._untrusted)}"
        return f"FrozenOutputs({', '.join(self._data)}{missing})"

    def __reduce__(self) -> tuple[type[FrozenOutputs], tuple[dict[str, Any], dict[str, str],
                                                             dict[str, UntrustedOutputError]]]:
        return (FrozenOutputs, (self._data, self._unavailable, self._untrusted))


@dataclass(frozen=True, **_SLOTS)  # type: ignore[call-overload]
class IterationRecord:
    """Everything known about one iteration: what ran, how it ended, what it produced.

    Built once, by whoever launched the child (the local runner, a pool worker, a Dask
    worker), then kept unchanged by ``ScriptResults``, the study store and the DataFrame.
    ``python`` is the child's Python version and ``interpreter`` the path it was started
    with; ``replicate`` which run of its parameter set this is, when a sweep runs each
    point several times (``replicates=k``: 0 to k - 1; always 0 otherwise);
    ``iteration_seq`` and ``sweep_seq`` are the sequence numbers a study gave the iteration
    and the sweep that ran it (``None`` without a study).

    Examples
    --------
    >>> record = sr.records[0]  # doctest: +SKIP
    >>> record.status, record.duration, record.outputs["time_moving"]  # doctest: +SKIP
    ('ok', 0.41, 12.5)
    """

    params: ParamSet
    status: str
    outputs: FrozenOutputs = field(default_factory=FrozenOutputs)
    error: str | None = None
    error_type: str | None = None
    exit_code: int | None = None
    signal: str | None = None
    stopped_early: bool = False
    params_seen: Mapping[str, Any] = NOTHING
    started: float = 0.0
    finished: float = 0.0
    stdout: str = ""
    stderr: str = ""
    index: int = 0
    iteration_id: str = ""
    script: str = ""
    script_sha256: str = ""
    requested_outputs: tuple[str, ...] | None = None
    host: str = ""
    python: str = ""
    workdir: str | None = None
    sweep_id: str | None = None
    label: str | None = None
    argv: tuple[str, ...] = ()
    env: Mapping[str, str] = NOTHING
    interpreter: str = ""
    iteration_seq: int | None = None
    sweep_seq: int | None = None
    replicate: int = 0

    @property
    def ok(self) -> bool:
        """True when the iteration finished and produced every requested output."""
        return self.status == "ok"

    @property
    def duration(self) -> float:
        """Wall-clock seconds from launching the child to collecting its results."""
        return self.finished - self.started

    def __repr__(self) -> str:
        detail = "" if self.ok else f", error={first_line(self.error)!r}"
        return (
            f"IterationRecord(#{self.index} {dict(self.params)}"
            f"{f', replicate={self.replicate}' if self.replicate else ''}, status={self.status!r}, "
            f"outputs=[{', '.join(self.outputs)}], duration={self.duration:.3f}s{detail})"
        )


def seen_params(params: ParamSet, seen: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """What an iteration's script read (``seen``) as its record keeps it, read-only:
    ``params`` itself when they are the same values in the same order (as most often),
    :data:`NOTHING` when it read none, else a :class:`ParamSet` of them (a ``dict`` only
    when a study says it read values no parameter can have).

    >>> p = ParamSet({"w": 3})
    >>> seen_params(p, {"w": 3}) is p, seen_params(p, {"w": 3.0})
    (True, ParamSet(w=3.0))
    """
    if not seen:
        return NOTHING
    if not isinstance(seen, Mapping):
        return seen  # what a study edited by hand says, as it says it
    if list(seen) == list(params) and params == seen:
        return params
    try:
        return ParamSet(seen)
    except ParameterTypeError:
        return dict(seen)


def first_line(text: str | None) -> str:
    """The first line of a message (say an error's traceback), stripped; ``""`` for none.

    >>> first_line("ValueError: too big\\n  more detail")
    'ValueError: too big'
    """
    stripped = (text or "").strip()
    return stripped.splitlines()[0] if stripped else ""
