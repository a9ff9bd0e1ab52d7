"""Matplotlib plumbing shared by every chart: figures on the Agg canvas, titles, styling, saving.

Figures are built with matplotlib's object-oriented API (``matplotlib.figure.Figure`` attached to the
Agg backend's ``FigureCanvasAgg``), never through ``pyplot``: no global backend switch, no figure
registry, no interactive backend, nothing left open in the pytest process; ``matplotlib.rc_context``
scopes the report's style to the charts being drawn. ``Figure.savefig`` writes the PNG with
Agg and the SVG with matplotlib's SVG backend (``metadata={"Date": None}`` keeps SVGs reproducible).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import LogFormatter

from reports.draw.palette import LineStyle, colour, hatch, linestyle, marker, variant_index
from reports.read.run import Result, Run

DPI = 130
RC: dict[Any, Any] = {
    "font.size": 9.5,
    "axes.titlesize": 10,
    "axes.labelsize": 9.5,
    "legend.fontsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "svg.fonttype": "none",
}


@dataclass(frozen=True)
class SeriesStyle:
    colour: str
    marker: str
    hatch: str
    linestyle: LineStyle


@contextmanager
def chart_style() -> Iterator[None]:
    """The report's matplotlib settings, applied while a chart's artists are created and saved."""
    with matplotlib.rc_context(RC):
        yield


def new_figure(width: float, height: float) -> Figure:
    """A figure drawn by the Agg canvas (PNG); SVG output switches to the SVG backend per save."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def subtitle(run: Run) -> str:
    """Machine and date line every chart carries under its title."""
    return f"{run.machine.short} · Python {run.machine.python} · {run.date} UTC · run {run.short_id}"


def set_title(fig: Figure, title: str, run: Run) -> None:
    set_title_lines(fig, title, subtitle(run))


def set_title_lines(fig: Figure, title: str, sub: str) -> None:
    """Title and machine/date line, wrapped to the figure's width so nothing is cut off."""
    width = max(40, int(fig.get_figwidth() * 11.5))
    lines = textwrap.wrap(title, width) + textwrap.wrap(sub, width)
    fig.suptitle("\n".join(lines), fontsize=10.5, linespacing=1.5)


def style_axes(ax: Axes) -> None:
    ax.grid(True, alpha=0.3, linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


class PlainLogFormatter(LogFormatter):
    """matplotlib's choice of which log ticks to label, written as plain numbers (0.2, 3, 40), not as powers of ten."""

    def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
        return f"{x:g}"


def log_axis(ax: Axes, which: str) -> None:
    """Make the x or y axis logarithmic with plain-number tick labels."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    axis.set_major_formatter(PlainLogFormatter())
    axis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def axis_label(name: str, unit: str, log: bool) -> str:
    """``throughput (k msg/s, log scale)``: every log axis says it is one."""
    inside = ", ".join(part for part in (unit, "log scale" if log else "") if part)
    return f"{name} ({inside})" if inside else name


def direct_labels(ax: Axes, ends: list[tuple[str, float, float, str]], gap: float = 0.05) -> None:
    """Label each line at its last point, just right of the axes, spread so no two labels overlap.

    ``ends`` holds (label, x, y, colour) in data coordinates. Positions are computed in axes fractions
    through the axes' scale and limits (``transScale`` + ``transLimits``), so they hold for log axes and
    whatever size the layout gives the axes.
    """
    if not ends:
        return
    ax.autoscale_view()
    fracs = [float(ax.transLimits.transform(ax.transScale.transform((x, y)))[1]) for _, x, y, _ in ends]
    order = sorted(range(len(ends)), key=lambda i: fracs[i])
    spots: list[float] = []
    for i in order:
        frac = min(max(fracs[i], 0.0), 1.0)
        spots.append(max(frac, spots[-1] + gap) if spots else frac)
    shift = max(spots[-1] - 1.0, 0.0)
    for i, spot in zip(order, spots, strict=True):
        label, x, y, colour = ends[i]
        ax.annotate(
            label,
            xy=(x, y),
            xycoords="data",
            xytext=(1.02, spot - shift),
            textcoords="axes fraction",
            va="center",
            fontsize=7.5,
            color=colour,
            arrowprops={"arrowstyle": "-", "color": colour, "linewidth": 0.5, "alpha": 0.6},
            annotation_clip=False,
        )


def series_style(result: Result, everything: list[Result]) -> SeriesStyle:
    """Colour by model (family hue), hatch and line style by variant, marker by family."""
    declared = result.extra.get("family") if isinstance(result.extra.get("family"), str) else None
    variants = [r.variant for r in everything if r.model == result.model]
    index = variant_index(result.variant, variants)
    return SeriesStyle(
        colour=colour(result.model, declared),
        marker=marker(result.model, declared),
        hatch=hatch(index),
        linestyle=linestyle(index),
    )


def legend_handles(results: list[Result], labels: list[str]) -> list[Line2D]:
    """One legend entry per series label, styled as that series is drawn."""
    handles = []
    for label in labels:
        result = next(r for r in results if r.label == label)
        style = series_style(result, results)
        handles.append(Line2D([], [], color=style.colour, marker=style.marker, linestyle=style.linestyle, label=label))
    return handles


def add_legend(fig: Figure, results: list[Result], labels: list[str]) -> None:
    """The models' legend under the panels (never over the title), noting hollow markers when used."""
    kinds = sorted({r.bound for r in results if r.bound})
    title = "model" + (f" (hollow marker = {' or '.join(kinds)} cell)" if kinds else "")
    fig.legend(
        handles=legend_handles(results, labels),
        loc="outside lower center",
        ncols=min(len(labels), 5),
        title=title,
        frameon=False,
    )


def save(fig: Figure, out: Path, stem: str) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.svg`` into ``out``; return both paths."""
    png, svg = out / f"{stem}.png", out / f"{stem}.svg"
    fig.savefig(png, dpi=DPI, facecolor="white")
    fig.set_layout_engine("none")  # keep the layout just computed; solving it again for the SVG doubles the cost
    fig.savefig(svg, facecolor="white", metadata={"Date": None})
    return [png, svg]
