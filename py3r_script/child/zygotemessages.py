"""The warm-start messages: the driver and the zygote exchange one JSON object per line.

Part of the parent/child contract, re-exported by :mod:`~py3r_script.child.boundary` (use
them from there). The zygote imports this module, so it imports only the light record type.
"""

from __future__ import annotations

from .frozen import FrozenRecord

TYPE_CHECKING = False  # not typing's: importing typing would cost every child ~4 ms
if TYPE_CHECKING:
    from typing import ClassVar

__all__ = ["Exited", "ForkRequest", "Import", "Imported", "Preloading", "Ready", "Started",
           "Unavailable", "ZygoteMessage", "split_messages"]


class ZygoteMessage(FrozenRecord):
    """A message between the driver and the zygote; ``event`` names its kind."""

    __slots__ = ()
    event: ClassVar[str] = ""

    def encode(self) -> bytes:
        """The message as one line of JSON."""
        import json

        return json.dumps({"event": self.event, **self.fields()}).encode() + b"\n"


class ForkRequest(ZygoteMessage):
    """Driver to zygote: fork a child to run a payload, with these files and variables.

    ``report``: where the child writes, as it exits, the library modules it imported that
    the zygote had not (``""``: it need not say).
    """

    __slots__ = ("env", "ident", "payload", "report", "stderr", "stdout")
    _defaults: ClassVar[dict[str, str]] = {"report": ""}
    event = "fork"
    env: dict[str, str]
    ident: int
    payload: str
    report: str
    stderr: str
    stdout: str


class Import(ZygoteMessage):
    """Driver to zygote: import these library modules too, before forking any more."""

    __slots__ = ("modules",)
    event = "import"
    modules: list[str]


class Preloading(ZygoteMessage):
    """Zygote to driver: importing ``module`` now (what hung, if it never gets ready)."""

    __slots__ = ("module",)
    event = "preloading"
    module: str


class Ready(ZygoteMessage):
    """Zygote to driver: these modules are preloaded, fork requests are welcome.

    ``files``: ``[path, mtime_ns, size]`` of every module file the zygote holds (what makes
    it stale once changed on disk); ``path``: its ``sys.path``.
    """

    __slots__ = ("files", "path", "preloaded")
    _defaults: ClassVar[dict[str, list]] = {"files": [], "path": []}
    event = "ready"
    files: list[list]
    path: list[str]
    preloaded: list[str]


class Imported(ZygoteMessage):
    """Zygote to driver: the answer to :class:`Import`. ``failed``: why each module that
    could not be imported failed; ``files``: as in :class:`Ready`, now; ``unsafe``: why it
    must fork no more (an import started threads), ``""`` when it may."""

    __slots__ = ("failed", "files", "loaded", "unsafe")
    event = "imported"
    failed: dict[str, str]
    files: list[list]
    loaded: list[str]
    unsafe: str


class Unavailable(ZygoteMessage):
    """Zygote to driver: it cannot serve, for ``reason``, and exits."""

    __slots__ = ("reason",)
    event = "unavailable"
    reason: str


class Started(ZygoteMessage):
    """Zygote to driver: child ``pid`` was forked for request ``ident``."""

    __slots__ = ("ident", "pid")
    event = "started"
    ident: int
    pid: int


class Exited(ZygoteMessage):
    """Zygote to driver: child ``pid`` ended with ``returncode`` (``-N``: signal N)."""

    __slots__ = ("pid", "returncode")
    event = "exited"
    pid: int
    returncode: int


_MESSAGES = {kind.event: kind
             for kind in (ForkRequest, Import, Imported, Preloading, Ready, Unavailable, Started,
                         Exited)}


def split_messages(data: bytes) -> tuple[list[ZygoteMessage], bytes]:
    """The messages of the complete lines in ``data``, and the partial line left over.

    >>> split_messages(Started(ident=7, pid=1234).encode() + b'{"event": "ex')
    ([Started(ident=7, pid=1234)], b'{"event": "ex')
    """
    import json

    *lines, rest = data.split(b"\n")
    messages: list[ZygoteMessage] = []
    for line in lines:
        if line:
            fields = json.loads(line)
            messages.append(_MESSAGES[fields.pop("event")](**fields))
    return messages, rest
