"""The decision matrix at the top of a report: what should I pick, and what does it cost me?

Rows are the models (production libraries first, the suite's reference schedulers set apart below
them, non-default variants under their model); columns are the scenarios the workload schemas name,
each at its heaviest parameters (the last group of the workload). A cell gives the speed headline
against the asyncio baseline with its 95% interval (``reports.judge.headline``), "≈" when the interval
holds 1, the memory headline within its resolution (``reports.judge.memory``), and whether the model leads
the column alone (★, separated from the runner-up) or tied (☆). A win bought with more cores than the
side it beat says so with both numbers, and adds the order per CPU second where that differs
(``reports.judge.cost``). The latency column shows each server's proven capacity bracket under p99 ≤ 10
ms (``reports.judge.latency``): "≥" for a lower bound, ties where brackets overlap, and a flag where a
capacity beat the closed-loop throughput (it would not be request/response). Variants saved ``unranked``
are shown with their reason and never ranked. A cell whose collector share reaches
``reports.judge.collector.GC_SHARE_MARK`` says so ("GC 70%"), and a verdict names the share of its leader or
baseline and every order of its group that another collector regime reverses or ties. One verdict line
per scenario, and caveats made from what the run contains. Stdlib only.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from reports.judge import collector, cost, latency
from reports.judge.families import model_sort_key
from reports.judge.headline import Advantage, advantages
from reports.judge.memory import apart
from reports.judge.metrics import label as metric_label
from reports.judge.ranking import PEER, REFERENCE, STALLED, UNRANKED, Judged, Verdict, Verdicts, process_spread
from reports.read.run import Result, Run
from reports.read.schemas import WorkloadSchema
from reports.write import fmt
from reports.write.document import Bullets, Heading, Paragraph, Table
from reports.write.fmt import param_text
from reports.write.hybrid_claim import seed_claim
from reports.write.placement import placement_text

BETTER, WORSE, TIE, BASE, NONE = "better", "worse", "tie", "base", "none"


def columns(run: Run, judged: Verdicts) -> list[tuple[WorkloadSchema, Verdict]]:
    """Per workload of the run (schema order), its schema and the verdict of its heaviest group."""
    last: dict[str, Verdict] = {}
    for verdict in judged.values():
        last[verdict.cells[0].result.workload] = verdict
    out = []
    for name, schema in run.schemas.items():
        if name in last:
            out.append((schema, last.pop(name)))
    for name, verdict in last.items():  # workloads without a schema
        out.append((WorkloadSchema(name, 1_000_000, "", name, ()), verdict))
    return out


def row_keys(run: Run) -> tuple[list[tuple[str, str | None]], list[tuple[str, str | None]]]:
    """(production rows, reference-scheduler rows), each (model, variant or None for the default)."""
    seen: dict[tuple[str, str | None], Result] = {}
    for r in run.results:
        seen.setdefault((r.model, None if r.default_variant else r.variant), r)
    keys = sorted(seen, key=lambda k: (model_sort_key(k[0]), k[1] or ""))
    production = [k for k in keys if not seen[k].reference_scheduler]
    return production, [k for k in keys if seen[k].reference_scheduler]


RANKED_KINDS = frozenset({BETTER, WORSE, TIE})


def matrix_blocks(
    run: Run, judged: Verdicts, changes: Sequence[collector.OrderChange] = ()
) -> list[Heading | Paragraph | Table | Bullets]:
    """The matrix, its verdicts and caveats; ``changes`` are the orders another collector regime changes."""
    cols = columns(run, judged)
    if not cols:
        return []
    production, reference = row_keys(run)
    headers = ("model", *(schema.scenario for schema, _ in cols))
    rows: list[tuple[str, ...]] = []
    classes: list[tuple[str, ...]] = []
    left_out: list[str] = []
    for group_rows, suffix in ((production, ""), (reference, " — reference scheduler")):
        for model, variant in group_rows:
            name = (f"{model} ({variant})" if variant else model) + suffix
            texts, kinds = [name], ["name"]
            for schema, verdict in cols:
                text, kind = cell_text(_cell_for(verdict, model, variant), verdict, schema)
                texts.append(text)
                kinds.append(kind)
            if variant and not RANKED_KINDS & set(kinds):
                left_out.append(name)  # a variant with nothing ranked here: its groups show it
                continue
            rows.append(tuple(texts))
            classes.append(tuple(kinds))
    legend = "; ".join(
        f"{schema.scenario}: {schema.name} at {param_text(v.params)}, "
        + f"{metric_label(schema.speed_headline, schema) if schema.speed_headline else 'round time'}"
        + (f" and {metric_label(schema.memory_headline, schema)}" if schema.memory_headline else "")
        for schema, v in cols
    )
    intro = (
        "Each cell: the scenario's headline metric against asyncio (its default variant) with the 95% bootstrap "
        "interval in brackets, ▲ better, ▼ worse, ≈ not separated from asyncio; then memory. ★ fastest and "
        "separated from the runner-up; ☆ tied for fastest. Reference schedulers are the suite's own lower "
        "bounds that nobody deploys: they never win. Columns: " + legend + "."
    )
    blocks: list[Heading | Paragraph | Table | Bullets] = [
        Heading(1, "What should I pick?"),
        Table(headers, tuple(rows), frozenset(), tuple(classes)),
        Paragraph(intro),
    ]
    if left_out:
        blocks.append(
            Paragraph(
                "Variants with no ranked result at these parameters are shown in their groups below, not here: "
                + ", ".join(left_out)
                + "."
            )
        )
    claim = seed_claim([v for _, v in cols], run.environment.get("cores") or run.machine.cores, list(judged.values()))
    if claim:
        blocks.append(Paragraph(claim))
    return [
        *blocks,
        Heading(2, "Verdict per scenario"),
        Bullets(tuple(scenario_verdict(schema, v, changes) for schema, v in cols)),
        Heading(2, "Caveats"),
        Bullets(tuple(caveats(run, judged))),
    ]


def _cell_for(verdict: Verdict, model: str, variant: str | None) -> Judged | None:
    for cell in verdict.cells:
        r = cell.result
        if r.model == model and (
            (variant is None and r.default_variant) or (variant is not None and r.variant == variant)
        ):
            return cell
    return None


def advantage_text(adv: Advantage) -> tuple[str, str]:
    low, high = adv.ci
    bracket = f"[{_num(low)}-{_num(high)}]"
    if adv.tied:
        return f"≈ {_num(adv.value)}x {bracket}", TIE
    if adv.value >= 1:
        return f"▲ {fmt.ratio(adv.value)} better {bracket}", BETTER
    return f"▼ {fmt.ratio(1 / adv.value)} worse [{_num(1 / high)}-{_num(1 / low)}]", WORSE


def cell_text(cell: Judged | None, verdict: Verdict, schema: WorkloadSchema) -> tuple[str, str]:
    if cell is None:
        return "—", NONE
    memory = schema.memory_headline
    mem = (
        f" · {fmt.memory_text(cell.result, memory, schema)}"
        if memory and cell.result.metric(memory) is not None
        else ""
    )
    if verdict.proven is not None:
        return latency_cell_text(cell, verdict, verdict.proven)
    if cell.role == UNRANKED:
        return f"not ranked: {cell.result.extra.get('unranked')}{mem}", NONE
    if cell.role == PEER:
        return f"peer-bound, not ranked{mem}", NONE
    if cell.role == STALLED:
        return f"stalled (p99 {fmt.metric('latency_p99_s', cell.result.metric('latency_p99_s'))}){mem}", WORSE
    mark = " ★" if cell.place == "wins" else " ☆" if cell.place == "tied" else ""
    if verdict.baseline is not None and cell is verdict.baseline:
        return f"baseline{mark}{mem}", BASE
    adv = advantages(verdict, schema).get(cell.label)
    if adv is None or math.isnan(adv.value):
        return f"{fmt.seconds(cell.result.stats.median)}{mark}{mem}", NONE
    text, kind = advantage_text(adv)
    gc = f" · {collector.share_text(cell.result)}" if collector.heavy(cell.result) else ""
    return f"{text}{mark}{cost_note(cell, verdict, kind)}{gc}{mem}", kind


def cost_note(cell: Judged, verdict: Verdict, kind: str) -> str:
    """`` · 1.9 vs 1.0 cores`` (and the order per CPU second when it differs) for a win bought with cores.

    A ★ compares with the runner-up, a ▲ with the baseline: whichever the cell is said to beat."""
    ranked = verdict.ranked
    beaten = None
    if cell.place == "wins" and len(ranked) > 1:
        beaten = ranked[1]
    elif kind == BETTER and verdict.baseline is not None:
        beaten = verdict.baseline
    if beaten is None or not cost.used_more_cores(cell.result, beaten.result):
        return ""
    note = f" · {cost.cores_text(cell.result, beaten.result)}"
    per_core = cost.per_core_ratio(cell.result, beaten.result)
    if per_core is not None and per_core < 1:
        note += f", per core {fmt.ratio(1 / per_core)} behind {beaten.label}"
    return note


def latency_cell_text(cell: Judged, verdict: Verdict, order: latency.ProvenOrder) -> tuple[str, str]:
    """A server's proven capacity bracket, against the baseline's: ▲/▼ only where the brackets are apart."""
    mine = order.of(cell.result) or latency.proven(cell.result, order.target)
    if mine is None or not mine.proven:
        return "nothing proven, not ranked", NONE
    text = f"{latency.bracket_text(mine)} {latency.rate_unit(cell.result.workload)}"
    if cell.role == REFERENCE:
        text += " · reference scheduler, not ranked"
    elif cell.role == UNRANKED:
        text += f" · not ranked: {cell.result.extra.get('unranked')}"
    if mine.exceeds_closed_loop:
        text += f" ⚠ {mine.closed_loop_ratio or 0:.2f}x its closed loop"
    elif mine.bounded_by == "connections":
        text += " (connection-bound)"
    mark = " ★" if cell.place == "wins" else " ☆" if cell.place == "tied" else ""
    base = order.of(verdict.baseline.result) if verdict.baseline is not None else None
    if base is None or not base.proven:
        return f"{text}{mark}", NONE
    if base is mine:
        return f"baseline {text}{mark}", BASE
    if not mine.apart_from(base):
        return f"≈ {text}{mark}", TIE
    kind = BETTER if mine.above(base) else WORSE
    return f"{'▲' if kind == BETTER else '▼'} {text}{mark}", kind


def scenario_verdict(schema: WorkloadSchema, verdict: Verdict, changes: Sequence[collector.OrderChange] = ()) -> str:
    where = f"{schema.scenario} ({schema.name}, {param_text(verdict.params)})"
    if verdict.proven is not None:
        return where + ": " + latency_verdict(verdict.proven)
    ranked = verdict.ranked
    if not ranked:
        return f"{where}: no production model measured itself here (every cell was peer-bound, stalled or a reference)."
    if verdict.winner is not None:
        runner = ranked[1] if len(ranked) > 1 else None
        text = f"{where}: **{verdict.winner.label}** is fastest" + (
            f", separated from {runner.label}" if runner is not None else " (the only production model)"
        )
        if runner is not None and cost.used_more_cores(verdict.winner.result, runner.result):
            text += f", using more cores ({cost.cores_text(verdict.winner.result, runner.result)})"
    else:
        names = ", ".join(c.label for c in verdict.leaders)
        text = f"{where}: tied for fastest between {names} (their intervals overlap: this run cannot order them)"
    memory = schema.memory_headline
    if memory:
        text += _memory_note(ranked, memory, schema)
    stalled = [c for c in verdict.cells if c.role == STALLED]
    if stalled:
        text += "; stalled: " + ", ".join(
            f"{c.label} (p99 {fmt.metric('latency_p99_s', c.result.metric('latency_p99_s'))})" for c in stalled
        )
    text += _collector_note(verdict, changes)
    return text + "."


def _collector_note(verdict: Verdict, changes: Sequence[collector.OrderChange]) -> str:
    """The collector's share where it reaches the mark for either side (the leaders, the runner-up, the
    baseline), and the orders of this
    group that another collector regime changes (each named with the regime it holds under)."""
    ranked = verdict.ranked
    runner = [ranked[len(verdict.leaders)]] if len(ranked) > len(verdict.leaders) else []
    named = [*verdict.leaders, *runner, *([verdict.baseline] if verdict.baseline is not None else [])]
    heavy = list({id(c): c for c in named if collector.heavy(c.result)}.values())
    text = ""
    if heavy:
        text += "; the collector took " + ", ".join(
            f"{(collector.share(c.result) or 0) * 100:.0f}% of {c.label}'s round" for c in heavy
        )
    where = collector.same_work_key(verdict.cells[0].result)
    mine = [c for c in changes if c.key == where]
    if mine:
        text += "; the order depends on the collector: " + ", ".join(change_text(c) for c in mine)
    return text


def change_text(change: collector.OrderChange) -> str:
    """``asyncio ahead of twisted under gc=auto, reversed under gc=frozen``."""
    how = "reversed" if change.reversed else "tied"
    return (
        f"{change.faster} ahead of {change.slower} under gc={change.holds_under}, {how} under gc={change.other_regime}"
    )


def latency_verdict(order: latency.ProvenOrder) -> str:
    """Who has the highest proven capacity under the headline target, and who cannot be told apart from it."""
    label = dict(latency.TARGETS)[order.target]
    if not order.ranked:
        return f"no server proved a capacity under {label}."
    top = order.ranked[0]
    if len(order.leaders) == 1:
        runner = order.ranked[1] if len(order.ranked) > 1 else None
        text = (
            f"**{top.result.label}** carries the most under {label} "
            f"({latency.bracket_text(top)} {latency.rate_unit(top.result.workload)})"
        )
        if runner is not None:
            text += f", its bracket apart from {runner.result.label}'s ({latency.bracket_text(runner)})"
    else:
        names = ", ".join(f"{p.result.label} ({latency.bracket_text(p)})" for p in order.leaders)
        text = f"tied for the most under {label}: {names} (their brackets overlap)"
    bounded = [p for p in order.ranked if p.lower_bound]
    if bounded:
        text += "; lower bounds, ranked at their proven rate and never below a smaller figure: " + ", ".join(
            f"{p.result.label} ({latency.BOUND_TEXT.get(p.bounded_by or '', 'no miss')}; "
            f"{latency.PROOF_HINT.get(p.bounded_by or '', 'a wider search')} would close it)"
            for p in bounded
        )
    beyond = [p for p in order.ranked if p.exceeds_closed_loop]
    if beyond:
        text += "; above its own closed-loop throughput, so not request/response: " + ", ".join(
            f"{p.result.label} ({p.closed_loop_ratio or 0:.2f}x)" for p in beyond
        )
    if order.unproven:
        text += "; nothing proven (no rate met the target and none missed it): " + ", ".join(
            p.result.label for p in order.unproven
        )
    return text + "."


def _memory_note(ranked: list[Judged], key: str, schema: WorkloadSchema) -> str:
    have = sorted((c for c in ranked if c.result.metric(key) is not None), key=lambda c: c.result.metric(key) or 0.0)
    if len(have) < 2:
        return ""
    low, high = have[0], have[-1]
    if not apart(low.result, high.result, key, schema):
        return f"; {metric_label(key, schema)} is within its resolution for every model"
    lowest = [c.label for c in have if not apart(c.result, low.result, key, schema)]
    return f"; least {metric_label(key, schema)}: {', '.join(lowest)} ({fmt.memory_text(low.result, key, schema)})"


def caveats(run: Run, judged: Verdicts) -> list[str]:
    """What limits how far this run's numbers transfer, each item made from what the run holds."""
    env = run.environment
    cores = env.get("cores") or run.machine.cores
    build = env.get("python_build") or env.get("python") or f"Python {run.machine.python}"
    items = [
        f"One machine: {run.machine.cpu_brand}, {cores or '?'} cores, {build}. Rankings on other core counts, "
        "CPUs or Python builds (e.g. free-threaded) can differ.",
        placement_text(run.placement),
        *_peer_caveats(run),
        *_coverage_caveats(run, judged),
        *_cores_caveats(run, cores),
        *_one_loop_caveats(run),
    ]
    widths = [
        (c.ci[1] - c.ci[0]) / 2 / c.result.stats.median
        for v in judged.values()
        for c in v.cells
        if c.boot and c.result.stats.median > 0
    ]
    rounds = sorted({r.stats.rounds for r in run.results})
    if widths:
        typical = statistics.median(widths)
        items.append(
            f"{'/'.join(map(str, rounds))} measured rounds per cell: a typical interval is ±{typical * 100:.0f}% of "
            "the median, so differences smaller than about "
            f"{2 * typical * 100:.0f}% cannot be separated in this run"
            + (
                " (a 10% difference can)."
                if 2 * typical < 0.10
                else "; use a profile with more rounds to separate 10%."
            )
        )
    items.extend(_process_caveats(run))
    return items


