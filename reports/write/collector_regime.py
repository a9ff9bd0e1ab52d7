"""The report's section on the cyclic garbage collector: its share of each fan-out round, and what a regime changes.

For each fan-out workload (``reports.judge.collector.FAN_OUT_WORKLOADS``) at its heaviest parameters, a
table of every model: the median round and the collector's share of it under each regime the run has
(``auto``: CPython's automatic collection; ``frozen``: ``gc.freeze()`` once the model is ready; ``off``).
Then the orders between two models that another regime reverses or ties (from each regime's own
verdicts, so "ahead" means separated intervals), the groups of the other regimes with their tables, and,
when the run spans several ``--python`` interpreters, the share per interpreter with each one's
thresholds and kind of collector. A run whose cells logged no collection renders nothing. Stdlib only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from reports.judge import collector
from reports.judge.groups import params_key
from reports.judge.ranking import Verdicts
from reports.read.run import Result, Run
from reports.write import fmt
from reports.write.decision import change_text
from reports.write.document import Block, Bullets, Figure, Heading, Paragraph, Table
from reports.write.fmt import param_text
from reports.write.summary import group_section


def collector_blocks(run: Run, every_regime: Verdicts, charts: list[Figure]) -> list[Block]:
    """The section, from the verdicts of every group of every regime; empty when no cell logged the collector."""
    fan_out = [r for r in run.results if r.workload in collector.FAN_OUT_WORKLOADS and collector.share(r) is not None]
    if not fan_out:
        return []
    regimes = sorted({collector.regime(r) for r in fan_out}, key=collector.REGIME_ORDER.index)
    blocks: list[Block] = [
        Heading(1, "The collector's share"),
        Paragraph(
            "A fan-out round allocates tens of thousands of tracked objects (coroutines, frames, futures, timers), "
            "so CPython's cyclic garbage collector runs inside the timed window. Its share is the time of the "
            "collections that started in the window over the round's time (median of the rounds). A share of "
            f"{collector.GC_SHARE_MARK * 100:.0f}% or more marks a verdict: the figure says as much about the "
            "collector and the heap the library imported as about the model. Regimes: auto is CPython's default; "
            "frozen calls gc.collect() and gc.freeze() once the model is imported and ready, so the long-lived "
            "heap leaves every later collection (what long-running services do); off disables automatic collection "
            "inside rounds. Regimes in this run: " + ", ".join(regimes) + "."
        ),
    ]
    for workload in collector.FAN_OUT_WORKLOADS:
        table = share_table(fan_out, workload, regimes)
        if table is not None:
            heading, rows = table
            blocks += [Heading(2, heading), rows]
    changes = collector.order_changes(collector.regime_groups(every_regime.values()))
    if len(regimes) > 1:
        blocks += [
            Heading(2, "Orders that depend on the collector"),
            Bullets(tuple(f"{c.where}: {change_text(c)}" for c in changes))
            if changes
            else Paragraph("No order between two models (separated intervals) changes with the regime in this run."),
        ]
    against = collector.baseline_orders(collector.regime_groups(every_regime.values()))
    if len(regimes) > 1 and against:
        blocks += [
            Heading(2, f"Where the collector weighs most, against {collector.BASELINE}"),
            Bullets(tuple(baseline_text(order) for order in against)),
        ]
    others = [
        v for v in every_regime.values() if collector.regime(v.cells[0].result) != collector.main_regime(run.results)
    ]
    if others:
        blocks.append(Heading(2, "Groups under the other regimes"))
        for verdict in others:
            schema = run.schemas.get(verdict.cells[0].result.workload)
            section = group_section(verdict, schema, charts, open_=False)
            blocks.append(replace(section, title=f"{section.title}, gc={collector.regime(verdict.cells[0].result)}"))
    blocks += interpreter_shares(fan_out)
    return blocks


def baseline_text(order: collector.BaselineOrder) -> str:
    """``sleep_fanout[...]: twisted behind asyncio under gc=auto, behind asyncio under gc=frozen; the order ...``."""
    stands = ", ".join(f"{how} {collector.BASELINE} under gc={name}" for name, how in order.relation)
    verdict = "the order does not depend on the collector" if order.holds else "the order depends on the collector"
    return f"{order.where}: {order.model} {stands}; {verdict}"


def heaviest_cells(results: Sequence[Result], workload: str) -> list[Result]:
    """The workload's cells at its largest parameters (every regime and interpreter)."""
    mine = [r for r in results if r.workload == workload]
    if not mine:
        return []
    top = max(params_key(r.params) for r in mine)
    return [r for r in mine if params_key(r.params) == top]


def share_table(results: Sequence[Result], workload: str, regimes: list[str]) -> tuple[str, Table] | None:
    top = heaviest_cells(results, workload)
    cells = [r for r in top if not r.extra.get("interpreter")] or top
    if not cells:
        return None
    by_row: dict[str, dict[str, Result]] = {}
    for r in cells:
        by_row.setdefault(r.label, {})[collector.regime(r)] = r
    rows = []
    for label in sorted(by_row, key=lambda k: _auto_median(by_row[k])):
        found = by_row[label]
        rows.append((label, *(_cell_text(found.get(name)) for name in regimes)))
    heading = f"{workload} at {param_text(cells[0].params)}: median round · collector share"
    return heading, Table(
        ("model", *(f"gc={name}" for name in regimes)), tuple(rows), frozenset(range(1, 1 + len(regimes)))
    )


def _auto_median(found: dict[str, Result]) -> float:
    first = found.get(collector.AUTO) or next(iter(found.values()))
    return first.stats.median


def _cell_text(result: Result | None) -> str:
    if result is None:
        return "—"
    value = collector.share(result) or 0.0
    mark = " ⚠" if value >= collector.GC_SHARE_MARK else ""
    return f"{fmt.seconds(result.stats.median)} · {value * 100:.0f}%{mark}"


def interpreter_shares(results: Sequence[Result]) -> list[Block]:
    """The share per ``--python`` interpreter at the heaviest sleep_fanout, with its thresholds and design."""
    cells = [r for r in heaviest_cells(results, "sleep_fanout") if r.extra.get("interpreter")]
    cells = [r for r in cells if collector.regime(r) == collector.AUTO]
    specs = list(dict.fromkeys(str(r.extra["interpreter"]) for r in cells))
    if len(specs) < 2:
        return []
    by_model: dict[str, dict[str, Result]] = {}
    for r in cells:
        by_model.setdefault(r.label, {})[str(r.extra["interpreter"])] = r
    rows = [
        (label, *(_cell_text(by_model[label].get(spec)) for spec in specs))
        for label in sorted(by_model, key=lambda k: _auto_median(by_model[k]))
    ]
    designs = []
    for spec in specs:
        sample = next(r for r in cells if r.extra["interpreter"] == spec)
        thresholds = sample.extra.get("gc_thresholds")
        designs.append(
            f"{spec}: {sample.extra.get('gc_design', 'design not recorded')}"
            + (f", thresholds {tuple(thresholds)}" if isinstance(thresholds, list) else "")
        )
    return [
        Heading(2, "The collector's share per interpreter (sleep_fanout, gc=auto)"),
        Table(("model", *specs), tuple(rows), frozenset(range(1, 1 + len(specs)))),
        Paragraph("Collectors: " + "; ".join(designs) + "."),
    ]
