"""The report's page: one HTML file with its style and its few lines of script inside.

The page loads nothing: its Content-Security-Policy allows no source but itself (images
only as ``data:`` URIs, the style and script only as the exact texts below, by hash), so
even markup that slipped into a value could neither run a script nor fetch anything.
Everything is readable with JavaScript off; the script only sorts tables.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from pathlib import Path

from .markup import Html, element, void_element

__all__ = ["POLICY", "SCRIPT", "STYLE", "document", "generated_line", "write_page"]

STYLE = """
:root { color-scheme: light; --line: #d6d9de; --muted: #5c6370; --accent: #1f5fa8; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       margin: 0 auto; max-width: 1200px; padding: 1.5em 2em 4em; color: #1d2127; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { border-bottom: 2px solid var(--line); padding-bottom: .2em; margin-top: 2.2em; }
h3 { margin-top: 1.6em; }
p.meta, p.count, figcaption, p.note { color: var(--muted); }
p.plot-missing { border: 1px dashed var(--muted); padding: 1.2em; color: var(--muted); }
nav ul { columns: 2; padding-left: 1.2em; }
code, pre { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: .9em; }
pre { background: #f5f6f8; border: 1px solid var(--line); padding: .6em .8em;
      overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
div.table { overflow-x: auto; margin: .6em 0 1.2em; }
table.data { border-collapse: collapse; font-size: .9em; }
table.data caption { text-align: left; color: var(--muted); padding-bottom: .3em; }
table.data th, table.data td { border-bottom: 1px solid var(--line); padding: .25em .7em;
                               text-align: left; vertical-align: top; }
table.data th { background: #eef1f5; position: sticky; top: 0; }
table.data th, table.data td { white-space: nowrap; }
table.data td.long { white-space: normal; min-width: 16em; }
table.data td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.data tbody tr:hover { background: #f7f9fc; }
details.more-rows:not([open]) + table tbody.more { display: none; }
details.more-rows summary, details summary { cursor: pointer; color: var(--accent); }
.js table.sortable th { cursor: pointer; user-select: none; }
.js table.sortable th::after { content: " \\2195"; color: #9aa1ab; }
.js table.sortable th[aria-sort="ascending"]::after { content: " \\2191"; color: #1d2127; }
.js table.sortable th[aria-sort="descending"]::after { content: " \\2193"; color: #1d2127; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1.2em; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
figure { margin: 1em 0 1.6em; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
.status-ok { color: #1b7a36; }
.status-failed { color: #b3261e; font-weight: 600; }
div.failure { border-left: 3px solid #b3261e; padding-left: 1em; margin: 1em 0; }
"""

# A click on a column header (or Enter) sorts its table by that column, again: the other
# way; numbers as numbers, empty cells last. The rows of every body are sorted as one, each
# body keeping as many rows as it had (the first shown, the rest collapsed).
SCRIPT = """
document.documentElement.classList.add("js");
document.querySelectorAll("table.sortable th").forEach((th) => {
  const sort = () => {
    const table = th.closest("table"), up = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th").forEach((h) => h.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
    const bodies = Array.from(table.tBodies), sizes = bodies.map((b) => b.rows.length);
    const keyed = bodies.flatMap((b) => Array.from(b.rows)).map((row) => {
      const text = row.cells[th.cellIndex].textContent.trim(), n = Number(text);
      return [text === "" ? 2 : isNaN(n) ? 1 : 0, n, text, row];
    });
    keyed.sort((a, b) => a[0] - b[0] || (up ? 1 : -1) * (a[0] === 0 ? a[1] - b[1]
      : a[2].localeCompare(b[2], undefined, {numeric: true})));
    let at = 0;
    bodies.forEach((body, i) => body.append(...keyed.slice(at, at += sizes[i]).map((k) => k[3])));
  };
  th.tabIndex = 0;
  th.addEventListener("click", sort);
  th.addEventListener("keydown", (event) => { if (event.key === "Enter") sort(); });
});
"""


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


POLICY = (f"default-src 'none'; img-src data:; style-src {_hash(STYLE)}; "
          f"script-src {_hash(SCRIPT)}; base-uri 'none'; form-action 'none'")
"""Nothing loads from anywhere; only this page's own style and script apply."""


def document(title: str, body: Html) -> str:
    """The whole page: ``title`` (text) and ``body`` (markup) with the style and script.

    >>> document("Report", element("p", "hello"))[:15]
    '<!DOCTYPE html>'
    """
    head = element(
        "head", void_element("meta", charset="utf-8"),
        void_element("meta", http_equiv="Content-Security-Policy", content=POLICY),
        void_element("meta", name="viewport", content="width=device-width, initial-scale=1"),
        void_element("meta", name="generator", content="py3r-script"),
        element("title", title), Html(f"<style>{STYLE}</style>"))
    page = element("html", head, element("body", body, Html(f"<script>{SCRIPT}</script>")),
                   lang="en")
    return f"<!DOCTYPE html>\n{page}\n"


def write_page(path: str | os.PathLike[str], title: str, body: Html) -> Path:
    """Write the page to ``path`` whole or not at all (a temporary file, then a rename);
    returns the path.

    >>> write_page("report.html", "Report", element("p", "hello"))  # doctest: +SKIP
    PosixPath('report.html')
    """
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)  # umask applies
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(document(title, body))
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def generated_line(version: str) -> Html:
    """When and by what the page was written, for its header.

    >>> generated_line("0.1.0")  # doctest: +SKIP
    '<p class="meta">Written 2025-01-01 12:00 UTC by py3r-script 0.1.0 ...</p>'
    """
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return element("p", f"Written {now} by py3r-script {version}. This page needs nothing "
                   "else: it opens from disk, offline, and can be sent as an attachment.",
                   class_="meta")
