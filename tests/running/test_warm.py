"""Warm starts: iterations forked from a zygote that preloaded the script's imports."""

from __future__ import annotations

import os
import sys
import time
import uuid

import pytest

from py3r_script import run, sensitivity
from py3r_script.running import warm

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork: Linux")

PRELOAD_PROBE = """
import sys
preloaded = "json" in sys.modules and "decimal" in sys.modules
import decimal
import json
from py3r_script import Output, Param
i = Param(0, name="i")
Output(preloaded, name="preloaded")
import os
Output(os.getpid(), name="pid")
Output(os.getppid(), name="ppid")
"""


def test_warm_children_start_with_the_scripts_imports_loaded(write_script):
    script = write_script(PRELOAD_PROBE)
    warm = sensitivity(script, {"i": [1, 2]}, warm=True, progress=False)
    cold = sensitivity(script, {"i": [1, 2]}, progress=False)
    assert [r.outputs["preloaded"] for r in warm.records] == [True, True, True]
    assert [r.outputs["preloaded"] for r in cold.records] == [False, False, False]
    pids = [r.outputs["pid"] for r in warm.records]
    assert len(set(pids)) == 3 and os.getpid() not in pids
    # all forked by the same zygote, which is neither this process nor a child's parent chain
    assert len({r.outputs["ppid"] for r in warm.records}) == 1
    assert warm.records[0].outputs["ppid"] != os.getpid()


def test_each_warm_child_has_fresh_random_state(write_script):
    script = write_script(
        """
        import random
        import numpy as np
        from py3r_script import Output, Param
        i = Param(0, name="i")
        Output(random.random(), name="stdlib")
        Output(float(np.random.random()), name="numpy")
        """
    )
    sr = sensitivity(script, {"i": [1, 2, 3]}, warm=True, progress=False)
    for name in ("stdlib", "numpy"):
        draws = [r.outputs[name] for r in sr.records]
        assert len(set(draws)) == len(draws), f"{name} state was shared: {draws}"


def test_warm_with_two_workers_keeps_plan_order(write_script):
    script = write_script(
        """
        import time
        from py3r_script import Output, Param
        i = Param(0, name="i")
        time.sleep(0.3 if i == 1 else 0.0)
        Output(i * 10, name="ten")
        """
    )
    sr = sensitivity(script, {"i": [1, 2, 3, 4]}, warm=True, max_workers=2, progress=False)
    assert [r.params["i"] for r in sr.records] == [0, 1, 2, 3, 4]
    assert sr.to_dataframe()["ten"].tolist() == [0, 10, 20, 30, 40]


def test_a_failing_preload_falls_back_to_cold_with_a_warning(write_script):
    script = write_script(
        """
        from py3r_script import Output, Param
        i = Param(0, name="i")
        Output(i + 1, name="next")
        """
    )
    with pytest.warns(RuntimeWarning, match="warm start unavailable.*running cold"):
        sr = run(script, {"i": 4}, warm=True, preload=["json", "no_such_module_xyz.sub"])
    assert sr[{"i": 4}]["next"] == 5


def test_a_preload_that_raises_falls_back_to_cold(write_script, tmp_path, monkeypatch):
    broken = tmp_path / "libs"
    broken.mkdir()
    (broken / "explodes_on_import.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.setenv("PYTHONPATH", str(broken))
    script = write_script(
        """
        from py3r_script import Output
        Output(1, name="one")
        """
    )
    with pytest.warns(RuntimeWarning, match="explodes_on_import.*boom at import"):
        sr = run(script, warm=True, preload=["explodes_on_import"])
    assert sr.records[0].ok


def _command_lines_naming(word: str) -> list[int]:
    """The processes whose command line holds ``word``."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if word.encode() in handle.read():
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


def test_a_preload_that_hangs_falls_back_to_cold_in_time(write_script, tmp_path, monkeypatch):
    hanging = f"hangs_on_import_{uuid.uuid4().hex[:8]}"
    libs = tmp_path / "libs"
    libs.mkdir()
    (libs / f"{hanging}.py").write_text("import time\ntime.sleep(3600)\n")
    monkeypatch.setenv("PYTHONPATH", str(libs))  # what the zygote's interpreter sees
    monkeypatch.setattr(warm, "START_TIMEOUT", 1.0)
    script = write_script(
        """
        from py3r_script import Output, Param
        i = Param(0, name="i")
        Output(i + 1, name="next")
        """
    )
    start = time.monotonic()
    with pytest.warns(RuntimeWarning) as caught:
        sr = run(script, {"i": 2}, warm=True, preload=["json", hanging])
    assert time.monotonic() - start < 15, "the sweep waited for the hanging preload"
    assert sr[{"i": 2}]["next"] == 3  # ran cold
    [warning] = [str(w.message) for w in caught if "warm start" in str(w.message)]
    assert warning == (f"warm start unavailable (preloading {hanging!r} did not finish within "
                       "1 s, so the warm-start process was killed); running cold")
    assert _command_lines_naming(hanging) == [], "the hanging zygote was left running"


def test_modules_beside_the_script_are_not_preloaded(write_script, tmp_path):
    """Preloading runs no user code: a local module imported by the script is skipped."""
    marker = tmp_path / "imported.log"
    write_script(f"open({str(marker)!r}, 'a').write('x')\n", "local_helper.py")
    script = write_script(
        """
        import local_helper
        from py3r_script import Output
        Output(1, name="one")
        """
    )
    sr = run(script, warm=True)
    assert sr.records[0].ok
    assert marker.read_text() == "x"  # imported once, by the child, not by the zygote


def test_warm_with_an_executor_forks_each_chunk_from_the_workers_pool(write_script):
    """A thread pool's worker is this process: its chunks lease this process's zygote, one
    after the other (process workers: tests/running/test_warm_workers.py)."""
    from concurrent.futures import ThreadPoolExecutor

    from py3r_script import warm_pool

    script = write_script("import os\nfrom py3r_script import Output, Param\n"
                          "x = Param(1, name='x')\nOutput(os.getppid(), name='parent')\n")
    with ThreadPoolExecutor(1) as pool:
        sr = sensitivity(script, {"x": [1, 2, 3]}, warm=True, executor=pool, chunk_size=2,
                         progress=False)
    assert [r.status for r in sr.records] == ["ok"] * 3
    parents = {r.outputs["parent"] for r in sr.records}
    assert parents == {z.pid for z in warm_pool().zygotes()} and os.getpid() not in parents
