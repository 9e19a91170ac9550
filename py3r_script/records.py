"""``IterationRecord``: the one immutable value describing an iteration, from child to DataFrame."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .paramset import ParamSet

__all__ = ["STATUSES", "FrozenOutputs", "IterationRecord", "first_line"]

STATUSES = ("ok", "error", "timeout", "crashed", "cancelled")
"""``ok``: finished with every requested output; ``error``: exception, non-zero exit or a
missing output; ``timeout``: killed at the time limit; ``crashed``: killed by a signal or
could not start; ``cancelled``: stopped by the user (Ctrl-C)."""


class FrozenOutputs(Mapping[str, Any]):
    """A read-only mapping of output name to captured value (picklable).

    ``unavailable`` maps the names of outputs that were captured but cannot be loaded any
    more (say a study's side file was deleted) to the reason; they are not in the mapping,
    and asking for one raises a ``KeyError`` giving that reason.
    """

    __slots__ = ("_data", "_unavailable")

    def __init__(self, data: Mapping[str, Any] | None = None,
                 unavailable: Mapping[str, str] | None = None) -> None:
        self._data = dict(data or {})
        self._unavailable = dict(unavailable or {})

    @property
    def unavailable(self) -> dict[str, str]:
        """Outputs that were captured but could not be loaded: name -> why."""
        return dict(self._unavailable)

    def __getitem__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            if name in self._unavailable:
                raise KeyError(f"output {name!r} of this iteration could not be loaded: "
                               f"{self._unavailable[name]}") from None
            available = ", ".join(map(repr, self._data)) or "none"
            raise KeyError(f"no output {name!r} in this iteration; captured: {available}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        missing = f"; unavailable: {', '.join(self._unavailable)}" if self._unavailable else ""
        return f"FrozenOutputs({', '.join(self._data)}{missing})"

    def __reduce__(self) -> tuple[type[FrozenOutputs], tuple[dict[str, Any], dict[str, str]]]:
        return (FrozenOutputs, (self._data, self._unavailable))


@dataclass(frozen=True)
class IterationRecord:
    """Everything known about one iteration: what ran, how it ended, what it produced.

    Built once, by whoever launched the child (the local runner, a pool worker, a Dask
    worker), then kept unchanged by ``ScriptResults``, the study store and the DataFrame.
    ``python`` is the child's Python version and ``interpreter`` the path it was started
    with; ``iteration_seq`` and ``sweep_seq`` are the sequence numbers a study gave the
    iteration and the sweep that ran it (``None`` without a study).

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
    params_seen: Mapping[str, Any] = field(default_factory=dict)
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
    env: Mapping[str, str] = field(default_factory=dict)
    interpreter: str = ""
    iteration_seq: int | None = None
    sweep_seq: int | None = None

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
            f"IterationRecord(#{self.index} {dict(self.params)}, status={self.status!r}, "
            f"outputs=[{', '.join(self.outputs)}], duration={self.duration:.3f}s{detail})"
        )


def first_line(text: str | None) -> str:
    """The first line of a message (say an error's traceback), stripped; ``""`` for none.

    >>> first_line("ValueError: too big\\n  more detail")
    'ValueError: too big'
    """
    stripped = (text or "").strip()
    return stripped.splitlines()[0] if stripped else ""
