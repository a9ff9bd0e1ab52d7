"""One asyncio event loop per core, each in a thread of one process, the tasks split across them.

The multi-core question without processes: on a GIL build the loops take turns on one GIL (CPU
work serialises, and the GIL's hand-offs add latency); on a free-threaded build (3.13t, 3.14t)
they can run in parallel, which is what this model measures there (untested here: no
free-threaded build was available; the code uses only APIs documented as thread-safe).

APIs and why:

- ``given_cores()`` loops (the cores the harness gives this worker, as the hybrid sizes its pool), each started once in
  ``prepare()`` outside every window: a thread that creates its loop with
  ``asyncio.new_event_loop()`` and runs ``loop.run_forever()``; the start-up of all of them is
  recorded as ``pool_startup_s``. Long-lived loops, as a server keeps them, not one loop per round.
- Work is handed to a loop with ``asyncio.run_coroutine_threadsafe`` (the documented way to
  submit a coroutine to a loop in another thread); the window encloses submitting one contiguous
  slice of the tasks per loop and collecting every slice's ``concurrent.futures.Future``.
- The slices are the single-loop asyncio forms (``workloads.models.shared.asyncio_slices``):
  ``TaskGroup`` + ``asyncio.sleep``, ``asyncio.timeout`` per task. In timeout_cancel every loop
  appends to the one ``completed`` list (``list.append`` is atomic on GIL builds and locks the
  list on free-threaded ones).
- The loop threads are daemon threads (Python joins non-daemon threads before running ``atexit``,
  so they would keep the worker alive); at exit each loop is stopped with
  ``call_soon_threadsafe(loop.stop)`` and its thread joined.
- ping_pong: ping on the first loop, pong on the second; each hands the token to the other loop's
  ``asyncio.Queue`` with ``loop.call_soon_threadsafe`` (the documented way into another thread's
  loop): what a hand-off between loops in two threads costs (a self-pipe wake-up and, on a GIL
  build, a GIL hand-over).
- Echo server: every loop thread serves the port with a listener of its own, ``SO_REUSEPORT``
  (``loop.create_server(..., reuse_port=True)``), and the same ``asyncio.Protocol`` echo with
  ``pause_writing``/``resume_writing`` back-pressure as ``multiprocess_asyncio``'s processes: the code
  is ``workloads.models.shared.multiloop_server``, each loop's coroutine handed over with
  ``run_coroutine_threadsafe``. Why SO_REUSEPORT and not one listening socket shared through
  ``create_server(sock=...)``, which threads could share: every loop's selector would watch that one
  socket, each new connection would wake all of them, and asyncio's ``_accept_connection`` accepts
  up to ``backlog`` connections per wake-up, so the loop that wins the GIL first takes a whole burst
  of connections (the load generator opens its C at once) and the others serve none. The kernel's
  4-tuple hash avoids both; its cost is an uneven split at small C, which every cell records
  (``server_loop_connections``, each loop's accepted connections). On a GIL build the loops take
  turns on one GIL, so the server cannot do more than about one core of Python work however many
  loops it has: that is this model's finding there, and its ``parallel_loops`` (the cores its
  utilisation is counted against) is 1; on a free-threaded build with the GIL off it is the number of
  loops. Given one core it runs one loop (``server_loops``).
- Echo client: one contiguous slice of the connections per loop (``asyncio_slices.client_slice``:
  ``asyncio.open_connection`` streams, ``write`` then ``readexactly`` the echo, one task per
  connection, the asyncio model's client); the window encloses submitting the slices and collecting
  their crcs in connection order.
- HTTP server (``http_server``, variant ``httptools`` only: the same-parser tier): the echo server's
  shape, every loop thread serving the same-parser ``asyncio.Protocol``
  (``workloads.models.shared.asyncio_http.SameParserProtocol``) on its own ``SO_REUSEPORT`` listener.
"""

from __future__ import annotations

