"""http_server: the model serves HTTP/1.1 keep-alive; what requests/s, latency and CPU per request does it give?

The suite's HTTP load generator (its own process, on another core) keeps C
persistent connections busy in a closed loop, one request in flight per
connection, and checks every response's status, ``Content-Length`` and body
bytes; it times each round from first send to last response and reports its own
CPU. The server's CPU over the round (its worker's whole process group) and the
generator's tell which side set the pace (``workloads.specs.bottleneck``). The
tier (own server or same parser) and the HTTP libraries' versions are saved with
the cell.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

import pytest

from benchmarks.harness.cells import Cell
from benchmarks.harness.echo_harness import http_generator, http_server, pin_pair, server_round
from benchmarks.harness.measure import Round, measure, server_interpreter_info
from benchmarks.harness.process_stats import group_rss_bytes
from benchmarks.harness.virtual_clock import VirtualClock
from benchmarks.harness.worker_client import WorkerClient, WorkloadFailed
from reports.read.format import cell_info
from workloads.specs.http_server import WORKLOAD, tier

HTTP_DISTRIBUTIONS = ("uvicorn", "aiohttp", "httptools", "h11")


def http_library_versions() -> dict[str, str]:
    """Versions of the HTTP libraries installed beside the models (the worker runs the same environment)."""
    found = {}
    for dist in HTTP_DISTRIBUTIONS:
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


@pytest.mark.workload("http_server")
def test_http_server(benchmark: Any, virtual_clock: VirtualClock, worker: WorkerClient, cell: Cell) -> None:
    connections, size, io_ms, requests = (cell.params[k] for k in ("connections", "body_size", "io_ms", "requests"))
    context = f"{cell.label} http_server {cell.params}"
    variant = cell.variant or "default"
    with http_generator() as generator:
        placement = pin_pair(worker, generator)
        with http_server(worker, cell.variant, size, io_ms) as port:
            generator.call({"op": "connect", "port": port, "connections": connections, "body_size": size}, 60, context)
            request = {"op": "round", "requests": requests}

            def one_round() -> Round:
                measured = server_round(worker, generator, request, placement, cell.timeout_s, context)
                if measured.metrics["messages"] != requests:
                    raise WorkloadFailed(f"{context}: {measured.metrics['messages']} responses for {requests} requests")
                return measured

            rounds = measure(benchmark, virtual_clock, cell, one_round)
            peak_rss = group_rss_bytes(worker.pid, "VmHWM")
            generator.call({"op": "close"}, 60, context)
    benchmark.extra_info.update(WORKLOAD.summarize(rounds, cell.params))  # type: ignore[arg-type]
    server_interpreter_info(benchmark, worker.hello)
    benchmark.extra_info.update(
        http_tier=tier(variant),
        http_library_versions=http_library_versions(),
        pinned_to_separate_cores=placement.pinned,
        server_cores_given=placement.under_test_cores,
        generator_impl=rounds[-1].metrics["generator_impl"],
        generator_wait=rounds[-1].metrics["generator_wait"],
        peer_allocator_state=generator.hello.get("allocator_state"),
        peak_rss_bytes=peak_rss,
    )
    loop_connections = worker.stopped.get("setup", {}).get("server_loop_connections")
    if loop_connections is not None:  # a multi-loop server: how the kernel split the connections over its loops
        benchmark.extra_info.update(cell_info(server_loop_connections=loop_connections))
