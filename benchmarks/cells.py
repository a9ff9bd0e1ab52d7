"""What to measure: the cells (model x workload x parameters) of each profile.

A cell's ``group`` names the workload and its parameters, e.g.
``sleep_fanout[n=10000,delay=0.01]``, so pytest-benchmark groups the models
that did identical work side by side.
"""

from __future__ import annotations

import resource
import sys
from dataclasses import dataclass, field
from typing import Any

from workloads.registry import ALL_MODELS

PROFILES = ("quick", "default", "full")


@dataclass(frozen=True)
class Plan:
    """How many rounds to run for every cell of a profile."""

    rounds: int
    warmup_rounds: int


PLANS = {
    "quick": Plan(rounds=3, warmup_rounds=1),
    "default": Plan(rounds=10, warmup_rounds=2),
    "full": Plan(rounds=20, warmup_rounds=3),
}

SLEEP_FANOUT_DELAY_S = 0.01
SLEEP_FANOUT_SIZES = {
    "quick": (100, 1000),
    "default": (100, 1000, 10_000),
    "full": (100, 1000, 10_000, 100_000),
}

FILES_MARGIN = 64
"""Open files a helper process needs besides its connections (pipes, logs, the interpreter's own)."""


def open_files_hard_limit() -> int:
    """Children raise their soft open-files limit to this (workloads.child_loop.raise_open_files_limit)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return sys.maxsize if hard == resource.RLIM_INFINITY else hard


MAX_TASKS = {"threads": 20_000}
"""Largest N a model is run at, with the reason stated when a cell is skipped."""


@dataclass(frozen=True)
class Cell:
    model: str
    workload: str
    params: dict[str, Any] = field(hash=False)
    plan: Plan
    timeout_s: float
    variant: str | None = None
    """Which of the model's implementations, where it offers several (asyncio echo)."""

    @property
    def group(self) -> str:
        return f"{self.workload}[{_format_params(self.params)}]"

    @property
    def label(self) -> str:
        return f"{self.model}.{self.variant}" if self.variant else self.model

    @property
    def id(self) -> str:
        return f"{self.label}-{_format_params(self.params).replace(',', '-')}"

    @property
    def skip_reason(self) -> str | None:
        cannot = ALL_MODELS[self.model].reason_cannot(self.workload)
        if cannot:
            return f"{self.model} cannot do {self.workload}: {cannot}"
        connections = self.params.get("connections")
        if isinstance(connections, int) and connections + FILES_MARGIN > open_files_hard_limit():
            return (
                f"{connections} connections need about {connections + FILES_MARGIN} open files per process; "
                f"this machine's hard limit is {open_files_hard_limit()} (raise it with ulimit -Hn as root)"
            )
        limit = MAX_TASKS.get(self.model)
        n = self.params.get("n")
        if limit is not None and isinstance(n, int) and n > limit:
            return (
                f"{self.model} runs one OS thread per task; {n} threads exceed the suite's "
                f"limit of {limit} (each needs a kernel thread and a stack; the kernel's "
                "threads-max and the memory of a 2-core CI machine are the bound)"
            )
        return None


def sleep_fanout_cells(models: list[str], profile: str) -> list[Cell]:
    plan = PLANS[profile]
    return [
        Cell(
            model=model,
            workload="sleep_fanout",
            params={"n": n, "delay": SLEEP_FANOUT_DELAY_S},
            plan=plan,
            timeout_s=30.0 + n * 0.002,
        )
        for n in SLEEP_FANOUT_SIZES[profile]
        for model in models
    ]


FEW_ROUNDS = {
    "quick": Plan(rounds=3, warmup_rounds=1),
    "default": Plan(rounds=5, warmup_rounds=1),
    "full": Plan(rounds=10, warmup_rounds=2),
}
"""For cells whose rounds last 0.2 s or more: fewer rounds keep the default profile near 10 minutes."""
ECHO_GRID = {
    "quick": ((10,), (1024,)),
    "default": ((1, 10, 100), (1024, 16 * 1024)),
    "full": ((1, 10, 100, 1000), (1024, 16 * 1024, 100 * 1024)),
}
ECHO_MESSAGES = {"quick": 4000, "default": 10_000, "full": 20_000}
"""Messages per round at C >= 10: about 0.1-0.2 s at the fastest server on a 2-core machine."""


