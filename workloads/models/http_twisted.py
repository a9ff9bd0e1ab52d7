"""twisted's HTTP servers (workload ``http_server``), in the model's one reactor thread.

Both variants run like ``tcp_echo_server`` (``http_server_in`` takes the model's
``_run_in_reactor`` and its stop-pipe reader): ``reactor.listenTCP(0, factory,
interface=ECHO_HOST, backlog=LISTEN_BACKLOG)`` from the reactor thread, the port announced from
the worker's thread, ``stop_fd`` watched with ``reactor.addReader``; then the port stops listening,
every open connection is aborted and the server waits for their ``connectionLost``. The reactor is
never stopped here: it runs for the worker's life (it cannot be restarted), so one worker can serve
any number of servers in turn. The IO call is ``twisted.internet.task.deferLater(reactor, io_s)``,
made only when ``io_s > 0``; a connection lost during it cancels it.

- ``web`` (default): ``twisted.web.server.Site`` over one ``Resource`` with ``isLeaf = True`` (no
  child lookup) whose ``render_GET`` sets Content-Type and Content-Length (``request.setHeader``,
  so a delayed answer is never chunked) and returns the body at once when ``io_s == 0``; otherwise
  it returns ``NOT_DONE_YET`` and a ``deferLater`` writes the body and finishes the request; a
  client gone meanwhile (``request.notifyFinish()`` errback) cancels it, the documented pattern for
  interrupted responses. Access log off: without ``logPath`` ``HTTPFactory`` still writes a
  combined-log line per request to twisted's global log (``log.logfile``; with no observer started
  those events would pile up in the log beginner's buffer), so the ``Site`` subclass overrides
  ``log`` with a no-op, the way twisted's maintainers point to (twisted issue #9601, "you presently
  have to subclass Site (or HTTPFactory) and override its log method"). ``noisy = False`` (no
  "Starting factory" line), no log observer started. Everything else is twisted.web's default
  (HTTP/1.1 keep-alive, Date and Server headers, 60 s idle timeout). twisted.web keeps no list of
  its connections, so shutdown finds them among the reactor's readers and writers
  (``IReactorFD.getReaders``/``getWriters``: the ``tcp.Server`` transports whose ``getHost()`` is
  this port's) and aborts them.
- ``httptools``: the suite's same parser (``workloads.models.shared.http_parsing.RequestParser``) in
  a ``Protocol`` whose ``dataReceived`` feeds it and writes ``app.response`` with
  ``transport.write`` for each completed request, at once when ``io_s == 0``; when ``io_s > 0`` the
  completed requests are counted and answered one ``deferLater`` after another, in order. As the
  echo protocol, ``TCP_NODELAY`` and the transport registered as its own streaming producer (it
  stops reading while its write buffer is full). A ``ParseError`` closes that connection only.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, cast

from twisted.internet import reactor as _default_reactor
from twisted.internet.defer import CancelledError, Deferred, gatherResults
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.internet.task import deferLater
from twisted.internet.tcp import Connection, Port, Server
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from workloads.models.shared.http_parsing import ParseError, RequestParser
from workloads.runtime.server_control import ServerControl
from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG
from workloads.specs.http_data import CONTENT_TYPE, HttpApp
from workloads.specs.http_server import SAME_PARSER

HTTP_VARIANTS: tuple[str, ...] = ("web", SAME_PARSER)

reactor: Any = _default_reactor
"""The installed reactor; twisted types it as a module, so it is re-bound as ``Any`` for mypy."""

RunInReactor = Callable[..., Any]
"""The model's ``_run_in_reactor(coroutine_function, *args)``: runs it in the reactor thread, returns its result."""
StopReader = Callable[[int], Any]
"""The model's ``_Readable(fd)``: an ``IReadDescriptor`` whose ``readable`` Deferred fires once ``fd`` is readable."""
HttpServerFunction = Callable[[str, ServerControl, HttpApp], None]


def _cancelled(failure: Failure) -> None:
    failure.trap(CancelledError)  # the IO call of a connection that went away; anything else propagates


# -- web (twisted.web's own server) -------------------------------------------


class _Page(Resource):
    """``GET /``: the body, at once or after the IO call; Content-Type and Content-Length always set."""

    isLeaf = True

    def __init__(self, app: HttpApp) -> None:
        super().__init__()
        self._body = app.body
        self._io_s = app.io_s
        self._length = b"%d" % len(app.body)
        self._content_type = CONTENT_TYPE.encode("ascii")

    def render_GET(self, request: Request) -> bytes | int:
        request.setHeader(b"Content-Type", self._content_type)
        request.setHeader(b"Content-Length", self._length)
        if self._io_s <= 0:
            return self._body
        answered = deferLater(reactor, self._io_s, self._answer, request)
        answered.addErrback(_cancelled)
        request.notifyFinish().addErrback(lambda _: answered.cancel())
        return NOT_DONE_YET

    def _answer(self, request: Request) -> None:
        request.write(self._body)
        request.finish()


