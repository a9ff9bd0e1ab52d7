"""eventlet's HTTP servers (workload ``http_server``), monkey-patched, on the echo server's listener.

Both variants listen like ``tcp_echo_server``: ``eventlet.listen`` on ``ECHO_HOST``, port 0,
``LISTEN_BACKLOG``; the server runs in one greenthread while the calling greenlet waits for the
stop pipe with ``eventlet.hubs.trampoline(fd, read=True)``, the hub's own readiness primitive.

- ``wsgi`` (default): ``eventlet.wsgi.server(listener, app, log_output=False, debug=False,
  custom_pool=pool)``, eventlet's own HTTP/1.1 server, keep-alive on (its default
  ``keepalive=True``: no idle timeout). ``log_output=False`` replaces its logger with eventlet's
  ``LoggerNull`` (no access log, no start-up line; a malformed request still gets the stdlib
  handler's one ``log_error`` line on stderr); ``debug=False`` keeps tracebacks out of 500
  responses (eventlet's docs: the default ``True`` sends them to clients). ``pool`` is
  ``eventlet.GreenPool(DEFAULT_MAX_SIMULTANEOUS_REQUESTS)``, the pool the server would make itself
  (1024 connections, one greenthread each: it covers the grid's C=1000), passed in only so that
  stopping can reach its greenthreads. The listener gets TCP_NODELAY, as gunicorn makes its
  listeners (``gunicorn/sock.py``), and on Linux every accepted socket inherits it: eventlet leaves
  Nagle on (it sets only TCP_QUICKACK, which acks sooner but does not send sooner), and a response
  larger than its 16 KiB write buffer leaves in two writes, so at 16 KiB bodies every keep-alive
  response waited ~40 ms for the client's delayed ACK. The plain WSGI app calls
  ``eventlet.sleep(io_s)`` when ``io_s > 0``, then ``start_response`` with Content-Type and
  Content-Length and returns ``[body]`` (with a Content-Length eventlet sends no chunking).
  Stopping is eventlet's own: ``kill()`` raises ``GreenletExit`` in the server's ``accept``, and
  ``eventlet.wsgi.server``'s ``finally`` marks every connection to close, shuts down the idle ones
  (their handlers read EOF and end; one inside a request finishes it, at most ``io_s``, and closes),
  waits for its pool and closes the listener; the caller ``wait()``s for all that. A handler blocked
  reading the rest of a request's head would keep that wait going for ever (eventlet documents that
  the server waits for active connections), so whatever still runs in the pool after
  ``STOP_GRACE_S`` is killed (the server's link on each closes its socket).
- ``httptools``: the suite's same parser (``workloads.models.shared.http_parsing.RequestParser``)
  over the echo server's green sockets and accept loop (one ``spawn_n`` greenthread per connection,
  TCP_NODELAY set, handlers tracked in a dict): ``recv(64 KiB)``, and for each request the bytes
  completed ``eventlet.sleep(io_s)`` (only when ``io_s > 0``) and ``sendall(app.response)``, in
  order. A ``ParseError`` (garbage) or an ``OSError`` (a reset) ends that connection only. On stop
  the accept loop is killed, the listener closed, and every handler killed and its socket closed.
"""

from __future__ import annotations

import socket
from typing import Any

import eventlet  # no type stubs: eventlet's names are Any to mypy
import eventlet.greenthread
import eventlet.hubs
import eventlet.wsgi
from greenlet import GreenletExit

from workloads.models.shared.http_blocking import serve_same_parser, wsgi_app
from workloads.runtime.server_control import ServerControl
from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG
from workloads.specs.http_data import HttpApp
from workloads.specs.http_server import SAME_PARSER

HTTP_VARIANTS: tuple[str, ...] = ("wsgi", SAME_PARSER)
STOP_GRACE_S = 1.0
"""How long stopping waits for the wsgi server's busy connections to finish their request before killing them."""


def _wait_quietly(server: Any) -> None:
    try:
        server.wait()
    except GreenletExit:  # how a killed greenthread ends
        pass


def _serve_wsgi(listener: socket.socket, app: HttpApp, control: ServerControl) -> None:
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as gunicorn's; accepted sockets inherit it
    pool = eventlet.GreenPool(eventlet.wsgi.DEFAULT_MAX_SIMULTANEOUS_REQUESTS)  # the server's own default pool
    server = eventlet.spawn(
        eventlet.wsgi.server, listener, wsgi_app(app, eventlet.sleep), log_output=False, debug=False, custom_pool=pool
    )
    try:
        control.listening(listener.getsockname()[1])
        eventlet.hubs.trampoline(control.stop_fd, read=True)
    finally:
        server.kill()  # GreenletExit in accept: the server closes idle connections and waits for the busy ones
        with eventlet.Timeout(STOP_GRACE_S, False):
            _wait_quietly(server)
        if not server.dead:  # a handler still waits for the rest of a request: end it (its link closes its socket)
            for handler in list(pool.coroutines_running):
                handler.kill()
            _wait_quietly(server)
        listener.close()  # already closed by the server, unless it was killed before it ever ran


def _same_parser_connection(conn: socket.socket, app: HttpApp, handlers: dict[socket.socket, Any]) -> None:
    try:
        serve_same_parser(conn, app, eventlet.sleep)
    finally:
        handlers.pop(conn, None)
        conn.close()


def _accept_loop(listener: socket.socket, app: HttpApp, handlers: dict[socket.socket, Any]) -> None:
    while True:
        try:
            conn, _address = listener.accept()
        except ConnectionAbortedError:  # the client gave up before it was accepted
            continue
        handlers[conn] = eventlet.spawn_n(_same_parser_connection, conn, app, handlers)


def _serve_same_parser(listener: socket.socket, app: HttpApp, control: ServerControl) -> None:
    handlers: dict[socket.socket, Any] = {}
    acceptor = eventlet.spawn(_accept_loop, listener, app, handlers)
    try:
        control.listening(listener.getsockname()[1])
        eventlet.hubs.trampoline(control.stop_fd, read=True)
    finally:
        acceptor.kill()
        listener.close()
        for conn, handler in list(handlers.items()):
            eventlet.greenthread.kill(handler)  # its finally closes conn, if it ever started
            conn.close()


def http_server(variant: str, control: ServerControl, app: HttpApp) -> None:
    if variant == "wsgi":
        serve = _serve_wsgi
    elif variant == SAME_PARSER:
        serve = _serve_same_parser
    else:
        raise ValueError(f"unknown http_server variant {variant!r}; eventlet offers {HTTP_VARIANTS}")
    serve(eventlet.listen((ECHO_HOST, 0), backlog=LISTEN_BACKLOG), app, control)
