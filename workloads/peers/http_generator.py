"""The HTTP load generator: the same closed-loop HTTP/1.1 client for every model's server.

Runs in its own process (``python -m workloads.peers.http_generator NAME REQ_FD REPLY_FD``), pinned
by the harness to a different core than the server, like the echo load generator
(``workloads.peers.load_generator``), whose structure it copies. It opens C keep-alive connections
once per cell (``connect``), then for each ``round`` keeps every connection busy in a closed loop
with at most one request in flight (no pipelining): send ``REQUEST`` (``workloads.specs.http_data``),
read the whole response, check it, send the next, until the round's quota of requests is done. The
round's duration is first send to last complete response; a response's latency is from its
request's send to its last byte.

Every response is checked as it arrives, in whatever pieces TCP delivers it (the head may be split at
any byte): the status line is ``HTTP/1.1 200`` (any reason phrase); the head (at most ``HEAD_MAX``
bytes) has exactly one ``Content-Length`` (name in any case, value with optional whitespace) equal to
the body's length, no ``Transfer-Encoding`` and no ``Connection: close`` (the server must keep the
connection); the body is ``body(body_size)`` byte for byte; and nothing follows it before the next
request leaves (a byte past the response means the server sent more than one). A server that closes
a connection fails the round too. The first wrong response raises ``WrongResult`` naming the
connection and what was wrong.

The round's loop exists twice with the same wire behaviour, call for call: in C
(``workloads.peers._http_loop``, built by ``pip install -e .``, for the echo generator's reason: on
loopback only a loop with almost no user-space work outruns the fastest servers) and in Python (one
``epoll`` object, no framework, per-connection state in slots), the fallback where the extension is
not built. ``COROBENCH_GENERATOR=c|python`` picks one (default: C when built). Both spin on a
non-blocking poll rather than sleep (``workloads.peers.waiting``; ``COROBENCH_GENERATOR_SLEEP=1``
makes them sleep), and every round reports ``generator_impl``, ``generator_wait``,
``generator_wait_s`` (seconds spent polling an empty set) and ``generator_cpu_s`` (process CPU less
that waiting), as the echo generator's rounds do.
"""

from __future__ import annotations

import select
import socket
import sys
import time
from types import ModuleType
from typing import Any, NoReturn

from workloads.peers import waiting
from workloads.peers.load_generator import _latency_summary, choose_impl
from workloads.runtime import allocator
from workloads.runtime.errors import WrongResult
from workloads.runtime.serve import raise_open_files_limit, serve_requests
from workloads.runtime.window import to_quanta
from workloads.specs.echo_data import ECHO_HOST
from workloads.specs.http_data import REQUEST, body

try:
    from workloads.peers import _http_loop as _compiled_loop

    compiled_loop: ModuleType | None = _compiled_loop
except ImportError:  # not built: the Python loop below runs, and says so
    compiled_loop = None

RECV_BYTES = 64 * 1024
HEAD_MAX = 8192
"""The longest response head accepted (status line, headers and the blank line)."""
BAD_BYTES = 200
"""The most bytes of a wrong response quoted in its report."""
MAX_DIGITS = 18
"""A longer ``Content-Length`` cannot be the body's length."""
HEAD_END = b"\r\n\r\n"
OWS = b" \t"

# Why a response is wrong: the short codes both loops report (``_http_loop.c``, REASON_*).
STATUS = "status"
HEADER = "header"
LENGTH = "content-length"
LENGTH_TWICE = "content-length twice"
NO_LENGTH = "no content-length"
CHUNKED = "transfer-encoding"
CLOSE = "connection close"
HEAD_TOO_LONG = "head too long"
BODY = "body"
EXTRA = "extra bytes"
CLOSED = "closed"


def chosen_impl() -> str:
    """The HTTP loop's impl: ``load_generator.choose_impl`` for ``workloads.peers._http_loop``."""
    return choose_impl(compiled_loop, "workloads.peers._http_loop")


