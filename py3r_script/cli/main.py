"""The ``py3r-script`` command line: parse, call the API, map errors to exit codes.

Exit codes: 0 every iteration succeeded, 1 some failed (listed on stderr), 2 usage or input
errors (a ``SweepError``, or ``-o`` that could not be written), 130 interrupted; anything
else is a bug and ends with its traceback. Messages go to stderr and data to stdout, so
``py3r-script sensitivity ... > out.csv`` writes a CSV file. The designs given as flags are
read in ``designflags``, the tables written by ``tables``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import StudyPathError, SweepError
from .designflags import FLAGS, Spelling, check_complete, single_values
from .terminal import check_out, emit, say, scalar_table

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def _command(commands: Any, name: str, summary: str, example: str, parents: list[Any]) -> Any:
    return commands.add_parser(
        name, help=summary, description=summary, parents=parents,
        epilog=f"example:\n  {example}", formatter_class=_Formatter,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="py3r-script",
        description="Sweep the parameters of unmodified Python pipeline scripts.",
        epilog="example:\n  py3r-script sensitivity pipeline.py -s window=3,5,7 -j auto",
        formatter_class=_Formatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    data = argparse.ArgumentParser(add_help=False)
    group = data.add_argument_group("output")
    group.add_argument("-o", "--out", metavar="FILE",
                       help="write the table to FILE (.csv, .json or .parquet)")
    group.add_argument("--format", choices=("table", "csv", "json"),
                       help="format on stdout (default: table in a terminal, csv otherwise)")

    running = argparse.ArgumentParser(add_help=False)
    group = running.add_argument_group("running")
    group.add_argument("--output", dest="outputs", action="append", metavar="NAME",
                       help="capture this output (repeat; default: all)")
    group.add_argument("--stop-after-outputs", action=argparse.BooleanOptionalAction,
                       default=None,
                       help="end each iteration once the requested outputs are captured")
    group.add_argument("--timeout", type=float, metavar="S", help="per-iteration limit, seconds")
    group.add_argument("--store", metavar="DB", help="study database: save and reuse iterations")
    group.add_argument("--dry-run", action=argparse.BooleanOptionalAction, default=None,
                       help="show what would run or be reused; run nothing")
    group.add_argument("--rerun", action=argparse.BooleanOptionalAction, default=None,
                       help="with --store: reuse nothing")
    group.add_argument("--backup", action=argparse.BooleanOptionalAction, default=None,
                       help="with --store: back it up first")
    group.add_argument("--workdir", nargs="?", const=True, metavar="DIR",
                       help="run each iteration in its own folder (under DIR, or the study)")
    group.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="progress bar on stderr (default: when it is a terminal)")
    group.add_argument("--warm", action=argparse.BooleanOptionalAction, default=None,
                       help="fork iterations from a process with the script's imports loaded")
    group.add_argument("--preload", action="append", metavar="MODULE",
                       help="with --warm: a module to import up front (repeat)")
    group.add_argument("--label", help="a name for this sweep, kept in the store")
    group.add_argument("--env", action="append", default=None, metavar="NAME=VALUE",
                       help="an environment variable for every iteration (repeat)")
    group.add_argument("--argv", metavar="ARGS",
                       help="the script's own command-line arguments, e.g. \"--input a.csv\"")
    group.add_argument("--python", metavar="PATH",
                       help="the interpreter to run the script with (default: this one)")

    workers = argparse.ArgumentParser(add_help=False)
    workers.add_argument("-j", "--workers", metavar="N",
                         help='iterations at once on this machine (an integer or "auto")')

    inspect = _command(commands, "inspect", "List a script's parameters and outputs without "
                       "running it.", "py3r-script inspect pipeline.py --json", [])
    inspect.add_argument("script", help="path to the script")
    inspect.add_argument("--json", action="store_true", help="print the result as JSON")

    run = _command(commands, "run", "Run a script once with some parameter values.",
                   "py3r-script run pipeline.py -p threshold=0.8 --output summary",
                   [running, data])
    run.add_argument("script", help="path to the script")
    run.add_argument("-p", "--param", dest="params", action="append", default=[],
                     metavar="NAME=VALUE", help="a parameter value (repeat)")

    sens = _command(commands, "sensitivity", "Sweep parameters one at a time (or as a grid).",
                    "py3r-script sensitivity pipeline.py -s window=3,5,7 -s threshold=0.5,0.8 "
                    "--mode grid -j 2 --store study.db", [running, workers, data])
    sens.add_argument("script", help="path to the script")
    sens.add_argument("-s", "--sweep", dest="sweeps", action="append", required=True,
                      metavar="NAME=V1,V2,...", help="values to sweep (repeat per parameter)")
    sens.add_argument("--mode", choices=("independent", "grid"), default="independent")
    sens.add_argument("--nominal", action="append", default=[], metavar="NAME=VALUE",
                      help="a nominal (baseline or held-constant) value (repeat)")

    sweep = _command(
        commands, "sweep",
        "Run any sweep design: from a TOML sweep file (options given here override the "
        "file's), or for a script with the design given here (a grid of -s values, linked "
        "parameters, explicit points or sampled ranges).",
        "py3r-script sweep oft_sweep.toml --dry-run\n"
        "  py3r-script sweep pipeline.py -s window=3,5 --link a,b=1:2,3:4\n"
        "  py3r-script sweep pipeline.py --sample threshold=0.1:0.9 --sample window=3,5,7 "
        "-n 20 --seed 0\n"
        "  py3r-script sweep pipeline.py --points points.csv",
        [running, workers, data])
    sweep.add_argument("file", help="a TOML sweep file, or a script")
    design = sweep.add_argument_group(
        "design (with a script; --mode, --include-nominal, -n, --method and --seed also "
        "override a sweep file's)")
    design.add_argument("-s", "--sweep", dest="sweeps", action="append", default=[],
                        metavar="NAME=V1,V2,...", help="values to sweep (repeat per parameter)")
    design.add_argument("--link", action="append", default=[], metavar="A,B=A1:B1,A2:B2",
                        help="parameters that vary together (repeat per group)")
    design.add_argument("--mode", choices=("grid", "independent"),
                        help="how -s and --link values (or a sweep file's [params]) combine "
                             "(default: grid; a sweep file's mode)")
    design.add_argument("--include-nominal", action=argparse.BooleanOptionalAction,
                        default=None,
                        help="whether a grid adds each parameter's nominal value to its "
                             "values (default: yes; --no-include-nominal: exactly the values "
                             "given)")
    design.add_argument("--points", metavar="CSV",
                        help="explicit parameter sets: a CSV file, one column per parameter")
    design.add_argument("--sample", action="append", default=[],
                        metavar="NAME=LOW:HIGH[:log] | NAME=A,B",
                        help="a range or choices to sample (repeat per parameter)")
    design.add_argument("-n", type=int, help="with --sample: how many parameter sets to draw")
    design.add_argument("--method", choices=("lhs", "random"),
                        help="with --sample: Latin hypercube (default) or independent draws")
    design.add_argument("--seed", type=int, help="with --sample: seed, for the same draws")
    design.add_argument("--nominal", action="append", default=[], metavar="NAME=VALUE",
                        help="a value held constant (repeat)")

    merge = _command(commands, "merge", "Merge studies run apart into one (created if "
                     "needed); merging again adds nothing.",
                     "py3r-script merge oft_all.db oft_laptop.db oft_cluster.db", [])
    merge.add_argument("target", help="the study to merge into")
    merge.add_argument("sources", nargs="+", help="the studies to merge from")

    show = _command(commands, "show", "Show what a study database holds.",
                    "py3r-script show study.db --sweep -1 --errors", [data])
    show.add_argument("db", help="the study database")
    show.add_argument("--sweep", metavar="ID",
                      help="one sweep: its number (0 the first, -1 the latest) or its id (a "
                           "prefix will do); a number that is no sweep's is read as an id")
    show.add_argument("--errors", action="store_true", help="list failed iterations")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Bad input (every error py3r-script raises on purpose) is exit 2 with a message; any
    other exception is a bug, and ends with its traceback (exit 1).
    """
    args = _parser().parse_args(argv)
    handlers = {"inspect": _inspect, "run": _run, "sensitivity": _sensitivity,
                "sweep": _sweep, "merge": _merge, "show": _show}
    try:
        check_out(getattr(args, "out", None))
        return handlers[args.command](args)
    except KeyboardInterrupt as exc:
        results = getattr(exc, "results", None)
        if results is None:
            say("interrupted")
            return EXIT_INTERRUPTED
        saved = " (saved in the store)" if getattr(args, "store", None) else \
            " (printed only: use --store to keep them)"
        say(f"interrupted: {len(results.records)} finished iteration(s){saved}")
        _report(results, args)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader (e.g. `head`) went away: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except StudyPathError as exc:
        reading = args.command in ("show", "merge")
        fix = ("give a study database (a file written with --store DB)" if reading
               else "choose another file name for --store")
        say(f"error: {exc.problem}; {fix}")
        return EXIT_USAGE
    except SweepError as exc:
        say(f"error: {exc}")
        return EXIT_USAGE


