"""The report as a list of blocks (headings, text, tables, figures), rendered here to Markdown.

One ``Document`` is built per report and rendered twice: to ``summary.md`` by ``to_markdown`` below
and to ``index.html`` by ``reports.write.html``, so both say the same thing with the same numbers. Text may
use ``**bold**`` and ``[links](relative-file)``; everything else is plain text. A ``Section`` is a
collapsible block in HTML (``<details>``) and a heading with its blocks in Markdown. Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Alert:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    right_aligned: frozenset[int] = frozenset()
    """Column indexes holding numbers (right-aligned)."""
    classes: tuple[tuple[str, ...], ...] = ()
    """Optional per-cell class names (HTML colours them; Markdown ignores them)."""


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Figure:
    stem: str
    """File name without extension; ``<stem>.png`` and ``<stem>.svg`` sit next to the report."""
    title: str
    question: str
    """The question the chart answers, shown under it."""
    section: str = ""
    """Where in the report the chart belongs: its workload (or ``memory``); drawn charts carry it."""
    group: str = ""
    """The group a group's bar chart shows; empty for every other chart."""
    chart: str = ""
    """``<workload>.<name>`` of the schema chart (``ChartSpec``) it draws; empty for every other chart."""


@dataclass(frozen=True)
class Section:
    """A titled group of blocks, collapsed in HTML unless ``open``."""

    level: int
    title: str
    blocks: tuple[Heading | Paragraph | Alert | Bullets | Table | Figure | Code, ...]
    open: bool = False


Block = Heading | Paragraph | Alert | Bullets | Table | Figure | Code | Section


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)


def to_markdown(doc: Document) -> str:
    out = [f"# {doc.title}", ""]
    for block in doc.blocks:
        out.extend(_markdown_block(block))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _markdown_block(block: Block) -> list[str]:
    if isinstance(block, Heading):
        return ["#" * (block.level + 1) + " " + block.text]
    if isinstance(block, Paragraph):
        return [block.text]
    if isinstance(block, Alert):
        return [f"> **{block.text}**"]
    if isinstance(block, Bullets):
        return [f"- {item}" for item in block.items]
    if isinstance(block, Code):
        return ["```", block.text, "```"]
    if isinstance(block, Section):
        out = ["#" * (block.level + 1) + " " + block.title, ""]
        for inner in block.blocks:
            out.extend(_markdown_block(inner))
            out.append("")
        return out[:-1]
    if isinstance(block, Table):
        header = "| " + " | ".join(_cell(h) for h in block.headers) + " |"
        rule = "|" + "|".join("---:" if i in block.right_aligned else "---" for i in range(len(block.headers))) + "|"
        rows = ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
        return [header, rule, *rows]
    return [f"![{block.title}]({block.stem}.png)", "", f"*{block.question}* ([SVG]({block.stem}.svg))"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
