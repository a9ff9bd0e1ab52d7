"""Reports that decide: schemas read from the run, ties called ties, a fixed baseline, the decision matrix.

Synthetic runs are built here in the saved JSON's shape (``benchmarks[]`` with ``stats.data`` and
``extra_info``; ``corobench.workloads`` with each workload's ``Schema.to_json()`` form), so each test
states exactly the numbers it judges. One of them is a workload the report code has never heard of.
"""

from __future__ import annotations

import csv
import json
import re
import statistics
from pathlib import Path
from typing import Any

from reports.__main__ import main
from reports.judge.calibration import one_calibration
from reports.judge.memory import marginal_cost
from reports.judge.ranking import PEER, REFERENCE, STALLED, verdicts
from reports.judge.stats import bootstrap_medians, percentile_interval
from reports.read.run import load_run
from reports.read.schemas import schemas_of
from reports.read.upgrade import upgrade
from reports.write.fmt import memory_text

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PING_PONG_SCHEMA = {
    "name": "ping_pong",
    "order": 60,
    "question": "What does handing control to another task and back cost?",
    "scenario": "ping-pong handoff",
    "metrics": [
        {
            "key": "time_per_switch_s",
            "label": "time per switch",
            "unit": "s",
            "higher_is_better": False,
            "headline": True,
            "table": True,
        },
        {
            "key": "rss_per_task_bytes",
            "label": "memory per player",
            "unit": "bytes",
            "higher_is_better": False,
            "headline": True,
            "table": True,
        },
    ],
    "charts": [
        {
            "metric": "time_per_switch_s",
            "x": "switches",
            "name": "switch_cost",
            "question": "Does a switch get dearer?",
            "guides": False,
            "section": "",
        },
    ],
    "flags": [],
}


def bench(model: str, workload: str, params: dict[str, Any], data: list[float], **extra: Any) -> dict[str, Any]:
    group = f"{workload}[" + ",".join(f"{k}={v}" for k, v in params.items()) + "]"
    ordered = sorted(data)
    quarter = len(ordered) // 4
    stats = {
        "min": ordered[0],
        "max": ordered[-1],
        "mean": statistics.fmean(data),
        "median": statistics.median(data),
        "q1": ordered[quarter],
        "q3": ordered[-1 - quarter],
        "rounds": len(data),
        "data": data,
    }
    info = {
        "model": model,
        "workload": workload,
        "params": params,
        "default_variant": True,
        "reference_scheduler": False,
        **extra,
    }
    return {
        "group": group,
        "name": f"test_{workload}[{model}]",
        "fullname": f"b.py::test_{workload}[{model}]",
        "stats": stats,
        "extra_info": info,
    }


def rounds(centre: float, spread: float = 0.01, n: int = 10) -> list[float]:
    """n rounds spread evenly within ±spread (a fraction) around centre."""
    return [centre * (1 + spread * (2 * i / (n - 1) - 1)) for i in range(n)]


def save_run(
    path: Path, benchmarks: list[dict[str, Any]], workloads: dict[str, Any] | None = None, **session: Any
) -> Path:
    doc = {
        "machine_info": {"node": "box", "python_version": "3.11.7", "cpu": {"brand_raw": "Test CPU", "count": 2}},
        "commit_info": {"id": "abc"},
        "datetime": "2026-12-01T00:00:00",
        "version": "5.1.0",
        "benchmarks": benchmarks,
    }
    if workloads is not None or session:
        doc["corobench"] = {
            "partial": False,
            "failed_cells": [],
            "skipped_cells": [],
            **session,
            "workloads": workloads or {},
        }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def render(path: Path, out: Path) -> tuple[str, str]:
    assert main([str(path), "--out", str(out)]) == 0
    return (out / "summary.md").read_text(encoding="utf-8"), (out / "index.html").read_text(encoding="utf-8")


