"""twisted on its default reactor (epoll on Linux), driven from the worker's synchronous calls.

The reactor: it cannot be restarted (``ReactorNotRestartable``) and the worker
calls these functions synchronously from its main thread, so the reactor runs
once for the worker's life in a daemon thread started on first use
(``reactor.run(installSignalHandlers=False)``), and each call enters it with
``twisted.internet.threads.blockingCallFromThread``, which waits for the
returned Deferred. That hop (~20 us) is outside every timed window: the window
opens and closes inside the reactor thread, and the calling thread sleeps on a
lock meanwhile, so it never competes for the GIL. The alternative, pumping
``reactor.iterate()`` from the calling thread, re-implements the reactor's main
loop by hand, which no twisted user would write. At exit the reactor is stopped
and its thread joined (``atexit``).

- ``sleep_fanout``: each task is the Deferred of
  ``twisted.internet.task.deferLater(reactor, delay, _index, i)``, which fires
  with ``i`` after ``delay``; ``defer.gatherResults`` gathers them
  (``DeferredList`` is what it is built on). This Deferred chain is how a
  twisted expert writes "sleep, then return i": no coroutine per task. One
  ``async def`` per task awaiting ``deferLater``, wrapped with
  ``Deferred.fromCoroutine``, measured ~1.9x slower through the harness at
  N=10000 (medians ~570-600 vs ~305-310 ms; N=1000: ~20-24 vs ~16-17 ms):
  most of the difference is CPython's cyclic GC, since such a task holds ~33
  GC-tracked objects and the full collections its allocations trigger
  traverse them all.
- ``timeout_cancel``: per task ``deferLater(reactor, delay, completed.append, i)``
  with ``Deferred.addTimeout(deadline, reactor)``. On timeout ``addTimeout``
  cancels the Deferred, ``deferLater``'s canceller cancels the pending
  ``DelayedCall``, so a late task's completion code can never run, and the
  Deferred fails with ``defer.TimeoutError``, which an errback traps (anything
  else still fails the gather). ``gatherResults`` waits for all. Measured
  through the harness at N=10000 (deadline 0.5 s), round medians: this form
  ~1.0 s; ``DeferredList(..., consumeErrors=True)`` keeping the failures
  ~1.55 s (5000 live ``Failure`` objects slow every full GC); one coroutine per
  task awaiting the timed ``deferLater`` ~1.35 s; ``addTimeout``'s
  ``onTimeoutCancel`` returning ``None`` instead of the errback ~0.94 s, within
  the noise, and it hides what happened. A task whose sleep and timeout both
  expire while the reactor is busy still completes: the earlier timer fires
  first and its completion runs synchronously, cancelling the timeout.
- ``cpu_mixed``: ``deferLater(reactor, delay, burn, work, i)`` per task,
  gathered in task order with ``gatherResults``.
- ``tcp_echo_server``: a ``Protocol`` whose ``dataReceived`` writes back, on
  ``reactor.listenTCP(0, factory, backlog=..., interface=ECHO_HOST)``. Each
  transport is registered as its own streaming producer, so it stops reading
  while more than its buffer size waits to be written (flow control for peers
  that send without reading; no measurable cost). The protocol is an
  ``IHalfCloseableProtocol``, so a peer's EOF still gets the buffered echo
  before the close (otherwise twisted drops the connection and the echo at
  once). ``stop_fd`` is watched with ``reactor.addReader`` (an
  ``IReadDescriptor``); then the port stops listening and every connection is
  aborted.
- ``tcp_client``: per connection a ``Protocol`` that counts the bytes of the
  echo and sends the next message when the whole echo has arrived, connected
  with ``reactor.connectTCP`` and a per-connection ``ClientFactory`` (not
  noisy); the results are the protocols' Deferreds, gathered.
  ``connectProtocol(TCP4ClientEndpoint(...), protocol)`` measured ~0.3 ms more
  per connection (it defines a factory class per call and wraps it), e.g.
  1000 connections: ~790 vs ~490 ms.
- ``ping_pong``: two ``async def`` coroutines (``Deferred.fromCoroutine``,
  gathered) hand the token over a pair of ``defer.DeferredQueue``: ``get``
  returns a Deferred, ``put`` fires the one a waiting side awaits. A Deferred
  runs its callbacks synchronously when it fires, so the waiting coroutine
  resumes inside the other side's ``put`` (it runs until its own ``get``
  suspends it, then ``put`` returns and the putter's ``get`` finds the reply
  already queued): no hand-off goes through the reactor's loop. That is how
  twisted hands data from one piece of code to another, and this workload
  prices it: a Deferred per waiting ``get`` and a callback chain per hand-off.
"""

from __future__ import annotations

import atexit
import threading
import zlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

