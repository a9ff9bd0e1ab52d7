"""tornado 6 native coroutines on tornado's asyncio-backed IOLoop.

Loop: one module-level ``asyncio.Runner`` for the worker's life; inside it
``IOLoop.current()`` is tornado's wrapper (``AsyncIOMainLoop``) around the
running asyncio loop, so every tornado API below runs on that one loop, created
once, outside every timed window. (An ``IOLoop`` driven by ``run_sync``
measured the same inside the window and adds a callback hop per call.)

- ``sleep_fanout``: each task is a native ``async def`` coroutine that awaits
  ``tornado.gen.sleep``; ``tornado.gen.multi`` turns the coroutines into tasks
  and gathers their results. Not ``@gen.coroutine`` generators (slower).
  ``asyncio.gather`` over the same coroutines costs less CPU because
  ``gen.multi`` registers every task with the IOLoop (an extra set entry and
  done callback per task); ``gen.multi`` stays because it is the tornado idiom
  this model is meant to price. Figures in MEASUREMENTS.md.
- ``tcp_echo_server``: a ``tornado.tcpserver.TCPServer`` subclass whose
  ``handle_stream`` echoes with ``IOStream.read_into(buffer, partial=True)``
  and awaits ``IOStream.write(memoryview)``: tornado reads straight into the
  handler's buffer and queues large writes without a copy, so no byte is
  copied in Python (``read_bytes(..., partial=True)`` served fewer messages/s
  from 16 KiB up; figures in MEASUREMENTS.md). Awaiting the write gives flow
  control (the next read waits until the echo reached the kernel). Sockets
  come from ``tornado.netutil.bind_sockets`` + ``add_sockets`` so the port is
  known; ``stop_fd`` is watched with ``IOLoop.add_handler``.
- ``http_server``: ``tornado.httpserver.HTTPServer`` over a one-handler ``tornado.web.Application``
  (default), or the same parser on a ``TCPServer`` like the echo server's, on this runner (see
  ``workloads.models.http_tornado``).
- ``tcp_client``: ``tornado.tcpclient.TCPClient.connect`` per connection (its
  resolver hops to the executor even for a literal IP, which costs more than
  ``IOStream.connect`` on a raw socket, paid once per connection); each round
  trip queues ``IOStream.write`` and awaits ``IOStream.read_into`` a reused
  buffer (faster than ``read_bytes``). Figures in MEASUREMENTS.md.
  Waiting for the write before reading could deadlock on messages larger than
  the socket buffers, since tornado reads only while a read is pending.
- ``timeout_cancel``: each task is a native coroutine that awaits
  ``asyncio.sleep`` and then runs its completion code inside ``asyncio.timeout``;
  the tasks are gathered with ``gen.multi``. At the deadline ``asyncio.timeout``
  cancels the task itself, so a late task's completion code can never run.
  ``asyncio.sleep`` rather than ``gen.sleep`` because only it can be cancelled:
  ``gen.sleep`` schedules an ``IOLoop.call_later`` whose handle it never keeps
  (tornado/gen.py), so cancelling the task leaves its timer (future, closure,
  ``functools.partial``, asyncio handle) in the loop until it expires as a no-op,
  and the live timers slow the next round's GC (figures in MEASUREMENTS.md;
  tests/test_no_leftovers.py checks that none are left). tornado's
  ``gen`` docs say asyncio's counterparts may be used in native coroutines, and
  tornado runs on the asyncio loop, so this is still tornado code; the other
  workloads keep ``gen.sleep``, which is never cancelled there. Not
  ``gen.with_timeout``: its docs say it does not cancel the wrapped future and
  point to ``asyncio.wait_for`` for that, and tornado itself (``tcpclient``,
  ``locks``) has to cancel the wrapped future by hand afterwards; both
  hand-cancelling forms measured slower and failed the N=1000 and N=10000
  cells (see MEASUREMENTS.md).
- ``cpu_mixed``: native coroutines, ``gen.sleep`` then ``cpu_work.burn``,
  gathered in task order with ``gen.multi`` (``asyncio.gather`` measured the
  same at N=100).
- ``ping_pong``: two native coroutines gathered with ``gen.multi`` hand the
  token over a pair of unbounded ``tornado.queues.Queue``: ``put_nowait`` to a
  waiting ``get`` sets the result of the future it awaits, and the loop's next
  turn resumes that coroutine, so each hand-off is one trip through the
  (asyncio) loop, plus tornado's queue bookkeeping (``get`` makes its own
  ``Future`` first, and ``put_nowait`` sweeps expired getters).
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from asyncio import Future
from time import perf_counter

from tornado import gen
from tornado.ioloop import IOLoop
from tornado.iostream import IOStream, StreamClosedError
from tornado.locks import Event
from tornado.netutil import bind_sockets
from tornado.queues import Queue
from tornado.tcpclient import TCPClient
from tornado.tcpserver import TCPServer

from workloads.models.http_tornado import http_server_on
from workloads.models.shared.asyncio_code import loop_leftovers
from workloads.runtime.server_control import ServerControl
from workloads.runtime.window import Window
from workloads.specs.cpu_work import burn
from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG, message
from workloads.specs.ping_pong import exchanges

ECHO_VARIANTS: tuple[str, ...] = ("default",)

READ_CHUNK = 64 * 1024
"""The echo handler's buffer: the most one ``read_into(partial=True)`` returns (tornado's read chunk size)."""

_runner = asyncio.Runner()
http_server = http_server_on(_runner)


def leftovers() -> dict[str, int]:
    """Unfinished tasks and live timers on the asyncio loop under tornado's IOLoop."""
    return loop_leftovers(_runner.get_loop())


