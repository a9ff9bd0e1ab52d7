"""Generate the "what this means for your choice" bullets from a run's numbers (no hand-written prose).

Every sentence is computed from the group verdicts of ``reports.judge.ranking``: in how many groups a model
was fastest *and separated* from the runner-up, and in how many the leaders were tied; the best of each
model family at the heaviest parameters against the asyncio baseline, with the ratio's interval; the
reference schedulers apart; the best and worst on each headline metric of the workload's schema (memory
only where the difference exceeds its resolution, extrapolated to 100 000 tasks only from two or more
sizes); and which cells were peer-bound or stalled (with their p99). Stdlib only.
"""

from __future__ import annotations

from collections import Counter

from reports.judge.families import FAMILY_LABELS, FAMILY_ORDER, family
from reports.judge.groups import by_workload
from reports.judge.memory import SCALE_OUT_UNITS, apart, marginal_cost
from reports.judge.metrics import higher_is_better
from reports.judge.metrics import label as metric_label
from reports.judge.metrics import unit as metric_unit
from reports.judge.ranking import PEER, REFERENCE, STALLED, Judged, Verdict, Verdicts, separated
from reports.read.run import Run
from reports.read.schemas import WorkloadSchema
from reports.write import fmt
from reports.write.fmt import param_text
from reports.write.hybrid_claim import hybrid_sentences

NEAR_TIE = 1.10
"""Headline extremes within this factor are reported as "every model within N%"."""


def advice(run: Run, judged: Verdicts) -> list[tuple[str, list[str]]]:
    """Per workload, the generated sentences about it."""
    out = []
    for workload, results in by_workload(run.results, run.schemas).items():
        schema = run.schemas.get(workload)
        groups = [v for v in judged.values() if v.cells[0].result.workload == workload]
        sentences = [*_speed(groups), *_headlines(groups, schema), *_unmeasured(groups, len(results))]
        sentences += hybrid_sentences(groups)
        out.append((workload, sentences))
    return out


def _speed(groups: list[Verdict]) -> list[str]:
    labels = {c.label for v in groups for c in v.cells}
    if len(labels) == 1:
        return [f"Only {labels.pop()} ran on this workload: nothing to compare it with in this run."]
    rankable = [v for v in groups if len(v.ranked) >= 2]
    if not rankable:
        return ["No group here has two production models that measured themselves: this run cannot rank them."]
    winners = Counter(v.winner.label for v in rankable if v.winner is not None)
    ties = [v for v in rankable if v.winner is None]
    total = len(rankable)
    parts = [f"{label} in {count}" for label, count in winners.most_common()]
    if parts:
        text = f"Fastest and separated from the runner-up (95% intervals apart): {', '.join(parts)} of {total} groups"
    else:
        text = f"No model was separated from the runner-up in any of the {total} groups"
    if ties:
        tied = Counter(c.label for v in ties for c in v.leaders)
        leaders = ", ".join(f"{label} in {count}" for label, count in tied.most_common())
        plural = "s" if len(ties) > 1 else ""
        text += f"; tied for fastest (intervals overlap) in {len(ties)} group{plural}: {leaders}"
    lines = [text + "."]
    heavy = rankable[-1]
    where = param_text(heavy.params)
    bests = []
    for fam in FAMILY_ORDER:
        members = [c for c in heavy.ranked if family(c.result.model, _declared(c)) == fam]
        if members:
            bests.append(
                f"{FAMILY_LABELS[fam]}: {members[0].label} ({fmt.seconds(members[0].result.stats.median)}"
                f"{_vs_base(members[0], heavy)})"
            )
    lines.append(f"At {where}, the best of each family — " + "; ".join(bests) + ".")
    references = [c for c in heavy.cells if c.role == REFERENCE]
    if references:
        lines.append(
            "Reference schedulers (the suite's own lower bounds, not for deployment): "
            + "; ".join(f"{c.label} {fmt.seconds(c.result.stats.median)}{_vs_base(c, heavy)}" for c in references)
            + "."
        )
    return lines


def _declared(cell: Judged) -> str | None:
    value = cell.result.extra.get("family")
    return value if isinstance(value, str) else None


def _vs_base(cell: Judged, verdict: Verdict) -> str:
    base = verdict.baseline
    if base is None or cell is base or cell.ratio is None or cell.ratio_ci is None:
        return ", the baseline" if cell is base else ""
    low, high = cell.ratio_ci
    if low <= 1.0 <= high:
        return f", not separated from {base.label} ({fmt.ratio(cell.ratio)} [{low:.2f}-{high:.2f}])"
    return f", {fmt.ratio(cell.ratio)} {base.label}'s time [{low:.2f}-{high:.2f}]"


def _headlines(groups: list[Verdict], schema: WorkloadSchema | None) -> list[str]:
    lines = []
    for key in schema.headlines if schema is not None else ():
        for verdict in reversed(groups):
            cells = [c for c in verdict.ranked if c.result.metric(key) is not None]
            if len(cells) >= 2:
                lines.append(_extremes(key, cells, schema, groups))
                break
    return lines


