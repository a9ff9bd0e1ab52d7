"""gevent on its default libev hub, with the standard library monkey-patched.

The worker runs ``gevent.monkey.patch_all()`` before anything else; this module
checks at import (``gevent.monkey.is_module_patched`` for time, socket, select
and threading, and ``time.sleep is gevent.sleep``) and raises RuntimeError if
the patching did not happen. Task code therefore uses the *plain* standard
library, which is the point of this model: ``time.sleep`` and ``socket.socket``
are gevent's cooperative versions.

Variants (every workload): ``defaults``, gevent as installed, and ``tuned``, with
the one setting gevent documents as a speed-up: ``track_greenlet_tree`` off
(gevent/_config.py: "Setting this to a false value will make spawning Greenlet
objects and using spawn_raw faster"; on by default, every spawn records its
spawning greenlet, its tree locals and a stack extract). The harness starts a
``tuned`` cell's worker with ``GEVENT_TRACK_GREENLET_TREE=0``, the documented
environment variable (gevent reads ``gevent.config`` from the environment on
first use). At import this module spawns one probe greenlet and reads whether it
recorded its spawner; every call checks that this matches its variant and raises
RuntimeError otherwise, so a ``tuned`` cell can never silently measure the
defaults (or the reverse). ``setup_metrics`` reports the setting with every round
as ``config_gevent_track_greenlet_tree``, which the harness saves with the cell.

APIs and why:

- sleep_fanout: ``gevent.spawn`` per task, then ``Greenlet.get()`` on each
  greenlet in spawn order (this is what ``gevent.pool.Group.map`` does inside,
  without the extra greenlet ``map`` spawns to run it): faster than
  ``Group().map``, ``joinall``, ``Group.join``, ``Pool.map`` and ``iwait``. The
  default libev-cext loop was also the fastest loop (against libev-cffi and
  libuv-cffi), so the hub is left as is. Figures in MEASUREMENTS.md.
- tcp_echo_server: ``gevent.server.StreamServer`` with ``spawn=gevent.pool.Pool()``
  (unbounded; gevent documents Pool for this parameter, a Group fails in
  ``BaseServer.set_spawn``). StreamServer is the server gevent experts use: it
  accepts directly in the hub's io callback (up to ``max_accept`` connections
  per readiness event, no greenlet parked in ``accept``), backs off on accept
  errors such as EMFILE instead of dying, and closes each client socket when its
  handler returns; the pool lets ``StreamServer.stop`` kill every live handler.
  Against a hand-written patched ``listener.accept()`` loop it measured the same
  (figures in MEASUREMENTS.md), so the library's own server wins on robustness
  and idiom. Handlers ``recv`` + ``sendall``: ``recv_into`` a per-connection
  buffer was no faster and costs the buffer per connection.
  Shutdown waits on ``control.stop_fd`` with ``gevent.socket.wait_read``, the
  hub's own readiness primitive.
- tcp_client: one greenlet per connection on a plain (patched) ``socket.socket``
  with ``connect`` on the numeric address (``socket.create_connection`` would
  send every connection through getaddrinfo, which gevent runs in its resolver
  thread pool), ``recv_into`` a reused buffer, gathered like sleep_fanout.
- timeout_cancel: each task runs its sleep and completion code inside
  ``with gevent.Timeout(deadline, False, priority=0)`` (``False``: the expiry
  unwinds the block and the ``with`` swallows it), gathered like sleep_fanout.
  ``priority=0`` is deliberate. A Timeout's libev timer defaults to priority
  -1, below the sleep timer's 0, so when the hub comes back late and finds both
  the deadline and the sleep expired, it wakes the sleeper first and a late
  task runs its completion code. Blocking the hub for 0.3 s over a 0.1 s
  deadline and a 0.2 s sleep showed it every time with the default priority
  (and with ``gevent.with_timeout``), never with 0, and under heavy load the
  default let late tasks complete at N=10000 too. At equal priority libev fires
  expired timers in expiry order, as asyncio and eventlet do. ``with Timeout``
  costs the same at priority -1 or 0 and as ``Timeout.start_new`` + try/finally
  ``close``, and is faster than ``gevent.with_timeout`` (which takes no
  priority) and than a ``spawn_later(deadline, greenlet.kill)`` per task (a
  second greenlet per task). One shared deadline
  (``gevent.joinall(timeout=deadline)``, then ``killall`` of the late ones) was
  faster still, but it counts the deadline from the batch's spawn, not from each
  task's start: it is not a per-task timeout, and under load it cancelled most
  of the early tasks. Figures in MEASUREMENTS.md.
- cpu_mixed: ``gevent.spawn`` + ``get()`` as in sleep_fanout; each task sleeps
  with the patched ``time.sleep``, then runs ``cpu_work.burn``, holding the hub
  while it computes (that is what the workload shows).
- ping_pong: two greenlets (``gevent.spawn``, inside the window, joined with
  ``get()``) hand the token over a pair of unbounded ``gevent.queue.Queue``:
  ``put`` appends and, when the other side waits in ``get``, schedules the
  queue's unlock callback, which the hub runs to switch to the getter. So each
  hand-off is one trip through the hub, which is what gevent code pays whenever
  one greenlet wakes another (``Event``, ``AsyncResult``, locks work the same
  way). The side code is shared with threads and eventlet
  (``shared/queue_ping_pong.py``). ``gevent.queue.SimpleQueue`` (no
  ``task_done`` counting) and ``gevent.queue.Channel`` (a rendezvous, like
  trio's zero-capacity channel) measured within the noise of it (figures in
  MEASUREMENTS.md).
- http_server (``workloads.models.http_gevent``): ``gevent.pywsgi.WSGIServer`` with a plain WSGI
  app (``log=None``), or the same parser (httptools) in a ``StreamServer`` handler, as the echo server.
"""

