"""What to measure: the cells (model x variant x workload x parameters) of each profile.

Every workload definition in ``workloads.interface.WORKLOADS`` gives its grid and its rounds per
profile; every model gives the variants it offers for that workload (default first). A cell's
``group`` names the workload and its parameters, e.g. ``sleep_fanout[n=10000,delay=0.01]``, so
pytest-benchmark groups the models that did identical work side by side.
"""

from __future__ import annotations

import resource
import sys
from dataclasses import dataclass, field
from typing import Any

from workloads.interface import BY_NAME, WORKLOADS
from workloads.models.registry import DEFAULT_VARIANT, lookup
from workloads.specs.schema import PROFILES, Plan

__all__ = ["PROFILES", "WORKLOAD_NAMES", "Cell", "cells_for"]

WORKLOAD_NAMES = tuple(w.name for w in WORKLOADS)
FILES_MARGIN = 64
"""Open files a helper process needs besides its connections (pipes, logs, the interpreter's own)."""
MAX_TASKS = {"threads": 20_000}
"""Largest N a model is run at, with the reason stated when a cell is skipped."""


def open_files_hard_limit() -> int:
    """Children raise their soft open-files limit to this (workloads.runtime.serve.raise_open_files_limit)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return sys.maxsize if hard == resource.RLIM_INFINITY else hard


@dataclass(frozen=True)
class Cell:
    model: str
    workload: str
    params: dict[str, Any] = field(hash=False)
    plan: Plan
    timeout_s: float
    variant: str | None = None
    """Which of the model's implementations, where it offers several for this workload."""

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
    def worker_env(self) -> dict[str, str]:
        """Environment the cell's worker starts with (its variant's settings, if any)."""
        return dict(lookup(self.model).variant_env.get(self.variant or "", {}))

    @property
    def skip_reason(self) -> str | None:
        model, reused = lookup(self.model), BY_NAME[self.workload].variant_workload
        cannot = model.reason_cannot(self.workload) or model.reason_cannot(reused)
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


def cells_for(workload: str, models: list[str], profile: str) -> list[Cell]:
    """Every cell of one workload: parameters in grid order, then models, then their variants.

    A workload that reuses another's model functions (``variants_from``) gets that workload's variants.
    """
    definition = BY_NAME[workload]
    cells = []
    offered_for = definition.variant_workload
    for params in definition.grid(profile):
        for model in models:
            variants = lookup(model).variants_of(offered_for)
            for variant in lookup(model).variants_in(offered_for, profile):
                cells.append(
                    Cell(
                        model=model,
                        workload=workload,
                        params=dict(params),
                        plan=definition.plan(profile),
                        timeout_s=definition.timeout_s(params),
                        variant=None if variants == (DEFAULT_VARIANT,) else variant,
                    )
                )
    return cells


def _format_params(params: dict[str, Any]) -> str:
    return ",".join(f"{key}={value}" for key, value in params.items())
