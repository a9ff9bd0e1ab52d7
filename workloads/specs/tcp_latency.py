"""Workload ``tcp_latency``: at a given offered load, what latency does each echo server give, and where is its knee?

The model serves echo with its ``tcp_echo_server`` (and its tcp_echo variants). The open-loop
generator (``workloads.peers.open_loop_generator``, its own process on another core) sends 1 KiB
messages over C connections at a fixed offered rate with Poisson arrivals, and times each from its
*scheduled* send to its last echoed byte (free of coordinated omission), into an HDR histogram.

One cell per model variant and parameter set measures, with one server start:

1. the server's own saturated throughput, twice: closed loop (the tcp_echo generator, a few rounds),
   then open loop, by offering ``OVERLOAD_FACTOR`` times that and taking the rate the server echoed
   (``open_loop_saturation``). They differ: open loop, several messages wait on a connection and a
   server reads them with one ``recv()``, so every server here echoed more than 8 times its closed-loop
   rate (a lower bound: the figure says where the curve ends, not where its knee is);
2. the common absolute rates (``ABSOLUTE_RATES``), the same for every server: these are the cell's
   pytest-benchmark rounds, and a round's value is **the p99 latency at that rate** (so min is the p99
   at the lowest common rate, max at the highest; the median compares servers at identical load);
3. fractions of the closed-loop throughput (``FRACTIONS``), so every curve shows its knee: latency
   first rises where a server's per-message work saturates, near its closed-loop rate, and can fall again
   at far higher rates, once messages arrive together and are read many per ``recv()``;
4. a search for the capacity under each latency target (``TARGETS_S``): the highest offered rate with
   p99 within the target, bracketed from the points above and bisected (geometrically) until the
   bracket is within ``PRECISION`` or the step budget is spent; the bracket is saved with the result.

A measurement in which the generator issued its messages later than ``LAG_BOUND_S`` at p99 measured
the generator (or a machine too busy to trust), not the server: it is flagged ``generator_limited``
and never ranked. Such a point still counts where it *met* a target (latency is timed from the
schedule, so lag only inflates it); where it missed, the miss is inconclusive and the rate is measured
again; missed twice, it caps the search, the capacity is only a lower bound, and the cell's
``bottleneck`` is ``"peer"``. A capacity with no miss above it (``at_least``) is also a lower bound.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, TypedDict

from workloads.specs.base import Round, Workload
from workloads.specs.schema import Chart, Metric, Plan, Schema
from workloads.specs.tcp_echo import Implements

__all__ = ["WORKLOAD", "Implements", "Params"]


class Params(TypedDict):
    connections: int
    message_size: int
    duration_s: float
    warmup_s: float


GRID = {
    "quick": ((10,), (1024,)),
    "default": ((10, 100), (1024,)),
    "full": ((10, 100), (1024, 16 * 1024)),
}
"""(connections, message sizes) per profile. At C=10 most rates put several messages on a connection at once
(pipelining clients: capacities several times the closed-loop throughput); at C=100 they rarely do, and the
p99 <= 1 ms capacity falls near or below it: the knee for clients that each have little in flight."""
TIMING = {"quick": (0.05, 0.15), "default": (0.1, 0.3), "full": (0.5, 2.0)}
"""(warm-up, measured duration) of each rate, in seconds: the schedule runs both back to back."""
ABSOLUTE_RATES = {
    "quick": (1000.0, 10_000.0),
    "default": (1000.0, 10_000.0),
    "full": (1000.0, 2000.0, 5000.0, 10_000.0, 20_000.0, 50_000.0),
}
"""Offered rates (messages/s) common to every server: low enough that most servers keep up."""
FRACTIONS = {
    "quick": (0.5,),
    "default": (0.5, 0.9),
    "full": (0.25, 0.5, 0.75, 0.9, 1.0, 1.1),
}
"""Offered rates as fractions of the server's own closed-loop saturated throughput, where its knee lies."""
SEARCH_STEPS = {"quick": 1, "default": 6, "full": 10}
"""Extra measurements per latency target for the capacity search."""
TARGETS_S = {"1ms": 1e-3, "10ms": 10e-3}
PRECISION = 1.1
"""The capacity search stops when its bracket [passes, fails] is within this ratio (10 %)."""
UP_FACTOR, DOWN_FACTOR = 1.5, 0.5
"""Steps of the search while it has no bracket yet (above the highest pass, below the lowest fail)."""
CEILING_OF_SATURATION = 8.0
"""The search never offers more than this multiple of the closed-loop saturated throughput (open loop, several
messages in flight per connection let a server batch its reads: many took twice their closed-loop rate)."""
FLOOR_RATE = 100.0
"""Nor less than this many messages/s: a server failing a target there has capacity 0 (< floor)."""
LAG_BOUND_S = 200e-6
"""A measurement whose generator lag p99 exceeds this is generator-limited (see the README)."""
RETRIES = 1
"""A common or fractional rate whose generator fell behind is measured once more (a busy machine)."""
DRAIN_S = 1.0
"""Messages not echoed this long after the schedule ends count as ``messages_not_echoed``."""
OVERLOAD_FACTOR = 8.0
"""The open-loop saturation offers this multiple of the closed-loop throughput. Every server here kept up
with 3x (pipelined messages are read many per ``recv()``), so the overload must be far above it for the
server, not the schedule, to set the rate echoed; where the generator cannot offer that much, the result
is a lower bound flagged as the generator's."""
OVERLOADED_BELOW = 0.95
"""An overload that echoed less than this share of the offered rate found the server's limit."""
SATURATION_MESSAGES = 4000
SATURATION_ROUNDS = 3
"""Closed-loop rounds measuring the saturated throughput; the median is used."""
PERCENTILE_KEYS = ("p50", "p90", "p99", "p999", "p9999")


