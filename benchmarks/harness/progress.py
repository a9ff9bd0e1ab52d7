"""Progress of a long benchmark session: which cell runs, how many are done, and the time left.

The estimate adds up each pending cell's expected cost, not the share of cells done: cells differ by
a factor of a hundred (a 100-task fan-out against a tcp_latency cell's thirty offered rates). Every cell
has an a-priori cost from its workload (``Workload.expected_cell_s``: processes to start, rounds,
timeouts, the capacity search's steps), and that guess is corrected by what the finished cells of the
same workload really took (the sum of their wall times over the sum of their guesses); a workload
with no finished cell yet takes the ratio of all finished cells. Lines go to stderr, at most one every
``EVERY_S`` seconds (and for the first cell), so pytest's own output on stdout, ``-q`` included, stays
as it is; ``-qq`` or ``--benchmark-disable`` turns them off.
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


@dataclass(frozen=True)
class PlannedCell:
    """A cell the session will run: its workload, and its a-priori cost in seconds."""

    workload: str
    expected_s: float


@dataclass
class Progress:
    planned: dict[str, PlannedCell]
    """Test id -> the cell it runs, in run order (skipped cells left out)."""
    out: TextIO | None = None
    """Where lines go; None: whatever ``sys.stderr`` is when a line is written."""
    clock: Callable[[], float] = field(default=time.monotonic)
    started: float | None = None
    last_line: float | None = None
    finished: dict[str, float] = field(default_factory=dict)
    """Test id -> the wall seconds it took."""
    _running: tuple[str, float] | None = None

    @property
    def done_cells(self) -> int:
        return len(self.finished)

    def correction(self, workload: str) -> float:
        """Real over expected seconds of the finished cells of ``workload`` (of all cells while it has none)."""
        for same_workload in (True, False):
            done = [
                (self.planned[t].expected_s, seconds)
                for t, seconds in self.finished.items()
                if not same_workload or self.planned[t].workload == workload
            ]
            expected = sum(e for e, _ in done)
            if expected > 0:
                return sum(s for _, s in done) / expected
        return 1.0

    def time_left(self, now: float) -> float | None:
        """Seconds the pending cells should take, the running one's time so far deducted; None before any finished."""
        if self.started is None or not self.finished:
            return None
        left = 0.0
        for test_id, cell in self.planned.items():
            if test_id in self.finished:
                continue
            expected = cell.expected_s * self.correction(cell.workload)
            if self._running is not None and self._running[0] == test_id:
                expected = max(0.0, expected - (now - self._running[1]))
            left += expected
        return left

    def cell_started(self, test_id: str) -> None:
        if test_id not in self.planned:
            return
        now = self.clock()
        if self.started is None:
            self.started = now
        self._running = (test_id, now)
        if self.last_line is not None and now - self.last_line < EVERY_S:
            return
        self.last_line = now
        left = self.time_left(now)
        estimate = "estimating" if left is None else f"about {format_duration(left)} left"
        elapsed = format_duration(now - self.started)
        out = self.out or sys.stderr
        out.write(
            f"\ncorobench: cell {self.done_cells + 1}/{len(self.planned)} {test_id} ({elapsed} elapsed, {estimate})\n"
        )
        out.flush()

    def cell_finished(self, test_id: str) -> None:
        if test_id not in self.planned:
            return
        now = self.clock()
        began = self._running[1] if self._running is not None and self._running[0] == test_id else now
        self.finished[test_id] = now - began
        self._running = None
