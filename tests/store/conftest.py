"""Fixtures of the study-store tests: reading a study with plain sqlite3, driver programs
in their own processes, a script that counts its runs, read-only files."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, Callable

import pytest


@pytest.fixture(autouse=True)
def _run_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scripts that write relative paths must never write into the repository."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def signing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test signs with a key of its own (made on first use), never the user's."""
    key = tmp_path / "keys" / "signing.key"
    monkeypatch.setenv("PY3R_SCRIPT_KEY_FILE", str(key))
    return key


class StudyPeek:
    """Reads a study with plain ``sqlite3``, on read-only connections that never
    checkpoint or otherwise change it."""

    @staticmethod
    def connect(db: Path, timeout: float = 5.0) -> sqlite3.Connection:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)
        con.row_factory = sqlite3.Row
        return con

    def query(self, db: Path, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with closing(self.connect(db)) as con:
            return con.execute(sql, tuple(args)).fetchall()

    def scalar(self, db: Path, sql: str, args: Sequence[Any] = ()) -> Any:
        return self.query(db, sql, args)[0][0]

    def integrity(self, db: Path) -> str:
        return self.scalar(db, "PRAGMA integrity_check")

    def columns(self, db: Path) -> dict[str, list[str]]:
        tables = [r[0] for r in self.query(
            db, "SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: [r["name"] for r in self.query(db, f"PRAGMA table_info({t})")] for t in tables}

    def committed(self, db: Path) -> int:
        """Iterations committed so far, read while a driver may be writing; 0 when not
        readable."""
        # Only once the study is in WAL mode (the -wal file exists): a reader holding a lock
        # while the writer switches journal mode would disturb the writer.
        if not Path(f"{db}-wal").exists():
            return 0
        try:
            with closing(self.connect(db, timeout=0.2)) as con:
                return con.execute("SELECT COUNT(*) FROM iterations").fetchone()[0]
        except sqlite3.DatabaseError:  # locked, no such table yet, half-created file
            return 0


@pytest.fixture(scope="session")
def peek() -> StudyPeek:
    """Read a study without changing it: ``peek.query(db, sql)``, ``peek.scalar``,
    ``peek.integrity``, ``peek.columns``, ``peek.committed``."""
    return StudyPeek()


class DriverProcesses:
    """Driver programs, each making one py3r_script call in its own process, and the
    processes they start."""

    @staticmethod
    def write_driver(path: Path, call: str, *, go: Path | None = None) -> Path:
        """A driver program that (after ``go`` exists, if given) makes one py3r_script call."""
        wait = (
            f"while not os.path.exists({str(go)!r}):\n    time.sleep(0.005)\n" if go else ""
        )
        path.write_text(f"import os\nimport time\n\nimport py3r_script\n\n{wait}{call}\n")
        return path

    @staticmethod
    def start(driver: Path, log: Path) -> subprocess.Popen:
        with open(log, "wb") as err:
            return subprocess.Popen(
                [sys.executable, str(driver)], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=err, cwd=driver.parent,
            )

    @staticmethod
    def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.03)

    @staticmethod
    def alive(pid: int) -> bool:
        """Whether ``pid`` runs (a zombie, finished but unreaped, counts as gone)."""
        try:
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith("State:"):
                        return "Z" not in line.split()[1]
        except FileNotFoundError:
            return False
        except OSError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill_driver(self, driver: subprocess.Popen, condition: Callable[[], bool],
                    what: str, log: Path, timeout: float = 60) -> list[int]:
        """Once ``condition`` holds, SIGKILL ``driver`` mid-sweep (frozen first, to learn
        which children it runs); those children's pids, left running, are returned."""
        try:
            self.wait_until(lambda: condition() or driver.poll() is not None, timeout, what)
            assert driver.poll() is None, log.read_text()
            os.kill(driver.pid, signal.SIGSTOP)
            orphans = self.children(driver.pid)
            os.kill(driver.pid, signal.SIGKILL)
        finally:
            if driver.poll() is None:
                driver.kill()
            driver.wait(timeout=30)
        return orphans

    @staticmethod
    def children(pid: int) -> list[int]:
        """The pids whose parent is ``pid`` (Linux /proc)."""
        found = []
        for entry in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = entry.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.parent.name))
        return found

    @staticmethod
    def dead_pid() -> int:
        """The pid of a process that has just exited (and been reaped)."""
        child = subprocess.Popen([sys.executable, "-c", "pass"])
        child.wait()
        return child.pid