def ping_pong_run(tmp_path: Path) -> Path:
    benchmarks = []
    for switches in (1000, 10000):
        for model, per_switch in (("asyncio", 2e-6), ("gevent", 1e-6), ("newlib", 4e-6)):
            data = rounds(per_switch * switches)
            benchmarks.append(
                bench(
                    model,
                    "ping_pong",
                    {"switches": switches},
                    data,
                    time_per_switch_s=statistics.median(data) / switches,
                    rss_per_task_bytes=900.0,
                )
            )
    return save_run(tmp_path / "ping.json", benchmarks, {"ping_pong": PING_PONG_SCHEMA})


def test_an_unknown_workload_is_labelled_from_the_schema_in_its_run(tmp_path: Path) -> None:
    summary, page = render(ping_pong_run(tmp_path), tmp_path / "out")
    for text in (summary, page):
        assert "time per switch" in text and "memory per player" in text
        assert "ping-pong handoff" in text  # the scenario is a decision-matrix column
        assert "What does handing control to another task and back cost?" in text
    assert "1 µs" in summary and "2 µs" in summary  # unit "s" formats the metric as time
    assert "time per switch at switches=10000: lowest gevent (1 µs)" in summary
    assert "time_per_switch" not in summary.split("## Reproduce")[0], "labels, not keys, in the matrix"
    assert (tmp_path / "out" / "ping_pong_switch_cost.png").is_file()
    assert 'src="ping_pong_switch_cost.png"' in page
    matrix = summary.split("### Verdict per scenario")[0]
    assert re.search(r"\| gevent \| ▲ 2\.00x better \[[0-9.]+-[0-9.]+\] ★", matrix), matrix


def test_legacy_runs_use_the_legacy_schema_and_new_runs_their_own() -> None:
    legacy = schemas_of(upgrade({"benchmarks": []})["corobench"])
    assert schemas_of({}) == {}, "only the upgrade knows the schemas of runs saved without them"
    assert list(legacy) == ["sleep_fanout", "tcp_echo", "tcp_client", "timeout_cancel", "cpu_mixed"]
    assert legacy["tcp_echo"].speed_headline == "throughput_msgs_per_s"
    assert legacy["tcp_echo"].metric("throughput_msgs_per_s").higher_is_better  # type: ignore[union-attr]
    own = schemas_of({"workloads": {"ping_pong": PING_PONG_SCHEMA}})
    assert list(own) == ["ping_pong"]
    assert own["ping_pong"].units_of("time_per_switch_s") == "switches"
    assert load_run(FIXTURES / "run_asyncio_quick.json").schemas == legacy


def tie_run(tmp_path: Path, gap: float) -> Path:
    """asyncio against uvloop on sleep_fanout; uvloop faster by ``gap``; both ±3 %."""
    benchmarks = [
        bench("asyncio", "sleep_fanout", {"n": 1000, "delay": 0.01}, rounds(0.02, 0.03)),
        bench("uvloop", "sleep_fanout", {"n": 1000, "delay": 0.01}, rounds(0.02 / (1 + gap), 0.03)),
        bench("threads", "sleep_fanout", {"n": 1000, "delay": 0.01}, rounds(0.2, 0.03)),
    ]
    for b in benchmarks:
        b["extra_info"]["overhead_per_task_s"] = (b["stats"]["median"] - 0.01) / 1000
    return save_run(tmp_path / f"tie_{gap}.json", benchmarks)


def test_a_lead_within_the_intervals_is_called_a_tie(tmp_path: Path) -> None:
    summary, page = render(tie_run(tmp_path, 0.01), tmp_path / "tied")
    advice = summary.split("## What this means for your choice")[1].split("\n## ")[0]
    assert "No model was separated from the runner-up" in advice
    assert "tied for fastest (intervals overlap) in 1 group: uvloop in 1, asyncio in 1" in advice
    matrix_rows = [line for line in summary.split("### Verdict per scenario")[0].splitlines() if line.startswith("| ")]
    assert matrix_rows and not any("★" in line for line in matrix_rows)
    assert "tied for fastest between uvloop, asyncio" in summary
    assert "uvloop ☆" in summary and "tied for fastest" in page

    summary, _ = render(tie_run(tmp_path, 0.3), tmp_path / "apart")
    assert "Fastest and separated from the runner-up (95% intervals apart): uvloop in 1 of 1 groups" in summary
    assert "**uvloop** is fastest, separated from asyncio" in summary


