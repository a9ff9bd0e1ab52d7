"""Build the report ``Document`` comparing two runs: environments side by side, verdicts, per-benchmark table.

Says plainly when the runs come from different machines (``reports.read.run.machine_mismatch``), how
many benchmarks changed beyond the noise, and when the runs have too few rounds for any change to be
detectable. Numbers are the saved medians and the statistics from ``reports.judge.compare``. Stdlib only.
"""

from __future__ import annotations

from reports.judge.compare import ALPHA, FASTER, NOISE, SLOWER, Change, Comparison
from reports.judge.groups import varying
from reports.read.run import Run, machine_mismatch
from reports.write import fmt
from reports.write.document import Alert, Bullets, Document, Figure, Heading, Table
from reports.write.fmt import param_text


def comparison_document(comparison: Comparison, charts: list[Figure]) -> Document:
    old, new = comparison.old, comparison.new
    doc = Document(f"corobench comparison — run {new.short_id} against run {old.short_id}")
    mismatch = machine_mismatch([old, new])
    if mismatch:
        doc.add(Alert(mismatch))
    for warning in (*old.warnings, *new.warnings):
        doc.add(Alert(warning))
    doc.add(Heading(1, "Environment"), environment(old, new))
    doc.add(Heading(1, "Verdict"), Bullets(tuple(verdict(comparison))))
    by_work: dict[str, list[Change]] = {}
    for change in comparison.changes:
        by_work.setdefault(change.new.workload, []).append(change)
    for workload, changes in by_work.items():
        doc.add(Heading(1, workload))
        doc.add(*[Figure(c.stem, c.title, c.question) for c in charts if c.section == workload])
        doc.add(change_table(changes))
    missing = [f"only in {old.short_id}: {r.group} {r.label}" for r in comparison.only_old]
    missing += [f"only in {new.short_id}: {r.group} {r.label}" for r in comparison.only_new]
    if missing:
        doc.add(Heading(1, "Not compared"), Bullets(tuple(missing)))
    return doc


def environment(old: Run, new: Run) -> Table:
    def commit(run: Run) -> str:
        text = str(run.commit.get("id") or "?")[:12]
        return text + (" (uncommitted changes)" if run.commit.get("dirty") else "")

    rows = [
        ("run", old.stem, new.stem),
        ("CPU", old.machine.short, new.machine.short),
        ("machine", old.machine.node, new.machine.node),
        ("Python", old.machine.python, new.machine.python),
        ("date", f"{old.date} UTC", f"{new.date} UTC"),
        ("commit", commit(old), commit(new)),
    ]
    old_versions, new_versions = old.library_versions, new.library_versions
    for name in sorted(set(old_versions) | set(new_versions), key=str.lower):
        rows.append((name, old_versions.get(name, "—"), new_versions.get(name, "—")))
    marked = tuple((k, a, b if a == b else f"**{b}**") for k, a, b in rows)
    return Table(("", "OLD", "NEW"), marked)


def verdict(comparison: Comparison) -> list[str]:
    changes = comparison.changes
    counts = {v: sum(1 for c in changes if c.verdict == v) for v in (FASTER, SLOWER, NOISE)}
    items = [
        f"{len(changes)} benchmarks compared: {counts[FASTER]} faster, {counts[SLOWER]} slower, "
        f"{counts[NOISE]} within noise."
    ]
    real = [c for c in changes if c.verdict != NOISE]
    if real:
        best = min(real, key=lambda c: c.ratio)
        worst = max(real, key=lambda c: c.ratio)
        if best.verdict == FASTER:
            items.append(f"Largest improvement: {best.new.label} at {param_text(best.new.params)}, {describe(best)}.")
        if worst.verdict == SLOWER:
            items.append(f"Largest regression: {worst.new.label} at {param_text(worst.new.params)}, {describe(worst)}.")
    if any(c.p_value is None for c in changes):
        items.append("Some runs were saved without raw round data: those pairs compare interquartile ranges only.")
    if comparison.too_few_rounds:
        items.append(
            f"Some benchmarks have so few rounds that no difference could reach p < {ALPHA}; "
            "use a profile with more rounds (e.g. --profile=default) before trusting 'within noise'."
        )
    items.append(
        "A change is real when the Mann-Whitney U test on the rounds gives p < 0.05 after Benjamini-Hochberg "
        "adjustment over all benchmarks AND the 95% bootstrap interval of the median ratio excludes 1."
    )
    return items


def change_table(changes: list[Change]) -> Table:
    shown = list(varying([c.new for c in changes]))
    rows = []
    for c in changes:
        ci = f"{c.ci[0]:.3f} to {c.ci[1]:.3f}" if c.ci else "—"
        p = f"{c.p_value:.3g}" if c.p_value is not None else "—"
        rows.append(
            (
                param_text({k: c.new.params.get(k) for k in shown}) or c.new.group,
                c.new.label,
                fmt.seconds(c.old.stats.median),
                fmt.seconds(c.new.stats.median),
                f"{c.ratio:.3f}",
                ci,
                p,
                describe(c) if c.verdict == NOISE else f"**{describe(c)}**",
            )
        )
    headers = ("parameters", "model", "OLD median", "NEW median", "NEW/OLD", "95% CI", "p (adj.)", "verdict")
    return Table(headers, tuple(rows), frozenset({2, 3, 4, 5, 6}))


def describe(change: Change) -> str:
    """'1.43x faster', '1.25x slower' or 'within noise (1.02x)'."""
    if change.verdict == NOISE:
        return f"within noise ({change.ratio:.2f}x)"
    factor = 1 / change.ratio if change.verdict == FASTER else change.ratio
    return f"{fmt.ratio(factor)} {change.verdict}"