class _Site(Site):
    """twisted.web's ``Site`` without its access log."""

    noisy = False

    def log(self, request: Any) -> None:
        """No access log (twisted issue #9601: overriding ``log`` is how to change or drop it)."""


class _WebServer:
    def __init__(self, app: HttpApp) -> None:
        self._site = _Site(_Page(app))
        self.port: Port = reactor.listenTCP(0, self._site, backlog=LISTEN_BACKLOG, interface=ECHO_HOST)
        self._host = self.port.getHost()  # read now: a port that stopped listening has no socket

    async def close(self) -> None:
        # twisted.web keeps no list of its connections: they are the reactor's descriptors (readers, or
        # writers while their reading is paused) whose local address is this port's.
        host = self._host
        transports = {
            descriptor
            for descriptor in [*reactor.getReaders(), *reactor.getWriters()]
            if isinstance(descriptor, Server) and descriptor.getHost() == host
        }
        for transport in transports:
            transport.abortConnection()
        while any(transport.connected for transport in transports):
            await deferLater(reactor, 0)  # abortConnection calls connectionLost from the reactor's next turn


# -- httptools (the same parser) ----------------------------------------------


class _SameParser(Protocol):
    """Feeds the parser; answers each completed request with ``app.response``, in order."""

    def __init__(self, app: HttpApp, open_connections: dict[_SameParser, Deferred[None]]) -> None:
        self._response = app.response
        self._io_s = app.io_s
        self._open = open_connections
        self._parser = RequestParser()
        self._waiting = 0
        """Requests completed and not answered yet (io_s > 0 only)."""
        self._sleep: Deferred[None] | None = None

    def connectionMade(self) -> None:
        transport = cast(Connection, self.transport)
        transport.setTcpNoDelay(True)
        transport.registerProducer(transport, True)
        self._open[self] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        try:
            completed = self._parser.feed(data)
        except ParseError:
            transport = cast(Connection, self.transport)
            transport.unregisterProducer()  # a transport whose producer is paused would never finish closing
            transport.loseConnection()
            return
        if not completed:
            return
        if self._io_s <= 0:
            write = cast(Connection, self.transport).write
            for _ in range(completed):
                write(self._response)
            return
        self._waiting += completed
        if self._sleep is None:
            self._wait()

    def _wait(self) -> None:
        self._sleep = deferLater(reactor, self._io_s, self._answer)
        self._sleep.addErrback(_cancelled)

    def _answer(self) -> None:
        self._sleep = None
        self._waiting -= 1
        cast(Connection, self.transport).write(self._response)
        if self._waiting:
            self._wait()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._sleep is not None:
            self._sleep.cancel()
        self._open.pop(self).callback(None)


class _SameParserFactory(Factory):
    noisy = False

    def __init__(self, app: HttpApp) -> None:
        self._app = app
        self.open_connections: dict[_SameParser, Deferred[None]] = {}

    def buildProtocol(self, addr: Any) -> _SameParser:
        return _SameParser(self._app, self.open_connections)


class _SameParserServer:
    def __init__(self, app: HttpApp) -> None:
        self._factory = _SameParserFactory(app)
        self.port: Port = reactor.listenTCP(0, self._factory, backlog=LISTEN_BACKLOG, interface=ECHO_HOST)

    async def close(self) -> None:
        connections = self._factory.open_connections
        closed = list(connections.values())
        for protocol in list(connections):
            cast(Connection, protocol.transport).abortConnection()
        await gatherResults(closed, consumeErrors=True)


# -- serving --------------------------------------------------------------------


class _Serving:
    """One server listening in the reactor thread, until its stop reader fires."""

    def __init__(self, variant: str, app: HttpApp, stop: Any) -> None:
        self._server = _WebServer(app) if variant == "web" else _SameParserServer(app)
        self._stop = stop
        reactor.addReader(stop)

    @property
    def port(self) -> int:
        port: int = self._server.port.getHost().port
        return port

    async def serve_until_stopped(self) -> None:
        await self._stop.readable
        stopped = self._server.port.stopListening()
        if stopped is not None:
            await stopped
        await self._server.close()


def http_server_in(run_in_reactor: RunInReactor, stop_reader: StopReader) -> HttpServerFunction:
    """The model interface's ``http_server``, run in the model's reactor thread."""

    async def start(variant: str, app: HttpApp, stop_fd: int) -> _Serving:
        return _Serving(variant, app, stop_reader(stop_fd))

    def http_server(variant: str, control: ServerControl, app: HttpApp) -> None:
        if variant not in HTTP_VARIANTS:
            raise ValueError(f"unknown http_server variant {variant!r}; this model offers {HTTP_VARIANTS}")
        serving: _Serving = run_in_reactor(start, variant, app, control.stop_fd)
        control.listening(serving.port)
        serve: Callable[[], Coroutine[Any, Any, None]] = serving.serve_until_stopped
        run_in_reactor(serve)

    return http_server
