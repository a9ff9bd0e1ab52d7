"""Plain generator coroutines on a scheduler of our own (``workloads.models.generators_model.scheduler``): no ``async``.

The style Python concurrency had before ``async``/``await`` (PEP 342 coroutines and ``yield from``, as
in early Tulip, Twisted's ``inlineCallbacks`` or Tornado's ``gen``): each task is a generator that yields
requests -- ``Sleep``, ``ReadWait``/``WriteWait``, ``Spawn``, ``Join`` -- and the scheduler resumes it with
``send()``; ``return`` in a generator is the task's result. Fan-out: one ``yield Spawn(...)`` per task, then
one ``yield Join(tasks)``, which resumes the joiner once, when the last task is done. Timeouts:
``scheduler.Timeout(deadline, silent=True)`` per task: the scheduler ``throw()``s it into the
task at its current ``yield`` if the task is still inside the block (its sleep timer is withdrawn first),
and leaving the block cancels the timer. ``cpu_mixed`` computes right after the sleep, inside the task's
step: nothing else runs until the task yields again.

Echo: non-blocking sockets; a handler tries ``recv`` first and yields ``ReadWait`` only when it would
block, and writes the echo with one ``send`` (``yield from sendall`` only for what did not fit). The
server ends the handlers by closing their sockets, which wakes a handler waiting on one with ``Closed``
(an ``OSError``, like a reset). The client yields ``ReadWait`` before reading the echo (it cannot have
arrived yet).

Hand-off (``ping_pong``): ``generator.send`` directly, without the scheduler, PEP 342's own
hand-off: pong is a generator, ping the loop that drives it. ``send(token)`` hands the token to pong,
which resumes at its ``yield`` and hands the reply back by yielding it: two hand-offs per ``send``.
Going through the scheduler instead would add a ready-queue trip per hand-off for nothing, and it
has no channel primitive; the greenlet model's ``switch`` is the counterpart. Pong is created and
primed inside the window and closed after it.

HTTP (``http_server``, ``workloads.models.generators_model.http``): the same parser (httptools) over the
echo server's sockets, ``Sleep(io_s)`` before each answer.

One scheduler for the worker's life, created at import (a selector, a deque and a heap: cheap), outside
every timed window; each request is one ``scheduler.run(main_generator)``.
"""

from __future__ import annotations

import socket
import zlib
from time import perf_counter

from workloads.models.generators_model import scheduler as gs
from workloads.models.generators_model.http import http_server as http_server
from workloads.models.generators_model.scheduler import Coroutine, Join, ReadWait, Sleep, Spawn
from workloads.models.shared.listeners import nonblocking_listener
from workloads.runtime.server_control import ServerControl
from workloads.runtime.window import Window
from workloads.specs.cpu_work import burn
from workloads.specs.echo_data import ECHO_HOST, message
from workloads.specs.ping_pong import exchanges

ECHO_VARIANTS: tuple[str, ...] = ("default",)
RECV_BYTES = 64 * 1024

_scheduler = gs.get_scheduler()


def leftovers() -> dict[str, int]:
    return _scheduler.scheduled()


# -- sleep_fanout ---------------------------------------------------------------------------------


def _sleep_and_return(index: int, delay: float) -> Coroutine[tuple[int, float]]:
    started = perf_counter()
    yield Sleep(delay)
    return index, perf_counter() - started


def _sleep_fanout(n: int, delay: float, window: Window) -> Coroutine[list[tuple[int, float]]]:
    with window:
        tasks = []
        for i in range(n):
            tasks.append((yield Spawn(_sleep_and_return(i, delay))))
        results: list[tuple[int, float]] = yield Join(tasks)
    return results


def sleep_fanout(variant: str, n: int, delay: float, window: Window) -> list[tuple[int, float]]:
    return _scheduler.run(_sleep_fanout(n, delay, window))


# -- tcp_echo_server ------------------------------------------------------------------------------------


def _echo(conn: socket.socket, handlers: dict[socket.socket, gs.Task[None]]) -> Coroutine[None]:
    fd = conn.fileno()
    receive = conn.recv
    try:
        while True:
            try:
                data = receive(RECV_BYTES)
            except BlockingIOError:
                yield ReadWait(fd)
                continue
            if not data:
                break
            try:
                sent = conn.send(data)
            except BlockingIOError:
                sent = 0
            if sent < len(data):
                yield from gs.sendall(conn, data, sent)
    except OSError:  # reset, broken pipe, or the server closing the socket (Closed)
        pass
    finally:
        handlers.pop(conn, None)
        gs.close(conn)


