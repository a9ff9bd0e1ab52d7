"""The tcp_latency capacity search, on synthetic servers: what it proves, and what it says when it cannot.

A synthetic server's p99 jumps past every target above its capacity, optionally with a generator that
lags above some rate, connections that bound it, or looks that a shared machine spoils once. The search
runs from the points a real cell starts with (two common rates, 0.5 and 0.9 of the closed-loop rate).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from workloads.specs import tcp_latency as spec

SATURATED = 30_000.0
TARGET = 1e-3
Server = Callable[[float], spec.Point]


def knee(capacity: float, lag_above: float = float("inf"), connections_above: float = float("inf")) -> Server:
    def measure(rate: float) -> spec.Point:
        return spec.Point(rate, 0.5e-3 if rate <= capacity else 50e-3, rate > lag_above, rate > connections_above)

    return measure


def search(server: Server, steps: int = 40, depth: int = 1, precision: float = 1.2) -> list[spec.Point]:
    points = [server(r) for r in (1000.0, 10_000.0, 0.5 * SATURATED, 0.9 * SATURATED)]
    for _ in range(steps):
        rate = spec.next_rate_within(points, TARGET, SATURATED, depth, precision)
        if rate is None:
            break
        points.append(server(rate))
    return points


@pytest.mark.parametrize("true_capacity", [150.0, 3000.0, 17_000.0, 26_000.0, 33_000.0])
def test_the_search_proves_a_bracket_around_the_true_capacity_within_its_precision(true_capacity: float) -> None:
    found = spec.capacity(search(knee(true_capacity)), TARGET, SATURATED)
    lo, hi = found["bracket_msgs_per_s"]
    assert lo <= true_capacity < hi
    assert hi / lo <= 1.2
    assert found["confirmed"] and found["bounded_by"] is None and not found["at_least"]
    assert found["looks"]["lo"] >= spec.CONFIRMATIONS and found["looks"]["hi"] >= spec.CONFIRMATIONS


def test_the_default_budget_proves_a_knee_near_the_closed_loop_rate() -> None:
    points = search(knee(SATURATED), steps=spec.SEARCH_STEPS["default"], precision=spec.PRECISION["default"])
    found = spec.capacity(points, TARGET, SATURATED)
    assert found["confirmed"] and found["precision"] is not None
    assert found["precision"] <= spec.PRECISION["default"]


def test_one_lucky_pass_is_not_a_capacity() -> None:
    """Above the knee a first look passes (a quiet moment); the second and third miss: the rate is a miss."""
    server = knee(20_000.0)
    looked: set[float] = set()

    def lucky_once(rate: float) -> spec.Point:
        if rate > 20_000.0 and rate not in looked:
            looked.add(rate)
            return spec.Point(rate, 0.5e-3, False)
        return server(rate)

    found = spec.capacity(search(lucky_once), TARGET, SATURATED)
    lo, hi = found["bracket_msgs_per_s"]
    assert lo <= 20_000.0 < hi


def test_one_spurious_miss_does_not_set_the_capacity() -> None:
    """A pause of the machine fails one look far below the knee; looked at again, it passes by majority."""
    server = knee(26_000.0)
    failed_once: set[float] = set()

    def pausing_once(rate: float) -> spec.Point:
        if 12_000.0 <= rate <= 16_000.0 and not failed_once:
            failed_once.add(rate)
            return spec.Point(rate, 5e-3, False)
        return server(rate)

    found = spec.capacity(search(pausing_once), TARGET, SATURATED)
    assert failed_once
    lo, hi = found["bracket_msgs_per_s"]
    assert lo <= 26_000.0 < hi and found["confirmed"]


def test_a_capacity_beyond_the_search_ceiling_is_a_lower_bound_that_breaks_the_closed_loop_bound() -> None:
    found = spec.capacity(search(knee(1e9)), TARGET, SATURATED)
    assert found["at_least"] and found["bounded_by"] == "ceiling"
    assert found["msgs_per_s"] == SATURATED * spec.ceiling_factor(1)
    assert found["exceeds_closed_loop"]  # at depth 1, 1.5x the closed loop is a measuring error to find
    deep = spec.capacity(search(knee(1e9), depth=8), TARGET, SATURATED, depth=8)
    assert deep["msgs_per_s"] == SATURATED * spec.ceiling_factor(8) and not deep["exceeds_closed_loop"]


def test_a_generator_that_falls_behind_bounds_the_capacity_and_says_so() -> None:
    found = spec.capacity(search(knee(40_000.0, lag_above=20_000.0)), TARGET, SATURATED)
    lo, hi = found["bracket_msgs_per_s"]
    assert found["bounded_by"] == "generator" and found["generator_limited"] and found["at_least"]
    assert lo <= 40_000.0 < hi  # a pass counts whatever the lag (latency is timed from the schedule)


def test_connections_that_bound_the_misses_make_the_capacity_a_lower_bound() -> None:
    found = spec.capacity(search(knee(25_000.0, connections_above=20_000.0)), TARGET, SATURATED)
    assert found["bounded_by"] == "connections" and found["connection_limited"] and found["at_least"]
    assert not found["generator_limited"]


def test_a_rate_whose_looks_never_agree_bounds_the_search_as_unsteady() -> None:
    flips = {"n": 0}

    def unsteady(rate: float) -> spec.Point:
        if rate >= 20_000.0:
            flips["n"] += 1
            return spec.Point(rate, 0.5e-3 if flips["n"] % 2 else 5e-3, False)
        return spec.Point(rate, 0.5e-3, False)

    points = [unsteady(r) for r in (10_000.0, 10_000.0, 20_000.0, 20_000.0, 20_000.0)]
    # 20 000: pass, miss, pass is a pass by majority; a fourth rate that alternates miss/pass/miss is a miss
    assert spec.verdict([p for p in points if p.rate == 20_000.0], TARGET) == "pass"
    mixed = [spec.Point(25_000.0, 5e-3, False), spec.Point(25_000.0, 0.5e-3, False), spec.Point(25_000.0, 5e-3, True)]
    found = spec.bracket([*points, *mixed], TARGET)
    assert (found.lo, found.hi, found.bounded_by) == (20_000.0, 25_000.0, "unsteady")


def test_the_next_look_is_the_lowest_doubt_then_the_unconfirmed_pass() -> None:
    points = [spec.Point(1000.0, 3e-3, False), spec.Point(50_000.0, 0.5e-3, False), spec.Point(60_000.0, 5e-3, False)]
    assert spec.next_rate(points, TARGET, SATURATED) == 1000.0
    settled = [*points, spec.Point(1000.0, 0.3e-3, False), spec.Point(1000.0, 0.3e-3, False)]
    assert spec.next_rate(settled, TARGET, SATURATED) == 60_000.0  # the doubt above lo: it may be the bound
    bounded = [*settled, spec.Point(60_000.0, 5e-3, False)]
    assert spec.next_rate(bounded, TARGET, SATURATED) == 50_000.0  # lo's one pass needs a second look
    late = [spec.Point(1000.0, 0.4e-3, False), spec.Point(10_000.0, 5e-3, True)]
    assert spec.next_rate(late, TARGET, SATURATED) == 10_000.0  # a miss while the generator lagged: look again


def test_a_miss_while_the_generator_lagged_is_no_evidence() -> None:
    assert spec.verdict([spec.Point(1.0, 5e-3, True), spec.Point(1.0, 5e-3, True)], TARGET) == "unsure"
    assert spec.verdict([spec.Point(1.0, 5e-3, False), spec.Point(1.0, 5e-3, False)], TARGET) == "miss"


def test_a_measurement_is_connection_limited_only_while_the_server_had_room() -> None:
    base = {"offered_msgs_per_s": 95_000.0, "connection_limit_msgs_per_s": 100_000.0}
    assert spec.is_connection_limited({**base, "server_cpu_util": 0.4})
    assert not spec.is_connection_limited({**base, "server_cpu_util": 0.97})  # the server was saturated
    assert not spec.is_connection_limited({**base, "offered_msgs_per_s": 50_000.0, "server_cpu_util": 0.4})
    assert not spec.is_connection_limited({**base, "connection_limit_msgs_per_s": None, "server_cpu_util": 0.4})


def test_the_sweep_records_depth_and_the_closed_loop_check() -> None:
    points = search(knee(1e9))  # every look passes up to the ceiling, 1.5x the closed loop: above the bound
    measurements = [
        {
            "kind": "search",
            "offered_msgs_per_s": p.rate,
            "latency_p50_s": p.p99_s,
            "latency_p99_s": p.p99_s,
            "generator_lag_p99_s": 0.0,
            "generator_lag_max_s": 0.0,
            "messages_not_echoed": 0,
        }
        for p in points
    ]
    sweep = spec.WORKLOAD.summarize_sweep(measurements, SATURATED, {"msgs_per_s": SATURATED, "at_least": False}, 1)
    assert sweep["depth"] == 1
    assert sweep["exceeds_closed_loop"] and sweep["closed_loop_bound"]["exceeded_by"] == ["10ms", "1ms"]
    assert sweep["closed_loop_bound"]["ratios"]["1ms"] == pytest.approx(
        sweep["capacity_p99_1ms_msgs_per_s"] / SATURATED
    )
    assert sweep["bottleneck"] == "under_test"
