"""asyncio on the default event loop.

APIs: one ``asyncio.Runner`` for the worker's life (the loop is created once,
outside every timed window); tasks are coroutines in an ``asyncio.TaskGroup``,
slept with ``asyncio.sleep``. The echo server comes in two variants so users
see the cost of convenience: ``streams`` (``asyncio.start_server`` with
``StreamReader``/``StreamWriter``, what most code uses) and ``protocol`` (an
``asyncio.Protocol`` writing back in ``data_received``, with flow control).
asyncio's TCP transports set ``TCP_NODELAY`` themselves. The client uses
streams (``open_connection``, ``readexactly``).
"""

from __future__ import annotations

import asyncio
import zlib

from workloads.echo_support import ECHO_HOST, LISTEN_BACKLOG, ServerControl, message
from workloads.window import Window

ECHO_VARIANTS = ("streams", "protocol")

_runner = asyncio.Runner()


# -- sleep_fanout -------------------------------------------------------------


async def _sleep_and_return(index: int, delay: float) -> int:
    await asyncio.sleep(delay)
    return index


async def _sleep_fanout(n: int, delay: float, window: Window) -> list[int]:
    with window:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_sleep_and_return(i, delay)) for i in range(n)]
    return [task.result() for task in tasks]


def sleep_fanout(n: int, delay: float, window: Window) -> list[int]:
    return _runner.run(_sleep_fanout(n, delay, window))


# -- tcp_echo_server ----------------------------------------------------------


class _EchoProtocol(asyncio.Protocol):
    """Echo in the transport callback; stop reading while the peer is slow to read."""

    def __init__(self, open_transports: set[asyncio.BaseTransport]) -> None:
        self._open = open_transports

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._open.add(transport)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

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


async def _serve_echo(variant: str, control: ServerControl) -> None:
    loop = asyncio.get_running_loop()
    transports: set[asyncio.BaseTransport] = set()
    if variant == "protocol":
        server = await loop.create_server(lambda: _EchoProtocol(transports), ECHO_HOST, 0, backlog=LISTEN_BACKLOG)
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


def tcp_echo_server(variant: str, control: ServerControl) -> None:
    _runner.run(_serve_echo(variant, control))


# -- tcp_client ---------------------------------------------------------------


async def _client_connection(index: int, port: int, size: int, round_trips: int) -> int:
    reader, writer = await asyncio.open_connection(ECHO_HOST, port)
    payload = message(index, size)
    crc = 0
    try:
        for _ in range(round_trips):
            writer.write(payload)
            await writer.drain()
            crc = zlib.crc32(await reader.readexactly(size), crc)
    finally:
        writer.close()
        await writer.wait_closed()
    return crc


async def _tcp_client(port: int, connections: int, size: int, round_trips: int, window: Window) -> list[int]:
    with window:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_client_connection(i, port, size, round_trips)) for i in range(connections)]
    return [task.result() for task in tasks]


def tcp_client(port: int, connections: int, message_size: int, round_trips: int, window: Window) -> list[int]:
    return _runner.run(_tcp_client(port, connections, message_size, round_trips, window))