@dataclass(frozen=True)
class Point:
    """One offered rate measured: its p99 and whether the generator kept its schedule."""

    rate: float
    p99_s: float
    generator_limited: bool


def is_generator_limited(measurement: dict[str, Any]) -> bool:
    return bool(measurement["generator_lag_p99_s"] > LAG_BOUND_S)


def bracket(points: list[Point], target_s: float) -> tuple[float, float | None, list[float], dict[float, int]]:
    """(lo, hi, doubtful, counts) for ``target_s``; the latest measurement of a rate decides for it.

    - hi: the lowest rate that missed the target conclusively: the generator kept its schedule, and the
      miss is confirmed by a second measurement (a single miss can be one pause of a shared machine: a
      run of 0.3 s has its p99 moved by any stop of 3 ms); None if none;
    - lo: the highest rate below hi that met the target (0.0 if none). A point that met the target
      counts whatever the lag: latency is timed from the schedule, so a late generator only inflates it;
    - doubtful: rates below hi that missed inconclusively (the generator behind, or a first miss),
      lowest first;
    - counts: how often each rate was measured.
    """
    latest: dict[float, Point] = {}
    counts: dict[float, int] = {}
    for point in points:
        latest[point.rate] = point
        counts[point.rate] = counts.get(point.rate, 0) + 1
    passes = [r for r, p in latest.items() if p.p99_s <= target_s]
    misses = [r for r, p in latest.items() if p.p99_s > target_s]
    conclusive = [r for r in misses if not latest[r].generator_limited and counts[r] >= 2]
    hi = min(conclusive) if conclusive else None
    lo = max((r for r in passes if hi is None or r < hi), default=0.0)
    doubtful = sorted(r for r in misses if r not in conclusive and (hi is None or r < hi))
    return lo, hi, doubtful, counts


def effective_bracket(points: list[Point], target_s: float) -> tuple[float, float | None, bool, float | None]:
    """(lo, hi, generator_limited, retry): a doubtful rate is measured again (``retry``); one the generator
    fell behind on twice caps the search, which is then limited by the generator."""
    lo, hi, doubtful, counts = bracket(points, target_s)
    if not doubtful:
        return lo, hi, False, None
    lowest = doubtful[0]
    if counts[lowest] >= 2:  # measured twice and still doubtful: the generator was behind both times
        latest = {p.rate: p for p in points}
        below = [r for r, p in latest.items() if p.p99_s <= target_s and r < lowest]
        return max(below, default=0.0), lowest, True, None
    return lo, hi, False, lowest