def _extremes(key: str, cells: list[Judged], schema: WorkloadSchema | None, groups: list[Verdict]) -> str:
    better_high = higher_is_better(key, schema)
    ordered = sorted(cells, key=lambda c: c.result.metric(key) or 0.0, reverse=better_high)
    best, worst = ordered[0], ordered[-1]
    best_value, worst_value = best.result.metric(key) or 0.0, worst.result.metric(key) or 0.0
    name = metric_label(key, schema)
    where = param_text(best.result.params)
    memory = metric_unit(key, schema) == "bytes" and "_per_" in key
    if memory:
        if not apart(best.result, worst.result, key, schema):
            within = fmt.memory_text(best.result, key, schema)
            return f"{name} at {where}: every model within the resolution of one page over N ({within})."
        text = (
            f"{name} at {where}: lowest {best.label} ({fmt.memory_text(best.result, key, schema)}), "
            f"highest {worst.label} ({fmt.memory_text(worst.result, key, schema)})."
        )
        return text + _extrapolation(key, best, worst, schema, groups)
    factor = (
        (best_value / worst_value if better_high else worst_value / best_value) if best_value and worst_value else 0
    )
    value = fmt.metric(key, best_value, metric_unit(key, schema))
    if best_value == worst_value:
        return f"{name} at {where}: the same for every model ({value})."
    if factor and factor < NEAR_TIE:
        return f"{name} at {where}: every model within {(factor - 1) * 100:.0f}% ({value})."
    word, other = ("highest", "lowest") if better_high else ("lowest", "highest")
    timed = schema is not None and key == schema.speed_headline
    note = _tied_with(best, cells) if timed else ""
    worst_note = _tied_with(worst, cells) if timed else ""
    text = (
        f"{name} at {where}: {word} {best.label} ({value}{note}), {other} {worst.label} "
        f"({fmt.metric(key, worst_value, metric_unit(key, schema))}{worst_note}"
        + (f", {fmt.ratio(factor)} worse" if factor else "")
        + ")"
    )
    return text + ("." if timed else "; from the medians, the rounds' own values are not saved.")


def _tied_with(cell: Judged, cells: list[Judged]) -> str:
    """'; not separated from X, Y' for the cells whose round-time intervals overlap this one's."""
    tied = [c.label for c in cells if c is not cell and not separated(c, cell)]
    return f"; not separated from {', '.join(tied)}" if tied else ""


def _extrapolation(key: str, best: Judged, worst: Judged, schema: WorkloadSchema | None, groups: list[Verdict]) -> str:
    def slope(label: str) -> float | None:
        return marginal_cost([c.result for v in groups for c in v.cells if c.label == label], key, schema)

    low, high = slope(best.label), slope(worst.label)
    if low is None or high is None:
        return " (No extrapolation: fewer than two sizes ran.)"
    return (
        f" Extrapolated from the growth across sizes, {SCALE_OUT_UNITS:,} units would add about "
        f"{fmt.size(max(low, 0.0) * SCALE_OUT_UNITS)} for {best.label} against "
        f"{fmt.size(max(high, 0.0) * SCALE_OUT_UNITS)} for {worst.label}."
    )


def _unmeasured(groups: list[Verdict], total: int) -> list[str]:
    lines = []
    peer = [(v, c) for v in groups for c in v.cells if c.role == PEER]
    if peer:
        where = sorted({param_text(v.params) for v, _ in peer})
        lines.append(
            f"{len(peer)} of {total} results were peer-bound (the load generator or the reference server set the "
            f"pace, not the model) at {'; '.join(where)}: they are left out of the rankings above."
        )
    for verdict in groups:
        stalled = [c for c in verdict.cells if c.role == STALLED]
        if not stalled:
            continue
        if len(stalled) >= ALL_LATENCY_BOUND_FROM and len(stalled) * 2 >= len(verdict.cells):
            # Most of a group unsaturated on both sides: the work itself is latency-bound (one message in
            # flight at C=1), not a set of stalled servers; say it once, with each model's p99.
            p99s = ", ".join(f"{c.label} {_p99(c)}" for c in sorted(stalled, key=lambda c: c.result.stats.median))
            lines.append(
                f"At {param_text(verdict.params)}, {len(stalled)} of {len(verdict.cells)} cells saturated neither "
                f"side: the work is latency-bound (round trips one after another), so compare their p99 instead "
                f"of their speed: {p99s}."
            )
            continue
        for cell in stalled:
            lines.append(
                f"Finding: {cell.label} stalled at {param_text(verdict.params)} — neither it nor its peer was "
                f"saturated (p99 {_p99(cell)}, median round {fmt.seconds(cell.result.stats.median)}); not ranked."
            )
    return lines


ALL_LATENCY_BOUND_FROM = 3
"""This many unsaturated cells in one group (and at least half of it) read as a latency-bound group."""


def _p99(cell: Judged) -> str:
    return fmt.metric("latency_p99_s", cell.result.metric("latency_p99_s"))
