"""Run one cell through pytest-benchmark with the worker's own timings.

``benchmark.pedantic`` calls ``one_round`` for every warm-up and measured round; each call asks
the worker (or, for echo, the load generator) for one checked round and advances the virtual clock
by exactly the in-window duration, so the statistics pytest-benchmark records are the worker's
measurements. The workload's definition then turns the measured rounds into its saved metrics.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from typing import Any

from benchmarks.harness.cells import Cell
from benchmarks.harness.virtual_clock import VirtualClock
from benchmarks.harness.worker_client import WorkerClient
from workloads.interface import BY_NAME
from workloads.models.registry import lookup
from workloads.specs.base import Round

__all__ = ["Round", "measure", "measure_worker_cell"]


def measure_worker_cell(benchmark: Any, clock: VirtualClock, worker: WorkerClient, cell: Cell) -> list[Round]:
    """A cell whose rounds run inside the model's worker: measure it and save its derived metrics."""

    def one_round() -> Round:
        reply = worker.run_round(cell.workload, cell.params, cell.timeout_s, cell.variant)
        return Round(reply["quanta"], reply["metrics"])

    rounds = measure(benchmark, clock, cell, one_round)
    benchmark.extra_info.update(BY_NAME[cell.workload].summarize(rounds, cell.params))
    return rounds


def measure(benchmark: Any, clock: VirtualClock, cell: Cell, run_one: Callable[[], Round]) -> list[Round]:
    """Run the cell's warm-up and measured rounds; return the measured ones.

    ``run_one`` performs one checked round and returns its in-process duration;
    the virtual clock advances by exactly that, so it is what pytest-benchmark records.
    """
    rounds: list[Round] = []

    def one_round() -> None:
        result = run_one()
        clock.advance(result.quanta)
        rounds.append(result)

    try:
        benchmark.pedantic(one_round, rounds=cell.plan.rounds, warmup_rounds=cell.plan.warmup_rounds, iterations=1)
    except BaseException:
        # pytest-benchmark flags Exceptions itself, but not KeyboardInterrupt (Ctrl-C, SIGTERM): a cell cut
        # short must not be saved as a result with missing rounds.
        benchmark.has_error = True
        raise
    measured = rounds if benchmark.disabled else rounds[cell.plan.warmup_rounds :]
    model = lookup(cell.model)
    benchmark.extra_info.update(
        model=cell.model,
        family=model.family,
        reference_scheduler=model.reference,
        workload=cell.workload,
        params=cell.params,
        **({"variant": cell.variant} if cell.variant else {}),
        default_variant=cell.variant in (None, model.variants_of(BY_NAME[cell.workload].variant_workload)[0]),
        versions=versions(cell.model, measured),
        rounds=len(measured),
        warmup_rounds=0 if benchmark.disabled else cell.plan.warmup_rounds,
        peak_rss_bytes=max_metric(measured, "peak_rss_bytes"),
    )
    if measured and "pool_startup_s" in measured[-1].metrics:  # not timed; users of the hybrid pay it once
        benchmark.extra_info["pool_startup_s"] = measured[-1].metrics["pool_startup_s"]
    return measured


def versions(model: str, rounds: list[Round]) -> dict[str, str]:
    """Library versions, and the Python the worker ran (reported by the worker; else this process's)."""
    reported = next((r.metrics["python"] for r in rounds if r.metrics.get("python")), None)
    return {"python": reported or platform.python_version(), **lookup(model).versions()}


def max_metric(rounds: list[Round], key: str) -> Any:
    values = [r.metrics[key] for r in rounds if r.metrics.get(key) is not None]
    return max(values) if values else None
