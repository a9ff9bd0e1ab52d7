"""The timed window: the one place where a workload's duration is measured.

A model marks where its workload starts (just before the first task is spawned)
and ends (the last result collected) with ``with window:``; everything outside
(loop creation, server start-up, result checking) is not timed. The duration
is rounded to the virtual clock's quantum (2**-32 s) here, so the value the
worker reports is exactly the value pytest-benchmark records.

It also reads the CPU seconds the worker's process group used across it (every thread of the worker
and of a model's pool children, ``workloads.runtime.proc.own_group_cpu_seconds``), just before its
start and just after its end, so the reading itself is not timed: what a result cost in cores.
"""

from __future__ import annotations

import time
from types import TracebackType

from workloads.runtime.proc import own_group_cpu_seconds

QUANTA_PER_SECOND = 2**32


def to_quanta(seconds: float) -> int:
    return round(seconds * QUANTA_PER_SECOND)


class Window:
    """Measures one interval with ``time.perf_counter``; usable once per round."""

    last_closed: tuple[float, float] | None = None
    """(start, end) of the window closed last in this process: the worker counts collector pauses in it."""
    last_cpu_s: float | None = None
    """CPU seconds the worker's process group used across the window closed last in this process."""

    def __init__(self) -> None:
        self._start: float | None = None
        self._end: float | None = None
        self._cpu_at_start = 0.0

    def __enter__(self) -> Window:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        if self._start is not None:
            raise RuntimeError("the timed window was opened twice in one round")
        self._cpu_at_start = own_group_cpu_seconds()
        self._start = time.perf_counter()

    def close(self) -> None:
        end = time.perf_counter()
        if self._start is None:
            raise RuntimeError("the timed window was closed before it was opened")
        if self._end is not None:
            raise RuntimeError("the timed window was closed twice in one round")
        self._end = end
        Window.last_closed = (self._start, end)
        Window.last_cpu_s = own_group_cpu_seconds() - self._cpu_at_start

    @property
    def quanta(self) -> int:
        """The measured duration in units of 2**-32 s."""
        if self._start is None or self._end is None:
            raise RuntimeError("the workload never opened and closed its timed window")
        return to_quanta(self._end - self._start)
