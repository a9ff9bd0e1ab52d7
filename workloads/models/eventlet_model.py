"""eventlet on its default epolls hub, with the standard library monkey-patched.

The worker runs ``eventlet.monkey_patch()`` before anything else; this module
checks at import (``eventlet.patcher.is_monkey_patched`` for time, socket,
select and thread, and ``time.sleep is eventlet.sleep``) and raises
RuntimeError if the patching did not happen. Task code therefore uses the
*plain* standard library, which is the point of this model: ``time.sleep`` and
``socket.socket`` are eventlet's green versions. (eventlet 0.41 prints an
``EventletDeprecationWarning`` on import: upstream keeps it in bug-fix mode.)

APIs and why:

- sleep_fanout: ``eventlet.spawn`` per task, then ``GreenThread.wait()`` on
  each in spawn order: faster than every ``GreenPool`` form (``spawn`` +
  ``wait()`` or ``waitall``, ``imap``, ``starmap``) and ``GreenPile`` (a pool
  adds a semaphore and a link per task, and its default size of 1000 would
  throttle N=10000). ``GreenPool.spawn_n`` with tasks appending to a shared
  list was faster, but ``spawn_n`` cannot return a task's result, so it is not
  the gather idiom the workload asks for. Figures in MEASUREMENTS.md.
- tcp_echo_server: ``eventlet.listen`` and an accept loop in one greenthread
  that starts each handler with ``eventlet.spawn_n`` (eventlet's own echo
  example; spawn_n is the cheap spawn when no result is needed). Not
  ``eventlet.serve``: it can only be stopped by raising into it, keeps its
  handlers in a private pool capped at 1000 (it stops accepting beyond that),
  and an exception in one handler ends the whole server. Handlers are tracked
  in a dict so shutdown can kill them all and close every socket. Handlers
  ``recv`` + ``sendall``: ``recv_into`` a per-connection buffer was no cheaper
  and at 1000 connections it cost more for the buffers it keeps (figures in
  MEASUREMENTS.md). Shutdown
  waits on ``control.stop_fd`` with ``eventlet.hubs.trampoline(fd, read=True)``,
  the hub's own readiness primitive.
- tcp_client: one greenthread per connection on a plain (patched)
  ``socket.socket`` connected to the numeric address, ``recv_into`` a reused
  buffer, gathered like sleep_fanout. The message is sent as a memoryview:
  eventlet's ``sendall`` slices what is left after a partial send, and a slice
  of bytes is a copy where a slice of a memoryview is not.
- timeout_cancel: each task runs its sleep and completion code inside
  ``with eventlet.Timeout(deadline, False)`` (``False``: the expiry unwinds the
  block and the ``with`` swallows it), gathered like sleep_fanout. The hub fires
  expired timers in expiry order, so a deadline that expired before the sleep
  wins even when the hub comes back late (checked by blocking the hub for 0.3 s
  over a 0.1 s deadline and a 0.2 s sleep). ``with Timeout`` costs the same as
  ``Timeout`` + try/finally ``cancel`` and less than
  ``eventlet.timeout.with_timeout``. One shared deadline around the gather, then
  ``kill`` of the late ones, was faster, but it counts the deadline from the
  batch's spawn, not from each task's start, so it is not a per-task timeout
  (with gevent, under load, the same scheme cancelled most early tasks of a
  10000-task burst). Figures in MEASUREMENTS.md.
- cpu_mixed: ``eventlet.spawn`` + ``wait()`` as in sleep_fanout; each task
  sleeps with the patched ``time.sleep``, then runs ``cpu_work.burn``, holding
  the hub while it computes (that is what the workload shows).
- ping_pong: two greenthreads (``eventlet.spawn``, inside the window, joined
  with ``wait()``) hand the token over a pair of unbounded
  ``eventlet.queue.Queue``: ``put`` appends and, when the other side waits in
  ``get``, schedules the queue's unlock on the hub (a zero-delay timer), which
  switches to the getter. So each hand-off is one trip through the hub, what
  eventlet code pays whenever one greenthread wakes another. The side code is
  shared with threads and gevent (``shared/queue_ping_pong.py``).
  ``LightQueue`` differs only by not counting ``task_done``; ``Event`` is
  one-shot (it must be replaced for every hand-off).
- http_server (``workloads.models.http_eventlet``): ``eventlet.wsgi.server`` with a plain WSGI app
  (``log_output=False``, ``debug=False``), or the same parser (httptools) over the echo server's accept loop.
"""

from __future__ import annotations

import gc
import socket
import time
from typing import Any

import eventlet  # no type stubs: eventlet's names are Any to mypy
import eventlet.greenthread
import eventlet.hubs
import eventlet.patcher
import eventlet.queue
import greenlet

from workloads.models.http_eventlet import http_server as http_server
from workloads.models.shared import queue_ping_pong
from workloads.models.shared.blocking_client import echo_round_trips
from workloads.runtime.server_control import ServerControl
from workloads.runtime.window import Window
from workloads.specs.cpu_work import burn
from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG
from workloads.specs.ping_pong import exchanges

_PATCHED_MODULES = ("time", "socket", "select", "thread")
_RECV_BYTES = 64 * 1024
"""Most bytes the echo handler asks of one recv. Not 256 KiB: recv() allocates its full size first,
which cost ~15 us a call in glibc (against 2.4 us) until the process's mmap threshold happened to rise."""


