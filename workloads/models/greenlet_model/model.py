"""Raw greenlets on the small selectors hub in ``workloads.models.greenlet_model.hub`` (no gevent).

API: ``hub.spawn`` starts one greenlet per task or connection; ``hub.sleep`` is a
timer-heap sleep; ``hub.join_all`` resumes the joiner once, when the last task is done;
the echo code uses the hub's green socket helpers (non-blocking sockets that try the call and wait
with ``wait_readable``/``wait_writable`` only when it would block). The client waits for readability
*before* reading each echo, as the generators scheduler does: right after sending, the echo cannot
have arrived, so trying ``recv`` first would cost one failed syscall and one ``BlockingIOError`` per
round trip; once readable it reads until the echo is complete or the socket would block.
``recv(64 KiB)`` per read: measured
as cheap per message as ``recv_into`` a per-connection buffer, without holding 64-256 KiB of buffer per
open connection. Timeouts: ``hub.Timeout(deadline, silent=True)`` per task (the hub's version of
``gevent.Timeout(deadline, False)``): a hub timer throws the ``Timeout`` into the task's greenlet at its
current wait if it is still inside the block, and leaving the block cancels the timer. ``cpu_mixed``
computes right after the sleep, in the task's greenlet, holding the hub meanwhile: nothing else runs
until it switches again, which is what cooperative scheduling means for CPU work.

``ping_pong`` is the greenlet tutorial's first example: two greenlets (children of the calling
greenlet, started inside the window) pass the token with ``greenlet.switch(token)``, which returns the
value the other side switches back with. No hub is involved: ``switch`` is greenlet's primitive, one
C-level stack switch per hand-off, and what every hub's wake-up is built on. When ping returns, the
window closes and pong, parked in its last ``switch``, is ended with ``throw()`` (``GreenletExit``).

HTTP (``http_server``, ``workloads.models.greenlet_model.http``): the same parser (httptools) over the
echo server's green sockets, ``hub.sleep(io_s)`` before each answer.

The hub is created at import (cheap: one selector and one greenlet) and reused for every round,
outside every timed window; the worker's main greenlet simply blocks on it.
"""

from __future__ import annotations

import socket
import zlib
from time import perf_counter

from greenlet import greenlet

from workloads.models.greenlet_model import hub
from workloads.models.greenlet_model.http import http_server as http_server
from workloads.models.shared.listeners import nonblocking_listener
from workloads.runtime.server_control import ServerControl
from workloads.runtime.window import Window
from workloads.specs.cpu_work import burn
from workloads.specs.echo_data import ECHO_HOST, message
from workloads.specs.ping_pong import exchanges

ECHO_VARIANTS: tuple[str, ...] = ("default",)
RECV_BYTES = 64 * 1024

hub.get_hub()


def leftovers() -> dict[str, int]:
    return hub.get_hub().scheduled()


def _sleep_and_return(index: int, delay: float) -> tuple[int, float]:
    started = perf_counter()
    hub.sleep(delay)
    return index, perf_counter() - started


def sleep_fanout(variant: str, n: int, delay: float, window: Window) -> list[tuple[int, float]]:
    the_hub = hub.get_hub()
    spawn = the_hub.spawn
    with window:
        tasks = [spawn(_sleep_and_return, i, delay) for i in range(n)]
        return the_hub.join_all(tasks)


def _echo(conn: socket.socket, handlers: dict[socket.socket, hub.Task[None]]) -> None:
    try:
        while data := hub.recv(conn, RECV_BYTES):
            hub.sendall(conn, data)
    except OSError:  # reset, broken pipe, or the server closing the socket (Cancelled)
        pass
    finally:
        handlers.pop(conn, None)
        hub.close(conn)


def _accept_loop(listener: socket.socket, handlers: dict[socket.socket, hub.Task[None]]) -> None:
    try:
        while True:
            conn = hub.accept(listener)
            handlers[conn] = hub.spawn(_echo, conn, handlers)
    except OSError:  # the listener was closed (Cancelled) on shutdown
        pass


