"""tcp_client: the model is the client (many concurrent downloads); how fast does it drive C connections?

Every model talks to the same reference echo server (fixed code, its own
process on another core). The worker times the round from before the first
connect to the last connection finished and checks every connection's bytes.
If the reference server was busy nearly all the round, the cell measured the
server, not the client: it is flagged ``reference_server_bound``.
"""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from benchmarks.cells import Cell
from benchmarks.echo_harness import pin_pair, reference_server
from benchmarks.measure import Round, measure, median_growth_per_unit
from benchmarks.process_stats import group_cpu_seconds
from benchmarks.virtual_clock import VirtualClock
from benchmarks.worker_client import WorkerClient

SERVER_BOUND_FROM_UTIL = 0.9


@pytest.mark.workload("tcp_client")
def test_tcp_client(benchmark: Any, virtual_clock: VirtualClock, worker: WorkerClient, cell: Cell) -> None:
    connections, size = cell.params["connections"], cell.params["message_size"]
    with reference_server() as server:
        pinned = pin_pair(worker, server)
        params = {**cell.params, "port": server.hello["port"]}

        def one_round() -> Round:
            cpu_before = group_cpu_seconds(server.pid)
            reply = worker.run_round("tcp_client", params, cell.timeout_s)
            server_cpu = group_cpu_seconds(server.pid) - cpu_before
            return Round(reply["quanta"], {**reply["metrics"], "reference_server_cpu_s": server_cpu})

        rounds = measure(benchmark, virtual_clock, cell, one_round)
    throughput = statistics.median(r.metrics["messages"] / r.seconds for r in rounds)
    server_util = statistics.median(r.metrics["reference_server_cpu_s"] / r.seconds for r in rounds)
    benchmark.extra_info.update(
        throughput_msgs_per_s=throughput,
        throughput_bytes_per_s=throughput * size,
        reference_server_cpu_util=server_util,
        reference_server_bound=server_util >= SERVER_BOUND_FROM_UTIL,
        pinned_to_separate_cores=pinned,
        rss_per_connection_bytes=median_growth_per_unit(rounds, connections),
    )
