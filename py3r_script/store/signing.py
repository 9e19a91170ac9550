"""Signing pickles: how a study tells the pickles this user wrote from any other.

Unpickling runs whatever code a pickle names, so a study's pickled outputs are unpickled
only when they are this user's own (or the user says the study is trusted). Each pickle
this installation writes is signed with an HMAC-SHA256 of its bytes under a per-user key:
32 random bytes created on first use, readable by this user only, in
``$XDG_CONFIG_HOME/py3r-script/signing.key`` (``~/.config/py3r-script/signing.key``), or in
the file ``PY3R_SCRIPT_KEY_FILE`` names (say in CI). A signature reads
``<key id>:<hex digest>``: the key id (a digest of the key, which reveals nothing of it)
tells at once which pickles another key signed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from ..errors import warn

__all__ = ["KEY_ENV", "KEY_SIZE", "Signer", "key_path", "signer"]

KEY_ENV = "PY3R_SCRIPT_KEY_FILE"
"""The environment variable that names another key file."""

KEY_SIZE = 32

_warned: set[Path] = set()
_keys: dict[Path, bytes] = {}  # the keys found, by file: read once per process


class Signer:
    """Signs and checks pickles with one key.

    >>> signer = Signer(bytes(32))
    >>> mac = signer.new(); mac.update(b"pickle bytes")
    >>> signer.verify(signer.signature(mac), [b"pickle ", b"bytes"])
    True
    """

    def __init__(self, key: bytes) -> None:
        self._key = key
        self.key_id = hashlib.sha256(b"py3r-script key id\0" + key).hexdigest()[:16]

    def new(self) -> hmac.HMAC:
        """A running HMAC to feed a pickle's bytes to as they are written."""
        return hmac.new(self._key, digestmod=hashlib.sha256)

    def signature(self, mac: hmac.HMAC) -> str:
        """The ``signature`` column's text for the bytes fed to ``mac``."""
        return f"{self.key_id}:{mac.hexdigest()}"

    def owns(self, signature: str | None) -> bool:
        """Whether ``signature`` was made with this key (its bytes not yet checked)."""
        return bool(signature) and signature.partition(":")[0] == self.key_id  # type: ignore[union-attr]

    def verify(self, signature: str | None, chunks: Iterable[bytes]) -> bool:
        """Whether ``signature`` is this key's over the bytes ``chunks`` hold, in order."""
        if not self.owns(signature):
            return False
        mac = self.new()
        for chunk in chunks:
            mac.update(chunk)
        return hmac.compare_digest(self.signature(mac), signature or "")


def key_path() -> Path:
    """Where this user's signing key is (or will be created).

    >>> key_path().name  # doctest: +SKIP
    'signing.key'
    """
    given = os.environ.get(KEY_ENV)
    if given:
        return Path(given).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"),
                                                               ".config")
    return Path(config, "py3r-script", "signing.key")


def signer(*, create: bool) -> Signer | None:
    """This user's signer: ``None`` when there is no usable key (``create``: make one if
    there is none; a key that cannot be made or is unsafe is warned about once).

    >>> signer(create=False) is None or signer(create=False).key_id  # doctest: +SKIP
    True
    """
    path = key_path()
    key = _keys.get(path)
    if key is None:
        key = _read_key(path, create)
        if key is None:
            return None
        _keys[path] = key
    return Signer(key)


def _read_key(path: Path, create: bool) -> bytes | None:
    try:
        return _checked(path)
    except FileNotFoundError:
        if not create:
            return None
    except OSError as exc:
        if not create and isinstance(exc, PermissionError):
            return None  # another user's key (say HOME unchanged after dropping privileges)
        return _unusable(path, f"it cannot be read ({exc})")
    except ValueError as exc:
        return _unusable(path, str(exc))
    try:
        return _create(path)
    except OSError as exc:
        return _unusable(path, f"it cannot be created ({exc})")


def _checked(path: Path) -> bytes:
    """The key in ``path``, refused when others could read or replace it."""
    with open(path, "rb") as handle:
        info = os.fstat(handle.fileno())
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise ValueError("it belongs to another user")
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ValueError(f"others may read or change it (mode {info.st_mode & 0o777:o}; "
                             f"chmod 600 {path} if it is yours)")
        key = handle.read(KEY_SIZE + 1)
    if len(key) != KEY_SIZE:
        raise ValueError(f"it holds {len(key)} bytes, not a key of {KEY_SIZE}")
    return key


def _create(path: Path) -> bytes:
    """A new key in ``path``; the key another process made there first, if it won."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(os.urandom(KEY_SIZE))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(partial, path)  # never replaces a key another process made meanwhile
        except FileExistsError:
            pass
        except OSError:  # a filesystem without hard links: create it in place instead
            _create_in_place(path)
    finally:
        partial.unlink(missing_ok=True)
    return _checked(path)


def _create_in_place(path: Path) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(os.urandom(KEY_SIZE))


def _unusable(path: Path, why: str) -> bytes | None:
    if path not in _warned:
        _warned.add(path)
        warn(f"py3r-script's signing key {path} is not used: {why}. Pickled outputs are "
             "stored unsigned, and reading them back needs load(..., trusted=True); set "
             f"{KEY_ENV} to the path of a key file of your own to sign them", RuntimeWarning)
    return None