def tcp_echo_server(variant: str, control: ServerControl) -> None:
    if variant not in ECHO_VARIANTS:
        raise ValueError(f"unknown echo variant {variant!r}; this model offers {ECHO_VARIANTS}")
    the_hub = hub.get_hub()
    listener = nonblocking_listener()
    handlers: dict[socket.socket, hub.Task[None]] = {}
    acceptor = the_hub.spawn(_accept_loop, listener, handlers)
    try:
        control.listening(listener.getsockname()[1])
        the_hub.wait_readable(control.stop_fd)
    finally:
        the_hub.forget(control.stop_fd)
        hub.close(listener)
        tasks = [acceptor, *handlers.values()]
        for conn in list(handlers):
            hub.close(conn)
        the_hub.join_all(tasks)


def _client_connection(port: int, index: int, message_size: int, round_trips: int) -> int:
    payload = message(index, message_size)
    crc = 0
    conn = hub.create_connection(ECHO_HOST, port)
    the_hub = hub.get_hub()
    fd = conn.fileno()
    receive = conn.recv
    try:
        for _ in range(round_trips):
            hub.sendall(conn, payload)
            remaining = message_size
            while remaining:
                the_hub.wait_readable(fd)  # the echo cannot be there yet: wait first, then read what arrived
                while remaining:
                    try:
                        data = receive(min(remaining, RECV_BYTES))
                    except BlockingIOError:
                        break
                    if not data:
                        raise ConnectionError(f"connection {index}: the server closed it mid-echo")
                    crc = zlib.crc32(data, crc)
                    remaining -= len(data)
    finally:
        hub.close(conn)
    return crc


def tcp_client(
    variant: str, port: int, connections: int, message_size: int, round_trips: int, window: Window
) -> list[int]:
    the_hub = hub.get_hub()
    with window:
        tasks = [the_hub.spawn(_client_connection, port, i, message_size, round_trips) for i in range(connections)]
        return the_hub.join_all(tasks)


def _race_deadline(index: int, delay: float, deadline: float, completed: list[int]) -> None:
    with hub.Timeout(deadline, silent=True):
        hub.sleep(delay)
        completed.append(index)


def timeout_cancel(variant: str, delays: list[float], deadline: float, completed: list[int], window: Window) -> None:
    the_hub = hub.get_hub()
    spawn = the_hub.spawn
    with window:
        tasks = [spawn(_race_deadline, i, delay, deadline, completed) for i, delay in enumerate(delays)]
        the_hub.join_all(tasks)


def _io_then_cpu(index: int, delay: float, work: int) -> int:
    hub.sleep(delay)
    return burn(work, index)


def cpu_mixed(variant: str, n: int, delay: float, work: int, window: Window) -> list[int]:
    the_hub = hub.get_hub()
    spawn = the_hub.spawn
    with window:
        tasks = [spawn(_io_then_cpu, i, delay, work) for i in range(n)]
        return the_hub.join_all(tasks)


def ping_pong(variant: str, handoffs: int, window: Window) -> tuple[list[int], list[int]]:
    ping_tokens: list[int] = []
    pong_tokens: list[int] = []
    count = exchanges(handoffs)

    def ping() -> None:
        switch, record = pong_side.switch, ping_tokens.append
        token = 1
        for _ in range(count):
            token = switch(token)
            record(token)
            token += 1

    def pong(token: int) -> None:
        switch, record = ping_side.switch, pong_tokens.append
        while True:
            record(token)
            token = switch(token + 1)

    ping_side, pong_side = greenlet(ping), greenlet(pong)
    try:
        with window:
            ping_side.switch()
    finally:
        if pong_side:  # started and not dead: parked in its last switch
            pong_side.throw()
    return ping_tokens, pong_tokens
