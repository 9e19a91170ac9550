"""Shared fixtures: real script files written to temporary directories, run in real subprocesses."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

WEIRD_DIR_NAME = "dir with space's \"and\" quotes"

ScriptWriter = Callable[..., Path]


@pytest.fixture(autouse=True, scope="session")
def _test_signing_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Studies sign the pickles they store with a per-user key: the tests (and the sweeps
    they start) use a key of the test run, never the user's own."""
    old = os.environ.get("PY3R_SCRIPT_KEY_FILE")
    os.environ["PY3R_SCRIPT_KEY_FILE"] = str(tmp_path_factory.mktemp("keys") / "signing.key")
    yield
    if old is None:
        os.environ.pop("PY3R_SCRIPT_KEY_FILE", None)
    else:
        os.environ["PY3R_SCRIPT_KEY_FILE"] = old


def _writer(base: Path) -> ScriptWriter:
    def write(source: str, name: str = "script.py", *, directory: Path | None = None) -> Path:
        folder = base if directory is None else directory
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
        return path

    return write


# y = a * x**2 + b with nominal x0 = 2, a0 = 3, b0 = 1  ->  y0 = 13; lin = 5 * x; ln the
# length of label; word a text output; b < 0 raises
ANALYTIC = """
from py3r_script import Output, Param
x = Param(2.0, name="x")
a = Param(3.0, name="a")
b = Param(1.0, name="b")
label = Param("p", name="label")
if b < 0:
    raise ValueError("b must be non-negative")
Output(a * x**2 + b, name="y")
Output(5.0 * x, name="lin")
Output(len(label) * 1.0, name="ln")
Output("text", name="word")
"""


@pytest.fixture(scope="session")
def analytic_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The analytic script the analysis and display tests sweep (see ``ANALYTIC``), written
    once per test session."""
    return _writer(tmp_path_factory.mktemp("analytic"))(ANALYTIC, "analytic.py")


@pytest.fixture
def write_script(tmp_path: Path) -> ScriptWriter:
    """Write a (dedented) script into ``tmp_path`` and return its path.

    ``write_script(source, name="script.py", directory=None)``; ``directory`` puts the file
    elsewhere (e.g. in ``weird_dir``), and sibling modules can be written the same way.
    """
    return _writer(tmp_path)


@pytest.fixture
def weird_dir(tmp_path: Path) -> Path:
    """A directory whose name holds spaces and both kinds of quotes."""
    path = tmp_path / WEIRD_DIR_NAME
    path.mkdir()
    return path


@pytest.fixture
def write_weird_script(weird_dir: Path) -> ScriptWriter:
    """Like ``write_script``, but into ``weird_dir``."""
    return _writer(weird_dir)


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    """A file path a script writes as its very first statement, to prove whether it started."""
    return tmp_path / "started.marker"


@pytest.fixture
def marked_script(write_script: ScriptWriter, marker: Path) -> ScriptWriter:
    """Like ``write_script``, but the script's first statement creates ``marker``.

    A test that expects an error *before any subprocess starts* asserts ``not marker.exists()``.
    """

    def write(source: str, name: str = "script.py", **kwargs: object) -> Path:
        prelude = f"open({str(marker)!r}, 'w').close()\n"
        return write_script(prelude + textwrap.dedent(source).lstrip("\n"), name, **kwargs)

    return write


@pytest.fixture
def unbuffered_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Children inherit no PYTHONUNBUFFERED, so flushing bugs are not hidden."""
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)



UNPRIVILEGED_ID = 65534
"""The uid and gid (``nobody``/``nogroup``) the ``unprivileged`` fixture runs as under root."""


class Unprivileged:
    """Runs Python snippets and ``py3r-script`` commands as a user without privileges.

    Under root the processes run as uid/gid 65534 (``nobody``/``nogroup``) with no
    supplementary groups, so file permissions apply to them as to any user; run as a normal
    user, they run as that user, who is unprivileged already. ``folder`` is a fresh folder
    that user can write (pytest's ``tmp_path`` is private to root); a folder or file a test
    creates there (as root) can be made read-only for that user with ``read_only``. The
    processes get ``folder / ".home"`` as their ``HOME`` and ``TMPDIR``.

    ``executable`` is the Python they run: this one, or, when that user cannot run it (an
    environment under ``/root``), another of the same version given this one's import path.
    """

    def __init__(self, folder: Path, drop: bool, executable: str,
                 env: dict[str, str]) -> None:
        self.folder = folder
        self.drop = drop
        self.executable = executable
        home = str(folder / ".home")
        self.env = {**os.environ, **env, "HOME": home, "TMPDIR": home,
                    "PYTHONDONTWRITEBYTECODE": "1"}
        """The environment the processes run with."""

    def _run(self, argv: list[str], cwd: Path | None,
             timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.executable, *argv], cwd=cwd or self.folder, env=self.env,
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, **_drop_to_nobody(self.drop))

    def python(self, code: str, *args: str, cwd: Path | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a (dedented) Python snippet with ``args`` as its ``sys.argv[1:]``; returns
        the finished process (``returncode``, ``stdout``, ``stderr``), never raises on a
        non-zero exit."""
        return self._run(["-c", textwrap.dedent(code), *args], cwd, timeout)

    def cli(self, *args: object, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``py3r-script ARGS`` (as ``python -m py3r_script``); returns the finished
        process."""
        return self._run(["-m", "py3r_script", *map(str, args)], cwd, timeout)

    @staticmethod
    def read_only(*paths: Path) -> None:
        """Take write permission away from everyone on ``paths`` (files and folders)."""
        for path in paths:
            path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o222)


