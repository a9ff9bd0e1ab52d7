"""The cyclic garbage collector inside a round's timed window: its pauses, counted, and a switch to turn it off.

Fan-out rounds allocate tens of thousands of tracked objects (coroutines, frames, futures, timers),
so the collector runs inside the window: on this machine twisted's N=10 000 fan-out spent more than
half of its round in four full collections in one program and a third in another, with the same
code per task (workloads/models/MEASUREMENTS.md, "the collector's share of a fan-out"). That cost is
real and part of every model's number, but it depends on the program around the tasks, so each
round reports it apart: ``gc_pause_s`` (the summed pauses of collections that started inside the
window) and ``gc_collections`` by generation, from a ``gc.callbacks`` hook. Only the worker's own
process is seen; pool children and subinterpreters collect on their own.

``COROBENCH_GC=off`` turns automatic collection off for the round (the worker still collects before
it): a cross-check switch that separates an implementation from the collector's regime. Every
round records ``gc_automatic``.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

GC_ENV = "COROBENCH_GC"


def automatic() -> bool:
    """False when ``COROBENCH_GC=off``: rounds run with automatic collection disabled."""
    value = os.environ.get(GC_ENV, "on")
    if value not in ("on", "off"):
        raise ValueError(f"{GC_ENV}={value!r}; expected on or off")
    return value == "on"


class CollectorLog:
    """Every collection that ran while the log was attached: (generation, start, seconds)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float, float]] = []
        self._started_at = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started_at = time.perf_counter()
        else:
            self.pauses.append((int(info["generation"]), self._started_at, time.perf_counter() - self._started_at))

    def metrics(self, window: tuple[float, float] | None) -> dict[str, Any]:
        """Pauses of collections that started inside ``window`` (perf_counter start, end); all if None."""
        inside = [p for p in self.pauses if window is None or window[0] <= p[1] <= window[1]]
        counts = [sum(1 for p in inside if p[0] == generation) for generation in range(3)]
        return {"gc_pause_s": sum(p[2] for p in inside), "gc_collections": counts}


@contextmanager
def logged(enabled: bool) -> Iterator[CollectorLog]:
    """Attach a ``CollectorLog`` for the block, with automatic collection on or off as asked."""
    log = CollectorLog()
    was_enabled = gc.isenabled()
    gc.callbacks.append(log)
    if not enabled:
        gc.disable()
    try:
        yield log
    finally:
        gc.callbacks.remove(log)
        if was_enabled:
            gc.enable()
