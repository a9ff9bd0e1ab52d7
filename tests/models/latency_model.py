"""A test-only echo server with a known service time, to check the open-loop method against queueing theory.

Variants of ``tcp_echo_server`` (registered in ``tests/models/__init__.py`` as the model ``latency_probe``):

- ``fixed_delay``: one queue for every connection; each message of ``MESSAGE_BYTES`` is served for
  exactly ``SERVICE_S`` after the previous one, first come first served, and then echoed. Poisson
  arrivals make it an M/D/1 queue.
- ``stalls``: an ordinary single-threaded echo that stops serving for ``STALL_S`` once every
  ``STALL_EVERY_S`` (as a server with a periodic stop-the-world pause would).

``fixed_delay`` keeps its service times on a schedule rather than spending them: a message that arrives
at ``t`` (when ``select`` hands it over) completes at ``max(t, previous completion) + SERVICE_S``, and
the loop sleeps in ``select`` until the next completion is due. A busy wait or a sleep per message would
stretch every service by the time the process waits for a core on a busy machine, and that stretch
compounds in the queue (the server's rate falls, its load rises); here a late wake-up delays one echo
by the time it was late and no later message, which is a constant the test's idle measurement takes
out. ``SERVICE_S`` is 5 ms so that such wake-ups (up to a few ms with one busy process per core) stay
small beside it.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections import deque

from workloads.runtime.server_control import ServerControl
from workloads.specs.echo_data import ECHO_HOST

MESSAGE_BYTES = 1024
SERVICE_S = 5e-3
STALL_S = 0.1
STALL_EVERY_S = 1.0
IDLE_POLL_S = 0.01


def tcp_echo_server(variant: str, control: ServerControl) -> None:
    if variant not in ("fixed_delay", "stalls"):
        raise ValueError(f"latency_probe has no echo variant {variant!r}")
    selector = selectors.DefaultSelector()
    with socket.create_server((ECHO_HOST, 0)) as listener:
        listener.setblocking(False)
        selector.register(listener, selectors.EVENT_READ)
        selector.register(control.stop_fd, selectors.EVENT_READ)
        control.listening(listener.getsockname()[1])
        if variant == "fixed_delay":
            serve_fixed_delay(selector, listener, control.stop_fd)
        else:
            serve_with_stalls(selector, listener, control.stop_fd)


def accept(selector: selectors.BaseSelector, listener: socket.socket) -> socket.socket:
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    selector.register(conn, selectors.EVENT_READ)
    return conn


def serve_fixed_delay(selector: selectors.BaseSelector, listener: socket.socket, stop_fd: int) -> None:
    partial: dict[socket.socket, bytes] = {}
    due: deque[tuple[float, socket.socket, bytes]] = deque()  # (completion time, connection, message), FIFO
    free_at = 0.0  # when the message last admitted completes its service
    while True:
        timeout = max(0.0, due[0][0] - time.perf_counter()) if due else IDLE_POLL_S
        for key, _ in selector.select(timeout=timeout):
            if key.fileobj == stop_fd:
                for conn in partial:
                    conn.close()
                return
            if key.fileobj is listener:
                partial[accept(selector, listener)] = b""
                continue
            conn = key.fileobj  # type: ignore[assignment]
            try:
                data = conn.recv(MESSAGE_BYTES - len(partial[conn]))
            except ConnectionError:  # the generator reopens connections that still carry messages
                data = b""
            if not data:
                selector.unregister(conn)
                del partial[conn]
                conn.close()
                continue
            partial[conn] += data
            if len(partial[conn]) == MESSAGE_BYTES:
                free_at = max(time.perf_counter(), free_at) + SERVICE_S
                due.append((free_at, conn, partial[conn]))
                partial[conn] = b""
        while due and due[0][0] <= time.perf_counter():
            _, conn, message = due.popleft()
            if conn in partial:  # not closed meanwhile
                try:
                    conn.sendall(message)
                except ConnectionError:
                    pass  # the generator counts it as never echoed


def serve_with_stalls(selector: selectors.BaseSelector, listener: socket.socket, stop_fd: int) -> None:
    conns: set[socket.socket] = set()
    next_stall = time.monotonic() + STALL_EVERY_S
    while True:
        for key, _ in selector.select(timeout=IDLE_POLL_S):
            if key.fileobj == stop_fd:
                for conn in conns:
                    conn.close()
                return
            if key.fileobj is listener:
                conns.add(accept(selector, listener))
                continue
            conn = key.fileobj  # type: ignore[assignment]
            try:
                data = conn.recv(65536)
                if data:
                    conn.sendall(data)
            except ConnectionError:
                data = b""
            if not data:
                selector.unregister(conn)
                conns.discard(conn)
                conn.close()
        if time.monotonic() >= next_stall:
            time.sleep(STALL_S)
            next_stall += STALL_EVERY_S
