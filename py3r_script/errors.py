"""The exceptions py3r-script raises: one root, one subclass per kind of problem."""

from __future__ import annotations

import os
import sys
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .results import ScriptResults

__all__ = [
    "warn",
    "DesignError",
    "IterationFailedError",
    "IterationNotFoundError",
    "MissingDependencyError",
    "MissingValueError",
    "OptionError",
    "ReplicateAmbiguityError",
    "OutputError",
    "OutputTypeError",
    "ParameterError",
    "ParameterTypeError",
    "ScriptError",
    "StoreError",
    "StoreWriteError",
    "StudyDamagedError",
    "StudyPathError",
    "SweepError",
    "SweepFileError",
    "SweepInterrupted",
    "UnknownNameError",
    "UntrustedOutputError",
]


class SweepError(Exception):
    """Root of every error py3r-script raises on purpose."""


class ScriptError(SweepError, ValueError):
    """The script cannot be read or parsed (missing file, syntax error)."""


class ParameterError(SweepError, ValueError):
    """A sweep definition is invalid: unknown names, missing values, bad lists or modes."""


class ParameterTypeError(SweepError, TypeError):
    """A parameter value is not a ``bool | int | float | str | None`` scalar."""


class IterationFailedError(SweepError, KeyError):
    """The requested iteration ran but failed, so it has no complete outputs.

    A ``KeyError``, as for any parameter set that has no outputs: ``except KeyError`` code
    written for ``sr[params]`` catches it too.
    """

    def __str__(self) -> str:  # KeyError would show the message quoted, as a repr
        return str(self.args[0]) if self.args else ""


class StoreError(SweepError):
    """The study file is missing, not a study, from a newer version, or cannot be written."""


class StudyPathError(StoreError):
    """The path given for a study holds no study (missing, empty, a folder).

    ``problem`` says what is at the path and ``fix`` what to do in the Python API's terms
    (the message is both); the command line words its own fix from the type.
    """

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(f"{problem}; {fix}" if fix else problem)
        self.problem = problem
        self.fix = fix

    def __reduce__(self) -> tuple[type[StudyPathError], tuple[str, str]]:
        return (type(self), (self.problem, self.fix))


