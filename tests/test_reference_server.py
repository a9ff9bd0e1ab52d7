"""The reference echo server spins by default and reports its waiting apart, so only its work counts as CPU."""

from __future__ import annotations

import socket
import time

import pytest

from benchmarks.harness.echo_harness import reference_server
from benchmarks.harness.worker_client import WorkerClient, WorkloadFailed
from workloads.peers.waiting import SLEEP_ENV


def waited(server: WorkerClient) -> float:
    return float(server.call({"op": "stats"}, 30, "test")["wait_s"])


@pytest.mark.parametrize("sleeping", [False, True], ids=["spin", "sleep"])
def test_idle_time_is_waiting_only_when_it_spins(sleeping: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if sleeping:
        monkeypatch.setenv(SLEEP_ENV, "1")
    with reference_server() as server:
        assert server.hello["wait"] == ("sleep" if sleeping else "spin")
        before = waited(server)
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", server.hello["port"])) as sock:
            sock.sendall(b"x" * 100)
            echoed = b""
            while len(echoed) < 100:
                echoed += sock.recv(100)
        assert echoed == b"x" * 100  # it still echoes while it accounts
        idle = waited(server) - before
    if sleeping:
        assert idle == 0
    else:  # most of the 0.3 s idle was spent polling; a shared machine may take some of it away
        assert 0.1 < idle < 1.0


def test_an_unknown_request_is_refused_and_the_server_carries_on() -> None:
    with reference_server() as server:
        with pytest.raises(WorkloadFailed, match="unknown request"):
            server.call({"op": "nonsense"}, 30, "test")
        assert waited(server) >= 0
