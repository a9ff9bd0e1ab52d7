"""Scaling and memory charts: one metric against one parameter (log x), one line per model.

The charts come from the run's workload schemas (``charts``: metric, x, name, question, guides,
section), so a new workload gets its charts without code here. Parameters other than x that vary (e.g.
``message_size``) give one panel each; fixed ones go in the title. A chart is skipped when its metric or
parameter is absent or x takes fewer than two values. Readability: the baseline, the two best and the
worst series at the largest x are coloured, the rest greyed; every line carries a direct label at its
end instead of a legend; axes of time, bytes and rates are always logarithmic and say so; per-unit
memory charts draw their resolution (one page over N) and put figures below it on that line; speed-up
charts draw the one-core and all-cores ideals. Points of cells that did not measure the side under test
are hollow. Uses matplotlib's ``Axes.plot``/``annotate`` on figures from ``reports.draw.figures``.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from matplotlib.axes import Axes

from reports.draw import figures
from reports.judge.groups import constant_params, derived_keys, panel_keys, series_order, value_key
from reports.judge.memory import PAGE_BYTES
from reports.judge.metrics import higher_is_better
from reports.judge.metrics import label as metric_label
from reports.judge.metrics import unit as metric_unit
from reports.read.run import Result, Run
from reports.read.schemas import ChartSpec, WorkloadSchema
from reports.write import fmt
from reports.write.document import Figure
from reports.write.fmt import param_text, slug

LOG_UNITS = frozenset({"s", "bytes", "msgs/s", "bytes/s", "/s"})
"""Units whose charts always use a log y axis (one scale type per chart kind)."""
GREY = "#b8b8b8"
HIGHLIGHTED = 4


def scaling_charts(run: Run, workload: str, results: list[Result], out: Path) -> list[Figure]:
    schema = run.schemas.get(workload)
    charts = []
    for spec in schema.charts if schema is not None else ():
        have = [r for r in results if r.metric(spec.metric) is not None and _numeric_param(r.params.get(spec.x))]
        if len({r.params[spec.x] for r in have}) >= 2:
            charts.append(line_chart(run, spec, schema, have, out))
    return charts


def highlighted(results: list[Result], spec: ChartSpec, schema: WorkloadSchema | None) -> set[str]:
    """The baseline, the two best and the worst series at the largest x (cells that measured the model)."""
    top = max(float(r.params[spec.x]) for r in results)
    at_top = [
        r
        for r in results
        if float(r.params[spec.x]) == top and r.bottleneck == "under_test" and not r.reference_scheduler
    ]
    best_first = sorted(
        at_top, key=lambda r: r.metric(spec.metric) or 0.0, reverse=higher_is_better(spec.metric, schema)
    )
    chosen = {r.label for r in results if r.model == "asyncio" and r.default_variant}
    for r in [*best_first[:2], *best_first[-1:]]:
        if len(chosen) < HIGHLIGHTED:
            chosen.add(r.label)
    return chosen


def line_chart(run: Run, spec: ChartSpec, schema: WorkloadSchema | None, results: list[Result], out: Path) -> Figure:
    keys = panel_keys(results, spec.x)
    panels: dict[tuple[object, ...], list[Result]] = {}
    for result in results:
        panels.setdefault(tuple(result.params.get(k) for k in keys), []).append(result)
    order = sorted(panels, key=lambda key: [value_key(v) for v in key])
    fixed = {k: v for k, v in constant_params(results).items() if k != spec.x}
    x_name = "N" if spec.x == "n" else spec.x
    context = [param_text(fixed)] if fixed else []
    context += [f"{k} set by {x_name}" for k in derived_keys(results, spec.x)]
    name = metric_label(spec.metric, schema)
    title = f"{spec.workload}: {name} against {x_name}" + (f" — {', '.join(context)}" if context else "")
    fig = figures.new_figure(max(7.5, 1.6 + 4.6 * len(order)), 5.0)
    figures.set_title(fig, title, run)
    axes = fig.subplots(1, len(order), squeeze=False)[0]
    unit = metric_unit(spec.metric, schema)
    values = [v for r in results if (v := r.metric(spec.metric)) is not None]
    scale, unit_text = fmt.axis_unit(spec.metric, values)
    floor = _resolution_floor(unit, spec, results)
    log_y = unit in LOG_UNITS and (floor is not None or all(v > 0 for v in values))
    coloured = highlighted(results, spec, schema)
    labels = series_order(results)
    for ax, key in zip(axes, order, strict=True):
        figures.style_axes(ax)
        ends: list[tuple[str, float, float, str]] = []
        for label in labels:
            points = sorted((r for r in panels[key] if r.label == label), key=lambda r: value_key(r.params[spec.x]))
            if not points:
                continue
            style = figures.series_style(points[0], results)
            colour = style.colour if label in coloured else GREY
            xs = [float(r.params[spec.x]) for r in points]
            ys = [_floored(r, spec, floor) / scale for r in points]
            ax.plot(
                xs,
                ys,
                color=colour,
                linestyle=style.linestyle,
                linewidth=1.8 if label in coloured else 1.0,
                zorder=3 if label in coloured else 2,
            )
            for r, x, y in zip(points, xs, ys, strict=True):
                face = "white" if r.bound else colour
                ax.plot([x], [y], marker=style.marker, color=colour, markersize=5, markerfacecolor=face, zorder=4)
            ends.append((label, xs[-1], ys[-1], colour if label in coloured else "#7a7a7a"))
        if spec.guides:
            _draw_guides(ax, spec, panels[key])
        if floor is not None:
            _draw_resolution(ax, spec, panels[key], scale)
        scale_name = _x_axis(ax, sorted({float(r.params[spec.x]) for r in panels[key]}))
        if log_y:
            figures.log_axis(ax, "y")
        else:
            ax.set_ylim(bottom=0)
        ax.set_xlabel(f"{x_name}{scale_name}")
        ax.set_ylabel(figures.axis_label(name, unit_text, log_y))
        ax.set_title(param_text(dict(zip(keys, key, strict=True))))
        if spec.guides or floor is not None:
            ax.legend(loc="best", fontsize=7.5, frameon=False)
        figures.direct_labels(ax, ends)
    better = "higher is better" if higher_is_better(spec.metric, schema) else "lower is better"
    fig.supxlabel(
        f"{better} · grey: the other models · hollow marker: the cell did not measure the model",
        fontsize=7.5,
        color="#555555",
    )
    stem = f"{slug(spec.workload)}_{spec.name}"
    figures.save(fig, out, stem)
    return Figure(stem, title, spec.question, spec.section or spec.workload, chart=f"{spec.workload}.{spec.name}")


def _resolution_floor(unit: str, spec: ChartSpec, results: list[Result]) -> float | None:
    """For per-unit bytes charted against their unit count: the smallest resolution (page / largest N)."""
    if unit != "bytes" or "_per_" not in spec.metric:
        return None
    return PAGE_BYTES / max(float(r.params[spec.x]) for r in results)


def _floored(result: Result, spec: ChartSpec, floor: float | None) -> float:
    value = result.metric(spec.metric) or 0.0
    if floor is None:
        return value
    return max(value, PAGE_BYTES / float(result.params[spec.x]))


def _draw_resolution(ax: Axes, spec: ChartSpec, members: list[Result], scale: float) -> None:
    xs = sorted({float(r.params[spec.x]) for r in members})
    ax.plot(
        xs,
        [PAGE_BYTES / x / scale for x in xs],
        color="#555555",
        linewidth=1,
        linestyle=":",
        label="resolution: one page / N (figures below sit on it)",
    )


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


def _draw_guides(ax: Axes, spec: ChartSpec, members: list[Result]) -> None:
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


def _numeric_param(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
