"""timeout_cancel: what do a model's timeouts and cancellation cost?

Half the N tasks finish well before the deadline, half are cancelled by the
model's own timeout machinery. ``cancel_cost_per_task_s`` is (median round
time - deadline) / N: what the model adds per task above the deadline it had
to wait for anyway. The worker checks exactly the early tasks completed.
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.cells import Cell
from benchmarks.measure import measure_worker_rounds, median_growth_per_unit, median_seconds
from benchmarks.virtual_clock import VirtualClock
from benchmarks.worker_client import WorkerClient


@pytest.mark.workload("timeout_cancel")
def test_timeout_cancel(benchmark: Any, virtual_clock: VirtualClock, worker: WorkerClient, cell: Cell) -> None:
    rounds = measure_worker_rounds(benchmark, virtual_clock, worker, cell)
    n, deadline = cell.params["n"], cell.params["deadline"]
    benchmark.extra_info.update(
        cancel_cost_per_task_s=(median_seconds(rounds) - deadline) / n,
        completed=rounds[-1].metrics["completed"],
        cancelled=rounds[-1].metrics["cancelled"],
        rss_per_task_bytes=median_growth_per_unit(rounds, n),
    )
