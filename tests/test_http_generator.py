"""The HTTP load generator's two loops (C and Python) keep one request in flight per connection and check
every response the same way, byte for byte, against small HTTP servers run in threads of this process."""

from __future__ import annotations

import contextlib
import functools
import random
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from benchmarks.harness.worker_client import WorkerClient, WorkloadFailed
from workloads.peers.http_generator import HEAD_MAX, HttpGenerator, compiled_loop
from workloads.peers.load_generator import IMPL_ENV
from workloads.runtime.errors import WrongResult
from workloads.specs.echo_data import ECHO_HOST
from workloads.specs.http_data import REQUEST, body, response_head

NOT_BUILT = "workloads.peers._http_loop is not built (pip install -e .)"
IMPLS = ["python", pytest.param("c", marks=pytest.mark.skipif(compiled_loop is None, reason=NOT_BUILT))]
ROUND_KEYS = {"generator_cpu_s", "generator_wait_s", "generator_wait", "generator_impl"}
LATENCY_KEYS = {"messages", "latency_max_s", "latency_p50_s", "latency_p90_s", "latency_p99_s", "latency_p999_s"}

Reply = tuple[list[bytes], bool]
"""What a test server sends for one request: the pieces (one ``sendall`` each), and whether it then closes."""
Respond = Callable[[int, int, int], Reply]
"""``respond(connection, request number on it, body size)``: the reply to that request."""


@functools.cache
def right(size: int) -> bytes:
    """The same-parser tier's response (built once per size: ``body`` takes 10 ms for 100 KB)."""
    return response_head(size) + body(size)


def whole(connection: int, number: int, size: int) -> Reply:
    """The same-parser tier's response, in one piece."""
    return [right(size)], False


def in_tiny_pieces(connection: int, number: int, size: int) -> Reply:
    """Another server's head (any reason phrase, a mixed-case Content-Length with whitespace), in 1-7 byte pieces."""
    head = b"HTTP/1.1 200 Fine\r\nServer: test\r\ncontent-LENGTH: \t%d \r\nConnection: Keep-Alive\r\n\r\n" % size
    response = head + body(size)
    pick = random.Random(connection * 1000 + number)  # split differently on every response, the same every run
    pieces, start = [], 0
    while start < len(response):
        end = start + pick.randint(1, 7)
        pieces.append(response[start:end])
        start = end
    return pieces, False


