"""The open-loop echo load generator: messages on a fixed Poisson schedule, timed from when they were due.

Runs in its own process (``python -m workloads.peers.open_loop_generator NAME REQ_FD REPLY_FD``),
pinned by the harness to a different core than the server. ``connect`` opens C connections;
each ``measure`` sends messages of S bytes at an offered rate R: arrival times are a Poisson process
of rate R (exponential gaps from a seeded generator), each arrival going to a connection chosen
uniformly at random (so each connection sees a Poisson process of rate R/C). Its echo stream must be
the concatenation of what it sent, checked byte for byte in order.

- Depth: a connection has at most ``depth`` messages in flight (1 by default: request and response, as
  an HTTP/1.1 client without pipelining, an RPC or a database client behaves). A message that falls due
  while its connection is full waits in the generator and leaves when an echo frees the connection; its
  latency still counts from its scheduled time (wrk2's rule, which keeps the correction for coordinated
  omission). So C connections carry at most about C x depth / (time on the wire) messages a second:
  ``connection_limit_msgs_per_s`` estimates it from the run, and ``connection_wait_*`` says how long
  messages waited for their connection. Deeper, the server reads several messages per ``recv()``
  (pipelining) and the open loop measures a byte stream rather than requests.

- Latency of a message: from its *scheduled* send time to the arrival of its last echoed byte, so a
  server that stalls is charged for every message due during the stall (no coordinated omission).
- Lag: how late the generator issued each message against its schedule (took it in hand: sent it, or
  queued it behind its busy connection). A message that TCP cannot take at once is queued on its
  connection and counts as issued: back-pressure from a slow server is the server's latency, not the
  generator's lag.
- Writes: each pass of the loop issues every message due by then, and each connection's share of the
  pass leaves in one ``send()`` after it (with depth above 1, several when they fell due within one
  pass, as a client's write buffer coalesces them; sending each message alone cost a kernel TCP send
  apiece and kept the schedule only to about 350 k msgs/s here). A message freed by an echo leaves with
  the next pass's writes.
- Warm-up: the schedule runs ``warmup_s`` before the measured ``duration_s``; messages due in the
  warm-up are sent and checked but not recorded.
- Bound: after the schedule ends the generator waits up to ``drain_s`` for outstanding echoes. A
  message still not echoed then is counted in ``messages_not_echoed`` and recorded at its age then (a
  lower bound of its latency), so a hung server cannot look fast; the connections are then reopened.

The schedule (``schedule``: exponential gaps and uniform connection picks, drawn in that order from
``random.Random(seed)``) is computed before the run, as offsets from its start, so both loops below
offer the same messages at the same times to the same connections for a seed.

The measurement's loop exists twice with the same wire behaviour, call for call: in C
(``workloads.peers._open_loop``, built by ``pip install -e .``: on loopback the generator's ``send()``
runs the kernel's TCP receive path of the server's socket, so only a loop with almost no user-space
work keeps its schedule well above the rates the fastest servers echo: against the reference server
the C loop kept lag p99 within 200 us to about 300 k msgs/s here, the Python loop to about 150 k)
and in Python (one ``epoll``, per-connection state in slots), the fallback where the extension is
not built. ``COROBENCH_GENERATOR=c|python`` picks one (default: C when built), as for the
closed-loop generator; every measurement reports ``generator_impl``.

Latencies and lags are kept as integer microseconds during the run and recorded afterwards into HDR
histograms (``hdrh``, 3 significant figures; values with their counts), so the hot loop does no
histogram work. With ``BUSY_POLL`` (the default) the loop never blocks while messages are scheduled:
at low rates the vCPU otherwise went idle between sends, and the hypervisor took milliseconds to run
it again at the tail (lag p99 1-20 ms at 1 000-3 000 msgs/s in a default run on a quiet machine), so
the generator measured its own wake-ups. It has a core of its own (the harness pins it), so spinning
takes nothing from the server. ``COROBENCH_GENERATOR_SLEEP=1`` (``SLEEP_ENV``, shared with the other
peers) restores the sleeping form: a ``timerfd`` (nanosecond resolution, where epoll's own timeout rounds up to whole
milliseconds) armed ``SPIN_S`` before the next due time, and polling without blocking from then on,
because a sleeping vCPU here took 30-40 us to wake (median).
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
from array import array
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from hdrh.histogram import HdrHistogram

from workloads.peers import waiting
from workloads.peers.load_generator import choose_impl
from workloads.runtime import allocator
from workloads.runtime.errors import WrongResult
from workloads.runtime.serve import raise_open_files_limit, serve_requests
from workloads.specs.echo_data import ECHO_HOST, message

try:
    from workloads.peers import _open_loop as _compiled_loop

    compiled_loop: ModuleType | None = _compiled_loop
except ImportError:  # not built: the Python loop below runs, and says so
    compiled_loop = None

RECV_BYTES = 64 * 1024
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9, "p9999": 99.99}
HISTOGRAM_MAX_US = 3_600_000_000
"""Largest value the histograms track: one hour, in microseconds."""
SPIN_S = 100e-6
"""The timer fires this long before a due time; the generator then polls without blocking until it."""
SLEEP_ENV = waiting.SLEEP_ENV
BUSY_POLL = waiting.spins()
"""Never block while messages are scheduled (unless ``SLEEP_ENV`` is ``1``, which makes every peer
sleep: ``workloads.peers.waiting``); read here only, passed to both loops."""
TIMER_ABSTIME = 1


def chosen_impl() -> str:
    """The open loop's impl: ``load_generator.choose_impl`` for ``workloads.peers._open_loop``."""
    return choose_impl(compiled_loop, "workloads.peers._open_loop")


