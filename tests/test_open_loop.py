"""The open-loop method, checked against theory with test-only servers of known latency.

- ``fixed_delay`` serves each 1 KiB message for D = 5 ms in a single queue, its completions kept on a
  schedule so that a busy machine's late wake-ups delay an echo without lengthening the service (see
  ``tests/models/latency_model.py``); under the generator's Poisson arrivals it is an M/D/1 queue. The
  mean wait is Pollaczek-Khinchine's rho*D / (2(1-rho)); the p99 comes from Lindley's recursion
  W' = max(0, W + D - A) over exponential gaps A (the exact M/D/1 waiting-time process, simulated).
  What the machine adds (loopback, wake-ups, the server's own per-message cost) is measured once at a
  low load and added to both predictions.
  Tolerance: within 0.6-1.6x of the queueing part of the mean, 0.7-1.6x of the p99 (a shared
  2-core VM is noisy; a closed loop or non-Poisson arrivals are far outside either).
- ``stalls`` stops serving for 100 ms once a second: 10 % of the time. Open loop, a message due in
  the first 10 ms of a stall waits at least 90 ms, so p99 >= 90 ms; a closed loop of 10 connections
  has at most 10 messages waiting in each stall, so the stall shows in its max but not its p99.

No wall time is asserted: only ratios to the theory for the same run's own baseline.

The generator's two loops (C, ``workloads.peers._open_loop``, and the Python fallback) are run side by
side in this process: the same messages on the same connections for a seed, the same report of a wrong,
extra or missing echo, the same count of messages never echoed (at their age).
"""

from __future__ import annotations

import json
import random
import socket
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from benchmarks.harness.echo_harness import (
    echo_server,
    load_generator,
    open_loop_generator,
    pin_pair,
    reference_server,
)
from benchmarks.harness.worker_client import WorkerClient, WorkloadFailed
from tests.models.latency_model import SERVICE_S, STALL_EVERY_S, STALL_S
from tests.session_runner import processes_tagged, run_benchmarks
from workloads.peers.load_generator import IMPL_ENV
from workloads.peers.open_loop_generator import SLEEP_ENV, OpenLoopGenerator, compiled_loop, schedule
from workloads.runtime.errors import WrongResult
from workloads.specs import tcp_latency as spec
from workloads.specs.echo_data import ECHO_HOST

EXTRA = {"COROBENCH_EXTRA_MODELS": "tests.models"}
CONNECTIONS = 10
NOT_BUILT = "workloads.peers._open_loop is not built (pip install -e .)"
IMPLS = ["python", pytest.param("c", marks=pytest.mark.skipif(compiled_loop is None, reason=NOT_BUILT))]
BUILT = ["python", "c"] if compiled_loop is not None else ["python"]


@pytest.fixture
def probe(request: pytest.FixtureRequest) -> Iterator[tuple[WorkerClient, WorkerClient, int]]:
    """(server worker, open-loop generator, port) for the latency_probe variant named by the test's param."""
    with (
        WorkerClient("latency_probe", env=EXTRA) as worker,
        echo_server(worker, request.param) as port,
        open_loop_generator() as generator,
    ):
        pin_pair(worker, generator)
        generator.call({"op": "connect", "port": port, "connections": CONNECTIONS, "message_size": 1024}, 30, "")
        yield worker, generator, port


def offer(generator: WorkerClient, rate: float, duration_s: float, warmup_s: float = 0.3) -> dict[str, Any]:
    request = {"op": "measure", "rate": rate, "warmup_s": warmup_s, "duration_s": duration_s, "drain_s": 2.0}
    return generator.call({**request, "seed": 7}, 60, f"{rate} msgs/s")


def md1_mean_wait(rho: float) -> float:
    return rho * SERVICE_S / (2 * (1 - rho))


def md1_wait_percentile(rho: float, fraction: float, customers: int = 200_000) -> float:
    """The ``fraction`` quantile of the M/D/1 waiting time, from Lindley's recursion (seeded)."""
    rng = random.Random(13)
    rate = rho / SERVICE_S
    wait, waits = 0.0, []
    for _ in range(customers):
        waits.append(wait)
        wait = max(0.0, wait + SERVICE_S - rng.expovariate(rate))
    waits.sort()
    return waits[int(fraction * customers)]


def test_the_lindley_simulation_agrees_with_pollaczek_khinchine() -> None:
    rng = random.Random(5)
    rate, wait, total = 0.7 / SERVICE_S, 0.0, 0.0
    for _ in range(200_000):
        total += wait
        wait = max(0.0, wait + SERVICE_S - rng.expovariate(rate))
    assert total / 200_000 == pytest.approx(md1_mean_wait(0.7), rel=0.1)


ATTEMPTS = 3
"""A shared 2-core machine can starve the server or the generator for a moment; the method passes if one
of three measurements agrees with the theory (a closed loop or non-Poisson arrivals never would)."""


def md1_mismatch(generator: WorkerClient) -> str | None:
    """Measure at 10 % and 70 % load; None when both agree with M/D/1, else what disagreed.

    60 messages at 10 % give the machine's own part, 840 at 70 % the queueing and its p99."""
    low, busy = 0.1, 0.7
    idle = offer(generator, low / SERVICE_S, 3.0)
    loaded = offer(generator, busy / SERVICE_S, 6.0)
    for measured in (idle, loaded):
        if measured["messages_not_echoed"] != 0:
            return f"messages not echoed: {measured}"
        if measured["achieved_msgs_per_s"] != pytest.approx(measured["offered_msgs_per_s"], rel=0.25):
            return f"achieved rate off the offered one: {measured}"
    # The machine's own part: loopback, wake-ups and the server's per-message cost, beyond D and queueing.
    base = idle["latency_mean_s"] - SERVICE_S - md1_mean_wait(low)
    queueing = loaded["latency_mean_s"] - SERVICE_S - base
    if not 0.6 <= queueing / md1_mean_wait(busy) <= 1.6:
        return f"mean queueing {queueing} against M/D/1 {md1_mean_wait(busy)}: {idle} {loaded}"
    predicted_p99 = base + SERVICE_S + md1_wait_percentile(busy, 0.99)
    if not 0.7 <= loaded["latency_p99_s"] / predicted_p99 <= 1.6:
        return f"p99 {loaded['latency_p99_s']} against M/D/1 {predicted_p99}: {loaded}"
    return None


@pytest.mark.timing
@pytest.mark.parametrize("probe", ["fixed_delay"], indirect=True)
def test_a_fixed_service_time_queues_as_md1(probe: tuple[WorkerClient, WorkerClient, int]) -> None:
    _, generator, _ = probe
    mismatches = []
    for _ in range(ATTEMPTS):
        mismatch = md1_mismatch(generator)
        if mismatch is None:
            return
        mismatches.append(mismatch)
    pytest.fail(f"no measurement of {ATTEMPTS} agreed with M/D/1:\n" + "\n".join(mismatches))


@pytest.mark.timing
@pytest.mark.parametrize("probe", ["stalls"], indirect=True)
def test_open_loop_shows_a_stall_that_a_closed_loop_hides(probe: tuple[WorkerClient, WorkerClient, int]) -> None:
    worker, generator, port = probe
    share = STALL_S / STALL_EVERY_S
    open_loop = offer(generator, 1000, 3 * STALL_EVERY_S, warmup_s=0.0)
    # p99 falls among the messages due in the first (1 % / share) of a stall: they wait the rest of it.
    stall_p99 = STALL_S * (1 - 0.01 / share)
    assert open_loop["latency_p99_s"] >= 0.5 * stall_p99, open_loop
    generator.call({"op": "close"}, 30, "close")
    with load_generator() as closed:
        pin_pair(worker, closed)
        closed.call({"op": "connect", "port": port, "connections": CONNECTIONS, "message_size": 1024}, 30, "")
        rounds, started = [], time.monotonic()
        while time.monotonic() - started < 1.5 * STALL_EVERY_S:  # long enough to contain a stall
            rounds.append(closed.call({"op": "round", "messages": 10_000}, 60, "closed loop")["metrics"])
    assert max(r["latency_max_s"] for r in rounds) >= 0.5 * STALL_S, rounds
    assert max(r["latency_p99_s"] for r in rounds) <= open_loop["latency_p99_s"] / 5, (rounds, open_loop)


