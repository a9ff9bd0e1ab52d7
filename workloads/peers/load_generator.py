"""The echo load generator: the same closed-loop client for every model's server.

Runs in its own process (``python -m workloads.peers.load_generator NAME REQ_FD REPLY_FD``),
pinned by the harness to a different core than the server. It opens C
connections once per cell (``connect``), then for each ``round`` keeps every
connection busy in a closed loop: send one message of S bytes, wait for the
whole echo, check it byte for byte, send the next, until the round's quota of
messages is done. The round's duration is first send to last complete echo.

It must outrun the fastest server under test, so the round's loop exists twice
with the same wire behaviour, call for call: in C (``workloads.peers._echo_loop``,
built by ``pip install -e .``: on loopback the sender's ``send()`` pays about
half the kernel's TCP work, so only a loop with almost no user-space work
leaves the margin) and in Python (one ``epoll`` object, no framework,
per-connection state in slots), the fallback where the extension is not built.
``COROBENCH_GENERATOR=c|python`` picks one (default: C when built).

Both loops spin on a non-blocking poll rather than sleep between echoes
(``workloads.peers.waiting`` says why; ``COROBENCH_GENERATOR_SLEEP=1`` makes
them sleep). Every round reports ``generator_impl``, ``generator_wait`` (spin
or sleep), the seconds spent polling an empty set (``generator_wait_s``) and the
generator's working CPU over the round (``generator_cpu_s``: its process CPU
less that waiting), from which the harness tells whether the generator set the
pace (``bottleneck``).
"""

from __future__ import annotations

import os
import select
import socket
import sys
import time
from types import ModuleType
from typing import Any

from workloads.peers import waiting
from workloads.runtime import allocator
from workloads.runtime.errors import WrongResult
from workloads.runtime.serve import raise_open_files_limit, serve_requests
from workloads.runtime.settings import GENERATOR_ENV, GENERATOR_IMPLS
from workloads.runtime.window import to_quanta
from workloads.specs.echo_data import ECHO_HOST, message

try:
    from workloads.peers import _echo_loop as _compiled_loop

    compiled_loop: ModuleType | None = _compiled_loop
except ImportError:  # not built: the Python loop below runs, and says so
    compiled_loop = None

LATENCY_PERCENTILES = {"p50": 0.50, "p90": 0.90, "p99": 0.99, "p999": 0.999}
RECV_BYTES = 64 * 1024
IMPL_ENV = GENERATOR_ENV
IMPLS = GENERATOR_IMPLS


def choose_impl(compiled: ModuleType | None, name: str) -> str:
    """``COROBENCH_GENERATOR`` if set (``c`` or ``python``), else C when the extension ``name`` is built.

    Shared by both generators (this one and the open loop), each passing its own extension."""
    wanted = os.environ.get(IMPL_ENV) or ("c" if compiled is not None else "python")
    if wanted not in IMPLS:
        raise ValueError(f"{IMPL_ENV}={wanted!r}; expected one of {', '.join(IMPLS)}")
    if wanted == "c" and compiled is None:
        raise RuntimeError(f"{IMPL_ENV}=c but {name} is not built (pip install -e .)")
    return wanted


def chosen_impl() -> str:
    """The closed loop's impl: ``choose_impl`` for ``workloads.peers._echo_loop``."""
    return choose_impl(compiled_loop, "workloads.peers._echo_loop")


class _Connection:
    __slots__ = (
        "index",
        "message",
        "received",
        "recv",
        "send",
        "sent",
        "sent_at",
        "size",
        "sock",
        "view",
        "wants_write",
    )

    def __init__(self, index: int, sock: socket.socket, payload: bytes) -> None:
        self.index = index
        self.sock = sock
        self.recv = sock.recv
        self.send = sock.send
        self.message = payload
        self.size = len(payload)
        self.view = memoryview(payload)
        self.sent = 0
        self.received = 0
        self.sent_at = 0.0
        self.wants_write = False