@dataclass(frozen=True)
class Schedule:
    """Message k is due ``offsets[k]`` seconds after the start, on connection ``picks[k]``; those from
    ``first_measured`` on fall in the measured part (the earlier ones in the warm-up)."""

    offsets: array[float]
    picks: array[int]
    first_measured: int

    @property
    def measured(self) -> int:
        return len(self.offsets) - self.first_measured


def schedule(rate: float, warmup_s: float, duration_s: float, connections: int, seed: int) -> Schedule:
    """The Poisson schedule of ``rate`` messages/s over ``warmup_s + duration_s``, each on a random connection.

    Draws from ``random.Random(seed)`` in this order: the first gap, then per message its connection and
    the gap to the next."""
    rng = random.Random(seed)
    gap, pick = rng.expovariate, rng.random
    end = warmup_s + duration_s
    offsets, picks = array("d"), array("i")
    add_offset, add_pick = offsets.append, picks.append
    at = gap(rate)
    while at < end:
        add_offset(at)
        add_pick(int(pick() * connections))
        at += gap(rate)
    return Schedule(offsets, picks, bisect_left(offsets, warmup_s))


class Timer:
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
        "batched",
        "fd",
        "in_flight",
        "index",
        "on_wire",
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
        self.batched = 0
        """Messages that fell due in this pass of the schedule, offered together after it."""
        self.in_flight: deque[int] = deque()
        """Schedule indices of the messages due and not yet echoed, oldest first: the first ``on_wire`` of them
        are in the stream, the rest wait for the connection."""
        self.on_wire = 0
        """Messages sent (or pending) and not yet echoed: at most the depth."""

        self.sent = 0
        """Bytes put into the stream so far (sent or pending)."""
        self.received = 0


@dataclass
class Run:
    """What one run of either loop leaves: latencies and lags (us, one per measured message) and counts."""

    start: float
    finished: float
    latencies_us: Iterable[int]
    lags_us: Iterable[int]
    waits_us: Iterable[int]
    """Per measured message, from its due time to its first byte entering the stream (never sent: its age)."""
    echoed_in_window: int
    echoes_in_window: int
    """Echoes of any message, warm-up ones included, completed while the measured part ran."""
    not_echoed: int
    in_flight: int


