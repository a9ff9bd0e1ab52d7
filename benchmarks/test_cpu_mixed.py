"""cpu_mixed: once tasks need CPU after their IO, which models serialise and which use every core?

Each of N tasks sleeps 10 ms and then does a fixed amount of pure-Python work.
The worker measures one task's work alone, outside the window, so each result
carries the ideal time on one core (delay + N x work) and on all cores; a
single-process model cannot beat the first, a multi-process one can approach
the second.

The workload's definition (``workloads/specs/cpu_mixed.py``) owns its grid, check and metrics.
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.harness.cells import Cell
from benchmarks.harness.measure import measure_worker_cell
from benchmarks.harness.virtual_clock import VirtualClock
from benchmarks.harness.worker_client import WorkerClient


@pytest.mark.workload("cpu_mixed")
def test_cpu_mixed(benchmark: Any, virtual_clock: VirtualClock, worker: WorkerClient, cell: Cell) -> None:
    measure_worker_cell(benchmark, virtual_clock, worker, cell)