def _peer_caveats(run: Run) -> list[str]:
    with_peer = [r for r in run.results if "pinned_to_separate_cores" in r.extra]
    items = []
    if with_peer:
        pinned = all(r.extra.get("pinned_to_separate_cores") for r in with_peer)
        items.append(
            "Echo and client workloads run over loopback on this machine: no network latency, loss or bandwidth "
            "limits, and the load generator shares the machine"
            + (" (on cores of its own)." if pinned else " (and, in some cells, its cores).")
        )
    open_loop = latency.open_loop_results(run)
    if open_loop:
        depths = sorted({int(d) for r in open_loop if isinstance(d := r.extra.get("depth", 1), int | float)})
        items.append(
            "Latency under load is measured open loop ("
            + ", ".join(sorted({r.workload for r in open_loop}))
            + "): from each message's (request's) scheduled send time, so "
            "a server that falls behind is charged for the wait; pipelining depth "
            + "/".join(map(str, depths))
            + (" (one request in flight per connection)." if depths == [1] else ".")
        )
    elif with_peer:
        items.append(
            "This run has no open-loop cells (tcp_latency, http_latency): its echo and HTTP figures are closed-loop "
            "throughput and say "
            "nothing of latency under load."
        )
    return items


def _coverage_caveats(run: Run, judged: Verdicts) -> list[str]:
    session = run.session
    items = []
    selected = [m for m in session.get("models") or [] if isinstance(m, str)]
    measured = {r.model for r in run.results}
    missing = [m for m in selected if m not in measured]
    if missing:
        items.append(f"Selected but without a result: {', '.join(missing)}.")
    skipped = [s for s in session.get("skipped_cells") or [] if isinstance(s, dict)]
    if skipped:
        reasons: dict[str, int] = {}
        for cell in skipped:
            reason = str(cell.get("reason", "?")).removeprefix("Skipped: ")
            reasons[reason] = reasons.get(reason, 0) + 1
        common = sorted(reasons.items(), key=lambda kv: -kv[1])[:3]
        items.append(
            f"{len(skipped)} cells skipped; most often: "
            + "; ".join(f"{reason} ({n})" for reason, n in common)
            + (" and others (see Run status)." if len(reasons) > 3 else ".")
        )
    failed = [f for f in session.get("failed_cells") or [] if isinstance(f, dict)]
    if failed:
        items.append(f"{len(failed)} cells failed and are not in any table (see Run status).")
    apart_cells = [c for v in judged.values() for c in v.cells if c.role in (PEER, STALLED)]
    if apart_cells:
        items.append(
            f"{len(apart_cells)} cells did not measure their side under test (peer-bound or stalled) and are not "
            "ranked; their groups say which."
        )
    return items