from twisted.internet import defer
from twisted.internet import reactor as _default_reactor
from twisted.internet.defer import Deferred, DeferredQueue, gatherResults
from twisted.internet.interfaces import IHalfCloseableProtocol, IReadDescriptor
from twisted.internet.protocol import ClientFactory, Factory, Protocol, connectionDone
from twisted.internet.task import deferLater
from twisted.internet.tcp import Connection, Port
from twisted.internet.threads import blockingCallFromThread
from twisted.python.failure import Failure
from zope.interface import implementer

from workloads.runtime.server_control import ServerControl
from workloads.runtime.window import Window
from workloads.specs.cpu_work import burn
from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG, message
from workloads.specs.ping_pong import exchanges

ECHO_VARIANTS: tuple[str, ...] = ("default",)

reactor: Any = _default_reactor
"""The installed reactor; twisted types it as a module, so it is re-bound as ``Any`` for mypy."""

_T = TypeVar("_T")
_reactor_thread: threading.Thread | None = None
_reactor_thread_lock = threading.Lock()


def _stop_reactor() -> None:
    if _reactor_thread is not None and _reactor_thread.is_alive():
        reactor.callFromThread(reactor.stop)
        _reactor_thread.join(timeout=5)


def _run_in_reactor(coroutine: Callable[..., Coroutine[Any, Any, _T]], *args: Any) -> _T:
    """Run ``coroutine(*args)`` in the reactor thread and wait for its result (starts the reactor once)."""
    global _reactor_thread
    with _reactor_thread_lock:
        if _reactor_thread is None:
            _reactor_thread = threading.Thread(
                target=reactor.run, kwargs={"installSignalHandlers": False}, name="twisted-reactor", daemon=True
            )
            _reactor_thread.start()
            atexit.register(_stop_reactor)

    def start() -> Deferred[_T]:
        return Deferred.fromCoroutine(coroutine(*args))

    # twisted annotates f as a union of two generic callables, which mypy cannot
    # solve for any argument; the cast only hides that (the Deferred's result is _T).
    result: _T = blockingCallFromThread(reactor, cast(Callable[[], Any], start))
    return result


# -- sleep_fanout -------------------------------------------------------------


def _index(index: int) -> int:
    return index


async def _sleep_fanout(n: int, delay: float, window: Window) -> list[int]:
    with window:
        results = await gatherResults([deferLater(reactor, delay, _index, i) for i in range(n)])
    return results


def sleep_fanout(variant: str, n: int, delay: float, window: Window) -> list[int]:
    return _run_in_reactor(_sleep_fanout, n, delay, window)


# -- tcp_echo_server ----------------------------------------------------------


@implementer(IHalfCloseableProtocol)
class _Echo(Protocol):
    def __init__(self, open_connections: dict[_Echo, Deferred[None]]) -> None:
        self._open = open_connections

    def connectionMade(self) -> None:
        transport = cast(Connection, self.transport)
        transport.setTcpNoDelay(True)
        transport.registerProducer(transport, True)
        self._open[self] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        cast(Connection, self.transport).write(data)

    def readConnectionLost(self) -> None:
        # The peer sent EOF: echo what is still buffered, then close. (Without
        # IHalfCloseableProtocol twisted drops the connection at once, losing
        # the buffered echo.) The producer goes first: a transport whose
        # producer is paused would never finish closing.
        transport = cast(Connection, self.transport)
        transport.unregisterProducer()
        transport.loseConnection()

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._open.pop(self).callback(None)


class _EchoFactory(Factory):
    noisy = False

    def __init__(self) -> None:
        self.open_connections: dict[_Echo, Deferred[None]] = {}

    def buildProtocol(self, addr: Any) -> _Echo:
        return _Echo(self.open_connections)


