"""Build the report ``Document`` of one run: environment, advice, overview, per-group rankings, memory.

Every number comes straight from the saved JSON: a group's "median" column is ``stats.median``
formatted to four significant digits, ratios are ratios of those medians, metric columns are the
``extra_info`` values. Charts are referenced by file stem. Renders through ``reports.document`` and
``reports.html``. Stdlib only.
"""

from __future__ import annotations

from reports import fmt
from reports.advice import advice
from reports.document import Alert, Bullets, Document, Figure, Heading, Paragraph, Table
from reports.figures import Chart, param_text, slug
from reports.groups import by_group, by_workload, geomean, panel_keys, reference, series_order, value_key, varying
from reports.load import Result, Run
from reports.metrics import label as metric_label
from reports.metrics import table_columns
from reports.run_status import status_blocks
from reports.scaling import SPECS

BIG_MESSAGE_BYTES = 100 * 1024
BOUND_NOTES = {
    "client-bound": "the server under test was not saturated in this cell, so it measures the load generator.",
    "server-bound": "the reference echo server was busy nearly the whole round, so it measures that server, "
    "not the client model.",
}


def run_document(run: Run, charts: list[Chart]) -> Document:
    doc = Document(f"corobench report — run {run.short_id}")
    for warning in run.warnings:
        doc.add(Alert(warning))
    doc.add(*status_blocks(run.session))
    doc.add(Heading(1, "Environment"), environment_table(run), versions_table(run))
    doc.add(Heading(1, "What this means for your choice"))
    doc.add(Paragraph("Generated from this run's numbers; a single run on one machine, so read it with the noise."))
    for workload, sentences in advice(run):
        doc.add(Heading(2, workload), Bullets(tuple(sentences)))
    if len(series_order(run.results)) > 1:
        doc.add(Heading(1, "Overview"), *overview(run))
    for workload, results in by_workload(run.results).items():
        doc.add(Heading(1, workload))
        doc.add(*[_figure(c) for c in charts if c.section == workload and not c.stem.startswith("group_")])
        for group, rows in by_group(results).items():
            doc.add(*group_section(group, rows, charts))
    memory = memory_blocks(run, charts)
    if memory:
        doc.add(Heading(1, "Memory"), *memory)
    doc.add(Heading(1, "How to read this"), Bullets(tuple(notes(run))))
    return doc


def environment_table(run: Run) -> Table:
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
        ("Date", f"{run.date} UTC"),
        ("Commit", commit_text),
        ("pytest-benchmark", run.version),
        ("Rounds", "; ".join(f"{n} measured" + (f" + {w} warm-up" if w else "") for n, w in rounds)),
        ("Results", f"{len(run.results)} benchmarks in {len(by_group(run.results))} groups, from {run.path.name}"),
    ]
    return Table(("", "value"), tuple(rows))


def versions_table(run: Run) -> Table:
    found = run.library_versions
    rows = tuple((name, found[name]) for name in sorted(found, key=lambda n: (n != "python", n.lower())))
    return Table(("library", "version"), rows or (("(none recorded)", ""),))


def overview(run: Run) -> list[Table | Paragraph]:
    """Geometric mean over each workload's groups of (model median / reference median)."""
    workloads = by_workload(run.results)
    ratios: dict[tuple[str, str], list[float]] = {}
    references: set[str] = set()
    for workload, results in workloads.items():
        for rows in by_group(results).values():
            base, name = reference(rows)
            references.add(name.split(" (")[0])
            for r in rows:
                if base.stats.median > 0:
                    ratios.setdefault((r.label, workload), []).append(r.stats.median / base.stats.median)
    labels = series_order(run.results)
    table_rows = []
    for label in labels:
        cells = [label]
        for workload in workloads:
            values = ratios.get((label, workload))
            cells.append(f"{fmt.ratio(geomean(values))} ({len(values)})" if values else "—")
        table_rows.append(tuple(cells))
    base_text = " or ".join(sorted(references))
    text = (
        f"Median time relative to {base_text} in the same group (1.00x = as fast; 2.00x = twice the time), "
        f"geometric mean over the workload's groups; in brackets the number of groups."
    )
    return [
        Paragraph(text),
        Table(("model", *workloads), tuple(table_rows), frozenset(range(1, len(workloads) + 1))),
    ]


