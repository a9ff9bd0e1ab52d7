"""The greenlet model's HTTP server (workload ``http_server``): the same parser on the model's own hub.

- ``httptools`` (the only variant: raw greenlets have no HTTP server of their own): the suite's same
  parser (``workloads.models.shared.http_parsing.RequestParser``) over the echo server's green
  sockets, one greenlet per connection (``hub.spawn``). A handler reads with ``hub.recv(64 KiB)``
  (try the call, wait on the hub only when it would block); for each request the bytes completed it
  calls ``hub.sleep(io_s)`` (only when ``io_s > 0``: the hub's timer-heap sleep) and
  ``hub.sendall(app.response)`` (one ``send``, waiting only if the send buffer is full), in order.
  A ``ParseError`` (garbage) or an ``OSError`` (a reset) ends that connection only.

Listening and shutdown are the echo server's: ``nonblocking_listener`` (``ECHO_HOST``, port 0,
``LISTEN_BACKLOG``), an accept greenlet (``hub.accept`` sets TCP_NODELAY), the stop pipe awaited with
``wait_readable(stop_fd)``; then the listener and every connection are closed with ``hub.close`` (a
greenlet waiting on one is woken with ``Cancelled``, idle keep-alive connections included) and the
server joins all the greenlets. A handler in its sleep is not woken by the close: it finishes that
sleep (at most ``io_s``), its ``send`` on the closed socket fails with ``OSError``, and it ends.
"""

from __future__ import annotations

import socket

from workloads.models.greenlet_model import hub
from workloads.models.shared.http_parsing import ParseError, RequestParser
from workloads.models.shared.listeners import nonblocking_listener
from workloads.runtime.server_control import ServerControl
from workloads.specs.http_data import HttpApp
from workloads.specs.http_server import SAME_PARSER

HTTP_VARIANTS: tuple[str, ...] = (SAME_PARSER,)
RECV_BYTES = 64 * 1024
"""Most bytes one recv asks for (the echo handler's size, for its reason)."""

Handlers = dict[socket.socket, hub.Task[None]]


def _serve_connection(conn: socket.socket, app: HttpApp, handlers: Handlers) -> None:
    response = app.response
    io_s = app.io_s
    parser = RequestParser()
    recv, sendall, sleep = hub.recv, hub.sendall, hub.sleep
    try:
        while data := recv(conn, RECV_BYTES):
            for _ in range(parser.feed(data)):
                if io_s > 0:
                    sleep(io_s)
                sendall(conn, response)
    except (ParseError, OSError):  # garbage; a reset, broken pipe, or the server closing the socket (Cancelled)
        pass
    finally:
        handlers.pop(conn, None)
        hub.close(conn)


def _accept_loop(listener: socket.socket, app: HttpApp, handlers: Handlers) -> None:
    try:
        while True:
            conn = hub.accept(listener)
            handlers[conn] = hub.spawn(_serve_connection, conn, app, handlers)
    except OSError:  # the listener was closed (Cancelled) on shutdown
        pass


def http_server(variant: str, control: ServerControl, app: HttpApp) -> None:
    if variant not in HTTP_VARIANTS:
        raise ValueError(f"unknown http_server variant {variant!r}; this model offers {HTTP_VARIANTS}")
    the_hub = hub.get_hub()
    listener = nonblocking_listener()
    handlers: Handlers = {}
    acceptor = the_hub.spawn(_accept_loop, listener, app, handlers)
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
