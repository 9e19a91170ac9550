"""Provenance: where and with what a sweep ran (git state of the script, driver process)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

__all__ = ["git_state", "package_version", "pid_alive"]


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (a zombie waiting to be reaped does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def git_state(folder: Path) -> tuple[str | None, bool | None]:
    """The commit and dirty flag of the git repository holding ``folder``, if any."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit or None, bool(status.strip())


def package_version() -> str:
    from . import __version__

    return __version__