import asyncio
import atexit
import sys
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from workloads.models.shared import asyncio_slices, multiloop_server
from workloads.models.shared.asyncio_code import loop_leftovers
from workloads.runtime.cores import given_cores
from workloads.runtime.server_control import ServerControl
from workloads.runtime.window import Window
from workloads.specs.http_data import HttpApp
from workloads.specs.http_server import SAME_PARSER
from workloads.specs.ping_pong import exchanges

T = TypeVar("T")
LOOP_START_TIMEOUT_S = 30.0
LOOP_STOP_TIMEOUT_S = 10.0

_loops: list[asyncio.AbstractEventLoop] = []
_threads: list[threading.Thread] = []
pool_startup_s: float | None = None
"""Seconds it took to start every loop thread (not part of any timed window)."""
_server_facts: dict[str, object] = {}
"""The echo server's shape once one started (loops, listener), and each loop's connections once it stopped."""


def _run_loop(ready: threading.Event, loops: list[asyncio.AbstractEventLoop]) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loops.append(loop)
    loop.call_soon(ready.set)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _start_loops() -> list[asyncio.AbstractEventLoop]:
    """One running loop per core, started on first use; their start-up time is kept."""
    global pool_startup_s
    if not _loops:
        started = time.perf_counter()
        for index in range(given_cores()):
            ready = threading.Event()
            # Daemon: the interpreter joins non-daemon threads before it runs atexit, so these would keep it alive.
            thread = threading.Thread(target=_run_loop, args=(ready, _loops), name=f"asyncio-loop-{index}", daemon=True)
            thread.start()
            if not ready.wait(LOOP_START_TIMEOUT_S):
                raise RuntimeError(f"loop thread {index} did not start within {LOOP_START_TIMEOUT_S} s")
            _threads.append(thread)
        atexit.register(_stop_loops)
        pool_startup_s = time.perf_counter() - started
    return _loops


def _stop_loops() -> None:
    for loop in _loops:
        loop.call_soon_threadsafe(loop.stop)
    for thread in _threads:
        thread.join(LOOP_STOP_TIMEOUT_S)


def prepare() -> None:
    """Start the loops before the worker reads its idle memory: they are a fixed cost, not per task."""
    _start_loops()


def setup_metrics() -> dict[str, object]:
    return {} if pool_startup_s is None else {"pool_startup_s": pool_startup_s, **_server_facts}


def _gil_enabled() -> bool:
    """Whether the GIL is on (``sys._is_gil_enabled``, 3.13+); every older build has one."""
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    return bool(is_gil_enabled()) if is_gil_enabled is not None else True


async def _count_leftovers() -> dict[str, int]:
    loop = asyncio.get_running_loop()
    counts = loop_leftovers(loop)
    counts["tasks"] -= 1  # this probe itself
    return counts


def leftovers() -> dict[str, int]:
    """Unfinished tasks and live timers summed over every loop thread (read on each loop's own thread)."""
    total: dict[str, int] = {}
    for loop in _start_loops():
        for key, value in asyncio.run_coroutine_threadsafe(_count_leftovers(), loop).result().items():
            total[key] = total.get(key, 0) + value
    return total


def _submit(coroutines: list[Coroutine[Any, Any, T]]) -> list[Future[T]]:
    loops = _start_loops()
    return [asyncio.run_coroutine_threadsafe(c, loops[i % len(loops)]) for i, c in enumerate(coroutines)]


def sleep_fanout(variant: str, n: int, delay: float, window: Window) -> list[tuple[int, float]]:
    bounds = asyncio_slices.split(n, len(_start_loops()))
    with window:
        futures = _submit([asyncio_slices.sleep_fanout_slice(start, stop, delay) for start, stop in bounds])
        results = asyncio_slices.concatenate(futures)
    return results


def timeout_cancel(variant: str, delays: list[float], deadline: float, completed: list[int], window: Window) -> None:
    bounds = asyncio_slices.split(len(delays), len(_start_loops()))
    with window:
        futures = _submit(
            [
                asyncio_slices.timeout_cancel_slice(start, delays[start:stop], deadline, completed)
                for start, stop in bounds
            ]
        )
        for future in futures:
            future.result()


