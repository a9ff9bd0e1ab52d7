"""Workload ``cpu_mixed``: each task waits on simulated IO, then does fixed CPU work.

Task i sleeps ``delay`` with the model's own sleep, then returns
``cpu_work.burn(work, i)``. With ``work`` = 0 this is a sleep fan-out; as
``work`` grows the CPU share dominates and single-process models serialise
(threads too, under the GIL) while ``multiprocess_asyncio`` can use every
core. Each model implements

    cpu_mixed(n: int, delay: float, work: int, window: Window) -> list[int]

returning the N task results in task order. The worker also measures the cost
of one task's work outside the window, so a report can show the ideal times
for one core (delay + N x work) and for all cores.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from workloads.checks import WrongResult
from workloads.cpu_work import burn, expected_burn
from workloads.window import Window

CpuMixed = Callable[[int, float, int, Window], list[int]]
CALIBRATION_RUNS = 7


def one_task_cpu_seconds(work: int) -> float:
    """CPU time of one task's work: the least of a few runs, timed with this thread's CPU clock.

    CPU time, not wall time, and the minimum, not the median: on a shared
    machine the same burn measured 0.28-0.36 ms in wall time from one process
    to the next, and preemption only ever adds time.
    """
    samples = []
    for _ in range(CALIBRATION_RUNS):
        started = time.thread_time()
        burn(work, 0)
        samples.append(time.thread_time() - started)
    return min(samples)


def run_round(cpu_mixed: CpuMixed, params: dict[str, Any]) -> dict[str, Any]:
    n = int(params["n"])
    delay = float(params["delay"])
    work = int(params["work"])
    window = Window()
    results = cpu_mixed(n, delay, work, window)
    if len(results) != n:
        raise WrongResult(f"expected {n} task results, got {len(results)}")
    wrong = [i for i, value in enumerate(results) if value != expected_burn(work, i)]
    if wrong:
        raise WrongResult(f"{len(wrong)} task(s) returned a wrong result, e.g. task {wrong[0]}")
    task_cpu = one_task_cpu_seconds(work)
    cores = len(os.sched_getaffinity(0))
    return {
        "quanta": window.quanta,
        "metrics": {
            "tasks": n,
            "task_cpu_s": task_cpu,
            "cores": cores,
            "ideal_one_core_s": delay + n * task_cpu,
            "ideal_all_cores_s": delay + n * task_cpu / cores,
        },
    }
