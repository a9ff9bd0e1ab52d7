"""Every model's HTTP servers (own server and same parser) answer keep-alive GETs correctly through the real worker.

Each response is checked for status, ``Content-Length`` and every body byte; the server survives a
client that vanishes mid-request and one that sends garbage; it listens on 127.0.0.1 only; and its
handlers overlap their simulated IO calls (a server that answered one request at a time would fail).
"""

from __future__ import annotations

import http.client
import socket
import threading
import time

import pytest

from benchmarks.harness.echo_harness import http_server
from benchmarks.harness.worker_client import WorkerClient
from tests.test_models import listening_addresses, variant_env
from workloads.models.registry import MODELS, installed_models
from workloads.specs.echo_data import ECHO_HOST
from workloads.specs.http_data import REQUEST, body

HTTP_CASES = [
    (model, variant)
    for model in installed_models()
    if not MODELS[model].reason_cannot("http_server")
    for variant in MODELS[model].variants_of("http_server")
]


def get(connection: http.client.HTTPConnection, size: int) -> None:
    """One keep-alive ``GET /``, checked: 200, Content-Length, every byte, and the connection kept open."""
    connection.request("GET", "/")
    response = connection.getresponse()
    payload = response.read()
    assert response.status == 200
    assert response.getheader("Content-Length") == str(size)
    assert payload == body(size)
    assert not response.will_close, "the server closed a keep-alive connection"


def start(model: str, variant: str) -> WorkerClient:
    worker = WorkerClient(model, env=variant_env(model, variant))
    if worker.hello.get("cannot"):
        worker.close()
        pytest.skip(f"{model}: {worker.hello['cannot']}")
    return worker


@pytest.mark.parametrize(("model", "variant"), HTTP_CASES)
def test_http_server_answers_keep_alive_requests_exactly(model: str, variant: str) -> None:
    size = 20_000  # larger than one socket write on some servers
    with start(model, variant) as worker, http_server(worker, variant, size, 0) as port:
        assert listening_addresses(port) == {"0100007F"}, "the server accepts connections from outside 127.0.0.1"
        connections = [http.client.HTTPConnection(ECHO_HOST, port, timeout=30) for _ in range(3)]
        for _ in range(4):
            for connection in connections:
                get(connection, size)
        # A client that vanishes mid-request, and one that sends garbage: the server keeps serving.
        with socket.create_connection((ECHO_HOST, port), timeout=10) as vanishing:
            vanishing.sendall(REQUEST[:10])
        with socket.create_connection((ECHO_HOST, port), timeout=10) as garbage:
            garbage.sendall(b"\x00\x01 not http at all\r\n\r\n")
            try:
                garbage.recv(65536)  # whatever it answers (400, or nothing), the connection may close
            except OSError:
                pass
        for connection in connections:
            get(connection, size)
            connection.close()
        fresh = http.client.HTTPConnection(ECHO_HOST, port, timeout=30)
        get(fresh, size)
        fresh.close()


@pytest.mark.timing
@pytest.mark.parametrize(("model", "variant"), HTTP_CASES)
def test_http_handlers_overlap_their_io_calls(model: str, variant: str) -> None:
    """Eight requests at once, each with a 300 ms IO call: far less than 8 x 300 ms if the calls overlap."""
    clients, io_ms = 8, 300
    with start(model, variant) as worker, http_server(worker, variant, 100, io_ms) as port:
        connections = [http.client.HTTPConnection(ECHO_HOST, port, timeout=30) for _ in range(clients)]
        for connection in connections:
            connection.connect()
        failures: list[BaseException] = []

        def one(connection: http.client.HTTPConnection) -> None:
            try:
                get(connection, 100)
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=one, args=(c,)) for c in connections]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        for connection in connections:
            connection.close()
    assert not failures, failures
    serial = clients * io_ms / 1000
    assert elapsed < serial / 2, f"{clients} requests took {elapsed:.2f} s: the IO calls did not overlap"
