"""The parent/child contract: environment variable, iteration files, payload and outcome formats.

Nothing else in the package knows how the parent and a child talk. The parent writes a
``Payload`` into a private iteration directory and names it in ``ENV_VAR``; the child appends
one framed pickle per captured ``Output`` to ``outputs.bin`` as it happens (so a later crash
keeps what was produced) and, when the script ends, writes an ``Outcome`` atomically. A child
killed by a signal writes no outcome: the parent builds the record from the return code.

This module is imported by every child, so it imports only the standard library's light
modules; ``cloudpickle`` is imported only for a value plain pickle cannot handle.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, BinaryIO, Callable, ClassVar, TypeVar

    _R = TypeVar("_R", bound="_Record")

ENV_VAR = "PY3R_SCRIPT_PAYLOAD"
"""Environment variable naming the payload file of the iteration a child must run."""

WORKER_ENV_VAR = "PY3R_SCRIPT_WORKER_PAYLOAD"
"""Set by a running child so that its ``multiprocessing`` workers started with ``spawn`` or
``forkserver``, which import the script afresh, read the same parameter values.

Unlike ``ENV_VAR`` it starts nothing: it is honoured only by a multiprocessing worker that is
re-importing the payload's own script (see :func:`worker_params`), so any other process the
script starts still sees the script's defaults.
"""

_DIR_PREFIX = "py3r-script-"

_FRAME = struct.Struct("<Q")
_NAME = struct.Struct("<H")
_PICKLE_PROTOCOL = 5 if sys.version_info >= (3, 8) else pickle.HIGHEST_PROTOCOL


class IterationFiles:
    """Every file name of one iteration's private directory."""

    __slots__ = ("root",)

    def __init__(self, root: str) -> None:
        self.root = root

    def __reduce__(self) -> tuple[type, tuple[str]]:
        return (IterationFiles, (self.root,))

    @property
    def payload(self) -> str:
        return os.path.join(self.root, "payload.pkl")

    @property
    def outputs(self) -> str:
        return os.path.join(self.root, "outputs.bin")

    @property
    def outcome(self) -> str:
        return os.path.join(self.root, "outcome.pkl")

    @property
    def stdout(self) -> str:
        return os.path.join(self.root, "stdout.txt")

    @property
    def stderr(self) -> str:
        return os.path.join(self.root, "stderr.txt")


def iteration_dir_prefix(sweep_id: str | None) -> str:
    """The name prefix of an iteration's private directory; it names the sweep, so the
    sweep's processes on a machine can be found by their environment (:func:`sweep_tag`)."""
    return f"{_DIR_PREFIX}{sweep_id}-" if sweep_id else _DIR_PREFIX


def iteration_tag(files: IterationFiles) -> bytes:
    """What every process of an iteration carries in its environment (``/proc/<pid>/environ``).

    The child starts with ``ENV_VAR`` naming the payload and sets ``WORKER_ENV_VAR`` to the
    same path, so the processes it forks or starts inherit ``=<payload path>\\0``.
    """
    return b"=" + os.fsencode(files.payload) + b"\0"


def sweep_tag(sweep_id: str) -> bytes:
    """What every process of a sweep carries in its environment, whichever worker ran it."""
    return os.fsencode(os.sep + iteration_dir_prefix(sweep_id))


class _Record:
    """A small immutable record type that costs nothing to import (no ``dataclasses``)."""

    __slots__: tuple[str, ...] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(self.__slots__)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown field(s) {sorted(unknown)}")
        for name in self.__slots__:
            value = values[name] if name in values else self._defaults[name]
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), {n: getattr(self, n) for n in self.__slots__}))

    def replace(self: _R, **changes: Any) -> _R:
        """A copy with ``changes`` applied."""
        values = {n: getattr(self, n) for n in self.__slots__}
        values.update(changes)
        return type(self)(**values)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(
            getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__name__}({fields})"


def _rebuild(cls: type[_Record], values: dict[str, Any]) -> _Record:
    return cls(**values)


