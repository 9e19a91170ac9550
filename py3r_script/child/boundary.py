"""The parent/child contract: environment variables, iteration files, payload and outcome
formats, every launch command line and every warm-start message.

Nothing else in the package knows how the parent and a child talk. The parent writes a
``Payload`` into a private iteration directory and names it in ``ENV_VAR``; the child appends
one framed pickle per captured ``Output`` to ``outputs.bin`` as it happens (so a later crash
keeps what was produced) and, when the script ends, writes an ``Outcome`` atomically. A child
killed by a signal writes no outcome: the parent builds the record from the return code.
Every process the package starts (a cold child, the warm-start zygote, the sentinel) is
started by a command line built here, and the driver, the zygote and the sentinel exchange
only the messages defined here (the zygote's, in ``zygotemessages``, are re-exported here).

This module is imported by every child, so it imports only the standard library's light
modules; ``cloudpickle`` is imported only for a value plain pickle cannot handle.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys

from .frozen import FrozenRecord
from .pickling import dumps
from .zygotemessages import Exited as Exited
from .zygotemessages import ForkRequest as ForkRequest
from .zygotemessages import Import as Import
from .zygotemessages import Imported as Imported
from .zygotemessages import Preloading as Preloading
from .zygotemessages import Ready as Ready
from .zygotemessages import Started as Started
from .zygotemessages import Unavailable as Unavailable
from .zygotemessages import ZygoteMessage as ZygoteMessage
from .zygotemessages import split_messages as split_messages

TYPE_CHECKING = False  # not typing's: importing typing would cost every child ~4 ms
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, BinaryIO, ClassVar

ENV_VAR = "PY3R_SCRIPT_PAYLOAD"
"""Environment variable naming the payload file of the iteration a child must run."""

WORKER_ENV_VAR = "PY3R_SCRIPT_WORKER_PAYLOAD"
"""Set by a running child so that its ``multiprocessing`` workers started with ``spawn`` or
``forkserver``, which import the script afresh, read the same parameter values.

