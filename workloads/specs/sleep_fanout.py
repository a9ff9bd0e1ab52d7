"""Workload ``sleep_fanout``: N tasks each sleep ``delay`` and return their index.

This measures the pure scheduling cost of a model: with a 10 ms delay, an ideal scheduler finishes
in 10 ms whatever N is; everything above is what spawning, timing out and gathering N tasks costs.
A model spawns N tasks with its own primitives inside ``with window:`` and returns the indices the
tasks returned, in any order; the round checks that every index 0..N-1 came back exactly once.
``overhead_per_task_s`` is (median round time - delay) / N.
"""

from __future__ import annotations

from typing import Any, Protocol, TypedDict

from workloads.runtime.errors import WrongResult
from workloads.runtime.window import Window
from workloads.specs.base import Round, Workload, median_growth_per_unit, median_seconds
from workloads.specs.schema import PEAK_RSS, ROUNDS, RSS_PER_TASK, Chart, Metric, Plan, Schema


class Params(TypedDict):
    n: int
    delay: float


class Implements(Protocol):
    def sleep_fanout(self, variant: str, n: int, delay: float, window: Window, /) -> list[int]: ...


DELAY_S = 0.01
SIZES = {"quick": (100, 1000), "default": (100, 1000, 10_000), "full": (100, 1000, 10_000, 100_000)}


class SleepFanout(Workload[Params]):
    schema = Schema(
        name="sleep_fanout",
        order=10,
        question="What does spawning, sleeping and gathering N tasks cost?",
        scenario="many idle tasks",
        metrics=(
            Metric("overhead_per_task_s", "overhead / task", "s", headline=True),
            RSS_PER_TASK,
            PEAK_RSS,
        ),
        charts=(
            Chart(
                "overhead_per_task_s",
                "n",
                "overhead_vs_n",
                "How much time does each model add per task, and does that cost grow as the number of tasks grows?",
            ),
            Chart(
                "rss_per_task_bytes",
                "n",
                "memory_per_task",
                "How many bytes of memory does each concurrent task cost in each model?",
                section="memory",
            ),
        ),
    )

    def grid(self, profile: str) -> list[Params]:
        return [Params(n=n, delay=DELAY_S) for n in SIZES[profile]]

    def plan(self, profile: str) -> Plan:
        return ROUNDS[profile]

    def timeout_s(self, params: Params) -> float:
        return 30.0 + params["n"] * 0.002

    def run_round(self, model: Implements, variant: str, params: Params) -> dict[str, Any]:
        n, delay = int(params["n"]), float(params["delay"])
        if n < 1 or delay < 0:
            raise ValueError(f"sleep_fanout needs n >= 1 and delay >= 0, got n={n}, delay={delay}")
        window = Window()
        results = model.sleep_fanout(variant, n, delay, window)
        check_indices(results, n)
        return {"quanta": window.quanta, "metrics": {"tasks": n}}

    def summarize(self, rounds: list[Round], params: Params) -> dict[str, Any]:
        n = params["n"]
        return {
            "overhead_per_task_s": (median_seconds(rounds) - params["delay"]) / n,
            "rss_per_task_bytes": median_growth_per_unit(rounds, n),
        }


def check_indices(results: list[int], n: int) -> None:
    if len(results) != n:
        raise WrongResult(f"expected {n} task results, got {len(results)}")
    if sorted(results) != list(range(n)):
        missing = sorted(set(range(n)) - set(results))[:5]
        raise WrongResult(f"task results are not each index 0..{n - 1} once; missing e.g. {missing}")


WORKLOAD = SleepFanout()
