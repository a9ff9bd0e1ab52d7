"""asyncio workload code, shared by every model that runs asyncio coroutines.

The ``asyncio`` model runs these on the default event loop and ``uvloop`` on
uvloop's: same code, different loop, so the difference between the two is the
loop alone. Each coroutine matches the model interface of the same name.

APIs: ``asyncio.TaskGroup`` for fan-out, ``asyncio.sleep``; the echo server in
three variants so users see the cost of convenience: ``streams``
(``asyncio.start_server`` with ``StreamReader``/``StreamWriter``, what most
code uses), ``protocol`` (an ``asyncio.Protocol`` writing back in
``data_received``, with flow control) and ``buffered`` (an
``asyncio.BufferedProtocol``: the transport calls ``get_buffer()`` and
``recv_into``s a buffer the protocol owns, then ``buffer_updated(n)``, which
writes those bytes back; no ``bytes`` object and no ``max_size`` (256 KiB)
allocation per read, the expert's fast asyncio server; uvloop supports it,
``uvloop/handles/stream.pyx`` checks for ``get_buffer``); ``*_cold_allocator`` variants run
the same servers in a worker that skipped the allocator warm-up
(``workloads.runtime.allocator``, CPython issue 85451), mapped in
``ECHO_SERVER_OF_VARIANT``. asyncio's TCP transports set
``TCP_NODELAY`` themselves. The client uses streams (``open_connection``,
``readexactly``). Timeouts: ``asyncio.timeout`` per task (3.11+, what
replaces ``wait_for``). Hand-off (``ping_pong``): two tasks in a
``TaskGroup`` over a pair of unbounded ``asyncio.Queue``; ``put_nowait`` sets
the result of the future the waiting ``get`` awaits, and the loop's next turn
resumes that task (a ``call_soon`` of its wake-up), so each hand-off is one
trip through the event loop.

Variant ``eager`` (sleep_fanout, timeout_cancel, cpu_mixed; Python 3.12+):
``loop.set_task_factory(asyncio.eager_task_factory)``, the 3.12 factory that runs each new task
synchronously up to its first suspension ("2x to 5x faster" for some uses, per the 3.12 release
notes); the default variant runs with the loop's default factory. The factory is set on the
runner's loop before each round, outside the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import zlib
from time import perf_counter
from typing import Any, cast

from workloads.runtime.server_control import ServerControl
from workloads.runtime.window import Window
from workloads.specs.cpu_work import burn
from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG, message
from workloads.specs.ping_pong import exchanges

BUFFERED_READ_BYTES = 64 * 1024
"""The ``buffered`` echo server's receive buffer per connection (the most one ``recv_into`` fills)."""

# -- sleep_fanout -------------------------------------------------------------


async def _sleep_and_return(index: int, delay: float) -> tuple[int, float]:
    started = perf_counter()
    await asyncio.sleep(delay)
    return index, perf_counter() - started


async def sleep_fanout(n: int, delay: float, window: Window) -> list[tuple[int, float]]:
    with window:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_sleep_and_return(i, delay)) for i in range(n)]
    return [task.result() for task in tasks]


# -- tcp_echo_server ----------------------------------------------------------


class _EchoProtocol(asyncio.Protocol):
    """Echo in the transport callback; stop reading while the peer is slow to read."""

    def __init__(self, open_transports: set[asyncio.BaseTransport]) -> None:
        self._open = open_transports

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self._open.add(transport)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    def pause_writing(self) -> None:
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._open.discard(self.transport)