class Payload(_Record):
    """What the parent tells a child: which script, which values, which outputs to capture.

    Fields: ``script``, ``params``, ``outputs`` (``None``: all), ``stop_after_outputs``,
    ``files`` (:class:`IterationFiles`), ``argv``, ``cwd``.
    """

    __slots__ = ("argv", "cwd", "files", "outputs", "params", "script", "stop_after_outputs")
    _defaults: ClassVar[dict[str, Any]] = {"argv": (), "cwd": None}

    script: str
    params: dict[str, Any]
    outputs: tuple[str, ...] | None
    stop_after_outputs: bool
    files: IterationFiles
    argv: tuple[str, ...]
    cwd: str | None


class Outcome(_Record):
    """What a child reports when its script ends (normally, by exception or early stop).

    ``status`` is ``"ok"``, ``"error"`` (an exception) or ``"exit"`` (``sys.exit(n != 0)``).
    ``spawned`` is False when the script certainly started no process, so the parent need
    not look for processes it left behind (``None``: cannot tell).
    """

    __slots__ = ("error_message", "error_type", "exit_code", "params_seen", "python",
                 "spawned", "status", "stopped_early", "traceback")
    _defaults: ClassVar[dict[str, Any]] = {
        "exit_code": 0, "error_type": None, "error_message": None, "traceback": None,
        "stopped_early": False, "params_seen": None,
        "python": "{}.{}.{}".format(*sys.version_info[:3]), "spawned": None,
    }

    status: str
    exit_code: int
    error_type: str | None
    error_message: str | None
    traceback: str | None
    stopped_early: bool
    params_seen: dict[str, Any] | None
    python: str
    spawned: bool | None


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either nothing or the whole file."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


class _NeedsValue(Exception):
    """Raised while pickling: an object refers to code only the child can import."""


class _ReferencePickler(pickle.Pickler):
    """Plain pickle that refuses references the parent could not resolve.

    Classes and functions defined in the script (``__main__``) or in modules beside it are
    pickled by reference, which only the child can import; those values go to cloudpickle,
    which pickles such code by value.
    """

    local_roots: tuple[str, ...] = ()

    def reducer_override(self, obj: object) -> Any:
        if isinstance(obj, type) or callable(obj):
            module = getattr(obj, "__module__", None)
            if module in ("__main__", "__mp_main__") or _is_local(module, self.local_roots):
                raise _NeedsValue(module)
        return NotImplemented


def _is_local(module: str | None, roots: tuple[str, ...]) -> bool:
    if not module or not roots:
        return False
    path = getattr(sys.modules.get(module), "__file__", None) or ""
    return any(path.startswith(root) for root in roots)


def dumps(value: object, local_roots: tuple[str, ...] = ()) -> bytes:
    """Pickle ``value``: plain pickle when the parent can load it, cloudpickle otherwise.

    ``local_roots`` are folders (with a trailing separator) whose modules the parent cannot
    import: the script's own folder.
    """
    import io

    buffer = io.BytesIO()
    pickler = _ReferencePickler(buffer, protocol=_PICKLE_PROTOCOL)
    pickler.local_roots = local_roots
    try:
        pickler.dump(value)
        return buffer.getvalue()
    except Exception:
        import cloudpickle  # lazily: costs ~25 ms, paid only by values that need it

        for root in local_roots:
            for name, module in list(sys.modules.items()):
                if (getattr(module, "__file__", None) or "").startswith(root) \
                        and name != "__main__":
                    cloudpickle.register_pickle_by_value(module)
        return cloudpickle.dumps(value, protocol=_PICKLE_PROTOCOL)


def write_payload(payload: Payload) -> None:
    write_atomic(payload.files.payload, dumps(payload))


def read_payload(path: str) -> Payload:
    with open(path, "rb") as handle:
        return pickle.load(handle)


def write_outcome(files: IterationFiles, outcome: Outcome) -> None:
    write_atomic(files.outcome, dumps(outcome))


