"""The command line's arguments: one subcommand per task, built from shared option groups."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, NoReturn

from .. import __version__
from ..designs.design import SAMPLE_METHODS
from .cluster import add_cluster_commands

__all__ = ["COMMANDS", "ArgumentsError", "CommandLineParser", "build_parser",
           "parse_command_line"]

COMMANDS = ("inspect", "run", "sensitivity", "sweep", "merge", "show", "report", "work",
            "collect", "batch")


class ArgumentsError(Exception):
    """argparse refused the command line: ``message`` says why, ``parser`` is the
    (sub)command's parser (for its usage line), ``extras`` the words it did not recognise
    (``None`` when it stopped before knowing them)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str,
                 extras: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message
        self.extras = None if extras is None else list(extras)


class CommandLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that raises :class:`ArgumentsError` instead of exiting, so
    the command line can add what to type instead (``habits``)."""

    def error(self, message: str) -> NoReturn:
        raise ArgumentsError(self, message)


def parse_command_line(tokens: Sequence[str]) -> argparse.Namespace:
    """The parsed command line; an :class:`ArgumentsError` for anything argparse refuses,
    unrecognised words included.

    >>> parse_command_line(["inspect", "pipeline.py"]).command
    'inspect'
    """
    parser = build_parser()
    args, extras = parser.parse_known_args(list(tokens))
    if extras:
        raise ArgumentsError(parser, f"unrecognized arguments: {' '.join(extras)}", extras)
    return args


def build_parser() -> argparse.ArgumentParser:
    """The ``py3r-script`` parser: ``inspect``, ``run``, ``sensitivity``, ``sweep``,
    ``merge``, ``show``, ``report``, ``work``, ``collect`` and ``batch``.

    >>> build_parser().parse_args(["inspect", "pipeline.py"]).command
    'inspect'
    """
    parser = CommandLineParser(
        prog="py3r-script",
        description="Sweep the parameters of unmodified Python pipeline scripts.",
        epilog="example:\n  py3r-script sensitivity pipeline.py -s window=3,5,7 -j auto",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"py3r-script {__version__}",
                        help="print py3r-script's version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    data, running, workers = _output_options(), _running_options(), _worker_options()
    replicates = _replicate_options()
    _add_inspect(commands)
    _add_run(commands, [running, replicates, data])
    _add_sensitivity(commands, [running, workers, replicates, data])
    _add_sweep(commands, [running, workers, replicates, data])
    _add_merge(commands)
    _add_show(commands, [data])
    _add_report(commands)
    add_cluster_commands(commands, _command)
    return parser


def _command(commands: Any, name: str, summary: str, example: str,
             parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=summary, description=summary, parents=parents,
        epilog=f"example:\n  {example}", formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def _output_options() -> argparse.ArgumentParser:
    """Where the result table goes: ``-o FILE`` and ``--format``."""
    data = argparse.ArgumentParser(add_help=False)
    group = data.add_argument_group("output")
    group.add_argument("-o", "--out", metavar="FILE",
                       help="write the table to FILE (.csv, .json or .parquet)")
    group.add_argument("--format", choices=("table", "csv", "json"),
                       help="format on stdout (default: table in a terminal, csv otherwise)")
    return data


def _running_options() -> argparse.ArgumentParser:
    """The run options (``RunOptions``), one flag each; unset flags are ``None``."""
    running = argparse.ArgumentParser(add_help=False)
    group = running.add_argument_group("running")
    switch: dict[str, Any] = {"action": argparse.BooleanOptionalAction, "default": None}
    group.add_argument("--output", dest="outputs", action="append", metavar="NAME",
                       help="capture this output (repeat; default: all)")
    group.add_argument("--stop-after-outputs", **switch,
                       help="end each iteration once the requested outputs are captured")
    group.add_argument("--timeout", type=float, metavar="S", help="per-iteration limit, seconds")
    group.add_argument("--store", metavar="DB", help="study database: save and reuse iterations")
    group.add_argument("--dry-run", **switch, help="show what would run or be reused; run nothing")
    group.add_argument("--rerun", **switch, help="with --store: reuse nothing")
    group.add_argument("--backup", **switch, help="with --store: back it up first")
    group.add_argument("--workdir", nargs="?", const=True, metavar="DIR",
                       help="run each iteration in its own folder (under DIR, or the study)")
    group.add_argument("--progress", **switch,
                       help="progress bar on stderr (default: when it is a terminal)")
    group.add_argument("--warm", **switch,
                       help="fork iterations from a process with the script's imports loaded")
    group.add_argument("--preload", action="append", metavar="MODULE",
                       help="with --warm: a module to import up front (repeat)")
    group.add_argument("--label", help="a name for this sweep, kept in the store")
    group.add_argument("--prepare", **switch,
                       help="with --store: plan the sweep for job-array tasks; run nothing")
    group.add_argument("--chunk-size", type=int, metavar="K",
                       help="iterations per job (with --prepare: per job-array task)")
    group.add_argument("--env", action="append", default=None, metavar="NAME=VALUE",
                       help="an environment variable for every iteration (repeat)")
    group.add_argument("--argv", metavar="ARGS",
                       help="the script's own command-line arguments, e.g. \"--input a.csv\"")
    group.add_argument("--python", metavar="PATH",
                       help="the interpreter to run the script with (default: this one)")
    return running


def _replicate_options() -> argparse.ArgumentParser:
    """``--replicates K`` and ``--replicate-seed NAME``: each parameter set run K times."""
    replicates = argparse.ArgumentParser(add_help=False)
    group = replicates.add_argument_group("replicates")
    group.add_argument("--replicates", type=int, metavar="K",
                       help="run each parameter set K times, each with its own seed (default "
                            "1; overrides a sweep file's replicates)")
    group.add_argument("--replicate-seed", metavar="NAME",
                       help="the script's seed parameter each replicate gets its own seed in "
                            "(default: seed, when the script declares it; none: no seed, "
                            "the script's own randomness)")
    return replicates


def _worker_options() -> argparse.ArgumentParser:
    workers = argparse.ArgumentParser(add_help=False)
    workers.add_argument("-j", "--workers", metavar="N",
                         help='iterations at once on this machine (an integer or "auto")')
    return workers


def _add_inspect(commands: Any) -> None:
    inspect = _command(commands, "inspect", "List a script's parameters and outputs without "
                       "running it.", "py3r-script inspect pipeline.py --json", [])
    inspect.add_argument("script", help="path to the script")
    inspect.add_argument("--json", action="store_true", help="print the result as JSON")


def _add_run(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    run = _command(commands, "run", "Run a script once with some parameter values.",
                   "py3r-script run pipeline.py -p threshold=0.8 --output summary", parents)
    run.add_argument("script", help="path to the script")
    run.add_argument("-p", "--param", dest="params", action="append", default=[],
                     metavar="NAME=VALUE", help="a parameter value (repeat)")


def _add_sensitivity(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    sens = _command(commands, "sensitivity", "Sweep parameters one at a time (or as a grid).",
                    "py3r-script sensitivity pipeline.py -s window=3,5,7 -s threshold=0.5,0.8 "
                    "--mode grid -j 2 --store study.db", parents)
    sens.add_argument("script", help="path to the script")
    sens.add_argument("-s", "--sweep", dest="sweeps", action="append", required=True,
                      metavar="NAME=V1,V2,...", help="values to sweep (repeat per parameter)")
    sens.add_argument("--mode", choices=("independent", "grid"), default="independent")
    sens.add_argument("--nominal", action="append", default=[], metavar="NAME=VALUE",
                      help="a nominal (baseline or held-constant) value (repeat)")


def _add_sweep(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    sweep = _command(
        commands, "sweep",
        "Run any sweep design: from a TOML sweep file (options given here override the "
        "file's), or for a script with the design given here (a grid of -s values, linked "
        "parameters, explicit points or sampled ranges).",
        "py3r-script sweep oft_sweep.toml --dry-run\n"
        "  py3r-script sweep pipeline.py -s window=3,5 --link a,b=1:2,3:4\n"
        "  py3r-script sweep pipeline.py --sample threshold=0.1:0.9 --sample window=3,5,7 "
        "-n 20 --seed 0\n"
        "  py3r-script sweep pipeline.py --sample threshold=0.1:0.9 --sample window=1:15 "
        "-n 256 --method sobol --warm\n"
        "  py3r-script sweep pipeline.py --points points.csv",
        parents)
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
    design.add_argument("-n", type=int, help="with --sample: how many parameter sets to draw "
                                             "(Morris: trajectories; Sobol': the base size N)")
    design.add_argument("--method", choices=SAMPLE_METHODS,
                        help="with --sample: Latin hypercube (default), independent draws, or "
                             "a Morris or Sobol' design for global sensitivity (SALib: pip "
                             "install 'py3r-script[gsa]')")
    design.add_argument("--seed", type=int, help="with --sample: seed, for the same draws; "
                        "with --replicates: the seed each replicate's seed derives from")
    design.add_argument("--nominal", action="append", default=[], metavar="NAME=VALUE",
                        help="a value held constant (repeat)")
    _add_method_options(design)


def _add_method_options(design: Any) -> None:
    """The Morris and Sobol' options (``designs.methodoptions``), as flags."""
    design.add_argument("--levels", type=int,
                        help="with --method morris: grid levels per parameter, even "
                             "(default 4)")
    design.add_argument("--optimal-trajectories", type=int, metavar="K",
                        help="with --method morris: keep the K best spread of the -n "
                             "trajectories (default: all)")
    design.add_argument("--second-order", action=argparse.BooleanOptionalAction,
                        default=None,
                        help="with --method sobol: second-order indices S2 too, N·(2D+2) runs "
                             "instead of N·(D+2) (default: no)")


