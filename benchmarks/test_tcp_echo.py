"""tcp_echo: the model is the echo server; what throughput, latency and CPU per message does it give?

The shared load generator (its own process, on another core) keeps C
connections busy in a closed loop and times each round from first send to last
echo, checking every byte, and reports its own CPU time over the round. The
server's CPU time over the round (read here, from the worker's whole process
group) and the generator's tell which side set the pace: ``bottleneck`` (see
``workloads.specs.bottleneck``).
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.harness.cells import Cell
from benchmarks.harness.echo_harness import echo_server, load_generator, pin_pair, server_round
from benchmarks.harness.measure import Round, measure, server_interpreter_info
from benchmarks.harness.process_stats import group_rss_bytes
from benchmarks.harness.virtual_clock import VirtualClock
from benchmarks.harness.worker_client import WorkerClient
from reports.read.format import cell_info
from workloads.specs.tcp_echo import WORKLOAD


@pytest.mark.workload("tcp_echo")
def test_tcp_echo(benchmark: Any, virtual_clock: VirtualClock, worker: WorkerClient, cell: Cell) -> None:
    connections, size, messages = (cell.params[k] for k in ("connections", "message_size", "messages"))
    context = f"{cell.label} tcp_echo {cell.params}"
    with load_generator() as generator:
        placement = pin_pair(worker, generator)
        with echo_server(worker, cell.variant) as port:
            rss_before = group_rss_bytes(worker.pid)
            generator.call(
                {"op": "connect", "port": port, "connections": connections, "message_size": size}, 60, context
            )

            request = {"op": "round", "messages": messages}

            def one_round() -> Round:
                return server_round(worker, generator, request, placement, cell.timeout_s, context)

            rounds = measure(benchmark, virtual_clock, cell, one_round)
            rss_after = group_rss_bytes(worker.pid)
            peak_rss = group_rss_bytes(worker.pid, "VmHWM")
            generator.call({"op": "close"}, 60, context)
    benchmark.extra_info.update(WORKLOAD.summarize(rounds, cell.params))  # type: ignore[arg-type]
    server_interpreter_info(benchmark, worker.hello)
    benchmark.extra_info.update(
        pinned_to_separate_cores=placement.pinned,
        server_cores_given=placement.under_test_cores,
        generator_impl=rounds[-1].metrics["generator_impl"],
        generator_wait=rounds[-1].metrics["generator_wait"],
        peer_allocator_state=generator.hello.get("allocator_state"),
        peak_rss_bytes=peak_rss,
        rss_per_connection_bytes=(rss_after - rss_before) / connections,
    )
    loop_connections = worker.stopped.get("setup", {}).get("server_loop_connections")
    if loop_connections is not None:  # a multi-loop server: how the kernel split the connections over its loops
        benchmark.extra_info.update(cell_info(server_loop_connections=loop_connections))
