"""asyncio coroutines over one slice of a workload's tasks, for models that split the tasks across loops.

``asyncio_threads`` runs one slice per loop thread, ``interpreters_asyncio`` one per subinterpreter.
Task ``i`` of a slice keeps its global index, so the slices' results concatenate to the whole
round's. The same forms as the single-loop asyncio code: ``asyncio.TaskGroup`` for fan-out,
``asyncio.sleep``, ``asyncio.timeout`` per task (3.11+); the echo client's connections with
``asyncio.open_connection`` streams (``write``, ``readexactly``), one task each. No import-time side effects: a
subinterpreter imports this module to run the plain-function wrappers below (``*_slice``), each of
which runs its slice on a fresh loop with ``asyncio.run`` (about 0.3 ms, paid by every slice in
parallel, as in ``multiprocess_asyncio``'s children).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from typing import TypeVar

from workloads.models.shared.asyncio_code import echo_connection
from workloads.specs.cpu_work import burn

T = TypeVar("T")

# -- coroutines (run on a loop the caller owns) -------------------------------------


async def _sleep_and_return(index: int, delay: float) -> tuple[int, float]:
    started = time.perf_counter()
    await asyncio.sleep(delay)
    return index, time.perf_counter() - started


async def sleep_fanout_slice(start: int, stop: int, delay: float) -> list[tuple[int, float]]:
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(_sleep_and_return(i, delay)) for i in range(start, stop)]
    return [task.result() for task in tasks]


async def _race_deadline(index: int, delay: float, deadline: float, completed: list[int]) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(deadline):
            await asyncio.sleep(delay)
            completed.append(index)


async def timeout_cancel_slice(start: int, delays: list[float], deadline: float, completed: list[int]) -> None:
    """Tasks ``start``.. (one per delay) racing ``deadline``; each that completes appends its index."""
    async with asyncio.TaskGroup() as group:
        for offset, delay in enumerate(delays):
            group.create_task(_race_deadline(start + offset, delay, deadline, completed))


async def _io_then_cpu(index: int, delay: float, work: int) -> int:
    await asyncio.sleep(delay)
    return burn(work, index)


async def cpu_mixed_slice(start: int, stop: int, delay: float, work: int) -> list[int]:
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(_io_then_cpu(i, delay, work)) for i in range(start, stop)]
    return [task.result() for task in tasks]


async def client_slice(port: int, start: int, stop: int, size: int, round_trips: int) -> list[int]:
    """Echo connections ``start``..``stop - 1`` (asyncio streams, as the asyncio model's client); their crcs."""
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(echo_connection(i, port, size, round_trips)) for i in range(start, stop)]
    return [task.result() for task in tasks]


# -- plain functions (what a subinterpreter is asked to call) -------------------------


def run_sleep_fanout_slice(start: int, stop: int, delay: float) -> list[tuple[int, float]]:
    return asyncio.run(sleep_fanout_slice(start, stop, delay))


def run_timeout_cancel_slice(start: int, delays: list[float], deadline: float) -> list[int]:
    """The indices of the slice's tasks that completed (a list in the caller's interpreter cannot be shared)."""
    completed: list[int] = []
    asyncio.run(timeout_cancel_slice(start, delays, deadline, completed))
    return completed


def run_cpu_mixed_slice(start: int, stop: int, delay: float, work: int) -> list[int]:
    return asyncio.run(cpu_mixed_slice(start, stop, delay, work))


def run_client_slice(port: int, start: int, stop: int, size: int, round_trips: int) -> list[int]:
    return asyncio.run(client_slice(port, start, stop, size, round_trips))


def warm_up(hold_s: float) -> int:
    """Hold the calling pool thread briefly (so a pool's first calls each start a thread); its native id."""
    time.sleep(hold_s)
    return threading.get_native_id()


def concatenate(futures: Iterable[Future[list[T]]]) -> list[T]:
    """The slices' results, in slice order, as one list (raises the first slice's exception, if any)."""
    results: list[T] = []
    for future in futures:
        results.extend(future.result())
    return results


def split(total: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous (start, stop) ranges covering 0..total, sizes differing by at most one."""
    parts = max(1, min(parts, total))
    base, extra = divmod(total, parts)
    bounds, start = [], 0
    for part in range(parts):
        stop = start + base + (1 if part < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds
