"""The processes around an echo cell: the model's server, the load generator, the reference server.

- ``echo_server`` asks a model's worker to serve echo and yields its port; on a
  normal exit it asks the server to stop and checks it stopped cleanly.
- ``load_generator``, ``open_loop_generator`` and ``reference_server`` start
  the suite's fixed-code peers, each a fresh process in its own process group.
- ``pin_pair`` puts the side under test and its peer on different cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from benchmarks.harness.process_stats import pin_group, split_cores
from benchmarks.harness.worker_client import WorkerClient, failure_from_reply

SERVER_START_TIMEOUT_S = 30.0
SERVER_STOP_TIMEOUT_S = 30.0


@contextmanager
def echo_server(
    worker: WorkerClient, variant: str | None, start_timeout_s: float = SERVER_START_TIMEOUT_S
) -> Iterator[int]:
    worker.send({"op": "serve_echo", "variant": variant or "default"})
    reply = worker.receive(start_timeout_s, "echo server start-up")
    if not reply.get("ok") or reply.get("event") != "listening":
        raise failure_from_reply(f"{worker.model} echo server did not start", reply)
    yield reply["port"]
    worker.call({"op": "stop"}, SERVER_STOP_TIMEOUT_S, "echo server shutdown")


@contextmanager
def load_generator() -> Iterator[WorkerClient]:
    with WorkerClient("load_generator", module="workloads.peers.load_generator") as generator:
        yield generator


@contextmanager
def open_loop_generator() -> Iterator[WorkerClient]:
    with WorkerClient("open_loop_generator", module="workloads.peers.open_loop_generator") as generator:
        yield generator


@contextmanager
def reference_server() -> Iterator[WorkerClient]:
    with WorkerClient("reference_server", module="workloads.peers.reference_server") as server:
        yield server


def pin_pair(under_test: WorkerClient, peer: WorkerClient) -> bool:
    """Pin the process under test and its peer to two different cores; False if impossible."""
    cores = split_cores()
    if cores is None:
        return False
    pin_group(under_test.pid, cores[0])
    pin_group(peer.pid, cores[1])
    return True
