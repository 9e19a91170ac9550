"""Pickling a value for the other side: plain pickle when it can load it, cloudpickle otherwise.

A child pickles its outputs for the parent, which cannot import the script or the modules
beside it: a value that refers to their code by reference goes to cloudpickle, which pickles
such code by value. Plain pickle is much faster and enough for most values, and cloudpickle
(~25 ms to import) is imported only when a value needs it.
"""

from __future__ import annotations

import pickle
import sys

TYPE_CHECKING = False  # not typing's: importing typing would cost every child ~4 ms
if TYPE_CHECKING:
    from typing import Any

__all__ = ["dumps"]

_PICKLE_PROTOCOL = 5  # out-of-band buffers; every supported Python has it


class _NeedsValue(Exception):
    """Raised while pickling: an object refers to code only the child can import."""


class _ReferencePickler(pickle.Pickler):
    """Plain pickle that refuses references the parent could not resolve.

    Classes and functions defined in the script (``__main__``) or in modules beside it are
    pickled by reference, which only the child can import; those values go to cloudpickle,
    which pickles such code by value.
    """

    local_roots: tuple[str, ...] = ()

    def reducer_override(self, obj: object) -> Any:
        if isinstance(obj, type) or callable(obj):
            module = getattr(obj, "__module__", None)
            if module in ("__main__", "__mp_main__") or _is_local(module, self.local_roots):
                raise _NeedsValue(module)
        return NotImplemented


def _is_local(module: str | None, roots: tuple[str, ...]) -> bool:
    if not module or not roots:
        return False
    path = getattr(sys.modules.get(module), "__file__", None) or ""
    return any(path.startswith(root) for root in roots)


def dumps(value: object, local_roots: tuple[str, ...] = ()) -> bytes:
    """Pickle ``value``: plain pickle when the parent can load it, cloudpickle otherwise.

    ``local_roots`` are folders (with a trailing separator) whose modules the parent cannot
    import: the script's own folder.

    Examples
    --------
    >>> import pickle
    >>> pickle.loads(dumps({"a": 1}))
    {'a': 1}
    """
    import io

    buffer = io.BytesIO()
    pickler = _ReferencePickler(buffer, protocol=_PICKLE_PROTOCOL)
    pickler.local_roots = local_roots
    try:
        pickler.dump(value)
        return buffer.getvalue()
    except Exception:
        import cloudpickle  # lazily: costs ~25 ms, paid only by values that need it

        for root in local_roots:
            for name, module in list(sys.modules.items()):
                if (getattr(module, "__file__", None) or "").startswith(root) \
                        and name != "__main__":
                    cloudpickle.register_pickle_by_value(module)
        return cloudpickle.dumps(value, protocol=_PICKLE_PROTOCOL)
