"""A clock for pytest-benchmark that advances only by the durations workers report.

pytest-benchmark times ``target()`` as ``timer()`` after minus ``timer()``
before. Timing the IPC round trip from here would add 50-400 us of pipe and
scheduler noise to every round, so instead the target advances this clock by
the worker's own in-window duration and pytest-benchmark's statistics equal
the worker's measurements exactly:

- time is an integer count of quanta of 2**-32 s, so sums and differences are
  exact when converted to float seconds (for any run shorter than ~24 days);
- a read that does not follow an advance ticks one quantum, so the clock is
  strictly increasing (pytest-benchmark's precision probe would spin forever
  on a clock that stands still) while the read that follows an advance shows
  exactly that advance.
"""

from __future__ import annotations

from workloads.runtime.window import QUANTA_PER_SECOND


class VirtualClock:
    def __init__(self) -> None:
        self._quanta = 0
        self._advanced = False

    def __call__(self) -> float:
        if self._advanced:
            self._advanced = False
        else:
            self._quanta += 1
        return self._quanta / QUANTA_PER_SECOND

    def advance(self, quanta: int) -> None:
        if quanta < 0:
            raise ValueError(f"a duration cannot be negative: {quanta} quanta")
        self._quanta += quanta
        self._advanced = True

    @property
    def __name__(self) -> str:  # shown by pytest-benchmark as the timer's name
        return "VirtualClock"
