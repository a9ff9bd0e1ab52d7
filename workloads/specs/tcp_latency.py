"""Workload ``tcp_latency``: at a given offered load, what latency does each echo server give, and where is its knee?

The model serves echo with its ``tcp_echo_server`` (and its tcp_echo variants). The open-loop
generator (``workloads.peers.open_loop_generator``, its own process on another core) sends 1 KiB
messages over C connections at a fixed offered rate with Poisson arrivals, and times each from its
*scheduled* send to its last echoed byte (free of coordinated omission), into an HDR histogram.

**Request and response.** Each connection carries at most ``depth`` messages not yet echoed (1 in the
default profile: an HTTP/1.1 client without pipelining, an RPC or a database client); a message due while
its connection is busy waits in the generator and is still timed from its schedule (wrk2's rule). So C
connections can carry at most about C x depth / L messages a second for a time on the wire L, and at depth 1
a server's capacity under any latency target is bounded by its closed-loop saturated throughput at the same
C and S: ``CLOSED_LOOP_TOLERANCE`` states by how much a measurement may exceed it before the cell is flagged
(``exceeds_closed_loop``: a measuring error to find, never clamped). Deeper (``full``), the server reads
several messages per ``recv()``: pipelining, a byte stream rather than requests.

One cell per model variant and parameter set measures, with one server start:

1. the server's closed-loop saturated throughput (the tcp_echo generator, a few rounds), then its open-loop
   throughput at the same depth: offered ``overload_factor`` times that, the rate the server echoed
   (``open_loop_saturation``);
2. the common absolute rates (``ABSOLUTE_RATES``), the same for every server: these are the cell's
   pytest-benchmark rounds, and a round's value is **the p99 latency at that rate** (so min is the p99
   at the lowest common rate, max at the highest; the median compares servers at identical load);
3. fractions of the closed-loop throughput (``FRACTIONS``), where the knee lies;
4. a search for the capacity under each latency target (``TARGETS_S``), whose result is a **bracket**: the
   highest rate proven to meet the target and the lowest proven to miss it, bisected geometrically until
   it is within the profile's ``PRECISION`` or the step budget is spent. A rate is proven by
   ``CONFIRMATIONS`` agreeing measurements out of at most ``MAX_LOOKS`` (one pause of a shared machine
   moves a 0.3 s run's p99 by milliseconds, so neither one lucky pass nor one unlucky miss decides).

What bounds a capacity, when it is not the server (the figure is then a lower bound, shown as "≥ X"):

- ``generator``: the generator issued its messages later than ``LAG_BOUND_S`` at p99 where the target was
  missed (it measured itself, or a machine too busy to trust). A point that *met* a target counts whatever
  the lag (latency is timed from the schedule, so lag only inflates it). The cell's ``bottleneck`` is then
  ``"peer"``.
- ``connections``: the misses came while the offered rate was near what the connections can carry
  (``connection_limited``: at least ``CONNECTION_BOUND_SHARE`` of the run's ``connection_limit_msgs_per_s``)
  and the server was not saturated (CPU below ``bottleneck.SATURATED_FROM_UTIL``): more connections would
  have carried more.
- ``ceiling``: the search met the target at its highest rate (``ceiling_factor`` x the closed-loop rate).
- ``unsteady``: a rate's looks never agreed (a rate at the edge, or a noisy machine).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from workloads.specs.base import CELL_START_S, Round, Workload
from workloads.specs.bottleneck import SATURATED_FROM_UTIL
from workloads.specs.schema import Chart, Metric, Plan, Schema
from workloads.specs.tcp_echo import Implements

__all__ = ["WORKLOAD", "Implements", "Params"]


class Params(TypedDict):
    connections: int
    message_size: int
    depth: int
    duration_s: float
    warmup_s: float


GRID = {
    "quick": ((10,), (1024,), (1,)),
    "default": ((10,), (1024,), (1,)),
    "full": ((10, 100), (1024, 16 * 1024), (1, 8)),
}
"""(connections, message sizes, depths) per profile. Depth 1 is request/response; 8 lets a connection pipeline.
C=100 is in ``full``: its cells cost about 12 s each, and the default profile must fit in 10 minutes."""
TIMING = {"quick": (0.05, 0.1), "default": (0.1, 0.3), "full": (0.5, 2.0)}
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
SEARCH_STEPS = {"quick": 1, "default": 6, "full": 14}
"""Extra measurements per latency target for the capacity search, looks to confirm a rate included."""
PRECISION = {"quick": 1.5, "default": 1.25, "full": 1.1}
"""The capacity search stops when its bracket [proven pass, proven miss] is within this ratio."""
TARGETS_S = {"1ms": 1e-3, "10ms": 10e-3}
CONFIRMATIONS = 2
"""Agreeing measurements that prove a rate passes or misses a target."""
MAX_LOOKS = 3
"""A rate whose looks still disagree after this many bounds the search as ``unsteady``."""
UP_FACTOR, DOWN_FACTOR = 1.5, 0.5
"""Steps of the search while it has no bracket yet (above the highest pass, below the lowest fail)."""
CLOSED_LOOP_TOLERANCE = 1.25
"""At depth 1 a capacity above this multiple of the closed-loop throughput (same C and S, same cell) is a
measuring error to find: with fewer connections busy at once a server can beat its saturated closed loop
a little (a depth-1 client written apart from the suite measured up to 1.2x for tornado and threads, 2026-12),
never by a multiple."""
FLOOR_RATE = 100.0
"""Nor less than this many messages/s: a server failing a target there has capacity 0 (< floor)."""
LAG_BOUND_S = 200e-6
"""A measurement whose generator lag p99 exceeds this is generator-limited (see the README)."""
CONNECTION_BOUND_SHARE = 0.9
"""A rate offered at this share of what the connections can carry, with the server not saturated, is
limited by the connections."""
RETRIES = 1
"""A common or fractional rate whose generator fell behind is measured once more (a busy machine)."""
DRAIN_S = 1.0
"""Messages not echoed this long after the schedule ends count as ``messages_not_echoed``."""
OVERLOAD_DRAIN_S = 0.2
"""The overload's bound: it is read for the echoes during its schedule, and at depth 1 its backlog waits in the
generator, so draining it whole would only spend time."""
OVERLOADED_BELOW = 0.95
"""An overload that echoed less than this share of the offered rate found the server's limit."""
SATURATION_MESSAGES = 4000
SATURATION_ROUNDS = 5
"""Closed-loop rounds measuring the saturated throughput; the median is used (it bounds the capacities, so a
round slowed by a pause of the machine must not set it: three rounds let one pause move it by a third)."""
PERCENTILE_KEYS = ("p50", "p90", "p99", "p999", "p9999")
Verdict = Literal["pass", "miss", "unsure"]
BoundedBy = Literal["generator", "connections", "ceiling", "unsteady"]