def next_rate(points: list[Point], target_s: float, saturated: float) -> float | None:
    """The next rate the capacity search should offer for ``target_s``, or None when it is done."""
    if not points:
        return None
    lo, hi, _, retry = effective_bracket(points, target_s)
    if retry is not None:
        return retry
    ceiling = max(saturated * CEILING_OF_SATURATION, FLOOR_RATE)
    if hi is None:
        return None if lo >= ceiling else min(lo * UP_FACTOR, ceiling)
    if lo == 0.0:
        return None if hi <= FLOOR_RATE else max(hi * DOWN_FACTOR, FLOOR_RATE)
    if hi / lo <= PRECISION:
        return None
    return math.sqrt(lo * hi)


def capacity(points: list[Point], target_s: float, saturated: float) -> dict[str, Any]:
    """The capacity under ``target_s``: the highest rate that met it, its bracket, and what bounds it."""
    lo, hi, by_generator, retry = effective_bracket(points, target_s)
    ceiling = max(saturated * CEILING_OF_SATURATION, FLOOR_RATE)
    latest = {p.rate: p for p in points}
    return {
        "msgs_per_s": lo,
        "bracket_msgs_per_s": [lo, hi],
        "precision": (hi / lo) if (hi is not None and lo > 0) else None,
        # an inconclusive miss left when the step budget ran out: the generator's if it was behind there
        "generator_limited": by_generator or (retry is not None and latest[retry].generator_limited),
        "unconfirmed_miss_msgs_per_s": retry,
        "at_least": hi is None,
        "beyond_ceiling": hi is None and lo >= ceiling,
    }


def measurement_point(measurement: dict[str, Any]) -> Point:
    return Point(measurement["offered_msgs_per_s"], measurement["latency_p99_s"], is_generator_limited(measurement))


def search_points(measurements: list[dict[str, Any]]) -> list[Point]:
    """The points the capacity search reads: every measurement but the overload (it measures the open-loop
    throughput, far above any knee, and was offered once, not as a step of the search)."""
    return [measurement_point(m) for m in measurements if m["kind"] != "overload"]


def overload_rate(closed_loop_saturated: float) -> float:
    return max(FLOOR_RATE, OVERLOAD_FACTOR * closed_loop_saturated)


def open_loop_saturation(overload: dict[str, Any]) -> dict[str, Any]:
    """The open-loop saturated throughput from the overload measurement: the rate the server echoed.

    It is the server's limit only if the server fell behind the schedule while the generator kept it;
    otherwise it is a lower bound (``at_least``): the server kept up, or the generator was the limit.
    """
    # every echo in the measured part: under overload most are of messages due in the warm-up, still queued
    achieved, offered = overload["echo_rate_msgs_per_s"], overload["offered_msgs_per_s"]
    limited = is_generator_limited(overload)
    return {
        "msgs_per_s": achieved,
        "offered_msgs_per_s": offered,
        "at_least": limited or achieved >= OVERLOADED_BELOW * offered,
        "generator_limited": limited,
        "messages_not_echoed": overload["messages_not_echoed"],
    }


