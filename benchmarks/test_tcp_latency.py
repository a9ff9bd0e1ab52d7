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
from benchmarks.harness.open_loop_sweep import open_loop_sweep
from benchmarks.harness.virtual_clock import VirtualClock
from benchmarks.harness.worker_client import WorkerClient
from workloads.runtime.window import QUANTA_PER_SECOND
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
    with echo_server(worker, cell.variant) as port:
        with load_generator() as closed_loop:
            pin_pair(worker, closed_loop)
            saturated = saturated_throughput(closed_loop, {**connect, "port": port}, cell.timeout_s, context)
        with open_loop_generator() as generator:
            pinned = pin_pair(worker, generator).pinned
            generator.call({**connect, "port": port}, 60, context)

            rounds, measurements, open_loop = open_loop_sweep(
                benchmark,
                virtual_clock,
                worker,
                generator,
                cell,
                spec.sweep_plan(profile),
                saturated,
                depth,
                context,
                {"depth": depth},
            )
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