_RUN = Spelling(nominal="-p {name}=VALUE", grid="", point="")


def _inspect(args: argparse.Namespace) -> int:
    from ..designs.inspection import inspect_script

    _refuse_sweep_file(args.script, "inspect")
    info = inspect_script(args.script)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2, default=repr))
    else:
        print(info.format(display_path=args.script))
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from ..designs.inspection import inspect_script
    from ..running.api import run

    _refuse_sweep_file(args.script, "run")
    info = inspect_script(args.script)
    params = single_values(args.params, info, "-p")
    check_complete(info, {"nominal": params}, _RUN)
    return _report(run(args.script, params, **_run_options(args)), args)


def _sensitivity(args: argparse.Namespace) -> int:
    from ..designs.inspection import inspect_script
    from ..running.api import sensitivity
    from .textvalues import parse_assignment

    _refuse_sweep_file(args.script, "sensitivity")
    info = inspect_script(args.script)
    params: dict[str, list[Any]] = {}
    for text in args.sweeps:  # -s w=1,2 -s w=3 sweeps 1, 2 and 3
        name, values = parse_assignment(text, info, many=True)
        params.setdefault(name, []).extend(values)  # type: ignore[arg-type]
    nominal = single_values(args.nominal, info, "--nominal")
    check_complete(info, {"params": params, "nominal": nominal, "mode": args.mode}, FLAGS)
    results = sensitivity(args.script, params, nominal=nominal, mode=args.mode,
                          **_run_options(args), **_worker_options(args))
    return _report(results, args)


