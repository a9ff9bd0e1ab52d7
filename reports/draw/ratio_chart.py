"""The comparison chart: one row per benchmark, the NEW/OLD ratio of medians on a log axis with its interval,
filled when the change is real, hollow when it is within the noise (matplotlib ``errorbar``/``scatter``).
The changes are judged by ``reports.judge.compare``.
"""

from __future__ import annotations

from pathlib import Path

from reports.draw import figures
from reports.judge.compare import NOISE, Change, Comparison
from reports.judge.groups import varying
from reports.write.document import Figure
from reports.write.fmt import param_text, slug

FINE_TICKS = (0.5, 0.67, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 2)
COARSE_TICKS = (0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 1, 1.5, 2, 3, 4, 5, 10)


def comparison_charts(comparison: Comparison, out: Path) -> list[Figure]:
    """One chart per workload: every benchmark's NEW/OLD ratio with its interval."""
    per_workload: dict[str, list[Change]] = {}
    for change in comparison.changes:
        per_workload.setdefault(change.new.workload, []).append(change)
    with figures.chart_style():
        return [_workload_chart(comparison, workload, changes, out) for workload, changes in per_workload.items()]


def _workload_chart(comparison: Comparison, workload: str, changes: list[Change], out: Path) -> Figure:
    title = f"{workload}: run {comparison.new.short_id} against run {comparison.old.short_id}"
    fig = figures.new_figure(9.0, 1.9 + 0.27 * len(changes))
    old_machine, new_machine = comparison.old.machine.short, comparison.new.machine.short
    machines = new_machine if old_machine == new_machine else f"{old_machine} → {new_machine}"
    figures.set_title_lines(fig, title, f"{machines} · {comparison.old.date} → {comparison.new.date} UTC")
    ax = fig.add_subplot()
    figures.style_axes(ax)
    everything = [c.new for c in changes]
    shown_params = list(varying(everything))
    previous_group = None
    for row, change in enumerate(changes):
        style = figures.series_style(change.new, everything)
        if previous_group is not None and change.new.group != previous_group:
            ax.axhline(row - 0.5, color="#d0d7de", linewidth=0.8)
        previous_group = change.new.group
        if change.ci is not None:
            ax.errorbar(
                [change.ratio],
                [row],
                fmt="none",
                ecolor=style.colour,
                elinewidth=1.3,
                capsize=2.5,
                xerr=[[max(change.ratio - change.ci[0], 0.0)], [max(change.ci[1] - change.ratio, 0.0)]],
            )
        ax.scatter(
            [change.ratio],
            [row],
            s=42,
            marker=style.marker,
            zorder=3,
            edgecolors=style.colour,
            linewidths=1.4,
            facecolors="white" if change.verdict == NOISE else style.colour,
        )
    labels = [
        " · ".join(filter(None, (param_text({k: c.new.params.get(k) for k in shown_params}), c.new.label)))
        for c in changes
    ]
    ax.set_yticks(range(len(changes)), labels, fontsize=8.5)
    ax.set_ylim(len(changes) - 0.5, -0.5)
    ax.grid(axis="y", visible=False)
    ax.axvline(1.0, color="#444444", linewidth=1)
    ratios = [v for c in changes for v in (c.ratio, *(c.ci or ())) if v > 0]
    span = max(max(ratios), 1 / min(ratios), 1.1) * 1.05
    ax.set_xscale("log")
    ax.set_xlim(1 / span, span)
    ticks = [t for t in (FINE_TICKS if span < 1.8 else COARSE_TICKS) if 1 / span <= t <= span]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel(
        "median time NEW / OLD (log scale; left of 1 = faster)\nbars: 95% bootstrap interval; "
        "filled = real change, hollow = within noise"
    )
    stem = f"comparison_{slug(workload)}"
    figures.save(fig, out, stem)
    question = (
        f"Which {workload} benchmarks got faster or slower between the two runs, and which differences are noise?"
    )
    return Figure(stem, title, question, workload)
