"""trio: structured concurrency, every task in a nursery.

APIs: ``trio.open_nursery`` + ``nursery.start_soon`` for fan-out (the nursery
block ends when every child has finished, so leaving it *is* the gather) and
``trio.sleep``; timeouts ``trio.move_on_after`` per task; echo server
``trio.open_tcp_listeners`` + ``trio.serve_listeners`` with
``SocketStream.receive_some``/``send_all`` (trio's ``SocketStream`` sets
``TCP_NODELAY`` itself); client ``trio.open_tcp_stream``; the stop pipe is
awaited with ``trio.lowlevel.wait_readable``. trio has no loop that outlives
``trio.run``, so each request is one ``trio.run``; its set-up stays outside
the timed window, which opens inside.

Hand-off (``ping_pong``): two tasks in a nursery over a pair of
``trio.open_memory_channel(0)``, trio's documented way for tasks to talk.
Capacity 0 makes each channel a rendezvous: ``send`` to a waiting receiver
reschedules it with the token (``send_nowait``) and then passes a checkpoint,
so each hand-off is one trip through trio's run loop.

HTTP (``http_server``, ``workloads.models.http_trio``): h11 (trio's usual HTTP/1.1 pairing) or the
same parser (httptools) over the echo server's listeners and ``SocketStream``.
"""

from __future__ import annotations

import zlib
from functools import partial
from time import perf_counter

import trio

from workloads.models.http_trio import http_server as http_server
from workloads.runtime.server_control import ServerControl
from workloads.runtime.window import Window
from workloads.specs.cpu_work import burn
from workloads.specs.echo_data import ECHO_HOST, LISTEN_BACKLOG, message
from workloads.specs.ping_pong import exchanges

LEFTOVERS_UNOBSERVABLE = (
    "each round is one trio.run, which returns only after every task of its nurseries has finished, "
    "and its run state (tasks, deadlines) is gone with it: between rounds there is nothing left to look at"
)


async def _sleep_and_record(index: int, delay: float, results: list[tuple[int, float]]) -> None:
    started = perf_counter()
    await trio.sleep(delay)
    results.append((index, perf_counter() - started))


async def _sleep_fanout(n: int, delay: float, window: Window) -> list[tuple[int, float]]:
    results: list[tuple[int, float]] = []
    with window:
        async with trio.open_nursery() as nursery:
            for i in range(n):
                nursery.start_soon(_sleep_and_record, i, delay, results)
    return results


def sleep_fanout(variant: str, n: int, delay: float, window: Window) -> list[tuple[int, float]]:
    return trio.run(_sleep_fanout, n, delay, window)


async def _echo(stream: trio.SocketStream) -> None:
    async with stream:
        try:
            while data := await stream.receive_some():  # trio's default size, 64 KiB
                await stream.send_all(data)
        except trio.BrokenResourceError:
            pass  # the client went away mid-message; only this connection ends


async def _serve_echo(control: ServerControl) -> None:
    listeners = await trio.open_tcp_listeners(0, host=ECHO_HOST, backlog=LISTEN_BACKLOG)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(trio.serve_listeners, _echo, listeners))
        control.listening(listeners[0].socket.getsockname()[1])
        await trio.lowlevel.wait_readable(control.stop_fd)
        nursery.cancel_scope.cancel()  # closes the listeners and every connection's stream


def tcp_echo_server(variant: str, control: ServerControl) -> None:
    trio.run(_serve_echo, control)


async def _client_connection(index: int, port: int, size: int, round_trips: int, crcs: list[int]) -> None:
    payload = message(index, size)
    crc = 0
    async with await trio.open_tcp_stream(ECHO_HOST, port) as stream:
        for _ in range(round_trips):
            await stream.send_all(payload)
            remaining = size
            while remaining:
                chunk = await stream.receive_some(remaining)
                if not chunk:
                    raise ConnectionError(f"connection {index}: the server closed mid-echo")
                crc = zlib.crc32(chunk, crc)
                remaining -= len(chunk)
    crcs[index] = crc


async def _tcp_client(port: int, connections: int, size: int, round_trips: int, window: Window) -> list[int]:
    crcs = [0] * connections
    with window:
        async with trio.open_nursery() as nursery:
            for i in range(connections):
                nursery.start_soon(_client_connection, i, port, size, round_trips, crcs)
    return crcs


def tcp_client(
    variant: str, port: int, connections: int, message_size: int, round_trips: int, window: Window
) -> list[int]:
    return trio.run(_tcp_client, port, connections, message_size, round_trips, window)


async def _race_deadline(index: int, delay: float, deadline: float, completed: list[int]) -> None:
    with trio.move_on_after(deadline):
        await trio.sleep(delay)
        completed.append(index)


async def _timeout_cancel(delays: list[float], deadline: float, completed: list[int], window: Window) -> None:
    with window:
        async with trio.open_nursery() as nursery:
            for i, delay in enumerate(delays):
                nursery.start_soon(_race_deadline, i, delay, deadline, completed)


def timeout_cancel(variant: str, delays: list[float], deadline: float, completed: list[int], window: Window) -> None:
    trio.run(_timeout_cancel, delays, deadline, completed, window)


async def _io_then_cpu(index: int, delay: float, work: int, results: list[int]) -> None:
    await trio.sleep(delay)
    results[index] = burn(work, index)


async def _cpu_mixed(n: int, delay: float, work: int, window: Window) -> list[int]:
    results = [0] * n
    with window:
        async with trio.open_nursery() as nursery:
            for i in range(n):
                nursery.start_soon(_io_then_cpu, i, delay, work, results)
    return results


def cpu_mixed(variant: str, n: int, delay: float, work: int, window: Window) -> list[int]:
    return trio.run(_cpu_mixed, n, delay, work, window)


async def _ping(
    count: int, to_pong: trio.MemorySendChannel[int], from_pong: trio.MemoryReceiveChannel[int], received: list[int]
) -> None:
    token = 1
    for _ in range(count):
        await to_pong.send(token)
        token = await from_pong.receive()
        received.append(token)
        token += 1


async def _pong(
    count: int, to_ping: trio.MemorySendChannel[int], from_ping: trio.MemoryReceiveChannel[int], received: list[int]
) -> None:
    for _ in range(count):
        token = await from_ping.receive()
        received.append(token)
        await to_ping.send(token + 1)


async def _ping_pong(handoffs: int, window: Window) -> tuple[list[int], list[int]]:
    to_pong, from_ping = trio.open_memory_channel[int](0)
    to_ping, from_pong = trio.open_memory_channel[int](0)
    ping_tokens: list[int] = []
    pong_tokens: list[int] = []
    count = exchanges(handoffs)
    with window:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_pong, count, to_ping, from_ping, pong_tokens)
            nursery.start_soon(_ping, count, to_pong, from_pong, ping_tokens)
    return ping_tokens, pong_tokens


def ping_pong(variant: str, handoffs: int, window: Window) -> tuple[list[int], list[int]]:
    return trio.run(_ping_pong, handoffs, window)
