"""The charts of one run: a ranked bar chart per group, latency percentiles, plus the scaling charts.

``make_charts`` decides which charts a run gets and writes each as PNG and SVG: every group gets its
bar chart whatever its workload; the scaling and memory charts come from ``reports.scaling``; echo
results get latency-percentile charts. A chart whose metric no result carries is skipped. Uses
matplotlib's ``Axes.barh``/``errorbar``/``plot`` on figures from ``reports.figures``.
"""

from __future__ import annotations

import math
from pathlib import Path

from reports import fmt
from reports.figures import (
    Chart,
    add_legend,
    chart_style,
    log_axis,
    new_figure,
    param_text,
    save,
    series_style,
    set_title,
    slug,
    style_axes,
)
from reports.groups import by_group, by_workload, constant_params, panel_keys, ranked, series_order, value_key, varying
from reports.load import Result, Run
from reports.metrics import LABELS, LATENCY_KEYS
from reports.scaling import scaling_charts

LOG_SCALE_SPREAD = 30.0
"""Use a log axis when the largest value is this many times the smallest."""


def make_charts(run: Run, out: Path) -> list[Chart]:
    """Write every chart for ``run`` into ``out``; return them in report order."""
    charts: list[Chart] = []
    with chart_style():
        for workload, results in by_workload(run.results).items():
            charts.extend(scaling_charts(run, workload, results, out))
            charts.extend(latency_charts(run, workload, results, out))
        for group, results in by_group(run.results).items():
            charts.append(group_chart(run, group, results, out))
    return charts


def group_chart(run: Run, group: str, results: list[Result], out: Path) -> Chart:
    """Horizontal bars, fastest on top: median round time with interquartile whiskers."""
    rows = ranked(results)
    workload = rows[0].workload
    title = f"{workload} — {param_text(rows[0].params) or group}"
    fig = new_figure(8.6, 1.5 + 0.42 * len(rows))
    set_title(fig, title, run)
    ax = fig.add_subplot()
    style_axes(ax)
    ax.grid(axis="y", visible=False)
    scale, unit = fmt.time_unit_for([r.stats.q3 for r in rows])
    medians = [r.stats.median / scale for r in rows]
    lows = [max(r.stats.median - r.stats.q1, 0.0) / scale for r in rows]
    highs = [max(r.stats.q3 - r.stats.median, 0.0) / scale for r in rows]
    smallest = min(r.stats.q1 for r in rows) / scale
    largest = max(r.stats.q3 for r in rows) / scale
    log = smallest > 0 and largest / smallest > LOG_SCALE_SPREAD
    left = 10 ** _floor_log10(smallest) if log else 0.0
    for i, result in enumerate(rows):
        style = series_style(result, rows)
        ax.barh(
            i,
            medians[i] - left,
            left=left,
            height=0.66,
            color=style.colour,
            hatch=style.hatch,
            edgecolor="white",
            linewidth=0.8,
        )
    ax.errorbar(medians, range(len(rows)), xerr=[lows, highs], fmt="none", ecolor="#222222", elinewidth=1, capsize=3)
    fastest = rows[0].stats.median
    for i, result in enumerate(rows):
        text = f"{fmt.seconds(result.stats.median)}  ({fmt.ratio(result.stats.median / fastest)})"
        ax.annotate(
            text, (medians[i] + highs[i], i), xytext=(5, 0), textcoords="offset points", va="center", fontsize=8.5
        )
    labels = [r.label + (f" ({r.bound})" if r.bound else "") for r in rows]
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    if log:
        log_axis(ax, "x")
        ax.set_xlim(left, largest * 4)
    else:
        ax.set_xlim(0, largest * 1.32)
    axis = f"median round time ({unit}{', log scale' if log else ''})"
    ax.set_xlabel(f"{axis}; whiskers: interquartile range; (Nx) = multiple of the fastest")
    stem = "group_" + slug(group)
    save(fig, out, stem)
    question = (
        f"Which model does the identical {workload} work ({param_text(rows[0].params)}) fastest, and by how much?"
    )
    return Chart(stem, title, question, workload)


def latency_charts(run: Run, workload: str, results: list[Result], out: Path) -> list[Chart]:
    """Per message size (or other fixed parameters): p50..p99.9 per model, one panel per connection count."""
    have = [r for r in results if any(r.metric(k) is not None for k in LATENCY_KEYS)]
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
) -> Chart:
    panels = sorted({r.params.get(panel_key) for r in results} if panel_key else {None}, key=value_key)
    fig = new_figure(max(7.5, 0.6 + 3.6 * len(panels)), 5.2)
    shown = {**constant_params(results), **fixed}
    shown.pop(panel_key or "", None)
    title = f"{workload} latency percentiles — {param_text(shown)}"
    set_title(fig, title, run)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    values = [v for r in results for k in LATENCY_KEYS if (v := r.metric(k)) is not None]
    scale, unit = fmt.time_unit_for(values)
    labels = series_order(results)
    for ax, panel in zip(axes, panels, strict=True):
        style_axes(ax)
        members = [r for r in results if panel_key is None or r.params.get(panel_key) == panel]
        for label in labels:
            for result in (r for r in members if r.label == label):
                points = [(i, v / scale) for i, k in enumerate(LATENCY_KEYS) if (v := result.metric(k)) is not None]
                style = series_style(result, results)
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
        log_axis(ax, "y")
        ax.set_xticks(range(len(LATENCY_KEYS)), [LABELS[k] for k in LATENCY_KEYS])
        ax.set_title(f"{panel_key}={panel}" if panel_key else "")
        ax.set_ylabel(f"round-trip latency ({unit})")
    add_legend(fig, results, labels)
    stem = f"{slug(workload)}_latency" + ("_" + slug(param_text(fixed)) if fixed else "")
    save(fig, out, stem)
    question = (
        f"How long does one {workload} round trip take for a typical (p50) and an unlucky (p99, p99.9) message, "
        f"per model and connection count?"
    )
    return Chart(stem, title, question, workload)


def _floor_log10(value: float) -> int:
    return math.floor(math.log10(value))
