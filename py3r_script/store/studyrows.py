"""Study rows: how a sweep and an iteration's record become rows of the study, and back.

The column order of the ``sweeps`` and ``iterations`` tables is named once, here; the
schema itself (tables, view, migrations) is ``schema``'s. Text that is not valid Unicode
and integers beyond 64 bits are stored so that they read back equal (``sqlvalues``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import socket
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..designs.design import Design
from ..paramset import ParamSet
from ..records import NOTHING, FrozenOutputs, IterationRecord, seen_params
from .formats import Stored
from .provenance import package_version
from .sqlvalues import sql_scalar, sql_text, text_from_sql

__all__ = ["ITERATION_COLUMNS", "RECORD_COLUMNS", "SWEEP_COLUMNS", "SharedTexts", "SweepInfo",
           "design_key", "env_key", "insert", "iteration_row", "json_value", "output_row",
           "outputs_key", "param_rows", "record_from_row", "records_from_rows",
           "sweep_from_row", "sweep_row", "utc"]


@dataclass(frozen=True)
class SweepInfo:
    """What a sweep records about itself when it starts (provenance and definition).

    ``python`` is the interpreter that runs its script (``None``: the one running the
    sweep), whose installed packages the sweep records.
    """

    sweep_id: str
    script: str
    script_sha256: str
    mode: str
    param_names: Sequence[str]
    nominal: ParamSet
    requested_outputs: Sequence[str] | None
    output_names: Sequence[str]
    n_planned: int
    cwd: str
    label: str | None = None
    design: Design | None = None
    python: str | None = None


SWEEP_COLUMNS = (
    "sweep_id", "sweep_seq", "created_utc", "finished_utc", "status", "script",
    "script_sha256", "mode", "param_names", "nominal_json", "requested_outputs",
    "output_names", "n_planned", "cwd", "python", "package_version", "host", "platform",
    "git_commit", "git_dirty", "driver_pid", "label", "design_json", "environment",
)
ITERATION_COLUMNS = (
    "iteration_id", "iteration_seq", "sweep_id", "plan_index", "params_json", "params_sha256",
    "script", "script_sha256", "requested_outputs", "status", "error", "error_type",
    "exit_code", "signal", "stopped_early", "started_utc", "finished_utc", "started",
    "finished", "duration_s", "stdout", "stderr", "host", "python", "workdir",
    "params_seen_json", "label", "argv_json", "env_json", "interpreter", "interpreter_key",
    "replicate",
)


def insert(table: str, columns: Sequence[str]) -> str:
    """The ``INSERT`` statement of ``columns`` into ``table``, one ``?`` per column.

    >>> insert("params", ("iteration_id", "name"))
    'INSERT INTO params (iteration_id, name) VALUES (?, ?)'
    """
    return (f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})")


def design_key(design: Design | None) -> str | None:
    """A design as the ``design_json`` column holds it (``None``: unknown).

    >>> design_key(Design("grid"))
    '{"linked": [], "mode": "grid", "seed": null}'
    """
    return None if design is None else json.dumps(design.to_json(), sort_keys=True)


def utc(timestamp: float) -> str:
    """A ``time.time()`` timestamp as an ISO 8601 UTC time.

    >>> utc(0)
    '1970-01-01T00:00:00+00:00'
    """
    return _dt.datetime.fromtimestamp(timestamp, _dt.timezone.utc).isoformat()


def env_key(env: Mapping[str, str]) -> str:
    """Environment additions as the ``env_json`` column holds them: sorted by name, so
    equal additions match whatever their order.

    >>> env_key({"B": "2", "A": "1"})
    '{"A": "1", "B": "2"}'
    """
    return json.dumps(dict(sorted(env.items())))


def outputs_key(outputs: Sequence[str] | None) -> str | None:
    """Requested outputs as the ``requested_outputs`` column holds them (``None``: all).

    >>> outputs_key(("y", "z"))
    '["y", "z"]'
    """
    return None if outputs is None else json.dumps(list(outputs))


def sweep_row(sweep: SweepInfo, seq: int, git_commit: str | None,
              git_dirty: bool | None, environment: str | None) -> tuple[Any, ...]:
    """The ``sweeps`` row of a sweep starting now, in ``SWEEP_COLUMNS`` order.

    >>> con.execute(insert("sweeps", SWEEP_COLUMNS), sweep_row(info, 0, None, None, None))
    ... # doctest: +SKIP
    """
    return (
        sweep.sweep_id, seq, _dt.datetime.now(_dt.timezone.utc).isoformat(), None,
        "running", sql_text(sweep.script), sweep.script_sha256, sweep.mode,
        json.dumps(list(sweep.param_names)), sweep.nominal.to_json(),
        outputs_key(sweep.requested_outputs), json.dumps(list(sweep.output_names)),
        sweep.n_planned, sql_text(sweep.cwd), platform.python_version(), package_version(),
        socket.gethostname(), platform.platform(), git_commit,
        None if git_dirty is None else int(git_dirty), os.getpid(), sql_text(sweep.label),
        design_key(sweep.design), environment,
    )


def iteration_row(record: IterationRecord, seq: int, plan_index: int,
                  interpreter_key: str | None) -> tuple[Any, ...]:
    """The ``iterations`` row of a finished iteration, in ``ITERATION_COLUMNS`` order.

    >>> con.execute(insert("iterations", ITERATION_COLUMNS),
    ...             iteration_row(record, 0, 0, None))  # doctest: +SKIP
    """
    text = sql_text
    return (
        record.iteration_id, seq, record.sweep_id, plan_index, record.params.to_json(),
        record.params.digest, text(record.script), record.script_sha256,
        outputs_key(record.requested_outputs), record.status, text(record.error),
        text(record.error_type), record.exit_code, record.signal, int(record.stopped_early),
        utc(record.started), utc(record.finished), record.started, record.finished,
        record.duration, text(record.stdout), text(record.stderr), text(record.host),
        record.python, text(record.workdir),
        json.dumps(dict(record.params_seen), default=repr), text(record.label),
        json.dumps(list(record.argv)), env_key(record.env), text(record.interpreter or None),
        interpreter_key, record.replicate,
    )


def param_rows(record: IterationRecord) -> list[tuple[Any, ...]]:
    """The ``params`` rows of an iteration: its id, each name, value and value type.

    >>> con.executemany("INSERT INTO params VALUES (?,?,?,?)", param_rows(record))
    ... # doctest: +SKIP
    """
    return [(record.iteration_id, n, sql_scalar(v), type(v).__name__)
            for n, v in record.params.items()]


def output_row(iteration_id: str, name: str, position: int, stored: Stored) -> tuple[Any, ...]:
    """An ``outputs`` row, in the table's column order: how and where the output was
    stored (see ``formats``).

    >>> output_row("3f2a", "y", 0, Stored("value", "int", 10))
    ('3f2a', 'y', 0, 'int', 10, None, None, 0, 'value', None)
    """
    return (iteration_id, name, position, stored.type, stored.value, stored.blob,
            stored.file, stored.size, stored.format, stored.signature)


RECORD_COLUMNS = (
    "iteration_id", "iteration_seq", "sweep_id", "plan_index", "params_json", "script",
    "script_sha256", "requested_outputs", "status", "error", "error_type", "exit_code",
    "signal", "stopped_early", "started", "finished", "stdout", "stderr", "host", "python",
    "workdir", "params_seen_json", "label", "argv_json", "env_json", "interpreter",
    "replicate", "sweep_seq",
)
"""The columns :func:`records_from_rows` reads, in order: those of ``iterations`` a record
holds, then its sweep's ``sweep_seq``."""


