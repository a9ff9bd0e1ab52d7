"""Progress lines name the running cell and estimate the time left from the planned rounds."""

from __future__ import annotations

import io

from benchmarks.harness.progress import EVERY_S, Progress, format_duration
from tests.session_runner import run_benchmarks


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_estimate_scales_the_time_so_far_by_the_rounds_left() -> None:
    out, clock = io.StringIO(), FakeClock()
    progress = Progress({"a": 10, "b": 10, "c": 20}, out=out, clock=clock)
    progress.cell_started("a")
    clock.now = 20.0
    progress.cell_finished("a")
    assert progress.time_left(clock.now) == 60.0  # 10 of 40 rounds took 20 s: 30 rounds left
    progress.cell_started("b")
    lines = out.getvalue().strip().splitlines()
    assert lines[0].startswith("corobench: cell 1/3 a (0s elapsed, estimating)")
    assert lines[-1] == "corobench: cell 2/3 b (20s elapsed, about 1m00s left)"


def test_lines_are_rate_limited_and_unknown_tests_ignored() -> None:
    out, clock = io.StringIO(), FakeClock()
    progress = Progress({"a": 1, "b": 1}, out=out, clock=clock)
    progress.cell_started("a")
    progress.cell_started("not-a-cell")
    clock.now = EVERY_S / 2
    progress.cell_started("b")
    assert out.getvalue().count("corobench: cell") == 1


def test_format_duration() -> None:
    assert format_duration(5.4) == "5s"
    assert format_duration(125) == "2m05s"


def test_a_real_session_shows_progress_and_keeps_quiet_output(tmp_path: object) -> None:
    session = run_benchmarks("--models=asyncio", "--workloads=sleep_fanout", "--profile=quick", "--no-report")
    assert session.returncode == 0, session.output
    assert "corobench: cell 1/2 benchmarks/test_sleep_fanout.py::test_sleep_fanout[asyncio-n=100-delay=0.01]" in (
        session.output
    )
    assert "2 passed" in session.output
