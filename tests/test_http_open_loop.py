"""The open-loop HTTP generator's two loops (C and Python) offer the seeded schedule with at most one request in
flight per connection, time every request from its due time, and check every response as the closed-loop HTTP
generator does, against the small threaded HTTP servers of ``tests.test_http_generator``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from benchmarks.harness.worker_client import WorkerClient, WorkloadFailed
from tests.session_runner import processes_tagged, run_benchmarks
from tests.test_http_generator import (
    FAULTS,
    SIZE,
    HttpServer,
    Reply,
    Respond,
    answer_on,
    in_tiny_pieces,
    status_500,
    whole,
)
from workloads.peers.http_open_loop import HttpOpenLoopGenerator, compiled_loop
from workloads.peers.load_generator import IMPL_ENV
from workloads.peers.open_loop_generator import schedule
from workloads.runtime.errors import WrongResult
from workloads.specs import http_latency, tcp_latency

NOT_BUILT = "workloads.peers._http_open_loop is not built (pip install -e .)"
IMPLS = ["python", pytest.param("c", marks=pytest.mark.skipif(compiled_loop is None, reason=NOT_BUILT))]
RATE, WARMUP_S, DURATION_S = 2000.0, 0.02, 0.1


@contextmanager
def serving(
    respond: Respond, connections: int, size: int, impl: str
) -> Iterator[tuple[HttpServer, HttpOpenLoopGenerator]]:
    server = HttpServer(respond, connections, size)
    gen = HttpOpenLoopGenerator(impl)
    try:
        gen.connect(server.port, connections, size)
        yield server, gen
    finally:
        gen.close()
        server.stop()


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(("respond", "size"), [(whole, 1024), (whole, 100_000), (in_tiny_pieces, 300)])
def test_every_scheduled_request_is_sent_once_answered_checked_and_timed(
    impl: str, respond: Respond, size: int
) -> None:
    connections, seed = 3, 7
    planned = schedule(RATE, WARMUP_S, DURATION_S, connections, seed)
    with serving(respond, connections, size, impl) as (server, gen):
        metrics = gen.measure(RATE, WARMUP_S, DURATION_S, 5.0, seed)
        assert metrics["generator_impl"] == impl and metrics["depth"] == 1 and metrics["body_size"] == size
        assert metrics["messages"] == planned.measured and metrics["messages_not_echoed"] == 0
        assert sum(server.requests) == len(planned.offsets)  # warm-up and measured requests, each once
        for index in range(connections):
            assert server.requests[index] == sum(1 for pick in planned.picks if pick == index)
        assert server.pipelined == 0 and server.malformed == []  # never two requests in flight on a connection
        assert 0 < metrics["latency_p50_s"] <= metrics["latency_p99_s"] <= metrics["latency_max_s"]


def slow(delay_s: float) -> Respond:
    def respond(index: int, number: int, size: int) -> Reply:
        time.sleep(delay_s)
        return whole(index, number, size)

    return respond


@pytest.mark.parametrize("impl", IMPLS)
def test_a_request_due_while_its_connection_is_busy_waits_and_is_timed_from_its_schedule(impl: str) -> None:
    # Two connections answered after 20 ms each carry at most about 100 requests/s; 400/s are offered.
    with serving(slow(0.02), 2, SIZE, impl) as (server, gen):
        metrics = gen.measure(400.0, 0.0, 0.1, 5.0, 3)
        assert server.pipelined == 0
        assert metrics["messages_waited_for_connection"] > 0
        assert metrics["connection_wait_p99_s"] > 0
        # timed from the schedule: a request that waited for its connection carries that wait in its latency
        assert metrics["latency_max_s"] >= metrics["connection_wait_p99_s"] + 0.02 * 0.9
        limit = metrics["connection_limit_msgs_per_s"]
        assert limit is not None and limit < 400.0


@pytest.mark.parametrize("impl", IMPLS)
def test_requests_never_answered_count_as_not_answered_at_their_age(impl: str) -> None:
    def never(index: int, number: int, size: int) -> Reply:
        return [], False

    with serving(never, 2, SIZE, impl) as (server, gen):
        metrics = gen.measure(500.0, 0.0, 0.05, 0.05, 1)
        assert metrics["messages_not_echoed"] == metrics["messages"] > 0
        assert metrics["latency_max_s"] >= 0.05  # aged at least the drain bound
        assert sum(server.requests) == 2  # one request per connection left; the rest waited for an answer


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("fault", FAULTS)
def test_a_wrong_response_fails_the_measurement_as_the_closed_loop_says_it(impl: str, fault: str) -> None:
    make, message = FAULTS[fault]
    with serving(answer_on(1, 1, make), 2, SIZE, impl) as (_, gen), pytest.raises(WrongResult) as failure:
        gen.measure(RATE, 0.0, 0.5, 1.0, 0)
    assert str(failure.value) == f"connection 1: {message}"


@pytest.mark.parametrize("impl", IMPLS)
def test_the_generator_process_serves_connect_measure_and_close(impl: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(IMPL_ENV, impl)
    server = HttpServer(answer_on(0, 200, status_500), 2, 512)
    try:
        with WorkerClient("http_open_loop", module="workloads.peers.http_open_loop") as gen:
            assert gen.hello["generator_impl"] == impl
            gen.call({"op": "connect", "port": server.port, "connections": 2, "body_size": 512}, 10, "connect")
            request = {"op": "measure", "rate": 1000.0, "warmup_s": 0.0, "duration_s": 0.05, "drain_s": 1.0, "seed": 0}
            reply = gen.call(request, 10, "measure")
            assert reply["messages"] > 0 and reply["messages_not_echoed"] == 0
            with pytest.raises(WorkloadFailed, match=r"wrong_result: connection 0: status line b'HTTP/1\.1 500"):
                gen.call({**request, "duration_s": 1.0}, 10, "measure")
            gen.call({"op": "close"}, 10, "close")
    finally:
        server.stop()


def test_an_http_latency_session_checks_every_response_and_saves_every_rate(tmp_path: Path) -> None:
    out = tmp_path / "http_latency.json"
    session = run_benchmarks(
        "--profile=quick", "--workloads=http_latency", "--models=asyncio", f"--benchmark-json={out}", "--no-report"
    )
    assert session.returncode == 0, session.output
    assert processes_tagged(session.tag) == []
    benches = json.loads(out.read_text())["benchmarks"]
    assert [b["extra_info"]["variant"] for b in benches] == ["uvicorn"]  # quick: each model's own server only
    info = benches[0]["extra_info"]
    assert info["http_tier"] == "own" and info["depth"] == 1
    plan = http_latency.PLANS["quick"]
    assert benches[0]["stats"]["rounds"] == len(plan.absolute_rates)
    assert {m["offered_msgs_per_s"] for m in info["rates"] if m["kind"] == "absolute"} == set(plan.absolute_rates)
    assert {m["kind"] for m in info["rates"]} >= {"absolute", "overload", "fraction"}
    for measured in info["rates"]:
        assert (
            measured["body_size"] == 1024 and measured["depth"] == 1 and measured["generator_impl"] in ("c", "python")
        )
        if measured["kind"] != "overload":  # an overload leaves requests unanswered by design
            assert measured["messages_not_echoed"] == 0
    for name in tcp_latency.TARGETS_S:
        assert info[f"capacity_p99_{name}_msgs_per_s"] >= 0
    assert info["saturated_throughput_msgs_per_s"] > 0
