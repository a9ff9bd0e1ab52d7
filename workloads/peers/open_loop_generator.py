"""The open-loop echo load generator: messages on a fixed Poisson schedule, timed from when they were due.

Runs in its own process (``python -m workloads.peers.open_loop_generator NAME REQ_FD REPLY_FD``),
pinned by the harness to a different core than the server. ``connect`` opens C connections;
each ``measure`` sends messages of S bytes at an offered rate R: arrival times are a Poisson process
of rate R (exponential gaps from a seeded generator), each arrival going to a connection chosen
uniformly at random (so each connection sees a Poisson process of rate R/C). A connection may have
many messages in flight; its echo stream must be the concatenation of what it sent, checked byte for
byte in order.

- Latency of a message: from its *scheduled* send time to the arrival of its last echoed byte, so a
  server that stalls is charged for every message due during the stall (no coordinated omission).
- Lag: how late the generator issued each message against its schedule. A message that TCP cannot
  take at once is queued on its connection and counts as issued: back-pressure from a slow server is
  the server's latency, not the generator's lag.
- Warm-up: the schedule runs ``warmup_s`` before the measured ``duration_s``; messages due in the
  warm-up are sent and checked but not recorded.
- Bound: after the schedule ends the generator waits up to ``drain_s`` for outstanding echoes. A
  message still not echoed then is counted in ``messages_not_echoed`` and recorded at its age then (a
  lower bound of its latency), so a hung server cannot look fast; the connections are then reopened.

Latencies and lags are kept as integer microseconds during the run and recorded afterwards into HDR
histograms (``hdrh``, 3 significant figures; values with their counts), so the hot loop does no
histogram work. The loop is lean: one ``epoll``, per-connection state in slots, and the schedule kept
by a ``timerfd`` (nanosecond resolution, where epoll's own timeout rounds up to whole milliseconds)
armed ``SPIN_S`` before the next due time; the rest is spent polling without blocking, because a
sleeping vCPU here took 30-40 us to wake (median). With ``BUSY_POLL`` (the default) it never blocks
while messages are scheduled: at low rates the vCPU otherwise went idle between sends, and the
hypervisor took milliseconds to run it again at the tail (lag p99 1-20 ms at 1 000-3 000 msgs/s in a
default run on a quiet machine), so the generator measured its own wake-ups. It has a core of its
own (the harness pins it), so spinning takes nothing from the server; ``COROBENCH_OPEN_LOOP_SLEEP=1``
restores the sleeping form.
The clock is ``time.monotonic`` (``CLOCK_MONOTONIC``, the timerfd's clock).
"""

from __future__ import annotations

import ctypes
import os
import random
import select
import socket
import sys
import time
from collections import Counter, deque
from typing import Any

from hdrh.histogram import HdrHistogram

from workloads.runtime import allocator
from workloads.runtime.errors import WrongResult
from workloads.runtime.serve import raise_open_files_limit, serve_requests
from workloads.specs.echo_data import ECHO_HOST, message

RECV_BYTES = 64 * 1024
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9, "p9999": 99.99}
HISTOGRAM_MAX_US = 3_600_000_000
"""Largest value the histograms track: one hour, in microseconds."""
SPIN_S = 100e-6
BUSY_POLL = os.environ.get("COROBENCH_OPEN_LOOP_SLEEP") != "1"
"""The timer fires this long before a due time; the generator then polls without blocking until it."""
TIMER_ABSTIME = 1


