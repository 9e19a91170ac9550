"""The README's code blocks, run as tests, so the README cannot drift from the code.

Each fenced block of ``README.md`` is one test, named after the nearest heading above it, and
runs in a real subprocess with this Python (``sys.executable``; the folder holding it comes
first on ``PATH``, so ``py3r-script`` is this package's), with ``MPLBACKEND=Agg``, in a fresh
temporary folder (the working directory) holding:

* a copy of ``sample_pipelines/``, so ``"sample_pipelines/oft_pipeline.py"`` resolves;
* at its top, the contents of ``sample_pipelines/readme_pipeline/``: the code and data the
  README's generic ``pipeline.py`` imports and reads (``tracking_tools.py``, ``sessions/``);
* every file block (below), written under its name.

Nothing is written to the repository. What a block's fence says decides how it runs:

* ```` ```python ```` whose first line is ``>>> ...``: a doctest (``python -m doctest -o
  ELLIPSIS``), so the output it shows is checked; a blank line inside such a block is printed
  output (the harness writes it as ``<BLANKLINE>``), and ``...`` on a line of its own stands
  for output left out.
* ```` ```python ```` whose first line is a comment naming a file, ``# pipeline.py: ...``: a
  file block. It is written under that name for every test, and its own test runs
  ``python NAME``.
* any other ```` ```python ````: a script, run as ``python readme_block.py``.
* ```` ```bash ````: run with ``bash -e -o pipefail``; every command must succeed.
* ```` ```toml ````: a sweep file, written next to the sample pipeline as
  ``sample_pipelines/readme_sweep.toml``; it must pass ``py3r-script sweep FILE --dry-run``.
* any other fence (no language, ``text``): output or a diagram, not run.

An HTML comment on the line directly above a fence changes that:

* ``<!-- readme-test: skip (why) -->``: the block's test is skipped, with that reason.
* ``<!-- readme-test: continue -->``: the block continues the previous runnable block (names
  defined there are used here) and runs with it, appended, as one test; it must have the same
  kind (script after script, shell after shell).

Besides the blocks, every repository path the README names (``py3r_script/...``,
``sample_pipelines/...``, ``tests/...``, ``benchmarks/...``) must exist and every dotted name
(``py3r_script.running.launch.run_iteration``) must import, so a moved module shows up here.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SAMPLES = ROOT / "sample_pipelines"
COMPANION = SAMPLES / "readme_pipeline"
BLOCK_TIMEOUT_S = 240

FENCE = re.compile(r"^```(\S*)\s*$")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$")
DIRECTIVE = re.compile(r"^<!--\s*readme-test:\s*(skip|continue)\s*(?:\((.*)\))?\s*-->\s*$")
FILE_BLOCK = re.compile(r"^#\s*([\w.-]+\.py):")
RUNNABLE = {"python", "bash", "toml"}


@dataclass
class Block:
    """One test: a fenced block of the README, with the blocks that continue it."""

    kind: str  # "doctest", "file", "script", "shell" or "sweepfile"
    heading: str
    line: int  # of the opening fence, 1-based
    text: str
    skip: str | None = None
    file_name: str | None = None
    lines: list[int] = field(default_factory=list)


def _kind(language: str, text: str) -> tuple[str, str | None]:
    first = text.lstrip("\n").split("\n", 1)[0]
    if language == "bash":
        return "shell", None
    if language == "toml":
        return "sweepfile", None
    if first.startswith(">>>"):
        return "doctest", None
    named = FILE_BLOCK.match(first)
    if named:
        return "file", named.group(1)
    return "script", None


def readme_blocks(readme: Path = README) -> list[Block]:
    """The README's runnable blocks, continued blocks joined, in the order they appear."""
    lines = readme.read_text(encoding="utf-8").split("\n")
    blocks: list[Block] = []
    heading, i = "top", 0
    while i < len(lines):
        if lines[i].startswith("<!-- readme-test") and not DIRECTIVE.match(lines[i]):
            raise ValueError(f"{readme.name}:{i + 1}: not a readme-test directive: {lines[i]}")
        found = HEADING.match(lines[i])
        if found:
            heading = found.group(1)
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].rstrip() == "```"), None)
        if end is None:
            raise ValueError(f"{readme.name}:{i + 1}: a fence that is never closed")
        language, text = fence.group(1), "\n".join(lines[i + 1 : end]) + "\n"
        directive = DIRECTIVE.match(lines[i - 1]) if i else None
        if language in RUNNABLE:
            kind, file_name = _kind(language, text)
            block = Block(kind, heading, i + 1, text, file_name=file_name, lines=[i + 1])
            if directive and directive.group(1) == "continue":
                previous = blocks[-1] if blocks else None
                if not previous or previous.kind != kind or kind not in ("script", "shell"):
                    raise ValueError(f"{readme.name}:{i + 1}: this {kind} block cannot "
                                     "continue the block before it")
                previous.text += text
                previous.lines.append(i + 1)
            else:
                if directive:
                    block.skip = directive.group(2) or "marked skip"
                blocks.append(block)
        i = end + 1
    return blocks


