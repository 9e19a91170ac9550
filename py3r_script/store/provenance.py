"""Provenance: where and with what a sweep ran (the script's content hash and git state, the
package's version); the interpreter's identity and packages are ``interpreters``'."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

__all__ = ["file_sha256", "git_state", "package_version"]


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's content (what a store matches a script by).

    >>> file_sha256("pipeline.py")  # doctest: +SKIP
    '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def git_state(script: Path) -> tuple[str | None, bool | None]:
    """The commit of the git repository holding ``script``, if any, and whether the script
    differs from it: a change to a tracked file, or the script itself not tracked.

    >>> git_state(Path("pipeline.py"))  # doctest: +SKIP
    ('4b825dc642cb6eb9a060e54bf8d69288fbee4904', False)
    """
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "-C", str(script.parent), *args], capture_output=True,
                              text=True, timeout=10, stdin=subprocess.DEVNULL)

    try:
        status = git("status", "--porcelain=v2", "--branch", "--untracked-files=no")
        if status.returncode != 0:
            return None, None  # not in a repository (or git cannot read it)
        tracked = git("ls-files", "--error-unmatch", "--", script.name).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return None, None
    lines = status.stdout.splitlines()
    commit = next((line.split()[2] for line in lines if line.startswith("# branch.oid ")), None)
    if commit is None or commit == "(initial)":
        return None, None
    changed = any(line and not line.startswith("#") for line in lines)
    return commit, changed or not tracked


def package_version() -> str:
    """The version of py3r-script that runs (what a sweep records as ``package_version``).

    >>> package_version()  # doctest: +SKIP
    '0.1.0'
    """
    from .. import __version__

    return __version__
