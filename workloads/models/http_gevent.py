"""gevent's HTTP servers (workload ``http_server``), both on ``gevent.server.StreamServer``, monkey-patched.

Both variants listen like ``tcp_echo_server``: on ``ECHO_HOST``, port 0, ``LISTEN_BACKLOG``, with
``spawn=gevent.pool.Pool()`` (unbounded: one greenlet per connection; the pool lets ``stop`` kill
every live handler), and wait for the stop pipe with ``gevent.socket.wait_read``. On stop,
``server.stop(timeout=0)`` closes the listener and kills every handler, idle keep-alive ones
included; each handler's socket is closed as it unwinds. No config check here: the defaults/tuned
variants are the other workloads'; an http_server worker runs gevent as installed.

- ``pywsgi`` (default): ``gevent.pywsgi.WSGIServer``, gevent's own HTTP/1.1 server (keep-alive
  built in), with a plain WSGI app and ``log=None`` (gevent's documented way to turn the access log
  off; the error log stays at its default, stderr, as gevent recommends). It is handed a listening
  socket with TCP_NODELAY set, the way gunicorn (pywsgi's usual deployment, ``-k gevent``) makes its
  listeners (``gunicorn/sock.py``); on Linux every accepted socket inherits the option. pywsgi
  itself leaves Nagle on (gevent issue 1233) and writes the head and the body with two ``sendall``s,
  so without it every keep-alive response waited ~40 ms for the client's delayed ACK. The app calls
  ``gevent.sleep(io_s)`` when ``io_s > 0``, then ``start_response("200 OK", ...)`` with
  Content-Type and Content-Length and returns ``[body]``; pywsgi sends no chunking with a
  Content-Length. A bad request gets pywsgi's own 400 and only that connection closes.
- ``httptools``: the suite's same parser (``workloads.models.shared.http_parsing.RequestParser``)
  in a ``StreamServer`` handler, on the patched socket StreamServer hands it (TCP_NODELAY set, as
  the echo handler does): ``recv(64 KiB)``, and for each request the bytes completed
  ``gevent.sleep(io_s)`` (only when ``io_s > 0``) and ``sendall(app.response)``, in order. A
  ``ParseError`` (garbage) or an ``OSError`` (a reset) ends that connection only.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import gevent
import gevent.pool
import gevent.pywsgi
import gevent.server
import gevent.socket

from workloads.models.shared.http_blocking import serve_same_parser, wsgi_app
from workloads.runtime.server_control import ServerControl
from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG
from workloads.specs.http_data import HttpApp
from workloads.specs.http_server import SAME_PARSER

HTTP_VARIANTS: tuple[str, ...] = ("pywsgi", SAME_PARSER)


def _same_parser_handler(app: HttpApp) -> Callable[[socket.socket, object], None]:
    def handle(conn: socket.socket, _address: object) -> None:
        """StreamServer closes ``conn`` when this returns."""
        serve_same_parser(conn, app, gevent.sleep)

    return handle


def http_server(variant: str, control: ServerControl, app: HttpApp) -> None:
    server: gevent.server.StreamServer
    if variant == "pywsgi":
        listener = socket.create_server((ECHO_HOST, 0), backlog=LISTEN_BACKLOG)  # patched: a gevent socket
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as gunicorn's; accepted sockets inherit it
        server = gevent.pywsgi.WSGIServer(listener, wsgi_app(app, gevent.sleep), spawn=gevent.pool.Pool(), log=None)
    elif variant == SAME_PARSER:
        server = gevent.server.StreamServer(
            (ECHO_HOST, 0), _same_parser_handler(app), backlog=LISTEN_BACKLOG, spawn=gevent.pool.Pool()
        )
    else:
        raise ValueError(f"unknown http_server variant {variant!r}; gevent offers {HTTP_VARIANTS}")
    server.start()
    try:
        control.listening(server.server_port)
        gevent.socket.wait_read(control.stop_fd)
    finally:
        server.stop(timeout=0)  # close the listener, kill every handler (idle keep-alive ones too)
