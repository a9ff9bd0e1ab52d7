"""The open-loop HTTP load generator: requests on a fixed Poisson schedule, timed from when they were due.

Runs in its own process (``python -m workloads.peers.http_open_loop NAME REQ_FD REPLY_FD``), pinned by
the harness to a different core than the server. ``connect`` opens C keep-alive connections; each
``measure`` offers ``GET /`` requests (``workloads.specs.http_data.REQUEST``) at a rate R, on the echo
open loop's schedule (``open_loop_generator.schedule``: Poisson arrivals, each on a connection picked
uniformly at random, from a seeded generator), and checks every response as the closed-loop HTTP
generator does (``http_generator.feed_response``: status 200, one Content-Length, no chunked encoding,
no ``Connection: close``, every body byte, nothing past the response).

HTTP/1.1 without pipelining: a connection carries one request at a time. A request that falls due while
its connection waits for a response waits in the generator and leaves when that response is complete;
its latency still counts from its *scheduled* time (wrk2's rule, free of coordinated omission), and
``connection_wait_*`` says how long requests waited for their connection. So C connections carry at most
about C / L requests a second for a time on the wire L (``connection_limit_msgs_per_s``). Everything else
(warm-up, drain bound, lag, histograms, busy polling, the metrics and their names, in which a "msg" is a
request) is the echo open loop's, ``workloads.peers.open_loop_generator``, whose functions it uses.

The loop exists twice with the same wire behaviour, call for call: in C (``workloads.peers._http_open_loop``,
built by ``pip install -e .``) and in Python below, the fallback where the extension is not built.
``COROBENCH_GENERATOR=c|python`` picks one; every measurement reports ``generator_impl``.
"""

from __future__ import annotations

import select
import socket
import sys
import time
from array import array
from collections import deque
from types import ModuleType
from typing import Any

from workloads.peers import open_loop_generator as echo_open_loop
from workloads.peers.http_generator import CLOSED, HttpConnection, WrongResponse, describe_bad, feed_response
from workloads.peers.load_generator import choose_impl
from workloads.peers.open_loop_generator import BUSY_POLL, SPIN_S, Run, Schedule, Timer, run_metrics, schedule
from workloads.runtime import allocator
from workloads.runtime.errors import WrongResult
from workloads.runtime.serve import raise_open_files_limit, serve_requests
from workloads.specs.echo_data import ECHO_HOST
from workloads.specs.http_data import REQUEST, body

try:
    from workloads.peers import _http_open_loop as _compiled_loop

    compiled_loop: ModuleType | None = _compiled_loop
except ImportError:  # not built: the Python loop below runs, and says so
    compiled_loop = None

RECV_BYTES = echo_open_loop.RECV_BYTES
DEPTH = 1
"""Requests in flight per connection: HTTP/1.1 keep-alive without pipelining."""


def chosen_impl() -> str:
    """The HTTP open loop's impl: ``load_generator.choose_impl`` for ``workloads.peers._http_open_loop``."""
    return choose_impl(compiled_loop, "workloads.peers._http_open_loop")


class _Connection(HttpConnection):
    __slots__ = ("due",)

    def __init__(self, index: int, sock: socket.socket) -> None:
        super().__init__(index, sock)
        self.due: deque[int] = deque()
        """Schedule indices of the requests due and not yet answered, oldest first: the first is on the wire
        while ``in_flight``, the rest wait for the connection."""


