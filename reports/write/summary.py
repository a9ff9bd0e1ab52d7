"""Build the report ``Document`` of one run: decision matrix, how to read it, reproduce box, advice, groups.

Order: warnings and run status; the decision matrix with a verdict per scenario and the caveats
(``reports.write.decision``); how to read the page; the reproduce box with links to the JSON and the CSV
(``reports.write.reproduce``); the generated advice (``reports.write.advice``); an overview; then per workload its
scaling charts and one collapsible section per group; memory; environment and versions. Every number
comes straight from the saved JSON: a group's "median" column is ``stats.median`` to four significant
digits, intervals are bootstrap intervals from ``stats.data`` (``reports.judge.ranking``), metric columns
are the ``extra_info`` values formatted by the schema's units. Stdlib only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from reports.judge import cost
from reports.judge.collector import OrderChange
from reports.judge.groups import by_workload, geomean, panel_keys, series_order, value_key, varying
from reports.judge.metrics import label as metric_label
from reports.judge.metrics import table_columns
from reports.judge.metrics import unit as metric_unit
from reports.judge.ranking import PEER, REFERENCE, STALLED, Judged, Verdict, Verdicts
from reports.read.run import Result, Run
from reports.read.schemas import WorkloadSchema
from reports.write import fmt
from reports.write.advice import advice
from reports.write.decision import matrix_blocks
from reports.write.document import Alert, Block, Bullets, Document, Figure, Heading, Paragraph, Section, Table
from reports.write.fmt import param_text
from reports.write.placement import placement_text
from reports.write.reproduce import reproduce_blocks
from reports.write.run_status import status_blocks, warning_blocks

BIG_MESSAGE_BYTES = 100 * 1024
ROLE_TEXT = {REFERENCE: "reference scheduler", PEER: "peer-bound", STALLED: "stalled"}


def run_document(
    run: Run,
    judged: Verdicts,
    charts: list[Figure],
    json_names: list[str] | None = None,
    changes: Sequence[OrderChange] = (),
) -> Document:
    """The report of one run; ``changes`` are the orders another collector regime changes (for the verdicts)."""
    doc = Document(f"corobench report — run {run.short_id}")
    for warning in run.warnings:
        doc.add(Alert(warning))
    doc.add(*warning_blocks(run.session))
    doc.add(*matrix_blocks(run, judged, changes))
    doc.add(Heading(1, "How to read this"), Bullets(tuple(notes(run))))
    doc.add(*reproduce_blocks(run, json_names or []))
    doc.add(Heading(1, "What this means for your choice"))
    doc.add(Paragraph("Generated from this run's numbers; a single run on one machine, so read it with the noise."))
    for workload, sentences in advice(run, judged):
        doc.add(Heading(2, workload), Bullets(tuple(sentences)))
    if len(series_order(run.results)) > 1:
        doc.add(Heading(1, "Overview"), *overview(run, judged))
    for workload in by_workload(run.results, run.schemas):
        schema = run.schemas.get(workload)
        doc.add(Heading(1, workload))
        if schema is not None and schema.question:
            doc.add(Paragraph(schema.question))
        doc.add(*[c for c in charts if c.section == workload and not c.group])
        groups = [v for v in judged.values() if v.cells[0].result.workload == workload]
        for verdict in groups:
            doc.add(group_section(verdict, schema, charts, open_=len(groups) == 1))
    memory = memory_blocks(run, charts)
    if memory:
        doc.add(Heading(1, "Memory"), *memory)
    doc.add(Heading(1, "Environment"), environment_table(run, judged), versions_table(run))
    doc.add(*status_blocks(run.session))
    return doc


def environment_table(run: Run, judged: Verdicts) -> Table:
    commit = run.commit
    commit_text = str(commit.get("id") or "?")[:12]
    if commit.get("branch"):
        commit_text += f" ({commit['branch']})"
    if commit.get("dirty"):
        commit_text += ", uncommitted changes"
    rounds = sorted({(r.stats.rounds, r.extra.get("warmup_rounds")) for r in run.results}, key=str)
    rows = [
        ("CPU", run.machine.short),
        ("Machine", f"{run.machine.node} ({run.machine.system or '?'})"),
        ("Python", run.machine.python),
        ("Placement", placement_text(run.placement)),
        ("Date", f"{run.date} UTC"),
        ("Commit", commit_text),
        ("pytest-benchmark", run.version),
        ("Rounds", "; ".join(f"{n} measured" + (f" + {w} warm-up" if w else "") for n, w in rounds)),
        ("Results", f"{len(run.results)} benchmarks in {len(judged)} groups, from {run.path.name}"),
    ]
    return Table(("", "value"), tuple(rows))


def versions_table(run: Run) -> Table:
    found = run.library_versions
    rows = tuple((name, found[name]) for name in sorted(found, key=lambda n: (n != "python", n.lower())))
    return Table(("library", "version"), rows or (("(none recorded)", ""),))


def overview(run: Run, judged: Verdicts) -> list[Table | Paragraph]:
    """Geometric mean over each workload's groups of (median / the asyncio baseline's), ranked cells only."""
    ratios: dict[tuple[str, str], list[float]] = {}
    workloads: list[str] = []
    for verdict in judged.values():
        workload = verdict.cells[0].result.workload
        if workload not in workloads:
            workloads.append(workload)
        for cell in verdict.cells:
            if cell.ratio is not None and cell.role in ("ranked", REFERENCE):
                ratios.setdefault((cell.label, workload), []).append(cell.ratio)
    labels = series_order(run.results)
    table_rows = []
    for label in labels:
        cells = [label]
        for workload in workloads:
            values = ratios.get((label, workload))
            cells.append(f"{fmt.ratio(geomean(values))} ({len(values)})" if values else "—")
        table_rows.append(tuple(cells))
    text = (
        "Median round time relative to asyncio's default variant in the same group (1.00x = as fast; 2.00x = twice "
        "the time), geometric mean over the workload's groups; in brackets the number of groups. Cells that did not "
        "measure the model (peer-bound, stalled) and groups where asyncio's own cell did not are left out."
    )
    return [Paragraph(text), Table(("model", *workloads), tuple(table_rows), frozenset(range(1, len(workloads) + 1)))]


def ratio_text(cell: Judged, verdict: Verdict) -> str:
    if verdict.baseline is not None and cell is verdict.baseline:
        return "baseline"
    if cell.ratio is None:
        return "—"
    low, high = cell.ratio_ci or (math.nan, math.nan)
    return f"{fmt.ratio(cell.ratio)} [{low:.2f}-{high:.2f}]"


def group_section(verdict: Verdict, schema: WorkloadSchema | None, charts: list[Figure], open_: bool) -> Section:
    first = verdict.cells[0].result
    workload = first.workload
    where = param_text(first.params) or verdict.group
    results = [c.result for c in verdict.cells]
    columns = table_columns(schema, results)
    base = verdict.baseline
    headers = (
        "#",
        "model",
        "median",
        "95% interval",
        f"vs {base.label}" if base else "vs asyncio",
        *(metric_label(k, schema) for k in columns),
        "rounds",
    )
    table_rows = []
    rank = 0
    for cell in verdict.cells:
        r = cell.result
        if cell.role == "ranked":
            rank += 1
        tag = r.bound if cell.role in (PEER, STALLED) else ROLE_TEXT.get(cell.role)
        place = {"wins": " ★", "tied": " ☆"}.get(cell.place, "")
        name = r.label + place + (f" ({tag})" if tag else "")
        table_rows.append(
            (
                str(rank) if cell.role == "ranked" else "-",
                name,
                fmt.seconds(r.stats.median),
                f"{fmt.seconds(cell.ci[0])} to {fmt.seconds(cell.ci[1])}",
                ratio_text(cell, verdict),
                *(_metric_cell(r, k, schema) for k in columns),
                str(r.stats.rounds),
            )
        )
    numeric = frozenset({0, 2, 3, 4, *range(5, 5 + len(columns)), 5 + len(columns)})
    one_loop = [f"{c.result.label} {note}." for c in verdict.cells if (note := cost.one_loop_note(c.result))]
    blocks: list[Paragraph | Table | Figure] = [
        Paragraph(" ".join([lead(verdict), *one_loop])),
        Table(headers, tuple(table_rows), numeric),
    ]
    blocks.extend(c for c in charts if c.group == verdict.group)
    return Section(2, f"{workload} at {where}", tuple(blocks), open_)


def lead(verdict: Verdict) -> str:
    ranked = verdict.ranked
    if not ranked:
        return "No production cell here measured the model itself: nothing is ranked."
    if verdict.winner is not None and len(ranked) > 1:
        text = f"Fastest: **{verdict.winner.label}**, separated from {ranked[1].label} (★)."
    elif len(verdict.leaders) > 1:
        text = f"Tied for fastest (☆, intervals overlap): {', '.join(c.label for c in verdict.leaders)}."
    else:
        text = f"Only {ranked[0].label} is ranked here."
    if verdict.baseline is None:
        text += " No baseline: asyncio's default variant did not run here or did not measure itself."
    return text


def _metric_cell(result: Result, key: str, schema: WorkloadSchema | None) -> str:
    if metric_unit(key, schema) == "bytes" and "_per_" in key:
        return fmt.memory_text(result, key, schema)
    return fmt.metric(key, result.extra.get(key), metric_unit(key, schema))


def memory_blocks(run: Run, charts: list[Figure]) -> list[Block]:
    blocks: list[Block] = []
    workloads = by_workload(run.results, run.schemas)
    for name, schema in run.schemas.items():
        for spec in schema.charts:
            if spec.section != "memory" or name not in workloads:
                continue
            results = [r for r in workloads[name] if r.metric(spec.metric) is not None]
            if not results:
                continue
            blocks.append(Heading(2, f"{metric_label(spec.metric, schema)} — {name}"))
            blocks.append(pivot(results, spec.metric, spec.x, schema))
            blocks.extend(c for c in charts if c.chart == f"{name}.{spec.name}")
    if blocks:
        blocks.insert(
            0,
            Paragraph(
                "Peak RSS is read in 4 KiB pages, so a figure per task or connection over N cannot resolve less than "
                "4096 B / N; figures below that are shown as '< resolution' and not ranked."
            ),
        )
    return blocks


def pivot(results: list[Result], key: str, x: str, schema: WorkloadSchema | None = None) -> Table:
    """One row per model, one column per parameter combination (x first), cells = the metric."""
    keys = [x, *panel_keys(results, x)] if any(x in r.params for r in results) else list(varying(results))
    combos = sorted(
        {tuple(r.params.get(k) for k in keys) for r in results},
        key=lambda c: [value_key(v) for v in (*c[1:], *c[:1])],
    )
    headers = ["model"] + [param_text(dict(zip(keys, combo, strict=True))) or "value" for combo in combos]
    rows = []
    for label in series_order(results):
        cells = [label]
        for combo in combos:
            match = [r for r in results if r.label == label and tuple(r.params.get(k) for k in keys) == combo]
            cells.append(_metric_cell(match[0], key, schema) if match else "—")
        rows.append(tuple(cells))
    return Table(tuple(headers), tuple(rows), frozenset(range(1, len(headers))))


def notes(run: Run) -> list[str]:
    items = [
        "Times are in-worker medians over the measured rounds (pytest-benchmark's stats.median). Every interval is a "
        "95% bootstrap interval of the median from the saved rounds; ratios to asyncio carry the interval of the "
        "ratio. A model is called fastest only when its interval does not overlap the runner-up's; otherwise the "
        "leaders are tied.",
        "The baseline of every group is asyncio's default variant, and only when its own side was saturated. Cells "
        "that did not measure the model — peer-bound (the load generator or reference server set the pace) or "
        "stalled (nothing was saturated) — are never the baseline and never ranked: charts draw them hollow.",
        "Reference schedulers (the suite's own greenlet hub and generator scheduler) are lower bounds that nobody "
        "deploys: they are listed apart, cross-hatched in charts, and never win.",
        "Bar charts start at the ideal round time when the workload implies one (e.g. the sleep every task "
        "makes), so bars show the overhead above it. Line charts colour the baseline, the two best and the worst "
        "series and grey the rest; every line is labelled at its end; log axes say so.",
        "Colours are fixed per model: greens and olive = greenlet-based, blues, purple, brown and pink = event "
        "loops, grey = plain generators, orange = threads, red = processes.",
        "Group sections are collapsed: click to open. Click a table header to sort by it.",
    ]
    if any(r.extra.get("calibration") for r in run.results):
        items.append(
            "cpu_mixed speed-ups use one calibration per group: the median CPU time per task across all models, "
            "so speed-ups compare across models (each worker's own figure is in results.csv as task_cpu_own_s)."
        )
    if any(r.extra.get("pinned_to_separate_cores") is False for r in run.results):
        items.append(
            "Some echo cells could not pin the load generator and the server to separate cores "
            "(pinned_to_separate_cores = false): they competed for a core."
        )
    sizes = [r.params.get("message_size") for r in run.results]
    if any(isinstance(s, int) and s >= BIG_MESSAGE_BYTES for s in sizes):
        items.append("Messages of 100 KiB and more on loopback mostly measure memory bandwidth, not the model.")
    return items