def _sweep(args: argparse.Namespace) -> int:
    from ..designs.inspection import inspect_script
    from ..running.api import sweep
    from .designflags import command_line_design

    if _is_sweep_file(args.file):
        return _sweep_file(args)
    info = inspect_script(args.file)
    design = command_line_design(args, info)
    check_complete(info, design, FLAGS)
    return _report(sweep(args.file, **design, **_run_options(args),
                         **_worker_options(args)), args)


def _sweep_file(args: argparse.Namespace) -> int:
    """``sweep FILE.toml``: the file's design and options; the command line's options win."""
    from ..running.api import sweep
    from .designflags import check_design_flags, file_spelling
    from .sweepfile import read_sweep_file

    given = [flag for flag, value in (("-s", args.sweeps), ("--link", args.link),
                                      ("--points", args.points), ("--sample", args.sample),
                                      ("--nominal", args.nominal)) if value]
    if given:
        raise SweepError(f"{', '.join(given)}: design options go with a script; a sweep file "
                         "defines its own design (edit the file, or sweep the script instead)")
    spec = read_sweep_file(args.file)
    info = spec.script_info()
    design = spec.typed_design(info)
    kind = next(k for k in ("points", "sample", "params") if k in design)
    table = {"points": "[[points]]", "sample": "[sample]", "params": "[params]"}[kind]
    check_design_flags(args, kind, f"the {table} design of {spec.path}")
    if args.mode is not None:
        design["mode"] = args.mode
    if args.include_nominal is not None:
        design["include_nominal"] = args.include_nominal
    design.update({key: value for key, value in (("n", args.n), ("seed", args.seed),
                                                 ("method", args.method)) if value is not None})
    check_complete(info, design, file_spelling(spec.path))
    command_line = _run_options(args, explicit_only=True)
    if "outputs" not in command_line:
        spec.check_outputs(info)
    options = {**spec.options, **command_line, **_worker_options(args)}
    _check_needs_store(options, spec, set(command_line))
    return _report(sweep(spec.script, **design, **options), args)


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


