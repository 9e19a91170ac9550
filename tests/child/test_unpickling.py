"""The driver survives anything a child sends: an output whose unpickling raises
``SystemExit`` or ``KeyboardInterrupt`` becomes that iteration's error, naming the output,
whichever way the iteration was launched; a real Ctrl-C while an output loads still stops
the sweep.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

UNLOADABLE_SCRIPT = """
import sys, time
from py3r_script import Output, Param


def _raise_interrupt():
    raise KeyboardInterrupt("raised by the value")


def _slow(marker):
    open(marker, "w").close()
    time.sleep(30)
    return "loaded at last"


class Unloadable:
    def __init__(self, how):
        self.how = how

    def __reduce__(self):
        if self.how == "exit":
            return (sys.exit, (3,))
        if self.how == "interrupt":
            return (_raise_interrupt, ())
        if self.how == "slow":
            return (_slow, ({marker!r},))
        return (str, (self.how,))


how = Param("plain", name="how")
Output(Unloadable(how), name="bomb")
Output(how, name="how_out")
"""

DRIVER = """
import json, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from py3r_script import sensitivity

script, values, options = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
if options.pop("executor", None) == "dask in-process":
    from distributed import Client
    client = Client(processes=False, dashboard_address=None)
    options["executor"] = client.get_executor()
try:
    sr = sensitivity(script, {"how": values}, progress=False, **options)
except KeyboardInterrupt as exc:
    print("INTERRUPTED", type(exc).__name__, flush=True)
else:
    print(json.dumps([[r.params["how"], r.status, r.error, r.outputs.get("how_out")]
                      for r in sr.records]), flush=True)
"""

MODES = {
    "cold": {},
    "warm": {"warm": True},
    "two workers": {"max_workers": 2},
    "dask in-process": {"executor": "dask in-process"},
}


def _kill(driver: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(driver.pid, signal.SIGKILL)
    driver.communicate()


def _start(script, values, options) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(script), json.dumps(values), json.dumps(options)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.mark.parametrize("mode", list(MODES))
def test_an_output_whose_unpickling_exits_or_interrupts_is_the_iterations_error(
    write_script, tmp_path, mode
):
    if mode.startswith("dask"):
        pytest.importorskip("distributed")
    script = write_script(UNLOADABLE_SCRIPT.format(marker=str(tmp_path / "loading")))
    driver = _start(script, ["exit", "interrupt"], MODES[mode])
    try:
        out, err = driver.communicate(timeout=60)  # a hang fails instead of hanging
    except subprocess.TimeoutExpired:
        _kill(driver)
        pytest.fail(f"the driver hung ({mode})")
    assert driver.returncode == 0, f"the driver ended with {driver.returncode}: {out}\n{err}"
    records = {how: (status, error, kept) for how, status, error, kept in json.loads(out)}
    assert records.pop("plain")[0] == "ok"
    assert set(records) == {"exit", "interrupt"}, out
    for how, raised in (("exit", "SystemExit: 3"), ("interrupt", "KeyboardInterrupt: raised by "
                                                                  "the value")):
        status, error, kept = records[how]
        assert status == "error", (how, error)
        assert f"'bomb': {raised}" in error
        assert kept == how  # the other output is kept


def test_a_real_ctrl_c_while_an_output_loads_still_stops_the_sweep(write_script, tmp_path):
    loading = tmp_path / "loading"
    script = write_script(UNLOADABLE_SCRIPT.format(marker=str(loading)))
    driver = _start(script, ["slow"], {})
    try:
        deadline = time.monotonic() + 60
        while not loading.exists():  # the driver is unpickling the slow output
            assert driver.poll() is None, driver.communicate()
            assert time.monotonic() < deadline, "the output never started loading"
            time.sleep(0.02)
        driver.send_signal(signal.SIGINT)
        out, err = driver.communicate(timeout=30)
    finally:
        if driver.poll() is None:
            _kill(driver)
    assert "INTERRUPTED SweepInterrupted" in out, (out, err)
