"""Workload ``timeout_cancel``: N tasks race a deadline; the late ones must be cancelled.

Task i sleeps ``delays[i]`` and then runs its completion code (appending i to
``completed``), all under the model's own timeout machinery with ``deadline``
(asyncio ``timeout``, gevent ``Timeout``, trio ``move_on_after``, ...). The
delays come from a seeded generator in two bands with a wide gap around the
deadline, so which tasks must finish is not a race: the early band (10-30 %
of the deadline) completes, the late band (200-400 %) is cancelled. The gap
must exceed the model's start-up burst for N tasks (a task whose sleep and
timeout both expire while the scheduler is busy is rightly cancelled), so the
harness scales the deadline with N. Each model
implements

    timeout_cancel(delays: list[float], deadline: float, completed: list[int],
                   window: Window) -> None

returning when every task has either completed or been cancelled. This module
checks that exactly the early tasks completed, and, at the next round, that no
cancelled task of the previous round ran its completion code late.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from workloads.checks import WrongResult
from workloads.window import Window

TimeoutCancel = Callable[[list[float], float, list[int], Window], None]
LATE_SHARE = 0.5


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


_previous = _LateCompletionCheck()


def run_round(timeout_cancel: TimeoutCancel, params: dict[str, Any]) -> dict[str, Any]:
    n = int(params["n"])
    deadline = float(params["deadline"])
    delays = task_delays(n, deadline, int(params.get("seed", 0)))
    expected = sorted(i for i, delay in enumerate(delays) if delay < deadline)
    _previous.verify()
    completed: list[int] = []
    window = Window()
    timeout_cancel(delays, deadline, completed, window)
    _previous.completed, _previous.expected_count = completed, len(completed)
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
