"""Progress of a long benchmark session: which cell runs, how many are done, and the time left.

The estimate is the time so far scaled by the planned rounds still to run over the planned rounds
already run (warm-up rounds included): cells differ a lot in round length, so it firms up as the
run goes. Lines go to stderr, at most one every ``EVERY_S`` seconds (and for the first cell), so
pytest's own output on stdout, ``-q`` included, stays as it is; ``-qq`` or
``--benchmark-disable`` turns them off.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

EVERY_S = 15.0


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


@dataclass
class Progress:
    planned_rounds: dict[str, int]
    """Test id -> rounds it will run (warm-up included), in run order."""
    out: TextIO | None = None
    """Where lines go; None: whatever ``sys.stderr`` is when a line is written."""
    clock: Callable[[], float] = field(default=time.monotonic)
    started: float | None = None
    done_rounds: int = 0
    done_cells: int = 0
    last_line: float | None = None

    @property
    def total_rounds(self) -> int:
        return sum(self.planned_rounds.values())

    def time_left(self, now: float) -> float | None:
        if self.started is None or self.done_rounds == 0:
            return None
        return (now - self.started) * (self.total_rounds - self.done_rounds) / self.done_rounds

    def cell_started(self, test_id: str) -> None:
        if test_id not in self.planned_rounds:
            return
        now = self.clock()
        if self.started is None:
            self.started = now
        if self.last_line is not None and now - self.last_line < EVERY_S:
            return
        self.last_line = now
        left = self.time_left(now)
        estimate = "estimating" if left is None else f"about {format_duration(left)} left"
        elapsed = format_duration(now - self.started)
        out = self.out or sys.stderr
        out.write(
            f"\ncorobench: cell {self.done_cells + 1}/{len(self.planned_rounds)} {test_id} "
            f"({elapsed} elapsed, {estimate})\n"
        )
        out.flush()

    def cell_finished(self, test_id: str) -> None:
        rounds = self.planned_rounds.get(test_id)
        if rounds is not None:
            self.done_rounds += rounds
            self.done_cells += 1