class _BufferedEchoProtocol(asyncio.BufferedProtocol):
    """Receive into this protocol's buffer and write those bytes back; flow control as ``_EchoProtocol``.

    The write passes a view of the buffer: asyncio (3.12+) and uvloop keep a reference to whatever
    they could not send at once, so when the transport still holds data after the write, the next
    read goes into a fresh buffer and the old one stays the transport's until it is sent.
    """

    def __init__(self, open_transports: set[asyncio.BaseTransport]) -> None:
        self._open = open_transports
        self._view = memoryview(bytearray(BUFFERED_READ_BYTES))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self._open.add(transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        transport = self.transport
        transport.write(self._view[:nbytes])
        if transport.get_write_buffer_size():  # part of this buffer is still queued: do not overwrite it
            self._view = memoryview(bytearray(BUFFERED_READ_BYTES))

    def pause_writing(self) -> None:
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._open.discard(self.transport)


async def _echo_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(256 * 1024):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _wait_readable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    readable = loop.create_future()
    loop.add_reader(fd, readable.set_result, None)
    try:
        await readable
    finally:
        loop.remove_reader(fd)


ECHO_SERVER_OF_VARIANT = {
    "streams": "streams",
    "protocol": "protocol",
    "buffered": "buffered",
    "streams_cold_allocator": "streams",  # the same server; its worker started in the cold allocator state
    "protocol_cold_allocator": "protocol",
    "buffered_cold_allocator": "buffered",
}


async def tcp_echo_server(variant: str, control: ServerControl) -> None:
    loop = asyncio.get_running_loop()
    transports: set[asyncio.BaseTransport] = set()
    server_kind = ECHO_SERVER_OF_VARIANT[variant]
    if server_kind == "protocol":
        server = await loop.create_server(lambda: _EchoProtocol(transports), ECHO_HOST, 0, backlog=LISTEN_BACKLOG)
    elif server_kind == "buffered":
        server = await loop.create_server(
            lambda: _BufferedEchoProtocol(transports), ECHO_HOST, 0, backlog=LISTEN_BACKLOG
        )
    else:
        handlers: set[asyncio.Task[None]] = set()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            transports.add(writer.transport)
            try:
                await _echo_stream(reader, writer)
            finally:
                handlers.discard(task)
                transports.discard(writer.transport)

        server = await asyncio.start_server(handle, ECHO_HOST, 0, backlog=LISTEN_BACKLOG)
    control.listening(server.sockets[0].getsockname()[1])
    await _wait_readable(control.stop_fd)
    server.close()
    for transport in list(transports):
        transport.close()
    await server.wait_closed()
    await asyncio.sleep(0)  # let connection_lost callbacks and handlers finish


# -- tcp_client ---------------------------------------------------------------


async def echo_connection(index: int, port: int, size: int, round_trips: int) -> int:
    """One echo client connection (streams: write, then readexactly the echo); the crc of what it received."""
    reader, writer = await asyncio.open_connection(ECHO_HOST, port)
    payload = message(index, size)
    crc = 0
    try:
        for _ in range(round_trips):
            # No drain(): one message is in flight at a time, so the write buffer is bounded by it,
            # and draining before reading could deadlock once a message outgrows the socket buffers.
            writer.write(payload)
            crc = zlib.crc32(await reader.readexactly(size), crc)
    finally:
        writer.close()
        await writer.wait_closed()
    return crc


async def tcp_client(port: int, connections: int, size: int, round_trips: int, window: Window) -> list[int]:
    with window:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(echo_connection(i, port, size, round_trips)) for i in range(connections)]
    return [task.result() for task in tasks]


# -- timeout_cancel -----------------------------------------------------------


async def _race_deadline(index: int, delay: float, deadline: float, completed: list[int]) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(deadline):
            await asyncio.sleep(delay)
            completed.append(index)


async def timeout_cancel(delays: list[float], deadline: float, completed: list[int], window: Window) -> None:
    with window:
        async with asyncio.TaskGroup() as group:
            for i, delay in enumerate(delays):
                group.create_task(_race_deadline(i, delay, deadline, completed))


# -- cpu_mixed ----------------------------------------------------------------


async def _io_then_cpu(index: int, delay: float, work: int) -> int:
    await asyncio.sleep(delay)
    return burn(work, index)


async def cpu_mixed(n: int, delay: float, work: int, window: Window) -> list[int]:
    with window:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_io_then_cpu(i, delay, work)) for i in range(n)]
    return [task.result() for task in tasks]


# -- ping_pong ----------------------------------------------------------------


async def _ping(count: int, to_pong: asyncio.Queue[int], to_ping: asyncio.Queue[int], received: list[int]) -> None:
    token = 1
    for _ in range(count):
        to_pong.put_nowait(token)  # unbounded: a put never waits
        token = await to_ping.get()
        received.append(token)
        token += 1