def _require_monkey_patching() -> None:
    missing = [name for name in _PATCHED_MODULES if not eventlet.patcher.is_monkey_patched(name)]
    if missing or time.sleep is not eventlet.sleep:
        raise RuntimeError(
            "model_eventlet needs a process where eventlet.monkey_patch() ran before anything else "
            f"(not patched: {', '.join(missing) or 'time.sleep'}); "
            "run it through `python -m workloads.runtime.worker eventlet ...`"
        )


_require_monkey_patching()
eventlet.hubs.get_hub()  # create the hub now, never inside a timed window


def leftovers() -> dict[str, int]:
    """Live (not yet fired or cancelled) timers of the hub and greenthreads alive besides main and the hub."""
    hub = eventlet.hubs.get_hub()
    gc.collect()
    greenthreads = sum(
        1
        for obj in gc.get_objects()
        if isinstance(obj, greenlet.greenlet) and not obj.dead and obj.parent is not None and obj is not hub.greenlet
    )
    timers = sum(1 for _when, timer in [*hub.timers, *hub.next_timers] if not timer.called)
    return {"timers": timers, "greenthreads": greenthreads}


def _sleep_and_return(index: int, delay: float) -> tuple[int, float]:
    started = time.perf_counter()
    time.sleep(delay)
    return index, time.perf_counter() - started


def sleep_fanout(variant: str, n: int, delay: float, window: Window) -> list[tuple[int, float]]:
    with window:
        threads = [eventlet.spawn(_sleep_and_return, i, delay) for i in range(n)]
        results: list[tuple[int, float]] = [thread.wait() for thread in threads]
    return results


ECHO_VARIANTS: tuple[str, ...] = ("default",)


def _echo(conn: socket.socket, handlers: dict[socket.socket, Any]) -> None:
    recv, sendall = conn.recv, conn.sendall
    try:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := recv(_RECV_BYTES):
            sendall(data)
    except OSError:  # reset or broken pipe: this client is gone, the server carries on
        pass
    finally:
        handlers.pop(conn, None)
        conn.close()


def _accept_loop(listener: socket.socket, handlers: dict[socket.socket, Any]) -> None:
    while True:
        try:
            conn, _address = listener.accept()
        except ConnectionAbortedError:  # the client gave up before it was accepted
            continue
        handlers[conn] = eventlet.spawn_n(_echo, conn, handlers)


def tcp_echo_server(variant: str, control: ServerControl) -> None:
    if variant not in ECHO_VARIANTS:
        raise ValueError(f"unknown echo variant {variant!r}; eventlet offers {ECHO_VARIANTS}")
    listener = eventlet.listen((ECHO_HOST, 0), backlog=LISTEN_BACKLOG)
    handlers: dict[socket.socket, Any] = {}
    acceptor = eventlet.spawn(_accept_loop, listener, handlers)
    try:
        control.listening(listener.getsockname()[1])
        eventlet.hubs.trampoline(control.stop_fd, read=True)
    finally:
        acceptor.kill()
        listener.close()
        for conn, handler in list(handlers.items()):
            eventlet.greenthread.kill(handler)  # its finally closes conn, if it ever started
            conn.close()


def tcp_client(
    variant: str, port: int, connections: int, message_size: int, round_trips: int, window: Window
) -> list[int]:
    with window:
        threads = [eventlet.spawn(echo_round_trips, i, port, message_size, round_trips) for i in range(connections)]
        try:
            crcs: list[int] = [thread.wait() for thread in threads]
        except BaseException:
            for thread in threads:  # one connection failed: leave no client running into the next round
                thread.kill()
            raise
    return crcs


def _race_deadline(index: int, delay: float, deadline: float, completed: list[int]) -> None:
    with eventlet.Timeout(deadline, False):
        time.sleep(delay)
        completed.append(index)


def timeout_cancel(variant: str, delays: list[float], deadline: float, completed: list[int], window: Window) -> None:
    with window:
        threads = [eventlet.spawn(_race_deadline, i, delay, deadline, completed) for i, delay in enumerate(delays)]
        for thread in threads:
            thread.wait()


def _io_then_cpu(index: int, delay: float, work: int) -> int:
    time.sleep(delay)
    return burn(work, index)


def cpu_mixed(variant: str, n: int, delay: float, work: int, window: Window) -> list[int]:
    with window:
        threads = [eventlet.spawn(_io_then_cpu, i, delay, work) for i in range(n)]
        results: list[int] = [thread.wait() for thread in threads]
    return results


def ping_pong(variant: str, handoffs: int, window: Window) -> tuple[list[int], list[int]]:
    to_pong = eventlet.queue.Queue()
    to_ping = eventlet.queue.Queue()
    ping_tokens: list[int] = []
    pong_tokens: list[int] = []
    sides = exchanges(handoffs), to_pong, to_ping
    with window:
        threads = [
            eventlet.spawn(queue_ping_pong.pong, *sides, pong_tokens),
            eventlet.spawn(queue_ping_pong.ping, *sides, ping_tokens),
        ]
        try:
            for thread in threads:
                thread.wait()
        except BaseException:
            for thread in threads:  # one side failed: the other would wait for ever
                thread.kill()
            raise
    return ping_tokens, pong_tokens
