"""Run one cell through pytest-benchmark with the worker's own timings.

``benchmark.pedantic`` calls ``one_round`` for every warm-up and measured
round; each call asks the worker for one checked round and advances the
virtual clock by exactly the worker's in-window duration, so the statistics
pytest-benchmark records are the worker's measurements.
"""

from __future__ import annotations

import platform
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.cells import Cell
from benchmarks.virtual_clock import VirtualClock
from benchmarks.worker_client import WorkerClient
from workloads.registry import ALL_MODELS
from workloads.window import QUANTA_PER_SECOND


@dataclass(frozen=True)
class Round:
    quanta: int
    metrics: dict[str, Any]

    @property
    def seconds(self) -> float:
        return self.quanta / QUANTA_PER_SECOND


def measure_worker_rounds(benchmark: Any, clock: VirtualClock, worker: WorkerClient, cell: Cell) -> list[Round]:
    """Rounds timed inside the model's worker (the worker runs the whole workload)."""

    def one_round() -> Round:
        reply = worker.run_round(cell.workload, cell.params, cell.timeout_s)
        return Round(reply["quanta"], reply["metrics"])

    return measure(benchmark, clock, cell, one_round)


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
    benchmark.extra_info.update(
        model=cell.model,
        family=ALL_MODELS[cell.model].family,
        workload=cell.workload,
        params=cell.params,
        **({"variant": cell.variant} if cell.variant else {}),
        versions=versions(cell.model),
        rounds=len(measured),
        warmup_rounds=0 if benchmark.disabled else cell.plan.warmup_rounds,
        peak_rss_bytes=max_metric(measured, "peak_rss_bytes"),
    )
    if measured and "pool_startup_s" in measured[-1].metrics:  # not timed; users of the hybrid pay it once
        benchmark.extra_info["pool_startup_s"] = measured[-1].metrics["pool_startup_s"]
    return measured


def versions(model: str) -> dict[str, str]:
    return {"python": platform.python_version(), **ALL_MODELS[model].versions()}


def median_seconds(rounds: list[Round]) -> float:
    return statistics.median(r.seconds for r in rounds)


def max_metric(rounds: list[Round], key: str) -> Any:
    values = [r.metrics[key] for r in rounds if r.metrics.get(key) is not None]
    return max(values) if values else None


def median_growth_per_unit(rounds: list[Round], units: int) -> float | None:
    """Median over rounds of (the round's peak RSS - the idle worker's RSS) / units, in bytes."""
    growth = [
        (r.metrics["peak_rss_bytes"] - r.metrics["baseline_rss_bytes"]) / units
        for r in rounds
        if r.metrics.get("peak_rss_bytes") is not None and r.metrics.get("baseline_rss_bytes") is not None
    ]
    return statistics.median(growth) if growth else None
