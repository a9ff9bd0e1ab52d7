"""Workload ``http_latency``: at a given offered load of HTTP requests, what latency does each model's server give,
and how many requests a second does it take within a p99 target?

The model serves HTTP with its ``http_server`` (and that workload's variants: its own server, the same
parser). The open-loop HTTP generator (``workloads.peers.http_open_loop``, its own process on another
core) sends ``GET /`` over C keep-alive connections at a fixed offered rate with Poisson arrivals, one
request in flight per connection (HTTP/1.1 without pipelining; a request due while its connection is busy
waits in the generator and is still timed from its schedule, wrk2's rule), checks every response's status,
length and body bytes, and times each request from its *scheduled* send to its response's last byte, into
an HDR histogram.

The method is tcp_latency's at depth 1, and its code (``workloads.specs.tcp_latency``): the closed-loop
saturated throughput first (here the closed-loop HTTP generator's, a few rounds), then the common absolute
rates (the cell's rounds: a round's value is the p99 at that rate), an overload, fractions of the closed-loop
throughput, and a capacity search per latency target whose result is a proven bracket. A capacity above the
closed-loop throughput by more than ``CLOSED_LOOP_TOLERANCE`` is flagged, never clamped; one bounded by the
generator, the connections or the search's ceiling is a lower bound. In the saved rates a "msg" is a request.
"""

from __future__ import annotations

import statistics
from typing import Any, TypedDict

from workloads.specs import http_server
from workloads.specs import tcp_latency as method
from workloads.specs.base import CELL_START_S, Round, Workload
from workloads.specs.schema import Chart, Metric, Plan, Schema
from workloads.specs.tcp_latency import SweepPlan, sweep_rates


class Params(TypedDict):
    connections: int
    body_size: int
    io_ms: int
    duration_s: float
    warmup_s: float


GRID: dict[str, tuple[tuple[int, int, int], ...]] = {
    "quick": (http_server.COMPARISON_POINT,),
    "default": (http_server.COMPARISON_POINT,),
    "full": (http_server.COMPARISON_POINT, (100, 1024, 1), (100, 16 * 1024, 1)),
}
"""(connections, body size, io_ms) per profile. The default profile measures the comparison point, where the
closed-loop HTTP cells compare every server (parser and server, nothing else in the request); the points with
an IO call are in ``full``."""
TIMING = method.TIMING
PLANS = {
    "quick": SweepPlan((1000.0,), (0.5,), 1, 1.5),
    "default": SweepPlan((1000.0, 5000.0), (0.5, 0.9), 5, 1.3),
    "full": SweepPlan((1000.0, 2000.0, 5000.0, 10_000.0, 20_000.0), (0.25, 0.5, 0.75, 0.9, 1.0, 1.1), 14, 1.1),
}
"""Common rates (requests/s, low enough that the slowest own server, about 7 k requests/s closed loop here,
keeps up), fractions, and the search's budget per target and precision, per profile."""
SATURATION_REQUESTS = 1000
"""Requests per closed-loop round measuring the saturated throughput (``tcp_latency.SATURATION_ROUNDS`` of
them after one warm-up; the median bounds the capacities)."""
TARGETS = tuple(method.TARGETS_S)


def measures_variant(profile: str, *, default: bool) -> bool:
    """The own server everywhere; the second variants (the same parser, aiohttp) in ``full`` only."""
    return default or profile == "full"


class HttpLatency(Workload[Params]):
    in_worker = False
    pinned = True
    variants_from = "http_server"
    schema = Schema(
        name="http_latency",
        order=26,
        question="At a given load of HTTP requests, what latency does each model's server give, and how many "
        "requests a second does it take within a p99 target?",
        scenario="web service latency under load",
        metrics=(
            Metric(
                "capacity_p99_10ms_msgs_per_s",
                "capacity, p99 ≤ 10 ms",
                "requests/s",
                higher_is_better=True,
                headline=True,
            ),
            Metric(
                "capacity_p99_1ms_msgs_per_s",
                "capacity, p99 ≤ 1 ms",
                "requests/s",
                higher_is_better=True,
                headline=True,
            ),
            Metric("saturated_throughput_msgs_per_s", "closed-loop throughput", "requests/s", higher_is_better=True),
            Metric(
                "open_loop_saturated_msgs_per_s",
                "open-loop throughput (overload)",
                "requests/s",
                higher_is_better=True,
            ),
            Metric("latency_p50_low_load_s", "p50 at the lowest common rate", "s"),
            Metric("latency_p99_common_max_s", "p99 at the highest common rate", "s"),
            Metric("generator_lag_p99_s", "generator lag p99 (worst rate)", "s", table=False),
            Metric("generator_lag_max_s", "generator lag max", "s", table=False),
            Metric("messages_not_echoed", "not answered within 1 s", "count", table=False),
        ),
        charts=(
            Chart(
                "capacity_p99_10ms_msgs_per_s",
                "connections",
                "http_capacity_p99_10ms_vs_connections",
                "How many HTTP requests per second does each model's server take with p99 within 10 ms?",
            ),
        ),
        flags=("generator_limited",),
    )

    def grid(self, profile: str) -> list[Params]:
        warmup, duration = TIMING[profile]
        return [
            Params(connections=c, body_size=size, io_ms=io_ms, duration_s=duration, warmup_s=warmup)
            for c, size, io_ms in GRID[profile]
        ]

    def plan(self, profile: str) -> Plan:
        return Plan(rounds=len(PLANS[profile].absolute_rates), warmup_rounds=0)

    def measures_variant(self, profile: str, params: Params, *, default: bool) -> bool:
        return measures_variant(profile, default=default)

    def timeout_s(self, params: Params) -> float:
        """One rate's measurement: its schedule, the drain bound, and a generous margin."""
        return params["warmup_s"] + params["duration_s"] + method.DRAIN_S + 30.0

    def expected_cell_s(self, params: Params, plan: Plan, profile: str) -> float:
        """Three processes start; the closed-loop rounds (about 10 k requests/s); then every rate."""
        per_rate = params["warmup_s"] + params["duration_s"] + 0.05
        saturation = (method.SATURATION_ROUNDS + 1) * SATURATION_REQUESTS / 10_000
        return 3 * CELL_START_S + saturation + sweep_rates(PLANS[profile]) * per_rate + method.OVERLOAD_DRAIN_S

    def summarize(self, rounds: list[Round], params: Params) -> dict[str, Any]:
        """Only the common-rate rounds; ``summarize_sweep`` adds the rest of the cell."""
        return {"latency_p99_common_median_s": statistics.median(r.metrics["latency_p99_s"] for r in rounds)}

    def summarize_sweep(
        self, measurements: list[dict[str, Any]], saturated: float, open_loop: dict[str, Any]
    ) -> dict[str, Any]:
        return method.sweep_metrics(measurements, saturated, open_loop, 1)


WORKLOAD = HttpLatency()
