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

Variants for ``sleep_fanout``, ``timeout_cancel`` and ``cpu_mixed`` (``TASK_VARIANTS``):
``coroutines`` (the default) runs one ``async def`` per task awaiting
``twisted.internet.task.deferLater(reactor, delay)``, wrapped with
``Deferred.fromCoroutine``, as every other model runs one task (coroutine,
greenlet, thread) per task; ``chains`` is the Deferred-chain form a twisted
expert may write for "sleep, then do X": ``deferLater(reactor, delay, X, i)``
with no coroutine per task, which does less per task than any other model, so it
is measured apart (see ``workloads/models/MEASUREMENTS.md``). Both gather with
``defer.gatherResults`` (what ``DeferredList`` does, failing on the first error).

- ``sleep_fanout``: ``coroutines``: the coroutine reads ``perf_counter`` around
  ``await deferLater(reactor, delay)`` and returns ``(i, slept)``; ``chains``:
  ``deferLater(reactor, delay, _slept, i, perf_counter())``.
- ``timeout_cancel``: each task's Deferred (the coroutine's, or ``deferLater``'s
  calling ``completed.append``) gets ``Deferred.addTimeout(deadline, reactor)``:
  on timeout it cancels the Deferred; cancelling a coroutine's Deferred cancels
  the ``deferLater`` it awaits, whose canceller cancels the pending
  ``DelayedCall``, so a late task's completion code can never run, and the
  Deferred fails with ``defer.TimeoutError``, which an errback traps (anything
  else still fails the gather). Not ``DeferredList(..., consumeErrors=True)``
  (keeping 5000 ``Failure`` objects slows every full GC), not ``onTimeoutCancel``
  returning ``None`` (it hides what happened). A task whose sleep and timeout
  both expire while the reactor is busy still completes: the earlier timer fires
  first and the completion runs synchronously, cancelling the timeout.
- ``cpu_mixed``: ``coroutines``: ``await deferLater(reactor, delay)`` then
  ``burn``; ``chains``: ``deferLater(reactor, delay, burn, work, i)``; gathered
  in task order with ``gatherResults``.
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
- ``http_server``: ``twisted.web.server.Site`` over one leaf ``Resource`` (default), or the same
  parser in a ``Protocol``, on ``listenTCP`` like the echo server, through this module's reactor
  thread and stop reader (see ``workloads.models.http_twisted``).
- ``tcp_client``: per connection a ``Protocol`` that counts the bytes of the
  echo and sends the next message when the whole echo has arrived, connected
  with ``reactor.connectTCP`` and a per-connection ``ClientFactory`` (not
  noisy); the results are the protocols' Deferreds, gathered. Not
  ``connectProtocol(TCP4ClientEndpoint(...), protocol)``: it defines a factory
  class per call and wraps it (slower per connection, see MEASUREMENTS.md).
- ``ping_pong``: two ``async def`` coroutines (``Deferred.fromCoroutine``,
  gathered) hand the token over a pair of ``defer.DeferredQueue``: ``get``
  returns a Deferred, ``put`` fires the one a waiting side awaits.
  - ``scheduled`` (default): each side hands over with
    ``reactor.callLater(0, queue.put, token)``, so the token waits in the
    reactor and the other side resumes from the reactor's next iteration: one
    scheduler round trip per hand-off, as asyncio's ``Queue`` (a future's
    callbacks go through ``call_soon``), trio's channels and gevent's hub make.
    ``callLater(0, ...)`` is twisted's documented way to run something on the
    reactor's next turn.
  - ``callbacks``: ``queue.put(token)`` directly. A Deferred runs its callbacks
    synchronously when it fires, so the waiting coroutine resumes inside the
    other side's ``put`` (it runs until its own ``get`` suspends it, then
    ``put`` returns and the putter's ``get`` finds the reply already queued):
    no hand-off goes through the reactor. That is how twisted hands data from
    one piece of code to another, and it is priced here, but it is a call
    stack, not a scheduler round trip: saved as ``unranked`` and never ranked
    against the other rows.
"""

from __future__ import annotations

import atexit
import threading
import zlib
from collections.abc import Callable, Coroutine
from time import perf_counter
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

from workloads.models.http_twisted import http_server_in
from workloads.runtime.server_control import ServerControl
from workloads.runtime.window import Window
from workloads.specs.cpu_work import burn
from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG, message
from workloads.specs.ping_pong import exchanges

ECHO_VARIANTS: tuple[str, ...] = ("default",)
TASK_VARIANTS: tuple[str, ...] = ("coroutines", "chains")
"""sleep_fanout, timeout_cancel and cpu_mixed: one coroutine per task (default), or Deferred chains."""

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


def _check_variant(workload: str, variant: str) -> None:
    if variant not in TASK_VARIANTS:
        raise ValueError(f"unknown {workload} variant {variant!r}; this model offers {TASK_VARIANTS}")


async def _delayed_calls() -> dict[str, int]:
    return {"delayed_calls": len(reactor.getDelayedCalls())}


def leftovers() -> dict[str, int]:
    """The reactor's pending (not cancelled) delayed calls, read in the reactor thread."""
    return _run_in_reactor(_delayed_calls)