def _add_merge(commands: Any) -> None:
    merge = _command(commands, "merge", "Merge studies run apart into one (created if "
                     "needed); merging again adds nothing.",
                     "py3r-script merge oft_all.db oft_laptop.db oft_cluster.db", [])
    merge.add_argument("target", help="the study to merge into")
    merge.add_argument("sources", nargs="+", help="the studies to merge from")


def _add_show(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    show = _command(commands, "show", "Show what a study database holds.",
                    "py3r-script show study.db --sweep -1 --errors", parents)
    show.add_argument("db", help="the study database")
    show.add_argument("--sweep", metavar="ID",
                      help="one sweep: its number (0 the first, -1 the latest) or its id (a "
                           "prefix will do); a number that is no sweep's is read as an id")
    show.add_argument("--errors", action="store_true", help="list failed iterations")
    show.add_argument("--meta", action="store_true",
                      help="on a terminal, add the bookkeeping columns (_status, _sweep_id, "
                           "...); files and pipes always have them")
    show.add_argument("--wide", action="store_true",
                      help="on a terminal, every column in full instead of fitting its width")
    show.add_argument("--compare", nargs=2, metavar=("A", "B"),
                      help="what changed between two sweeps (numbers or ids, as --sweep)")


def _add_report(commands: Any) -> None:
    report = _command(commands, "report", "Write a study as one self-contained HTML page "
                      "(design, results, analysis and plots, failures, what changed).",
                      "py3r-script report study.db -o report.html --sweep 'fine scan'", [])
    report.add_argument("study", help="the study database")
    report.add_argument("-o", "--out", dest="html", metavar="FILE",
                        help="the page to write (default: the study's name with .html)")
    report.add_argument("--sweep", dest="sweeps", action="append", metavar="ID|LABEL",
                        help="only this sweep: its label, number (-1 the latest) or id "
                             "(repeat; default: every sweep)")
