"""The subcommands that run a script: ``inspect``, ``run``, ``sensitivity`` and ``sweep``.

Each reads its flags (or a sweep file) into the same two values the Python API builds, a
design request and the run options, plans it and hands both to ``execute_plan``.
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from ..designs.request import DesignRequest, design_request
from ..errors import SweepError
from .designflags import (
    FLAGS,
    RUN,
    command_line_request,
    file_request,
    file_spelling,
    plan_in_terms,
    replicate_flags,
    single_values,
)
from .runflags import flag_options, options_in_terms
from .terminal import EXIT_OK, report

__all__ = ["inspect_command", "run_command", "sensitivity_command", "sweep_command"]


def inspect_command(args: argparse.Namespace) -> int:
    """``py3r-script inspect SCRIPT [--json]``: the script's parameters and outputs."""
    from ..designs.inspection import inspect_script

    _refuse_sweep_file(args.script, "inspect")
    info = inspect_script(args.script)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2, default=repr))
    else:
        print(info.format(display_path=args.script))
    return EXIT_OK


def run_command(args: argparse.Namespace) -> int:
    """``py3r-script run SCRIPT -p NAME=VALUE ...``: one iteration."""
    from ..designs.inspection import inspect_script
    from ..running.execute import execute_plan

    _refuse_sweep_file(args.script, "run")
    info = inspect_script(args.script)
    params = single_values(args.params, info, "-p")
    request = DesignRequest("single", params=params, **replicate_flags(args))
    planned = plan_in_terms(info, request, RUN)
    options = options_in_terms(flag_options(args))
    return report(execute_plan(args.script, info, planned, options), args.out, args.format)


def sensitivity_command(args: argparse.Namespace) -> int:
    """``py3r-script sensitivity SCRIPT -s NAME=V1,V2 ...``: one at a time, or a grid."""
    from ..designs.inspection import inspect_script
    from ..running.execute import execute_plan
    from .textvalues import parse_assignment

    _refuse_sweep_file(args.script, "sensitivity")
    info = inspect_script(args.script)
    params: dict[str, list[object]] = {}
    for text in args.sweeps:  # -s w=1,2 -s w=3 sweeps 1, 2 and 3
        name, values = parse_assignment(text, info, many=True)
        params.setdefault(name, []).extend(values)  # type: ignore[arg-type]
    nominal = single_values(args.nominal, info, "--nominal")
    request = design_request(params, nominal=nominal, mode=args.mode,
                             **replicate_flags(args))
    planned = plan_in_terms(info, request, FLAGS)
    options = options_in_terms(flag_options(args))
    return report(execute_plan(args.script, info, planned, options), args.out, args.format)


def sweep_command(args: argparse.Namespace) -> int:
    """``py3r-script sweep FILE.toml`` or ``sweep SCRIPT`` with a design given as flags."""
    from ..designs.inspection import inspect_script
    from ..running.execute import execute_plan

    if _is_sweep_file(args.file):
        return _sweep_file(args)
    info = inspect_script(args.file)
    planned = plan_in_terms(info, command_line_request(args, info), FLAGS)
    options = options_in_terms(flag_options(args))
    return report(execute_plan(args.file, info, planned, options), args.out, args.format)


def _sweep_file(args: argparse.Namespace) -> int:
    """``sweep FILE.toml``: the file's design and options; the command line's options win."""
    from ..running.execute import execute_plan
    from .sweepfile import read_sweep_file

    given = [flag for flag, value in (("-s", args.sweeps), ("--link", args.link),
                                      ("--points", args.points), ("--sample", args.sample),
                                      ("--nominal", args.nominal)) if value]
    if given:
        raise SweepError(f"{', '.join(given)}: design options go with a script; a sweep file "
                         "defines its own design (edit the file, or sweep the script instead)")
    spec = read_sweep_file(args.file)
    info = spec.script_info()
    planned = plan_in_terms(info, file_request(spec, info, args), file_spelling(spec.path))
    flags = flag_options(args)
    if "outputs" not in flags:
        spec.check_outputs(info)
    options = options_in_terms({**spec.options, **flags}, spec, flags)
    return report(execute_plan(spec.script, info, planned, options), args.out, args.format)


def _is_sweep_file(path: str) -> bool:
    return Path(path).suffix.lower() == ".toml"


def _refuse_sweep_file(path: str, command: str) -> None:
    """A sweep file given where a script belongs: say which command takes it."""
    if not _is_sweep_file(path):
        return
    from .sweepfile import read_sweep_file

    fix = f"run it with: py3r-script sweep {shlex.quote(path)}"
    if command == "inspect":
        try:
            script = shlex.quote(str(read_sweep_file(path).script))
            fix += f"; or inspect the script it names: py3r-script inspect {script}"
        except SweepError:
            pass
    raise SweepError(f"{path} is a sweep file, not a script: {fix}")
