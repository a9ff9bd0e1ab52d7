"""The charts of one run: a ranked bar chart per group, latency percentiles, plus the scaling charts.

``make_charts`` decides which charts a run gets and writes each as PNG and SVG: every group gets its
bar chart whatever its workload, with the collector's pauses inside the window shaded at the start of each
bar (on a linear axis) and its share named from ``SHOWN_SHARE`` on; the scaling and memory charts come
from ``reports.draw.scaling``; echo results get latency-percentile charts. A chart whose metric no result
carries is skipped. Uses matplotlib's ``Axes.barh``/``errorbar``/``plot`` on figures from ``reports.draw.figures``.
"""

from __future__ import annotations

import math
from pathlib import Path

from reports.draw import figures
from reports.draw.scaling import scaling_charts
from reports.judge import collector
from reports.judge.groups import by_workload, constant_params, panel_keys, series_order, value_key, varying
from reports.judge.headline import ideal_time
from reports.judge.metrics import label as metric_label
from reports.judge.metrics import latency_keys
from reports.judge.ranking import PEER, RANKED, REFERENCE, STALLED, UNRANKED, Judged, Verdict, Verdicts
from reports.read.run import Result, Run
from reports.write import fmt
from reports.write.document import Figure
from reports.write.fmt import param_text, slug

SHOWN_SHARE = 0.05
"""A bar names the collector's share of its round from this share on (below it, rounding noise)."""
LOG_SCALE_SPREAD = 30.0
"""Use a log axis when the largest value is this many times the smallest."""
ROLE_NOTES = {
    REFERENCE: "reference scheduler",
    PEER: "peer-bound, not ranked",
    STALLED: "stalled, not ranked",
    UNRANKED: "not ranked (different work)",
}
"""The note on a bar that is not ranked, one per role ``reports.judge.ranking`` gives."""


def make_charts(run: Run, judged: Verdicts, out: Path) -> list[Figure]:
    """Write every chart for ``run`` into ``out``; return them in report order."""
    charts: list[Figure] = []
    with figures.chart_style():
        for workload, results in by_workload(run.results, run.schemas).items():
            charts.extend(scaling_charts(run, workload, results, out))
            charts.extend(percentile_charts(run, workload, results, out))
        for group, verdict in judged.items():
            charts.append(group_chart(run, group, verdict, out))
    return charts


def bar_text(cell: Judged, baseline: Judged | None) -> str:
    """``12.3 ms · 1.92x asyncio [1.85-2.01] · tied``: the median, its ratio to the baseline and its place."""
    parts = [fmt.seconds(cell.result.stats.median)]
    if baseline is not None and cell is baseline:
        parts.append("baseline")
    elif cell.ratio is not None and baseline is not None:
        low, high = cell.ratio_ci or (math.nan, math.nan)
        parts.append(f"{fmt.ratio(cell.ratio)} {baseline.label} [{low:.2f}-{high:.2f}]")
    if cell.place:
        parts.append("fastest, separated" if cell.place == "wins" else "tied for fastest")
    if cell.role != RANKED:
        parts.append(ROLE_NOTES[cell.role])
    value = collector.share(cell.result)
    if value is not None and value >= SHOWN_SHARE:
        parts.append(f"GC {value * 100:.0f}%")
    return " · ".join(parts)


