"""What the command line prints: result tables (scalar columns, stdout formats, ``-o``
files), messages on stderr, and the exit status that sums it up.

``-o FILE`` is checked before anything runs (``check_out``); when writing it still fails at
the end, the table goes to stdout instead, so no finished result is lost.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import SweepError

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "check_out", "emit",
           "emit_table", "report", "say", "scalar_table", "show_table"]

SUFFIXES = (".csv", ".json", ".parquet")
# 0 every iteration succeeded, 1 some failed, 2 usage or input errors, 130 interrupted
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def say(message: str) -> None:
    """A message for the user: stderr, so that stdout holds only data."""
    print(f"py3r-script: {message}", file=sys.stderr)


def check_out(out: str | None) -> None:
    """Refuse a bad ``-o`` before anything runs, not after the sweep."""
    if out is None:
        return
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SweepError(f"-o {out}: unknown file type {suffix!r}; use .csv, .json or .parquet")
    if path.is_dir():
        raise SweepError(f"-o {out}: that is a folder; give a file name, e.g. "
                         f"-o {path / ('results' + suffix)}")
    folder = path.parent
    if not folder.is_dir():
        raise SweepError(f"-o {out}: the folder {str(folder)!r} does not exist; create it "
                         f"first (mkdir -p {folder}) or write elsewhere")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise SweepError(f"-o {out}: cannot write there (permission denied); choose a "
                         "writable place")
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise SweepError(
                "writing .parquet needs pyarrow: pip install pyarrow (or pip install "
                "'py3r-script[parquet]'), or use -o with .csv or .json"
            ) from None


def scalar_table(results: Any, *, meta: bool) -> Any:
    """The results' DataFrame with the scalar outputs; non-scalar ones are named on stderr.
    Nothing is unpickled: a study's pickles never hold a scalar."""
    scalar = results.scalar_output_names()  # decided without unpickling anything
    skipped = [name for name in results.output_names if name not in scalar]
    if skipped:
        say(f"note: output(s) {', '.join(skipped)} are not scalars and are left out of the "
            "table; use --store and py3r_script.load() to get them")
    return results.to_dataframe(outputs=scalar, meta=meta)


def report(results: Any, out: str | None, fmt: str | None) -> int:
    """A sweep's end: its table, then on stderr its seed and failures; the exit status.

    A :class:`~py3r_script.designs.preview.DryRun` prints what would run instead.

    >>> report(sweep("pipeline.py", {"window": [3, 5]}), None, "csv")  # doctest: +SKIP
    0
    """
    from ..designs.preview import DryRun
    from ..running.jobarrays import PreparedSweep

    if isinstance(results, PreparedSweep):
        say(str(results))
        return EXIT_OK
    if isinstance(results, DryRun):
        say(repr(results).splitlines()[0])
        return emit_table(results.to_dataframe(), out, fmt)
    written = emit_table(scalar_table(results, meta=False), out, fmt)
    design = results.design
    if design is not None and design.seed is not None and design.sampled:
        say(f"sampled ({design.mode}) with seed {design.seed}: --seed {design.seed} draws the "
            "same parameter sets again")
    if design is not None and design.replicates > 1:
        seeded = (f", replicate seeds in {design.replicate_seed!r} from --seed "
                  f"{design.seed or 0}" if design.replicate_seed else ", no seed parameter")
        say(f"each parameter set ran {design.replicates} times{seeded}: sr.aggregate() in "
            "Python gives each point's mean and 95 % confidence interval")
    failed = results.errors
    if failed:
        say(f"{len(failed)} of {len(results.records)} iteration(s) failed:")
        for params, message in failed:
            say(f"  {params}:\n    " + message.strip().replace("\n", "\n    "))
    if written != EXIT_OK:
        return written
    return EXIT_FAILED if failed else EXIT_OK


