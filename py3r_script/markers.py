"""``Param`` and ``Output``: transparent markers that the runner makes live inside a child."""

from __future__ import annotations

from .child import session as child_session

TYPE_CHECKING = False  # not typing's: importing typing would cost every child ~4 ms
if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")

__all__ = ["Output", "Param"]


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


_MISSING: Any = _Missing()
_SCALARS = (bool, int, float, str, type(None))


def Param(default: Any = _MISSING, *, name: str) -> Any:
    """Mark a script variable as a runner parameter.

    Run as ``python script.py``, returns ``default`` unchanged. Under :func:`py3r_script.run`
    or :func:`py3r_script.sensitivity`, returns the value injected for ``name`` (or
    ``default`` when the sweep does not set it). Omit ``default`` to make the parameter
    required: the script then only runs through the runner, which must supply a value.

    Parameters
    ----------
    default : bool | int | float | str | None, optional
        Value used when the runner does not supply one.
    name : str
        Parameter name, matched against the keys given to ``run`` or ``sensitivity``.

    Examples
    --------
    >>> window = Param(5, name="window")
    >>> window, type(window).__name__
    (5, 'int')
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"Param(name=...) must be a non-empty str, got {name!r}")
    if default is not _MISSING and not _is_scalar(default):
        raise TypeError(
            f"Param {name!r}: the default must be a bool, int, float, str or None scalar, "
            f"got {type(default).__name__}. Build richer values from scalar parameters "
            "inside the script."
        )
    session = child_session.SESSION
    params = session.params if session is not None else child_session.worker_params()
    if params is not None and name in params:
        value = params[name]
    elif default is _MISSING:
        raise RuntimeError(
            f"Param {name!r} has no default, so it must be supplied by the runner: "
            f"run(script, {{{name!r}: ...}}) or sensitivity(..., nominal={{{name!r}: ...}}). "
            f"To run the script on its own, give it a default: Param(<value>, name={name!r})."
        )
    else:
        value = default
    if session is not None:
        session.params_seen[name] = value
    return value


def Output(value: T, *, name: str) -> T:
    """Mark a script value as a runner output, returning ``value`` itself.

    Under the runner, the value is captured under ``name`` the moment this is called, so a
    script that fails later still yields it. With ``stop_after_outputs=True`` the child ends
    right after the last requested output is captured.

    Parameters
    ----------
    value : object
        The value to capture; anything picklable (cloudpickle is used when plain pickle
        cannot handle it).
    name : str
        Output name, used to key results in ``ScriptResults``.

    Examples
    --------
    >>> data = {"a": [1, 2]}
    >>> Output(data, name="summary") is data
    True
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"Output(name=...) must be a non-empty str, got {name!r}")
    session = child_session.SESSION
    if session is not None:
        session.capture(name, value)
    return value


def _is_scalar(value: object) -> bool:
    if type(value) in _SCALARS:
        return True
    module = type(value).__module__
    return module.startswith("numpy") and getattr(value, "ndim", None) == 0
