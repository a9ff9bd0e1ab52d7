"""Write a report directory: charts (PNG + SVG), ``summary.md``, ``index.html``, ``results.csv`` and a copy of
the run's JSON, for a run or a comparison. cpu_mixed-style groups are put on one calibration first
(``reports.judge.calibration``). Cells of collector regimes other than the main one (``auto``) are judged
and shown in the collector's section only (``reports.write.collector_regime``).

The output directory defaults to ``reports/out/<run-stem>/`` under the project root (the folder that
holds ``.benchmarks/``). It is refused when it lies inside ``.benchmarks/``, so saved results are
never touched; files of an earlier report in the same directory (recognised by the generator tag in
its ``index.html``) are removed first so no stale chart survives. Stdlib plus the chart modules.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from reports.draw.charts import make_charts
from reports.draw.open_loop import open_loop_charts
from reports.draw.ratio_chart import comparison_charts
from reports.judge.calibration import one_calibration
from reports.judge.collector import order_changes, regime_groups, split_regimes
from reports.judge.compare import compare_runs
from reports.judge.ranking import verdicts
from reports.read.find import STORAGE_DIR, find_storage, is_inside_storage
from reports.read.run import ReportInputError, Run, machine_mismatch, merge_runs
from reports.write.collector_regime import collector_blocks
from reports.write.comparison import comparison_document
from reports.write.document import Document, to_markdown
from reports.write.html import GENERATOR, to_html
from reports.write.interpreter_matrix import interpreter_blocks
from reports.write.results_csv import CSV_NAME, write_csv
from reports.write.summary import run_document

OUT_DIR = Path("reports") / "out"


def project_root(start: Path) -> Path:
    """The folder holding ``.benchmarks/`` (searched upwards from ``start``), else ``start``."""
    storage = find_storage(start)
    return storage.parent if storage is not None else start


def default_out(root: Path, runs: list[Run]) -> Path:
    return root / OUT_DIR / merge_runs(runs).stem


def default_compare_out(root: Path, old: Run, new: Run) -> Path:
    return root / OUT_DIR / f"compare_{old.short_id}_vs_{new.short_id}"


def write_report(runs: list[Run], out: Path) -> Path:
    """Write the report of one run (several runs are merged into one); return the index.html path."""
    prepare_out(out)
    names = []
    for source in runs:
        if source.path.is_file():
            target = out / source.path.name
            if source.path.resolve() != target.resolve():
                shutil.copyfile(source.path, target)
            names.append(target.name)
    run = merge_runs(runs)
    write_csv(run if len(runs) > 1 else runs[0], out)
    run = one_calibration(run)
    # Every section reads the main collector regime's cells (auto where the run has it) as it always has; the
    # collector's section alone compares regimes, from the verdicts of every group.
    main_cells, other_cells = split_regimes(run.results)
    main = replace(run, results=main_cells)
    judged = verdicts(main)  # once per report: every section and chart reads these
    every_regime = verdicts(run) if other_cells else judged
    changes = order_changes(regime_groups(every_regime.values()))
    charts = make_charts(main, every_regime, out) + open_loop_charts(main, out)
    doc = run_document(main, judged, charts, names, changes)
    doc.add(*collector_blocks(run, every_regime, charts))  # nothing unless a cell logged the collector
    doc.add(*interpreter_blocks(main.results))  # nothing unless the run spans several --python interpreters
    return _write_document(doc, out)


def write_comparison(old: Run, new: Run, out: Path) -> Path:
    prepare_out(out)
    comparison = compare_runs(old, new)
    charts = comparison_charts(comparison, out)
    return _write_document(comparison_document(comparison, charts), out)


def warnings_for(runs: list[Run]) -> list[str]:
    """What the command line should print before the report path (also written into the report)."""
    lines = [w for run in runs for w in run.warnings]
    mismatch = machine_mismatch(runs) if len(runs) > 1 else None
    return ([mismatch] if mismatch else []) + lines


def prepare_out(out: Path) -> None:
    if is_inside_storage(out):
        raise ReportInputError(f"{out}: refusing to write a report inside {STORAGE_DIR}/ (saved results live there)")
    _check_writable(out)
    index = out / "index.html"
    if index.is_file() and GENERATOR in index.read_text(encoding="utf-8", errors="replace")[:2000]:
        for old in (
            *out.glob("*.png"),
            *out.glob("*.svg"),
            *out.glob("*.json"),
            index,
            out / "summary.md",
            out / CSV_NAME,
        ):
            old.unlink(missing_ok=True)


def _check_writable(out: Path) -> None:
    """Make the folder and write a probe file in it, so a folder that cannot hold the report is one line."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise ReportInputError(f"{out}: cannot write the report there ({exc.strerror or exc})") from None


def _write_document(doc: Document, out: Path) -> Path:
    (out / "summary.md").write_text(to_markdown(doc), encoding="utf-8")
    index = out / "index.html"
    index.write_text(to_html(doc), encoding="utf-8")
    return index
