"""Parameter values: the scalar rule, type-aware identity and the immutable ``ParamSet``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Union

from .errors import ParameterTypeError

Scalar = Union[bool, int, float, str, None]
_SCALAR_TYPES = (bool, int, float, str, type(None))
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))  # one, not one per digest

__all__ = ["ParamSet", "Scalar", "is_scalar", "plain_scalar", "to_scalar", "value_key"]


def is_scalar(value: object) -> bool:
    """Whether ``value`` is a plain ``bool | int | float | str | None``."""
    return type(value) in _SCALAR_TYPES


def plain_scalar(value: object) -> tuple[bool, Scalar]:
    """``(True, scalar)`` when ``value`` is a plain scalar or a NumPy scalar holding one
    (unwrapped with ``.item()``: ``np.int64(3)`` gives ``3``), else ``(False, None)``.

    >>> plain_scalar(3), plain_scalar([3])
    ((True, 3), (False, None))
    """
    if type(value) in _SCALAR_TYPES:
        return True, value  # type: ignore[return-value]
    module = type(value).__module__
    if module == "numpy" or module.startswith("numpy."):
        item = getattr(value, "item", None)
        if callable(item) and getattr(value, "ndim", 1) == 0:
            converted = item()
            if type(converted) in _SCALAR_TYPES:
                return True, converted
    return False, None


def to_scalar(value: object, *, what: str) -> Scalar:
    """Return ``value`` as a plain Python scalar, or raise ``ParameterTypeError``.

    NumPy scalars (``np.int64(3)``, ``np.float32(0.5)``, ``np.bool_(True)``) become their
    Python equivalents; subclasses of the scalar types (an ``IntEnum`` member, say) become the
    base type. ``what`` names the value in the error message.

    >>> to_scalar(3, what="window")
    3
    """
    plain, converted = plain_scalar(value)
    if plain:
        return converted
    for base in (bool, int, float, str):
        if isinstance(value, base):
            return base(value)
    raise ParameterTypeError(
        f"{what} must be a bool, int, float, str or None scalar, "
        f"got {type(value).__name__} {_short_repr(value)}. "
        "Parameters are scalar knobs; pass a scalar (e.g. a file path as a str) and build "
        "richer objects inside the script."
    )


def value_key(value: Scalar) -> tuple[str, str]:
    """The type-aware identity of a scalar: ``1``, ``1.0`` and ``True`` are three values.

    >>> value_key(1) == value_key(1.0)
    False
    """
    return (type(value).__name__, repr(value))


def _identity(data: Mapping[str, Scalar]) -> tuple[tuple[str, str, str], ...]:
    """What makes two sets equal: each name with its value's :func:`value_key`, sorted."""
    return tuple(sorted([(n, type(v).__name__, repr(v)) for n, v in data.items()]))


def _short_repr(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ParamSet(Mapping[str, Scalar]):
    """An immutable, ordered set of parameter values with type-aware equality.

    Two parameter sets are equal when they hold the same names with values of the same type
    and repr, whatever the order: ``{"w": 1}`` and ``{"w": 1.0}`` are different sets. The
    ``digest`` is a stable SHA-256 of that identity, the same in every process and session.
    A set holds only its values (its identity, hash and digest are worked out when asked
    for), so a sweep's records, one set each, stay small however many there are.

    >>> p = ParamSet({"window": 5, "threshold": 0.8})
    >>> p["window"], len(p)
    (5, 2)
    >>> p == ParamSet({"threshold": 0.8, "window": 5})
    True
    """

    __slots__ = ("_data",)

    def __init__(self, values: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        data = dict(values)
        for name, value in data.items():
            if not isinstance(name, str):
                raise ParameterTypeError(
                    f"parameter names must be str, got {type(name).__name__} {name!r}"
                )
            if type(value) not in _SCALAR_TYPES:  # plain ones (the common case) as they are
                data[name] = to_scalar(value, what=f"parameter {name!r}")
        self._data = data

    @classmethod
    def _checked(cls, data: dict[str, Scalar]) -> ParamSet:
        """A set of values already checked (a subset of another set's): not checked again."""
        made = cls.__new__(cls)
        made._data = data
        return made

    def __getitem__(self, name: str) -> Scalar:
        return self._data[name]

    def get(self, name: str, default: Any = None) -> Any:  # the dict's, not Mapping's
        """The value of ``name``, or ``default`` when the set has no such parameter."""
        return self._data.get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if isinstance(other, Mapping):
            if len(other) != len(self._data):
                return False
            try:
                data = other._data if isinstance(other, ParamSet) else ParamSet(other)._data
            except ParameterTypeError:
                return False
            return _identity(self._data) == _identity(data)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(_identity(self._data))

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={v!r}" for n, v in self._data.items())
        return f"ParamSet({inner})"

    def __reduce__(self) -> tuple[type[ParamSet], tuple[dict[str, Scalar]]]:
        return (ParamSet, (self._data,))

    @property
    def digest(self) -> str:
        """Stable SHA-256 hex digest of the typed values (the same across sessions)."""
        text = _COMPACT_JSON.encode(_identity(self._data))
        return hashlib.sha256(text.encode()).hexdigest()

    def to_dict(self) -> dict[str, Scalar]:
        """A plain, mutable ``dict`` copy in the set's order."""
        return dict(self._data)

    def to_json(self) -> str:
        """JSON text of the values; JSON keeps ``1`` and ``1.0`` and ``true`` apart."""
        return json.dumps(self._data, allow_nan=True)

    def project(self, names: Iterable[str]) -> ParamSet:
        """The subset of this set holding ``names`` (those present), in that order."""
        data = self._data
        subset = {n: data[n] for n in names if n in data}
        if list(subset) == list(data):
            return self  # the same values in the same order (immutable: no need of a copy)
        return ParamSet._checked(subset)

    def merged(self, other: Mapping[str, Any]) -> ParamSet:
        """A new set with ``other``'s values replacing or adding to this one's (``other``
        itself when this set is empty and ``other`` is a set already)."""
        if not self._data and isinstance(other, ParamSet):
            return other  # immutable: no need of a copy
        data = dict(self._data)
        data.update(other)
        return ParamSet(data)