def read_outcome(files: IterationFiles) -> Outcome | None:
    """The child's outcome, or ``None`` when it wrote none (killed, ``os._exit``)."""
    try:
        with open(files.outcome, "rb") as handle:
            return pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception:  # a half-written file cannot exist (atomic), but be defensive
        return None


def append_output(
    handle: BinaryIO, name: str, value: object, local_roots: tuple[str, ...] = ()
) -> None:
    """Append one framed output record: name length, name, pickle length, pickle."""
    blob = dumps(value, local_roots)
    encoded = name.encode()
    handle.write(_NAME.pack(len(encoded)) + encoded + _FRAME.pack(len(blob)))
    handle.write(blob)
    handle.flush()


def read_outputs(files: IterationFiles) -> tuple[dict[str, Any], dict[str, str]]:
    """Every complete output record, in capture order; a later record of a name replaces it.

    Returns the outputs and, by name, why any complete record could not be loaded here. A
    truncated last record (a child killed mid-write) is ignored.
    """
    outputs: dict[str, Any] = {}
    unreadable: dict[str, str] = {}
    try:
        handle = open(files.outputs, "rb")
    except FileNotFoundError:
        return outputs, unreadable
    with handle:
        while True:
            head = handle.read(_NAME.size)
            if len(head) < _NAME.size:
                break
            (name_len,) = _NAME.unpack(head)
            encoded = handle.read(name_len)
            size_bytes = handle.read(_FRAME.size)
            if len(encoded) < name_len or len(size_bytes) < _FRAME.size:
                break
            (size,) = _FRAME.unpack(size_bytes)
            start = handle.tell()
            end = handle.seek(0, os.SEEK_END)
            if end - start < size:
                break
            handle.seek(start)
            name = encoded.decode()
            try:
                outputs[name] = pickle.load(handle)
                unreadable.pop(name, None)
            except Exception as exc:
                unreadable[name] = f"{type(exc).__name__}: {exc}"
            handle.seek(start + size)
    return outputs, unreadable


class ChildSession:
    """The injected state of a running child, read by ``Param`` and fed by ``Output``.

    It lives here, in a module that is only ever imported, so the markers and the bootstrap
    always see the same copy.
    """

    def __init__(self, payload: Payload, on_complete: Callable[[], None]) -> None:
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
        if self.wanted is not None and name not in self.wanted:
            return
        try:
            append_output(self._sink, name, value, self._local_roots)
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
    interpreter, where ``SESSION`` is empty. Such a worker inherits ``WORKER_ENV_VAR`` and
    takes the values from the iteration's payload, but only while it is re-importing that
    very script: an unrelated program the script starts keeps its own defaults. Workers
    never capture outputs.
    """
    global _worker_params
    if _worker_params is _UNREAD:
        _worker_params = None
        path = os.environ.get(WORKER_ENV_VAR)
        process = sys.modules.get("multiprocessing.process")
        main = sys.modules.get("__mp_main__")
        if path and process is not None and main is not None and _is_worker(process):
            try:
                payload = read_payload(path)
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


# -- warm starts: the driver and the zygote exchange one JSON object per line -------------
# driver -> zygote:  {"id": 7, "payload": "...", "stdout": "...", "stderr": "...", "env": {}}
# zygote -> driver:  {"event": "ready", "preloaded": [...]}
#                    {"event": "unavailable", "reason": "..."}
#                    {"event": "started", "id": 7, "pid": 1234}
#                    {"event": "exited", "pid": 1234, "returncode": 0}   (-N: signal N)


def encode_message(message: dict[str, Any]) -> bytes:
    """One protocol message as a line of JSON."""
    import json

    return json.dumps(message).encode() + b"\n"


def decode_message(line: bytes) -> dict[str, Any]:
    import json

    return json.loads(line)


def fork_request(files: IterationFiles, env: dict[str, str], ident: int) -> dict[str, Any]:
    """What the driver asks the zygote for one iteration."""
    return {"id": ident, "payload": files.payload, "stdout": files.stdout,
            "stderr": files.stderr, "env": env}
