"""http_latency: at a fixed offered load of HTTP requests, what latency does each model's server give, and how much
load does it take within a p99 target?

One cell per model variant starts the server once. The closed-loop HTTP generator first measures the server's
saturated throughput; then the open-loop HTTP generator (its own process, on the generator core; one request in
flight per connection, timed from its schedule, every response checked) is offered the cell's rates
(``benchmarks.harness.open_loop_sweep``: the common rates as the rounds, an overload, fractions of the closed-loop
throughput, the capacity search). Every rate's percentiles, lag and server CPU use are saved under
``extra_info["rates"]``, with the tier and the HTTP libraries' versions. See ``workloads/specs/http_latency.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.harness.cells import Cell
from benchmarks.harness.echo_harness import http_generator, http_open_loop_generator, http_server, pin_pair
from benchmarks.harness.open_loop_sweep import open_loop_sweep
from benchmarks.harness.virtual_clock import VirtualClock
from benchmarks.harness.worker_client import WorkerClient, WorkloadFailed
from benchmarks.test_http_server import http_library_versions
from workloads.runtime.window import QUANTA_PER_SECOND
from workloads.specs import http_latency as spec
from workloads.specs import tcp_latency as method
from workloads.specs.http_latency import WORKLOAD
from workloads.specs.http_server import tier


@pytest.mark.workload("http_latency")
def test_http_latency(
    benchmark: Any, virtual_clock: VirtualClock, worker: WorkerClient, cell: Cell, pytestconfig: pytest.Config
) -> None:
    profile = pytestconfig.getoption("--profile")
    connections, size, io_ms = cell.params["connections"], cell.params["body_size"], cell.params["io_ms"]
    context = f"{cell.label} http_latency {cell.params}"
    connect = {"op": "connect", "connections": connections, "body_size": size}
    with http_server(worker, cell.variant, size, io_ms) as port:
        with http_generator() as closed_loop:
            pin_pair(worker, closed_loop)
            saturated = saturated_throughput(closed_loop, {**connect, "port": port}, cell.timeout_s, context)
        with http_open_loop_generator() as generator:
            pinned = pin_pair(worker, generator).pinned
            generator.call({**connect, "port": port}, 60, context)
            rounds, measurements, open_loop = open_loop_sweep(
                benchmark, virtual_clock, worker, generator, cell, spec.PLANS[profile], saturated, 1, context
            )
            generator.call({"op": "close"}, 60, context)
    benchmark.extra_info.update(WORKLOAD.summarize(rounds, cell.params))  # type: ignore[arg-type]
    benchmark.extra_info.update(WORKLOAD.summarize_sweep(measurements, saturated, open_loop))
    benchmark.extra_info.update(
        http_tier=tier(cell.variant or "default"),
        http_library_versions=http_library_versions(),
        pinned_to_separate_cores=pinned,
    )


def saturated_throughput(generator: WorkerClient, connect: dict[str, Any], timeout_s: float, context: str) -> float:
    """The server's closed-loop throughput (median of a few rounds after one warm-up), in requests/s; every
    response checked, and every request answered."""
    generator.call(connect, 60, context)
    throughputs = []
    for _ in range(method.SATURATION_ROUNDS + 1):
        reply = generator.call({"op": "round", "requests": spec.SATURATION_REQUESTS}, timeout_s, context)
        if reply["metrics"]["messages"] != spec.SATURATION_REQUESTS:
            raise WorkloadFailed(f"{context}: {reply['metrics']['messages']} responses for {spec.SATURATION_REQUESTS}")
        throughputs.append(spec.SATURATION_REQUESTS * QUANTA_PER_SECOND / reply["quanta"])
    generator.call({"op": "close"}, 60, context)
    return sorted(throughputs[1:])[len(throughputs[1:]) // 2]
