"""Echo cells are classified by both sides: the side under test saturated, its peer, or neither."""

from __future__ import annotations

import pytest

from workloads.runtime.window import QUANTA_PER_SECOND
from workloads.specs.base import Round
from workloads.specs.bottleneck import classify, utilisation
from workloads.specs.tcp_client import WORKLOAD as TCP_CLIENT
from workloads.specs.tcp_echo import WORKLOAD as TCP_ECHO

LATENCIES = {f"latency_{k}_s": 1e-4 for k in ("p50", "p90", "p99", "p999", "max")}


def echo_round(seconds: float, server_cpu: float, generator_cpu: float, server_cores: int = 1) -> Round:
    metrics = {
        **LATENCIES,
        "messages": 1000,
        "server_cpu_s": server_cpu,
        "server_cores": server_cores,
        "generator_cpu_s": generator_cpu,  # working CPU: a spinning generator's waiting is reported apart
        "generator_wait_s": seconds - generator_cpu,
        "generator_cores": 1,
    }
    return Round(round(seconds * QUANTA_PER_SECOND), metrics)


def client_round(seconds: float, client_cpu: float, server_cpu: float) -> Round:
    metrics = {
        "messages": 1000,
        "client_cpu_s": client_cpu,
        "client_cores": 1,
        "reference_server_cpu_s": server_cpu,
        "reference_server_cores": 1,
    }
    return Round(round(seconds * QUANTA_PER_SECOND), metrics)


ECHO_PARAMS = {"connections": 10, "message_size": 1024, "messages": 1000}


@pytest.mark.parametrize(
    ("under_test", "peer", "expected"),
    [(0.95, 0.5, "under_test"), (0.95, 0.99, "under_test"), (0.5, 0.95, "peer"), (0.44, 0.3, "neither")],
)
def test_classify_names_the_side_that_set_the_pace(under_test: float, peer: float, expected: str) -> None:
    assert classify(under_test, peer) == expected


def test_utilisation_of_a_multi_core_side_counts_every_core() -> None:
    assert utilisation(1.5, 1.0, 2) == pytest.approx(0.75)
    assert utilisation(0.5, 1.0, 1) == pytest.approx(0.5)


def test_a_saturated_server_is_under_test_and_not_client_bound() -> None:
    info = TCP_ECHO.summarize([echo_round(0.1, 0.097, 0.08)] * 3, ECHO_PARAMS)  # type: ignore[arg-type]
    assert info["bottleneck"] == "under_test" and info["client_bound"] is False
    assert info["bottleneck_evidence"]["server_cpu_util"] == pytest.approx(0.97)
    assert info["generator_cpu_per_msg_s"] == pytest.approx(0.08 / 1000)


def test_a_busy_generator_with_an_idle_server_is_peer_and_client_bound() -> None:
    info = TCP_ECHO.summarize([echo_round(0.1, 0.06, 0.098)] * 3, ECHO_PARAMS)  # type: ignore[arg-type]
    assert info["bottleneck"] == "peer" and info["client_bound"] is True


def test_a_stalled_server_is_neither_and_not_blamed_on_the_generator() -> None:
    # The case that was mislabelled "measures the load generator": server at 44 %, generator at 30 %.
    info = TCP_ECHO.summarize([echo_round(0.1, 0.044, 0.03)] * 3, ECHO_PARAMS)  # type: ignore[arg-type]
    assert info["bottleneck"] == "neither" and info["client_bound"] is False
    assert info["bottleneck_evidence"]["generator_cpu_util_per_round"] == pytest.approx([0.3] * 3)


def test_a_multi_process_server_is_judged_against_all_its_cores() -> None:
    # 1.2 CPU-seconds per second on 3 cores is 0.4 of the server, not saturation; the generator is at 0.95.
    info = TCP_ECHO.summarize([echo_round(1.0, 1.2, 0.95, server_cores=3)] * 3, ECHO_PARAMS)  # type: ignore[arg-type]
    assert info["server_cpu_util"] == pytest.approx(0.4)
    assert info["bottleneck"] == "peer"


def test_the_median_round_decides() -> None:
    rounds = [echo_round(0.1, 0.095, 0.05), echo_round(0.1, 0.05, 0.05), echo_round(0.1, 0.096, 0.05)]
    assert TCP_ECHO.summarize(rounds, ECHO_PARAMS)["bottleneck"] == "under_test"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("client_cpu", "server_cpu", "expected", "server_bound"),
    [(0.095, 0.05, "under_test", False), (0.05, 0.095, "peer", True), (0.05, 0.05, "neither", False)],
)
def test_tcp_client_cells_are_classified_by_client_and_reference_server(
    client_cpu: float, server_cpu: float, expected: str, server_bound: bool
) -> None:
    params = {"connections": 10, "message_size": 1024, "round_trips": 100}
    info = TCP_CLIENT.summarize([client_round(0.1, client_cpu, server_cpu)] * 3, params)  # type: ignore[arg-type]
    assert info["bottleneck"] == expected
    assert info["reference_server_bound"] is server_bound