class _Timer:
    """A ``timerfd`` on CLOCK_MONOTONIC armed at absolute times, through libc (``os.timerfd_*`` is 3.13+)."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd: int = libc.timerfd_create(time.CLOCK_MONOTONIC, os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "timerfd_create failed")
        self._spec = (ctypes.c_long * 4)()  # struct itimerspec: interval (sec, nsec), value (sec, nsec)
        self._ref = ctypes.byref(self._spec)
        self._settime = libc.timerfd_settime

    def arm(self, at: float) -> None:
        """Fire at monotonic time ``at`` (re-arming clears an expiry not yet read); 0 disarms."""
        seconds = int(at)
        self._spec[2], self._spec[3] = seconds, int((at - seconds) * 1e9)
        if self._settime(self.fd, TIMER_ABSTIME, self._ref, None) != 0:
            raise OSError(ctypes.get_errno(), "timerfd_settime failed")


class _Connection:
    __slots__ = (
        "due",
        "fd",
        "index",
        "pattern",
        "payload",
        "pending",
        "received",
        "recv",
        "send",
        "sent",
        "size",
        "sock",
    )

    def __init__(self, index: int, sock: socket.socket, payload: bytes) -> None:
        self.index = index
        self.sock = sock
        self.fd = sock.fileno()
        self.recv = sock.recv
        self.send = sock.send
        self.payload = payload
        self.size = len(payload)
        # The echo stream is ``payload`` repeated; any window of it up to RECV_BYTES long is a slice of this.
        self.pattern = payload * (RECV_BYTES // len(payload) + 2)
        self.pending = bytearray()
        """Bytes due to be sent that the socket has not taken yet."""
        self.due: deque[float] = deque()
        """Scheduled send times of the messages in flight, oldest first."""
        self.sent = 0
        """Bytes put into the stream so far (sent or pending)."""
        self.received = 0


class OpenLoopGenerator:
    def __init__(self) -> None:
        self._connections: list[_Connection] = []
        self._by_fd: dict[int, _Connection] = {}
        self._epoll = select.epoll()
        self._timer = _Timer()
        self._epoll.register(self._timer.fd, select.EPOLLIN)
        self._port = 0
        self._message_size = 0

    def connect(self, port: int, connections: int, message_size: int) -> dict[str, Any]:
        self.close()
        self._port, self._message_size = port, message_size
        for index in range(connections):
            sock = socket.create_connection((ECHO_HOST, port), timeout=10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            conn = _Connection(index, sock, message(index, message_size))
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
        """Offer ``rate`` messages/s for ``warmup_s + duration_s``; the metrics of the measured part."""
        if not self._connections:
            raise RuntimeError("measure before connect")
        if rate <= 0 or duration_s <= 0:
            raise ValueError(f"rate and duration must be positive (rate={rate}, duration_s={duration_s})")
        latencies_us: list[int] = []
        lags_us: list[int] = []
        run = self._run(rate, warmup_s, duration_s, drain_s, seed, latencies_us, lags_us)
        not_echoed = run.pop("messages_not_echoed")
        if not_echoed:  # the streams still carry those messages: start the next measurement on fresh ones
            self.connect(self._port, len(self._connections), self._message_size)
        latency = _histogram(latencies_us)
        lag = _histogram(lags_us)
        metrics: dict[str, Any] = {
            **run,
            "offered_msgs_per_s": rate,
            "messages_not_echoed": not_echoed,
            "latency_mean_s": latency.get_mean_value() / 1e6,
            "latency_max_s": latency.get_max_value() / 1e6,
            "generator_lag_p99_s": lag.get_value_at_percentile(99.0) / 1e6,
            "generator_lag_max_s": lag.get_max_value() / 1e6,
        }
        values = latency.get_percentile_to_value_dict(list(PERCENTILES.values()))
        for name, percentile in PERCENTILES.items():
            metrics[f"latency_{name}_s"] = values[percentile] / 1e6
        return metrics

    def _run(
        self,
        rate: float,
        warmup_s: float,
        duration_s: float,
        drain_s: float,
        seed: int,
        latencies_us: list[int],
        lags_us: list[int],
    ) -> dict[str, Any]:
        connections = self._connections
        by_fd = self._by_fd
        count = len(connections)
        rng = random.Random(seed)
        gap = rng.expovariate
        pick = rng.random
        clock = time.monotonic
        poll = self._epoll.poll
        arm = self._timer.arm
        timer_fd = self._timer.fd
        armed = 0.0
        modify = self._epoll.modify
        record_latency = latencies_us.append
        record_lag = lags_us.append
        readable = select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP
        writable = select.EPOLLOUT
        read_only, read_write = select.EPOLLIN, select.EPOLLIN | select.EPOLLOUT
        inf = float("inf")

        start = clock() + 0.001
        measure_from = start + warmup_s
        schedule_end = measure_from + duration_s
        deadline = schedule_end + drain_s
        due = start + gap(rate)
        in_flight = 0
        measured = 0
        echoed_in_window = 0
        while True:
            now = clock()
            while due <= now:
                conn = connections[int(pick() * count)]
                if due >= measure_from:
                    record_lag(int((now - due) * 1e6))
                    measured += 1
                conn.due.append(due)
                in_flight += 1
                size = conn.size
                conn.sent += size
                if conn.pending:
                    conn.pending += conn.payload
                else:
                    try:
                        taken = conn.send(conn.payload)
                    except BlockingIOError:
                        taken = 0
                    if taken < size:
                        conn.pending += conn.payload[taken:]
                        modify(conn.fd, read_write)
                due += gap(rate)
                if due >= schedule_end:
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
                    try:
                        taken = conn.send(conn.pending)
                    except BlockingIOError:
                        taken = 0
                    del conn.pending[:taken]
                    if not conn.pending:
                        modify(fd, read_only)
                if events & readable:
                    position = conn.received
                    outstanding = conn.sent - position
                    data = conn.recv(RECV_BYTES if outstanding > RECV_BYTES else outstanding or 1)
                    length = len(data)
                    offset = position % conn.size
                    if not length or length > outstanding or data != conn.pattern[offset : offset + length]:
                        raise WrongResult(_describe_bad_echo(conn, data, outstanding))
                    conn.received = end = position + length
                    completed = end // conn.size - position // conn.size
                    if completed:
                        now = clock()
                        in_flight -= completed
                        for _ in range(completed):
                            sent_due = conn.due.popleft()
                            if sent_due >= measure_from:
                                record_latency(int((now - sent_due) * 1e6))
                                if now < schedule_end:
                                    echoed_in_window += 1
        finished = clock()
        arm(0)
        not_echoed = 0
        for conn in connections:
            for sent_due in conn.due:
                if sent_due >= measure_from:
                    record_latency(int((finished - sent_due) * 1e6))
                    not_echoed += 1
            conn.due.clear()
        return {
            "messages": measured,
            "messages_not_echoed": not_echoed,
            # measured messages echoed before the schedule ended, per second of the measured part
            "achieved_msgs_per_s": echoed_in_window / duration_s,
            "elapsed_s": finished - start,
            "drain_s": max(0.0, finished - schedule_end),
        }


def _histogram(values_us: list[int]) -> HdrHistogram:
    histogram = HdrHistogram(1, HISTOGRAM_MAX_US, 3)
    for value, count in Counter(values_us).items():
        histogram.record_value(min(max(value, 1), HISTOGRAM_MAX_US), count)
    return histogram


def _describe_bad_echo(conn: _Connection, data: bytes, outstanding: int) -> str:
    where = f"connection {conn.index}, stream offset {conn.received}"
    if not data:
        return f"{where}: the server closed the connection with {outstanding} bytes still to echo"
    if len(data) > outstanding:
        return f"{where}: the server echoed {len(data) - outstanding} bytes more than were sent"
    offset = conn.received % conn.size
    expected = conn.pattern[offset : offset + len(data)]
    first = next(k for k, (a, b) in enumerate(zip(data, expected, strict=True)) if a != b)
    return (
        f"connection {conn.index}, stream offset {conn.received + first}: "
        f"echoed byte {data[first]:#04x}, sent {expected[first]:#04x}"
    )


def main(argv: list[str]) -> int:
    allocator.prepare()  # the warm state every worker starts in (workloads.runtime.allocator)
    raise_open_files_limit()
    generator = OpenLoopGenerator()
    return serve_requests(
        int(argv[2]),
        int(argv[3]),
        {
            "connect": lambda r: generator.connect(r["port"], r["connections"], r["message_size"]),
            "measure": lambda r: generator.measure(
                r["rate"], r["warmup_s"], r["duration_s"], r["drain_s"], r.get("seed", 0)
            ),
            "close": lambda r: generator.close(),
        },
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv))
