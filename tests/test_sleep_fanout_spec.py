"""The sleep_fanout definition checks each task's index and flags tasks that woke before their delay."""

from __future__ import annotations

import pytest

from workloads.runtime.errors import WrongResult
from workloads.runtime.window import Window
from workloads.specs.base import Round
from workloads.specs.sleep_fanout import WORKLOAD, Params


class FakeModel:
    """Returns the results it is given, as if its tasks had measured those sleeps."""

    def __init__(self, results: list[tuple[int, float]]) -> None:
        self.results = results

    def sleep_fanout(self, variant: str, n: int, delay: float, window: Window) -> list[tuple[int, float]]:
        with window:
            pass
        return self.results


PARAMS = Params(n=3, delay=0.01)


def test_a_task_that_slept_less_than_its_delay_is_counted_and_flagged() -> None:
    on_time = WORKLOAD.run_round(FakeModel([(0, 0.0101), (1, 0.0100), (2, 0.012)]), "default", PARAMS)
    early = WORKLOAD.run_round(FakeModel([(2, 0.00953), (0, 0.0101), (1, 0.011)]), "default", PARAMS)
    assert on_time["metrics"]["early_wakeups"] == 0 and on_time["metrics"]["shortest_sleep_s"] == 0.0100
    assert early["metrics"]["early_wakeups"] == 1 and early["metrics"]["shortest_sleep_s"] == 0.00953
    rounds = [Round(r["quanta"], r["metrics"]) for r in (on_time, early)]
    summary = WORKLOAD.summarize(rounds, PARAMS)
    assert (summary["shortest_sleep_s"], summary["early_wakeups"], summary["woke_early"]) == (0.00953, 1, True)
    assert WORKLOAD.summarize(rounds[:1], PARAMS)["woke_early"] is False


@pytest.mark.parametrize(
    "results",
    [
        [(0, 0.01), (1, 0.01)],  # a task missing
        [(0, 0.01), (1, 0.01), (1, 0.01)],  # an index twice
        [0, 1, 2],  # bare indices, no measured sleeps
    ],
)
def test_wrong_results_are_rejected(results: list[tuple[int, float]]) -> None:
    with pytest.raises(WrongResult):
        WORKLOAD.run_round(FakeModel(results), "default", PARAMS)
