"""The cyclic garbage collector around a round: its regime, its pauses inside the window, and its design.

Fan-out rounds allocate tens of thousands of tracked objects (coroutines, frames, futures, timers),
so the collector runs inside the window: on this machine twisted's N=10 000 fan-out spent more than
half of its round in four full collections in one program and a third in another, with the same
code per task (workloads/models/MEASUREMENTS.md, "the collector's share of a fan-out"). That cost is
real and part of every model's number, but it depends on the program around the tasks, so each
round reports it apart: ``gc_pause_s`` (the summed pauses of collections that started inside the
window) and ``gc_collections`` by generation, from a ``gc.callbacks`` hook. Only the worker's own
process is seen; pool children and subinterpreters collect on their own.

``COROBENCH_GC`` (set by the harness from ``--gc``) chooses the regime a worker runs its rounds under:

- ``auto`` (default): CPython's automatic collection, as a program that never tunes it runs;
- ``frozen``: ``gc.collect()`` then ``gc.freeze()`` once, after the model's libraries are imported and
  its fixed set-up is done, so the long-lived heap (modules, classes, the reactor) moves to the
  permanent generation and no full collection walks it again. ``gc.freeze`` was added to CPython for
  this (bpo-31558, from Instagram's pre-fork web servers) and long-running services call it once their
  imports are done; automatic collection stays on for everything made later;
- ``off``: automatic collection disabled inside rounds (the worker still collects between rounds),
  which separates an implementation from the collector altogether.

Every round records ``gc_regime``, ``gc_automatic``, the thresholds in force, the objects frozen, and
``gc_design``: what kind of collector this interpreter has (generational with three generations
through 3.13, where 3.13 raised the young threshold from 700 to 2000; incremental with a young and an
old generation from 3.14; non-generational in free-threaded builds).
"""

from __future__ import annotations

import gc
import os
import sys
import sysconfig
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

GC_ENV = "COROBENCH_GC"
AUTO, FROZEN, OFF = "auto", "frozen", "off"
REGIMES = (AUTO, FROZEN, OFF)
ALIASES = {"on": AUTO}
"""``on`` is what ``COROBENCH_GC`` accepted before the regimes had names."""


def regime(environ: dict[str, str] | None = None) -> str:
    """The regime ``COROBENCH_GC`` names (``auto`` when unset); a ValueError names what it accepts."""
    value = (os.environ if environ is None else environ).get(GC_ENV, AUTO)
    value = ALIASES.get(value, value)
    if value not in REGIMES:
        raise ValueError(f"{GC_ENV}={value!r}; expected one of {', '.join(REGIMES)}")
    return value


def automatic() -> bool:
    """False when ``COROBENCH_GC=off``: rounds run with automatic collection disabled."""
    return regime() != OFF


def freeze_heap() -> int:
    """Collect, then move every object that survived into the permanent generation; return how many."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def design() -> str:
    """What kind of cyclic collector this interpreter runs (its thresholds are read apart)."""
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        return "free-threaded: non-generational, stop-the-world"
    if sys.version_info >= (3, 14):
        return "incremental: young and old generations"
    return "generational: three generations"


def facts(frozen_objects: int) -> dict[str, Any]:
    """The collector's settings a round ran under, recorded with every round."""
    return {
        "gc_thresholds": list(gc.get_threshold()),
        "gc_frozen_objects": frozen_objects,
        "gc_design": design(),
    }


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