# -- sleep_fanout -------------------------------------------------------------


async def _sleep_and_return(index: int, delay: float) -> tuple[int, float]:
    started = perf_counter()
    await deferLater(reactor, delay)
    return index, perf_counter() - started


def _slept(index: int, started: float) -> tuple[int, float]:
    return index, perf_counter() - started


async def _sleep_fanout(variant: str, n: int, delay: float, window: Window) -> list[tuple[int, float]]:
    with window:
        if variant == "coroutines":
            tasks = [Deferred.fromCoroutine(_sleep_and_return(i, delay)) for i in range(n)]
        else:
            tasks = [deferLater(reactor, delay, _slept, i, perf_counter()) for i in range(n)]
        results = await gatherResults(tasks)
    return results


def sleep_fanout(variant: str, n: int, delay: float, window: Window) -> list[tuple[int, float]]:
    _check_variant("sleep_fanout", variant)
    return _run_in_reactor(_sleep_fanout, variant, n, delay, window)


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


http_server = http_server_in(_run_in_reactor, _Readable)


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


async def _sleep_then_complete(index: int, delay: float, completed: list[int]) -> None:
    await deferLater(reactor, delay)
    completed.append(index)


async def _timeout_cancel(
    variant: str, delays: list[float], deadline: float, completed: list[int], window: Window
) -> None:
    with window:
        if variant == "coroutines":
            tasks = [
                Deferred.fromCoroutine(_sleep_then_complete(i, delay, completed)) for i, delay in enumerate(delays)
            ]
        else:
            tasks = [deferLater(reactor, delay, completed.append, i) for i, delay in enumerate(delays)]
        await gatherResults([task.addTimeout(deadline, reactor).addErrback(_timed_out) for task in tasks])


def timeout_cancel(variant: str, delays: list[float], deadline: float, completed: list[int], window: Window) -> None:
    _check_variant("timeout_cancel", variant)
    _run_in_reactor(_timeout_cancel, variant, delays, deadline, completed, window)


# -- cpu_mixed ----------------------------------------------------------------


async def _io_then_cpu(index: int, delay: float, work: int) -> int:
    await deferLater(reactor, delay)
    return burn(work, index)


async def _cpu_mixed(variant: str, n: int, delay: float, work: int, window: Window) -> list[int]:
    with window:
        if variant == "coroutines":
            tasks = [Deferred.fromCoroutine(_io_then_cpu(i, delay, work)) for i in range(n)]
        else:
            tasks = [deferLater(reactor, delay, burn, work, i) for i in range(n)]
        results = await gatherResults(tasks)
    return results


def cpu_mixed(variant: str, n: int, delay: float, work: int, window: Window) -> list[int]:
    _check_variant("cpu_mixed", variant)
    return _run_in_reactor(_cpu_mixed, variant, n, delay, work, window)


# -- ping_pong ----------------------------------------------------------------


Hand = Callable[[DeferredQueue[int], int], object]


def _scheduled(queue: DeferredQueue[int], token: int) -> object:
    """Hand ``token`` over through the reactor: it is put on ``queue`` on the reactor's next iteration."""
    return reactor.callLater(0, queue.put, token)


def _in_call_stack(queue: DeferredQueue[int], token: int) -> object:
    """Hand ``token`` over at once: a waiting ``get``'s Deferred fires, and its coroutine runs, inside this call."""
    queue.put(token)
    return None


HANDS: dict[str, Hand] = {"scheduled": _scheduled, "callbacks": _in_call_stack}


async def _ping(
    count: int, hand: Hand, to_pong: DeferredQueue[int], to_ping: DeferredQueue[int], received: list[int]
) -> None:
    token = 1
    for _ in range(count):
        hand(to_pong, token)
        token = await to_ping.get()
        received.append(token)
        token += 1


async def _pong(
    count: int, hand: Hand, to_pong: DeferredQueue[int], to_ping: DeferredQueue[int], received: list[int]
) -> None:
    for _ in range(count):
        token = await to_pong.get()
        received.append(token)
        hand(to_ping, token + 1)


async def _ping_pong(hand: Hand, handoffs: int, window: Window) -> tuple[list[int], list[int]]:
    to_pong: DeferredQueue[int] = DeferredQueue()
    to_ping: DeferredQueue[int] = DeferredQueue()
    ping_tokens: list[int] = []
    pong_tokens: list[int] = []
    count = exchanges(handoffs)
    with window:
        await gatherResults(
            [
                Deferred.fromCoroutine(_pong(count, hand, to_pong, to_ping, pong_tokens)),
                Deferred.fromCoroutine(_ping(count, hand, to_pong, to_ping, ping_tokens)),
            ]
        )
    return ping_tokens, pong_tokens


def ping_pong(variant: str, handoffs: int, window: Window) -> tuple[list[int], list[int]]:
    if variant not in HANDS:
        raise ValueError(f"twisted has no ping_pong variant {variant!r}; it has {', '.join(HANDS)}")
    return _run_in_reactor(_ping_pong, HANDS[variant], handoffs, window)
