"""tornado's HTTP servers (workload ``http_server``), on the model's one asyncio runner.

Both variants serve on the ``asyncio.Runner`` the tornado model keeps for the worker's life
(``http_server_on``), listen like ``tcp_echo_server`` (``tornado.netutil.bind_sockets`` on
``ECHO_HOST``, port 0, ``LISTEN_BACKLOG``, then ``add_sockets``), watch ``stop_fd`` with
``IOLoop.add_handler``, and sleep with ``asyncio.sleep(io_s)`` only when ``io_s > 0`` (tornado 6
runs on asyncio, and its ``gen`` docs say asyncio's counterparts may be used in native coroutines).
On stop the server stops listening and ``close_all_connections`` closes every connection; then the
server waits for the loop's other tasks (a ``RequestHandler`` still in its IO call, which tornado does
not cancel when its connection closes: at most ``io_s``), so none is left on the runner's loop.

- ``httpserver`` (default): ``tornado.httpserver.HTTPServer`` (``xheaders=False``, the default) over a
  ``tornado.web.Application`` with one ``RequestHandler`` whose ``get`` is ``async def``: the sleep,
  then ``set_header("Content-Type", CONTENT_TYPE)`` and ``write(app.body)``; ``finish`` adds the
  Content-Length (tornado sets it for a response not flushed before the end, never chunked). No
  debug, no autoreload (the defaults); the access log is silenced with the Application setting
  ``log_function`` (a function that does nothing), the documented hook ``Application.log_request``
  calls instead of logging. Everything else is tornado's default, including the Etag
  ``RequestHandler`` computes (a SHA-1 of the body) for every 200 GET.
- ``httptools``: the suite's same parser (``workloads.models.shared.http_parsing.RequestParser``) in a
  ``tornado.tcpserver.TCPServer`` subclass, as the echo server: each stream reads with
  ``IOStream.read_bytes(65536, partial=True)``, feeds the parser and, for each completed request, the
  sleep, then awaits ``IOStream.write(app.response)`` (flow control: the next read waits until the
  response reached the kernel), in order. A ``ParseError`` closes that connection only.
"""

from __future__ import annotations

import asyncio
from asyncio import Future
from collections.abc import Callable
from functools import partial
from typing import Any

from tornado import gen
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.iostream import IOStream, StreamClosedError
from tornado.locks import Event
from tornado.netutil import bind_sockets
from tornado.tcpserver import TCPServer
from tornado.web import Application, RequestHandler

from workloads.models.shared.http_parsing import ParseError, RequestParser
from workloads.runtime.server_control import ServerControl
from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG
from workloads.specs.http_data import CONTENT_TYPE, HttpApp
from workloads.specs.http_server import SAME_PARSER

HTTP_VARIANTS: tuple[str, ...] = ("httpserver", SAME_PARSER)
READ_CHUNK = 64 * 1024
"""The most one ``read_bytes(partial=True)`` returns (tornado's read chunk size)."""

HttpServerFunction = Callable[[str, ServerControl, HttpApp], None]


class _Page(RequestHandler):
    """``GET /``: the IO call when ``io_s > 0``, then the body; ``finish`` adds the Content-Length."""

    def initialize(self, app: HttpApp) -> None:
        self._app = app

    async def get(self) -> None:
        app = self._app
        if app.io_s > 0:
            await asyncio.sleep(app.io_s)
        self.set_header("Content-Type", CONTENT_TYPE)
        self.write(app.body)


def _no_access_log(handler: RequestHandler) -> None:
    """The ``log_function`` setting: ``Application.log_request`` calls this instead of logging each request."""


def _own_server(app: HttpApp) -> HTTPServer:
    application = Application([(r"/", _Page, {"app": app})], log_function=_no_access_log)
    return HTTPServer(application, xheaders=False)


class _SameParserServer(TCPServer):
    """The same parser on each accepted stream; tracks the live handlers for shutdown."""

    def __init__(self, app: HttpApp) -> None:
        super().__init__()
        self._app = app
        self._serving: dict[IOStream, Future[None]] = {}

    def handle_stream(self, stream: IOStream, address: tuple[str, int]) -> None:
        # Registered synchronously, as the echo server does, so close_all_connections sees it.
        self._serving[stream] = gen.convert_yielded(self._serve(stream))

    async def _serve(self, stream: IOStream) -> None:
        response = self._app.response
        io_s = self._app.io_s
        parser = RequestParser()
        try:
            stream.set_nodelay(True)
            while True:
                data = await stream.read_bytes(READ_CHUNK, partial=True)
                for _ in range(parser.feed(data)):
                    if io_s > 0:
                        await asyncio.sleep(io_s)
                    await stream.write(response)
        except (StreamClosedError, ParseError):
            pass  # the client went away, sent garbage, or the server is shutting down
        finally:
            stream.close()
            del self._serving[stream]

    async def close_all_connections(self) -> None:
        handlers = list(self._serving.values())
        for stream in list(self._serving):
            stream.close()
        await gen.multi(handlers)


async def _serve(make_server: Callable[[], Any], control: ServerControl) -> None:
    """Run the server ``make_server`` builds (an ``HTTPServer`` or ``_SameParserServer``) until ``stop_fd``."""
    io_loop = IOLoop.current()
    server = make_server()  # built on the running loop
    stop = Event()
    io_loop.add_handler(control.stop_fd, lambda fd, events: stop.set(), IOLoop.READ)
    try:
        sockets = bind_sockets(0, ECHO_HOST, backlog=LISTEN_BACKLOG)
        server.add_sockets(sockets)
        control.listening(sockets[0].getsockname()[1])
        await stop.wait()
    finally:
        io_loop.remove_handler(control.stop_fd)
        server.stop()
        await server.close_all_connections()
        # tornado does not cancel a RequestHandler whose connection closed: wait for those still in
        # their IO call (at most io_s), so none is left suspended on the runner's loop.
        handlers = asyncio.all_tasks() - {asyncio.current_task()}
        if handlers:
            await asyncio.wait(handlers)


def http_server_on(runner: asyncio.Runner) -> HttpServerFunction:
    """The model interface's ``http_server``, serving on ``runner`` (the tornado model's one loop)."""

    def http_server(variant: str, control: ServerControl, app: HttpApp) -> None:
        if variant == "httpserver":
            make_server: Callable[[], Any] = partial(_own_server, app)
        elif variant == SAME_PARSER:
            make_server = partial(_SameParserServer, app)
        else:
            raise ValueError(f"unknown http_server variant {variant!r}; this model offers {HTTP_VARIANTS}")
        runner.run(_serve(make_server, control))

    return http_server
