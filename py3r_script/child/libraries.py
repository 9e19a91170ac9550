"""Library modules and the user's own: which imports a warm start may preload, and the
files a process has imported (what makes a zygote stale once changed on disk).

A module is a *library's* when it is built in or frozen, or its file lies under the
standard library or a site-packages folder: ``sysconfig``'s ``stdlib``, ``platstdlib``,
``purelib`` and ``platlib`` paths, ``site``'s site-packages folders (the user's too), and
any ``sys.path`` entry named ``site-packages`` or ``dist-packages``. Anything else (a module
beside the script, on ``PYTHONPATH``, an editable install of the user's own package) is the
user's, and a warm start never imports it unless the user names it in ``preload=``.

Only the zygote and a warm child asked to report import this module.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing would cost every child ~4 ms
if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import ModuleType

__all__ = ["imported_files", "is_library_module", "library_roots", "new_library_modules",
           "spec_is_library"]

_LIBRARY_DIRS = ("site-packages", "dist-packages")
_NEVER = ("__main__", "__mp_main__", "py3r_script")


def library_roots() -> tuple[str, ...]:
    """The folders whose modules are libraries' (each ending in a separator), as given and
    with symbolic links resolved.

    >>> any(os.path.basename(os.__file__) and os.__file__.startswith(r) for r in library_roots())
    True
    """
    import site
    import sysconfig

    paths = sysconfig.get_paths()
    roots = {paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots.update(getattr(site, "getsitepackages", list)())
    roots.add(getattr(site, "getusersitepackages", lambda: None)())
    roots.update(p for p in sys.path if os.path.basename(p.rstrip(os.sep)) in _LIBRARY_DIRS)
    found = set()
    for root in filter(None, roots):
        for form in (os.path.abspath(root), os.path.realpath(root)):
            found.add(form.rstrip(os.sep) + os.sep)
    return tuple(sorted(found))


def _is_library_path(path: str, roots: tuple[str, ...]) -> bool:
    return os.path.abspath(path).startswith(roots) or os.path.realpath(path).startswith(roots)


def is_library_module(module: ModuleType, roots: tuple[str, ...]) -> bool:
    """Whether an imported ``module`` is a library's (see the module's docstring).

    >>> import json
    >>> is_library_module(json, library_roots())
    True
    """
    name = getattr(module, "__name__", "") or ""
    if name.split(".")[0] in _NEVER:
        return False
    where = getattr(module, "__file__", None)
    if where is None:
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.origin in ("built-in", "frozen"):
            return True
        locations = list(getattr(module, "__path__", None) or ())
        if not locations:
            return False
        where = locations[0]
    return _is_library_path(where, roots)


def spec_is_library(name: str, roots: tuple[str, ...]) -> bool:
    """Whether the top-level module ``name`` would be imported from a library (``False``
    when it cannot be found: not installed, or the user's own, e.g. beside the script).

    >>> spec_is_library("json", library_roots()), spec_is_library("no_such_xyz", ())
    (True, False)
    """
    import importlib.util

    try:
        spec = importlib.util.find_spec(name.split(".")[0])
    except (ImportError, ValueError):
        return False
    if spec is None or name.split(".")[0] in _NEVER:
        return False
    if spec.origin in ("built-in", "frozen"):
        return True
    where = spec.origin if spec.has_location and spec.origin else None
    if where is None:
        locations = list(spec.submodule_search_locations or ())
        where = locations[0] if locations else None
    return where is not None and _is_library_path(where, roots)


def new_library_modules(before: Iterable[str]) -> list[str]:
    """The library modules imported since ``before`` (names in ``sys.modules`` then), in
    the order they were imported.

    >>> new_library_modules(sys.modules) == []
    True
    """
    known = set(before)
    fresh = [(name, module) for name, module in list(sys.modules.items())
             if name not in known and module is not None]
    if not fresh:
        return []
    roots = library_roots()
    return [name for name, module in fresh if is_library_module(module, roots)]


def imported_files() -> list[list]:
    """``[path, mtime_ns, size]`` of the file of every module this process imported.

    >>> any(path == os.__file__ for path, _, _ in imported_files())
    True
    """
    seen: dict[str, list] = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or path in seen:
            continue
        try:
            info = os.stat(path)
        except OSError:
            continue
        seen[path] = [path, info.st_mtime_ns, info.st_size]
    return list(seen.values())
