"""The exceptions py3r-script raises: one root, one subclass per kind of problem."""

from __future__ import annotations

__all__ = [
    "IterationFailedError",
    "ParameterError",
    "ParameterTypeError",
    "ScriptError",
    "StoreError",
    "StoreWriteError",
    "SweepError",
]


class SweepError(Exception):
    """Root of every error py3r-script raises on purpose."""


class ScriptError(SweepError, ValueError):
    """The script cannot be read or parsed (missing file, syntax error)."""


class ParameterError(SweepError, ValueError):
    """A sweep definition is invalid: unknown names, missing values, bad lists or modes."""


class ParameterTypeError(SweepError, TypeError):
    """A parameter value is not a ``bool | int | float | str | None`` scalar."""


class IterationFailedError(SweepError, LookupError):
    """The requested iteration ran but failed, so it has no complete outputs."""


class StoreError(SweepError):
    """The study file is missing, not a study, from a newer version, or cannot be written."""


class StoreWriteError(StoreError):
    """A finished iteration could not be saved, so the sweep stopped; ``results`` holds every
    iteration that had finished, saved or not."""

    def __init__(self, message: str, results: object = None) -> None:
        super().__init__(message)
        self.results = results

    def __reduce__(self) -> tuple[type[StoreWriteError], tuple[str, object]]:
        return (type(self), (str(self), self.results))
