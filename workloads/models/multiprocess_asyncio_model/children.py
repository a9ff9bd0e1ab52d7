"""Code that runs inside the process pool of ``model_multiprocess_asyncio``.

This module is imported by every pool process (it is where the pickled
functions live), so it has NO import-time side effects: no pool, no event loop,
no sockets. Everything below runs only when the parent calls it.

APIs and why:

- ``init_child`` is the pool's ``initializer``: ``prctl(PR_SET_PDEATHSIG,
  SIGKILL)`` through ``ctypes`` (Linux) so a pool process dies with the worker
  that spawned it, even if the worker is SIGKILLed; a ``multiprocessing``
  ``Barrier`` (handed over at process creation, the only way a pool can share a
  synchronisation primitive) lets the parent prove every process is up.
- ``asyncio.run`` once per dispatched slice: each call is a fresh loop, so
  nothing survives between requests in a child. Creating and closing the loop
  is a small cost, paid in parallel by every child; keeping one
  ``asyncio.Runner`` per child measured no consistent gain (MEASUREMENTS.md).
- Sleep fan-out: ``asyncio.TaskGroup`` + ``asyncio.sleep`` over the slice.
- timeout_cancel: the asyncio form over the slice, each task under its own
  ``asyncio.timeout(deadline)``; returns the indices of the tasks that completed
  (the parent's ``completed`` list cannot be shared, so the parent extends it).
- cpu_mixed: ``asyncio.sleep`` then ``cpu_work.burn`` per task; the slice's
  results in task order. The burns of one child serialise on its GIL, but each
  child has its own, so the pool uses every core.
- Echo server: ``workloads.models.shared.multiloop_server.serve_echo`` (one
  ``SO_REUSEPORT`` listener and an ``asyncio.Protocol`` per child; the parent
  submits it by reference), the serving code the other multi-loop models share.
- Echo client: ``asyncio.open_connection`` streams, one task per connection.
  ``writer.write`` without ``drain``: the closed loop bounds the write buffer to
  one message, and draining before reading could deadlock on messages larger
  than the socket buffers (both sides would wait for the other to read).
- ping_pong: the pong side, in one pool process: ``asyncio.open_unix_connection``
  to the parent's socket, then per token ``readexactly`` its 8 bytes
  (``TOKEN``) and ``write`` one more back (no ``drain``: one token is in flight
  at a time). The parent runs the ping side with the same streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import struct
import zlib
from multiprocessing.synchronize import Barrier
from time import perf_counter

from workloads.runtime import allocator
from workloads.specs.cpu_work import burn
from workloads.specs.echo_data import ECHO_HOST, message

_PR_SET_PDEATHSIG = 1
READ_CHUNK_BYTES = 1 << 16

TOKEN = struct.Struct("<Q")
"""A ping_pong token on the wire: 8 bytes, little-endian unsigned."""

_warm_barrier: Barrier | None = None


# -- pool set-up ------------------------------------------------------------------


def init_child(parent_pid: int, warm_barrier: Barrier) -> None:
    """Pool initializer: the worker's allocator state; die with the parent; keep the warm-up barrier."""
    global _warm_barrier
    allocator.prepare()  # a spawned child is a fresh interpreter: as warm as the worker (COROBENCH_ALLOCATOR_STATE)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    _warm_barrier = warm_barrier


def warm_up(timeout: float) -> int:
    """Block until every pool process runs this (so each one is started); return the pid."""
    if _warm_barrier is None:
        raise RuntimeError("the pool was not started with init_child")
    _warm_barrier.wait(timeout)
    return os.getpid()


# -- sleep fan-out ----------------------------------------------------------------


async def _sleep_and_return(index: int, delay: float) -> tuple[int, float]:
    started = perf_counter()
    await asyncio.sleep(delay)
    return index, perf_counter() - started


async def _sleep_slice(start: int, stop: int, delay: float) -> list[tuple[int, float]]:
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(_sleep_and_return(i, delay)) for i in range(start, stop)]
    return [task.result() for task in tasks]


def sleep_slice(start: int, stop: int, delay: float) -> list[tuple[int, float]]:
    """Tasks ``start``..``stop - 1`` of a fan-out, on a fresh event loop; their indices and measured sleeps."""
    return asyncio.run(_sleep_slice(start, stop, delay))


# -- timeout_cancel ---------------------------------------------------------------


async def _race_deadline(index: int, delay: float, deadline: float, completed: list[int]) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(deadline):
            await asyncio.sleep(delay)
            completed.append(index)


async def _timeout_cancel_slice(start: int, delays: list[float], deadline: float) -> list[int]:
    completed: list[int] = []
    async with asyncio.TaskGroup() as group:
        for offset, delay in enumerate(delays):
            group.create_task(_race_deadline(start + offset, delay, deadline, completed))
    return completed


def timeout_cancel_slice(start: int, delays: list[float], deadline: float) -> list[int]:
    """Tasks ``start``.. (one per delay) racing ``deadline``; the indices of those that completed."""
    return asyncio.run(_timeout_cancel_slice(start, delays, deadline))


# -- cpu_mixed --------------------------------------------------------------------


async def _io_then_cpu(index: int, delay: float, work: int) -> int:
    await asyncio.sleep(delay)
    return burn(work, index)


async def _cpu_mixed_slice(start: int, stop: int, delay: float, work: int) -> list[int]:
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(_io_then_cpu(i, delay, work)) for i in range(start, stop)]
    return [task.result() for task in tasks]


def cpu_mixed_slice(start: int, stop: int, delay: float, work: int) -> list[int]:
    """Tasks ``start``..``stop - 1`` of ``cpu_mixed``; their results in task order."""
    return asyncio.run(_cpu_mixed_slice(start, stop, delay, work))


# -- echo client ------------------------------------------------------------------


async def _run_connection(port: int, index: int, message_size: int, round_trips: int) -> int:
    payload = message(index, message_size)
    crc = 0
    reader, writer = await asyncio.open_connection(ECHO_HOST, port)
    try:
        for _ in range(round_trips):
            writer.write(payload)
            remaining = message_size
            while remaining:
                chunk = await reader.read(min(remaining, READ_CHUNK_BYTES))
                if not chunk:
                    raise ConnectionError(f"connection {index}: the server closed before the whole echo arrived")
                crc = zlib.crc32(chunk, crc)
                remaining -= len(chunk)
    finally:
        writer.close()
    await writer.wait_closed()
    return crc


async def _client_slice(port: int, start: int, stop: int, message_size: int, round_trips: int) -> list[int]:
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(_run_connection(port, i, message_size, round_trips)) for i in range(start, stop)]
    return [task.result() for task in tasks]


def client_slice(port: int, start: int, stop: int, message_size: int, round_trips: int) -> list[int]:
    """Echo connections ``start``..``stop - 1``; their crcs in connection order."""
    return asyncio.run(_client_slice(port, start, stop, message_size, round_trips))


# -- ping_pong --------------------------------------------------------------------


async def _pong(path: str, count: int) -> list[int]:
    received: list[int] = []
    reader, writer = await asyncio.open_unix_connection(path)
    try:
        for _ in range(count):
            (token,) = TOKEN.unpack(await reader.readexactly(TOKEN.size))
            received.append(token)
            writer.write(TOKEN.pack(token + 1))
        await writer.drain()
    finally:
        writer.close()
    await writer.wait_closed()
    return received


def pong(path: str, count: int) -> list[int]:
    """The pong side of ``ping_pong`` over the UNIX socket at ``path``: the ``count`` tokens it received."""
    return asyncio.run(_pong(path, count))