class OpenLoopGenerator:
    def __init__(self, impl: str | None = None) -> None:
        self.impl = impl or chosen_impl()
        self._connections: list[_Connection] = []
        self._by_fd: dict[int, _Connection] = {}
        self._epoll = select.epoll()
        self._timer = Timer()
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

    def measure(
        self, rate: float, warmup_s: float, duration_s: float, drain_s: float, seed: int, depth: int = 1
    ) -> dict[str, Any]:
        """Offer ``rate`` messages/s for ``warmup_s + duration_s``, at most ``depth`` in flight per connection;
        the metrics of the measured part."""
        if not self._connections:
            raise RuntimeError("measure before connect")
        if rate <= 0 or duration_s <= 0:
            raise ValueError(f"rate and duration must be positive (rate={rate}, duration_s={duration_s})")
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f"depth must be a whole number of messages, at least 1 (depth={depth!r})")
        planned = schedule(rate, warmup_s, duration_s, len(self._connections), seed)
        run_loop = self._run_c if self.impl == "c" else self._run_python
        run = run_loop(planned, warmup_s, duration_s, drain_s, depth)
        if run.in_flight:  # the streams still carry those messages: start the next measurement on fresh ones
            self.connect(self._port, len(self._connections), self._message_size)
        return run_metrics(planned, run, rate, warmup_s, duration_s, depth, len(self._connections), self.impl)

    def _run_c(self, planned: Schedule, warmup_s: float, duration_s: float, drain_s: float, depth: int) -> Run:
        assert compiled_loop is not None
        connections = self._connections
        lags_us = array("q", bytes(8 * planned.measured))
        latencies_us = array("q", bytes(8 * planned.measured))
        waits_us = array("q", bytes(8 * planned.measured))
        start, finished, echoed_in_window, echoes_in_window, not_echoed, in_flight, sent, received, bad = (
            compiled_loop.run(
                self._epoll.fileno(),
                self._timer.fd,
                [c.fd for c in connections],
                [c.pattern for c in connections],
                [c.size for c in connections],
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
                depth,
            )
        )
        for conn, sent_bytes, received_bytes in zip(connections, sent, received, strict=True):
            conn.sent += sent_bytes
            conn.received += received_bytes
        if bad is not None:
            index, data = bad
            conn = connections[index]
            raise WrongResult(_describe_bad_echo(conn, data, conn.sent - conn.received))
        return Run(
            start, finished, latencies_us, lags_us, waits_us, echoed_in_window, echoes_in_window, not_echoed, in_flight
        )

    def _run_python(self, planned: Schedule, warmup_s: float, duration_s: float, drain_s: float, depth: int) -> Run:
        """The fallback loop: the C loop's behaviour, in Python."""
        connections = self._connections
        by_fd = self._by_fd
        offsets, picks, first_measured = planned.offsets, planned.picks, planned.first_measured
        total = len(offsets)
        latencies_us: list[int] = []
        lags_us: list[int] = []
        waits_us = array("q", bytes(8 * planned.measured))
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
        following = 0
        """The next message of the schedule."""
        due = start + offsets[0] if total else inf
        in_flight = 0
        echoed_in_window = 0
        echoes_in_window = 0
        batch: list[_Connection] = []
        """Connections with messages to send in this pass and nothing pending: one send() each after the pass."""

        def put_on_wire(conn: _Connection, k: int, now: float) -> None:
            """Message ``k`` enters ``conn``'s stream: with the pass's batch, or behind bytes still pending."""
            conn.on_wire += 1
            conn.sent += conn.size
            if k >= first_measured:
                waits_us[k - first_measured] = int((now - (start + offsets[k])) * 1e6)
            if conn.pending:
                conn.pending += conn.payload
            else:
                if not conn.batched:
                    batch.append(conn)
                conn.batched += 1

        while True:
            now = clock()
            while due <= now:
                conn = connections[picks[following]]
                if following >= first_measured:
                    record_lag(int((now - due) * 1e6))
                conn.in_flight.append(following)
                in_flight += 1
                if conn.on_wire < depth:
                    put_on_wire(conn, following, now)
                following += 1
                if following < total:
                    due = start + offsets[following]
                else:
                    due = inf
                    arm(0)  # an expired timer stays readable: disarm it for the drain
                now = clock()
            for conn in batch:
                data = conn.payload if conn.batched == 1 else conn.payload * conn.batched
                conn.batched = 0
                try:
                    taken = conn.send(data)
                except BlockingIOError:
                    taken = 0
                if taken < len(data):
                    conn.pending += data[taken:]
                    modify(conn.fd, read_write)
            batch.clear()
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
                    try:
                        data = conn.recv(RECV_BYTES if outstanding > RECV_BYTES else outstanding or 1)
                    except BlockingIOError:
                        continue
                    length = len(data)
                    offset = position % conn.size
                    if not length or length > outstanding or data != conn.pattern[offset : offset + length]:
                        raise WrongResult(_describe_bad_echo(conn, data, outstanding))
                    conn.received = end = position + length
                    completed = end // conn.size - position // conn.size
                    if completed:
                        now = clock()
                        in_flight -= completed
                        conn.on_wire -= completed
                        if measure_from <= now < schedule_end:
                            echoes_in_window += completed
                        for _ in range(completed):
                            echoed = conn.in_flight.popleft()
                            if echoed >= first_measured:
                                record_latency(int((now - (start + offsets[echoed])) * 1e6))
                                if now < schedule_end:
                                    echoed_in_window += 1
                        waiting = conn.in_flight
                        while conn.on_wire < depth and len(waiting) > conn.on_wire:  # freed: the next ones leave
                            put_on_wire(conn, waiting[conn.on_wire], now)
        finished = clock()
        arm(0)
        not_echoed = 0
        for conn in connections:
            for position, unanswered in enumerate(conn.in_flight):
                if unanswered >= first_measured:
                    age = int((finished - (start + offsets[unanswered])) * 1e6)
                    record_latency(age)
                    not_echoed += 1
                    if position >= conn.on_wire:  # never sent: it waited for its connection all along
                        waits_us[unanswered - first_measured] = age
            conn.in_flight.clear()
            conn.on_wire = 0
        return Run(
            start, finished, latencies_us, lags_us, waits_us, echoed_in_window, echoes_in_window, not_echoed, in_flight
        )