def _ids(blocks: list[Block]) -> list[str]:
    slugs = [re.sub(r"[^a-z0-9]+", "-", b.heading.lower()).strip("-") for b in blocks]
    return [f"{slug}-{slugs[:k].count(slug) + 1}" for k, slug in enumerate(slugs)]


BLOCKS = readme_blocks()


def _workspace(tmp_path: Path) -> Path:
    """A fresh working folder with what the README's examples need (see the module docstring)."""
    work = tmp_path / "readme"
    ignore = shutil.ignore_patterns("__pycache__", "*.db", "*.db-*", "figures")
    shutil.copytree(SAMPLES, work / "sample_pipelines", ignore=ignore)
    shutil.copytree(COMPANION, work, ignore=ignore, dirs_exist_ok=True)
    for block in BLOCKS:
        if block.kind == "file" and block.file_name:
            (work / block.file_name).write_text(block.text, encoding="utf-8")
    return work


def _doctest_text(text: str) -> str:
    """The block with blank lines inside an expected output written as ``<BLANKLINE>``."""
    lines = text.rstrip("\n").split("\n")
    return "\n".join(line if line.strip() else "<BLANKLINE>" for line in lines) + "\n"


def _command(block: Block, work: Path) -> list[str]:
    python = sys.executable
    if block.kind == "file":
        return [python, str(block.file_name)]
    if block.kind == "doctest":
        (work / "readme_block.txt").write_text(_doctest_text(block.text), encoding="utf-8")
        return [python, "-m", "doctest", "-o", "ELLIPSIS", "readme_block.txt"]
    if block.kind == "script":
        (work / "readme_block.py").write_text(block.text, encoding="utf-8")
        return [python, "readme_block.py"]
    if block.kind == "shell":
        (work / "readme_block.sh").write_text(block.text, encoding="utf-8")
        return ["bash", "-e", "-o", "pipefail", "readme_block.sh"]
    sweep_file = work / "sample_pipelines" / "readme_sweep.toml"
    sweep_file.write_text(block.text, encoding="utf-8")
    return ["py3r-script", "sweep", str(sweep_file.relative_to(work)), "--dry-run"]


def _environment() -> dict[str, str]:
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _run(command: list[str], work: Path) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in its own process group, killed whole if it outlives the time limit."""
    with subprocess.Popen(command, cwd=work, env=_environment(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=BLOCK_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            stderr += f"\n[killed after {BLOCK_TIMEOUT_S} s]"
        return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@pytest.mark.parametrize("block", BLOCKS, ids=_ids(BLOCKS))
def test_readme_block_runs(block: Block, tmp_path: Path) -> None:
    if block.skip:
        pytest.skip(block.skip)
    work = _workspace(tmp_path)
    done = _run(_command(block, work), work)
    where = ", ".join(f"README.md:{n}" for n in block.lines)
    assert done.returncode == 0, (
        f"{block.kind} block at {where} failed (exit {done.returncode})\n"
        f"--- block ---\n{block.text}--- stdout ---\n{done.stdout[-4000:]}\n"
        f"--- stderr ---\n{done.stderr[-4000:]}"
    )


def test_the_harness_finds_every_kind_of_block() -> None:
    assert {"doctest", "file", "script", "shell", "sweepfile"} <= {b.kind for b in BLOCKS}
    assert all(block.skip for block in BLOCKS if block.heading == "Quick start")


def test_a_drifted_example_fails(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "## Shown\n\n```python\n>>> print(1 + 1)\n3\n```\n\n"
        "## Broken\n\n```python\nx = 1\n```\n\n<!-- readme-test: continue -->\n"
        "```python\nprint(y)\n```\n\n```text\nnot run\n```\n",
        encoding="utf-8",
    )
    shown, broken = readme_blocks(readme)
    assert (shown.kind, broken.kind, broken.lines) == ("doctest", "script", [10, 15])
    for block in (shown, broken):
        assert _run(_command(block, tmp_path), tmp_path).returncode != 0


def _resolve(dotted: str) -> object:
    """The object a dotted name such as ``py3r_script.running.launch.run_iteration`` names."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:end]))
        except ImportError:
            continue
        for attribute in parts[end:]:
            found = getattr(found, attribute)
        return found
    raise ImportError(dotted)


def test_every_path_and_dotted_name_in_the_readme_exists() -> None:
    text = README.read_text(encoding="utf-8")
    folders = "py3r_script|sample_pipelines|tests|benchmarks"
    paths = set(re.findall(rf"\b(?:{folders})/[\w./-]*\w", text))
    assert paths
    assert not sorted(p for p in paths if not (ROOT / p).exists())
    names = set(re.findall(r"\bpy3r_script(?:\.\w+)+", text))
    assert names
    for name in sorted(names):
        assert _resolve(name) is not None, name
