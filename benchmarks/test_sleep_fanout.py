"""sleep_fanout: N tasks each sleep 10 ms; what does scheduling N tasks cost per model?

``overhead_per_task_s`` is (median round time - delay) / N: the time the model
adds per task above the ideal of one 10 ms sleep.

The workload's definition (``workloads/specs/sleep_fanout.py``) owns its grid, check and metrics.
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.harness.cells import Cell
from benchmarks.harness.measure import measure_worker_cell
from benchmarks.harness.virtual_clock import VirtualClock
from benchmarks.harness.worker_client import WorkerClient


@pytest.mark.workload("sleep_fanout")
def test_sleep_fanout(benchmark: Any, virtual_clock: VirtualClock, worker: WorkerClient, cell: Cell) -> None:
    measure_worker_cell(benchmark, virtual_clock, worker, cell)