def run_metrics(
    planned: Schedule,
    run: Run,
    rate: float,
    warmup_s: float,
    duration_s: float,
    depth: int,
    connections: int,
    impl: str,
) -> dict[str, Any]:
    """The metrics of one open-loop run's measured part (echo messages, or HTTP requests: the keys say
    ``msgs`` for both), from its latencies, lags and waits."""
    latency = histogram(run.latencies_us)
    lag = histogram(run.lags_us)
    waits_us = run.waits_us if isinstance(run.waits_us, array) else array("q", run.waits_us)
    wait = histogram(waits_us)
    waited = sum(1 for w in waits_us if w > 0)
    wait_mean_us = sum(waits_us) / len(waits_us) if len(waits_us) else 0.0
    schedule_end = run.start + warmup_s + duration_s
    metrics: dict[str, Any] = {
        "messages": planned.measured,
        "messages_not_echoed": run.not_echoed,
        # measured messages echoed before the schedule ended, per second of the measured part
        "achieved_msgs_per_s": run.echoed_in_window / duration_s,
        # every echo completed while the measured part ran, per second: the server's rate under overload
        "echo_rate_msgs_per_s": run.echoes_in_window / duration_s,
        "elapsed_s": run.finished - run.start,
        "drain_s": max(0.0, run.finished - schedule_end),
        "offered_msgs_per_s": rate,
        "latency_mean_s": latency.get_mean_value() / 1e6,
        "latency_max_s": latency.get_max_value() / 1e6,
        "generator_lag_p99_s": lag.get_value_at_percentile(99.0) / 1e6,
        "generator_lag_max_s": lag.get_max_value() / 1e6,
        "generator_impl": impl,
        "depth": depth,
        "connections": connections,
        "connection_wait_mean_s": wait_mean_us / 1e6,
        "connection_wait_p99_s": wait.get_value_at_percentile(99.0) / 1e6 if waited else 0.0,
        "messages_waited_for_connection": waited,
        "connection_limit_msgs_per_s": connection_limit(
            connections * depth, (latency.get_mean_value() - wait_mean_us) / 1e6
        ),
    }
    values = latency.get_percentile_to_value_dict(list(PERCENTILES.values()))
    for name, percentile in PERCENTILES.items():
        metrics[f"latency_{name}_s"] = values[percentile] / 1e6
    return metrics


def connection_limit(slots: int, wire_s: float) -> float | None:
    """The most messages a second that ``slots`` (connections x depth) can carry when each message spends
    ``wire_s`` on the wire (Little's law); None when nothing was measured on the wire."""
    return slots / wire_s if wire_s > 0 else None


def histogram(values_us: Iterable[int]) -> HdrHistogram:
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
                r["rate"], r["warmup_s"], r["duration_s"], r["drain_s"], r.get("seed", 0), r.get("depth", 1)
            ),
            "close": lambda r: generator.close(),
        },
        hello={"generator_impl": generator.impl},
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv))
