"""tcp_client: the model is the client (many concurrent downloads); how fast does it drive C connections?

Every model talks to the same reference echo server (fixed code, its own
process on another core). The worker times the round from before the first
connect to the last connection finished, checks every connection's bytes and
reports the CPU time of its whole process group over the model's call; the
reference server's CPU time over the round is read here. Together they tell
which side set the pace: ``bottleneck`` (see ``workloads.specs.bottleneck``).
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.harness.cells import Cell
from benchmarks.harness.echo_harness import pin_pair, reference_server, usable_cores
from benchmarks.harness.measure import Round, measure
from benchmarks.harness.process_stats import group_cpu_seconds
from benchmarks.harness.virtual_clock import VirtualClock
from benchmarks.harness.worker_client import WorkerClient
from workloads.specs.tcp_client import WORKLOAD


@pytest.mark.workload("tcp_client")
def test_tcp_client(benchmark: Any, virtual_clock: VirtualClock, worker: WorkerClient, cell: Cell) -> None:
    with reference_server() as server:
        placement = pin_pair(worker, server)
        params = {**cell.params, "port": server.hello["port"]}

        def waited_s() -> float:
            return float(server.call({"op": "stats"}, 60, "reference server stats")["wait_s"])

        def one_round() -> Round:
            cpu_before, wait_before = group_cpu_seconds(server.pid), waited_s()
            reply = worker.run_round("tcp_client", params, cell.timeout_s, cell.variant)
            wait = waited_s() - wait_before
            server_cpu = group_cpu_seconds(server.pid) - cpu_before
            return Round(
                reply["quanta"],
                {
                    **reply["metrics"],  # messages, client_cpu_s, allocator_state, the hybrid's processes
                    # working CPU: a spinning server's empty polls are waiting (workloads.peers.waiting)
                    "reference_server_cpu_s": max(0.0, server_cpu - wait),
                    "reference_server_wait_s": wait,
                    "client_cores": usable_cores(placement.under_test_cores, reply["metrics"]),
                    "reference_server_cores": placement.peer_cores,
                },
            )

        rounds = measure(benchmark, virtual_clock, cell, one_round)
    benchmark.extra_info.update(WORKLOAD.summarize(rounds, cell.params))  # type: ignore[arg-type]
    benchmark.extra_info.update(
        pinned_to_separate_cores=placement.pinned,
        client_cores_given=placement.under_test_cores,
        peer_allocator_state=server.hello.get("allocator_state"),
        reference_server_wait=server.hello.get("wait"),
    )
