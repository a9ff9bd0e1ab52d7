"""The generators model's HTTP server (workload ``http_server``): the same parser on its own scheduler.

- ``httptools`` (the only variant: the suite's own scheduler has no HTTP server of its own): the
  suite's same parser (``workloads.models.shared.http_parsing.RequestParser``) over the echo
  server's non-blocking sockets and scheduler requests. A handler tries ``recv`` first and yields
  ``ReadWait`` only when it would block; for each request the bytes completed it yields
  ``Sleep(io_s)`` (only when ``io_s > 0``: the scheduler's own sleep, a timer on its heap) and writes
  ``app.response`` with one ``send`` (``yield from sendall`` only for what did not fit), in order.
  A ``ParseError`` (garbage) or an ``OSError`` (a reset) ends that connection only.

Listening and shutdown are the echo server's: ``nonblocking_listener`` (``ECHO_HOST``, port 0,
``LISTEN_BACKLOG``), an accept task, the stop pipe awaited with ``yield ReadWait(stop_fd)``; then the
listener and every connection are closed (``gs.close``: a task waiting on one gets ``Closed``) and
the server joins the tasks. A handler in its ``Sleep`` is not woken by the close: it finishes that
sleep (at most ``io_s``), its ``send`` on the closed socket fails with ``OSError``, and it ends.
"""

from __future__ import annotations

import socket

from workloads.models.generators_model import scheduler as gs
from workloads.models.generators_model.scheduler import Coroutine, Join, ReadWait, Sleep, Spawn
from workloads.models.shared.http_parsing import ParseError, RequestParser
from workloads.models.shared.listeners import nonblocking_listener
from workloads.runtime.server_control import ServerControl
from workloads.specs.http_data import HttpApp
from workloads.specs.http_server import SAME_PARSER

HTTP_VARIANTS: tuple[str, ...] = (SAME_PARSER,)
RECV_BYTES = 64 * 1024


def _serve_connection(
    conn: socket.socket, app: HttpApp, handlers: dict[socket.socket, gs.Task[None]]
) -> Coroutine[None]:
    fd = conn.fileno()
    receive = conn.recv
    response = app.response
    size = len(response)
    io_s = app.io_s
    parser = RequestParser()
    try:
        while True:
            try:
                data = receive(RECV_BYTES)
            except BlockingIOError:
                yield ReadWait(fd)
                continue
            if not data:
                break
            for _ in range(parser.feed(data)):
                if io_s > 0:
                    yield Sleep(io_s)
                try:
                    sent = conn.send(response)
                except BlockingIOError:
                    sent = 0
                if sent < size:
                    yield from gs.sendall(conn, response, sent)
    except (ParseError, OSError):  # garbage; a reset, broken pipe, or the server closing the socket (Closed)
        pass
    finally:
        handlers.pop(conn, None)
        gs.close(conn)


def _accept_loop(
    listener: socket.socket, app: HttpApp, handlers: dict[socket.socket, gs.Task[None]]
) -> Coroutine[None]:
    try:
        while True:
            conn = yield from gs.accept(listener)
            handlers[conn] = yield Spawn(_serve_connection(conn, app, handlers))
    except OSError:  # the listener was closed (Closed) on shutdown
        pass


def _serve(control: ServerControl, app: HttpApp) -> Coroutine[None]:
    scheduler = gs.get_scheduler()
    listener = nonblocking_listener()
    handlers: dict[socket.socket, gs.Task[None]] = {}
    acceptor = yield Spawn(_accept_loop(listener, app, handlers))
    try:
        control.listening(listener.getsockname()[1])
        yield ReadWait(control.stop_fd)
    finally:  # no yield in here: close everything, then wait for the tasks below
        scheduler.forget(control.stop_fd)
        gs.close(listener)
        tasks = [acceptor, *handlers.values()]
        for conn in list(handlers):
            gs.close(conn)
    yield Join(tasks)


def http_server(variant: str, control: ServerControl, app: HttpApp) -> None:
    if variant not in HTTP_VARIANTS:
        raise ValueError(f"unknown http_server variant {variant!r}; this model offers {HTTP_VARIANTS}")
    gs.get_scheduler().run(_serve(control, app))
