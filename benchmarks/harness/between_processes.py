"""Noise between worker processes: a sample of cells measured again in fresh interpreters.

A cell's rounds all run in one worker process, so their spread says nothing about what moves a figure
from one process to the next: memory layout, hash seed, which core's caches were warm, a neighbour on
the machine. pyperf runs many worker processes for this reason. Here a cell in the sample is measured
again in ``EXTRA_PROCESSES`` fresh workers (``REPEAT_PLAN`` rounds each, every round checked as usual);
the cell saves each process's median round time under ``between_processes`` and their relative spread,
which the reports fold into the verdicts' intervals of that workload. These rounds are not fed to
pytest-benchmark: its statistics stay those of the cell's own process.

The default profile samples the heaviest default parameters of the fan-out and hand-off workloads for
a few models (``DEFAULT_SAMPLE``); ``full`` repeats every in-worker cell; ``quick`` none.
"""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.harness.cells import Cell
from benchmarks.harness.worker_client import WorkerClient
from workloads.interface import BY_NAME
from workloads.models.registry import lookup
from workloads.runtime.window import QUANTA_PER_SECOND
from workloads.specs.schema import Plan

EXTRA_PROCESSES = {"quick": 0, "default": 2, "full": 2}
REPEAT_PLAN = Plan(rounds=3, warmup_rounds=1)
DEFAULT_SAMPLE = {
    "sleep_fanout": ("asyncio", "gevent", "twisted", "tornado", "multiprocess_asyncio"),
    "ping_pong": ("asyncio", "gevent", "twisted", "tornado", "threads"),
    "cpu_mixed": ("asyncio", "multiprocess_asyncio"),
}
"""Workload -> models whose cell at the workload's heaviest default parameters (and default variant) is repeated."""


def extra_processes(cell: Cell) -> int:
    """How many fresh workers measure ``cell`` again (0: not in the sample)."""
    extra = EXTRA_PROCESSES.get(cell.profile, 0)
    if extra == 0 or cell.profile == "full":
        return extra
    workload = BY_NAME[cell.workload]
    heaviest = workload.grid(cell.profile)[-1]
    default_variant = cell.variant is None or cell.variant == _default_variant(cell)
    sampled = cell.model in DEFAULT_SAMPLE.get(cell.workload, ()) and default_variant
    return extra if sampled and dict(heaviest) == dict(cell.params) else 0


def _default_variant(cell: Cell) -> str:
    return lookup(cell.model).variants_of(BY_NAME[cell.workload].variant_workload)[0]


def measure_between_processes(cell: Cell, first_process_median_s: float) -> dict[str, Any]:
    """``{"between_processes": ...}`` with every process's median round time, or nothing outside the sample."""
    extra = extra_processes(cell)
    if extra == 0:
        return {}
    python = cell.interpreter.python if cell.interpreter else None
    medians = [first_process_median_s]
    for _ in range(extra):
        with WorkerClient(cell.model, env=cell.worker_env, python=python) as worker:
            seconds = []
            for index in range(REPEAT_PLAN.warmup_rounds + REPEAT_PLAN.rounds):
                reply = worker.run_round(cell.workload, cell.params, cell.timeout_s, cell.variant)
                if index >= REPEAT_PLAN.warmup_rounds:
                    seconds.append(reply["quanta"] / QUANTA_PER_SECOND)
            medians.append(statistics.median(seconds))
    middle = statistics.median(medians)
    return {
        "between_processes": {
            "process_medians_s": medians,
            "rounds_per_process": REPEAT_PLAN.rounds,
            "spread": (max(medians) - min(medians)) / middle if middle > 0 else None,
        }
    }
