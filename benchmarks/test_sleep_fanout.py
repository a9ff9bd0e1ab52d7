"""sleep_fanout: N tasks each sleep 10 ms; what does scheduling N tasks cost per model?

``overhead_per_task_s`` is (median round time - delay) / N: the time the model
adds per task above the ideal of one 10 ms sleep.
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.cells import Cell
from benchmarks.measure import measure_worker_rounds, median_growth_per_unit, median_seconds
from benchmarks.virtual_clock import VirtualClock
from benchmarks.worker_client import WorkerClient


@pytest.mark.workload("sleep_fanout")
def test_sleep_fanout(benchmark: Any, virtual_clock: VirtualClock, worker: WorkerClient, cell: Cell) -> None:
    rounds = measure_worker_rounds(benchmark, virtual_clock, worker, cell)
    n, delay = cell.params["n"], cell.params["delay"]
    benchmark.extra_info["overhead_per_task_s"] = (median_seconds(rounds) - delay) / n
    benchmark.extra_info["rss_per_task_bytes"] = median_growth_per_unit(rounds, n)