class StudyDamagedError(StoreError):
    """The study file is damaged (SQLite finds it corrupt), so it is neither read nor written;
    the message says how to recover. ``path`` is the study, ``backup`` its newest backup
    copy (``None``: none found).
    """

    def __init__(self, message: str, path: str = "", backup: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.backup = backup

    def __reduce__(self) -> tuple[type[StudyDamagedError], tuple[str, str, str | None]]:
        return (type(self), (str(self), self.path, self.backup))


class StoreWriteError(StoreError):
    """A finished iteration could not be saved, so the sweep stopped; ``results`` holds every
    iteration that had finished, saved or not."""

    def __init__(self, message: str, results: object = None) -> None:
        super().__init__(message)
        self.results = results

    def __reduce__(self) -> tuple[type[StoreWriteError], tuple[str, object]]:
        return (type(self), (str(self), self.results))


class UntrustedOutputError(StoreError, KeyError):
    """A study's pickled output was not unpickled: nothing says this user wrote it.

    Unpickling can run any code, so a pickle is read only when this user's signing key signed
    it or the study was opened with ``trusted=True``. A ``KeyError``, as the output is not in
    its record's mapping; ``output`` and ``study`` name what was refused.
    """

    def __init__(self, message: str, output: str = "", study: str = "") -> None:
        super().__init__(message)
        self.output = output
        self.study = study

    def __str__(self) -> str:  # KeyError would show the message quoted, as a repr
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> tuple[type[UntrustedOutputError], tuple[str, str, str]]:
        return (type(self), (str(self), self.output, self.study))


class UnknownNameError(SweepError, KeyError):
    """A parameter or output name the results do not have; the message lists those they have.

    A ``KeyError``, as a missing key of a mapping is.
    """

    def __str__(self) -> str:  # KeyError would show the message quoted, as a repr
        return str(self.args[0]) if self.args else ""


class IterationNotFoundError(SweepError, KeyError):
    """No completed iteration matches the parameter values asked for, or several do.

    A ``KeyError``, as for any key a mapping lacks: ``except KeyError`` code written for
    ``sr[params]`` catches it too.
    """

    def __str__(self) -> str:  # KeyError would show the message quoted, as a repr
        return str(self.args[0]) if self.args else ""


class ReplicateAmbiguityError(IterationNotFoundError):
    """The parameter values asked for ran several times (``replicates=k``): the message says
    how many and how to get one (``"replicate": r`` in the dict) or all (``sr.select``).

    A ``KeyError``, as :class:`IterationNotFoundError` is.
    """


class OutputError(SweepError, ValueError):
    """An output cannot be analysed as asked: no iteration gave it a value, or its columns
    clash with the parameters'."""


class OutputTypeError(SweepError, TypeError):
    """An output's values are not of the kind asked for: not a number, a scalar or a table."""


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a sweep. ``results`` holds every iteration that had finished.

    It is a ``KeyboardInterrupt``, so a script still stops; in a notebook, get the partial
    results with ``sys.last_value.results`` or ``except KeyboardInterrupt as exc: exc.results``.
    SIGTERM and SIGHUP stop a sweep the same way. The message says what became of the
    iterations that were running.

    >>> try:  # doctest: +SKIP
    ...     sr = sensitivity("pipeline.py", {"window": [3, 5, 7]}, store="study.db")
    ... except KeyboardInterrupt as stop:
    ...     sr = stop.results  # the iterations that finished (also in study.db)
    """

    def __init__(self, results: ScriptResults, stopped: str = "running children were killed",
                 cause: str | None = None) -> None:
        why = f" ({cause})" if cause else ""
        super().__init__(
            f"sweep interrupted{why}: {len(results.records)} finished iteration(s) kept in "
            f".results (and in the store, if any); {stopped}"
        )
        self.results = results
        self._details = (stopped, cause)

    def __reduce__(self) -> tuple[type[SweepInterrupted], tuple[Any, ...]]:
        return (SweepInterrupted, (self.results, *self._details))


class DesignError(ParameterError):
    """A sweep design breaks one of the design rules (``py3r_script.designs.request``).

    ``rule`` names the rule, ``arguments`` the design arguments at fault (``"params"``,
    ``"n"``, ``"include_nominal"``...), ``design`` the kind of design given (``"params"``,
    ``"points"``, ``"sample"``, or ``None``). The message is worded for the Python API; the
    command line and sweep files word their own from these fields.
    """

    def __init__(self, message: str, rule: str = "", arguments: tuple[str, ...] = (),
                 design: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.arguments = tuple(arguments)
        self.design = design

    def __reduce__(self) -> tuple[type[DesignError], tuple[str, str, tuple[str, ...],
                                                            str | None]]:
        return (type(self), (str(self), self.rule, self.arguments, self.design))


class MissingValueError(ParameterError):
    """Parameters that need a value nobody gave: ``rule`` is ``"required"`` (no script
    default) or ``"nominal"`` (a one-at-a-time sweep has no nominal value to vary around).

    ``names`` are the parameters, ``reasons`` why each has no value (for ``"nominal"``),
    ``design`` the plan's kind (``"single"``, ``"params"``, ``"points"``, ``"sample"``).
    """

    def __init__(self, message: str, rule: str = "", names: tuple[str, ...] = (),
                 reasons: tuple[str, ...] = (), design: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.names = tuple(names)
        self.reasons = tuple(reasons)
        self.design = design

    def __reduce__(self) -> tuple[type[MissingValueError], tuple[Any, ...]]:
        return (type(self), (str(self), self.rule, self.names, self.reasons, self.design))


class MissingDependencyError(SweepError, ImportError):
    """An optional dependency a feature needs is not installed; the message names the extra
    that installs it (``pip install "py3r-script[gsa]"``)."""


class OptionError(ParameterError):
    """A run option is invalid (``option`` names it) or lacks the option it needs
    (``needs``: e.g. ``rerun=True`` needs ``store``); the command line and sweep files word
    the fix in their own terms from these fields."""

    def __init__(self, message: str, option: str = "", needs: str | None = None) -> None:
        super().__init__(message)
        self.option = option
        self.needs = needs

    def __reduce__(self) -> tuple[type[OptionError], tuple[str, str, str | None]]:
        return (type(self), (str(self), self.option, self.needs))


class SweepFileError(ParameterError):
    """A sweep file is missing, not valid TOML, or has unknown keys or wrong types.

    ``key`` is the key at fault and ``line`` its line (``None`` when not known); the message
    starts with the file and the line.
    """

    def __init__(self, message: str, key: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.line = line

    def __reduce__(self) -> tuple[type[SweepFileError], tuple[str, str | None, int | None]]:
        return (type(self), (str(self), self.key, self.line))


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """Issue a warning attributed to the user's code: the first caller outside the package."""
    level = 2  # 1 is this function; 2 its caller
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR + os.sep):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, category, stacklevel=level)
