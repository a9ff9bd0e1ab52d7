"""asyncio on the default event loop.

API: one ``asyncio.Runner`` for the worker's life (the loop is created once,
outside every timed window); tasks are coroutines scheduled with
``asyncio.TaskGroup`` and slept with ``asyncio.sleep``.
"""

from __future__ import annotations

import asyncio

from workloads.window import Window

_runner = asyncio.Runner()


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
