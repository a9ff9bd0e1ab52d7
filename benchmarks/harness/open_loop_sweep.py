"""One open-loop cell's offered rates, for ``tcp_latency`` and ``http_latency`` alike.

After the closed-loop rounds have measured the server's saturated throughput, the open-loop generator
(already connected, on its own core) is offered, in this order: the common absolute rates (the cell's
pytest-benchmark rounds; a round's value is the p99 at that rate), an overload (the open-loop saturated
throughput is the rate the server answered under it), the fractions of the closed-loop throughput, and the
capacity search's rates for each latency target (``workloads.specs.tcp_latency``: brackets, confirmations).
Every measurement carries the server's CPU use over it (its worker's whole process group) and whether the
generator or the connections were the limit there.
"""

from __future__ import annotations

from typing import Any

from benchmarks.harness.cells import Cell
from benchmarks.harness.measure import Round, measure
from benchmarks.harness.process_stats import group_cpu_seconds
from benchmarks.harness.virtual_clock import VirtualClock
from benchmarks.harness.worker_client import WorkerClient
from workloads.runtime.window import to_quanta
from workloads.specs import tcp_latency as spec


def open_loop_sweep(
    benchmark: Any,
    virtual_clock: VirtualClock,
    worker: WorkerClient,
    generator: WorkerClient,
    cell: Cell,
    plan: spec.SweepPlan,
    saturated: float,
    depth: int,
    context: str,
    extra_request: dict[str, Any] | None = None,
) -> tuple[list[Round], list[dict[str, Any]], dict[str, Any]]:
    """Offer every rate of ``plan`` to the server; (the rounds, every measurement, the open-loop saturation)."""
    measurements: list[dict[str, Any]] = []

    def offer_once(rate: float, kind: str, fraction: float | None) -> dict[str, Any]:
        cpu_before = group_cpu_seconds(worker.pid)
        request = {
            "op": "measure",
            "rate": rate,
            "warmup_s": cell.params["warmup_s"],
            "duration_s": cell.params["duration_s"],
            "drain_s": spec.OVERLOAD_DRAIN_S if kind == "overload" else spec.DRAIN_S,
            "seed": len(measurements),
            **(extra_request or {}),
        }
        reply = generator.call(request, cell.timeout_s, f"{context} at {rate:g}/s")
        server_cpu = group_cpu_seconds(worker.pid) - cpu_before
        reply.pop("ok", None)
        measurement = {
            **reply,
            "kind": kind,
            **({"fraction_of_saturated": fraction} if fraction is not None else {}),
            "server_cpu_util": server_cpu / reply["elapsed_s"],
            "generator_limited": spec.is_generator_limited(reply),
        }
        measurement["connection_limited"] = spec.is_connection_limited(measurement)
        measurements.append(measurement)
        return measurement

    def offer(rate: float, kind: str, fraction: float | None = None, retries: int = spec.RETRIES) -> dict[str, Any]:
        """Measure ``rate``; again (up to ``retries`` times) while the generator fell behind."""
        measured = offer_once(rate, kind, fraction)
        for _ in range(retries):
            if not measured["generator_limited"]:
                break
            measured = offer_once(rate, kind, fraction)
        return measured

    common = iter(plan.absolute_rates)

    def one_round() -> Round:
        measured = offer(next(common), "absolute")
        return Round(to_quanta(measured["latency_p99_s"]), measured)

    rounds = measure(benchmark, virtual_clock, cell, one_round)
    # after the common rates, so their server has not yet carried an overload's backlog
    open_loop = spec.open_loop_saturation(offer(round(spec.overload_rate(saturated, depth)), "overload"))
    for fraction in plan.fractions:
        offer(round(fraction * saturated), "fraction", fraction)
    for target in spec.TARGETS_S.values():
        for _ in range(plan.search_steps):
            rate = spec.next_rate_within(spec.search_points(measurements), target, saturated, depth, plan.precision)
            if rate is None:
                break
            offer(round(rate), "search", retries=0)
    return rounds, measurements, open_loop
