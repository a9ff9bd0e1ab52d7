"""tcp_echo: the model is the echo server; what throughput, latency and CPU per message does it give?

The shared load generator (its own process, on another core) keeps C
connections busy in a closed loop and times each round from first send to last
echo, checking every byte. The server's CPU time over the round tells whether
the cell measured the server (``server_cpu_util`` near 1) or the generator
(``client_bound``).
"""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from benchmarks.cells import Cell
from benchmarks.echo_harness import echo_server, load_generator, pin_pair
from benchmarks.measure import Round, measure
from benchmarks.process_stats import group_cpu_seconds, group_rss_bytes
from benchmarks.virtual_clock import VirtualClock
from benchmarks.worker_client import WorkerClient

CLIENT_BOUND_BELOW_UTIL = 0.9
"""A server busy for less than this share of the round was waiting for the generator."""


@pytest.mark.workload("tcp_echo")
def test_tcp_echo(benchmark: Any, virtual_clock: VirtualClock, worker: WorkerClient, cell: Cell) -> None:
    connections, size, messages = (cell.params[k] for k in ("connections", "message_size", "messages"))
    context = f"{cell.label} tcp_echo {cell.params}"
    with load_generator() as generator:
        pinned = pin_pair(worker, generator)
        with echo_server(worker, cell.variant) as port:
            rss_before = group_rss_bytes(worker.pid)
            generator.call(
                {"op": "connect", "port": port, "connections": connections, "message_size": size}, 60, context
            )

            def one_round() -> Round:
                cpu_before = group_cpu_seconds(worker.pid)
                reply = generator.call({"op": "round", "messages": messages}, cell.timeout_s, context)
                server_cpu = group_cpu_seconds(worker.pid) - cpu_before
                return Round(reply["quanta"], {**reply["metrics"], "server_cpu_s": server_cpu})

            rounds = measure(benchmark, virtual_clock, cell, one_round)
            rss_after = group_rss_bytes(worker.pid)
            peak_rss = group_rss_bytes(worker.pid, "VmHWM")
            generator.call({"op": "close"}, 60, context)
    benchmark.extra_info.update(echo_metrics(rounds, size, connections, pinned))
    benchmark.extra_info.update(
        peak_rss_bytes=peak_rss,
        rss_per_connection_bytes=(rss_after - rss_before) / connections,
    )


def echo_metrics(rounds: list[Round], size: int, connections: int, pinned: bool) -> dict[str, Any]:
    def median(values: list[float]) -> float:
        return statistics.median(values)

    durations = [r.seconds for r in rounds]
    messages = [r.metrics["messages"] for r in rounds]
    cpu = [r.metrics["server_cpu_s"] for r in rounds]
    throughput = median([m / d for m, d in zip(messages, durations, strict=True)])
    util = median([c / d for c, d in zip(cpu, durations, strict=True)])
    metrics: dict[str, Any] = {
        "throughput_msgs_per_s": throughput,
        "throughput_bytes_per_s": throughput * size,
        "server_cpu_s": median(cpu),
        "server_cpu_per_msg_s": median([c / m for c, m in zip(cpu, messages, strict=True)]),
        "server_cpu_util": util,
        "client_bound": util < CLIENT_BOUND_BELOW_UTIL,
        "pinned_to_separate_cores": pinned,
        "latency_max_s": max(r.metrics["latency_max_s"] for r in rounds),
    }
    for name in ("p50", "p90", "p99", "p999"):
        key = f"latency_{name}_s"
        metrics[key] = median([r.metrics[key] for r in rounds])
    return metrics
