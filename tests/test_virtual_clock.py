"""The virtual clock gives pytest-benchmark exactly the durations the workers report."""

from __future__ import annotations

import pytest

from benchmarks.harness.virtual_clock import VirtualClock
from workloads.runtime.window import QUANTA_PER_SECOND, Window, to_quanta


def test_reads_after_an_advance_differ_by_exactly_the_advance() -> None:
    clock = VirtualClock()
    for quanta in (1, 12345, 7 * QUANTA_PER_SECOND + 3, 2**40 + 17):
        start = clock()
        clock.advance(quanta)
        assert clock() - start == quanta / QUANTA_PER_SECOND


def test_reads_without_an_advance_tick_so_the_clock_never_stands_still() -> None:
    clock = VirtualClock()
    readings = [clock() for _ in range(5)]
    assert readings == sorted(set(readings))


def test_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError):
        VirtualClock().advance(-1)


def test_window_reports_whole_quanta_of_its_interval() -> None:
    window = Window()
    with window:
        pass
    assert isinstance(window.quanta, int) and window.quanta >= 0
    assert to_quanta(1.0) == QUANTA_PER_SECOND


def test_window_refuses_misuse() -> None:
    with pytest.raises(RuntimeError):
        _ = Window().quanta
    window = Window()
    with window:
        pass
    with pytest.raises(RuntimeError):
        window.open()
