"""Finding the records a dict of parameter values names: ``sr[...]``, ``sr.record(...)`` and
``sr.select(...)`` of :class:`~py3r_script.results.ScriptResults`.

A record's key is its parameter values (projected on the sweep's names) and its replicate;
a queried value matches typed first (``1`` is not ``True``), then by ``==``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .errors import ParameterTypeError, ReplicateAmbiguityError, UnknownNameError
from .paramset import ParamSet, value_key
from .records import IterationRecord

__all__ = ["REPLICATE_KEY", "RecordKey", "check_query", "key_dict", "matching", "record_key",
           "split_replicate", "too_many_replicates"]

REPLICATE_KEY = "replicate"  # names one replicate in a parameter dict: {"w": 5, "replicate": 0}

RecordKey = tuple[ParamSet, int]


def record_key(record: IterationRecord, names: Sequence[str]) -> RecordKey:
    """A record's key: its values of ``names`` and its replicate.

    >>> record_key(IterationRecord(ParamSet({"w": 3, "s": 1}), "ok"), ["w"])[1]
    0
    """
    return record.params.project(names), record.replicate


def check_query(params: Any, names: Sequence[str], recorded: Iterable[str],
                replicated: bool) -> None:
    """A query is a dict naming recorded parameters (and, with replicates, ``"replicate"``):
    else the error saying what it may name.

    >>> check_query({"w": 3}, ["w"], {"w"}, False)
    """
    if not isinstance(params, Mapping):
        raise ParameterTypeError(
            f"index ScriptResults with a dict of parameter values, e.g. "
            f"sr[{{{(names or ('name',))[0]!r}: ...}}], not {type(params).__name__}")
    recorded = set(recorded)
    allowed = recorded | ({REPLICATE_KEY} if replicated else set())
    unknown = [n for n in params if n not in allowed]
    if unknown:
        raise UnknownNameError(
            f"{unknown} not among this sweep's parameters {list(names)}"
            + (f" (or the others it recorded: {sorted(recorded)})"
               if recorded - set(names) else ""))


def key_dict(key: RecordKey, replicated: bool) -> dict[str, Any]:
    """A key as the dict that names it: its parameter values, and with replicates its
    ``"replicate"``.

    >>> key_dict((ParamSet({"w": 3}), 1), True)
    {'w': 3, 'replicate': 1}
    """
    values = key[0].to_dict()
    if replicated and REPLICATE_KEY not in values:
        values[REPLICATE_KEY] = key[1]
    return values


def split_replicate(params: Mapping[str, Any], recorded: Iterable[str]
                    ) -> tuple[dict[str, Any], int | None]:
    """The parameter values of a query and the replicate it names (``None``: any);
    ``"replicate"`` is a parameter like any other when the script has one of that name.

    >>> split_replicate({"w": 3, "replicate": 1}, ["w"])
    ({'w': 3}, 1)
    """
    values = dict(params)
    if REPLICATE_KEY in values and REPLICATE_KEY not in set(recorded):
        return values, _replicate_number(values.pop(REPLICATE_KEY))
    return values, None


def _replicate_number(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ReplicateAmbiguityError(
            f"'replicate' names one run of a parameter set: 0, 1, ... (replicates=k ran 0 to "
            f"k - 1); got {value!r}")
    return value


def matching(query: Mapping[str, Any], records: Iterable[IterationRecord],
             names: Sequence[str], replicate: int | None) -> list[IterationRecord]:
    """Records agreeing with every queried value (typed match first, then ``==``) and with
    ``replicate`` (``None``: any), one per key.

    >>> matching({"w": 3}, [IterationRecord(ParamSet({"w": 3}), "ok")], ["w"], None)
    ... # doctest: +ELLIPSIS
    [IterationRecord(#0 {'w': 3}, status='ok', ...)]
    """
    typed = {n: value_key(plain(v)) for n, v in query.items()}
    candidates = [r for r in records if replicate is None or r.replicate == replicate]
    exact = [
        r for r in candidates
        if all(n in r.params and value_key(r.params[n]) == k for n, k in typed.items())
    ]
    if not exact:
        exact = [r for r in candidates if all(n in r.params and r.params[n] == v
                                              for n, v in query.items())]
    seen: dict[RecordKey, IterationRecord] = {}
    for record in exact:
        seen.setdefault(record_key(record, names), record)
    return list(seen.values())


def too_many_replicates(params: Mapping[str, Any], matches: Sequence[IterationRecord],
                        names: Sequence[str]) -> ReplicateAmbiguityError | None:
    """The error for a query whose matches are replicates of one parameter set (``None``
    when they are different parameter sets)."""
    if len({r.params.project(names) for r in matches}) != 1:
        return None
    ran = sorted(r.replicate for r in matches)
    one = {**dict(params), REPLICATE_KEY: ran[0]}
    return ReplicateAmbiguityError(
        f"{dict(params)} ran {len(matches)} times (replicates {ran}): name one, "
        f"sr[{one}], or get them all with sr.select({dict(params)}) (a list of records), "
        "or their mean and confidence interval with sr.aggregate()")


def plain(value: Any) -> Any:
    """A queried value as a parameter set holds it (a NumPy scalar as a plain one)."""
    try:
        return ParamSet({"v": value})["v"]
    except TypeError:
        return value