class HttpServer:
    """A keep-alive HTTP server: one thread per connection, blocking sockets, ``respond`` decides each reply.

    It counts the requests it read and every time a request arrived while the previous one on its
    connection was not yet answered (``pipelined``: the generator had two requests in flight)."""

    def __init__(self, respond: Respond, connections: int, size: int, close_at_once: set[int] | None = None) -> None:
        self.respond, self.size, self.close_at_once = respond, size, close_at_once or set()
        self.listener = socket.create_server((ECHO_HOST, 0))
        self.port: int = self.listener.getsockname()[1]
        self.requests = [0] * connections
        self.pipelined = 0
        self.malformed: list[bytes] = []
        self.threads = [threading.Thread(target=self.accept, args=(connections,), daemon=True)]
        self.threads[0].start()

    def accept(self, connections: int) -> None:
        for index in range(connections):  # accepted in the order the generator connects: index = its index
            conn, _ = self.listener.accept()
            thread = threading.Thread(target=self.serve, args=(conn, index), daemon=True)
            self.threads.append(thread)
            thread.start()

    def serve(self, conn: socket.socket, index: int) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pending = b""
        if index in self.close_at_once:
            conn.close()
            return
        with conn, contextlib.suppress(ConnectionError):  # a generator that failed may reset its connections
            while True:
                while b"\r\n\r\n" not in pending:
                    data = conn.recv(65536)
                    if not data:
                        return
                    pending += data
                request, _, pending = pending.partition(b"\r\n\r\n")
                if request + b"\r\n\r\n" != REQUEST:
                    self.malformed.append(request)
                self.requests[index] += 1
                if pending or self._more_waiting(conn):  # a request before this one's response: pipelining
                    self.pipelined += 1
                pieces, close = self.respond(index, self.requests[index] - 1, self.size)
                for piece in pieces:
                    conn.sendall(piece)
                if close:
                    return

    @staticmethod
    def _more_waiting(conn: socket.socket) -> bool:
        try:
            return bool(conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
        except BlockingIOError:
            return False

    def stop(self) -> None:
        for thread in self.threads:
            thread.join(5)
        self.listener.close()


@contextmanager
def serving(
    respond: Respond,
    connections: int,
    size: int,
    spin: bool = True,
    impl: str = "python",
    close_at_once: set[int] | None = None,
) -> Iterator[tuple[HttpServer, HttpGenerator]]:
    """A server answering with ``respond`` (closing ``close_at_once`` on accepting them) and a generator of ``impl``."""
    server = HttpServer(respond, connections, size, close_at_once)
    gen = HttpGenerator(impl, spin)
    try:
        gen.connect(server.port, connections, size)
        yield server, gen
    finally:
        gen.close()
        server.stop()


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("spin", [True, False], ids=["spin", "sleep"])
@pytest.mark.parametrize(
    ("respond", "connections", "size", "requests"),
    [(whole, 3, 1024, 40), (whole, 4, 100_000, 9), (whole, 2, 0, 5), (in_tiny_pieces, 3, 300, 13)],
    ids=["whole", "large-body", "empty-body", "tiny-pieces"],
)
def test_every_request_is_answered_checked_and_timed(
    impl: str, spin: bool, respond: Respond, connections: int, size: int, requests: int
) -> None:
    # 100 KB bodies span several 64 KiB reads; 13 requests on 3 connections and 9 on 4 leave quotas uneven.
    with serving(respond, connections, size, spin, impl) as (server, gen):
        for round_number in range(1, 3):  # a second round on the same connections starts from a clean state
            reply = gen.round(requests)
            metrics = reply["metrics"]
            assert set(metrics) == LATENCY_KEYS | ROUND_KEYS
            assert metrics["messages"] == requests and metrics["generator_impl"] == impl
            assert metrics["generator_wait"] == ("spin" if spin else "sleep")
            assert 0 < metrics["latency_p50_s"] <= metrics["latency_max_s"] <= reply["quanta"] / 2**32
            assert metrics["generator_cpu_s"] >= 0
            if not spin:  # a sleeping loop never polls an empty set
                assert metrics["generator_wait_s"] == 0
            assert sum(server.requests) == round_number * requests  # never a request more than the quota
            assert server.pipelined == 0 and server.malformed == []
        assert min(server.requests) > 0  # every connection carried requests


def answer_on(connection: int, number: int, fault: Callable[[int], Reply]) -> Respond:
    """Answer correctly but for request ``number`` on ``connection``, which gets ``fault(size)``."""

    def respond(index: int, request_number: int, size: int) -> Reply:
        if (index, request_number) == (connection, number):
            return fault(size)
        return whole(index, request_number, size)

    return respond


def status_500(size: int) -> Reply:
    return [b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: %d\r\n\r\n" % size + body(size)], False


def length_one_short(size: int) -> Reply:
    return [response_head(size - 1) + body(size - 1)], False


NO_LENGTH_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"


def no_length(size: int) -> Reply:
    return [NO_LENGTH_HEAD + body(size)], False


def chunked(size: int) -> Reply:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    return [head + b"%x\r\n" % size + body(size) + b"\r\n0\r\n\r\n"], False


def two_lengths(size: int) -> Reply:
    return [b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\ncontent-length: %d\r\n\r\n" % (size, size) + body(size)], False


def flipped_byte(size: int) -> Reply:
    wrong = bytearray(body(size))
    wrong[17] ^= 0x20
    return [response_head(size) + bytes(wrong)], False


def short_then_close(size: int) -> Reply:
    return [response_head(size) + body(size)[: size // 2]], True


def close_before_responding(size: int) -> Reply:
    return [], True


def connection_close(size: int) -> Reply:
    return [b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % size + body(size)], False


def extra_byte(size: int) -> Reply:
    return [right(size) + b"X"], False  # in one piece: the generator reads the byte with the response


ENDLESS_HEAD = b"HTTP/1.1 200 OK\r\n" + b"X-Filler: yes\r\n" * (HEAD_MAX // 15 + 1)


def endless_head(size: int) -> Reply:
    return [ENDLESS_HEAD], False


SIZE = 1024
FLIPPED = body(SIZE)[17]
FAULTS = {
    "status 500": (status_500, "status line b'HTTP/1.1 500 Internal Server Error', expected 200"),
    "wrong length": (length_one_short, "Content-Length 1023, expected 1024"),
    "no length": (no_length, f"no Content-Length header in {NO_LENGTH_HEAD!r}"),
    "chunked": (chunked, "a Transfer-Encoding header (b'Transfer-Encoding: chunked'), expected a Content-Length body"),
    "two lengths": (two_lengths, "more than one Content-Length header (b'content-length: 1024')"),
    "flipped byte": (flipped_byte, f"body byte 17 is {FLIPPED ^ 0x20:#04x}, expected {FLIPPED:#04x}"),
    "short then close": (
        short_then_close,
        f"the server closed the connection mid-response, after {len(response_head(SIZE)) + SIZE // 2} bytes of it",
    ),
    "close before responding": (close_before_responding, "the server closed the connection before responding"),
    "connection close": (
        connection_close,
        "the server asked to close the connection (b'Connection: close'); it must keep it alive",
    ),
    "extra byte": (extra_byte, "the server sent bytes after the response (more than one response?): b'X'"),
    "endless head": (endless_head, f"no end of the response head within {HEAD_MAX} bytes: {ENDLESS_HEAD[:200]!r}"),
}
"""Each fault, and what the generator must say about it (after ``connection N: ``), the same from both loops."""


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("fault", FAULTS)
def test_a_wrong_response_fails_the_round_naming_the_connection_and_the_fault(impl: str, fault: str) -> None:
    # The second response on connection 1 is wrong, so the connection's state has been through one
    # complete response first; the quota is far more than the round gets through before it fails.
    make, message = FAULTS[fault]
    with serving(answer_on(1, 1, make), 2, SIZE, impl=impl) as (_, gen), pytest.raises(WrongResult) as failure:
        gen.round(1000)
    assert str(failure.value) == f"connection 1: {message}"


@pytest.mark.parametrize("impl", IMPLS)
def test_the_server_closing_an_idle_connection_fails_the_round(impl: str) -> None:
    # One request for two connections: connection 0 carries it and is never answered, so the round
    # can only end on connection 1, which never has a request in flight and is closed at once.
    def respond(index: int, number: int, size: int) -> Reply:
        return [], False

    with serving(respond, 2, SIZE, impl=impl, close_at_once={1}) as (_, gen), pytest.raises(WrongResult) as failure:
        gen.round(1)
    assert str(failure.value) == "connection 1: the server closed the connection between responses"


@pytest.mark.parametrize("impl", IMPLS)
def test_the_generator_process_serves_connect_round_and_close(impl: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(IMPL_ENV, impl)
    server = HttpServer(answer_on(0, 10, status_500), 2, 512)  # after the first round's 6
    try:
        with WorkerClient("http_generator", module="workloads.peers.http_generator") as gen:
            assert gen.hello["generator_impl"] == impl and gen.hello["generator_wait"] in ("spin", "sleep")
            assert gen.hello["allocator_state"] in ("warm", "unknown")
            gen.call({"op": "connect", "port": server.port, "connections": 2, "body_size": 512}, 10, "connect")
            reply = gen.call({"op": "round", "requests": 6}, 10, "round")
            assert reply["metrics"]["messages"] == 6 and reply["quanta"] > 0
            assert sum(server.requests) == 6
            with pytest.raises(WorkloadFailed, match=r"wrong_result: connection 0: status line b'HTTP/1\.1 500"):
                gen.call({"op": "round", "requests": 1000}, 10, "round")
            gen.call({"op": "close"}, 10, "close")
    finally:
        server.stop()