def record_from_row(row: Mapping[str, Any], outputs: FrozenOutputs,
                    shared: SharedTexts | None = None) -> IterationRecord:
    """The record an ``iterations`` row (joined with its sweep's ``sweep_seq``; a
    ``sqlite3.Row`` or a dict of it) describes, with its ``outputs`` as read from the study.

    ``shared``: the texts many rows of a batch have in common (their command line, their
    environment...), each parsed once for all of them.

    >>> record_from_row(row, FrozenOutputs({"y": 10}))  # doctest: +SKIP
    """
    values = tuple(row[column] for column in RECORD_COLUMNS)
    return records_from_rows([values], lambda _: outputs, shared)[0]


def records_from_rows(rows: Iterable[Sequence[Any]],
                      outputs_of: Callable[[str], FrozenOutputs],
                      shared: SharedTexts | None = None) -> list[IterationRecord]:
    """The records of ``rows`` (plain tuples of :data:`RECORD_COLUMNS`, in that order),
    each with the outputs ``outputs_of`` gives for its iteration id: what
    :func:`record_from_row` gives for each, built without a mapping per row (the cost of
    reading a study of 100,000 iterations was there).

    >>> records_from_rows(con.execute(f"SELECT {', '.join(RECORD_COLUMNS)} FROM ..."),
    ...                   lambda iteration_id: FrozenOutputs())  # doctest: +SKIP
    """
    shared = SharedTexts() if shared is None else shared
    names, mapping, text = shared.names, shared.mapping, text_from_sql
    records = []
    for (iteration_id, iteration_seq, sweep_id, plan_index, params_json, script,
         script_sha256, requested_outputs, status, error, error_type, exit_code, signal,
         stopped_early, started, finished, stdout, stderr, host, python, workdir,
         params_seen_json, label, argv_json, env_json, interpreter, replicate,
         sweep_seq) in rows:
        params = ParamSet(json_value(params_json))
        # as a rule the script read every value: the same text, parsed once for both
        seen = params if params_seen_json == params_json else seen_params(
            params, json_value(params_seen_json) if params_seen_json else None)
        records.append(IterationRecord(
            params=params,
            status=status,
            outputs=outputs_of(iteration_id),
            error=text(error),
            error_type=text(error_type),
            exit_code=exit_code,
            signal=signal,
            stopped_early=bool(stopped_early),
            params_seen=seen,
            started=started,
            finished=finished,
            stdout=text(stdout) or "",
            stderr=text(stderr) or "",
            index=plan_index,
            iteration_id=iteration_id,
            script=text(script) or "",
            script_sha256=script_sha256,
            requested_outputs=names(requested_outputs),
            host=text(host) or "",
            python=python or "",
            workdir=text(workdir),
            sweep_id=sweep_id,
            label=text(label),
            argv=names(argv_json) or (),
            env=mapping(env_json),
            interpreter=text(interpreter) or "",
            iteration_seq=iteration_seq,
            sweep_seq=sweep_seq,
            replicate=replicate or 0,
        ))
    return records


