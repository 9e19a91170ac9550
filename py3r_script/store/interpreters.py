"""What an interpreter is, however it was spelled: its identity and its installed packages.

Two paths name the same interpreter when they resolve to the same executable *and* share
its prefix (``sys.prefix``) and version: ``.venv/bin/python`` and ``.venv/bin/python3`` are
one interpreter, while a virtualenv's ``python``, a symlink to the base one, is another (its
own prefix, its own packages). The identity is a small JSON text, what a study matches
iterations by. Another interpreter is asked in a short subprocess, once per sweep
(:class:`Interpreters` remembers the answers); this one answers in process.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
from typing import Any

__all__ = ["Interpreters", "identity_key", "installed_packages"]

_ASK = """
import json, os, platform, sys
try:
    from importlib.metadata import distributions
except ImportError:
    distributions = list
packages, seen = {}, set()
for dist in distributions():
    name = dist.metadata["Name"]
    key = name and name.lower().replace("_", "-").replace(".", "-")
    if key and key not in seen:
        seen.add(key)
        packages[name] = dist.version
print(json.dumps({"executable": os.path.realpath(sys.executable),
                  "prefix": os.path.realpath(sys.prefix),
                  "version": platform.python_version(),
                  "implementation": sys.implementation.name, "packages": packages}))
"""

_OWN_PACKAGES: dict[tuple[Any, ...], dict[str, str]] = {}


def identity_key(executable: str, prefix: str, version: str, implementation: str) -> str:
    """The identity of an interpreter, as the ``interpreter_key`` columns hold it.

    >>> json.loads(identity_key("/usr/bin/python3.11", "/usr", "3.11.7", "cpython"))["prefix"]
    '/usr'
    """
    return json.dumps({"executable": executable, "implementation": implementation,
                       "prefix": prefix, "version": version}, sort_keys=True)


def _own() -> dict[str, str]:
    return {"executable": os.path.realpath(sys.executable) if sys.executable else "",
            "prefix": os.path.realpath(sys.prefix), "version": platform.python_version(),
            "implementation": sys.implementation.name}


def installed_packages() -> dict[str, str]:
    """The distributions this interpreter has installed (name -> version), by name.

    Remembered while the folders on ``sys.path`` stay unchanged (installing or removing a
    package changes its folder).

    >>> installed_packages()["pandas"]  # doctest: +SKIP
    '3.1.1'
    """
    state = tuple((entry, _mtime(entry)) for entry in sys.path)
    if state not in _OWN_PACKAGES:
        from importlib.metadata import distributions

        found: dict[str, str] = {}
        seen: set[str] = set()
        for dist in distributions():
            name = dist.metadata["Name"]
            if name and _normal(name) not in seen:
                seen.add(_normal(name))
                found[name] = dist.version
        _OWN_PACKAGES.clear()
        _OWN_PACKAGES[state] = dict(sorted(found.items(), key=lambda item: item[0].lower()))
    return dict(_OWN_PACKAGES[state])


class Interpreters:
    """Identities and packages of the interpreters a sweep names, each asked once.

    ``None`` (or this interpreter's own path) means this interpreter, which answers in
    process; another is asked in a subprocess. One that cannot be asked (gone, broken)
    has no identity (``None``) and no known packages.

    >>> known = Interpreters()
    >>> known.identity(None) == known.identity(sys.executable)
    True
    """

    def __init__(self) -> None:
        self._asked: dict[str, dict[str, Any] | None] = {}

    def identity(self, python: str | None, *, host: str | None = None) -> str | None:
        """The identity key of ``python`` (``None``: this interpreter); ``None`` when it
        cannot be asked, or is on another ``host`` than this one."""
        if python == "" or (host is not None and host != socket.gethostname()):
            return None
        found = self._describe(python)
        return None if found is None else identity_key(
            found["executable"], found["prefix"], found["version"], found["implementation"])

    def version(self, python: str | None) -> str:
        """The ``X.Y.Z`` version of ``python`` (``""`` when it cannot be asked)."""
        found = self._describe(python)
        return "" if found is None else str(found["version"])

    def packages(self, python: str | None) -> dict[str, str]:
        """The distributions ``python`` has installed: name -> version (empty if unknown)."""
        if python is None or python == sys.executable:
            return installed_packages()
        found = self._describe(python)
        return {} if found is None else dict(found.get("packages") or {})

    def _describe(self, python: str | None) -> dict[str, Any] | None:
        if python is None or python == sys.executable:
            return _own()
        if python not in self._asked:
            self._asked[python] = _ask(python)
        return self._asked[python]


def _ask(python: str) -> dict[str, Any] | None:
    try:
        done = subprocess.run([python, "-c", _ASK], capture_output=True, text=True,
                              timeout=60, check=True, stdin=subprocess.DEVNULL)
        found = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if not isinstance(found, dict) or not all(
            isinstance(found.get(k), str) for k in ("executable", "prefix", "version",
                                                    "implementation")):
        return None
    packages = found.get("packages")
    if isinstance(packages, dict):
        found["packages"] = dict(sorted(((str(k), str(v)) for k, v in packages.items()),
                                        key=lambda item: item[0].lower()))
    return found


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _mtime(entry: str) -> int | None:
    try:
        return os.stat(entry or ".").st_mtime_ns
    except OSError:
        return None
