"""Plots in the report: drawn by the analysis' own plotting functions, embedded as PNG.

Each figure is saved to memory and written into the page as a ``data:`` URI, so the page
needs no other file. matplotlib stays optional: without it each plot's place says which
plot would be there and how to get it; when the analysis cannot draw a plot for these
results, its place says why.
"""

from __future__ import annotations

import base64
import io
from typing import IO, Any, Callable

from ..errors import SweepError
from .markup import Html, element, void_element

__all__ = ["PLOT_INSTALL", "DPI", "figure", "matplotlib_missing", "note", "png"]

PLOT_INSTALL = 'pip install "py3r-script[plot]"'
"""How to get the plots (the ``plot`` extra: matplotlib)."""
DPI = 80
"""Resolution of the embedded PNGs: sharp on screen, small in the file."""


def matplotlib_missing() -> bool:
    """Whether matplotlib cannot be imported here (then the report says how to get it).

    >>> matplotlib_missing()  # doctest: +SKIP
    False
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return True
    return False


def png(fig: Any, buffer: IO[bytes]) -> None:
    """Write ``fig`` to ``buffer`` as a PNG at :data:`DPI`, what ``fig.savefig(buffer,
    format="png", dpi=DPI)`` writes, pixel for pixel, in one pass.

    ``savefig`` draws a figure with a layout engine twice: once to lay it out, and again to
    render it. Drawn straight on an Agg canvas at that resolution, the layout is worked
    out as the figure is drawn, with the same renderer (whose text measurements it
    keeps), so it is drawn once.

    >>> png(sr.plot_tornado("y"), io.BytesIO())  # doctest: +SKIP
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.set_dpi(DPI)
    FigureCanvasAgg(fig).print_png(buffer)


def note(text: str, kind: str = "note") -> Html:
    """A short paragraph standing where something could not be shown.

    >>> note("no failures")
    '<p class="note">no failures</p>'
    """
    return element("p", text, class_=kind)


def figure(title: str, draw: Callable[[], Any]) -> Html:
    """``draw()``'s matplotlib figure as an embedded image, with ``title`` as its caption.

    Without matplotlib, ``draw`` is not called: a note says which plot would be here and
    how to get it. A :class:`~py3r_script.errors.SweepError` from ``draw`` (the analysis
    refusing these results) becomes a note giving its message.

    >>> figure("Tornado chart of y", lambda: sr.plot_tornado("y"))  # doctest: +SKIP
    '<figure><img src="data:image/png;base64,...
    """
    if matplotlib_missing():
        return note(f"The {title[:1].lower()}{title[1:]} would be here: plots need "
                    f"matplotlib ({PLOT_INSTALL}).", "plot-missing")
    try:
        fig = draw()
    except SweepError as why:
        return note(f"No {title[:1].lower()}{title[1:]}: {why}")
    buffer = io.BytesIO()
    png(fig, buffer)
    source = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return element("figure", void_element("img", src=source, alt=title),
                   element("figcaption", title))