def echo_messages(profile: str, connections: int) -> int:
    """At C < 10 a round is a chain of sequential round trips (~100 us each): a fifth of the messages."""
    messages = ECHO_MESSAGES[profile]
    return messages if connections >= 10 else messages // 5


ECHO_TIMEOUT_S = 120.0


def tcp_echo_cells(models: list[str], profile: str) -> list[Cell]:
    connections, sizes = ECHO_GRID[profile]
    return [
        Cell(
            model=model,
            workload="tcp_echo",
            params={"connections": c, "message_size": size, "messages": echo_messages(profile, c)},
            plan=FEW_ROUNDS[profile],
            timeout_s=ECHO_TIMEOUT_S,
            variant=None if variants == ("default",) else variant,
        )
        for size in sizes
        for c in connections
        for model in models
        for variants in [ALL_MODELS[model].echo_variants]
        for variant in variants
    ]


def tcp_client_cells(models: list[str], profile: str) -> list[Cell]:
    connections, sizes = ECHO_GRID[profile]
    return [
        Cell(
            model=model,
            workload="tcp_client",
            params={"connections": c, "message_size": size, "round_trips": max(1, echo_messages(profile, c) // c)},
            plan=FEW_ROUNDS[profile],
            timeout_s=ECHO_TIMEOUT_S,
        )
        for size in sizes
        for c in connections
        for model in models
    ]


TIMEOUT_CANCEL_SIZES = SLEEP_FANOUT_SIZES


def timeout_cancel_deadline(n: int) -> float:
    """Long enough that the start-up burst of N tasks stays well inside the early band's slack.

    At N=10000 a 0.5 s deadline was too short for tornado on a loaded 2-core machine: starting
    10000 tasks took up to 1 s there, and late-running timers rightly cancelled early tasks.
    """
    return max(0.05, n * 1e-4)


def timeout_cancel_cells(models: list[str], profile: str) -> list[Cell]:
    return [
        Cell(
            model=model,
            workload="timeout_cancel",
            params={"n": n, "deadline": timeout_cancel_deadline(n), "seed": 1},
            plan=FEW_ROUNDS[profile],
            timeout_s=30.0 + n * 0.002,
        )
        for n in TIMEOUT_CANCEL_SIZES[profile]
        for model in models
    ]


CPU_MIXED_TASKS = 100
CPU_MIXED_DELAY_S = 0.01
CPU_MIXED_WORK = {
    "quick": (0, 10_000),
    "default": (0, 1_000, 10_000, 100_000),
    "full": (0, 1_000, 10_000, 100_000, 300_000),
}
"""Iterations of pure-Python work per task after its IO: CPU share from none to dominant."""


def cpu_mixed_cells(models: list[str], profile: str) -> list[Cell]:
    return [
        Cell(
            model=model,
            workload="cpu_mixed",
            params={"n": CPU_MIXED_TASKS, "delay": CPU_MIXED_DELAY_S, "work": work},
            plan=FEW_ROUNDS[profile],
            timeout_s=120.0,
        )
        for work in CPU_MIXED_WORK[profile]
        for model in models
    ]


CELL_BUILDERS = {
    "sleep_fanout": sleep_fanout_cells,
    "tcp_echo": tcp_echo_cells,
    "tcp_client": tcp_client_cells,
    "timeout_cancel": timeout_cancel_cells,
    "cpu_mixed": cpu_mixed_cells,
}
WORKLOAD_NAMES = tuple(CELL_BUILDERS)


def _format_params(params: dict[str, Any]) -> str:
    return ",".join(f"{key}={value}" for key, value in params.items())