def ceiling_factor(depth: int) -> float:
    """The search's highest rate, as a multiple of the closed-loop throughput: at depth 1 just above the bound (a
    capacity beyond it shows as the error it is), deeper far above (pipelined reads many per ``recv()``)."""
    return 1.5 if depth == 1 else 8.0


def overload_factor(depth: int) -> float:
    """The overload offers this multiple of the closed-loop throughput: enough that the server, not the schedule,
    sets the rate echoed (pipelined servers kept up with 3x and more)."""
    return 2.0 if depth == 1 else 8.0


@dataclass(frozen=True)
class Point:
    """One offered rate measured: its p99, and whether the generator or the connections were the limit there."""

    rate: float
    p99_s: float
    generator_limited: bool
    connection_limited: bool = False


@dataclass(frozen=True)
class Bracket:
    """What a capacity search has proven for one target so far."""

    lo: float
    """The highest rate proven to meet the target below ``hi`` (0.0 if none)."""
    hi: float | None
    """The lowest rate proven to miss it, or that bounds the search (``bounded_by``); None if none."""
    looks: dict[float, int]
    retry: float | None
    """A rate to measure again before the bracket can be trusted (a disagreement, or an unconfirmed end)."""
    bounded_by: BoundedBy | None = None
    """Why ``hi`` bounds the search without being the server's proven miss (a lower bound), if it does."""


