"""The decision matrix at the top of a report: what should I pick, and what does it cost me?

Rows are the models (production libraries first, the suite's reference schedulers set apart below
them, non-default variants under their model); columns are the scenarios the workload schemas name,
each at its heaviest parameters (the last group of the workload). A cell gives the speed headline
against the asyncio baseline with its 95% interval (``reports.judge.headline``), "≈" when the interval
holds 1, the memory headline within its resolution (``reports.judge.memory``), and whether the model leads
the column alone (★, separated from the runner-up) or tied (☆). One verdict line per scenario, and the
caveats that limit how far the numbers transfer. Stdlib only.
"""

from __future__ import annotations

import math
import statistics

from reports.judge.families import model_sort_key
from reports.judge.headline import Advantage, advantages
from reports.judge.memory import apart
from reports.judge.metrics import label as metric_label
from reports.judge.ranking import PEER, STALLED, Judged, Verdict, Verdicts
from reports.read.run import Result, Run
from reports.read.schemas import WorkloadSchema
from reports.write import fmt
from reports.write.document import Bullets, Heading, Paragraph, Table
from reports.write.fmt import param_text

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


def matrix_blocks(run: Run, judged: Verdicts) -> list[Heading | Paragraph | Table | Bullets]:
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
    return [
        *blocks,
        Heading(2, "Verdict per scenario"),
        Bullets(tuple(scenario_verdict(schema, v) for schema, v in cols)),
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
    return f"{text}{mark}{mem}", kind


def scenario_verdict(schema: WorkloadSchema, verdict: Verdict) -> str:
    where = f"{schema.scenario} ({schema.name}, {param_text(verdict.params)})"
    ranked = verdict.ranked
    if not ranked:
        return f"{where}: no production model measured itself here (every cell was peer-bound, stalled or a reference)."
    if verdict.winner is not None:
        runner = ranked[1] if len(ranked) > 1 else None
        text = f"{where}: **{verdict.winner.label}** is fastest" + (
            f", separated from {runner.label}" if runner is not None else " (the only production model)"
        )
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
    env = run.environment
    cores = env.get("cores") or run.machine.cores
    build = env.get("python_build") or env.get("python") or f"Python {run.machine.python}"
    items = [
        f"One machine: {run.machine.cpu_brand}, {cores or '?'} cores, {build}. Rankings on other core counts, "
        "CPUs or Python builds (e.g. free-threaded) can differ.",
        "Echo and client workloads run over loopback on the same machine: no network latency, loss or "
        "bandwidth limits; the load generator shares the machine.",
        "Closed loop: each connection waits for its echo before sending again, so latency under overload "
        "(coordinated omission) is not measured.",
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
    return items


def _num(value: float) -> str:
    if math.isinf(value) or math.isnan(value):
        return "?"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"