def group_chart(run: Run, group: str, verdict: Verdict, out: Path) -> Figure:
    """Horizontal bars, fastest on top: median round time above the ideal, with bootstrap 95% whiskers."""
    rows = list(verdict.cells)
    first = rows[0].result
    workload = first.workload
    schema = run.schemas.get(workload)
    title = f"{workload} — {param_text(first.params) or group}"
    if collector.regime(first) != collector.AUTO:
        title += f", gc={collector.regime(first)}"
    fig = figures.new_figure(9.2, 1.7 + 0.42 * len(rows))
    figures.set_title(fig, title, run)
    ax = fig.add_subplot()
    figures.style_axes(ax)
    ax.grid(axis="y", visible=False)
    ideal = ideal_time(verdict, schema)
    shift = ideal or 0.0
    scale, unit = fmt.time_unit_for([c.ci[1] - shift for c in rows])
    values = [(c.result.stats.median - shift) / scale for c in rows]
    lows = [max(c.result.stats.median - c.ci[0], 0.0) / scale for c in rows]
    highs = [max(c.ci[1] - c.result.stats.median, 0.0) / scale for c in rows]
    positive = [(c.ci[0] - shift) / scale for c in rows if c.ci[0] > shift]
    largest = max(c.ci[1] - shift for c in rows) / scale
    log = bool(positive) and largest / min(positive) > LOG_SCALE_SPREAD
    left = 10 ** _floor_log10(min(positive)) if log else 0.0
    for i, cell in enumerate(rows):
        style = figures.series_style(cell.result, [c.result for c in rows])
        hollow = cell.role in (PEER, STALLED)
        ax.barh(
            i,
            max(values[i] - left, 0.0),
            left=left,
            height=0.66,
            color="white" if hollow else style.colour,
            hatch="xx" if cell.role == REFERENCE else style.hatch,
            edgecolor=style.colour if hollow else "white",
            linewidth=1.4 if hollow else 0.8,
        )
    pauses = [(c.result.metric("gc_pause_s") or 0.0) / scale for c in rows]
    stacked = not log and any(p > 0 for p in pauses)
    if stacked:  # the collector's part of each bar, drawn over its start (a log axis would distort it)
        for i, pause in enumerate(pauses):
            width = min(pause, max(values[i] - left, 0.0))
            if width > 0:
                ax.barh(i, width, left=left, height=0.66, color="#00000055", edgecolor="white", linewidth=0)
    ax.errorbar(values, range(len(rows)), xerr=[lows, highs], fmt="none", ecolor="#222222", elinewidth=1, capsize=3)
    for i, cell in enumerate(rows):
        ax.annotate(
            bar_text(cell, verdict.baseline),
            (values[i] + highs[i], i),
            xytext=(5, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(range(len(rows)), [c.label for c in rows])
    ax.invert_yaxis()
    if log:
        figures.log_axis(ax, "x")
        ax.set_xlim(left, largest * 10)
    else:
        ax.set_xlim(0, largest * 1.9)
    if ideal is not None:
        ax.axvline(left, color="#333333", linewidth=1.6)
        name = f"round time above the ideal of {fmt.seconds(ideal)}"
    else:
        name = "median round time"
    axis = figures.axis_label(name, unit, log)
    ax.set_xlabel(
        f"{axis}\nbars: medians; whiskers: 95% bootstrap interval of the median; cross-hatched: reference "
        "scheduler\nstriped: a second variant of the model; hollow: the cell did not measure the model"
        + ("\nshaded start of a bar: the collector's pauses inside the window (median)" if stacked else "")
    )
    stem = "group_" + slug(group)
    figures.save(fig, out, stem)
    question = (
        f"Which model does the identical {workload} work ({param_text(first.params)}) fastest, and is it separated?"
    )
    return Figure(stem, title, question, workload, group=group)


def percentile_charts(run: Run, workload: str, results: list[Result], out: Path) -> list[Figure]:
    """Per message size (or other fixed parameters): p50..p99.9 per model, one panel per connection count."""
    keys = latency_keys(results)
    have = [r for r in results if any(r.metric(k) is not None for k in keys)]
    if not have:
        return []
    panel_key = "connections" if "connections" in varying(have) else None
    figure_keys = panel_keys(have, panel_key) if panel_key else list(varying(have))
    figures: dict[tuple[object, ...], list[Result]] = {}
    for result in have:
        figures.setdefault(tuple(result.params.get(k) for k in figure_keys), []).append(result)
    charts = []
    for fixed, members in sorted(figures.items(), key=lambda item: [value_key(v) for v in item[0]]):
        charts.append(
            _latency_figure(run, workload, dict(zip(figure_keys, fixed, strict=True)), panel_key, members, out)
        )
    return charts


def _latency_figure(
    run: Run, workload: str, fixed: dict[str, object], panel_key: str | None, results: list[Result], out: Path
) -> Figure:
    panels = sorted({r.params.get(panel_key) for r in results} if panel_key else {None}, key=value_key)
    fig = figures.new_figure(max(7.5, 0.6 + 3.6 * len(panels)), 5.2)
    shown = {**constant_params(results), **fixed}
    shown.pop(panel_key or "", None)
    title = f"{workload} latency percentiles — {param_text(shown)}"
    figures.set_title(fig, title, run)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    keys = latency_keys(results)
    schema = run.schemas.get(workload)
    values = [v for r in results for k in keys if (v := r.metric(k)) is not None]
    scale, unit = fmt.time_unit_for(values)
    labels = series_order(results)
    for ax, panel in zip(axes, panels, strict=True):
        figures.style_axes(ax)
        members = [r for r in results if panel_key is None or r.params.get(panel_key) == panel]
        for label in labels:
            for result in (r for r in members if r.label == label):
                points = [(i, v / scale) for i, k in enumerate(keys) if (v := result.metric(k)) is not None]
                style = figures.series_style(result, results)
                ax.plot(
                    [p[0] for p in points],
                    [p[1] for p in points],
                    marker=style.marker,
                    color=style.colour,
                    linestyle=style.linestyle,
                    markersize=5,
                    linewidth=1.4,
                    markerfacecolor="white" if result.bound else style.colour,
                )
        figures.log_axis(ax, "y")
        ax.set_xticks(range(len(keys)), [metric_label(k, schema) for k in keys])
        ax.set_title(f"{panel_key}={panel}" if panel_key else "")
        ax.set_xlabel("percentile of the round trips")
        ax.set_ylabel(figures.axis_label("round-trip latency", unit, True))
    figures.add_legend(fig, results, labels)
    stem = f"{slug(workload)}_latency" + ("_" + slug(param_text(fixed)) if fixed else "")
    figures.save(fig, out, stem)
    question = (
        f"How long does one {workload} round trip take for a typical (p50) and an unlucky (p99, p99.9) message, "
        f"per model and connection count?"
    )
    return Figure(stem, title, question, workload)


def _floor_log10(value: float) -> int:
    return math.floor(math.log10(value))