def test_the_baseline_is_the_default_asyncio_variant_and_never_a_cell_that_did_not_measure_itself(
    tmp_path: Path,
) -> None:
    params = {"connections": 10, "message_size": 1024}
    saturated = {"bottleneck": "under_test", "throughput_msgs_per_s": 1.0, "latency_p99_s": 0.001}
    benchmarks = [
        bench("asyncio", "tcp_echo", params, rounds(0.10), variant="streams", **saturated),
        bench(
            "asyncio", "tcp_echo", params, rounds(0.05), variant="protocol", **{**saturated, "default_variant": False}
        ),
        bench("greenlet", "tcp_echo", params, rounds(0.01), **{**saturated, "reference_scheduler": True}),
        bench("gevent", "tcp_echo", params, rounds(0.02), **{**saturated, "bottleneck": "peer"}),
        bench("trio", "tcp_echo", params, rounds(0.90), **{**saturated, "bottleneck": "neither", "latency_p99_s": 0.2}),
    ]
    run = load_run(save_run(tmp_path / "echo.json", benchmarks))
    (verdict,) = verdicts(run).values()
    assert verdict.baseline is not None and verdict.baseline.label == "asyncio (streams)"
    assert verdict.winner is not None and verdict.winner.label == "asyncio (protocol)"
    roles = {c.label: c.role for c in verdict.cells}
    assert roles == {
        "asyncio (protocol)": "ranked",
        "asyncio (streams)": "ranked",
        "greenlet": REFERENCE,
        "gevent": PEER,
        "trio": STALLED,
    }
    assert {c.label for c in verdict.ranked} == {"asyncio (protocol)", "asyncio (streams)"}
    protocol = next(c for c in verdict.cells if c.label == "asyncio (protocol)")
    assert protocol.ratio is not None and abs(protocol.ratio - 0.5) < 1e-9
    assert protocol.ratio_ci is not None and protocol.ratio_ci[0] < 0.5 < protocol.ratio_ci[1]

    summary, _ = render(tmp_path / "echo.json", tmp_path / "out")
    assert "Finding: trio stalled at connections=10, message_size=1024" in summary and "p99 200 ms" in summary
    assert "greenlet — reference scheduler" in summary
    assert "gevent (peer-bound)" in summary

    benchmarks[0]["extra_info"]["bottleneck"] = "peer"
    run = load_run(save_run(tmp_path / "echo_peer.json", benchmarks))
    (verdict,) = verdicts(run).values()
    assert verdict.baseline is None
    assert all(c.ratio is None for c in verdict.cells)


def test_memory_below_its_resolution_is_not_ranked_and_one_size_is_not_extrapolated(tmp_path: Path) -> None:
    params = {"connections": 100, "message_size": 1024}
    benchmarks = [
        bench("asyncio", "tcp_client", params, rounds(0.1), rss_per_connection_bytes=0.0),
        bench("gevent", "tcp_client", params, rounds(0.2), rss_per_connection_bytes=20.48),
    ]
    run = load_run(save_run(tmp_path / "mem.json", benchmarks))
    schema = run.schemas["tcp_client"]
    assert memory_text(run.results[0], "rss_per_connection_bytes", schema) == "< 40.96 B"
    assert marginal_cost(list(run.results), "rss_per_connection_bytes", schema) is None
    summary, _ = render(tmp_path / "mem.json", tmp_path / "out")
    assert "memory / connection at connections=100, message_size=1024: every model within the resolution" in summary
    assert "x worse" not in summary.split("memory / connection at")[1].split("\n")[0]


