"""Render a report ``Document`` to a self-contained ``index.html`` (inline CSS, images next to it).

The page needs no network: no scripts, fonts or styles are fetched; charts are the PNG files in the
same directory, each linking to its SVG. Void elements are self-closed, so the page is also
well-formed XML. Escaping uses ``html.escape``; ``**bold**`` becomes ``<strong>``. Stdlib only.
"""

from __future__ import annotations

import html
import re

from reports.document import Alert, Block, Bullets, Document, Figure, Heading, Paragraph, Table

GENERATOR = "corobench reports"
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 70rem;
       padding: 0 1rem; color: #1f2328; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #d0d7de; } h3 { margin-top: 1.6rem; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafbfc; }
.warning { background: #fff8c5; border: 1px solid #d4a72c; padding: 0.6rem 0.9rem; font-weight: 600; }
figure { margin: 1rem 0 2rem; } figure img { max-width: 100%; border: 1px solid #eaeef2; }
figcaption { color: #57606a; font-style: italic; }
nav { font-size: 0.9rem; color: #57606a; }
"""


def to_html(doc: Document) -> str:
    anchors: dict[int, str] = {}
    for index, block in enumerate(doc.blocks):
        if isinstance(block, Heading):
            base = re.sub(r"[^a-z0-9]+", "-", block.text.lower()).strip("-") or "section"
            anchor, n = base, 1
            while anchor in anchors.values():
                n += 1
                anchor = f"{base}-{n}"
            anchors[index] = anchor
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
        f"<h1>{_text(doc.title)}</h1>\n<nav>{contents}</nav>\n{body}\n</body>\n</html>\n"
    )


def _text(text: str) -> str:
    return _BOLD.sub(r"<strong>\1</strong>", html.escape(text))


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
    if isinstance(block, Table):
        head = "".join(f"<th>{_text(h)}</th>" for h in block.headers)
        rows = []
        for row in block.rows:
            cells = "".join(
                f'<td class="num">{_text(c)}</td>' if i in block.right_aligned else f"<td>{_text(c)}</td>"
                for i, c in enumerate(row)
            )
            rows.append(f"<tr>{cells}</tr>")
        return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>"
    return _figure(block)


def _figure(fig: Figure) -> str:
    stem = html.escape(fig.stem, quote=True)
    return (
        f'<figure id="{stem}"><a href="{stem}.svg"><img src="{stem}.png" alt="{html.escape(fig.title, quote=True)}" />'
        f"</a><figcaption>{_text(fig.question)}</figcaption></figure>"
    )
