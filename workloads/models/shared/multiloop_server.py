"""One port served by several asyncio loops: the multi-core models' shared echo and HTTP server.

``multiprocess_asyncio`` runs one loop per process, ``asyncio_threads`` one per thread,
``interpreters_asyncio`` one per subinterpreter; the serving code and its start/stop protocol are the
same for all three, written once here. Echo: an ``asyncio.Protocol`` writing back in
``data_received``, reading paused while the transport's write buffer is above its high-water mark.
HTTP (``app`` given): the same-parser tier's ``asyncio.Protocol``
(``workloads.models.shared.asyncio_http.SameParserProtocol``: httptools), one server per loop;
imported only then, because httptools' C module refuses to load in a subinterpreter ("does not
support loading in subinterpreters", 0.9.0 on 3.13.0), where the echo server must still import this.

Listener: ``SO_REUSEPORT``, one listening socket per loop on the same port
(``loop.create_server(..., reuse_port=True)``). The other expert form, one listening socket shared
by every loop (``create_server(sock=...)``), does not spread connections over asyncio loops: every
loop's selector watches the one socket, so each new connection wakes all of them, and asyncio's
``_accept_connection`` (``asyncio/selector_events.py``) then accepts up to ``backlog`` connections in
one turn, so whichever loop wakes first takes a whole burst (the load generator opens its C
connections in one burst). With ``SO_REUSEPORT`` the kernel picks a listener per connection by
hashing its 4-tuple: no thundering herd, and an even split on average but not at small C (10
connections over 2 loops split 7/3 or worse about a third of the time). Each loop therefore counts
the connections it accepted and the parent returns those counts, so every cell can show the split it
ran with (``server_loop_connections``). A socket object cannot cross into a subinterpreter, and each
listener here is bound where it is used, so nothing is handed between loops but a port number and a
path.

Start and stop (the hybrid's protocol, unchanged): the parent binds one ``SO_REUSEPORT`` socket to
``(ECHO_HOST, 0)`` and keeps it bound but NOT listening until the end, which reserves the port (a
socket without ``SO_REUSEPORT`` cannot take it, and TCP hands SYNs only to listening sockets, so it
receives none). Each loop binds and listens on that port, then connects to the parent's UNIX control
socket; the parent calls ``control.listening`` once every loop did, waits for ``control.stop_fd``
with ``selectors`` while also watching the control connections (a loop that ends or dies is an
error, not a hang) and closes them: EOF is each loop's stop signal (and stops a child process whose
parent died). Each loop then closes its listener, aborts its connections and returns its count.
"""

from __future__ import annotations

import asyncio
import functools
import os
import selectors
import socket
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from typing import Any

from workloads.runtime.server_control import ServerControl
from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG
from workloads.specs.http_data import HttpApp

LISTENER = "SO_REUSEPORT"
"""What every multi-loop echo server here listens with (saved as ``listener``)."""
SERVER_START_TIMEOUT_S = 30.0
SERVER_STOP_TIMEOUT_S = 10.0
STOP_CLOSE_TIMEOUT_S = 5.0


# -- one loop's side ----------------------------------------------------------------


class _EchoProtocol(asyncio.Protocol):
    """Echo in ``data_received``; stop reading while the transport's write buffer is above its high-water mark."""

    def __init__(self, transports: set[asyncio.Transport], accepted: list[int]) -> None:
        self._transports = transports
        self._accepted = accepted
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._transports.add(transport)
        self._accepted[0] += 1

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        self._transport.write(data)

    def pause_writing(self) -> None:  # the peer reads slower than it sends: stop reading
        assert self._transport is not None
        self._transport.pause_reading()

    def resume_writing(self) -> None:
        assert self._transport is not None
        if not self._transport.is_closing():
            self._transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._transports.discard(self._transport)


async def serve_one_loop(port: int, control_path: str, app: HttpApp | None = None) -> int:
    """Serve echo (or, given ``app``, HTTP) on ``(ECHO_HOST, port)`` with SO_REUSEPORT until the control
    connection closes. Returns the number of connections this loop accepted.
    """
    loop = asyncio.get_running_loop()
    transports: set[asyncio.Transport] = set()
    accepted = [0]
    http_protocols: set[Any] = set()
    protocol_factory: Callable[[], asyncio.BaseProtocol] = functools.partial(_EchoProtocol, transports, accepted)
    if app is not None:
        from workloads.models.shared.asyncio_http import SameParserProtocol

        def count_and_parse() -> asyncio.BaseProtocol:
            accepted[0] += 1
            return SameParserProtocol(app, http_protocols)

        protocol_factory = count_and_parse

    server = await loop.create_server(protocol_factory, ECHO_HOST, port, reuse_port=True, backlog=LISTEN_BACKLOG)
    try:
        reader, writer = await asyncio.open_unix_connection(control_path)
        try:
            await reader.read()  # returns at EOF: the parent's stop signal
        finally:
            writer.close()
    finally:
        server.close()
        for transport in list(transports):
            transport.abort()
        for protocol in list(http_protocols):
            protocol.close()  # cancels its responder, closes its transport
        await asyncio.sleep(0)  # let the closed transports run connection_lost and close their sockets
        await asyncio.wait_for(server.wait_closed(), STOP_CLOSE_TIMEOUT_S)
    return accepted[0]


