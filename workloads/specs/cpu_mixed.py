"""Workload ``cpu_mixed``: each task waits on simulated IO, then does fixed CPU work.

Task i sleeps ``delay`` with the model's own sleep, then returns ``cpu_work.burn(work, i)``. With
``work`` = 0 this is a sleep fan-out; as ``work`` grows the CPU share dominates and single-process
models serialise (threads too, under the GIL) while ``multiprocess_asyncio`` can use every core.
The model returns the N task results in task order; the round checks each against its closed form.
The worker also measures one task's work outside the window, so a result carries the ideal times
for one core (delay + N x work) and for all cores.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any, Protocol, TypedDict

from workloads.runtime.errors import WrongResult
from workloads.runtime.window import Window
from workloads.specs.base import Round, Workload, median_seconds
from workloads.specs.cpu_work import burn, expected_burn
from workloads.specs.schema import Chart, Metric, Schema


class Params(TypedDict):
    n: int
    delay: float
    work: int


class Implements(Protocol):
    def cpu_mixed(self, variant: str, n: int, delay: float, work: int, window: Window, /) -> list[int]: ...


TASKS = 100
DELAY_S = 0.01
WORK = {
    "quick": (10_000,),
    "default": (0, 10_000, 100_000),
    "full": (0, 1_000, 10_000, 100_000, 300_000),
}
"""Iterations of pure-Python work per task after its IO: CPU share from none to dominant (work=1000, a
CPU share of about 2 %, is in full: it measured the same as work=0 in every model)."""
CALIBRATION_RUNS = 7


def one_task_cpu_seconds(work: int) -> float:
    """CPU time of one task's work: the least of a few runs, timed with this thread's CPU clock.

    CPU time, not wall time, and the minimum, not the median: on a shared machine the same burn
    measured 0.28-0.36 ms in wall time from one process to the next, and preemption only adds time.
    """
    samples = []
    for _ in range(CALIBRATION_RUNS):
        started = time.thread_time()
        burn(work, 0)
        samples.append(time.thread_time() - started)
    return min(samples)


class CpuMixed(Workload[Params]):
    schema = Schema(
        name="cpu_mixed",
        order=50,
        question='Does "processes plus coroutines" pay off once tasks need CPU?',
        scenario="CPU-heavy tasks",
        metrics=(
            Metric("cpu_share", "CPU share", "share"),
            Metric("ideal_one_core_s", "ideal, one core", "s"),
            Metric("ideal_all_cores_s", "ideal, all cores", "s"),
            Metric("speedup_vs_one_core", "speed-up vs one core", "ratio", higher_is_better=True, headline=True),
            Metric("task_cpu_s", "CPU / task", "s", table=False),
        ),
        charts=(
            Chart(
                "speedup_vs_one_core",
                "work",
                "speedup_vs_work",
                "As each task's CPU work after its IO grows, which models stay near one core's ideal and which use "
                "more cores (above 1)?",
                guides=True,
            ),
        ),
    )

    def grid(self, profile: str) -> list[Params]:
        return [Params(n=TASKS, delay=DELAY_S, work=work) for work in WORK[profile]]

    def run_round(self, model: Implements, variant: str, params: Params) -> dict[str, Any]:
        n, delay, work = int(params["n"]), float(params["delay"]), int(params["work"])
        window = Window()
        results = model.cpu_mixed(variant, n, delay, work, window)
        if len(results) != n:
            raise WrongResult(f"expected {n} task results, got {len(results)}")
        wrong = [i for i, value in enumerate(results) if value != expected_burn(work, i)]
        if wrong:
            raise WrongResult(f"{len(wrong)} task(s) returned a wrong result, e.g. task {wrong[0]}")
        return {
            "quanta": window.quanta,
            "metrics": {"tasks": n, "task_cpu_s": one_task_cpu_seconds(work), "cores": len(os.sched_getaffinity(0))},
        }

    def expected_round_s(self, params: Params) -> float:
        return params["delay"] + params["n"] * (params["work"] * 60e-9 + 30e-6)

    def summarize(self, rounds: list[Round], params: Params) -> dict[str, Any]:
        n, delay = params["n"], params["delay"]
        task_cpu = statistics.median(r.metrics["task_cpu_s"] for r in rounds)
        cores = rounds[-1].metrics["cores"]
        ideal_one_core = delay + n * task_cpu
        return {
            "task_cpu_s": task_cpu,
            "cpu_share": n * task_cpu / ideal_one_core,
            "cores": cores,
            "ideal_one_core_s": ideal_one_core,
            "ideal_all_cores_s": delay + n * task_cpu / cores,
            "speedup_vs_one_core": ideal_one_core / median_seconds(rounds),
        }


WORKLOAD = CpuMixed()
