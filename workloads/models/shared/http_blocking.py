"""HTTP pieces for the models whose sockets look blocking (gevent, eventlet, threads): a WSGI app and the
same-parser connection loop, each taking the model's own sleep.

- ``wsgi_app``: the plain WSGI app that gevent's pywsgi and eventlet.wsgi serve: the model's sleep of
  ``io_s`` (only when ``io_s > 0``), then 200 with the body and its ``Content-Length``.
- ``serve_same_parser``: one connection of the httptools tier: ``recv``, ``RequestParser.feed``, then
  for each completed request the sleep and ``sendall`` of the whole response. Garbage, a reset or a
  broken pipe ends only that connection (the caller closes it).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from typing import Any

from workloads.models.shared.http_parsing import ParseError, RequestParser
from workloads.specs.http_data import CONTENT_TYPE, HttpApp

RECV_BYTES = 64 * 1024
"""Most bytes one recv asks for (the echo handlers' size, for their reason)."""

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Sleep = Callable[[float], object]


def wsgi_app(app: HttpApp, sleep: Sleep) -> WsgiApp:
    """A plain WSGI app: ``sleep(io_s)`` with the model's sleep (only when ``io_s > 0``), then 200 with the body."""
    body = app.body
    io_s = app.io_s
    status = "200 OK"
    headers = [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))]

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if io_s > 0:
            sleep(io_s)
        start_response(status, headers)  # both servers copy the list into their own encoded head
        return [body]

    return application


def serve_same_parser(conn: socket.socket, app: HttpApp, sleep: Sleep) -> None:
    """Answer each request completed on ``conn`` in order, until the client closes, resets or sends garbage."""
    recv, sendall = conn.recv, conn.sendall
    response = app.response
    io_s = app.io_s
    parser = RequestParser()
    try:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := recv(RECV_BYTES):
            for _ in range(parser.feed(data)):
                if io_s > 0:
                    sleep(io_s)
                sendall(response)
    except (ParseError, OSError):  # garbage; a reset, broken pipe, or a socket closed by stop(): only this one ends
        pass
