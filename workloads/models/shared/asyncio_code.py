"""asyncio workload code, shared by every model that runs asyncio coroutines.

The ``asyncio`` model runs these on the default event loop and ``uvloop`` on
uvloop's: same code, different loop, so the difference between the two is the
loop alone. Each coroutine matches the model interface of the same name.

APIs: ``asyncio.TaskGroup`` for fan-out, ``asyncio.sleep``; the echo server in
two variants so users see the cost of convenience: ``streams``
(``asyncio.start_server`` with ``StreamReader``/``StreamWriter``, what most
code uses) and ``protocol`` (an ``asyncio.Protocol`` writing back in
``data_received``, with flow control). asyncio's TCP transports set
``TCP_NODELAY`` themselves. The client uses streams (``open_connection``,
``readexactly``). Timeouts: ``asyncio.timeout`` per task (3.11+, what
replaces ``wait_for``).

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
from typing import Any, cast

from workloads.runtime.server_control import ServerControl
from workloads.runtime.window import Window
from workloads.specs.cpu_work import burn
from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG, message

# -- sleep_fanout -------------------------------------------------------------


async def _sleep_and_return(index: int, delay: float) -> int:
    await asyncio.sleep(delay)
    return index


async def sleep_fanout(n: int, delay: float, window: Window) -> list[int]:
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


async def tcp_echo_server(variant: str, control: ServerControl) -> None:
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


# -- tcp_client ---------------------------------------------------------------


async def _client_connection(index: int, port: int, size: int, round_trips: int) -> int:
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
            tasks = [group.create_task(_client_connection(i, port, size, round_trips)) for i in range(connections)]
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

    def sleep_fanout(self, variant: str, n: int, delay: float, window: Window) -> list[int]:
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