def show_table(frame: Any, out: str | None, fmt: str | None, *, wide: bool = False,
               hidden: Sequence[str] = (), first: Sequence[str] = ()) -> int:
    """A table for ``show``: fitted to the terminal when a person reads it there (short ids,
    cut text, the ``hidden`` columns left out, the ``first`` ones moved ahead so they are
    the last to be left out), complete with ``--wide``, ``-o`` or when stdout is a file or a
    pipe (CSV unless ``--format`` says otherwise).

    >>> show_table(study.sweeps(), None, None)  # doctest: +SKIP
    0
    """
    if out is not None or wide or not sys.stdout.isatty() or (fmt or "table") != "table":
        return emit_table(frame, out, fmt)
    from .fitting import fit_table

    ahead = [name for name in first if name in frame.columns]
    frame = frame[ahead + [n for n in frame.columns if n not in ahead and n not in hidden]]
    width = shutil.get_terminal_size().columns
    fitted = fit_table(frame, width)
    print(fitted.text if len(frame) else "(no rows)")
    if fitted.left_out or fitted.cut:
        left_out = f"; left out: {', '.join(fitted.left_out)}" if fitted.left_out else ""
        say(f"note: fitted to {width} columns{left_out} (--wide: every column in full)")
    return EXIT_OK


def emit_table(frame: Any, out: str | None, fmt: str | None) -> int:
    """The table to ``-o`` or stdout; exit 2 when ``-o`` failed (the table is on stdout).

    >>> emit_table(results.to_dataframe(), "out.csv", None)  # doctest: +SKIP
    0
    """
    return EXIT_OK if emit(frame, out, fmt) else EXIT_USAGE


def emit(frame: Any, out: str | None, fmt: str | None) -> bool:
    """Write ``frame`` to ``out``, else to stdout; False when ``out`` could not be written.

    Then the table is printed on stdout instead, and stderr says what failed.
    """
    if out is None:
        _print(frame, fmt)
        return True
    try:
        _write(frame, Path(out))
    except _write_errors(out) as exc:
        say(f"error: cannot write -o {out}: {exc}; the table follows on stdout instead")
        _print(frame, fmt)
        return False
    say(f"wrote {len(frame)} row(s) to {out}")
    return True


def _print(frame: Any, fmt: str | None) -> None:
    fmt = fmt or ("table" if sys.stdout.isatty() else "csv")
    if fmt == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif fmt == "json":
        print(frame.to_json(orient="records", date_format="iso"))
    else:
        import pandas as pd

        with pd.option_context("display.width", 200, "display.max_columns", None,
                               "display.max_rows", 500):
            print(frame.to_string(index=False) if len(frame) else "(no rows)")


def _write_errors(out: str) -> tuple[type[BaseException], ...]:
    if Path(out).suffix.lower() != ".parquet":
        return (OSError,)
    import pyarrow

    return (OSError, pyarrow.ArrowException)


def _write(frame: Any, path: Path) -> None:
    suffix = path.suffix.lower()  # checked by check_out before anything ran
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".json":
        frame.to_json(path, orient="records", date_format="iso", indent=2)
    else:
        _parquet_ready(frame).to_parquet(path, index=False)


def _parquet_ready(frame: Any) -> Any:
    """``frame``, with the columns Parquet cannot type (mixed values) turned into strings.

    A parameter whose default is ``None`` can be swept over ``none, 7, hello``: such a
    column has no single Parquet type. Missing values stay null.
    """
    import pyarrow

    frame = frame.copy()
    mixed = []
    for name in frame.columns:
        if frame[name].dtype != object:
            continue
        try:
            pyarrow.array(frame[name], from_pandas=True)
        except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError):
            frame[name] = [None if _missing(v) else str(v) for v in frame[name]]
            mixed.append(str(name))
    if mixed:
        say(f"note: column(s) {', '.join(mixed)} mix value types, which Parquet cannot "
            "store in one column: written as strings")
    return frame


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)  # None or NaN