def describe_bad(index: int, reason: str, offset: int, data: bytes, expected_body: bytes) -> str:
    """One line naming connection ``index`` and what was wrong with its response.

    ``data`` is the offending bytes; ``offset`` the body byte they start at for ``BODY``, the response
    bytes received before the close for ``CLOSED`` (-1: no request was in flight), else 0."""
    size = len(expected_body)
    if reason == STATUS:
        what = f"status line {data!r}, expected 200"
    elif reason == HEADER:
        what = f"header line {data!r} has no colon"
    elif reason == LENGTH:
        what = f"Content-Length {data.decode() if data.isdigit() else repr(data)}, expected {size}"
    elif reason == LENGTH_TWICE:
        what = f"more than one Content-Length header ({data!r})"
    elif reason == NO_LENGTH:
        what = f"no Content-Length header in {data!r}"
    elif reason == CHUNKED:
        what = f"a Transfer-Encoding header ({data!r}), expected a Content-Length body"
    elif reason == CLOSE:
        what = f"the server asked to close the connection ({data!r}); it must keep it alive"
    elif reason == HEAD_TOO_LONG:
        what = f"no end of the response head within {HEAD_MAX} bytes: {data!r}"
    elif reason == BODY:
        what = f"body byte {offset} is {data[0]:#04x}, expected {expected_body[offset]:#04x}"
    elif reason == EXTRA:
        what = f"the server sent bytes after the response (more than one response?): {data!r}"
    elif reason == CLOSED and offset > 0:
        what = f"the server closed the connection mid-response, after {offset} bytes of it"
    elif reason == CLOSED:
        what = f"the server closed the connection {'before responding' if offset == 0 else 'between responses'}"
    else:
        what = f"{reason}: {data!r}"
    return f"connection {index}: {what}"


class HttpConnection:
    """One keep-alive client connection: its socket, the request being sent, and its response's parser state.
    Both loops of both HTTP generators (closed loop here, open loop in ``http_open_loop``) use it."""

    __slots__ = (
        "body_received",
        "fd",
        "head",
        "in_body",
        "in_flight",
        "index",
        "recv",
        "send",
        "sent",
        "sent_at",
        "sock",
        "wants_write",
    )

    def __init__(self, index: int, sock: socket.socket) -> None:
        self.index = index
        self.sock = sock
        self.fd = sock.fileno()
        self.recv = sock.recv
        self.send = sock.send
        self.sent = 0  # bytes of the current request sent
        self.sent_at = 0.0
        self.wants_write = False
        self.in_flight = False  # a request is started and its response not yet complete
        self.in_body = False  # the response's head is complete and checked: what follows is body
        self.head = bytearray()  # the response head gathered so far
        self.body_received = 0  # bytes of the response body received and checked

    def start_request(self, epoll: select.epoll, now: float) -> None:
        """Send ``REQUEST``; its response is due (what it cannot send now leaves on EPOLLOUT)."""
        self.in_flight = True
        self.in_body = False
        self.head.clear()
        self.body_received = 0
        self.sent_at = now
        try:
            self.sent = self.send(REQUEST)
        except BlockingIOError:
            self.sent = 0
        if self.sent < len(REQUEST) or self.wants_write:
            self.update_write_interest(epoll)

    def continue_send(self, epoll: select.epoll) -> None:
        try:
            self.sent += self.send(REQUEST[self.sent :])
        except BlockingIOError:
            pass
        self.update_write_interest(epoll)

    def update_write_interest(self, epoll: select.epoll) -> None:
        """Watch for writability only while part of the request is still unsent."""
        wants_write = self.sent < len(REQUEST)
        if wants_write != self.wants_write:
            self.wants_write = wants_write
            epoll.modify(self.fd, select.EPOLLIN | (select.EPOLLOUT if wants_write else 0))


class WrongResponse(Exception):
    """The Python loop's first wrong response: the C loop's ``bad`` tuple."""

    def __init__(self, conn: HttpConnection, reason: str, offset: int, data: bytes | bytearray) -> None:
        super().__init__(reason)
        self.bad = (conn.index, reason, offset, bytes(data[:BAD_BYTES]))