Unlike ``ENV_VAR`` it starts nothing: it is honoured only by a multiprocessing worker that is
re-importing the payload's own script (see :func:`~py3r_script.child.session.worker_params`),
so any other process the script starts still sees the script's defaults.
"""

_DIR_PREFIX = "py3r-script-"

_FRAME = struct.Struct("<Q")
_NAME = struct.Struct("<H")


class IterationFiles:
    """Every file name of one iteration's private directory ``root``: the attributes
    ``payload``, ``outputs``, ``outcome``, ``stdout`` and ``stderr`` are their paths, and
    ``modules`` where a warm child lists the library modules it imported (when asked)."""

    __slots__ = ("modules", "outcome", "outputs", "payload", "root", "stderr", "stdout")

    def __init__(self, root: str) -> None:
        self.root = root
        self.payload = os.path.join(root, "payload.pkl")
        self.outputs = os.path.join(root, "outputs.bin")
        self.outcome = os.path.join(root, "outcome.pkl")
        self.stdout = os.path.join(root, "stdout.txt")
        self.stderr = os.path.join(root, "stderr.txt")
        self.modules = os.path.join(root, "modules.json")

    def __reduce__(self) -> tuple[type, tuple[str]]:
        return (IterationFiles, (self.root,))


def owner_token(pid: int, started: int | None, machine: str | None) -> str:
    """How a name says which process made it, so that what a process killed outright left
    behind can be told from what a live one uses: its pid, start time (a reused pid has
    another) and machine (eight hex digits; ``0`` and ``x`` when unknown, without ``/proc``).

    >>> owner_token(4242, 1234567, "0a1b2c3d"), owner_token(4242, None, None)
    ('4242.1234567.0a1b2c3d', '4242.0.x')
    """
    return f"{pid}.{started or 0}.{machine or 'x'}"


def read_owner(token: str) -> tuple[int, int, str | None] | None:
    """The pid, start time (0: unknown) and machine (``None``: unknown) of an
    :func:`owner_token`; ``None`` when ``token`` is not one.

    >>> read_owner("4242.1234567.0a1b2c3d"), read_owner("3f2a")
    ((4242, 1234567, '0a1b2c3d'), None)
    """
    fields = token.split(".")
    if len(fields) != 3 or not (fields[0].isdigit() and fields[1].isdigit()):
        return None
    machine = fields[2]
    if machine != "x" and (len(machine) != 8 or machine.strip("0123456789abcdef")):
        return None
    return int(fields[0]), int(fields[1]), None if machine == "x" else machine


def iteration_dir_prefix(sweep_id: str | None, owner: str = "") -> str:
    """The name prefix of an iteration's private directory: it names the sweep, so the
    sweep's processes on a machine can be found by their environment (:func:`sweep_tag`),
    and the launching process that made it (``owner``, an :func:`owner_token`)."""
    prefix = f"{_DIR_PREFIX}{sweep_id}-" if sweep_id else _DIR_PREFIX
    return f"{prefix}{owner}-" if owner else prefix


def iteration_dir_owner(name: str) -> str | None:
    """The owner token in the name of an iteration's directory; ``None`` for another name
    (or one made by a version that did not name its owner).

    >>> iteration_dir_owner(iteration_dir_prefix("3f2a", "4242.0.x") + "k2j_9x1a")
    '4242.0.x'
    >>> iteration_dir_owner("py3r-script-3f2a-k2j_9x1a") is None
    True
    """
    if not name.startswith(_DIR_PREFIX):
        return None
    fields = name[len(_DIR_PREFIX):].rsplit("-", 2)  # [sweep-]owner-random (no "-" in those)
    if len(fields) < 2 or read_owner(fields[-2]) is None:
        return None
    return fields[-2]


def iteration_tag(files: IterationFiles) -> bytes:
    """What every process of an iteration carries in its environment (``/proc/<pid>/environ``).

    The child starts with ``ENV_VAR`` naming the payload and sets ``WORKER_ENV_VAR`` to the
    same path, so the processes it forks or starts inherit ``=<payload path>\\0``.
    """
    return b"=" + os.fsencode(files.payload) + b"\0"


def sweep_tag(sweep_id: str) -> bytes:
    """What every process of a sweep carries in its environment, whichever worker ran it."""
    return os.fsencode(os.sep + iteration_dir_prefix(sweep_id))


class Payload(FrozenRecord):
    """What the parent tells a child: which script, which values, which outputs to capture
    (``outputs=None``: all), where its files are, its ``argv`` and working directory."""

    __slots__ = ("argv", "cwd", "files", "outputs", "params", "script", "stop_after_outputs")
    _defaults: ClassVar[dict[str, Any]] = {"argv": (), "cwd": None}

    script: str
    params: dict[str, Any]
    outputs: tuple[str, ...] | None
    stop_after_outputs: bool
    files: IterationFiles
    argv: tuple[str, ...]
    cwd: str | None


class Outcome(FrozenRecord):
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


def write_payload(payload: Payload) -> None:
    """Write what a child must run into its iteration folder (the parent's side)."""
    write_atomic(payload.files.payload, dumps(payload))


def read_payload(path: str) -> Payload:
    """The payload a child was given (the path in ``ENV_VAR``)."""
    with open(path, "rb") as handle:
        return pickle.load(handle)


def write_outcome(files: IterationFiles, outcome: Outcome) -> None:
    """Report how the script ended (the child's side, once, atomically)."""
    write_atomic(files.outcome, dumps(outcome))


def read_outcome(files: IterationFiles) -> Outcome | None:
    """The child's outcome, or ``None`` when it wrote none (killed, ``os._exit``) or it
    cannot be loaded (the parent's side: never raises for what the file holds)."""
    from .unpickling import load, signals_noted  # the parent's side only

    try:
        handle = open(files.outcome, "rb")
    except OSError:
        return None
    with handle, signals_noted() as arrived:
        loaded, outcome = load(handle, arrived)
    return outcome if loaded and isinstance(outcome, Outcome) else None


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

    Returns the outputs and, by name, why any complete record could not be loaded here:
    whatever its unpickling raised (``SystemExit`` too) is reported, never raised, unless
    this process received a signal meanwhile. A truncated last record (a child killed
    mid-write) is ignored.
    """
    from .unpickling import load, signals_noted  # the parent's side only

    outputs: dict[str, Any] = {}
    unreadable: dict[str, str] = {}
    try:
        handle = open(files.outputs, "rb")
    except FileNotFoundError:
        return outputs, unreadable
    with handle, signals_noted() as arrived:
        for name, start, size in _frames(handle):
            loaded, value = load(handle, arrived)
            if loaded:
                outputs[name] = value
                unreadable.pop(name, None)
            else:
                unreadable[name] = f"{type(value).__name__}: {value}"
            handle.seek(start + size)
    return outputs, unreadable


def _frames(handle: BinaryIO) -> Iterator[tuple[str, int, int]]:
    """Each complete record's name, start and size, the handle placed at its start."""
    while True:
        head = handle.read(_NAME.size)
        if len(head) < _NAME.size:
            return
        (name_len,) = _NAME.unpack(head)
        encoded = handle.read(name_len)
        size_bytes = handle.read(_FRAME.size)
        if len(encoded) < name_len or len(size_bytes) < _FRAME.size:
            return
        (size,) = _FRAME.unpack(size_bytes)
        start = handle.tell()
        if handle.seek(0, os.SEEK_END) - start < size:
            return
        handle.seek(start)
        yield encoded.decode(errors="replace"), start, size


# -- launch commands: every process the package starts ---------------------------------------

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
"""The folder holding this copy of ``py3r_script``: a launch command puts it on ``sys.path``."""


def _with_package(code: str) -> str:
    return f"import sys;sys.path.insert(0,{PACKAGE_PARENT!r});{code}"


def child_command(python: str) -> list[str]:
    """The command line of a cold child, which runs the payload named in ``ENV_VAR``.

    >>> child_command("/usr/bin/python3")[:2]
    ['/usr/bin/python3', '-c']
    """
    return [python, "-c", _with_package("from py3r_script.child.bootstrap import main;main()")]


def zygote_command(python: str, preload: list[str], strict: bool) -> list[str]:
    """The command line of a warm-start zygote (see :func:`.zygote.main` for the arguments).

    >>> zygote_command("python3", ["numpy"], False)[-1]
    '{"preload": ["numpy"], "strict": false}'
    """
    import json

    code = _with_package("import json;from py3r_script.child.zygote import main;"
                         "main(**json.loads(sys.argv[1]))")
    return [python, "-c", code, json.dumps({"preload": preload, "strict": strict})]


def undo_launch_path() -> None:
    """Take off ``sys.path`` what a launch command put there (the package's folder, and
    ``-c``'s ``''``), so the script sees the ``sys.path`` of ``python script.py``."""
    if sys.path and sys.path[0] == PACKAGE_PARENT:
        del sys.path[0]
    if sys.path and sys.path[0] == "" and not getattr(sys.flags, "safe_path", False):
        del sys.path[0]


# A sentinel reads the lines of sentinel_line() on stdin; once stdin closes (the launching
# process ended, however), it kills what is still watched. It imports nothing until then.
_SENTINEL_CODE = """\
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
watched, pending = {}, b""
while True:
    chunk = os.read(0, 65536)
    if not chunk:
        break
    *lines, pending = (pending + chunk).split(b"\\n")
    for line in lines:
        fields = line.split()
        if fields[0] == b"+":
            watched[int(fields[1])] = bytes.fromhex(fields[2].decode())
        elif fields[0] == b"-":
            watched.pop(int(fields[1]), None)
if watched:
    sys.path.insert(0, sys.argv[1])
    from py3r_script.child.processes import stop_iteration
    for pgid, tag in watched.items():
        stop_iteration(pgid, tag)
"""


def sentinel_command(python: str) -> list[str]:
    """The command line of a sentinel: isolated (``-I -S``), named last for ``ps``.

    >>> sentinel_command("python3")[-1]
    'py3r-script-sentinel'
    """
    return [python, "-I", "-S", "-c", _SENTINEL_CODE, PACKAGE_PARENT, "py3r-script-sentinel"]


def sentinel_line(pgid: int, tag: bytes | None) -> bytes:
    """What tells a sentinel to watch group ``pgid`` and the processes carrying ``tag``
    (kill them if this process ends), or, with ``tag=None``, to forget the group.

    >>> sentinel_line(42, b"=x"), sentinel_line(42, None)
    (b'+ 42 3d78\\n', b'- 42\\n')
    """
    return (f"- {pgid}\n" if tag is None else f"+ {pgid} {tag.hex()}\n").encode()


# -- warm starts: the messages of ``zygotemessages`` (re-exported above) ---------------------


def fork_request(files: IterationFiles, env: dict[str, str], ident: int,
                 report: bool = False) -> ForkRequest:
    """What the driver asks the zygote for one iteration (``report``: the child lists the
    library modules it imported in ``files.modules``).

    >>> fork_request(IterationFiles("/tmp/it"), {}, 7).stdout
    '/tmp/it/stdout.txt'
    """
    return ForkRequest(ident=ident, payload=files.payload, stdout=files.stdout,
                       stderr=files.stderr, env=env, report=files.modules if report else "")
