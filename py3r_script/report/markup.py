"""HTML markup built so that nothing from a study reaches the page unescaped.

``Html`` is a ``str`` that is already markup; anything else given to :func:`element` (a
label, an error message, an output value) is text and is escaped, attribute values
included. A section is built from elements, never by formatting values into tags, so a
label such as ``<script>`` shows as those characters.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any, Union

__all__ = ["Html", "Part", "element", "escape", "fragment", "shown_value", "void_element"]


class Html(str):
    """Markup that is already safe to put in the page (built here, never from raw text).

    >>> element("b", "<x>")
    '<b>&lt;x&gt;</b>'
    """

    __slots__ = ()

    def __add__(self, other: str) -> str:
        """Markup joined to markup stays markup; joined to text it is a plain ``str``."""
        joined = str.__add__(self, other)
        return Html(joined) if isinstance(other, Html) else joined


Part = Union[Html, str, int, float, None]
"""What an element holds: markup, or a value shown as text (``None`` shows nothing)."""


def escape(value: object) -> Html:
    """A value as text in the page: ``&``, ``<``, ``>`` and both quotes escaped.

    >>> escape('<script>alert("x")</script>')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
    """
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def fragment(parts: Iterable[Part]) -> Html:
    """Several parts side by side, each text part escaped.

    >>> fragment(["a < b", element("i", "c")])
    'a &lt; b<i>c</i>'
    """
    return Html("".join(escape(part) for part in parts))


def element(tag: str, *children: Part | Iterable[Part], **attributes: object) -> Html:
    """``<tag attributes>children</tag>``, with every text child and attribute escaped.

    An attribute named with a trailing underscore (``class_``) loses it; ``data_sort``
    becomes ``data-sort``; ``True`` writes the bare attribute, ``None`` and ``False`` leave
    it out. A child may also be an iterable of parts.

    >>> element("td", "1 < 2", class_="num", data_v=3)
    '<td class="num" data-v="3">1 &lt; 2</td>'
    """
    opened = tag + "".join(_attribute(name, value) for name, value in attributes.items())
    inner = "".join(escape(child) if isinstance(child, (str, int, float)) or child is None
                    else fragment(child) for child in children)
    return Html(f"<{opened}>{inner}</{tag}>")


def void_element(tag: str, **attributes: object) -> Html:
    """An element without content or end tag (``img``, ``meta``), attributes escaped.

    >>> void_element("img", src="data:,", alt="a & b")
    '<img src="data:," alt="a &amp; b">'
    """
    return Html(f"<{tag}{''.join(_attribute(n, v) for n, v in attributes.items())}>")


def _attribute(name: str, value: object) -> str:
    if value is None or value is False:
        return ""
    name = name.rstrip("_").replace("_", "-")
    if value is True:
        return f" {name}"
    return f' {name}="{escape(value)}"'


def shown_value(value: Any) -> str:
    """A value as a table cell shows it: numbers compactly, ``None`` and NaN empty.

    >>> shown_value(0.30000000000000004), shown_value(2.0), shown_value(None), shown_value(7)
    ('0.3', '2.0', '', '7')
    """
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is int or kind is bool:
        return str(value)
    if value is None:
        return ""
    if isinstance(value, (bool, int, str)):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ""
        text = f"{value:.6g}"
        # 2.0 stays a float ("inf" and "nan" have an "n")
        return text if "." in text or "e" in text or "n" in text else f"{text}.0"
    if type(value).__module__.startswith("numpy") and getattr(value, "ndim", None) == 0:
        return shown_value(value.item())
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={shown_value(v)}" for k, v in value.items())
    import pandas as pd

    if pd.api.types.is_scalar(value) and pd.isna(value):  # pd.NA, NaT
        return ""
    return str(value)