class TcpLatency(Workload[Params]):
    in_worker = False
    pinned = True
    variants_from = "tcp_echo"
    schema = Schema(
        name="tcp_latency",
        order=25,
        question="At a given load, what latency does each model's server give, and how much load does it take "
        "within a latency target?",
        scenario="latency under load",
        metrics=(
            Metric(
                "capacity_p99_1ms_msgs_per_s", "capacity, p99 ≤ 1 ms", "msgs/s", higher_is_better=True, headline=True
            ),
            Metric(
                "capacity_p99_10ms_msgs_per_s",
                "capacity, p99 ≤ 10 ms",
                "msgs/s",
                higher_is_better=True,
                headline=True,
            ),
            Metric("saturated_throughput_msgs_per_s", "closed-loop throughput", "msgs/s", higher_is_better=True),
            Metric(
                "open_loop_saturated_msgs_per_s", "open-loop throughput (overload)", "msgs/s", higher_is_better=True
            ),
            Metric("latency_p50_low_load_s", "p50 at the lowest common rate", "s"),
            Metric("latency_p99_common_max_s", "p99 at the highest common rate", "s"),
            Metric("generator_lag_p99_s", "generator lag p99 (worst rate)", "s", table=False),
            Metric("generator_lag_max_s", "generator lag max", "s", table=False),
            Metric("messages_not_echoed", "not echoed within 1 s", "count", table=False),
        ),
        charts=(
            Chart(
                "capacity_p99_1ms_msgs_per_s",
                "connections",
                "capacity_p99_1ms_vs_connections",
                "How many messages per second does each model's server take with p99 within 1 ms, as connections grow?",
            ),
            Chart(
                "capacity_p99_10ms_msgs_per_s",
                "connections",
                "capacity_p99_10ms_vs_connections",
                "How many messages per second does each model's server take with p99 within 10 ms, as connections "
                "grow?",
            ),
        ),
        flags=("generator_limited",),
    )

    def grid(self, profile: str) -> list[Params]:
        connections, sizes = GRID[profile]
        warmup, duration = TIMING[profile]
        return [
            Params(connections=c, message_size=size, duration_s=duration, warmup_s=warmup)
            for size in sizes
            for c in connections
        ]

    def plan(self, profile: str) -> Plan:
        return Plan(rounds=len(ABSOLUTE_RATES[profile]), warmup_rounds=0)

    def timeout_s(self, params: Params) -> float:
        """One rate's measurement: its schedule, the drain bound, and a generous margin."""
        return params["warmup_s"] + params["duration_s"] + DRAIN_S + 30.0

    def summarize(self, rounds: list[Round], params: Params) -> dict[str, Any]:
        """Only the common-rate rounds; ``summarize_sweep`` adds the rest of the cell."""
        return {"latency_p99_common_median_s": statistics.median(r.metrics["latency_p99_s"] for r in rounds)}

    def summarize_sweep(
        self, measurements: list[dict[str, Any]], saturated: float, open_loop: dict[str, Any]
    ) -> dict[str, Any]:
        """Every rate measured in the cell, the capacity under each target, and the cell's bottleneck."""
        points = search_points(measurements)
        common = sorted((m for m in measurements if m["kind"] == "absolute"), key=lambda m: m["offered_msgs_per_s"])
        capacities = {name: capacity(points, target, saturated) for name, target in TARGETS_S.items()}
        limited = [m["offered_msgs_per_s"] for m in measurements if is_generator_limited(m) and m["kind"] != "overload"]
        peer = any(c["generator_limited"] for c in capacities.values())
        last = {m["offered_msgs_per_s"]: k for k, m in enumerate(measurements)}
        for k, m in enumerate(measurements):  # a rate measured again is decided by its last measurement
            m["superseded"] = last[m["offered_msgs_per_s"]] != k
        metrics: dict[str, Any] = {
            "saturated_throughput_msgs_per_s": saturated,
            "open_loop_saturated_msgs_per_s": open_loop["msgs_per_s"],
            "open_loop_saturation": open_loop,
            "rates": sorted(measurements, key=lambda m: m["offered_msgs_per_s"]),
            "latency_p50_low_load_s": common[0]["latency_p50_s"] if common else None,
            "latency_p99_common_max_s": common[-1]["latency_p99_s"] if common else None,
            "generator_lag_p99_s": max(m["generator_lag_p99_s"] for m in measurements),
            "generator_lag_max_s": max(m["generator_lag_max_s"] for m in measurements),
            "generator_lag_bound_s": LAG_BOUND_S,
            # an overload leaves messages behind by design: counted with it, not here
            "messages_not_echoed": sum(m["messages_not_echoed"] for m in measurements if m["kind"] != "overload"),
            "generator_limited": peer,
            "bottleneck": "peer" if peer else "under_test",
            "bottleneck_evidence": {
                "generator_lag_p99_s": max(m["generator_lag_p99_s"] for m in measurements),
                "generator_lag_bound_s": LAG_BOUND_S,
                "generator_limited_rates_msgs_per_s": limited,
            },
        }
        for name, found in capacities.items():
            metrics[f"capacity_p99_{name}_msgs_per_s"] = found["msgs_per_s"]
            metrics[f"capacity_p99_{name}"] = found
        return metrics


WORKLOAD = TcpLatency()