from __future__ import annotations

import gc
import os
import socket
import time

import gevent
import gevent.pool
import gevent.queue
import gevent.server
import gevent.socket
import greenlet
from gevent import monkey

from workloads.models.http_gevent import http_server as http_server
from workloads.models.shared import queue_ping_pong
from workloads.models.shared.blocking_client import echo_round_trips
from workloads.runtime.server_control import ServerControl
from workloads.runtime.window import Window
from workloads.specs.cpu_work import burn
from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG
from workloads.specs.ping_pong import exchanges

_PATCHED_MODULES = ("time", "socket", "select", "threading")
_RECV_BYTES = 64 * 1024
"""Most bytes the echo handler asks of one recv. Not 256 KiB: recv() allocates its full size first,
which cost ~15 us a call in glibc (against 2.4 us) until the process's mmap threshold happened to rise."""


def _require_monkey_patching() -> None:
    missing = [name for name in _PATCHED_MODULES if not monkey.is_module_patched(name)]
    if missing or time.sleep is not gevent.sleep or socket.socket is not gevent.socket.socket:
        raise RuntimeError(
            "model_gevent needs a process where gevent.monkey.patch_all() ran before anything else "
            f"(not patched: {', '.join(missing) or 'time.sleep / socket.socket'}); "
            "run it through `python -m workloads.runtime.worker gevent ...`"
        )


_require_monkey_patching()
gevent.get_hub()  # create the hub and its loop now, never inside a timed window

CONFIG_VARIANTS = ("defaults", "tuned")


def _probe_tracks_greenlet_tree() -> bool:
    """Whether a greenlet spawned now records its spawning tree (what the setting did, not what it says)."""
    probe = gevent.spawn(int)
    probe.join()
    tracks = probe.spawning_greenlet is not None
    if tracks != bool(gevent.config.track_greenlet_tree):
        raise RuntimeError(
            f"gevent.config.track_greenlet_tree is {gevent.config.track_greenlet_tree} "
            f"but a spawned greenlet {'did' if tracks else 'did not'} record its spawner"
        )
    return tracks


TRACKS_GREENLET_TREE = _probe_tracks_greenlet_tree()


def _require_config(variant: str) -> None:
    """Fail loudly unless this worker runs the configuration ``variant`` names."""
    if variant not in CONFIG_VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; gevent offers {CONFIG_VARIANTS}")
    wanted = variant == "defaults"
    if wanted != TRACKS_GREENLET_TREE:
        raise RuntimeError(
            f"the {variant} variant needs track_greenlet_tree={wanted}, but this worker runs with "
            f"{TRACKS_GREENLET_TREE} (GEVENT_TRACK_GREENLET_TREE={os.environ.get('GEVENT_TRACK_GREENLET_TREE')!r})"
        )