_DECODER = json.JSONDecoder()


def json_value(text: Any) -> Any:
    """``json.loads(text)``, in a third of its time for the texts the study writes (no
    space around the value: ``json.loads`` is asked only for the others, and errors).

    >>> json_value('{"x": 1}'), json_value(' [1] ')
    ({'x': 1}, [1])
    """
    try:
        value, end = _DECODER.raw_decode(text)
    except (ValueError, TypeError):  # not a str, space first, or not JSON: loads says
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


class SharedTexts:
    """JSON texts that many iterations of a study share, parsed once each: a sweep's
    command line, environment and requested outputs are the same in each of its rows.

    A list comes back as a tuple (shared: it cannot change), a mapping as a new ``dict``
    each time (the records do not share one), unless it is empty.

    >>> shared = SharedTexts()
    >>> shared.names('["-v"]'), shared.mapping('{"A": "1"}'), shared.names(None)
    (('-v',), {'A': '1'}, None)
    """

    __slots__ = ("_parsed",)

    def __init__(self) -> None:
        self._parsed: dict[str, Any] = {}

    def _parse(self, text: str) -> Any:
        try:
            return self._parsed[text]
        except KeyError:
            value = json.loads(text)
            value = tuple(value) if isinstance(value, list) else value
            self._parsed[text] = value
            return value

    def names(self, text: str | None) -> tuple[str, ...] | None:
        """A JSON list as a tuple (``None`` for none)."""
        return None if text is None else self._parse(text)

    def mapping(self, text: str) -> Mapping[str, Any]:
        """A JSON object as a new dict (the shared, read-only ``NOTHING`` when empty)."""
        value = self._parse(text)
        return dict(value) if value else NOTHING


def sweep_from_row(row: sqlite3.Row) -> SweepInfo:
    """What a ``sweeps`` row says about its sweep: the inverse of :func:`sweep_row`.

    >>> sweep_from_row(con.execute("SELECT * FROM sweeps").fetchone()).param_names
    ... # doctest: +SKIP
    ('window', 'threshold')
    """
    requested = row["requested_outputs"]
    design = row["design_json"]
    return SweepInfo(
        sweep_id=row["sweep_id"],
        script=text_from_sql(row["script"]) or "",
        script_sha256=row["script_sha256"],
        mode=row["mode"],
        param_names=tuple(json.loads(row["param_names"])),
        nominal=ParamSet(json.loads(row["nominal_json"])),
        requested_outputs=None if requested is None else tuple(json.loads(requested)),
        output_names=tuple(json.loads(row["output_names"])),
        n_planned=row["n_planned"],
        cwd=text_from_sql(row["cwd"]) or "",
        label=text_from_sql(row["label"]),
        design=None if design is None else Design.from_json(json.loads(design)),
    )
