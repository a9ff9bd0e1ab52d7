"""Scaling and memory charts: one metric against one parameter (log x), one line per model.

Each ``Spec`` names a workload, a metric key and the parameter on the x axis. Parameters other than
x that vary between results (e.g. ``message_size`` for echo) give one panel each; parameters that are
the same everywhere go in the title. A spec is skipped when its workload, metric or parameter is
absent or x takes fewer than two values. Points flagged client- or server-bound are drawn hollow. Uses
matplotlib's ``Axes.plot`` with log axes on figures from ``reports.figures``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from matplotlib.axes import Axes

from reports import fmt
from reports.figures import (
    Chart,
    add_legend,
    log_axis,
    new_figure,
    param_text,
    save,
    series_style,
    set_title,
    slug,
    style_axes,
)
from reports.groups import constant_params, derived_keys, panel_keys, series_order, value_key
from reports.load import Result, Run
from reports.metrics import label as metric_label

LOG_Y_SPREAD = 8.0


@dataclass(frozen=True)
class Spec:
    workload: str
    metric: str
    x: str
    name: str
    question: str
    section: str = ""
    guides: bool = False
    """Draw the one-core and all-cores ideals (speed-up charts)."""


SPECS = (
    Spec(
        "sleep_fanout",
        "overhead_per_task_s",
        "n",
        "overhead_vs_n",
        "How much time does each model add per task, and does that cost grow as the number of tasks grows?",
    ),
    Spec(
        "tcp_echo",
        "throughput_msgs_per_s",
        "connections",
        "throughput_vs_connections",
        "How many echoes per second does each model's server sustain as connections grow, for each message size?",
    ),
    Spec(
        "tcp_echo",
        "server_cpu_per_msg_s",
        "connections",
        "server_cpu_per_msg",
        "How much server CPU time does each model spend per echoed message?",
    ),
    Spec(
        "tcp_client",
        "throughput_msgs_per_s",
        "connections",
        "throughput_vs_connections",
        "How many round trips per second can each model drive as a client as connections grow?",
    ),
    Spec(
        "timeout_cancel",
        "cancel_cost_per_task_s",
        "n",
        "cancel_cost_vs_n",
        "What does cancelling a task on timeout cost per task in each model, as the number of tasks grows?",
    ),
    Spec(
        "cpu_mixed",
        "speedup_vs_one_core",
        "work",
        "speedup_vs_work",
        "As each task's CPU work after its IO grows, which models stay near one core's ideal and which use more "
        "cores (above 1)?",
        guides=True,
    ),
    Spec(
        "sleep_fanout",
        "rss_per_task_bytes",
        "n",
        "memory_per_task",
        "How many bytes of memory does each concurrent task cost in each model?",
        "memory",
    ),
    Spec(
        "timeout_cancel",
        "rss_per_task_bytes",
        "n",
        "memory_per_task",
        "How many bytes of memory does each cancelled task cost in each model?",
        "memory",
    ),
    Spec(
        "tcp_echo",
        "rss_per_connection_bytes",
        "connections",
        "memory_per_connection",
        "How many bytes of server memory does each open connection cost in each model?",
        "memory",
    ),
    Spec(
        "tcp_client",
        "rss_per_connection_bytes",
        "connections",
        "memory_per_connection",
        "How many bytes of client memory does each open connection cost in each model?",
        "memory",
    ),
)


def scaling_charts(run: Run, workload: str, results: list[Result], out: Path) -> list[Chart]:
    charts = []
    for spec in SPECS:
        if spec.workload != workload:
            continue
        have = [r for r in results if r.metric(spec.metric) is not None and _is_number(r.params.get(spec.x))]
        if len({r.params[spec.x] for r in have}) >= 2:
            charts.append(line_chart(run, spec, have, out))
    return charts


def line_chart(run: Run, spec: Spec, results: list[Result], out: Path) -> Chart:
    keys = panel_keys(results, spec.x)
    panels: dict[tuple[object, ...], list[Result]] = {}
    for result in results:
        panels.setdefault(tuple(result.params.get(k) for k in keys), []).append(result)
    order = sorted(panels, key=lambda key: [value_key(v) for v in key])
    fixed = {k: v for k, v in constant_params(results).items() if k != spec.x}
    x_name = "N" if spec.x == "n" else spec.x
    context = [param_text(fixed)] if fixed else []
    context += [f"{k} set by {x_name}" for k in derived_keys(results, spec.x)]
    title = f"{spec.workload}: {metric_label(spec.metric)} against {x_name}" + (
        f" — {', '.join(context)}" if context else ""
    )
    fig = new_figure(max(7.5, 0.6 + 4.2 * len(order)), 5.2)
    set_title(fig, title, run)
    axes = fig.subplots(1, len(order), squeeze=False)[0]
    values = [v for r in results if (v := r.metric(spec.metric)) is not None]
    scale, unit = fmt.axis_unit(spec.metric, values)
    positive = [v for v in values if v > 0]
    log_y = bool(positive) and len(positive) == len(values) and max(positive) / min(positive) > LOG_Y_SPREAD
    labels = series_order(results)
    for ax, key in zip(axes, order, strict=True):
        style_axes(ax)
        members = panels[key]
        for label in labels:
            points = sorted((r for r in members if r.label == label), key=lambda r: value_key(r.params[spec.x]))
            if not points:
                continue
            style = series_style(points[0], results)
            xs = [float(r.params[spec.x]) for r in points]
            ys = [(r.metric(spec.metric) or 0.0) / scale for r in points]
            ax.plot(xs, ys, color=style.colour, linestyle=style.linestyle, linewidth=1.5)
            for r, x, y in zip(points, xs, ys, strict=True):
                face = "white" if r.bound else style.colour
                ax.plot([x], [y], marker=style.marker, color=style.colour, markersize=5.5, markerfacecolor=face)
        if spec.guides:
            _draw_guides(ax, spec, members)
        scale_name = _x_axis(ax, sorted({float(r.params[spec.x]) for r in members}))
        if log_y:
            log_axis(ax, "y")
        else:
            ax.set_ylim(bottom=0)
        ax.set_xlabel(f"{x_name}{scale_name}")
        ax.set_ylabel(f"{metric_label(spec.metric)}" + (f" ({unit})" if unit else ""))
        ax.set_title(param_text(dict(zip(keys, key, strict=True))))
        if spec.guides:
            ax.legend(loc="best", fontsize=8, frameon=False)
    add_legend(fig, results, labels)
    stem = f"{slug(spec.workload)}_{spec.name}"
    save(fig, out, stem)
    return Chart(stem, title, spec.question, spec.section or spec.workload)


def _x_axis(ax: Axes, ticks: list[float]) -> str:
    """Log x when the values span a decade or more (symlog when 0 is among them); return the axis note."""
    positive = [t for t in ticks if t > 0]
    note = ""
    if len(positive) >= 2 and max(positive) / min(positive) >= 10:
        if len(positive) == len(ticks):
            ax.set_xscale("log")
            note = " (log scale)"
        else:
            ax.set_xscale("symlog", linthresh=min(positive))
            note = " (log scale above the first step)"
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    return note


def _draw_guides(ax: Axes, spec: Spec, members: list[Result]) -> None:
    """Reference lines for speed-up charts: one core's ideal (1.0) and the all-cores ideal per x."""
    ax.axhline(1.0, color="#555555", linewidth=1, linestyle=":", label="ideal on one core")
    per_x: dict[float, list[float]] = {}
    for r in members:
        one, every = r.metric("ideal_one_core_s"), r.metric("ideal_all_cores_s")
        if one and every:
            per_x.setdefault(float(r.params[spec.x]), []).append(one / every)
    if per_x:
        xs = sorted(per_x)
        ys = [statistics.median(per_x[x]) for x in xs]
        ax.plot(xs, ys, color="#555555", linewidth=1.2, linestyle="--", label="ideal on all cores")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