class LoadGenerator:
    def __init__(self, impl: str | None = None, spin: bool | None = None) -> None:
        self.impl = impl or chosen_impl()
        self.spin = waiting.spins() if spin is None else spin
        self._connections: dict[int, _Connection] = {}
        self._epoll = select.epoll()

    @property
    def wait_mode(self) -> str:
        """``"spin"`` or ``"sleep"``: how the loop waits for echoes (recorded with every round)."""
        return "spin" if self.spin else "sleep"

    def connect(self, port: int, connections: int, message_size: int) -> dict[str, Any]:
        self.close()
        for index in range(connections):
            sock = socket.create_connection((ECHO_HOST, port), timeout=10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            self._connections[sock.fileno()] = _Connection(index, sock, message(index, message_size))
            self._epoll.register(sock.fileno(), select.EPOLLIN)
        return {}

    def round(self, messages: int) -> dict[str, Any]:
        """Run ``messages`` closed-loop echoes across the open connections."""
        if not self._connections:
            raise RuntimeError("round before connect")
        cpu_started = time.process_time()
        run = self._round_c if self.impl == "c" else self._round_python
        seconds, latencies, waited = run(messages)
        cpu = time.process_time() - cpu_started
        metrics = {
            **_latency_summary(latencies),
            # A host preemption inside an empty poll counts as waiting but not as CPU: never below 0.
            "generator_cpu_s": max(0.0, cpu - waited),
            "generator_wait_s": waited,
            "generator_wait": self.wait_mode,
            "generator_impl": self.impl,
        }
        return {"quanta": to_quanta(seconds), "metrics": metrics}

    def _round_c(self, messages: int) -> tuple[float, list[float], float]:
        assert compiled_loop is not None
        ordered = list(self._connections.values())
        seconds, latencies, bad, waited = compiled_loop.run(
            self._epoll.fileno(),
            [c.sock.fileno() for c in ordered],
            [c.message for c in ordered],
            messages,
            self.spin,
        )
        if bad is not None:
            index, offset, data = bad
            ordered[index].received = offset
            raise WrongResult(self._describe_bad_echo(ordered[index], data))
        return seconds, latencies, waited

    def _round_python(self, messages: int) -> tuple[float, list[float], float]:
        """The fallback loop: the C loop's behaviour, in Python."""
        latencies: list[float] = []
        waited = 0.0
        timeout = 0.0 if self.spin else -1.0
        record = latencies.append
        perf_counter = time.perf_counter
        connections = self._connections
        to_send = messages
        done = 0
        started = perf_counter()
        for conn in connections.values():
            if to_send == 0:
                break
            to_send -= 1
            self._start_message(conn, perf_counter())
        poll = self._epoll.poll
        writable, readable = select.EPOLLOUT, select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP
        idle_from = perf_counter()  # spinning: from the end of the last work to an empty poll's return is waiting
        while done < messages:
            ready = poll(timeout)
            if not ready:  # spinning, and nothing has arrived yet
                now = perf_counter()
                waited += now - idle_from
                idle_from = now
                continue
            for fd, events in ready:
                conn = connections[fd]
                if events & writable:
                    self._continue_send(conn)
                if events & readable:
                    # Ask for no more than the rest of the echo: a large recv() buffer costs an
                    # allocation the size of the buffer (17 us for 256 KiB against 2.4 us for 1 KiB).
                    data = conn.recv(min(conn.size - conn.received, RECV_BYTES))
                    end = conn.received + len(data)
                    expected = conn.message if end - conn.received == conn.size else conn.message[conn.received : end]
                    if not data or data != expected:
                        raise WrongResult(self._describe_bad_echo(conn, data))
                    conn.received = end
                    if end == conn.size:
                        now = perf_counter()
                        record(now - conn.sent_at)
                        done += 1
                        if to_send:
                            to_send -= 1
                            self._start_message(conn, now)
            idle_from = perf_counter()
        return perf_counter() - started, latencies, waited

    def close(self) -> dict[str, Any]:
        for fd, conn in self._connections.items():
            self._epoll.unregister(fd)
            conn.sock.close()
        self._connections.clear()
        return {}

    def _start_message(self, conn: _Connection, now: float) -> None:
        conn.received = 0
        conn.sent_at = now
        try:
            conn.sent = conn.send(conn.message)
        except BlockingIOError:
            conn.sent = 0
        if conn.sent < conn.size or conn.wants_write:
            self._update_write_interest(conn)

    def _continue_send(self, conn: _Connection) -> None:
        try:
            conn.sent += conn.send(conn.view[conn.sent :])
        except BlockingIOError:
            pass
        self._update_write_interest(conn)

    def _update_write_interest(self, conn: _Connection) -> None:
        """Watch for writability only while part of a message is still unsent."""
        wants_write = conn.sent < conn.size
        if wants_write != conn.wants_write:
            conn.wants_write = wants_write
            mask = select.EPOLLIN | (select.EPOLLOUT if wants_write else 0)
            self._epoll.modify(conn.sock.fileno(), mask)

    @staticmethod
    def _describe_bad_echo(conn: _Connection, data: bytes) -> str:
        where = f"connection {conn.index}, message offset {conn.received}"
        if not data:
            return f"{where}: the server closed the connection mid-echo"
        expected = conn.message[conn.received : conn.received + len(data)]
        if len(data) > len(expected):
            return f"{where}: the server echoed {len(data) - len(expected)} bytes more than were sent"
        first = next(k for k, (a, b) in enumerate(zip(data, expected, strict=True)) if a != b)
        return (
            f"connection {conn.index}, message offset {conn.received + first}: "
            f"echoed byte {data[first]:#04x}, sent {expected[first]:#04x}"
        )


def _latency_summary(latencies: list[float]) -> dict[str, Any]:
    ordered = sorted(latencies)
    summary: dict[str, Any] = {"messages": len(ordered), "latency_max_s": ordered[-1]}
    for name, fraction in LATENCY_PERCENTILES.items():
        rank = max(0, min(len(ordered) - 1, int(fraction * len(ordered) + 0.999999) - 1))
        summary[f"latency_{name}_s"] = ordered[rank]
    return summary


def main(argv: list[str]) -> int:
    allocator.prepare()  # the warm state every worker starts in (workloads.runtime.allocator)
    raise_open_files_limit()
    generator = LoadGenerator()
    return serve_requests(
        int(argv[2]),
        int(argv[3]),
        {
            "connect": lambda r: generator.connect(r["port"], r["connections"], r["message_size"]),
            "round": lambda r: generator.round(r["messages"]),
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