def is_generator_limited(measurement: dict[str, Any]) -> bool:
    return bool(measurement["generator_lag_p99_s"] > LAG_BOUND_S)


def is_connection_limited(measurement: dict[str, Any]) -> bool:
    """The connections, not the server, were the limit: the rate offered was near what they can carry at their
    depth, while the server was not saturated."""
    limit = measurement.get("connection_limit_msgs_per_s")
    if limit is None or "server_cpu_util" not in measurement:
        return False
    near = measurement["offered_msgs_per_s"] >= CONNECTION_BOUND_SHARE * limit
    return bool(near and measurement["server_cpu_util"] < SATURATED_FROM_UTIL)


def verdict(looks: list[Point], target_s: float) -> Verdict:
    """A rate passes or misses once ``CONFIRMATIONS`` looks agree and outnumber the others; a miss while the
    generator lagged is no evidence either way."""
    passes = sum(1 for p in looks if p.p99_s <= target_s)
    misses = sum(1 for p in looks if p.p99_s > target_s and not p.generator_limited)
    if passes >= CONFIRMATIONS and passes > misses:
        return "pass"
    if misses >= CONFIRMATIONS and misses > passes:
        return "miss"
    return "unsure"


def bracket(points: list[Point], target_s: float) -> Bracket:
    """The bracket the points prove for ``target_s``, and the rate to look at again, if any."""
    by_rate: dict[float, list[Point]] = {}
    for point in points:
        by_rate.setdefault(point.rate, []).append(point)
    looks = {rate: len(ps) for rate, ps in by_rate.items()}
    verdicts = {rate: verdict(ps, target_s) for rate, ps in by_rate.items()}
    missed = {rate: any(p.p99_s > target_s for p in ps) for rate, ps in by_rate.items()}
    # what bounds the search: a proven miss, or a rate whose looks ran out without agreeing
    bounds = sorted(r for r, v in verdicts.items() if v == "miss" or (v == "unsure" and looks[r] >= MAX_LOOKS))
    hi = bounds[0] if bounds else None
    below = sorted(r for r in by_rate if hi is None or r < hi)
    lo = max((r for r in below if verdicts[r] == "pass" or not missed[r]), default=0.0)  # proven, or every look met
    unsure_misses = [r for r in below if missed[r] and verdicts[r] != "pass"]
    retry: float | None = None
    if unsure_misses:
        retry = unsure_misses[0]  # the lowest doubt first: it may be the real bound
    elif lo > 0 and verdicts[lo] != "pass":
        retry = lo  # one lucky pass is not a capacity
    bounded_by = _bound_reason(by_rate[hi], target_s) if hi is not None else None
    return Bracket(lo, hi, looks, retry, bounded_by)


def _bound_reason(looks: list[Point], target_s: float) -> BoundedBy | None:
    misses = [p for p in looks if p.p99_s > target_s]
    if verdict(looks, target_s) == "unsure":
        return "generator" if misses and all(p.generator_limited for p in misses) else "unsteady"
    if misses and all(p.connection_limited for p in misses):
        return "connections"
    return None


def next_rate(points: list[Point], target_s: float, saturated: float, depth: int = 1) -> float | None:
    """The next rate the capacity search should offer for ``target_s``, or None when it is done."""
    return next_rate_within(points, target_s, saturated, depth, PRECISION["default"])


