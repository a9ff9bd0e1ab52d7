"""Workload ``sleep_fanout``: N tasks each sleep ``delay`` and return their index.

This measures the pure scheduling cost of a model: with a 10 ms delay, an ideal
scheduler finishes in 10 ms whatever N is; everything above is what spawning,
timing out and gathering N tasks costs. Each model implements

    sleep_fanout(n: int, delay: float, window: Window) -> list[int]

spawning N tasks with its own primitives inside ``with window:`` and returning
the indices the tasks returned, in any order. This module runs one round and
checks that every index 0..N-1 came back exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workloads.checks import WrongResult
from workloads.window import Window

SleepFanout = Callable[[int, float, Window], list[int]]


def run_round(sleep_fanout: SleepFanout, params: dict[str, Any]) -> dict[str, Any]:
    n = int(params["n"])
    delay = float(params["delay"])
    if n < 1 or delay < 0:
        raise ValueError(f"sleep_fanout needs n >= 1 and delay >= 0, got n={n}, delay={delay}")
    window = Window()
    results = sleep_fanout(n, delay, window)
    check_indices(results, n)
    return {"quanta": window.quanta, "metrics": {"tasks": n}}


def check_indices(results: list[int], n: int) -> None:
    if len(results) != n:
        raise WrongResult(f"expected {n} task results, got {len(results)}")
    if sorted(results) != list(range(n)):
        missing = sorted(set(range(n)) - set(results))[:5]
        raise WrongResult(f"task results are not each index 0..{n - 1} once; missing e.g. {missing}")