@pytest.fixture(scope="session")
def procs() -> DriverProcesses:
    """Driver programs and processes: ``procs.write_driver``, ``procs.start``,
    ``procs.wait_until``, ``procs.alive``, ``procs.children``, ``procs.dead_pid``."""
    return DriverProcesses()


@pytest.fixture
def counting_script(write_script: Callable[..., Path]) -> Callable[..., Path]:
    """``counting_script(counter, *, extra="", name="script.py")``: a script that appends
    ``repr(x)`` to ``counter`` each time it runs; y = 10x, z = x + 1."""

    def write(counter: Path, *, extra: str = "", name: str = "script.py") -> Path:
        return write_script(
            "from py3r_script import Output, Param\n"
            'x = Param(0, name="x")\n'
            f"with open({str(counter)!r}, 'a') as handle:\n"
            "    handle.write(f'{x!r}\\n')\n"
            f"{extra}"
            'Output(x * 10, name="y")\n'
            'Output(x + 1, name="z")\n',
            name,
        )

    return write


@pytest.fixture
def make_read_only() -> Callable[..., Callable[[], None]]:
    """``make_read_only(*paths)``: make ``paths`` unwritable by this process; returns the
    function that undoes it.

    chmod is enough for a normal user; root ignores permissions, so then the immutable
    flag (``chattr +i``) is set as well, or the test is skipped.
    """

    def make(*paths: Path) -> Callable[[], None]:
        modes = {path: path.stat().st_mode for path in paths}
        flagged: list[Path] = []

        def undo() -> None:
            for path in reversed(flagged):
                subprocess.run(["chattr", "-i", str(path)], check=True, timeout=30)
            for path, mode in modes.items():
                path.chmod(mode)

        for path in paths:
            path.chmod(0o555 if path.is_dir() else 0o444)
        if os.geteuid() == 0:
            for path in paths:
                done = shutil.which("chattr") is not None and subprocess.run(
                    ["chattr", "+i", str(path)], capture_output=True, timeout=30
                ).returncode == 0
                if not done:
                    undo()
                    pytest.skip("running as root where chattr +i is unavailable: nothing is "
                                "read-only for root")
                flagged.append(path)
        return undo

    return make


def _downgrade(db: Path, schema: int) -> None:
    """Roll a study back to the layout an older py3r-script wrote: study schema 4 (no
    replicate index), 3 (nor pending plans), 2 (nor outputs stored by kind: every output a
    pickle, inline; nor interpreter identities or environments), or 1 (nor designs and
    interpreter paths). Only studies whose outputs are scalars or inline pickles."""
    import cloudpickle

    from py3r_script.store.schema import rebuild_view
    from py3r_script.store.sqlvalues import from_sql

    with closing(sqlite3.connect(db, isolation_level=None)) as con:
        con.execute("DROP VIEW runs")
        con.execute("ALTER TABLE iterations DROP COLUMN replicate")
        rebuild_view(con)
        if schema == 4:
            con.execute("ALTER TABLE pending_items DROP COLUMN replicate")
            con.execute("PRAGMA user_version = 4")
            return
        con.execute("DROP TABLE pending_items")
        if schema == 3:
            con.execute("PRAGMA user_version = 3")
            return
        for rowid, fmt, type_name, value, file in con.execute(
                "SELECT rowid, format, type, value, file FROM outputs").fetchall():
            if fmt == "value":
                blob = cloudpickle.dumps(from_sql(type_name, value), protocol=5)
                con.execute("UPDATE outputs SET blob = ?, size = ? WHERE rowid = ?",
                            (blob, len(blob), rowid))
            elif fmt != "pickle" or file is not None:
                raise NotImplementedError(f"cannot roll back a {fmt} output ({type_name})")
        for table, column in (("outputs", "format"), ("outputs", "signature"),
                              ("iterations", "interpreter_key"), ("sweeps", "environment")):
            con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        con.execute("DROP TABLE environment_packages")
        if schema == 1:
            con.execute("ALTER TABLE sweeps DROP COLUMN design_json")
            con.execute("ALTER TABLE iterations DROP COLUMN interpreter")
        con.execute(f"PRAGMA user_version = {schema}")


@pytest.fixture(scope="session")
def downgrade() -> Callable[[Path, int], None]:
    """``downgrade(db, schema)``: roll a study back to study schema 4, 3, 2 or 1, as an older
    py3r-script wrote it (outputs: scalars and inline pickles only)."""
    return _downgrade