_NEEDS_STORE = {
    "rerun": "--rerun (reuse nothing) needs a study: give --store DB, or leave --rerun out",
    "backup": "--backup (back up the study first) needs a study: give --store DB, or leave "
              "--backup out",
    "workdir": "--workdir without a folder puts the iteration folders next to the study, so "
               "it needs --store DB; or give a folder: --workdir DIR",
}


def _check_needs_store(options: dict[str, Any], spec: Any = None,
                       command_line: set[str] | None = None) -> None:
    """``--rerun``, ``--backup`` and a bare ``--workdir`` need a study to work with."""
    if options.get("store"):
        return
    for key in _NEEDS_STORE:
        if options.get(key) is not True:
            continue
        if spec is not None and key not in (command_line or set()):  # from the sweep file
            raise SweepError(f"{spec.where(key)}: {key} = true needs a study database: add "
                             'store = "study.db" to the file, or give --store DB')
        raise SweepError(_NEEDS_STORE[key])


def _show(args: argparse.Namespace) -> int:
    from ..store.study import Study, load

    with Study(args.db, create=False) as study:
        sweeps = study.sweeps()
    if args.sweep is None and not args.errors:
        columns = ["sweep_seq", "sweep_id", "label", "created_utc", "status", "mode", "script",
                   "n_planned", "n_done", "n_failed", "git_commit"]
        table = sweeps[columns].copy()
        table["sweep_id"] = table["sweep_id"].str[:8]
        say(f"{args.db}: {len(sweeps)} sweep(s); show one with --sweep N or ID")
        return _emit(table, args)
    sweep = None if args.sweep is None else _sweep_id(args.sweep, sweeps["sweep_id"].tolist(),
                                                      args.db)
    results = load(args.db, sweep=sweep)
    if args.errors:
        import pandas as pd

        failed = [r for r in results.records if not r.ok]
        table = pd.DataFrame(
            [[r.params.get(n) for n in results.param_names]
             + [r.status, r.sweep_id, r.iteration_id, r.error] for r in failed],
            columns=[*results.param_names, "_status", "_sweep_id", "_iteration_id", "_error"],
        )
        say(f"{len(failed)} failed iteration(s)")
        return _emit(table, args)
    return _emit(scalar_table(results, meta=True), args)