@implementer(IReadDescriptor)
class _Readable:
    """Fires ``readable`` once when ``fd`` becomes readable; never reads from it."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.readable: Deferred[None] = Deferred()

    def fileno(self) -> int:
        return self._fd

    def doRead(self) -> None:
        reactor.removeReader(self)
        self.readable.callback(None)

    def connectionLost(self, reason: Failure) -> None:
        pass

    def logPrefix(self) -> str:
        return "stop_fd"


class _EchoServer:
    def __init__(self, stop_fd: int) -> None:
        self._factory = _EchoFactory()
        self._port: Port = reactor.listenTCP(0, self._factory, backlog=LISTEN_BACKLOG, interface=ECHO_HOST)
        self._stop = _Readable(stop_fd)
        reactor.addReader(self._stop)

    @property
    def port(self) -> int:
        port: int = self._port.getHost().port
        return port

    async def serve_until_stopped(self) -> None:
        await self._stop.readable
        stopped = self._port.stopListening()
        if stopped is not None:
            await stopped
        connections = self._factory.open_connections
        closed = list(connections.values())
        for protocol in list(connections):
            cast(Connection, protocol.transport).abortConnection()
        await gatherResults(closed, consumeErrors=True)


async def _start_echo_server(stop_fd: int) -> _EchoServer:
    return _EchoServer(stop_fd)


def tcp_echo_server(variant: str, control: ServerControl) -> None:
    if variant not in ECHO_VARIANTS:
        raise ValueError(f"unknown echo variant {variant!r}; this model offers {ECHO_VARIANTS}")
    server = _run_in_reactor(_start_echo_server, control.stop_fd)
    control.listening(server.port)
    _run_in_reactor(server.serve_until_stopped)


# -- tcp_client ---------------------------------------------------------------


class _EchoClient(Protocol):
    """Closed loop: send the message, count the echo, send again once all of it arrived."""

    def __init__(self, payload: bytes, round_trips: int) -> None:
        self._payload = payload
        self._left = round_trips
        self._received = 0
        self.crc = 0
        self.finished: Deferred[int] = Deferred()

    def connectionMade(self) -> None:
        transport = cast(Connection, self.transport)
        transport.setTcpNoDelay(True)
        if self._left:
            transport.write(self._payload)
        else:
            transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        self.crc = zlib.crc32(data, self.crc)
        self._received += len(data)
        if self._received >= len(self._payload):
            self._received = 0
            self._left -= 1
            transport = cast(Connection, self.transport)
            if self._left:
                transport.write(self._payload)
            else:
                transport.loseConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._left:
            self.finished.errback(reason)
        else:
            self.finished.callback(self.crc)


class _EchoClientFactory(ClientFactory):
    """Builds the one protocol of one connection; a failed connect fails that protocol's result."""

    noisy = False  # no "Starting factory" log event per connection

    def __init__(self, protocol: _EchoClient) -> None:
        self._protocol = protocol

    def buildProtocol(self, addr: Any) -> _EchoClient:
        return self._protocol

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self._protocol.finished.errback(reason)


async def _tcp_client(port: int, connections: int, message_size: int, round_trips: int, window: Window) -> list[int]:
    with window:
        protocols = [_EchoClient(message(i, message_size), round_trips) for i in range(connections)]
        for protocol in protocols:
            reactor.connectTCP(ECHO_HOST, port, _EchoClientFactory(protocol))
        crcs = await gatherResults([protocol.finished for protocol in protocols], consumeErrors=True)
    return crcs


def tcp_client(
    variant: str, port: int, connections: int, message_size: int, round_trips: int, window: Window
) -> list[int]:
    return _run_in_reactor(_tcp_client, port, connections, message_size, round_trips, window)


# -- timeout_cancel -----------------------------------------------------------


def _timed_out(failure: Failure) -> None:
    failure.trap(defer.TimeoutError)  # a late task, cancelled by its timeout; anything else propagates


async def _timeout_cancel(delays: list[float], deadline: float, completed: list[int], window: Window) -> None:
    with window:
        await gatherResults(
            [
                deferLater(reactor, delay, completed.append, i).addTimeout(deadline, reactor).addErrback(_timed_out)
                for i, delay in enumerate(delays)
            ]
        )


def timeout_cancel(variant: str, delays: list[float], deadline: float, completed: list[int], window: Window) -> None:
    _run_in_reactor(_timeout_cancel, delays, deadline, completed, window)


# -- cpu_mixed ----------------------------------------------------------------


async def _cpu_mixed(n: int, delay: float, work: int, window: Window) -> list[int]:
    with window:
        results = await gatherResults([deferLater(reactor, delay, burn, work, i) for i in range(n)])
    return results


def cpu_mixed(variant: str, n: int, delay: float, work: int, window: Window) -> list[int]:
    return _run_in_reactor(_cpu_mixed, n, delay, work, window)


# -- ping_pong ----------------------------------------------------------------


async def _ping(count: int, to_pong: DeferredQueue[int], to_ping: DeferredQueue[int], received: list[int]) -> None:
    token = 1
    for _ in range(count):
        to_pong.put(token)
        token = await to_ping.get()
        received.append(token)
        token += 1


async def _pong(count: int, to_pong: DeferredQueue[int], to_ping: DeferredQueue[int], received: list[int]) -> None:
    for _ in range(count):
        token = await to_pong.get()
        received.append(token)
        to_ping.put(token + 1)


async def _ping_pong(handoffs: int, window: Window) -> tuple[list[int], list[int]]:
    to_pong: DeferredQueue[int] = DeferredQueue()
    to_ping: DeferredQueue[int] = DeferredQueue()
    ping_tokens: list[int] = []
    pong_tokens: list[int] = []
    count = exchanges(handoffs)
    with window:
        await gatherResults(
            [
                Deferred.fromCoroutine(_pong(count, to_pong, to_ping, pong_tokens)),
                Deferred.fromCoroutine(_ping(count, to_pong, to_ping, ping_tokens)),
            ]
        )
    return ping_tokens, pong_tokens


def ping_pong(variant: str, handoffs: int, window: Window) -> tuple[list[int], list[int]]:
    return _run_in_reactor(_ping_pong, handoffs, window)
