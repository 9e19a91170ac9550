"""Side-file paths a study names: only files inside its own side folder are ever touched.

A study's ``outputs.file`` is a path relative to the study's folder, inside its side folder
``<study>-outputs/``. Studies are files people send each other, so the path is checked
before every read, copy and deletion: one that is absolute, or that leads out of that folder
(through ``..`` or a symbolic link), is never followed; its output is unavailable, and the
message names the path.
"""

from __future__ import annotations

import os
from pathlib import Path

from .sidefiles import Unloadable

__all__ = ["OutsideSideFolder", "locate", "side_folder"]


class OutsideSideFolder(Unloadable):
    """A study names a side file outside its side folder; the message names the path."""


def side_folder(study: Path) -> Path:
    """The folder of the study's side files: ``<study>-outputs`` beside it.

    >>> side_folder(Path("runs/study.db")).as_posix()
    'runs/study.db-outputs'
    """
    return Path(f"{study}-outputs")


def locate(study: Path, file: str) -> Path:
    """The side file ``file`` (as the study at ``study`` names it) to read, copy or delete;
    :class:`OutsideSideFolder` when it is not inside the study's side folder, symbolic
    links followed.

    >>> locate(Path("study.db"), "study.db-outputs/3f/3f2a9c-5d1c.pkl").as_posix()
    'study.db-outputs/3f/3f2a9c-5d1c.pkl'
    """
    folder = side_folder(study)
    path = study.parent / file
    if os.path.isabs(file) or not _strictly_inside(path, folder):
        named = Path(file).parts[0]
        if named != folder.name and named.endswith("-outputs") and ".." not in file:
            raise OutsideSideFolder(
                f"its side file {file!r} is in {named}, not in this study's side folder "
                f"{folder.name}: the study was renamed (give it back its name, "
                f"{named[:-len('-outputs')]}, to read its side files)")
        raise OutsideSideFolder(
            f"its side file path {file!r} leads outside the study's side folder {folder} "
            "(an absolute path, '..', or a symbolic link out of it), so it is not used: the "
            "study was edited by hand or damaged")
    return path


def _strictly_inside(path: Path, folder: Path) -> bool:
    resolved, root = path.resolve(), folder.resolve()
    return resolved != root and root in resolved.parents