def leftovers() -> dict[str, int]:
    """Active referenced watchers of the hub's loop (timers, io) and greenlets alive besides main and the hub."""
    the_hub = gevent.get_hub()
    gc.collect()
    greenlets = sum(
        1
        for obj in gc.get_objects()
        if isinstance(obj, greenlet.greenlet) and not obj.dead and obj.parent is not None and obj is not the_hub
    )
    return {"active_watchers": the_hub.loop.activecnt, "greenlets": greenlets}


def setup_metrics() -> dict[str, float]:
    """The gevent configuration this worker measured, saved with every cell (``config_`` keys)."""
    return {"config_gevent_track_greenlet_tree": TRACKS_GREENLET_TREE}


def _sleep_and_return(index: int, delay: float) -> tuple[int, float]:
    started = time.perf_counter()
    time.sleep(delay)
    return index, time.perf_counter() - started


def sleep_fanout(variant: str, n: int, delay: float, window: Window) -> list[tuple[int, float]]:
    _require_config(variant)
    with window:
        greenlets = [gevent.spawn(_sleep_and_return, i, delay) for i in range(n)]
        results: list[tuple[int, float]] = [greenlet.get() for greenlet in greenlets]
    return results


def _echo(conn: socket.socket, _address: object) -> None:
    """Echo until the peer closes; StreamServer closes ``conn`` when this returns."""
    recv, sendall = conn.recv, conn.sendall
    try:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := recv(_RECV_BYTES):
            sendall(data)
    except OSError:  # reset or broken pipe: this client is gone, the server carries on
        pass


def tcp_echo_server(variant: str, control: ServerControl) -> None:
    _require_config(variant)
    server = gevent.server.StreamServer((ECHO_HOST, 0), _echo, backlog=LISTEN_BACKLOG, spawn=gevent.pool.Pool())
    server.start()
    try:
        control.listening(server.server_port)
        gevent.socket.wait_read(control.stop_fd)
    finally:
        server.stop(timeout=0)  # close the listener, kill every handler; each handler's socket is closed


def tcp_client(
    variant: str, port: int, connections: int, message_size: int, round_trips: int, window: Window
) -> list[int]:
    _require_config(variant)
    with window:
        greenlets = [gevent.spawn(echo_round_trips, i, port, message_size, round_trips) for i in range(connections)]
        try:
            crcs: list[int] = [greenlet.get() for greenlet in greenlets]
        except BaseException:
            gevent.killall(greenlets)  # one connection failed: leave no client running into the next round
            raise
    return crcs


def _race_deadline(index: int, delay: float, deadline: float, completed: list[int]) -> None:
    with gevent.Timeout(deadline, False, priority=0):  # as the sleep's timer: expired ones fire in expiry order
        time.sleep(delay)
        completed.append(index)


def timeout_cancel(variant: str, delays: list[float], deadline: float, completed: list[int], window: Window) -> None:
    _require_config(variant)
    with window:
        greenlets = [gevent.spawn(_race_deadline, i, delay, deadline, completed) for i, delay in enumerate(delays)]
        for greenlet in greenlets:
            greenlet.get()


def _io_then_cpu(index: int, delay: float, work: int) -> int:
    time.sleep(delay)
    return burn(work, index)


def cpu_mixed(variant: str, n: int, delay: float, work: int, window: Window) -> list[int]:
    _require_config(variant)
    with window:
        greenlets = [gevent.spawn(_io_then_cpu, i, delay, work) for i in range(n)]
        results: list[int] = [greenlet.get() for greenlet in greenlets]
    return results


def ping_pong(variant: str, handoffs: int, window: Window) -> tuple[list[int], list[int]]:
    to_pong: gevent.queue.Queue[int] = gevent.queue.Queue()
    to_ping: gevent.queue.Queue[int] = gevent.queue.Queue()
    ping_tokens: list[int] = []
    pong_tokens: list[int] = []
    sides = exchanges(handoffs), to_pong, to_ping
    with window:
        greenlets = [
            gevent.spawn(queue_ping_pong.pong, *sides, pong_tokens),
            gevent.spawn(queue_ping_pong.ping, *sides, ping_tokens),
        ]
        try:
            for greenlet in greenlets:
                greenlet.get()
        except BaseException:
            gevent.killall(greenlets)  # one side failed: the other would wait for ever
            raise
    return ping_tokens, pong_tokens