def group_section(group: str, rows: list[Result], charts: list[Chart]) -> list[Heading | Paragraph | Table | Figure]:
    base, base_name = reference(rows)
    workload = rows[0].workload
    where = param_text(rows[0].params) or group
    columns = table_columns(workload, rows)
    headers = ("#", "model", "median", "IQR (q1 to q3)", f"vs {base_name}", *map(metric_label, columns), "rounds")
    table_rows = []
    for rank, r in enumerate(rows, start=1):
        name = r.label + (f" ({r.bound})" if r.bound else "")
        table_rows.append(
            (
                str(rank),
                name,
                fmt.seconds(r.stats.median),
                f"{fmt.seconds(r.stats.q1)} to {fmt.seconds(r.stats.q3)}",
                "baseline" if r is base else fmt.relative(r.stats.median, base.stats.median, base_name),
                *(fmt.metric(key, r.extra.get(key)) for key in columns),
                str(r.stats.rounds),
            )
        )
    numeric = frozenset({0, 2, 3, *range(5, 5 + len(columns)), 5 + len(columns)})
    fastest, slowest = rows[0], rows[-1]
    lead = f"Fastest: **{fastest.label}** ({fmt.seconds(fastest.stats.median)})."
    if len(rows) > 1:
        lead += f" Slowest: {slowest.label}, {fmt.relative(slowest.stats.median, base.stats.median, base_name)}."
    blocks: list[Heading | Paragraph | Table | Figure] = [
        Heading(2, f"{workload} at {where}"),
        Paragraph(lead),
        Table(headers, tuple(table_rows), numeric),
    ]
    for kind in sorted({r.bound for r in rows if r.bound}):
        blocks.append(Paragraph(f"({kind}): {BOUND_NOTES[kind]}"))
    blocks.extend(_figure(c) for c in charts if c.stem == "group_" + slug(group))
    return blocks


def memory_blocks(run: Run, charts: list[Chart]) -> list[Heading | Paragraph | Table | Figure]:
    blocks: list[Heading | Paragraph | Table | Figure] = []
    workloads = by_workload(run.results)
    for spec in SPECS:
        if spec.section != "memory" or spec.workload not in workloads:
            continue
        results = [r for r in workloads[spec.workload] if r.metric(spec.metric) is not None]
        if not results:
            continue
        blocks.append(Heading(2, f"{metric_label(spec.metric)} — {spec.workload}"))
        blocks.append(pivot(results, spec.metric, spec.x))
        blocks.extend(_figure(c) for c in charts if c.stem == f"{spec.workload}_{spec.name}")
    return blocks


def pivot(results: list[Result], key: str, x: str) -> Table:
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
            cells.append(fmt.metric(key, match[0].metric(key)) if match else "—")
        rows.append(tuple(cells))
    return Table(tuple(headers), tuple(rows), frozenset(range(1, len(headers))))


def notes(run: Run) -> list[str]:
    items = [
        "Times are in-worker medians over the measured rounds (pytest-benchmark `stats.median`); IQR is the "
        "middle half of the rounds. Ratios are ratios of medians.",
        "Colours are fixed per model and grouped by family: greens = greenlet-based, blues/purples = event loops, "
        "orange = threads, red = processes.",
    ]
    for kind in sorted({r.bound for r in run.results if r.bound}):
        items.append(f"{kind}: {BOUND_NOTES[kind]} Such cells are not ranked in the advice; charts draw them hollow.")
    if any(r.extra.get("pinned_to_separate_cores") is False for r in run.results):
        items.append(
            "Some echo cells could not pin the load generator and the server to separate cores "
            "(pinned_to_separate_cores = false): they competed for a core."
        )
    sizes = [r.params.get("message_size") for r in run.results]
    if any(isinstance(s, int) and s >= BIG_MESSAGE_BYTES for s in sizes):
        items.append("Messages of 100 KiB and more on loopback mostly measure memory bandwidth, not the model.")
    return items


def _figure(chart: Chart) -> Figure:
    return Figure(chart.stem, chart.title, chart.question)