def _sweep_id(text: str, ids: list[str], db: str) -> str:
    """``--sweep``: a sweep number when there is such a sweep, else an id (or id prefix).

    An id prefix may be all digits (``show`` prints 8-character prefixes); sweep numbers
    are small, so a number that is no sweep's is tried as an id prefix.
    """
    try:
        number: int | None = int(text)
    except ValueError:
        number = None
    if number is not None and -len(ids) <= number < len(ids):
        return ids[number]
    matches = [i for i in ids if i.startswith(text.lower())] if text else []
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise SweepError(f"--sweep {text}: {len(matches)} sweeps have an id starting with "
                         f"{text!r}; give more of the id")
    problem = f"no sweep id starting with {text!r}"
    if number is not None:
        numbers = f"0 to {len(ids) - 1}, or -1 for the latest" if ids else "none"
        problem = f"no sweep number {number} (its numbers: {numbers}) and {problem}"
    raise SweepError(f"--sweep {text}: {db} has {problem}; py3r-script show "
                     f"{shlex.quote(db)} lists its sweeps")


def _merge(args: argparse.Namespace) -> int:
    from ..store.study import Study

    with Study(args.target) as study:
        for source in args.sources:
            say(f"{source}: {study.merge(source)} iteration(s) added to {args.target}")
    return EXIT_OK


def _run_options(args: argparse.Namespace, *, explicit_only: bool = False) -> dict[str, Any]:
    options = {
        "outputs": args.outputs,
        "stop_after_outputs": args.stop_after_outputs,
        "timeout": args.timeout,
        "store": args.store,
        "dry_run": args.dry_run,
        "rerun": args.rerun,
        "backup": args.backup,
        "workdir": args.workdir,
        "progress": args.progress,
        "warm": args.warm,
        "preload": args.preload,
        "label": args.label,
        "env": _env(args.env),
        "argv": _argv(args.argv),
        "python": args.python,
    }
    if explicit_only:
        return {k: v for k, v in options.items() if v is not None}
    defaults = {"stop_after_outputs": False, "dry_run": False, "rerun": False, "backup": False,
                "warm": False}  # flags left unset: the API's defaults
    options = {k: (defaults[k] if v is None and k in defaults else v) for k, v in options.items()}
    _check_needs_store(options)
    return options


def _env(items: list[str] | None) -> dict[str, str] | None:
    if items is None:
        return None
    env = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SweepError(f"--env takes NAME=VALUE, got {item!r}")
        env[name] = value
    return env


def _argv(text: str | None) -> list[str] | None:
    if text is None:
        return None
    try:
        return shlex.split(text)
    except ValueError as exc:  # e.g. an unclosed quote
        raise SweepError(f"--argv {text!r}: {exc}; quote it as a shell would, e.g. "
                         "--argv \"--input 'a b.csv'\"") from None


def _worker_options(args: argparse.Namespace) -> dict[str, Any]:
    if args.workers is None:
        return {}
    if args.workers == "auto":
        return {"max_workers": "auto"}
    try:
        return {"max_workers": int(args.workers)}
    except ValueError:
        raise SweepError(
            f"-j/--workers takes a positive integer or 'auto', got {args.workers!r}") from None


def _report(results: Any, args: argparse.Namespace) -> int:
    from ..designs.preview import DryRun

    if isinstance(results, DryRun):
        say(repr(results).splitlines()[0])
        return _emit(results.to_dataframe(), args)
    written = _emit(scalar_table(results, meta=False), args)
    design = results.design
    if design is not None and design.seed is not None:
        say(f"sampled ({design.mode}) with seed {design.seed}: --seed {design.seed} draws the "
            "same parameter sets again")
    failed = results.errors
    if failed:
        say(f"{len(failed)} of {len(results.records)} iteration(s) failed:")
        for params, message in failed:
            say(f"  {params}:\n    " + message.strip().replace("\n", "\n    "))
    if written != EXIT_OK:
        return written
    return EXIT_FAILED if failed else EXIT_OK


def _emit(frame: Any, args: argparse.Namespace) -> int:
    """The table to ``-o`` or stdout; exit 2 when ``-o`` failed (the table is on stdout)."""
    return EXIT_OK if emit(frame, args.out, args.format) else EXIT_USAGE
