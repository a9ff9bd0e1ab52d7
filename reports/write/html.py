"""Render a report ``Document`` to a self-contained ``index.html`` (inline CSS and script, images next to it).

The page needs no network: no fonts, styles or scripts are fetched; charts are the PNG files in the
same directory, each linking to its SVG. ``Section`` blocks become ``<details>`` (collapsed unless
marked open), so the page stays short; every table is sortable by a click on its header, through one
small inline script that reads the numbers and units of the cells (no library). Tables scroll inside
their own box rather than widen the page, so it fits 1024 px. Void elements are self-closed and the
script sits in a CDATA section, so the page is also well-formed XML. Escaping uses ``html.escape``;
``**bold**`` becomes ``<strong>`` and ``[text](relative-file)`` a link. Stdlib only.
"""

from __future__ import annotations

import html
import re

from reports.write.document import Alert, Block, Bullets, Code, Document, Figure, Heading, Paragraph, Section, Table

GENERATOR = "corobench reports"
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\(([A-Za-z0-9_.\-/]+)\)")
_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.2rem auto; max-width: 70rem;
       padding: 0 1rem; color: #1f2328; line-height: 1.45; }
h1 { font-size: 1.5rem; } h2 { margin-top: 1.8rem; border-bottom: 1px solid #d0d7de; } h3 { margin-top: 1.2rem; }
.scroll { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5rem 0 0.9rem; font-size: 0.82rem; max-width: 100%; }
th, td { border: 1px solid #d0d7de; padding: 0.2rem 0.4rem; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
th { background: #f6f8fa; cursor: pointer; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
th[aria-sort]::after { content: " ⇅"; color: #8c959f; }
tr:nth-child(even) td { background: #fafbfc; }
td.better { background: #dafbe1 !important; } td.worse { background: #ffebe9 !important; }
td.tie { background: #f6f8fa !important; } td.base { background: #ddf4ff !important; font-weight: 600; }
td.name { font-weight: 600; }
.warning { background: #fff8c5; border: 1px solid #d4a72c; padding: 0.6rem 0.9rem; font-weight: 600; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; padding: 0.6rem; overflow-x: auto; font-size: 0.85rem; }
figure { margin: 0.8rem 0 1.6rem; } figure img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
figcaption { color: #57606a; font-style: italic; }
details { border: 1px solid #d0d7de; border-radius: 6px; padding: 0.3rem 0.8rem; margin: 0.5rem 0; }
summary { cursor: pointer; font-weight: 600; }
nav { font-size: 0.9rem; color: #57606a; }
"""
_SCRIPT = """
var UNITS = {"ns": 1e-9, "µs": 1e-6, "ms": 1e-3, "s": 1, "B": 1, "KiB": 1024, "MiB": 1048576, "GiB": 1073741824,
             "k": 1e3, "M": 1e6, "G": 1e9};
function cellValue(text) {
  var m = text.replace(/[▲▼≈★☆<]/g, "").trim().match(/^(-?[0-9.]+(?:e-?[0-9]+)?)\\s*([A-Za-zµ]*)/);
  if (!m) { return null; }
  var scale = UNITS[m[2]];
  return parseFloat(m[1]) * (scale === undefined ? 1 : scale);
}
function sortBy(th) {
  var table = th.closest("table"), body = table.tBodies[0], col = th.cellIndex;
  var down = th.getAttribute("aria-sort") !== "ascending";
  Array.prototype.forEach.call(table.querySelectorAll("th"), function (h) { h.setAttribute("aria-sort", "none"); });
  th.setAttribute("aria-sort", down ? "ascending" : "descending");
  var rows = Array.prototype.slice.call(body.rows);
  rows.sort(function (a, b) {
    var x = a.cells[col].textContent, y = b.cells[col].textContent;
    var u = cellValue(x), v = cellValue(y), r;
    if (u !== null && v !== null) { r = u - v; } else { r = x.localeCompare(y); }
    return down ? r : -r;
  });
  rows.forEach(function (row) { body.appendChild(row); });
}
document.addEventListener("click", function (event) {
  var th = event.target.closest("th");
  if (th) { sortBy(th); }
});
"""


def to_html(doc: Document) -> str:
    anchors: dict[int, str] = {}
    used: set[str] = set()
    for index, block in enumerate(doc.blocks):
        if isinstance(block, Heading | Section):
            text = block.text if isinstance(block, Heading) else block.title
            base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
            anchor, n = base, 1
            while anchor in used:
                n += 1
                anchor = f"{base}-{n}"
            anchors[index] = anchor
            used.add(anchor)
    contents = " · ".join(
        f'<a href="#{anchors[i]}">{_text(b.text)}</a>'
        for i, b in enumerate(doc.blocks)
        if isinstance(b, Heading) and b.level == 1
    )
    body = "\n".join(_block(block, anchors.get(i, "")) for i, block in enumerate(doc.blocks))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8" />\n'
        f'<meta name="generator" content="{GENERATOR}" />\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1" />\n'
        f"<title>{html.escape(doc.title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{_text(doc.title)}</h1>\n<nav>{contents}</nav>\n{body}\n"
        f"<script>//<![CDATA[{_SCRIPT}//]]></script>\n</body>\n</html>\n"
    )


def _text(text: str) -> str:
    escaped = _BOLD.sub(r"<strong>\1</strong>", html.escape(text, quote=False))
    return _LINK.sub(r'<a href="\2">\1</a>', escaped)


def _block(block: Block, anchor: str) -> str:
    if isinstance(block, Heading):
        level = min(block.level + 1, 6)
        return f'<h{level} id="{anchor}">{_text(block.text)}</h{level}>'
    if isinstance(block, Paragraph):
        return f"<p>{_text(block.text)}</p>"
    if isinstance(block, Alert):
        return f'<p class="warning">{_text(block.text)}</p>'
    if isinstance(block, Bullets):
        return "<ul>\n" + "\n".join(f"<li>{_text(item)}</li>" for item in block.items) + "\n</ul>"
    if isinstance(block, Code):
        return f"<pre>{html.escape(block.text)}</pre>"
    if isinstance(block, Section):
        inner = "\n".join(_block(b, "") for b in block.blocks)
        opened = ' open="open"' if block.open else ""
        return f'<details id="{anchor}"{opened}><summary>{_text(block.title)}</summary>\n{inner}\n</details>'
    if isinstance(block, Table):
        return _table(block)
    return _figure(block)


def _table(block: Table) -> str:
    head = "".join(f'<th aria-sort="none">{_text(h)}</th>' for h in block.headers)
    rows = []
    for r, row in enumerate(block.rows):
        kinds = block.classes[r] if r < len(block.classes) else ()
        cells = []
        for i, c in enumerate(row):
            names = [n for n in ("num" if i in block.right_aligned else "", kinds[i] if i < len(kinds) else "") if n]
            attr = f' class="{" ".join(names)}"' if names else ""
            cells.append(f"<td{attr}>{_text(c)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="scroll"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody>\n</table></div>"
    )


def _figure(fig: Figure) -> str:
    stem = html.escape(fig.stem, quote=True)
    return (
        f'<figure id="{stem}"><a href="{stem}.svg"><img src="{stem}.png" alt="{html.escape(fig.title, quote=True)}" '
        f'loading="lazy" /></a><figcaption>{_text(fig.question)}</figcaption></figure>'
    )
