"""Generate the "what this means for your choice" bullets from a run's numbers (no hand-written prose).

Every sentence is computed: which model was fastest in how many groups, how far behind the best of
each model family is at the heaviest parameters, whether the leaders are separable from the noise
(overlapping interquartile ranges), the cheapest and dearest model on each workload's headline
metrics (client-bound cells left out), and what a per-task memory cost adds up to. Stdlib only.
"""

from __future__ import annotations

from collections import Counter

from reports import fmt
from reports.figures import param_text
from reports.groups import by_group, by_workload, heaviest, reference
from reports.hybrid_claim import hybrid_sentences
from reports.load import Result, Run
from reports.metrics import higher_is_better
from reports.metrics import label as metric_label
from reports.palette import FAMILY_LABELS, FAMILY_ORDER, family

HEADLINES = {
    "sleep_fanout": ("overhead_per_task_s", "rss_per_task_bytes"),
    "tcp_echo": ("throughput_msgs_per_s", "latency_p99_s", "server_cpu_per_msg_s", "rss_per_connection_bytes"),
    "tcp_client": ("throughput_msgs_per_s", "rss_per_connection_bytes"),
    "timeout_cancel": ("cancel_cost_per_task_s", "rss_per_task_bytes"),
    "cpu_mixed": ("speedup_vs_one_core",),
}
NEAR_TIE = 1.10
"""Groups whose slowest model is within this factor of the fastest do not decide a choice on speed."""
SCALE_OUT_TASKS = 100_000
BOUND_MEANING = {
    "client-bound": "the server under test was not saturated, so the load generator set the pace",
    "server-bound": "the reference server was busy nearly all the round, so it set the pace, not the client",
}


def advice(run: Run) -> list[tuple[str, list[str]]]:
    """Per workload, the generated sentences about it."""
    out = []
    for workload, results in by_workload(run.results).items():
        groups = by_group(results)
        sentences = [*_speed(groups), *_headlines(workload, groups), *_bound(workload, results)]
        if workload == "cpu_mixed":
            sentences += hybrid_sentences(groups)
        out.append((workload, sentences))
    return out


def _speed(groups: dict[str, list[Result]]) -> list[str]:
    ranked_groups = {g: rows for g, rows in ((g, _rankable(rows)) for g, rows in groups.items()) if rows}
    if not ranked_groups:
        return ["Every result was client-bound: this run cannot rank the models on this workload."]
    labels = {r.label for rows in groups.values() for r in rows}
    if len(labels) == 1:
        return [f"Only {labels.pop()} ran on this workload: nothing to compare it with in this run."]
    winners = Counter(rows[0].label for rows in ranked_groups.values())
    total = len(ranked_groups)
    if len(winners) == 1:
        ((best, count),) = winners.items()
        wins = f"**{best}** was fastest in {'every' if total > 1 else 'the'} group ({count} of {total})"
    else:
        wins = "The fastest model depends on the parameters: " + ", ".join(
            f"{label} in {count} of {total} groups" for label, count in winners.most_common()
        )
    skipped = len(groups) - total
    if skipped:
        wins += f"; {skipped} group{'s' if skipped > 1 else ''} left out because every result there was client-bound"
    rows = ranked_groups[heaviest(ranked_groups)]
    where = param_text(rows[0].params)
    base, base_name = reference(rows)
    lines = [f"{wins[0].upper()}{wins[1:]}."]
    bests = []
    for fam in FAMILY_ORDER:
        members = [r for r in rows if family(r.model) == fam]
        if members:
            top = members[0]
            relation = "" if top is base else f", {fmt.relative(top.stats.median, base.stats.median, base_name)}"
            bests.append(f"{FAMILY_LABELS[fam]}: {top.label} ({fmt.seconds(top.stats.median)}{relation})")
    if len(rows) > 1:
        lines.append(f"At {where}, the best of each family — " + "; ".join(bests) + ".")
        first, second = rows[0], rows[1]
        spread = rows[-1].stats.median / first.stats.median
        if spread < NEAR_TIE:
            lines.append(
                f"At {where} every model is within {(spread - 1) * 100:.0f}% of the fastest: "
                f"speed does not decide the choice here."
            )
        elif second.stats.q1 <= first.stats.q3:
            lines.append(
                f"At {where}, {first.label} and {second.label} overlap within their interquartile ranges: "
                f"this run does not separate them."
            )
    return lines


def _rankable(rows: list[Result]) -> list[Result]:
    """A group's results that may be ranked: all of them, minus client-bound cells (which measure the client)."""
    return [r for r in rows if not r.bound]


def _headlines(workload: str, groups: dict[str, list[Result]]) -> list[str]:
    lines = []
    for key in HEADLINES.get(workload, ()):
        for group in reversed(list(groups)):
            rows = [r for r in groups[group] if r.metric(key) is not None and not r.bound]
            if len(rows) >= 2:
                lines.append(_extremes(key, rows))
                break
            if len(rows) == 1 and len({r.label for g in groups.values() for r in g}) == 1:
                value = fmt.metric(key, rows[0].metric(key))
                lines.append(f"{metric_label(key)} at {param_text(rows[0].params)}: {rows[0].label} {value}.")
                break
    return lines


def _extremes(key: str, rows: list[Result]) -> str:
    better_high = higher_is_better(key)
    ordered = sorted(rows, key=lambda r: r.metric(key) or 0.0, reverse=better_high)
    best, worst = ordered[0], ordered[-1]
    best_value, worst_value = best.metric(key) or 0.0, worst.metric(key) or 0.0
    factor = (
        (best_value / worst_value if better_high else worst_value / best_value) if best_value and worst_value else 0
    )
    where = param_text(rows[0].params)
    if best_value == worst_value:
        return f"{metric_label(key)} at {where}: the same for every model ({fmt.metric(key, best_value)})."
    if factor and factor < NEAR_TIE:
        within = f"{(factor - 1) * 100:.0f}%"
        return f"{metric_label(key)} at {where}: every model within {within} ({fmt.metric(key, best_value)})."
    word = "highest" if better_high else "lowest"
    text = (
        f"{metric_label(key)} at {where}: {word} {best.label} ({fmt.metric(key, best_value)}), "
        f"{'lowest' if better_high else 'highest'} {worst.label} ({fmt.metric(key, worst_value)}"
        + (f", {fmt.ratio(factor)} worse" if factor else "")
        + ")."
    )
    if key == "rss_per_task_bytes":
        text += (
            f" For {SCALE_OUT_TASKS:,} concurrent tasks that is about {fmt.size(best_value * SCALE_OUT_TASKS)} "
            f"for {best.label} against {fmt.size(worst_value * SCALE_OUT_TASKS)} for {worst.label} (extrapolated)."
        )
    return text


def _bound(workload: str, results: list[Result]) -> list[str]:
    flagged = [r for r in results if r.bound]
    if not flagged:
        return []
    lines = []
    for kind in sorted({r.bound or "" for r in flagged}):
        these = [r for r in flagged if r.bound == kind]
        cells = [param_text(rows[0].params) for rows in by_group(these).values()]
        lines.append(
            f"{len(these)} of {len(results)} {workload} results were {kind} ({BOUND_MEANING[kind]}) at "
            f"{'; '.join(cells)}: they are left out of the rankings above."
        )
    return lines