@pytest.mark.timing
@pytest.mark.parametrize("probe", ["fixed_delay"], indirect=True)
def test_latency_at_overload_grows_with_the_run(probe: tuple[WorkerClient, WorkerClient, int]) -> None:
    """Offered twice what the server can echo, the backlog (and so the latency) grows with the run: 3x as long
    a run, about 3x the latency (the last message waits for half the run's messages)."""
    _, generator, _ = probe
    short = offer(generator, 2 / SERVICE_S, 0.2, warmup_s=0.0)
    long = offer(generator, 2 / SERVICE_S, 0.6, warmup_s=0.0)
    for key in ("latency_p50_s", "latency_max_s"):
        assert 2.0 <= long[key] / short[key] <= 4.5, (key, short, long)


@pytest.mark.parametrize("impl", IMPLS)
def test_the_open_loop_generator_process_detects_a_corrupted_echo(impl: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(IMPL_ENV, impl)
    with (
        WorkerClient("faulty", env={**EXTRA, "COROBENCH_FAULT": "corrupt_echo"}) as worker,
        echo_server(worker, None) as port,
        open_loop_generator() as generator,
    ):
        assert generator.hello["generator_impl"] == impl
        generator.call({"op": "connect", "port": port, "connections": 2, "message_size": 1024}, 30, "")
        with pytest.raises(WorkloadFailed, match="echoed byte"):
            offer(generator, 1000, 0.1, warmup_s=0.0)


# -- the generator's two loops (C and Python), side by side in this process ------------------------


@contextmanager
def open_loop(impl: str, port: int, connections: int, size: int) -> Iterator[OpenLoopGenerator]:
    gen = OpenLoopGenerator(impl)
    try:
        gen.connect(port, connections, size)
        yield gen
    finally:
        gen.close()


def streams_sent(gen: OpenLoopGenerator) -> list[int]:
    return [conn.sent for conn in gen._connections]


def test_the_schedule_is_poisson_on_uniformly_chosen_connections_and_fixed_by_its_seed() -> None:
    rate, connections = 50_000.0, 10
    planned = schedule(rate, 0.5, 2.0, connections, seed=3)
    gaps = [b - a for a, b in zip(planned.offsets, planned.offsets[1:], strict=False)]
    assert statistics.fmean(gaps) == pytest.approx(1 / rate, rel=0.01)
    assert statistics.stdev(gaps) == pytest.approx(1 / rate, rel=0.02)  # exponential: stdev = mean
    assert planned.offsets[0] > 0 and planned.offsets[-1] < 2.5
    per_connection = Counter(planned.picks)
    assert sorted(per_connection) == list(range(connections))
    assert max(per_connection.values()) / min(per_connection.values()) < 1.05
    assert all(o < 0.5 for o in planned.offsets[: planned.first_measured])
    assert all(o >= 0.5 for o in planned.offsets[planned.first_measured :])
    assert planned.measured == pytest.approx(2.0 * rate, rel=0.02)
    again, other = schedule(rate, 0.5, 2.0, connections, seed=3), schedule(rate, 0.5, 2.0, connections, seed=4)
    assert again == planned and other.offsets != planned.offsets


@pytest.mark.parametrize(("connections", "size", "rate"), [(4, 1024, 20_000.0), (3, 200_000, 300.0)])
def test_both_loops_send_the_same_schedule_and_check_every_echo(connections: int, size: int, rate: float) -> None:
    """200 KB messages overrun a send() and a 64 KiB recv(): bytes wait in the pending buffer, several in flight."""
    seed, warmup_s, duration_s = 11, 0.05, 0.3
    planned = schedule(rate, warmup_s, duration_s, connections, seed)
    scheduled = Counter(planned.picks)
    sent: dict[str, list[int]] = {}
    with reference_server() as server:
        for impl in BUILT:
            with open_loop(impl, server.hello["port"], connections, size) as gen:
                for round_ in (1, 2):  # the second measurement carries on along the same streams
                    measured = gen.measure(rate, warmup_s, duration_s, 2.0, seed)
                    assert measured["generator_impl"] == impl
                    assert measured["messages"] == planned.measured
                    assert measured["messages_not_echoed"] == 0
                    assert 0 < measured["latency_p50_s"] <= measured["latency_max_s"] < 2.0
                    assert streams_sent(gen) == [round_ * scheduled[i] * size for i in range(connections)]
                    assert [c.received for c in gen._connections] == streams_sent(gen)
                sent[impl] = streams_sent(gen)
    assert len(set(map(tuple, sent.values()))) == 1, sent


@contextmanager
def misbehaving_server(
    serve: Callable[[socket.socket, threading.Event], None],
) -> Iterator[tuple[int, list[socket.socket]]]:
    """(port, connections accepted) of a server in this process serving each connection with ``serve``
    in a thread of its own (the C loop releases the GIL; the Python loop's polls let it go) until the
    event is set; a connection the generator closed ends its thread quietly."""
    listener = socket.create_server((ECHO_HOST, 0))
    listener.settimeout(0.05)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def quietly(conn: socket.socket) -> None:
        try:
            serve(conn, stop)
        except OSError:
            pass

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(conn)
            threading.Thread(target=quietly, args=(conn,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        stop.set()
        acceptor.join()
        listener.close()
        for conn in accepted:
            conn.close()


def read_message(conn: socket.socket) -> bytes:
    data = b""
    while len(data) < 1024:
        chunk = conn.recv(1024 - len(data))
        if not chunk:
            raise ConnectionAbortedError("the generator closed the connection")
        data += chunk
    return data


def echo_one_with_extra(conn: socket.socket, stop: threading.Event) -> None:
    """Echo the first message and one byte more, then hold the connection open."""
    conn.sendall(read_message(conn) + b"\xff")
    stop.wait()


def echo_one_then_close(conn: socket.socket, stop: threading.Event) -> None:
    """Echo the first message, then close the sending side (a FIN, not a reset)."""
    conn.sendall(read_message(conn))
    conn.shutdown(socket.SHUT_WR)
    stop.wait()


def echo_one_then_corrupt(conn: socket.socket, stop: threading.Event) -> None:
    """Echo the first message, then the second with its first byte changed (0xff: no message holds it)."""
    conn.sendall(read_message(conn))
    conn.sendall(b"\xff" + read_message(conn)[1:])
    stop.wait()


def swallow(conn: socket.socket, stop: threading.Event) -> None:
    """Read everything, echo nothing."""
    while conn.recv(65536) and not stop.is_set():
        pass


LONE = (10.0, 0.0, 1.0, 11)
"""(rate, warm-up, duration, seed) on one connection: the second message comes long after the first's echo,
so what a misbehaving server does to the first is seen before the second is sent."""


def test_the_lone_schedule_leaves_time_to_answer_the_first_message() -> None:
    rate, warmup_s, duration_s, seed = LONE
    offsets = schedule(rate, warmup_s, duration_s, 1, seed).offsets
    assert len(offsets) >= 3 and offsets[0] < 0.1 and min(offsets[1] - offsets[0], offsets[2] - offsets[1]) > 0.05


@contextmanager
def bad_server(case: str) -> Iterator[int]:
    """The port of a server misbehaving as ``case`` says: a ``faulty`` model's fault, or one served here."""
    here = {"extra": echo_one_with_extra, "closed": echo_one_then_close, "second_corrupt": echo_one_then_corrupt}
    if case in here:
        with misbehaving_server(here[case]) as (port, _):
            yield port
    else:
        with (
            WorkerClient("faulty", env={**EXTRA, "COROBENCH_FAULT": case}) as worker,
            echo_server(worker, None) as port,
        ):
            yield port


def bad_echo_report(impl: str, case: str) -> str:
    rate, warmup_s, duration_s, seed = LONE
    with (
        bad_server(case) as port,
        open_loop(impl, port, 1, 1024) as gen,
        pytest.raises((WrongResult, OSError)) as failure,
    ):
        gen.measure(rate, warmup_s, duration_s, 1.0, seed)
    return f"{type(failure.value).__name__}: {failure.value}"


@pytest.mark.skipif(compiled_loop is None, reason=NOT_BUILT)
@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("corrupt_echo", "WrongResult: connection 0, stream offset 1: echoed byte 0xfe, sent 0x01"),
        ("second_corrupt", "WrongResult: connection 0, stream offset 1024: echoed byte 0xff, sent 0x00"),
        ("extra", "WrongResult: connection 0, stream offset 1024: the server echoed 1 bytes more than were sent"),
        (
            "closed",
            "WrongResult: connection 0, stream offset 1024: the server closed the connection with 0 bytes still "
            "to echo",
        ),
        ("reset_echo", "ConnectionResetError: [Errno 104] Connection reset by peer"),
    ],
)
def test_both_loops_report_a_wrong_extra_or_missing_echo_alike(case: str, expected: str) -> None:
    assert {impl: bad_echo_report(impl, case) for impl in ("python", "c")} == {"python": expected, "c": expected}


@pytest.mark.parametrize("impl", IMPLS)
def test_messages_never_echoed_are_counted_at_their_age_and_the_connections_reopened(impl: str) -> None:
    rate, warmup_s, duration_s, drain_s, connections = 2000.0, 0.05, 0.2, 0.3, 3
    with misbehaving_server(swallow) as (port, accepted), open_loop(impl, port, connections, 1024) as gen:
        measured = gen.measure(rate, warmup_s, duration_s, drain_s, 5)
        assert measured["messages"] == schedule(rate, warmup_s, duration_s, connections, 5).measured > 0
        assert measured["messages_not_echoed"] == measured["messages"]
        assert measured["achieved_msgs_per_s"] == 0
        # each waited at least the drain (every one was due before the schedule ended), at most the whole run
        assert drain_s <= measured["latency_p50_s"] <= measured["latency_max_s"] <= measured["elapsed_s"]
        assert measured["drain_s"] >= drain_s
        deadline = time.monotonic() + 5
        while len(accepted) < 2 * connections and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(accepted) == 2 * connections  # the next measurement starts on fresh streams
        assert streams_sent(gen) == [0] * connections


@pytest.mark.parametrize("impl", IMPLS)
def test_the_sleeping_form_keeps_the_same_schedule(impl: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``COROBENCH_GENERATOR_SLEEP=1``: the timerfd wakes the loop before each due time, nothing is lost."""
    monkeypatch.setenv(IMPL_ENV, impl)
    monkeypatch.setenv(SLEEP_ENV, "1")
    rate, warmup_s, duration_s = 2000.0, 0.05, 0.3
    with reference_server() as server, open_loop_generator() as generator:
        pin_pair(server, generator)
        generator.call({"op": "connect", "port": server.hello["port"], "connections": 3, "message_size": 1024}, 30, "")
        request = {"op": "measure", "rate": rate, "warmup_s": warmup_s, "duration_s": duration_s, "drain_s": 1.0}
        measured = generator.call({**request, "seed": 2}, 60, f"{rate} msgs/s")
    assert measured["generator_impl"] == impl
    assert measured["messages"] == schedule(rate, warmup_s, duration_s, 3, 2).measured
    assert measured["messages_not_echoed"] == 0
    assert measured["achieved_msgs_per_s"] == pytest.approx(rate, rel=0.25)
    # no more than a scheduler's hiccup late (a generator that slept through its timer would be a schedule behind)
    assert measured["generator_lag_max_s"] < 0.1


def test_the_generator_process_says_which_loop_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(IMPL_ENV, "python")
    with reference_server() as server, open_loop_generator() as generator:
        assert generator.hello["generator_impl"] == "python"
        generator.call({"op": "connect", "port": server.hello["port"], "connections": 2, "message_size": 64}, 30, "")
        assert offer(generator, 1000, 0.1, warmup_s=0.0)["generator_impl"] == "python"


# -- the open-loop saturation (the capacity search: tests/test_capacity_search.py) --


def overload_measurement(offered: float, achieved: float, lag_p99_s: float = 0.0) -> dict[str, object]:
    return {
        "kind": "overload",
        "offered_msgs_per_s": offered,
        "echo_rate_msgs_per_s": achieved,
        "generator_lag_p99_s": lag_p99_s,
        "messages_not_echoed": 5,
    }


def test_an_overload_that_fell_behind_measures_the_open_loop_limit_and_only_then() -> None:
    found = spec.open_loop_saturation(overload_measurement(300_000.0, 120_000.0))
    assert found["msgs_per_s"] == 120_000.0 and not found["at_least"]
    kept_up = spec.open_loop_saturation(overload_measurement(300_000.0, 299_000.0))
    assert kept_up["at_least"] and not kept_up["generator_limited"]  # the server kept up: a lower bound
    late = spec.open_loop_saturation(overload_measurement(300_000.0, 120_000.0, lag_p99_s=1e-3))
    assert late["at_least"] and late["generator_limited"]  # the generator was behind: it may have been the limit
    # the overload is neither a point of the capacity search nor a miss of messages
    assert spec.search_points([overload_measurement(300_000.0, 120_000.0)]) == []


@pytest.mark.timing
@pytest.mark.parametrize("probe", ["fixed_delay"], indirect=True)
def test_the_overload_finds_a_known_service_rate(probe: tuple[WorkerClient, WorkerClient, int]) -> None:
    # fixed_delay serves one message per SERVICE_S whatever waits: its open-loop limit is 1 / SERVICE_S.
    _, generator, _ = probe
    measured = offer(generator, spec.overload_factor(1) / SERVICE_S, 0.6)
    found = spec.open_loop_saturation({**measured, "kind": "overload"})
    assert found["msgs_per_s"] == pytest.approx(1 / SERVICE_S, rel=0.15), found
    # The server fell behind, so the figure is its limit; it is called a lower bound only when the generator
    # itself was late on its schedule (a busy machine delays its wake-ups), and then it says so.
    assert found["at_least"] == found["generator_limited"], (found, measured["generator_lag_p99_s"])


def test_a_tcp_latency_session_saves_every_rate_and_both_capacities(tmp_path: Path) -> None:
    out = tmp_path / "latency.json"
    session = run_benchmarks(
        "--profile=quick", "--workloads=tcp_latency", "--models=asyncio", f"--benchmark-json={out}", "--no-report"
    )
    assert session.returncode == 0, session.output
    assert processes_tagged(session.tag) == []
    saved = json.loads(out.read_text())
    assert "tcp_latency" in saved["corobench"]["workloads"]
    benches = saved["benchmarks"]
    assert sorted(b["extra_info"]["variant"] for b in benches) == ["protocol", "streams"]
    for bench in benches:
        info = bench["extra_info"]
        assert bench["stats"]["rounds"] == len(spec.ABSOLUTE_RATES["quick"])
        # A common rate may be measured again (the generator fell behind, or the capacity search lands on
        # it), so each rate shows up at least once among the absolute measurements.
        common = [m for m in info["rates"] if m["kind"] == "absolute"]
        assert {m["offered_msgs_per_s"] for m in common} == set(spec.ABSOLUTE_RATES["quick"])
        # a round's timed value is the p99 at one of those common-rate measurements
        p99s = [m["latency_p99_s"] for m in common]
        # Latencies are kept to 3 significant figures (HDR histograms), so equal means equal to 1 part in 1000.
        assert any(bench["stats"]["max"] == pytest.approx(p99, rel=1e-3) for p99 in p99s), (bench["stats"], p99s)
        assert {m["kind"] for m in info["rates"]} >= {"absolute", "fraction"}
        for name in spec.TARGETS_S:
            assert info[f"capacity_p99_{name}_msgs_per_s"] >= 0
        assert info["bottleneck"] in ("under_test", "peer")
        assert info["saturated_throughput_msgs_per_s"] > 0