def next_rate_within(
    points: list[Point], target_s: float, saturated: float, depth: int, precision: float
) -> float | None:
    if not points:
        return None
    found = bracket(points, target_s)
    if found.retry is not None:
        return found.retry
    lo, hi = found.lo, found.hi
    ceiling = max(saturated * ceiling_factor(depth), FLOOR_RATE)
    if hi is None:
        return None if lo >= ceiling else min(max(lo, FLOOR_RATE) * UP_FACTOR, ceiling)
    if lo == 0.0:
        return None if hi <= FLOOR_RATE else max(hi * DOWN_FACTOR, FLOOR_RATE)
    if hi / lo <= precision:
        return None
    return math.sqrt(lo * hi)


def capacity(points: list[Point], target_s: float, saturated: float, depth: int = 1) -> dict[str, Any]:
    """The capacity under ``target_s``: the bracket the search proved, how often each end was measured, what
    bounds it when the server did not, and its ratio to the closed-loop throughput."""
    found = bracket(points, target_s)
    lo, hi = found.lo, found.hi
    ceiling = max(saturated * ceiling_factor(depth), FLOOR_RATE)
    bounded_by: BoundedBy | None = found.bounded_by
    if hi is None and lo >= ceiling:
        bounded_by = "ceiling"
    confirmed = found.retry is None and (lo == 0.0 or found.looks.get(lo, 0) >= CONFIRMATIONS)
    ratio = lo / saturated if saturated > 0 else None
    return {
        "msgs_per_s": lo,
        "bracket_msgs_per_s": [lo, hi],
        "precision": (hi / lo) if (hi is not None and lo > 0) else None,
        "looks": {"lo": found.looks.get(lo, 0), "hi": found.looks.get(hi, 0) if hi is not None else 0},
        "confirmed": confirmed,
        "bounded_by": bounded_by,
        "generator_limited": bounded_by == "generator",
        "connection_limited": bounded_by == "connections",
        "unconfirmed_msgs_per_s": found.retry,
        # a lower bound: no proven miss above it, or a miss that was not the server's
        "at_least": hi is None or bounded_by is not None,
        "beyond_ceiling": bounded_by == "ceiling",
        "closed_loop_ratio": ratio,
        "exceeds_closed_loop": depth == 1 and ratio is not None and ratio > CLOSED_LOOP_TOLERANCE,
    }


def measurement_point(measurement: dict[str, Any]) -> Point:
    return Point(
        measurement["offered_msgs_per_s"],
        measurement["latency_p99_s"],
        is_generator_limited(measurement),
        bool(measurement.get("connection_limited", is_connection_limited(measurement))),
    )


def search_points(measurements: list[dict[str, Any]]) -> list[Point]:
    """The points the capacity search reads: every measurement but the overload (it measures the open-loop
    throughput, beyond the knee by design, and was offered once, not as a step of the search)."""
    return [measurement_point(m) for m in measurements if m["kind"] != "overload"]


def overload_rate(closed_loop_saturated: float, depth: int = 1) -> float:
    return max(FLOOR_RATE, overload_factor(depth) * closed_loop_saturated)


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


@dataclass(frozen=True)
class SweepPlan:
    """What one open-loop cell offers after the closed-loop rounds: the common rates (its rounds), the fractions of the
    closed-loop throughput, and the capacity search's budget per target and precision."""

    absolute_rates: tuple[float, ...]
    fractions: tuple[float, ...]
    search_steps: int
    precision: float


def sweep_plan(profile: str) -> SweepPlan:
    return SweepPlan(ABSOLUTE_RATES[profile], FRACTIONS[profile], SEARCH_STEPS[profile], PRECISION[profile])


def sweep_rates(plan: SweepPlan) -> float:
    """Rates a cell of ``plan`` measures, about: the common ones, the overload, the fractions, and three quarters of
    the search's budget per target (searches end early)."""
    return len(plan.absolute_rates) + 1 + len(plan.fractions) + 0.75 * len(TARGETS_S) * plan.search_steps