def serve_echo(port: int, control_path: str) -> int:
    """``serve_one_loop`` on a fresh loop of its own (a pool process or a subinterpreter); its accepted count."""
    return asyncio.run(serve_one_loop(port, control_path))


def serve_http(port: int, control_path: str, app: HttpApp) -> int:
    """The same-parser HTTP server for ``app`` on a fresh loop of its own; its accepted count."""
    return asyncio.run(serve_one_loop(port, control_path, app))


# -- the parent's side --------------------------------------------------------------


def server_facts(loops: int, parallel: int) -> dict[str, object]:
    """What a model reports of its echo server (``setup_metrics``): ``server_loops`` serving the port,
    ``parallel_loops`` of them able to run Python at once (each has a GIL of its own, or there is none: the
    cores the harness counts the server's utilisation against) and the ``listener`` they share the port by."""
    return {"server_loops": loops, "parallel_loops": parallel, "listener": LISTENER}


def reserve_port() -> socket.socket:
    """A bound, non-listening SO_REUSEPORT socket: holds a free port for the loops."""
    reserve = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        reserve.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        reserve.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        reserve.bind((ECHO_HOST, 0))
    except BaseException:
        reserve.close()
        raise
    return reserve


def raise_if_a_loop_ended(futures: Sequence[Future[Any]]) -> None:
    for future in futures:
        if future.done():
            future.result()  # raises the loop's exception, if any
            raise RuntimeError("a server loop returned before it connected, or before it was told to stop")


def accept_loops(control_listener: socket.socket, futures: Sequence[Future[Any]], count: int) -> list[socket.socket]:
    """Accept one control connection per loop (each connects once it listens; the hybrid's ping_pong child once
    it starts); a loop that ended first raises its exception."""
    connections: list[socket.socket] = []
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    with selectors.DefaultSelector() as selector:
        selector.register(control_listener, selectors.EVENT_READ)
        while len(connections) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"only {len(connections)} of {count} loops connected within {SERVER_START_TIMEOUT_S:g} s"
                )
            if selector.select(0.05):
                connection, _ = control_listener.accept()
                connections.append(connection)
            else:
                raise_if_a_loop_ended(futures)
    return connections


def _wait_for_stop(stop_fd: int, loop_connections: list[socket.socket]) -> None:
    with selectors.DefaultSelector() as selector:
        selector.register(stop_fd, selectors.EVENT_READ)
        for connection in loop_connections:
            selector.register(connection, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select():
                if key.fileobj == stop_fd:
                    return
                raise RuntimeError("an echo server loop closed its control connection (it died) before the stop")


def serve_on_loops(control: ServerControl, count: int, start: Callable[[int, str], Future[int]]) -> list[int]:
    """Serve echo on ``count`` loops until the harness says stop; each loop's accepted connections, in order.

    ``start(port, control_path)`` starts one loop's ``serve_one_loop`` (in a pool process, a loop thread or a
    subinterpreter) and returns the future of its count.
    """
    with (
        tempfile.TemporaryDirectory(prefix="corobench-loops-") as control_dir,
        reserve_port() as reserve,
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as control_listener,
    ):
        port = reserve.getsockname()[1]
        control_path = os.path.join(control_dir, "control")
        control_listener.bind(control_path)
        control_listener.listen(count)
        futures = [start(port, control_path) for _ in range(count)]
        loop_connections: list[socket.socket] = []
        try:
            loop_connections = accept_loops(control_listener, futures, count)
            control.listening(port)
            _wait_for_stop(control.stop_fd, loop_connections)
        finally:
            for connection in loop_connections:
                connection.close()  # EOF on the control connection: the loop stops serving
            control_listener.close()  # a loop still starting fails to connect, and stops
            _, pending = wait_futures(futures, timeout=SERVER_STOP_TIMEOUT_S)
        if pending:
            raise TimeoutError(f"{len(pending)} echo server loops did not stop within {SERVER_STOP_TIMEOUT_S} s")
        return [future.result() for future in futures]