async def _sleep_and_return(index: int, delay: float) -> tuple[int, float]:
    started = perf_counter()
    await gen.sleep(delay)
    return index, perf_counter() - started


async def _sleep_fanout(n: int, delay: float, window: Window) -> list[tuple[int, float]]:
    with window:
        results: list[tuple[int, float]] = await gen.multi([_sleep_and_return(i, delay) for i in range(n)])
    return results


def sleep_fanout(variant: str, n: int, delay: float, window: Window) -> list[tuple[int, float]]:
    return _runner.run(_sleep_fanout(n, delay, window))


class EchoServer(TCPServer):
    """Echoes every byte back on each accepted stream; tracks the live handlers for shutdown."""

    def __init__(self) -> None:
        super().__init__()
        self._echoes: dict[IOStream, Future[None]] = {}

    def handle_stream(self, stream: IOStream, address: tuple[str, int]) -> None:
        # Registered synchronously (like tornado's HTTPServer does with its
        # connections) so close_all_connections sees even a handler that has
        # not run its first step yet.
        self._echoes[stream] = gen.convert_yielded(self._echo(stream))

    async def _echo(self, stream: IOStream) -> None:
        buffer = bytearray(READ_CHUNK)
        view = memoryview(buffer)
        try:
            stream.set_nodelay(True)
            while True:
                received = await stream.read_into(buffer, partial=True)
                # Wait for the write before reusing the buffer: tornado keeps a
                # reference to large writes instead of copying them.
                await stream.write(view[:received])
        except StreamClosedError:
            pass  # the client went away (FIN or reset) or the server is shutting down
        finally:
            stream.close()
            del self._echoes[stream]

    async def close_all_connections(self) -> None:
        handlers = list(self._echoes.values())
        for stream in list(self._echoes):
            stream.close()
        await gen.multi(handlers)


