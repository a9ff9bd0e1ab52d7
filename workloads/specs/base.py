"""The base of every workload definition, and the round record both rooms share.

A definition is pure: it imports no concurrency library and no harness code, so the pytest process
reads its grid and schema, and the worker runs its ``run_round`` with the model under test.
"""

from __future__ import annotations

import statistics
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from workloads.runtime.window import QUANTA_PER_SECOND
from workloads.specs.schema import FEW_ROUNDS, Plan, Schema

P = TypeVar("P")


@dataclass(frozen=True)
class Round:
    """One measured round: its timed window in quanta and the metrics the worker or a peer reported."""

    quanta: int
    metrics: dict[str, Any]

    @property
    def seconds(self) -> float:
        return self.quanta / QUANTA_PER_SECOND


class Workload(ABC, Generic[P]):
    """One workload: its schema, grid, plan, check (``run_round``) and derived metrics (``summarize``)."""

    schema: Schema
    in_worker = True
    """False where a peer process times the round (``tcp_echo``: the load generator does)."""
    pinned = False
    """True where the side under test and a peer process run on separate cores (echo-style workloads):
    the side under test gets every core but the peer's (``benchmarks.harness.process_stats.split_cores``)."""
    variants_from: str | None = None
    """Another workload whose model functions and variants this one reuses (``tcp_latency``: tcp_echo's)."""

    @property
    def name(self) -> str:
        return self.schema.name

    @property
    def variant_workload(self) -> str:
        """The workload whose variants a model offers for this one (its own, unless ``variants_from``)."""
        return self.variants_from or self.name

    @abstractmethod
    def grid(self, profile: str) -> list[P]:
        """The parameter sets measured in ``profile``, in report order."""

    def plan(self, profile: str) -> Plan:
        return FEW_ROUNDS[profile]

    def timeout_s(self, params: P) -> float:
        """How long one round may take before the worker counts as hung."""
        return 120.0

    def expected_round_s(self, params: P) -> float:
        """A rough a-priori wall time of one round, checks included, for the progress line's estimate (the
        estimate rescales it by what this workload's finished cells really took)."""
        return 0.05

    def expected_cell_s(self, params: P, plan: Plan, profile: str) -> float:
        """A rough a-priori wall time of a whole cell: starting its processes, then every round."""
        return CELL_START_S + (plan.rounds + plan.warmup_rounds) * self.expected_round_s(params)

    def gc_regimes(self, profile: str, params: P) -> tuple[str, ...]:
        """The collector regimes (``workloads.runtime.collector.REGIMES``) a cell of ``params`` runs under when
        ``--gc`` does not say: CPython's automatic collection only, unless the workload's figures hang on it."""
        return ("auto",)

    def measures_variant(self, profile: str, params: P, *, default: bool) -> bool:
        """Whether a model's variant (``default``: its first) is measured at ``params`` in ``profile``: every
        variant everywhere, unless a workload keeps its second variants to fewer points outside ``full``."""
        return True

    def run_round(self, model: Any, variant: str, params: P) -> dict[str, Any]:
        """Run one checked round in the worker: ``{"quanta": ..., "metrics": {...}}`` or ``WrongResult``."""
        raise NotImplementedError(f"{self.name} rounds are not run inside the model's worker")

    def summarize(self, rounds: list[Round], params: P) -> dict[str, Any]:
        """The derived metrics of a cell from its measured rounds (saved in ``extra_info``)."""
        return {}


CELL_START_S = 0.6
"""Starting a cell's fresh worker interpreter (and importing its model) on the 2-core VM, roughly."""


def median_seconds(rounds: list[Round]) -> float:
    return statistics.median(r.seconds for r in rounds)


def median_growth_per_unit(rounds: list[Round], units: int) -> float | None:
    """Median over rounds of (the round's peak RSS - the idle worker's RSS) / units, in bytes."""
    growth = [
        (r.metrics["peak_rss_bytes"] - r.metrics["baseline_rss_bytes"]) / units
        for r in rounds
        if r.metrics.get("peak_rss_bytes") is not None and r.metrics.get("baseline_rss_bytes") is not None
    ]
    return statistics.median(growth) if growth else None