def wrong_response(conn: HttpConnection, reason: str, offset: int, data: bytes | bytearray) -> NoReturn:
    raise WrongResponse(conn, reason, offset, data)


class HttpGenerator:
    def __init__(self, impl: str | None = None, spin: bool | None = None) -> None:
        self.impl = impl or chosen_impl()
        self.spin = waiting.spins() if spin is None else spin
        self._connections: dict[int, HttpConnection] = {}
        self._epoll = select.epoll()
        self._body = b""

    @property
    def wait_mode(self) -> str:
        """``"spin"`` or ``"sleep"``: how the loop waits for responses (recorded with every round)."""
        return "spin" if self.spin else "sleep"

    def connect(self, port: int, connections: int, body_size: int) -> dict[str, Any]:
        self.close()
        self._body = body(body_size)
        for index in range(connections):
            sock = socket.create_connection((ECHO_HOST, port), timeout=10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            self._connections[sock.fileno()] = HttpConnection(index, sock)
            self._epoll.register(sock.fileno(), select.EPOLLIN)
        return {}

    def round(self, requests: int) -> dict[str, Any]:
        """Run ``requests`` closed-loop requests across the open connections."""
        if not self._connections:
            raise RuntimeError("round before connect")
        cpu_started = time.process_time()
        run = self._round_c if self.impl == "c" else self._round_python
        seconds, latencies, waited = run(requests)
        cpu = time.process_time() - cpu_started
        metrics = {
            **_latency_summary(latencies),  # its "messages" is the round's completed requests
            # A host preemption inside an empty poll counts as waiting but not as CPU: never below 0.
            "generator_cpu_s": max(0.0, cpu - waited),
            "generator_wait_s": waited,
            "generator_wait": self.wait_mode,
            "generator_impl": self.impl,
        }
        return {"quanta": to_quanta(seconds), "metrics": metrics}

    def close(self) -> dict[str, Any]:
        for fd, conn in self._connections.items():
            self._epoll.unregister(fd)
            conn.sock.close()
        self._connections.clear()
        return {}

    def _round_c(self, requests: int) -> tuple[float, list[float], float]:
        assert compiled_loop is not None
        seconds, latencies, bad, waited = compiled_loop.run(
            self._epoll.fileno(), list(self._connections), REQUEST, self._body, requests, self.spin
        )
        if bad is not None:
            index, reason, offset, data = bad
            raise WrongResult(describe_bad(index, reason, offset, data, self._body))
        return seconds, latencies, waited

    def _round_python(self, requests: int) -> tuple[float, list[float], float]:
        """The fallback loop: the C loop's behaviour, in Python."""
        try:
            return self._run_python(requests)
        except WrongResponse as wrong:
            index, reason, offset, data = wrong.bad
            raise WrongResult(describe_bad(index, reason, offset, data, self._body)) from None

    def _run_python(self, requests: int) -> tuple[float, list[float], float]:
        latencies: list[float] = []
        waited = 0.0
        timeout = 0.0 if self.spin else -1.0
        record = latencies.append
        perf_counter = time.perf_counter
        connections = self._connections
        expected = self._body
        to_send = requests
        done = 0
        started = perf_counter()
        for conn in connections.values():
            if to_send == 0:
                break
            to_send -= 1
            conn.start_request(self._epoll, perf_counter())
        poll = self._epoll.poll
        writable, readable = select.EPOLLOUT, select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP
        idle_from = perf_counter()  # spinning: from the end of the last work to an empty poll's return is waiting
        while done < requests:
            ready = poll(timeout)
            if not ready:  # spinning, and nothing has arrived yet
                now = perf_counter()
                waited += now - idle_from
                idle_from = now
                continue
            for fd, events in ready:
                conn = connections[fd]
                if events & writable:
                    conn.continue_send(self._epoll)
                if events & readable:
                    # recv() of a 64 KiB buffer, as the C loop: here it measured faster than recv_into()
                    # into a preallocated one and a copy of what arrived.
                    try:
                        data = conn.recv(RECV_BYTES)
                    except BlockingIOError:
                        continue
                    if not data:  # reported with how far the response had come (-1: none was due)
                        received = len(conn.head) + conn.body_received if conn.in_flight else -1
                        wrong_response(conn, CLOSED, received, data)
                    if feed_response(conn, data, expected):
                        now = perf_counter()
                        record(now - conn.sent_at)
                        done += 1
                        if to_send:
                            to_send -= 1
                            conn.start_request(self._epoll, now)
            idle_from = perf_counter()
        return perf_counter() - started, latencies, waited


def feed_response(conn: HttpConnection, data: bytes, expected: bytes) -> bool:
    """Feed ``data``, just received on ``conn``, to its response: True once it is complete and right
    (``_http_response.h``'s ``response_feed``); the first wrong response raises ``WrongResponse``."""
    if not conn.in_flight:
        wrong_response(conn, EXTRA, 0, data)
    used = 0  # bytes of data taken by the response so far
    if not conn.in_body:
        # Gather the head; search for its end from the last 3 bytes already gathered, which the
        # previous piece may have ended within.
        head = conn.head
        had = len(head)
        head += data[: HEAD_MAX - had]
        blank = head.find(HEAD_END, max(0, had - 3))
        if blank < 0:
            if len(head) == HEAD_MAX:
                wrong_response(conn, HEAD_TOO_LONG, 0, head)
            return False
        del head[blank + len(HEAD_END) :]
        used = len(head) - had
        check_head(conn, expected)
        conn.in_body = True
    received = conn.body_received
    take = min(len(data) - used, len(expected) - received)
    piece = data[used : used + take]  # data itself when the whole of it is body (no copy)
    wanted = expected[received : received + take]
    if piece != wanted:
        first = next(k for k, (a, b) in enumerate(zip(piece, wanted, strict=True)) if a != b)
        wrong_response(conn, BODY, received + first, piece[first:])
    conn.body_received = received + take
    used += take
    if conn.body_received < len(expected):
        return False
    if used < len(data):
        wrong_response(conn, EXTRA, 0, data[used:])
    conn.in_flight = False
    return True


def check_head(conn: HttpConnection, expected: bytes) -> None:
    """Check the complete head (it ends with CRLFCRLF) line by line, as ``check_head`` in the C loops."""
    head = bytes(conn.head)
    status, *lines = head[: -len(HEAD_END)].split(b"\r\n")
    if status != b"HTTP/1.1 200" and not status.startswith(b"HTTP/1.1 200 "):
        wrong_response(conn, STATUS, 0, status)
    lengths = 0
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon:
            wrong_response(conn, HEADER, 0, line)
        value = value.strip(OWS)
        name = name.lower()
        if name == b"content-length":
            lengths += 1
            if lengths > 1:
                wrong_response(conn, LENGTH_TWICE, 0, line)
            if not (value.isdigit() and len(value) <= MAX_DIGITS and int(value) == len(expected)):
                wrong_response(conn, LENGTH, 0, value)
        elif name == b"transfer-encoding":
            wrong_response(conn, CHUNKED, 0, line)
        elif name == b"connection" and any(token.strip(OWS).lower() == b"close" for token in value.split(b",")):
            wrong_response(conn, CLOSE, 0, line)
    if lengths == 0:
        wrong_response(conn, NO_LENGTH, 0, head)


def main(argv: list[str]) -> int:
    allocator.prepare()  # the warm state every worker starts in (workloads.runtime.allocator)
    raise_open_files_limit()
    generator = HttpGenerator()
    return serve_requests(
        int(argv[2]),
        int(argv[3]),
        {
            "connect": lambda r: generator.connect(r["port"], r["connections"], r["body_size"]),
            "round": lambda r: generator.round(r["requests"]),
            "close": lambda r: generator.close(),
        },
        hello={
            "allocator_state": allocator.state(),
            "generator_impl": generator.impl,
            "generator_wait": generator.wait_mode,
        },
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv))