def _drop_to_nobody(drop: bool) -> dict[str, Any]:
    """``subprocess`` keyword arguments that run a process as uid/gid 65534, if ``drop``."""
    if not drop:
        return {}
    return {"user": UNPRIVILEGED_ID, "group": UNPRIVILEGED_ID, "extra_groups": []}


def _find_interpreter(folder: Path) -> tuple[str, dict[str, str]] | str:
    """A Python of this version that uid 65534 can run with py3r_script importable, and the
    environment it needs; or why there is none."""
    import py3r_script

    version = "{}.{}".format(*sys.version_info[:2])
    imports = [str(Path(py3r_script.__file__).resolve().parents[1]),
               *(p for p in sys.path if p.endswith("site-packages"))]
    given = os.environ.get("PYTHONPATH")
    shared = {"PYTHONPATH": os.pathsep.join(imports + ([given] if given else []))}
    candidates = [(sys.executable, {})] + [
        (path, shared) for path in dict.fromkeys(
            (f"/usr/bin/python{version}", f"/usr/local/bin/python{version}",
             shutil.which(f"python{version}") or ""))
        if path and os.access(path, os.X_OK)]
    check = f"import sys, py3r_script.store.study; assert sys.version[:{len(version)}] == " \
            f"{version!r}"
    problems = []
    for executable, env in candidates:
        try:
            done = subprocess.run([executable, "-c", check], cwd=folder, capture_output=True,
                                  text=True, timeout=120, env={**os.environ, **env},
                                  **_drop_to_nobody(True))
        except (OSError, subprocess.SubprocessError) as exc:
            problems.append(f"{executable}: {exc}")
            continue
        if done.returncode == 0:
            return executable, env
        problems.append(f"{executable}: {done.stderr.strip()[-200:]}")
    return (f"no Python {version} that uid {UNPRIVILEGED_ID} can run with py3r_script "
            f"importable ({'; '.join(problems)})")


@pytest.fixture(scope="session")
def _unprivileged_interpreter() -> tuple[str, dict[str, str]] | str:
    if os.geteuid() != 0:
        return sys.executable, {}  # a normal user is unprivileged already
    folder = Path(tempfile.mkdtemp(prefix="py3r-unprivileged-check-"))
    try:
        folder.chmod(0o755)
        return _find_interpreter(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def unprivileged(
    _unprivileged_interpreter: tuple[str, dict[str, str]] | str,
) -> Iterator[Unprivileged]:
    """Run Python snippets and the command line as a user without privileges.

    Permissions (a read-only study, folder or file) only mean something to a user who is
    not root: under root the tests must drop privileges to see what a user sees.
    ``unprivileged.python(code, *argv)`` runs a snippet, ``unprivileged.cli(*args)`` runs
    ``py3r-script``, both in ``unprivileged.folder`` (fresh, writable by that user; pytest's
    ``tmp_path`` is not) unless ``cwd=`` says otherwise, and return the finished process.
    ``unprivileged.read_only(*paths)`` takes write permission away.

    Under root, the processes run as uid/gid 65534 (``nobody``/``nogroup``), with this
    Python or, when that user cannot run it, another of the same version given this one's
    import path (``unprivileged.executable``); the test is skipped, with the reason, when
    there is none. Run as a normal user, they run as that user.

    >>> done = unprivileged.python("import py3r_script; print(py3r_script.load('s.db'))")
    ... # doctest: +SKIP
    """
    if isinstance(_unprivileged_interpreter, str):
        pytest.skip(f"cannot run as an unprivileged user: {_unprivileged_interpreter}")
    executable, env = _unprivileged_interpreter
    folder = Path(tempfile.mkdtemp(prefix="py3r-unprivileged-"))
    (folder / ".home").mkdir()
    for path in (folder, folder / ".home"):
        path.chmod(0o777)
    try:
        yield Unprivileged(folder, os.geteuid() == 0, executable, env)
    finally:
        folder.chmod(0o700)
        for root, dirs, _ in os.walk(folder):  # a normal user must restore write access
            for name in dirs:                  # to delete what it made read-only
                Path(root, name).chmod(0o700)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _no_pooled_zygotes_after():
    """Each test ends with the warm pool empty: no zygote outlives the test that made it."""
    yield
    from py3r_script import warm_pool

    warm_pool().close()
