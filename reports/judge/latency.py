"""The open-loop latency judgement of ``tcp_latency`` and ``http_latency``: which rates count, the order at equal
load, capacities (both save the same keys; in http_latency's a "msg" is a request).

Each cell's ``extra_info["rates"]`` holds every rate it measured; a rate measured again
(``superseded``) is left out. At a rate common to every server (``kind: absolute``) the servers are
ranked by p99, those whose generator fell behind its schedule (``generator_limited``) last and never
ahead of a measured one. A capacity under a target (``capacity_p99_<target>_msgs_per_s``, with its
record under ``capacity_p99_<target>``) is a lower bound when the generator was the limit or nothing
above it missed (``at_least``); lower bounds come after measured capacities, highest first within
each.

The matrix's latency column and its verdict rank by what the search proved (``proven_order``), not by a
bootstrap over rounds that do not measure capacity. Each capacity is a bracket: the highest rate that
met the target and the lowest that missed it, ``[lo, hi)``; a lower bound (the generator, the
connections or the search's ceiling stopped it) is ``[lo, ∞)``, shown "≥ lo", so it is never below a
smaller figure. Two servers are ordered only where their brackets are apart; overlapping brackets are
a tie. A cell is not ranked only when nothing was proven (no rate met the target and none missed it).
The one place to change how the latency column is judged. Stdlib only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from reports.read.run import Result, Run

WORKLOADS = {"tcp_latency": "msgs/s", "http_latency": "requests/s"}
"""Every open-loop workload, and the unit of its rates."""
TARGETS = (("1ms", "p99 ≤ 1 ms"), ("10ms", "p99 ≤ 10 ms"))
"""(name in the saved keys, label) of every latency target the capacity search saves."""
HEADLINE_TARGET = "10ms"
"""The target the matrix's latency column ranks by: a budget a web request can live with."""
BOUND_TEXT = {
    "generator": "the load generator fell behind its schedule",
    "connections": "the connections could carry no more (rate x latency messages in flight)",
    "ceiling": "the search stopped at its ceiling without a miss",
    "unsteady": "the highest rate looked both ways and never agreed",
}
PROOF_HINT = {
    "generator": "a generator on cores (or a host) of its own",
    "connections": "more connections (the full profile's C, or a deeper pipeline)",
    "ceiling": "a higher search ceiling",
    "unsteady": "longer rates (the full profile) or a quieter machine",
}


def is_open_loop(workload: str) -> bool:
    return workload in WORKLOADS


def rate_unit(workload: str) -> str:
    """``msgs/s`` for echo, ``requests/s`` for HTTP."""
    return WORKLOADS.get(workload, "msgs/s")


def open_loop_results(run: Run, workload: str | None = None) -> list[Result]:
    """The run's open-loop cells (of ``workload``, or every open-loop workload) that saved their rates."""
    return [
        r
        for r in run.results
        if (r.workload == workload if workload else is_open_loop(r.workload)) and isinstance(r.extra.get("rates"), list)
    ]


def rates(result: Result) -> list[dict[str, Any]]:
    """Every rate the cell measured and kept, lowest offered load first."""
    return sorted((m for m in result.extra["rates"] if not m.get("superseded")), key=lambda m: m["offered_msgs_per_s"])


def common_rates(results: list[Result]) -> list[float]:
    """The offered loads that are the same for every server (``kind: absolute``), lowest first."""
    return sorted(
        {m["offered_msgs_per_s"] for r in results for m in rates(r) if m.get("kind") == "absolute"}, key=float
    )


def p99_at(results: list[Result], rate: float) -> list[tuple[float, Result, bool]]:
    """(p99, cell, generator-limited) at one common rate: measured cells lowest p99 first, then the limited."""
    rows = []
    for result in results:
        found = [m for m in rates(result) if m.get("kind") == "absolute" and m["offered_msgs_per_s"] == rate]
        if found:
            rows.append((found[-1]["latency_p99_s"], result, bool(found[-1].get("generator_limited"))))
    rows.sort(key=lambda row: (row[2], row[0]))
    return rows


def capacities(results: list[Result], target: str) -> list[tuple[float, Result, bool]]:
    """(capacity, cell, lower bound) under one target: measured capacities highest first, then lower bounds."""
    rows = []
    for result in results:
        found = result.extra.get(f"capacity_p99_{target}") or {}
        value = result.metric(f"capacity_p99_{target}_msgs_per_s")
        if value is not None:
            lower_bound = bool(found.get("generator_limited") or found.get("at_least"))
            rows.append((value, result, lower_bound))
    rows.sort(key=lambda row: (row[2], -row[0]))
    return rows


