"""pytest-benchmark's recorded rounds equal the worker's in-window durations, exactly.

This uses the real ``benchmark`` fixture with a ``VirtualClock`` timer and a real
asyncio worker, as the benchmark suite does.
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.harness.cells import Cell
from benchmarks.harness.measure import measure_worker_cell
from benchmarks.harness.virtual_clock import VirtualClock
from benchmarks.harness.worker_client import WorkerClient
from workloads.specs.schema import Plan

CLOCK = VirtualClock()
CELL = Cell("asyncio", "sleep_fanout", {"n": 50, "delay": 0.002}, Plan(rounds=5, warmup_rounds=2), timeout_s=30)


@pytest.mark.benchmark(timer=CLOCK, group="exact-timing")
def test_recorded_rounds_are_the_worker_durations(benchmark: Any) -> None:
    if benchmark.disabled:
        pytest.skip("pytest-benchmark is disabled in this run")
    with WorkerClient("asyncio") as worker:
        rounds = measure_worker_cell(benchmark, CLOCK, worker, CELL)
    assert len(rounds) == CELL.plan.rounds
    assert benchmark.stats.stats.data == [r.seconds for r in rounds]
    assert all(r.seconds >= 0.002 for r in rounds)
    assert benchmark.extra_info["model"] == "asyncio"
    assert benchmark.extra_info["peak_rss_bytes"] > 0
