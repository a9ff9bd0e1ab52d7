"""Workload ``sleep_fanout``: N tasks each sleep ``delay`` and return their index and how long they slept.

This measures the pure scheduling cost of a model: with a 10 ms delay, an ideal scheduler finishes
in 10 ms whatever N is; everything above is what spawning, timing out and gathering N tasks costs.
A model spawns N tasks with its own primitives inside ``with window:``; each task reads
``time.perf_counter()`` just before and just after the model's sleep call and returns
``(index, slept_seconds)``, in any order. The round checks that every index 0..N-1 came back exactly
once. ``overhead_per_task_s`` is (median round time - delay) / N.

Early wake-ups: a sleep must never be shorter than asked, but a loop that keeps a cached or
truncated clock can fire a timer early (libuv truncates its clock to milliseconds: a 10 ms uvloop
sleep returned after 9.53 ms), which would flatter the model's round time. Every round therefore
reports the shortest sleep any task measured and how many tasks slept less than ``delay``; a cell
carries ``shortest_sleep_s`` (least over its rounds), ``early_wakeups`` (tasks over its rounds) and
``woke_early``. The tolerance is 0: on Linux ``perf_counter`` reads CLOCK_MONOTONIC, the clock
asyncio, trio, libev, libuv, eventlet and our own schedulers time their sleeps on, so a task that
measured less than ``delay`` really was woken early; twisted's reactor schedules on ``time.time``
(CLOCK_REALTIME), which NTP may slew by at most 0.05 % (5 us over a 10 ms sleep), far below what a
wake-up costs between the timer firing and the task reading the clock.
"""

from __future__ import annotations

from typing import Any, Protocol, TypedDict

from workloads.runtime.collector import AUTO, FROZEN, REGIMES
from workloads.runtime.errors import WrongResult
from workloads.runtime.window import Window
from workloads.specs.base import Round, Workload, median_growth_per_unit, median_seconds
from workloads.specs.schema import PEAK_RSS, ROUNDS, RSS_PER_TASK, Chart, Metric, Plan, Schema


class Params(TypedDict):
    n: int
    delay: float


class Implements(Protocol):
    def sleep_fanout(self, variant: str, n: int, delay: float, window: Window, /) -> list[tuple[int, float]]:
        """Each task's ``(index, seconds it measured around its sleep call with time.perf_counter)``."""
        ...


DELAY_S = 0.01
SIZES = {"quick": (1000,), "default": (1000, 10_000), "full": (100, 1000, 10_000, 100_000)}
"""N per profile. N=100 (a round of about 10 ms, where start-up costs hide the model) is in ``full``: the default
profile's minutes went to http_latency."""


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
            Metric("shortest_sleep_s", "shortest sleep", "s", higher_is_better=True, table=False),
            Metric("early_wakeups", "early wake-ups", "count"),
            Metric("gc_pause_s", "GC pauses in window", "s"),
            Metric("woke_early", "woke early", "flag", table=False),
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

    def gc_regimes(self, profile: str, params: Params) -> tuple[str, ...]:
        """``full``: every regime at every N. ``default``: ``frozen`` beside ``auto`` at the largest N, where the
        collector takes most of some models' rounds and could change their order; smaller N rarely collect."""
        if profile == "full":
            return REGIMES
        if profile == "default" and params["n"] == max(SIZES["default"]):
            return (AUTO, FROZEN)
        return (AUTO,)

    def timeout_s(self, params: Params) -> float:
        return 30.0 + params["n"] * 0.002

    def expected_round_s(self, params: Params) -> float:
        return params["delay"] + params["n"] * 30e-6

    def run_round(self, model: Implements, variant: str, params: Params) -> dict[str, Any]:
        n, delay = int(params["n"]), float(params["delay"])
        if n < 1 or delay < 0:
            raise ValueError(f"sleep_fanout needs n >= 1 and delay >= 0, got n={n}, delay={delay}")
        window = Window()
        results = model.sleep_fanout(variant, n, delay, window)
        indices, slept = split_results(results)
        check_indices(indices, n)
        return {
            "quanta": window.quanta,
            "metrics": {
                "tasks": n,
                "shortest_sleep_s": min(slept),
                "early_wakeups": sum(1 for seconds in slept if seconds < delay),
            },
        }

    def summarize(self, rounds: list[Round], params: Params) -> dict[str, Any]:
        n = params["n"]
        early = sum(r.metrics["early_wakeups"] for r in rounds)
        return {
            "overhead_per_task_s": (median_seconds(rounds) - params["delay"]) / n,
            "rss_per_task_bytes": median_growth_per_unit(rounds, n),
            "shortest_sleep_s": min(r.metrics["shortest_sleep_s"] for r in rounds),
            "early_wakeups": early,
            "woke_early": early > 0,
        }


def split_results(results: list[tuple[int, float]]) -> tuple[list[int], list[float]]:
    """The tasks' indices and measured sleeps; WrongResult unless every result is an (index, seconds) pair."""
    try:
        return [index for index, _ in results], [float(seconds) for _, seconds in results]
    except (TypeError, ValueError) as exc:
        raise WrongResult(f"every task must return (index, slept_seconds): {exc}") from None


def check_indices(results: list[int], n: int) -> None:
    if len(results) != n:
        raise WrongResult(f"expected {n} task results, got {len(results)}")
    if sorted(results) != list(range(n)):
        missing = sorted(set(range(n)) - set(results))[:5]
        raise WrongResult(f"task results are not each index 0..{n - 1} once; missing e.g. {missing}")


WORKLOAD = SleepFanout()