def _cores_caveats(run: Run, cores: object) -> list[str]:
    most: dict[str, float] = {}
    for r in run.results:
        used = cost.cores_used(r)
        if used is not None:
            most[r.model] = max(most.get(r.model, 0.0), used)
    if not most:
        return []
    multi = sorted((m for m, used in most.items() if used >= 1 + cost.MORE_CORES_MARGIN), key=lambda m: -most[m])
    single = max((used for m, used in most.items() if m not in multi), default=None)
    if not multi:
        return [f"Every model kept at most {max(most.values()):.1f} core busy: no result here was bought with cores."]
    return [
        "Kept more than one core busy: "
        + ", ".join(f"{m} (up to {most[m]:.1f} of {cores or '?'})" for m in multi)
        + (f"; every other model at most {single:.1f}" if single is not None else "")
        + ". Their wins are marked with both sides' cores."
    ]


def _one_loop_caveats(run: Run) -> list[str]:
    """Multi-core models whose side under test had one core: those cells show one loop, not their scaling."""
    by_note: dict[str, dict[str, int]] = {}
    for r in run.results:
        note = cost.one_loop_note(r)
        if note:
            models = by_note.setdefault(note, {})
            models[r.model] = models.get(r.model, 0) + 1
    return [
        f"{', '.join(f'{m} ({_cells(n)})' for m, n in models.items())} {note}: the peer had the other core, so "
        "these cells measure one loop (one process) of the model, not how it scales over cores."
        for note, models in by_note.items()
    ]


def _cells(count: int) -> str:
    return "1 cell" if count == 1 else f"{count} cells"


def _process_caveats(run: Run) -> list[str]:
    sampled = [(r, s) for r in run.results if (s := process_spread(r)) is not None]
    if not sampled:
        return ["Noise between worker processes was not measured in this run; intervals are from one process each."]
    spreads = sorted(s for _, s in sampled)
    processes = {len(r.extra["between_processes"].get("process_medians_s") or []) for r, _ in sampled}
    return [
        f"Between processes: {len(sampled)} cells were measured again in fresh workers "
        f"({'/'.join(map(str, sorted(processes)))} processes each); their medians differed by a median "
        f"{statistics.median(spreads) * 100:.0f}% (at most {spreads[-1] * 100:.0f}%). Half that spread widens each "
        "interval on either side (the sampled median for cells outside the sample)."
    ]


def _num(value: float) -> str:
    if math.isinf(value) or math.isnan(value):
        return "?"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"
