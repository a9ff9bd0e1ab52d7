"""ping_pong: two tasks hand a token back and forth; what does one hand-off cost per model?

``time_per_switch_s`` is the median round time / M hand-offs; every token each side received is
checked in the worker.

The workload's definition (``workloads/specs/ping_pong.py``) owns its grid, check and metrics.
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.harness.cells import Cell
from benchmarks.harness.measure import measure_worker_cell
from benchmarks.harness.virtual_clock import VirtualClock
from benchmarks.harness.worker_client import WorkerClient


@pytest.mark.workload("ping_pong")
def test_ping_pong(benchmark: Any, virtual_clock: VirtualClock, worker: WorkerClient, cell: Cell) -> None:
    measure_worker_cell(benchmark, virtual_clock, worker, cell)
