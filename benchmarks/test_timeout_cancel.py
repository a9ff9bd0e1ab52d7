"""timeout_cancel: what do a model's timeouts and cancellation cost?

Half the N tasks finish well before the deadline, half are cancelled by the
model's own timeout machinery. ``cancel_cost_per_task_s`` is (median round
time - deadline) / N: what the model adds per task above the deadline it had
to wait for anyway. The worker checks exactly the early tasks completed.

The workload's definition (``workloads/specs/timeout_cancel.py``) owns its grid, check and metrics.
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.harness.cells import Cell
from benchmarks.harness.measure import measure_worker_cell
from benchmarks.harness.virtual_clock import VirtualClock
from benchmarks.harness.worker_client import WorkerClient


@pytest.mark.workload("timeout_cancel")
def test_timeout_cancel(benchmark: Any, virtual_clock: VirtualClock, worker: WorkerClient, cell: Cell) -> None:
    measure_worker_cell(benchmark, virtual_clock, worker, cell)
