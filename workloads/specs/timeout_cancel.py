"""Workload ``timeout_cancel``: N tasks race a deadline; the late ones must be cancelled.

Task i sleeps ``delays[i]`` and then runs its completion code (appending i to ``completed``), all
under the model's own timeout machinery with ``deadline`` (asyncio ``timeout``, gevent ``Timeout``,
trio ``move_on_after``, ...). The delays come from a seeded generator in two bands with a wide gap
around the deadline, so which tasks must finish is not a race: the early band (10-30 % of the
deadline) completes, the late band (200-400 %) is cancelled. The gap must exceed the model's
start-up burst for N tasks (a task whose sleep and timeout both expire while the scheduler is busy
is rightly cancelled), so the deadline scales with N. The round checks that exactly the early tasks
completed, and, at the next round, that no cancelled task of the previous round ran its completion
code late. ``cancel_cost_per_task_s`` is (median round time - deadline) / N.
"""

from __future__ import annotations

import random
from typing import Any, Protocol, TypedDict

from workloads.runtime.collector import AUTO, REGIMES
from workloads.runtime.errors import WrongResult
from workloads.runtime.window import Window
from workloads.specs.base import Round, Workload, median_growth_per_unit, median_seconds
from workloads.specs.schema import PEAK_RSS, RSS_PER_TASK, Chart, Metric, Plan, Schema
from workloads.specs.sleep_fanout import SIZES as FANOUT_SIZES


class Params(TypedDict):
    n: int
    deadline: float
    seed: int


class Implements(Protocol):
    def timeout_cancel(
        self, variant: str, delays: list[float], deadline: float, completed: list[int], window: Window, /
    ) -> None: ...


SIZES = {"quick": (1000,), "default": (100, 1000), "full": FANOUT_SIZES["full"]}
"""N per profile. N=10000 is in ``full``: its 1 s deadline makes each cell cost about 6 s (12 cells, over a
minute), and sleep_fanout's N=10000 already answers how a model scales to many tasks."""
LATE_SHARE = 0.5


def deadline_for(n: int) -> float:
    """Long enough that the start-up burst of N tasks stays well inside the early band's slack.

    At N=10000 a 0.5 s deadline was too short for tornado on a loaded 2-core machine: starting
    10000 tasks took up to 1 s there, and late-running timers rightly cancelled early tasks.
    """
    return max(0.05, n * 1e-4)


def task_delays(n: int, deadline: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [
        deadline * (rng.uniform(2.0, 4.0) if rng.random() < LATE_SHARE else rng.uniform(0.1, 0.3)) for _ in range(n)
    ]


class _LateCompletionCheck:
    """Remembers the last round's list, to catch completions that happen after a 'cancel'."""

    def __init__(self) -> None:
        self.completed: list[int] = []
        self.expected_count = 0

    def verify(self) -> None:
        if len(self.completed) != self.expected_count:
            late = sorted(set(self.completed))[:5]
            raise WrongResult(
                f"{len(self.completed) - self.expected_count} task(s) of the previous round ran their completion "
                f"code after the model reported them cancelled (e.g. among {late})"
            )


class TimeoutCancel(Workload[Params]):
    schema = Schema(
        name="timeout_cancel",
        order=40,
        question="What do timeouts and cancellation cost?",
        scenario="heavy cancellation",
        metrics=(
            Metric("cancel_cost_per_task_s", "cancel cost / task", "s", headline=True),
            Metric("completed", "completed", "count", higher_is_better=True),
            Metric("cancelled", "cancelled", "count"),
            RSS_PER_TASK,
            PEAK_RSS,
        ),
        charts=(
            Chart(
                "cancel_cost_per_task_s",
                "n",
                "cancel_cost_vs_n",
                "What does cancelling a task on timeout cost per task in each model, as the number of tasks grows?",
            ),
            Chart(
                "rss_per_task_bytes",
                "n",
                "memory_per_task",
                "How many bytes of memory does each cancelled task cost in each model?",
                section="memory",
            ),
        ),
    )

    def __init__(self) -> None:
        self._previous = _LateCompletionCheck()

    def grid(self, profile: str) -> list[Params]:
        return [Params(n=n, deadline=deadline_for(n), seed=1) for n in SIZES[profile]]

    def gc_regimes(self, profile: str, params: Params) -> tuple[str, ...]:
        """Every collector regime in ``full``: the fan-out of N racing tasks allocates as sleep_fanout's does."""
        return REGIMES if profile == "full" else (AUTO,)

    def plan(self, profile: str) -> Plan:
        """Four measured rounds in the default profile: each round waits out a deadline."""
        return Plan(rounds=4, warmup_rounds=1) if profile == "default" else super().plan(profile)

    def timeout_s(self, params: Params) -> float:
        return 30.0 + params["n"] * 0.002

    def expected_round_s(self, params: Params) -> float:
        return params["deadline"] + params["n"] * 40e-6

    def run_round(self, model: Implements, variant: str, params: Params) -> dict[str, Any]:
        n, deadline = int(params["n"]), float(params["deadline"])
        delays = task_delays(n, deadline, int(params.get("seed", 0)))
        expected = sorted(i for i, delay in enumerate(delays) if delay < deadline)
        self._previous.verify()
        completed: list[int] = []
        window = Window()
        model.timeout_cancel(variant, delays, deadline, completed, window)
        self._previous.completed, self._previous.expected_count = completed, len(completed)
        if sorted(completed) != expected:
            extra = sorted(set(completed) - set(expected))[:5]
            missing = sorted(set(expected) - set(completed))[:5]
            raise WrongResult(
                f"expected exactly the {len(expected)} early tasks to complete; "
                f"late tasks that completed: {extra}, early tasks that did not: {missing}"
            )
        return {
            "quanta": window.quanta,
            "metrics": {"tasks": n, "completed": len(expected), "cancelled": n - len(expected)},
        }

    def summarize(self, rounds: list[Round], params: Params) -> dict[str, Any]:
        n = params["n"]
        return {
            "cancel_cost_per_task_s": (median_seconds(rounds) - params["deadline"]) / n,
            "completed": rounds[-1].metrics["completed"],
            "cancelled": rounds[-1].metrics["cancelled"],
            "rss_per_task_bytes": median_growth_per_unit(rounds, n),
        }


WORKLOAD = TimeoutCancel()
