"""The processes around an echo cell: the model's server, the load generator, the reference server.

- ``echo_server`` (``http_server``) asks a model's worker to serve echo (HTTP) and yields its port (its
  ``listening`` frame, with the model's one-off set-up and configuration, is left in ``worker.listening``);
  on a normal exit it asks the server to stop and checks it stopped cleanly.
- ``load_generator``, ``http_generator``, ``open_loop_generator``, ``http_open_loop_generator`` and
  ``reference_server`` start
  the suite's fixed-code peers, each a fresh process in its own process group.
- ``pin_pair`` puts the side under test and its peer on different cores: the peer on one, the side
  under test on all the others (the cores ``Cell.cores`` told the worker at start-up).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from benchmarks.harness import peer_host
from benchmarks.harness.process_stats import group_cpu_seconds, pin_group, split_cores
from benchmarks.harness.worker_client import WorkerClient, failure_from_reply
from workloads.specs.base import Round

SERVER_START_TIMEOUT_S = 30.0
SERVER_STOP_TIMEOUT_S = 30.0


@contextmanager
def echo_server(
    worker: WorkerClient, variant: str | None, start_timeout_s: float = SERVER_START_TIMEOUT_S
) -> Iterator[int]:
    with model_server(worker, {"op": "serve_echo", "variant": variant or "default"}, "echo", start_timeout_s) as port:
        yield port


@contextmanager
def http_server(
    worker: WorkerClient,
    variant: str | None,
    body_size: int,
    io_ms: float,
    start_timeout_s: float = SERVER_START_TIMEOUT_S,
) -> Iterator[int]:
    """The model's HTTP server answering ``GET /`` with ``body_size`` bytes after ``io_ms`` of its own sleep."""
    request = {"op": "serve_http", "variant": variant or "default", "body_size": body_size, "io_ms": io_ms}
    with model_server(worker, request, "HTTP", start_timeout_s) as port:
        yield port


@contextmanager
def model_server(worker: WorkerClient, request: dict[str, Any], kind: str, start_timeout_s: float) -> Iterator[int]:
    worker.send(request)
    reply = worker.receive(start_timeout_s, f"{kind} server start-up")
    if not reply.get("ok") or reply.get("event") != "listening":
        raise failure_from_reply(f"{worker.model} {kind} server did not start", reply)
    worker.listening = reply  # the server's one-off set-up (the hybrid's pool size) travels with it
    yield reply["port"]
    worker.stopped = worker.call({"op": "stop"}, SERVER_STOP_TIMEOUT_S, f"{kind} server shutdown")


def _generator(name: str) -> WorkerClient:
    """The load generator ``workloads.peers.<name>``, started on the peer host when there is one (``--peer-host``);
    a ``WorkerClient`` is its own context manager."""
    return WorkerClient(name, module=f"workloads.peers.{name}", peer_host=peer_host.current())


def http_generator() -> WorkerClient:
    return _generator("http_generator")


def load_generator() -> WorkerClient:
    return _generator("load_generator")


def open_loop_generator() -> WorkerClient:
    return _generator("open_loop_generator")


def http_open_loop_generator() -> WorkerClient:
    return _generator("http_open_loop")


def reference_server() -> WorkerClient:
    """The reference echo server (``tcp_client``'s peer): always on this host."""
    return WorkerClient("reference_server", module="workloads.peers.reference_server")


@dataclass(frozen=True)
class Placement:
    """The cores each side of an echo cell ran on; ``pinned`` is False on a single-CPU machine."""

    pinned: bool
    under_test_cores: int
    peer_cores: int


def usable_cores(given: int, setup: dict[str, Any]) -> int:
    """The cores the side under test could keep busy: those it was given, or fewer if it runs fewer loops at once.

    A one-process server (one GIL) given three cores is saturated at one CPU-second per second; a multi-loop
    server reports its ``parallel_loops`` (loops in processes or subinterpreters, each with its own GIL; loops in
    threads of a GIL build count as one), the hybrid's older runs its ``processes``.
    """
    return max(1, min(given, int(setup.get("parallel_loops", setup.get("processes", 1)))))


def server_round(
    worker: WorkerClient,
    generator: WorkerClient,
    request: dict[str, Any],
    placement: Placement,
    timeout_s: float,
    context: str,
) -> Round:
    """One closed-loop round against the model's server: the generator's reply, the server's CPU over it,
    the cores each side had and the server's one-off set-up."""
    setup = worker.listening.get("setup", {})  # the hybrid's processes and pool start-up
    cpu_before = group_cpu_seconds(worker.pid)
    reply = generator.call(request, timeout_s, context)
    server_cpu = group_cpu_seconds(worker.pid) - cpu_before
    return Round(
        reply["quanta"],
        {
            **reply["metrics"],  # exchanges ("messages"), latencies, generator_cpu_s (working), generator_wait_s, impl
            "server_cpu_s": server_cpu,
            "server_cores": usable_cores(placement.under_test_cores, setup),
            "generator_cores": placement.peer_cores,
            "allocator_state": worker.listening.get("allocator_state"),
            **setup,
        },
    )


def pin_pair(under_test: WorkerClient, peer: WorkerClient) -> Placement:
    """Pin the side under test to every core but one and its peer to that one (unpinned on one CPU); a peer on
    another host leaves the side under test every core here."""
    if peer.peer_host is not None:
        every_core = os.sched_getaffinity(0)
        pin_group(under_test.pid, every_core)
        return Placement(True, len(every_core), 1)  # the generator's one thread, on a core of its own there
    cores = split_cores()
    if cores is None:
        everything = len(os.sched_getaffinity(0))
        return Placement(False, everything, everything)
    pin_group(under_test.pid, cores[0])
    pin_group(peer.pid, cores[1])
    return Placement(True, len(cores[0]), len(cores[1]))
