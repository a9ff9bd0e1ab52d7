"""The open-loop latency judgement of ``tcp_latency``: which rates count, the order at equal load, capacities.

Each cell's ``extra_info["rates"]`` holds every rate it measured; a rate measured again
(``superseded``) is left out. At a rate common to every server (``kind: absolute``) the servers are
ranked by p99, those whose generator fell behind its schedule (``generator_limited``) last and never
ahead of a measured one. A capacity under a target (``capacity_p99_<target>_msgs_per_s``, with its
record under ``capacity_p99_<target>``) is a lower bound when the generator was the limit or nothing
above it missed (``at_least``); lower bounds come after measured capacities, highest first within
each. The one place to change how the latency column is judged. Stdlib only.
"""

from __future__ import annotations

from typing import Any

from reports.read.run import Result, Run

WORKLOAD = "tcp_latency"
TARGETS = (("1ms", "p99 ≤ 1 ms"), ("10ms", "p99 ≤ 10 ms"))
"""(name in the saved keys, label) of every latency target the capacity search saves."""


def open_loop_results(run: Run) -> list[Result]:
    """The run's tcp_latency cells that saved their rates."""
    return [r for r in run.results if r.workload == WORKLOAD and isinstance(r.extra.get("rates"), list)]


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