def cpu_mixed(variant: str, n: int, delay: float, work: int, window: Window) -> list[int]:
    bounds = asyncio_slices.split(n, len(_start_loops()))
    with window:
        futures = _submit([asyncio_slices.cpu_mixed_slice(start, stop, delay, work) for start, stop in bounds])
        results = asyncio_slices.concatenate(futures)
    return results


async def _hand_off(
    count: int,
    inbox: asyncio.Queue[int],
    other_loop: asyncio.AbstractEventLoop,
    other_inbox: asyncio.Queue[int],
    received: list[int],
    first: int | None,
) -> None:
    """One side: receive a token, record it, hand token + 1 to the other loop's queue (ping sends first)."""
    if first is not None:
        other_loop.call_soon_threadsafe(other_inbox.put_nowait, first)
    for _ in range(count):
        token = await inbox.get()
        received.append(token)
        if first is None or len(received) < count:
            other_loop.call_soon_threadsafe(other_inbox.put_nowait, token + 1)


async def _new_queue() -> asyncio.Queue[int]:
    return asyncio.Queue()


def ping_pong(variant: str, handoffs: int, window: Window) -> tuple[list[int], list[int]]:
    loops = _start_loops()
    ping_loop, pong_loop = loops[0], loops[1 % len(loops)]
    ping_inbox = asyncio.run_coroutine_threadsafe(_new_queue(), ping_loop).result()
    pong_inbox = asyncio.run_coroutine_threadsafe(_new_queue(), pong_loop).result()
    ping_tokens: list[int] = []
    pong_tokens: list[int] = []
    count = exchanges(handoffs)
    with window:
        pong = asyncio.run_coroutine_threadsafe(
            _hand_off(count, pong_inbox, ping_loop, ping_inbox, pong_tokens, None), pong_loop
        )
        ping = asyncio.run_coroutine_threadsafe(
            _hand_off(count, ping_inbox, pong_loop, pong_inbox, ping_tokens, 1), ping_loop
        )
        ping.result()
        pong.result()
    return ping_tokens, pong_tokens


NOT_WRITTEN = "not written yet for this model (registry: cannot)"


def tcp_echo_server(variant: str, control: ServerControl) -> None:
    if variant != "default":
        raise ValueError(f"unknown echo server variant {variant!r}; this model offers ('default',)")
    _serve_on_every_loop(control, None)


def _serve_on_every_loop(control: ServerControl, app: HttpApp | None) -> None:
    """Echo (or, given ``app``, the same-parser HTTP server) on every loop thread, one listener each."""
    loops = _start_loops()
    _server_facts.clear()
    _server_facts.update(multiloop_server.server_facts(len(loops), parallel=1 if _gil_enabled() else len(loops)))
    started: list[asyncio.AbstractEventLoop] = []

    def start(port: int, control_path: str) -> Future[int]:
        loop = loops[len(started)]
        started.append(loop)
        return asyncio.run_coroutine_threadsafe(multiloop_server.serve_one_loop(port, control_path, app), loop)

    _server_facts["server_loop_connections"] = multiloop_server.serve_on_loops(control, len(loops), start)


def tcp_client(
    variant: str, port: int, connections: int, message_size: int, round_trips: int, window: Window
) -> list[int]:
    bounds = asyncio_slices.split(connections, len(_start_loops()))
    with window:
        futures = _submit(
            [asyncio_slices.client_slice(port, start, stop, message_size, round_trips) for start, stop in bounds]
        )
        crcs = asyncio_slices.concatenate(futures)
    return crcs


def http_server(variant: str, control: ServerControl, app: HttpApp) -> None:
    if variant != SAME_PARSER:
        raise ValueError(f"unknown http_server variant {variant!r}; this model offers ('{SAME_PARSER}',)")
    _serve_on_every_loop(control, app)
