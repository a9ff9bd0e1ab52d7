"""asyncio's HTTP servers (workload ``http_server``), shared by the ``asyncio`` and ``uvloop`` models.

Both models run these coroutines on their own ``asyncio.Runner`` (``http_server_on``): the default
loop or uvloop's, so the difference between their rows is the loop alone. Every variant waits for
``stop_fd`` with ``loop.add_reader`` (as ``tcp_echo_server``), listens on ``ECHO_HOST``, an
ephemeral port and ``LISTEN_BACKLOG``, and sleeps with ``asyncio.sleep(io_s)`` only when
``io_s > 0``. The task factory is reset to the loop's default before serving.

- ``uvicorn`` (default; the server FastAPI and Starlette run on): a bare ASGI 3 app (``http``
  scope: the sleep, then ``http.response.start`` with 200, Content-Type and Content-Length, then
  one ``http.response.body``) served by ``uvicorn.Server(uvicorn.Config(...))`` with
  ``http="httptools"`` (what ``auto`` picks when httptools is installed, made explicit),
  ``access_log=False``, ``log_level="warning"``, ``lifespan="off"`` (the app has no lifespan) and
  ``backlog=LISTEN_BACKLOG``; everything else is uvicorn's default (Date and Server headers,
  ``proxy_headers``, 5 s keep-alive timeout). ``await Server.serve(sockets=[sock])`` runs on the
  running loop (``loop="none"``: uvicorn 0.36+ only uses ``loop`` in ``Server.run``, which builds
  its own loop; ``serve`` takes the caller's), on a socket bound by ``Config.bind_socket`` (what
  ``uvicorn.run`` does for its workers) and listening first, so the port is known before serving;
  uvicorn's ``create_server(sock=...)`` listens on it again with ``config.backlog``. That socket has
  ``proto=IPPROTO_TCP``, which asyncio needs to set ``TCP_NODELAY`` on accepted sockets (a
  ``socket.create_server`` socket has proto 0: uvicorn's two writes per response, head and body,
  then wait on Nagle and delayed ACKs, ~40 ms a request on the default loop; uvloop sets it anyway).
  Stop: ``server.should_exit = True`` from the stop reader; uvicorn's main loop
  sees it within its 0.1 s tick, closes the listener and idle keep-alive connections, and
  ``serve`` returns once every connection is closed. ``serve`` installs SIGINT/SIGTERM handlers
  for its life (in the main thread) and restores them after.
- ``aiohttp``: ``aiohttp.web.Application`` with one ``GET /`` handler (the sleep, then
  ``web.Response(body=app.body, content_type=CONTENT_TYPE)``, which sets Content-Length), on
  ``web.AppRunner(application, access_log=None)`` (no access logger: aiohttp's documented switch)
  and ``web.TCPSite(runner, ECHO_HOST, 0, backlog=LISTEN_BACKLOG)``, whose ``port`` is the bound
  one after ``start``; stop: ``runner.cleanup()`` (closes the site, then idle connections).
- ``httptools``: the suite's same parser (``workloads.models.shared.http_parsing.RequestParser``) in
  an ``asyncio.Protocol`` on ``loop.create_server`` (the echo server's ``protocol`` variant):
  ``data_received`` feeds the parser and, when ``io_s == 0``, writes ``app.response`` once per
  completed request at once; when ``io_s > 0`` the completed requests are counted and one task per
  connection (started when the first is waiting) sleeps and writes one response per request, in
  order. A ``ParseError`` closes that connection only. Flow control as the echo protocol: reading
  pauses while the transport's write buffer is above its high-water mark. Stop: the server and
  every transport are closed and the connections' tasks cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any, cast

from workloads.models.shared.http_parsing import ParseError, RequestParser
from workloads.runtime.server_control import ServerControl
from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG
from workloads.specs.http_data import CONTENT_TYPE, HttpApp
from workloads.specs.http_server import SAME_PARSER

HttpServer = Callable[[str, ServerControl, HttpApp], None]
Serve = Callable[[ServerControl, HttpApp], Coroutine[Any, Any, None]]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


async def _wait_readable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    readable = loop.create_future()
    loop.add_reader(fd, readable.set_result, None)
    try:
        await readable
    finally:
        loop.remove_reader(fd)


# -- uvicorn ------------------------------------------------------------------


def _asgi_app(
    app: HttpApp,
) -> Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]:
    body = app.body
    io_s = app.io_s
    headers = [(b"content-type", CONTENT_TYPE.encode("ascii")), (b"content-length", str(len(body)).encode("ascii"))]

    async def asgi(
        scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            return  # lifespan is off; no websocket route
        if io_s > 0:
            await asyncio.sleep(io_s)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return asgi


async def _serve_uvicorn(control: ServerControl, app: HttpApp) -> None:
    import uvicorn

    config = uvicorn.Config(
        _asgi_app(app),
        host=ECHO_HOST,
        port=0,
        loop="none",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="off",
        backlog=LISTEN_BACKLOG,
    )
    server = uvicorn.Server(config)
    # uvicorn's own bind (what uvicorn.run does before handing sockets to its workers): a socket made
    # with proto=IPPROTO_TCP, so asyncio sets TCP_NODELAY on the accepted ones (base_events._set_nodelay
    # skips proto 0, which socket.create_server leaves: then uvicorn's two writes per response meet
    # Nagle and delayed ACKs, about 40 ms a request). Listening before serve, so the port can be announced.
    sock = config.bind_socket()
    sock.listen(LISTEN_BACKLOG)
    loop = asyncio.get_running_loop()

    def stop() -> None:
        loop.remove_reader(control.stop_fd)
        server.should_exit = True

    loop.add_reader(control.stop_fd, stop)
    try:
        control.listening(sock.getsockname()[1])
        await server.serve(sockets=[sock])
    finally:
        loop.remove_reader(control.stop_fd)
        sock.close()  # uvicorn closes it on shutdown; again in case start-up failed


# -- aiohttp ------------------------------------------------------------------


async def _serve_aiohttp(control: ServerControl, app: HttpApp) -> None:
    from aiohttp import web

    body = app.body
    io_s = app.io_s

    async def page(request: web.Request) -> web.Response:
        if io_s > 0:
            await asyncio.sleep(io_s)
        return web.Response(body=body, content_type=CONTENT_TYPE)

    application = web.Application()
    application.router.add_get("/", page)
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, ECHO_HOST, 0, backlog=LISTEN_BACKLOG)
        await site.start()
        control.listening(site.port)
        await _wait_readable(control.stop_fd)
    finally:
        await runner.cleanup()


# -- httptools (the same parser) ----------------------------------------------


class SameParserProtocol(asyncio.Protocol):
    """Feeds the parser; answers each completed request with ``app.response``, in order."""

    def __init__(self, app: HttpApp, open_protocols: set[SameParserProtocol]) -> None:
        self._response = app.response
        self._io_s = app.io_s
        self._open = open_protocols
        self._parser = RequestParser()
        self._waiting = 0
        """Requests completed and not answered yet (io_s > 0 only)."""
        self._responder: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self._open.add(self)

    def data_received(self, data: bytes) -> None:
        try:
            completed = self._parser.feed(data)
        except ParseError:
            self.close()
            return
        if not completed:
            return
        if self._io_s <= 0:
            write = self.transport.write
            response = self._response
            for _ in range(completed):
                write(response)
            return
        self._waiting += completed
        if self._responder is None:
            self._responder = asyncio.get_running_loop().create_task(self._respond())

    async def _respond(self) -> None:
        try:
            while self._waiting:
                await asyncio.sleep(self._io_s)
                self._waiting -= 1
                self.transport.write(self._response)
        finally:
            self._responder = None

    def close(self) -> None:
        if self._responder is not None:
            self._responder.cancel()
        self.transport.close()

    def pause_writing(self) -> None:
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._responder is not None:
            self._responder.cancel()
        self._open.discard(self)


async def _serve_same_parser(control: ServerControl, app: HttpApp) -> None:
    loop = asyncio.get_running_loop()
    protocols: set[SameParserProtocol] = set()
    server = await loop.create_server(lambda: SameParserProtocol(app, protocols), ECHO_HOST, 0, backlog=LISTEN_BACKLOG)
    control.listening(server.sockets[0].getsockname()[1])
    await _wait_readable(control.stop_fd)
    server.close()
    for protocol in list(protocols):
        protocol.close()
    await server.wait_closed()
    await asyncio.sleep(0)  # let connection_lost callbacks and cancelled responders finish


SERVERS: dict[str, Serve] = {"uvicorn": _serve_uvicorn, "aiohttp": _serve_aiohttp, SAME_PARSER: _serve_same_parser}
HTTP_VARIANTS: tuple[str, ...] = tuple(SERVERS)


def http_server_on(runner: asyncio.Runner) -> HttpServer:
    """The model interface's ``http_server``, serving on ``runner``'s loop (the model's own)."""

    def http_server(variant: str, control: ServerControl, app: HttpApp) -> None:
        serve = SERVERS.get(variant)
        if serve is None:
            raise ValueError(f"unknown http_server variant {variant!r}; this model offers {HTTP_VARIANTS}")
        runner.get_loop().set_task_factory(None)  # the loop's default, whatever a previous round set
        runner.run(serve(control, app))

    return http_server
