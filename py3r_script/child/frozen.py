"""``FrozenRecord``: a small immutable record type that costs nothing to import.

The boundary's payload, outcome and warm-start messages are built on it: every child imports
them, so they avoid ``dataclasses`` (and what it imports), yet compare, print, copy and
pickle like frozen dataclasses.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing would cost every child ~4 ms
if TYPE_CHECKING:
    from typing import Any, ClassVar, TypeVar

    _R = TypeVar("_R", bound="FrozenRecord")

__all__ = ["FrozenRecord"]


class FrozenRecord:
    """An immutable record whose fields are its ``__slots__``; ``_defaults`` fills the
    fields left out.

    Examples
    --------
    >>> class Point(FrozenRecord):
    ...     __slots__ = ("x", "y")
    ...     _defaults = {"y": 0}
    >>> Point(x=1)
    Point(x=1, y=0)
    >>> Point(x=1).replace(y=2) == Point(x=1, y=2)
    True
    """

    __slots__: tuple[str, ...] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(self.__slots__)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown field(s) {sorted(unknown)}")
        for name in self.__slots__:
            value = values[name] if name in values else self._defaults[name]
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.fields()))

    def fields(self) -> dict[str, Any]:
        """The record's fields by name."""
        return {name: getattr(self, name) for name in self.__slots__}

    def replace(self: _R, **changes: Any) -> _R:
        """A copy with ``changes`` applied."""
        values = self.fields()
        values.update(changes)
        return type(self)(**values)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(
            getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__name__}({fields})"


def _rebuild(cls: type[FrozenRecord], values: dict[str, Any]) -> FrozenRecord:
    return cls(**values)
