"""Compare two runs: per benchmark, the ratio of medians NEW/OLD and whether it is more than noise.

Benchmarks are matched by group and series label (model and variant). From the raw round times
(``stats.data``) each pair gets a two-sided Mann-Whitney U p-value, adjusted over all pairs with
Benjamini-Hochberg, and a bootstrap 95% interval of the median ratio (``reports.stats``, stdlib
only); a change counts as real only when the adjusted p < 0.05 and the interval excludes 1.
Without raw data the interquartile ranges are compared instead (said so in the report).
The comparison chart has one row per benchmark: the ratio on a log axis with its interval, filled
when the change is real, hollow when it is within the noise (matplotlib ``errorbar``/``scatter``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from reports import fmt
from reports.figures import (
    Chart,
    chart_style,
    new_figure,
    param_text,
    save,
    series_style,
    set_title_lines,
    slug,
    style_axes,
)
from reports.groups import by_group, varying
from reports.load import Result, Run
from reports.stats import benjamini_hochberg, bootstrap_ratio_ci, mann_whitney, smallest_p

ALPHA = 0.05
FINE_TICKS = (0.5, 0.67, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 2)
COARSE_TICKS = (0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 1, 1.5, 2, 3, 4, 5, 10)
FASTER, SLOWER, NOISE = "faster", "slower", "within noise"


@dataclass(frozen=True)
class Change:
    old: Result
    new: Result
    ratio: float
    """median(new) / median(old): below 1 is faster."""
    ci: tuple[float, float] | None
    p_value: float | None
    """Mann-Whitney p-value adjusted over every pair of the comparison (Benjamini-Hochberg)."""
    verdict: str

    @property
    def method(self) -> str:
        return "Mann-Whitney U + bootstrap CI" if self.p_value is not None else "interquartile ranges (no raw data)"


@dataclass(frozen=True)
class Comparison:
    old: Run
    new: Run
    changes: list[Change]
    only_old: list[Result]
    only_new: list[Result]

    @property
    def too_few_rounds(self) -> bool:
        """True when some pair has so few rounds that no change could reach significance."""
        return any(
            c.p_value is not None and smallest_p(len(c.old.stats.data), len(c.new.stats.data)) > ALPHA
            for c in self.changes
        )


def compare_runs(old: Run, new: Run) -> Comparison:
    old_by_key = {r.key: r for r in old.results}
    new_by_key = {r.key: r for r in new.results}
    changes = []
    for group, results in by_group(new.results).items():
        for result in sorted(results, key=lambda r: r.label):
            before = old_by_key.get((group, result.label))
            if before is not None:
                changes.append(assess(before, result))
    changes = _adjust(changes)
    only_old = [r for key, r in old_by_key.items() if key not in new_by_key]
    only_new = [r for key, r in new_by_key.items() if key not in old_by_key]
    return Comparison(old, new, changes, only_old, only_new)


def assess(old: Result, new: Result) -> Change:
    """One pair on its own (p-value not yet adjusted for the other pairs)."""
    ratio = new.stats.median / old.stats.median if old.stats.median > 0 else float("inf")
    a, b = old.stats.data, new.stats.data
    if len(a) >= 2 and len(b) >= 2:
        p = mann_whitney(a, b)
        return _judged(Change(old, new, ratio, bootstrap_ratio_ci(a, b), p, NOISE))
    if new.stats.q3 < old.stats.q1:
        verdict = FASTER
    elif new.stats.q1 > old.stats.q3:
        verdict = SLOWER
    else:
        verdict = NOISE
    return Change(old, new, ratio, None, None, verdict)


def _judged(change: Change) -> Change:
    if change.p_value is None or change.ci is None:
        return change
    real = change.p_value < ALPHA and not (change.ci[0] <= 1.0 <= change.ci[1])
    return replace(change, verdict=(FASTER if change.ratio < 1 else SLOWER) if real else NOISE)


def _adjust(changes: list[Change]) -> list[Change]:
    tested = [i for i, c in enumerate(changes) if c.p_value is not None]
    adjusted = benjamini_hochberg([changes[i].p_value or 0.0 for i in tested])
    out = list(changes)
    for i, q in zip(tested, adjusted, strict=True):
        out[i] = _judged(replace(changes[i], p_value=q))
    return out


def describe(change: Change) -> str:
    """'1.43x faster', '1.25x slower' or 'within noise (1.02x)'."""
    if change.verdict == NOISE:
        return f"within noise ({change.ratio:.2f}x)"
    factor = 1 / change.ratio if change.verdict == FASTER else change.ratio
    return f"{fmt.ratio(factor)} {change.verdict}"


def comparison_charts(comparison: Comparison, out: Path) -> list[Chart]:
    """One chart per workload: every benchmark's NEW/OLD ratio with its interval."""
    per_workload: dict[str, list[Change]] = {}
    for change in comparison.changes:
        per_workload.setdefault(change.new.workload, []).append(change)
    with chart_style():
        return [_workload_chart(comparison, workload, changes, out) for workload, changes in per_workload.items()]


def _workload_chart(comparison: Comparison, workload: str, changes: list[Change], out: Path) -> Chart:
    title = f"{workload}: run {comparison.new.short_id} against run {comparison.old.short_id}"
    fig = new_figure(9.0, 1.9 + 0.27 * len(changes))
    old_machine, new_machine = comparison.old.machine.short, comparison.new.machine.short
    machines = new_machine if old_machine == new_machine else f"{old_machine} → {new_machine}"
    set_title_lines(fig, title, f"{machines} · {comparison.old.date} → {comparison.new.date} UTC")
    ax = fig.add_subplot()
    style_axes(ax)
    everything = [c.new for c in changes]
    shown_params = list(varying(everything))
    previous_group = None
    for row, change in enumerate(changes):
        style = series_style(change.new, everything)
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
    save(fig, out, stem)
    question = (
        f"Which {workload} benchmarks got faster or slower between the two runs, and which differences are noise?"
    )
    return Chart(stem, title, question, workload)
