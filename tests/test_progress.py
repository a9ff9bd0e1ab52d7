"""Progress lines name the running cell and estimate the time left from each pending cell's expected cost."""

from __future__ import annotations

import io

from benchmarks.harness.progress import EVERY_S, PlannedCell, Progress, format_duration
from tests.session_runner import run_benchmarks
from workloads.interface import WORKLOADS


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def cells(**costs: tuple[str, float]) -> dict[str, PlannedCell]:
    return {name: PlannedCell(workload, expected) for name, (workload, expected) in costs.items()}


def test_the_estimate_adds_each_pending_cells_cost_corrected_by_its_workloads_finished_cells() -> None:
    out, clock = io.StringIO(), FakeClock()
    progress = Progress(
        cells(a=("fast", 1.0), b=("fast", 1.0), c=("slow", 10.0), d=("slow", 10.0)), out=out, clock=clock
    )
    progress.cell_started("a")
    clock.now = 2.0
    progress.cell_finished("a")  # a fast cell took twice its guess: so does every cell while only "fast" has run
    assert progress.time_left(clock.now) == 2.0 + 20.0 + 20.0
    progress.cell_started("b")
    clock.now = 4.0
    progress.cell_finished("b")
    progress.cell_started("c")
    clock.now = 9.0
    progress.cell_finished("c")  # a slow cell took half its guess: d is corrected by c, not by the fast ones
    assert progress.time_left(clock.now) == 5.0
    progress.cell_started("d")
    clock.now = 12.0  # 3 s into d: 2 s of it left
    assert progress.time_left(clock.now) == 2.0
    lines = out.getvalue().strip().splitlines()
    assert lines[0].startswith("corobench: cell 1/4 a (0s elapsed, estimating)")


def test_the_running_cell_counts_what_is_left_of_it_never_less_than_nothing() -> None:
    clock = FakeClock()
    progress = Progress(cells(a=("w", 1.0), b=("w", 1.0)), clock=clock, out=io.StringIO())
    progress.cell_started("a")
    clock.now = 1.0
    progress.cell_finished("a")
    progress.cell_started("b")
    clock.now = 50.0  # far past its estimate
    assert progress.time_left(clock.now) == 0.0


def test_lines_are_rate_limited_and_unknown_tests_ignored() -> None:
    out, clock = io.StringIO(), FakeClock()
    progress = Progress(cells(a=("w", 1.0), b=("w", 1.0)), out=out, clock=clock)
    progress.cell_started("a")
    progress.cell_started("not-a-cell")
    clock.now = EVERY_S / 2
    progress.cell_started("b")
    assert out.getvalue().count("corobench: cell") == 1


def test_every_workload_guesses_a_positive_cost_for_every_cell_of_every_profile() -> None:
    for workload in WORKLOADS:
        for profile in ("quick", "default", "full"):
            for params in workload.grid(profile):
                assert workload.expected_cell_s(params, workload.plan(profile), profile) > 0, (workload.name, params)


def test_format_duration() -> None:
    assert format_duration(5.4) == "5s"
    assert format_duration(125) == "2m05s"


def test_a_real_session_shows_progress_and_keeps_quiet_output(tmp_path: object) -> None:
    session = run_benchmarks("--models=asyncio,threads", "--workloads=sleep_fanout", "--profile=quick", "--no-report")
    assert session.returncode == 0, session.output
    assert "corobench: cell 1/2 benchmarks/test_sleep_fanout.py::test_sleep_fanout[asyncio-n=1000-delay=0.01]" in (
        session.output
    )
    assert "2 passed" in session.output