def _accept_loop(listener: socket.socket, handlers: dict[socket.socket, gs.Task[None]]) -> Coroutine[None]:
    try:
        while True:
            conn = yield from gs.accept(listener)
            handlers[conn] = yield Spawn(_echo(conn, handlers))
    except OSError:  # the listener was closed (Closed) on shutdown
        pass


def _serve_echo(control: ServerControl) -> Coroutine[None]:
    listener = nonblocking_listener()
    handlers: dict[socket.socket, gs.Task[None]] = {}
    acceptor = yield Spawn(_accept_loop(listener, handlers))
    try:
        control.listening(listener.getsockname()[1])
        yield ReadWait(control.stop_fd)
    finally:  # no yield in here: close everything, then wait for the tasks below
        _scheduler.forget(control.stop_fd)
        gs.close(listener)
        tasks = [acceptor, *handlers.values()]
        for conn in list(handlers):
            gs.close(conn)
    yield Join(tasks)


def tcp_echo_server(variant: str, control: ServerControl) -> None:
    if variant not in ECHO_VARIANTS:
        raise ValueError(f"unknown echo variant {variant!r}; this model offers {ECHO_VARIANTS}")
    _scheduler.run(_serve_echo(control))


# -- tcp_client ---------------------------------------------------------------------------------------------


def _client_connection(port: int, index: int, message_size: int, round_trips: int) -> Coroutine[int]:
    payload = message(index, message_size)
    crc = 0
    conn = yield from gs.create_connection(ECHO_HOST, port)
    try:
        fd = conn.fileno()
        receive = conn.recv
        for _ in range(round_trips):
            try:
                sent = conn.send(payload)
            except BlockingIOError:
                sent = 0
            if sent < message_size:
                yield from gs.sendall(conn, payload, sent)
            remaining = message_size
            while remaining:
                yield ReadWait(fd)
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
        gs.close(conn)
    return crc


def _tcp_client(
    port: int, connections: int, message_size: int, round_trips: int, window: Window
) -> Coroutine[list[int]]:
    with window:
        tasks = []
        for i in range(connections):
            tasks.append((yield Spawn(_client_connection(port, i, message_size, round_trips))))
        crcs: list[int] = yield Join(tasks)
    return crcs


def tcp_client(
    variant: str, port: int, connections: int, message_size: int, round_trips: int, window: Window
) -> list[int]:
    return _scheduler.run(_tcp_client(port, connections, message_size, round_trips, window))


# -- timeout_cancel -------------------------------------------------------------------------------------------


def _race_deadline(index: int, delay: float, deadline: float, completed: list[int]) -> Coroutine[None]:
    with gs.Timeout(deadline, silent=True):
        yield Sleep(delay)
        completed.append(index)


def _timeout_cancel(delays: list[float], deadline: float, completed: list[int], window: Window) -> Coroutine[None]:
    with window:
        tasks = []
        for i, delay in enumerate(delays):
            tasks.append((yield Spawn(_race_deadline(i, delay, deadline, completed))))
        yield Join(tasks)


def timeout_cancel(variant: str, delays: list[float], deadline: float, completed: list[int], window: Window) -> None:
    _scheduler.run(_timeout_cancel(delays, deadline, completed, window))


# -- cpu_mixed -------------------------------------------------------------------------------------------------


def _io_then_cpu(index: int, delay: float, work: int) -> Coroutine[int]:
    yield Sleep(delay)
    return burn(work, index)


def _cpu_mixed(n: int, delay: float, work: int, window: Window) -> Coroutine[list[int]]:
    with window:
        tasks = []
        for i in range(n):
            tasks.append((yield Spawn(_io_then_cpu(i, delay, work))))
        results: list[int] = yield Join(tasks)
    return results


def cpu_mixed(variant: str, n: int, delay: float, work: int, window: Window) -> list[int]:
    return _scheduler.run(_cpu_mixed(n, delay, work, window))


# -- ping_pong ---------------------------------------------------------------------------------------------------


def _pong(received: list[int]) -> Coroutine[None]:
    """Receive a token at each ``yield``, record it, and yield one more back."""
    record = received.append
    token = yield None  # primed: now waiting for the first token
    while True:
        record(token)
        token = yield token + 1


def ping_pong(variant: str, handoffs: int, window: Window) -> tuple[list[int], list[int]]:
    ping_tokens: list[int] = []
    pong_tokens: list[int] = []
    record = ping_tokens.append
    with window:
        pong = _pong(pong_tokens)
        send = pong.send
        send(None)
        token = 1
        for _ in range(exchanges(handoffs)):
            token = send(token)  # to pong and, at its next yield, back
            record(token)
            token += 1
    pong.close()
    return ping_tokens, pong_tokens
