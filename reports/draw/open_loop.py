"""The open-loop latency charts of ``tcp_latency`` and ``http_latency``, drawn from the saved JSON only.

Per workload and parameter set (connections, message or body size, IO call):

- the hockey stick: p50 and p99 latency against offered load, one line per model (log x, log y);
- the ranking at equal load: p99 at each rate common to every server, best first;
- the capacity under each latency target (p99 <= 1 ms, <= 10 ms) as bars, highest first.

What is measured, ranked and a lower bound is judged in ``reports.judge.latency``: points where the
generator fell behind its schedule (``generator_limited``) are drawn hollow; a capacity that is only a
lower bound is drawn hatched and labelled "≥". Uses matplotlib's ``Axes.plot``/``barh`` on figures
from ``reports.draw.figures``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reports.draw import figures
from reports.judge.groups import series_order, value_key
from reports.judge.latency import (
    TARGETS,
    capacities,
    common_rates,
    open_loop_results,
    p99_at,
    rate_unit,
    rates,
)
from reports.read.run import Result, Run
from reports.write import fmt
from reports.write.document import Figure
from reports.write.fmt import param_text, slug

TIMING_PARAMS = ("duration_s", "warmup_s")
"""Parameters that set how long each rate runs, not what is measured: left out of the titles."""


def open_loop_charts(run: Run, out: Path) -> list[Figure]:
    """Every open-loop chart of ``run`` (none when the run has no open-loop cell)."""
    by_params: dict[tuple[Any, ...], list[Result]] = {}
    for result in open_loop_results(run):
        by_params.setdefault((result.workload, *result.params.items()), []).append(result)
    charts: list[Figure] = []
    with figures.chart_style():
        for key in sorted(by_params, key=lambda k: (k[0], [value_key(v) for _, v in k[1:]])):
            members = by_params[key]
            workload = key[0]
            fixed = {k: v for k, v in key[1:] if k not in TIMING_PARAMS}
            charts.append(hockey_stick(run, workload, fixed, members, out))
            ranking = common_rate_ranking(run, workload, fixed, members, out)
            if ranking:
                charts.append(ranking)
            charts.append(capacity_bars(run, workload, fixed, members, out))
    return charts


def load_words(workload: str) -> str:
    """``messages/s`` or ``requests/s``: what the workload's offered load counts."""
    return rate_unit(workload).replace("msgs", "messages")


def hockey_stick(run: Run, workload: str, fixed: dict[str, Any], results: list[Result], out: Path) -> Figure:
    title = f"{workload}: latency against offered load — {param_text(fixed)}"
    fig = figures.new_figure(11.0, 5.4)
    figures.set_title(fig, title, run)
    axes = fig.subplots(1, 2, squeeze=False)[0]
    labels = series_order(results)
    values = [m[k] for r in results for m in rates(r) for k in ("latency_p50_s", "latency_p99_s")]
    scale, unit = fmt.time_unit_for(values)
    for ax, key, name in zip(axes, ("latency_p50_s", "latency_p99_s"), ("p50", "p99"), strict=True):
        figures.style_axes(ax)
        for label in labels:
            for result in (r for r in results if r.label == label):
                style = figures.series_style(result, results)
                points = rates(result)
                xs = [m["offered_msgs_per_s"] for m in points]
                ys = [m[key] / scale for m in points]
                ax.plot(xs, ys, color=style.colour, linestyle=style.linestyle, linewidth=1.3)
                for x, y, m in zip(xs, ys, points, strict=True):
                    hollow = bool(m.get("generator_limited"))
                    ax.plot(
                        [x],
                        [y],
                        marker=style.marker,
                        color=style.colour,
                        markersize=5,
                        markerfacecolor="white" if hollow else style.colour,
                    )
        for target_s in (1e-3, 10e-3):
            ax.axhline(target_s / scale, color="#888888", linewidth=0.8, linestyle=":")
        figures.log_axis(ax, "x")
        figures.log_axis(ax, "y")
        ax.set_xlabel(f"offered load ({load_words(workload)}, log scale)")
        ax.set_ylabel(f"{name} latency from scheduled send ({unit}, log scale)")
        ax.set_title(f"{name}; dotted: 1 ms and 10 ms; hollow: generator behind its schedule")
    figures.add_legend(fig, results, labels)
    stem = f"{workload}_hockey_stick_" + slug(param_text(fixed))
    figures.save(fig, out, stem)
    question = "At each offered load, what latency does each model's server give, and where does it fall off a cliff?"
    return Figure(stem, title, question, workload)


