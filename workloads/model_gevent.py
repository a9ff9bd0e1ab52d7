"""gevent on its default libev hub, with the standard library monkey-patched.

The worker runs ``gevent.monkey.patch_all()`` before anything else; this module
checks at import (``gevent.monkey.is_module_patched`` for time, socket, select
and threading, and ``time.sleep is gevent.sleep``) and raises RuntimeError if
the patching did not happen. Task code therefore uses the *plain* standard
library, which is the point of this model: ``time.sleep`` and ``socket.socket``
are gevent's cooperative versions.

APIs and why:

- sleep_fanout: ``gevent.spawn`` per task, then ``Greenlet.get()`` on each
  greenlet in spawn order (this is what ``gevent.pool.Group.map`` does inside,
  without the extra greenlet ``map`` spawns to run it). Measured at
  N=10000 x 10 ms (medians of 9 interleaved runs): spawn + ``get()`` each
  ~210-230 ms, ``Group().map`` ~240 ms, ``gevent.joinall(raise_error=True)``
  ~240-250 ms, ``Group.spawn`` + ``Group.join`` ~260 ms, ``Pool(n).map`` ~255 ms,
  ``gevent.iwait`` ~270 ms. The default libev-cext loop was also the fastest
  loop (libev-cffi ~290 ms, libuv-cffi ~390 ms), so the hub is left as is.
- tcp_echo_server: ``gevent.server.StreamServer`` with ``spawn=gevent.pool.Pool()``
  (unbounded; gevent documents Pool for this parameter, a Group fails in
  ``BaseServer.set_spawn``). StreamServer is the server gevent experts use: it
  accepts directly in the hub's io callback (up to ``max_accept`` connections
  per readiness event, no greenlet parked in ``accept``), backs off on accept
  errors such as EMFILE instead of dying, and closes each client socket when its
  handler returns; the pool lets ``StreamServer.stop`` kill every live handler.
  Against a hand-written patched ``listener.accept()`` loop it measured the same
  (server CPU ~16-23 us per 1 KiB-16 KiB echo at 10-1000 connections, ~80-90 us
  per connect+echo+close in a 1000-2000 connection burst; differences were
  inside the 10 ms CPU-tick noise), so the library's own server wins on
  robustness and idiom. Handlers ``recv`` + ``sendall``: ``recv_into`` a
  per-connection buffer was no faster and costs the buffer per connection.
  Shutdown waits on ``control.stop_fd`` with ``gevent.socket.wait_read``, the
  hub's own readiness primitive.
- tcp_client: one greenlet per connection on a plain (patched) ``socket.socket``
  with ``connect`` on the numeric address (``socket.create_connection`` would
  send every connection through getaddrinfo, which gevent runs in its resolver
  thread pool), ``recv_into`` a reused buffer, gathered like sleep_fanout.
"""

from __future__ import annotations

import socket
import time
import zlib

import gevent
import gevent.pool
import gevent.server
import gevent.socket
from gevent import monkey

from workloads.echo_support import ECHO_HOST, LISTEN_BACKLOG, ServerControl, message
from workloads.window import Window

_PATCHED_MODULES = ("time", "socket", "select", "threading")
_RECV_BYTES = 256 * 1024
"""Most bytes the echo handler asks of one recv (the result is sized to what arrived)."""
_CLIENT_BUFFER_BYTES = 64 * 1024
"""The client's reused receive buffer, per connection (1000 connections: 64 MiB at most)."""


def _require_monkey_patching() -> None:
    missing = [name for name in _PATCHED_MODULES if not monkey.is_module_patched(name)]
    if missing or time.sleep is not gevent.sleep or socket.socket is not gevent.socket.socket:
        raise RuntimeError(
            "model_gevent needs a process where gevent.monkey.patch_all() ran before anything else "
            f"(not patched: {', '.join(missing) or 'time.sleep / socket.socket'}); "
            "run it through `python -m workloads.worker gevent ...`"
        )


_require_monkey_patching()
gevent.get_hub()  # create the hub and its loop now, never inside a timed window


def _sleep_and_return(index: int, delay: float) -> int:
    time.sleep(delay)
    return index


def sleep_fanout(n: int, delay: float, window: Window) -> list[int]:
    with window:
        greenlets = [gevent.spawn(_sleep_and_return, i, delay) for i in range(n)]
        results: list[int] = [greenlet.get() for greenlet in greenlets]
    return results


ECHO_VARIANTS: tuple[str, ...] = ("default",)


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
    if variant not in ECHO_VARIANTS:
        raise ValueError(f"unknown echo variant {variant!r}; gevent offers {ECHO_VARIANTS}")
    server = gevent.server.StreamServer((ECHO_HOST, 0), _echo, backlog=LISTEN_BACKLOG, spawn=gevent.pool.Pool())
    server.start()
    try:
        control.listening(server.server_port)
        gevent.socket.wait_read(control.stop_fd)
    finally:
        server.stop(timeout=0)  # close the listener, kill every handler; each handler's socket is closed


def _client_connection(index: int, port: int, message_size: int, round_trips: int) -> int:
    payload = message(index, message_size)
    buffer = memoryview(bytearray(min(message_size, _CLIENT_BUFFER_BYTES)))
    crc = 0
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.connect((ECHO_HOST, port))
        for _ in range(round_trips):
            sock.sendall(payload)
            remaining = message_size
            while remaining:
                got = sock.recv_into(buffer, min(remaining, len(buffer)))
                if not got:
                    raise ConnectionError(f"connection {index}: server closed with {remaining} bytes unechoed")
                crc = zlib.crc32(buffer[:got], crc)
                remaining -= got
    return crc


def tcp_client(port: int, connections: int, message_size: int, round_trips: int, window: Window) -> list[int]:
    with window:
        greenlets = [gevent.spawn(_client_connection, i, port, message_size, round_trips) for i in range(connections)]
        try:
            crcs: list[int] = [greenlet.get() for greenlet in greenlets]
        except BaseException:
            gevent.killall(greenlets)  # one connection failed: leave no client running into the next round
            raise
    return crcs