def sweep_metrics(
    measurements: list[dict[str, Any]], saturated: float, open_loop: dict[str, Any], depth: int = 1
) -> dict[str, Any]:
    """Every rate measured in the cell, the capacity under each target, the closed-loop bound's check, and the
    cell's bottleneck (tcp_latency's and http_latency's)."""
    points = search_points(measurements)
    common = sorted((m for m in measurements if m["kind"] == "absolute"), key=lambda m: m["offered_msgs_per_s"])
    capacities = {name: capacity(points, target, saturated, depth) for name, target in TARGETS_S.items()}
    searched = [m for m in measurements if m["kind"] != "overload"]
    limited = [m["offered_msgs_per_s"] for m in searched if is_generator_limited(m)]
    by_connections = [m["offered_msgs_per_s"] for m in searched if m.get("connection_limited")]
    peer = any(c["generator_limited"] for c in capacities.values())
    last = {m["offered_msgs_per_s"]: k for k, m in enumerate(measurements)}
    for k, m in enumerate(measurements):  # a rate measured again: its earlier looks are drawn as superseded
        m["superseded"] = last[m["offered_msgs_per_s"]] != k
    exceeding = sorted(name for name, c in capacities.items() if c["exceeds_closed_loop"])
    metrics: dict[str, Any] = {
        "depth": depth,
        "closed_loop_bound": {
            "tolerance": CLOSED_LOOP_TOLERANCE,
            "applies": depth == 1,
            "ratios": {name: c["closed_loop_ratio"] for name, c in capacities.items()},
            "exceeded_by": exceeding,
        },
        "exceeds_closed_loop": bool(exceeding),
        "connection_limited": any(c["connection_limited"] for c in capacities.values()),
        "connection_limited_rates_msgs_per_s": by_connections,
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
                "capacity_p99_10ms_msgs_per_s",
                "capacity, p99 ≤ 10 ms",
                "msgs/s",
                higher_is_better=True,
                headline=True,
            ),
            Metric(
                "capacity_p99_1ms_msgs_per_s", "capacity, p99 ≤ 1 ms", "msgs/s", higher_is_better=True, headline=True
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
        connections, sizes, depths = GRID[profile]
        warmup, duration = TIMING[profile]
        return [
            Params(connections=c, message_size=size, depth=depth, duration_s=duration, warmup_s=warmup)
            for depth in depths
            for size in sizes
            for c in connections
        ]

    def plan(self, profile: str) -> Plan:
        return Plan(rounds=len(ABSOLUTE_RATES[profile]), warmup_rounds=0)

    def timeout_s(self, params: Params) -> float:
        """One rate's measurement: its schedule, the drain bound, and a generous margin."""
        return params["warmup_s"] + params["duration_s"] + DRAIN_S + 30.0

    def expected_cell_s(self, params: Params, plan: Plan, profile: str) -> float:
        """Three processes start; the closed-loop rounds; then every rate: the common ones, the overload and its
        drain, the fractions, and about three quarters of the search's budget per target (searches end early)."""
        rates = sweep_rates(sweep_plan(profile))
        per_rate = params["warmup_s"] + params["duration_s"] + 0.05
        return 3 * CELL_START_S + (SATURATION_ROUNDS + 1) * 0.1 + rates * per_rate + OVERLOAD_DRAIN_S

    def summarize(self, rounds: list[Round], params: Params) -> dict[str, Any]:
        """Only the common-rate rounds; ``summarize_sweep`` adds the rest of the cell."""
        return {"latency_p99_common_median_s": statistics.median(r.metrics["latency_p99_s"] for r in rounds)}

    def summarize_sweep(
        self, measurements: list[dict[str, Any]], saturated: float, open_loop: dict[str, Any], depth: int = 1
    ) -> dict[str, Any]:
        return sweep_metrics(measurements, saturated, open_loop, depth)


WORKLOAD = TcpLatency()