def common_rate_ranking(
    run: Run, workload: str, fixed: dict[str, Any], results: list[Result], out: Path
) -> Figure | None:
    common = common_rates(results)
    if not common:
        return None
    title = f"{workload}: p99 at the load common to every server — {param_text(fixed)}"
    fig = figures.new_figure(4.6 * len(common) + 1.5, 1.6 + 0.4 * len(results))
    figures.set_title(fig, title, run)
    axes = fig.subplots(1, len(common), squeeze=False)[0]
    for ax, rate in zip(axes, common, strict=True):
        figures.style_axes(ax)
        ax.grid(axis="y", visible=False)
        rows = p99_at(results, rate)
        scale, unit = fmt.time_unit_for([row[0] for row in rows])
        for i, (p99, result, limited) in enumerate(rows):
            style = figures.series_style(result, results)
            ax.barh(
                i,
                p99 / scale,
                height=0.66,
                color="white" if limited else style.colour,
                edgecolor=style.colour,
                hatch=style.hatch,
            )
            note = fmt.seconds(p99) + (" (generator behind, not ranked)" if limited else "")
            ax.annotate(note, (p99 / scale, i), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
        ax.set_yticks(range(len(rows)), [row[1].label for row in rows])
        ax.invert_yaxis()
        figures.log_axis(ax, "x")
        ax.set_xlabel(f"p99 latency ({unit}, log scale)")
        ax.set_title(f"offered {rate:,.0f} {load_words(workload)}")
    stem = f"{workload}_p99_at_common_rates_" + slug(param_text(fixed))
    figures.save(fig, out, stem)
    question = "At the same offered load for every server, which gives the lowest p99 latency?"
    return Figure(stem, title, question, workload)


def capacity_bars(run: Run, workload: str, fixed: dict[str, Any], results: list[Result], out: Path) -> Figure:
    title = f"{workload}: capacity under a latency target — {param_text(fixed)}"
    fig = figures.new_figure(11.0, 1.6 + 0.4 * len(results))
    figures.set_title(fig, title, run)
    axes = fig.subplots(1, len(TARGETS), squeeze=False)[0]
    for ax, (name, label) in zip(axes, TARGETS, strict=True):
        figures.style_axes(ax)
        ax.grid(axis="y", visible=False)
        rows = capacities(results, name)
        for i, (value, result, lower_bound) in enumerate(rows):
            style = figures.series_style(result, results)
            ax.barh(
                i,
                value,
                height=0.66,
                color="white" if lower_bound else style.colour,
                edgecolor=style.colour,
                hatch="//" if lower_bound else style.hatch,
            )
            text = ("≥ " if lower_bound else "") + f"{value:,.0f}/s"
            ax.annotate(text, (value, i), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
        ax.set_yticks(range(len(rows)), [row[1].label for row in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, max((row[0] for row in rows), default=1.0) * 1.3 or 1.0)
        ax.set_xlabel(f"highest offered load within the target ({load_words(workload)})")
        ax.set_title(f"{label}; hatched ≥: a lower bound (generator behind, or beyond the search)")
    stem = f"{workload}_capacity_" + slug(param_text(fixed))
    figures.save(fig, out, stem)
    question = "How much load does each model's server take while keeping its p99 within 1 ms, and within 10 ms?"
    return Figure(stem, title, question, workload)