def test_cpu_mixed_speedups_share_one_calibration() -> None:
    run = one_calibration(load_run(FIXTURES / "run_all_models.json"))
    for verdict in verdicts(run).values():
        cells = [c.result for c in verdict.cells if c.result.workload == "cpu_mixed"]
        if not cells:
            continue
        assert len({r.metric("task_cpu_s") for r in cells}) == 1
        by_time = sorted(cells, key=lambda r: r.stats.median)
        by_speedup = sorted(cells, key=lambda r: -(r.metric("speedup_vs_one_core") or 0.0))
        assert [r.label for r in by_time] == [r.label for r in by_speedup]


def test_csv_has_one_row_per_result_matching_the_json(tmp_path: Path) -> None:
    source = FIXTURES / "run_quick_all_models.json"
    render(source, tmp_path)
    saved = json.loads(source.read_text())["benchmarks"]
    with (tmp_path / "results.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(saved)
    by_name = {(r["group"], r["name"]): r for r in rows}
    for b in saved:
        row = by_name[(b["group"], b["name"])]
        assert float(row["stats.median"]) == b["stats"]["median"]
        assert row["extra_info.model"] == b["extra_info"]["model"]
        for key, value in b["extra_info"]["params"].items():
            assert row[f"extra_info.params.{key}"] == str(value)
    assert (tmp_path / source.name).read_bytes() == source.read_bytes(), "the JSON is copied next to the report"


def test_the_page_opens_with_the_decision_and_fits(tmp_path: Path) -> None:
    env = {
        "command": "pytest benchmarks --benchmark-autosave --profile=quick",
        "profile": "quick",
        "pip_freeze": ["gevent==26.9.0", "greenlet==3.2.4"],
        "cores": 2,
        "python_build": "CPython 3.11.7 (GIL)",
        "load_average_start": [0.5, 0.4, 0.3],
        "load_average_end": [1.5, 1.0, 0.7],
    }
    doc = json.loads((FIXTURES / "run_quick_all_models.json").read_text())
    doc["corobench"]["environment"] = env
    source = tmp_path / "with_env.json"
    source.write_text(json.dumps(doc))
    summary, page = render(source, tmp_path / "out")
    body = page.split("<body>")[1]
    order = [body.index(s) for s in ("What should I pick?", "How to read this", "Reproduce this run", "<details")]
    assert order == sorted(order)
    assert "<details" in page and "<summary>" in page and "<script>" in page
    assert "`" not in re.sub(r"<script>.*?</script>", "", page, flags=re.S), "no literal backticks on the page"
    assert "pytest benchmarks --benchmark-autosave --profile=quick" in page
    assert "gevent==26.9.0" in page and "CPython 3.11.7 (GIL)" in page and "1.50 / 1.00 / 0.70" in page
    assert 'href="results.csv"' in page and 'href="with_env.json"' in page
    assert ".scroll { max-width: 100%; overflow-x: auto; }" in page  # wide tables scroll in their box
    assert "[results.csv](results.csv)" in summary
    matrix = summary.split("## What should I pick?")[1].split("###")[0]
    assert "greenlet — reference scheduler" in matrix and "generators — reference scheduler" in matrix
    lines = [line for line in matrix.splitlines() if line.startswith("| ")]
    names = [line.split(" | ")[0].lstrip("| ") for line in lines[1:]]
    apart = [n.endswith("— reference scheduler") for n in names]
    assert apart == sorted(apart), "production models first, the reference schedulers set apart below them"
    assert "asyncio" in names and not apart[names.index("asyncio")]


def test_bootstrap_intervals_are_seeded_and_cover_the_median() -> None:
    data = rounds(1.0, 0.1, 11)
    assert bootstrap_medians(data, 200, 7) == bootstrap_medians(data, 200, 7)
    low, high = percentile_interval(bootstrap_medians(data, 1000, 7))
    assert low < statistics.median(data) < high
    assert low >= 0.9 and high <= 1.1
