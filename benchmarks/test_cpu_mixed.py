"""cpu_mixed: once tasks need CPU after their IO, which models serialise and which use every core?

Each of N tasks sleeps 10 ms and then does a fixed amount of pure-Python work.
The worker measures one task's work alone, outside the window, so each result
carries the ideal time on one core (delay + N x work) and on all cores; a
single-process model cannot beat the first, a multi-process one can approach
the second.
"""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from benchmarks.cells import Cell
from benchmarks.measure import measure_worker_rounds, median_seconds
from benchmarks.virtual_clock import VirtualClock
from benchmarks.worker_client import WorkerClient


@pytest.mark.workload("cpu_mixed")
def test_cpu_mixed(benchmark: Any, virtual_clock: VirtualClock, worker: WorkerClient, cell: Cell) -> None:
    rounds = measure_worker_rounds(benchmark, virtual_clock, worker, cell)
    n, delay = cell.params["n"], cell.params["delay"]
    task_cpu = statistics.median(r.metrics["task_cpu_s"] for r in rounds)
    cores = rounds[-1].metrics["cores"]
    ideal_one_core = delay + n * task_cpu
    benchmark.extra_info.update(
        task_cpu_s=task_cpu,
        cpu_share=n * task_cpu / ideal_one_core,
        cores=cores,
        ideal_one_core_s=ideal_one_core,
        ideal_all_cores_s=delay + n * task_cpu / cores,
        speedup_vs_one_core=ideal_one_core / median_seconds(rounds),
    )