class HttpOpenLoopGenerator:
    def __init__(self, impl: str | None = None) -> None:
        self.impl = impl or chosen_impl()
        self._connections: list[_Connection] = []
        self._by_fd: dict[int, _Connection] = {}
        self._epoll = select.epoll()
        self._timer = Timer()
        self._epoll.register(self._timer.fd, select.EPOLLIN)
        self._port = 0
        self._body = b""

    def connect(self, port: int, connections: int, body_size: int) -> dict[str, Any]:
        self.close()
        self._port, self._body = port, body(body_size)
        for index in range(connections):
            sock = socket.create_connection((ECHO_HOST, port), timeout=10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            conn = _Connection(index, sock)
            self._connections.append(conn)
            self._by_fd[conn.fd] = conn
            self._epoll.register(conn.fd, select.EPOLLIN)
        return {}

    def close(self) -> dict[str, Any]:
        for conn in self._connections:
            self._epoll.unregister(conn.fd)
            conn.sock.close()
        self._connections.clear()
        self._by_fd.clear()
        return {}

    def measure(self, rate: float, warmup_s: float, duration_s: float, drain_s: float, seed: int) -> dict[str, Any]:
        """Offer ``rate`` requests/s for ``warmup_s + duration_s``, one in flight per connection; the metrics
        of the measured part."""
        if not self._connections:
            raise RuntimeError("measure before connect")
        if rate <= 0 or duration_s <= 0:
            raise ValueError(f"rate and duration must be positive (rate={rate}, duration_s={duration_s})")
        planned = schedule(rate, warmup_s, duration_s, len(self._connections), seed)
        run_loop = self._run_c if self.impl == "c" else self._run_python
        run = run_loop(planned, warmup_s, duration_s, drain_s)
        if run.in_flight:  # responses still due on those connections: the next measurement starts on fresh ones
            self.connect(self._port, len(self._connections), len(self._body))
        metrics = run_metrics(planned, run, rate, warmup_s, duration_s, DEPTH, len(self._connections), self.impl)
        return {**metrics, "body_size": len(self._body)}

    def _run_c(self, planned: Schedule, warmup_s: float, duration_s: float, drain_s: float) -> Run:
        assert compiled_loop is not None
        lags_us = array("q", bytes(8 * planned.measured))
        latencies_us = array("q", bytes(8 * planned.measured))
        waits_us = array("q", bytes(8 * planned.measured))
        start, finished, answered_in_window, answers_in_window, not_answered, in_flight, bad = compiled_loop.run(
            self._epoll.fileno(),
            self._timer.fd,
            [c.fd for c in self._connections],
            REQUEST,
            self._body,
            planned.offsets,
            planned.picks,
            planned.first_measured,
            lags_us,
            latencies_us,
            waits_us,
            warmup_s,
            duration_s,
            drain_s,
            SPIN_S,
            BUSY_POLL,
        )
        if bad is not None:
            index, reason, offset, data = bad
            raise WrongResult(describe_bad(index, reason, offset, data, self._body))
        return Run(
            start,
            finished,
            latencies_us,
            lags_us,
            waits_us,
            answered_in_window,
            answers_in_window,
            not_answered,
            in_flight,
        )

    def _run_python(self, planned: Schedule, warmup_s: float, duration_s: float, drain_s: float) -> Run:
        try:
            return self._loop_python(planned, warmup_s, duration_s, drain_s)
        except WrongResponse as wrong:
            index, reason, offset, data = wrong.bad
            raise WrongResult(describe_bad(index, reason, offset, data, self._body)) from None

    def _loop_python(self, planned: Schedule, warmup_s: float, duration_s: float, drain_s: float) -> Run:
        """The fallback loop: the C loop's behaviour, in Python."""
        connections, by_fd, epoll, expected = self._connections, self._by_fd, self._epoll, self._body
        offsets, picks, first_measured = planned.offsets, planned.picks, planned.first_measured
        total = len(offsets)
        latencies_us: list[int] = []
        lags_us: list[int] = []
        waits_us = array("q", bytes(8 * planned.measured))
        clock = time.monotonic
        poll = epoll.poll
        arm = self._timer.arm
        timer_fd = self._timer.fd
        armed = 0.0
        record_latency = latencies_us.append
        record_lag = lags_us.append
        readable = select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP
        writable = select.EPOLLOUT
        inf = float("inf")

        start = clock() + 0.001
        measure_from = start + warmup_s
        schedule_end = measure_from + duration_s
        deadline = schedule_end + drain_s
        following = 0
        """The next request of the schedule."""
        due = start + offsets[0] if total else inf
        in_flight = 0
        answered_in_window = 0
        answers_in_window = 0

        def send(conn: _Connection, k: int, now: float) -> None:
            """Request ``k``, the connection's oldest due, leaves now; its wait for the connection is recorded."""
            if k >= first_measured:
                waits_us[k - first_measured] = int((now - (start + offsets[k])) * 1e6)
            conn.start_request(epoll, now)

        while True:
            now = clock()
            while due <= now:
                conn = connections[picks[following]]
                if following >= first_measured:
                    record_lag(int((now - due) * 1e6))
                conn.due.append(following)
                in_flight += 1
                if not conn.in_flight:
                    send(conn, following, now)
                following += 1
                if following < total:
                    due = start + offsets[following]
                else:
                    due = inf
                    arm(0)  # an expired timer stays readable: disarm it for the drain
                now = clock()
            if due == inf:
                if in_flight == 0 or now >= deadline:
                    break
                timeout = deadline - now
            elif BUSY_POLL or due - now < SPIN_S:
                timeout = 0.0
            else:
                if armed != due:
                    arm(due - SPIN_S)
                    armed = due
                timeout = -1.0
            for fd, events in poll(timeout):
                if fd == timer_fd:
                    continue
                conn = by_fd[fd]
                if events & writable:
                    conn.continue_send(epoll)
                if not events & readable:
                    continue
                try:
                    data = conn.recv(RECV_BYTES)
                except BlockingIOError:
                    continue
                if not data:  # reported with how far the response had come (-1: none was due)
                    received = len(conn.head) + conn.body_received if conn.in_flight else -1
                    raise WrongResponse(conn, CLOSED, received, data)
                if not feed_response(conn, data, expected):
                    continue
                now = clock()
                in_flight -= 1
                if measure_from <= now < schedule_end:
                    answers_in_window += 1
                answered = conn.due.popleft()
                if answered >= first_measured:
                    record_latency(int((now - (start + offsets[answered])) * 1e6))
                    if now < schedule_end:
                        answered_in_window += 1
                if conn.due:  # freed: the oldest request waiting for this connection leaves now
                    send(conn, conn.due[0], now)
        finished = clock()
        arm(0)
        not_answered = 0
        for conn in connections:
            for position, unanswered in enumerate(conn.due):
                if unanswered >= first_measured:
                    age = int((finished - (start + offsets[unanswered])) * 1e6)
                    record_latency(age)
                    not_answered += 1
                    if position > 0 or not conn.in_flight:  # never sent: it waited for its connection all along
                        waits_us[unanswered - first_measured] = age
            conn.due.clear()
        return Run(
            start,
            finished,
            latencies_us,
            lags_us,
            waits_us,
            answered_in_window,
            answers_in_window,
            not_answered,
            in_flight,
        )


def main(argv: list[str]) -> int:
    allocator.prepare()  # the warm state every worker starts in (workloads.runtime.allocator)
    raise_open_files_limit()
    generator = HttpOpenLoopGenerator()
    return serve_requests(
        int(argv[2]),
        int(argv[3]),
        {
            "connect": lambda r: generator.connect(r["port"], r["connections"], r["body_size"]),
            "measure": lambda r: generator.measure(
                r["rate"], r["warmup_s"], r["duration_s"], r["drain_s"], r.get("seed", 0)
            ),
            "close": lambda r: generator.close(),
        },
        hello={"generator_impl": generator.impl},
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv))