async def _pong(count: int, to_pong: asyncio.Queue[int], to_ping: asyncio.Queue[int], received: list[int]) -> None:
    for _ in range(count):
        token = await to_pong.get()
        received.append(token)
        to_ping.put_nowait(token + 1)


async def ping_pong(handoffs: int, window: Window) -> tuple[list[int], list[int]]:
    to_pong: asyncio.Queue[int] = asyncio.Queue()
    to_ping: asyncio.Queue[int] = asyncio.Queue()
    ping_tokens: list[int] = []
    pong_tokens: list[int] = []
    count = exchanges(handoffs)
    with window:
        async with asyncio.TaskGroup() as group:
            group.create_task(_pong(count, to_pong, to_ping, pong_tokens))
            group.create_task(_ping(count, to_pong, to_ping, ping_tokens))
    return ping_tokens, pong_tokens


def loop_leftovers(loop: asyncio.AbstractEventLoop) -> dict[str, int]:
    """Unfinished tasks on ``loop`` and, on the default loop, live (not cancelled) timers in its heap.

    uvloop's timers live in libuv (its handle set is a C field), so for uvloop only tasks are counted.
    """
    counts = {"tasks": len(asyncio.all_tasks(loop))}
    scheduled: list[asyncio.TimerHandle] | None = getattr(loop, "_scheduled", None)
    if scheduled is not None:
        counts["timers"] = sum(1 for handle in scheduled if not handle.cancelled())
    return counts


EAGER = "eager"


def task_factory(variant: str) -> Any:
    """The task factory a variant runs with: ``asyncio.eager_task_factory`` for ``eager``, else the default."""
    if variant != EAGER:
        return None
    if sys.version_info < (3, 12):
        raise RuntimeError("the eager variant needs asyncio.eager_task_factory, new in Python 3.12")
    return asyncio.eager_task_factory


def eager_factory_for_uvloop(loop: Any, coro: Any, *, eager_start: bool | None = None, **kwargs: Any) -> Any:
    """``asyncio.eager_task_factory`` for uvloop: uvloop 0.22+ passes ``eager_start=`` to the factory on 3.13+,

    which 3.13's ``eager_task_factory`` does not accept (3.14's does, and is eager by default): drop it."""
    return task_factory(EAGER)(loop, coro, **kwargs)


class RunnerModel:
    """The synchronous model interface over these coroutines, all run by one ``asyncio.Runner``."""

    def __init__(self, runner: asyncio.Runner, eager_factory: Any = None) -> None:
        self._runner = runner
        self._eager_factory = eager_factory

    def _use(self, variant: str) -> asyncio.Runner:
        """The runner, its loop's task factory set for ``variant`` (outside the window)."""
        factory = self._eager_factory if variant == EAGER and self._eager_factory else task_factory(variant)
        self._runner.get_loop().set_task_factory(factory)
        return self._runner

    def leftovers(self) -> dict[str, int]:
        return loop_leftovers(self._runner.get_loop())

    def sleep_fanout(self, variant: str, n: int, delay: float, window: Window) -> list[tuple[int, float]]:
        return self._use(variant).run(sleep_fanout(n, delay, window))

    def tcp_echo_server(self, variant: str, control: ServerControl) -> None:
        self._runner.run(tcp_echo_server(variant, control))

    def tcp_client(
        self, variant: str, port: int, connections: int, message_size: int, round_trips: int, window: Window
    ) -> list[int]:
        return self._runner.run(tcp_client(port, connections, message_size, round_trips, window))

    def timeout_cancel(
        self, variant: str, delays: list[float], deadline: float, completed: list[int], window: Window
    ) -> None:
        self._use(variant).run(timeout_cancel(delays, deadline, completed, window))

    def cpu_mixed(self, variant: str, n: int, delay: float, work: int, window: Window) -> list[int]:
        return self._use(variant).run(cpu_mixed(n, delay, work, window))

    def ping_pong(self, variant: str, handoffs: int, window: Window) -> tuple[list[int], list[int]]:
        return self._use(variant).run(ping_pong(handoffs, window))
