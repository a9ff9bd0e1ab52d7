"""The report shows the collector's share and says which orders hang on the collector regime.

A synthetic sleep_fanout run at N=10000 under ``auto`` and ``frozen``: under ``auto`` asyncio (GC 10%) is
well ahead of twisted (GC 70%); under ``frozen`` the two are the same. The report must

- mark twisted's matrix cell and the verdict with the collector's share (over ``GC_SHARE_MARK``);
- keep the ``frozen`` cells out of the matrix and the groups, and show them in the collector's section
  with both regimes side by side and the order change named with the regime each order holds under;
- add the collector share column to the group's table;
- read a run saved before regimes had names (``gc_automatic`` only, no ``gc_share``) as ``auto``, with the
  share from the pauses over the median.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reports.build import write_report
from reports.judge import collector
from reports.read.run import load_run
from workloads.interface import BY_NAME

N = 10_000


def fanout_bench(model: str, regime: str, median: float, share: float) -> dict[str, Any]:
    data = [median * (1 + 0.01 * (2 * i / 9 - 1)) for i in range(10)]
    suffix = "" if regime == "auto" else f",gc={regime}"
    return {
        "group": f"sleep_fanout[n={N},delay=0.01{suffix}]",
        "name": f"test_sleep_fanout[{model}{suffix}]",
        "fullname": f"benchmarks/test_sleep_fanout.py::test_sleep_fanout[{model}-n={N}{suffix}]",
        "stats": {
            "min": min(data),
            "max": max(data),
            "mean": sum(data) / len(data),
            "median": median,
            "q1": data[2],
            "q3": data[7],
            "rounds": len(data),
            "data": data,
        },
        "extra_info": {
            "model": model,
            "workload": "sleep_fanout",
            "params": {"n": N, "delay": 0.01},
            "default_variant": True,
            "reference_scheduler": False,
            "overhead_per_task_s": (median - 0.01) / N,
            "gc_pause_s": share * median,
            "gc_share": share,
            "gc_automatic": True,
            "gc_regime": regime,
        },
    }


def gc_run(tmp_path: Path) -> Path:
    doc = {
        "machine_info": {"node": "box", "python_version": "3.11.7", "cpu": {"brand_raw": "Test CPU", "count": 2}},
        "commit_info": {"id": "abc"},
        "datetime": "2026-12-01T00:00:00",
        "version": "5.1.0",
        "benchmarks": [
            fanout_bench("asyncio", "auto", 0.12, 0.10),
            fanout_bench("twisted", "auto", 0.40, 0.70),
            fanout_bench("asyncio", "frozen", 0.10, 0.02),
            fanout_bench("twisted", "frozen", 0.10, 0.05),
        ],
        "corobench": {
            "format_version": 1,
            "partial": False,
            "failed_cells": [],
            "skipped_cells": [],
            "workloads": {"sleep_fanout": BY_NAME["sleep_fanout"].schema.to_json()},
        },
    }
    path = tmp_path / "gc.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_the_report_shows_the_share_and_the_orders_that_depend_on_the_regime(tmp_path: Path) -> None:
    index = write_report([load_run(gc_run(tmp_path))], tmp_path / "report")
    summary = (index.parent / "summary.md").read_text(encoding="utf-8")
    matrix, _, rest = summary.partition("## Caveats")
    assert "GC 70%" in matrix  # twisted's matrix cell
    assert "the collector took 70% of twisted's round" in matrix  # the verdict
    assert "asyncio ahead of twisted under gc=auto, tied under gc=frozen" in matrix
    section = rest[rest.index("# The collector's share") :]
    assert "| model | gc=auto | gc=frozen |" in section
    assert "| twisted | 400 ms · 70% ⚠ | 100 ms · 5% |" in section
    assert "asyncio ahead of twisted under gc=auto, tied under gc=frozen" in section
    assert section.count("sleep_fanout at N=10000, delay=0.01, gc=frozen") == 1  # its group, shown here only
    assert "gc=frozen" not in rest[: rest.index("# The collector's share")]
    assert "| collector share |" in rest  # the group table's column
    assert (index.parent / "group_sleep_fanout_n_10000_delay_0.01_gc_frozen.png").is_file()


def test_a_run_saved_before_regimes_reads_as_auto_with_its_share_from_the_pauses(tmp_path: Path) -> None:
    path = gc_run(tmp_path)
    doc = json.loads(path.read_text())
    doc["benchmarks"] = doc["benchmarks"][:2]
    for bench in doc["benchmarks"]:
        del bench["extra_info"]["gc_regime"], bench["extra_info"]["gc_share"]
    path.write_text(json.dumps(doc))
    twisted = next(r for r in load_run(path).results if r.model == "twisted")
    assert collector.regime(twisted) == "auto"
    share = collector.share(twisted)
    assert share is not None and abs(share - 0.70) < 1e-9
    assert collector.heavy(twisted) and collector.share_text(twisted) == "GC 70%"


def test_a_heavy_model_is_placed_against_asyncio_under_every_regime(tmp_path: Path) -> None:
    """The order of a model the collector weighs on, against asyncio, is said under each regime: changed or not."""
    index = write_report([load_run(gc_run(tmp_path))], tmp_path / "report")
    section = (index.parent / "summary.md").read_text(encoding="utf-8").partition("# The collector's share")[2]
    assert "Where the collector weighs most, against asyncio" in section
    assert (
        "twisted behind asyncio under gc=auto, tied with asyncio under gc=frozen; the order depends on the collector"
    ) in section


def test_an_order_that_holds_under_every_regime_says_so(tmp_path: Path) -> None:
    doc = json.loads(gc_run(tmp_path).read_text(encoding="utf-8"))
    doc["benchmarks"][3] = fanout_bench("twisted", "frozen", 0.30, 0.60)  # still behind asyncio when frozen
    path = tmp_path / "holds.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    index = write_report([load_run(path)], tmp_path / "report")
    section = (index.parent / "summary.md").read_text(encoding="utf-8").partition("# The collector's share")[2]
    assert (
        "twisted behind asyncio under gc=auto, behind asyncio under gc=frozen; "
        "the order does not depend on the collector"
    ) in section
