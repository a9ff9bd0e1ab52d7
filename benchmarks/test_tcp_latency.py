"""tcp_latency: latency of every echo server under a fixed offered rate, and its capacity under a latency target.

One cell per model variant starts the server once. Each connection carries at most ``depth`` messages
not yet echoed (request/response at depth 1). The tcp_echo closed-loop generator first measures
the server's saturated throughput; then the open-loop generator (its own process, on the generator
core) offers the common absolute rates (the pytest-benchmark rounds; a round's value is the p99 at
that rate), an overload (the open-loop saturated throughput is the rate the server echoed under it),
the fractions of the closed-loop throughput, and the capacity search's rates. Every rate's
percentiles, lag and server CPU use are saved under ``extra_info["rates"]``. See
``workloads/specs/tcp_latency.py`` for the method.
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.harness.cells import Cell
from benchmarks.harness.echo_harness import echo_server, load_generator, open_loop_generator, pin_pair
from benchmarks.harness.measure import Round, measure
from benchmarks.harness.process_stats import group_cpu_seconds
from benchmarks.harness.virtual_clock import VirtualClock
from benchmarks.harness.worker_client import WorkerClient
from workloads.runtime.window import QUANTA_PER_SECOND, to_quanta
from workloads.specs import tcp_latency as spec
from workloads.specs.tcp_latency import WORKLOAD


@pytest.mark.workload("tcp_latency")
def test_tcp_latency(
    benchmark: Any, virtual_clock: VirtualClock, worker: WorkerClient, cell: Cell, pytestconfig: pytest.Config
) -> None:
    profile = pytestconfig.getoption("--profile")
    connections, size, depth = cell.params["connections"], cell.params["message_size"], cell.params["depth"]
    context = f"{cell.label} tcp_latency {cell.params}"
    connect = {"op": "connect", "connections": connections, "message_size": size}
    measurements: list[dict[str, Any]] = []
    with echo_server(worker, cell.variant) as port:
        with load_generator() as closed_loop:
            pin_pair(worker, closed_loop)
            saturated = saturated_throughput(closed_loop, {**connect, "port": port}, cell.timeout_s, context)
        with open_loop_generator() as generator:
            pinned = pin_pair(worker, generator).pinned
            generator.call({**connect, "port": port}, 60, context)

            def offer_once(rate: float, kind: str, fraction: float | None) -> dict[str, Any]:
                cpu_before = group_cpu_seconds(worker.pid)
                request = {
                    "op": "measure",
                    "rate": rate,
                    "warmup_s": cell.params["warmup_s"],
                    "duration_s": cell.params["duration_s"],
                    "drain_s": spec.OVERLOAD_DRAIN_S if kind == "overload" else spec.DRAIN_S,
                    "seed": len(measurements),
                    "depth": depth,
                }
                reply = generator.call(request, cell.timeout_s, f"{context} at {rate:g} msgs/s")
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

            def offer(rate: float, kind: str, fraction: float | None = None, retries: int = spec.RETRIES) -> Any:
                """Measure ``rate``; again (up to ``retries`` times) while the generator fell behind."""
                measured = offer_once(rate, kind, fraction)
                for _ in range(retries):
                    if not measured["generator_limited"]:
                        break
                    measured = offer_once(rate, kind, fraction)
                return measured

            common = iter(spec.ABSOLUTE_RATES[profile])

            def one_round() -> Round:
                measured = offer(next(common), "absolute")
                return Round(to_quanta(measured["latency_p99_s"]), measured)

            rounds = measure(benchmark, virtual_clock, cell, one_round)
            # after the common rates, so their server has not yet carried an overload's backlog
            open_loop = spec.open_loop_saturation(offer(round(spec.overload_rate(saturated, depth)), "overload"))
            for fraction in spec.FRACTIONS[profile]:
                offer(round(fraction * saturated), "fraction", fraction)
            for target in spec.TARGETS_S.values():
                for _ in range(spec.SEARCH_STEPS[profile]):
                    points = spec.search_points(measurements)
                    rate = spec.next_rate_within(points, target, saturated, depth, spec.PRECISION[profile])
                    if rate is None:
                        break
                    offer(round(rate), "search", retries=0)
            generator.call({"op": "close"}, 60, context)
    benchmark.extra_info.update(WORKLOAD.summarize(rounds, cell.params))  # type: ignore[arg-type]
    benchmark.extra_info.update(WORKLOAD.summarize_sweep(measurements, saturated, open_loop, depth))
    benchmark.extra_info.update(pinned_to_separate_cores=pinned)


def saturated_throughput(generator: WorkerClient, connect: dict[str, Any], timeout_s: float, context: str) -> float:
    """The server's closed-loop throughput (median of a few rounds after one warm-up), in messages/s."""
    generator.call(connect, 60, context)
    throughputs = []
    for _ in range(spec.SATURATION_ROUNDS + 1):
        reply = generator.call({"op": "round", "messages": spec.SATURATION_MESSAGES}, timeout_s, context)
        throughputs.append(spec.SATURATION_MESSAGES * QUANTA_PER_SECOND / reply["quanta"])
    generator.call({"op": "close"}, 60, context)
    return sorted(throughputs[1:])[len(throughputs[1:]) // 2]