@dataclass(frozen=True)
class Proven:
    """What one cell's capacity search proved for one target: the rate lies in ``[lo, hi)``."""

    result: Result
    lo: float
    hi: float
    """``math.inf`` for a lower bound."""
    bounded_by: str | None
    """Why the figure is a lower bound (a key of ``BOUND_TEXT``), or None."""
    confirmed: bool
    closed_loop_ratio: float | None
    exceeds_closed_loop: bool

    @property
    def lower_bound(self) -> bool:
        return math.isinf(self.hi)

    @property
    def proven(self) -> bool:
        """Something is known: a rate met the target, or one missed it."""
        return self.lo > 0 or not self.lower_bound

    @property
    def point(self) -> bool:
        """An older run's single figure, ``[v, v]``: it holds its own value, unlike a bracket's open top."""
        return self.lo == self.hi

    def below(self, other: Proven) -> bool:
        """Every rate this bracket allows is under every rate ``other`` allows."""
        return self.hi < other.lo if self.point else self.hi <= other.lo

    def apart_from(self, other: Proven) -> bool:
        """The two brackets do not overlap: one capacity is proven above the other."""
        return self.below(other) or other.below(self)

    def above(self, other: Proven) -> bool:
        return other.below(self)


def proven(result: Result, target: str = HEADLINE_TARGET) -> Proven | None:
    """The bracket a cell saved for ``target`` (older runs without brackets: a point, or ``[v, ∞)``)."""
    record = result.extra.get(f"capacity_p99_{target}")
    value = result.metric(f"capacity_p99_{target}_msgs_per_s")
    if not isinstance(record, dict) or value is None:
        return None
    lo, hi = record.get("bracket_msgs_per_s") or (value, None if record.get("at_least") else value)
    bounded_by = record.get("bounded_by") or ("generator" if record.get("generator_limited") else None)
    lower = bool(record.get("at_least")) or hi is None
    if lower and bounded_by is None:
        bounded_by = "ceiling"
    return Proven(
        result,
        float(lo or 0.0),
        math.inf if lower or hi is None else float(hi),
        bounded_by if lower else None,
        bool(record.get("confirmed", True)),
        record.get("closed_loop_ratio"),
        bool(record.get("exceeds_closed_loop")),
    )


@dataclass(frozen=True)
class ProvenOrder:
    """A group's servers ordered by their brackets under one target."""

    target: str
    ranked: tuple[Proven, ...]
    """Highest proven rate first."""
    unproven: tuple[Proven, ...]
    leaders: tuple[Proven, ...]
    """The top and every server whose bracket overlaps it; one leader is a separated win."""

    def of(self, result: Result) -> Proven | None:
        return next((p for p in (*self.ranked, *self.unproven) if p.result is result), None)


def proven_order(results: list[Result], target: str = HEADLINE_TARGET) -> ProvenOrder:
    found = [p for r in results if (p := proven(r, target)) is not None]
    ranked = sorted((p for p in found if p.proven), key=lambda p: (-p.lo, p.hi, p.result.label))
    leaders = tuple(p for p in ranked if p is ranked[0] or not p.apart_from(ranked[0])) if ranked else ()
    return ProvenOrder(target, tuple(ranked), tuple(p for p in found if not p.proven), leaders)


def rate_text(value: float) -> str:
    """A rate (msgs/s or requests/s) with three significant figures: 57.2k, 118k, 940."""
    if value >= 1000:
        k = value / 1000
        return f"{k:.3g}k" if k < 1000 else f"{k / 1000:.3g}M"
    return f"{value:.3g}"


def bracket_text(p: Proven) -> str:
    """``57.2k-69k`` for a bracket, ``≥ 98k`` for a lower bound, ``< 500`` when nothing met the target.

    A point (an older run's single figure) renders as ``50k``.
    """
    if p.lower_bound:
        return f"≥ {rate_text(p.lo)}"
    if p.lo <= 0:
        return f"< {rate_text(p.hi)}"
    if p.point:
        return rate_text(p.lo)
    return f"{rate_text(p.lo)}-{rate_text(p.hi)}"
