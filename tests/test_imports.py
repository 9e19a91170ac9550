"""Importing the package (what every child does) stays light: no pandas, numpy, cloudpickle."""

from __future__ import annotations

import subprocess
import sys

import pytest

CODE = (
    "import py3r_script, py3r_script.child.bootstrap, sys; "
    "print(sorted(m for m in sys.modules "
    "if m.split('.')[0] in {'pandas','numpy','cloudpickle','sqlite3'}))"
)


def test_import_is_light_in_a_fresh_interpreter():
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_markers_usable_without_loading_the_runner():
    code = (
        "import sys; from py3r_script import Param, Output; "
        "assert Output(Param(3, name='n'), name='o') == 3; "
        "print(sorted(m for m in sys.modules if m in "
        "{'py3r_script.running.api', 'py3r_script.results', 'py3r_script.running.launch'}))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_public_names_resolve_lazily():
    import py3r_script
    from py3r_script import markers, results
    from py3r_script.designs import inspection
    from py3r_script.running import api as runner

    assert py3r_script.run is runner.run
    assert py3r_script.sensitivity is runner.sensitivity
    assert py3r_script.inspect is inspection.inspect
    assert py3r_script.inspect_script is inspection.inspect_script
    assert py3r_script.ScriptResults is results.ScriptResults
    assert py3r_script.Param is markers.Param and py3r_script.Output is markers.Output
    with pytest.raises(AttributeError):
        py3r_script.no_such_name  # noqa: B018


def test_a_child_does_not_pay_for_typing():
    # typing costs a cold child ~4 ms; the child side names its types for checkers only
    code = (
        "import sys; before = set(sys.modules); "
        "import py3r_script, py3r_script.child.bootstrap; "
        "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] == 'typing'))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
