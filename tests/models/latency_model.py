"""A test-only echo server with a known service time, to check the open-loop method against queueing theory.

Variants of ``tcp_echo_server`` (registered in ``tests/models/__init__.py`` as the model ``latency_probe``):

- ``fixed_delay``: one thread serves every connection as a single queue; each message of
  ``MESSAGE_BYTES`` is held for ``SERVICE_S`` (a busy wait, so the time is exact) and then echoed.
  Poisson arrivals make it an M/D/1 queue.
- ``stalls``: an ordinary single-threaded echo that stops serving for ``STALL_S`` once every
  ``STALL_EVERY_S`` (as a server with a periodic stop-the-world pause would).

Each ready connection has at most one message served per pass of the loop (round robin), which keeps
the order close to first come, first served.
"""

from __future__ import annotations

import selectors
import socket
import time

from workloads.runtime.server_control import ServerControl
from workloads.specs.echo_data import ECHO_HOST

MESSAGE_BYTES = 1024
SERVICE_S = 1e-3
STALL_S = 0.1
STALL_EVERY_S = 1.0


def tcp_echo_server(variant: str, control: ServerControl) -> None:
    if variant not in ("fixed_delay", "stalls"):
        raise ValueError(f"latency_probe has no echo variant {variant!r}")
    selector = selectors.DefaultSelector()
    with socket.create_server((ECHO_HOST, 0)) as listener:
        listener.setblocking(False)
        selector.register(listener, selectors.EVENT_READ)
        selector.register(control.stop_fd, selectors.EVENT_READ)
        control.listening(listener.getsockname()[1])
        partial: dict[socket.socket, bytes] = {}
        next_stall = time.monotonic() + STALL_EVERY_S
        while True:
            for key, _ in selector.select(timeout=0.01):
                if key.fileobj == control.stop_fd:
                    for conn in partial:
                        conn.close()
                    return
                if key.fileobj is listener:
                    conn, _ = listener.accept()
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    selector.register(conn, selectors.EVENT_READ)
                    partial[conn] = b""
                    continue
                conn = key.fileobj  # type: ignore[assignment]
                try:
                    data = serve_one(variant, conn, partial)
                except ConnectionError:  # the generator reopens connections that still carry messages
                    data = b""
                if not data:
                    selector.unregister(conn)
                    del partial[conn]
                    conn.close()
            if variant == "stalls" and time.monotonic() >= next_stall:
                time.sleep(STALL_S)
                next_stall += STALL_EVERY_S


def serve_one(variant: str, conn: socket.socket, partial: dict[socket.socket, bytes]) -> bytes:
    """Read what one ready connection has (b"" when it closed) and echo what is complete."""
    if variant == "stalls":
        data = conn.recv(65536)
        if data:
            conn.sendall(data)
        return data
    data = conn.recv(MESSAGE_BYTES - len(partial[conn]))
    if data:
        partial[conn] += data
        if len(partial[conn]) == MESSAGE_BYTES:
            serve_until = time.perf_counter() + SERVICE_S
            while time.perf_counter() < serve_until:
                pass
            conn.sendall(partial[conn])
            partial[conn] = b""
    return data