async def _serve(control: ServerControl) -> None:
    io_loop = IOLoop.current()
    stop = Event()
    io_loop.add_handler(control.stop_fd, lambda fd, events: stop.set(), IOLoop.READ)
    server = EchoServer()
    try:
        sockets = bind_sockets(0, ECHO_HOST, backlog=LISTEN_BACKLOG)
        server.add_sockets(sockets)
        control.listening(sockets[0].getsockname()[1])
        await stop.wait()
    finally:
        io_loop.remove_handler(control.stop_fd)
        server.stop()
        await server.close_all_connections()


def tcp_echo_server(variant: str, control: ServerControl) -> None:
    if variant not in ECHO_VARIANTS:
        raise ValueError(f"unknown echo variant {variant!r}; this model offers {ECHO_VARIANTS}")
    _runner.run(_serve(control))


async def _client_connection(client: TCPClient, port: int, index: int, message_size: int, round_trips: int) -> int:
    stream = await client.connect(ECHO_HOST, port)
    try:
        stream.set_nodelay(True)
        payload = message(index, message_size)
        echo = bytearray(message_size)
        crc = 0
        for _ in range(round_trips):
            stream.write(payload)
            await stream.read_into(echo)
            crc = zlib.crc32(echo, crc)
    finally:
        stream.close()
    return crc


async def _tcp_client(port: int, connections: int, message_size: int, round_trips: int, window: Window) -> list[int]:
    client = TCPClient()
    try:
        with window:
            crcs: list[int] = await gen.multi(
                [_client_connection(client, port, i, message_size, round_trips) for i in range(connections)]
            )
    finally:
        client.close()
    return crcs


def tcp_client(
    variant: str, port: int, connections: int, message_size: int, round_trips: int, window: Window
) -> list[int]:
    return _runner.run(_tcp_client(port, connections, message_size, round_trips, window))


async def _race_deadline(index: int, delay: float, deadline: float, completed: list[int]) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(deadline):
            await asyncio.sleep(delay)  # cancellable, unlike gen.sleep (see the module docstring)
            completed.append(index)


async def _timeout_cancel(delays: list[float], deadline: float, completed: list[int], window: Window) -> None:
    with window:
        await gen.multi([_race_deadline(i, delay, deadline, completed) for i, delay in enumerate(delays)])


def timeout_cancel(variant: str, delays: list[float], deadline: float, completed: list[int], window: Window) -> None:
    _runner.run(_timeout_cancel(delays, deadline, completed, window))


async def _io_then_cpu(index: int, delay: float, work: int) -> int:
    await gen.sleep(delay)
    return burn(work, index)


async def _cpu_mixed(n: int, delay: float, work: int, window: Window) -> list[int]:
    with window:
        results: list[int] = await gen.multi([_io_then_cpu(i, delay, work) for i in range(n)])
    return results


def cpu_mixed(variant: str, n: int, delay: float, work: int, window: Window) -> list[int]:
    return _runner.run(_cpu_mixed(n, delay, work, window))


async def _ping(count: int, to_pong: Queue[int], to_ping: Queue[int], received: list[int]) -> None:
    token = 1
    for _ in range(count):
        to_pong.put_nowait(token)  # unbounded: a put never waits
        token = await to_ping.get()
        received.append(token)
        token += 1


async def _pong(count: int, to_pong: Queue[int], to_ping: Queue[int], received: list[int]) -> None:
    for _ in range(count):
        token = await to_pong.get()
        received.append(token)
        to_ping.put_nowait(token + 1)


async def _ping_pong(handoffs: int, window: Window) -> tuple[list[int], list[int]]:
    to_pong: Queue[int] = Queue()
    to_ping: Queue[int] = Queue()
    ping_tokens: list[int] = []
    pong_tokens: list[int] = []
    count = exchanges(handoffs)
    with window:
        await gen.multi([_pong(count, to_pong, to_ping, pong_tokens), _ping(count, to_pong, to_ping, ping_tokens)])
    return ping_tokens, pong_tokens


def ping_pong(variant: str, handoffs: int, window: Window) -> tuple[list[int], list[int]]:
    return _runner.run(_ping_pong(handoffs, window))
