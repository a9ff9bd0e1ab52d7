"""The load generator's two loops (C and Python) check and report the same things, byte for byte."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from benchmarks.harness.echo_harness import echo_server, load_generator, reference_server
from benchmarks.harness.worker_client import WorkerClient
from workloads.peers.load_generator import IMPL_ENV, LoadGenerator, compiled_loop
from workloads.peers.waiting import SLEEP_ENV
from workloads.runtime.errors import WrongResult

NOT_BUILT = "workloads.peers._echo_loop is not built (pip install -e .)"
IMPLS = ["python", pytest.param("c", marks=pytest.mark.skipif(compiled_loop is None, reason=NOT_BUILT))]
ROUND_KEYS = {"generator_cpu_s", "generator_wait_s", "generator_wait", "generator_impl"}
LATENCY_KEYS = {"messages", "latency_max_s", "latency_p50_s", "latency_p90_s", "latency_p99_s", "latency_p999_s"}


@contextmanager
def generator(impl: str, port: int, connections: int, size: int, spin: bool = True) -> Iterator[LoadGenerator]:
    gen = LoadGenerator(impl, spin)
    try:
        gen.connect(port, connections, size)
        yield gen
    finally:
        gen.close()


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("spin", [True, False], ids=["spin", "sleep"])
@pytest.mark.parametrize(("connections", "size", "messages"), [(3, 64, 7), (4, 200_000, 9), (10, 1024, 2000)])
def test_every_echo_is_completed_and_timed(impl: str, spin: bool, connections: int, size: int, messages: int) -> None:
    # 200 KB messages span several 64 KiB reads and partial sends; 7 messages on 3 connections leave quotas uneven.
    with reference_server() as server, generator(impl, server.hello["port"], connections, size, spin) as gen:
        for _ in range(2):  # a second round on the same connections starts from a clean state
            reply = gen.round(messages)
            metrics = reply["metrics"]
            assert set(metrics) == LATENCY_KEYS | ROUND_KEYS
            assert metrics["messages"] == messages and metrics["generator_impl"] == impl
            assert metrics["generator_wait"] == ("spin" if spin else "sleep")
            assert 0 < metrics["latency_p50_s"] <= metrics["latency_max_s"] <= reply["quanta"] / 2**32
            # working CPU is CPU less waiting, clamped at 0: a tiny round on a preempted vCPU can reach it
            assert metrics["generator_cpu_s"] >= 0 and metrics["generator_cpu_s"] + metrics["generator_wait_s"] > 0
            if not spin:  # a sleeping loop never polls an empty set
                assert metrics["generator_wait_s"] == 0


@pytest.mark.parametrize("impl", IMPLS)
def test_a_spinning_generator_counts_its_waiting_apart_from_its_work(impl: str) -> None:
    # The faulty model's slow_echo server answers each message after 20 ms: a spinning generator spends
    # nearly all of that polling, which must be reported as waiting, not as the generator's work.
    with faulty("slow_echo") as worker, echo_server(worker, None) as port, generator(impl, port, 1, 64) as gen:
        reply = gen.round(5)
    seconds, metrics = reply["quanta"] / 2**32, reply["metrics"]
    assert seconds >= 5 * 0.02
    assert metrics["generator_wait_s"] > 0.8 * seconds
    assert metrics["generator_cpu_s"] < 0.2 * seconds


def test_the_wait_mode_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SLEEP_ENV, "1")
    assert LoadGenerator("python").wait_mode == "sleep"
    monkeypatch.delenv(SLEEP_ENV)
    assert LoadGenerator("python").wait_mode == "spin"
    monkeypatch.setenv(SLEEP_ENV, "yes")
    with pytest.raises(ValueError, match="COROBENCH_GENERATOR_SLEEP"):
        LoadGenerator("python")


def faulty(fault: str) -> WorkerClient:
    return WorkerClient("faulty", env={"COROBENCH_EXTRA_MODELS": "tests.models", "COROBENCH_FAULT": fault})


def failure_of(impl: str, fault: str) -> BaseException:
    with faulty(fault) as worker, echo_server(worker, None) as port, generator(impl, port, 1, 64) as gen:
        with pytest.raises((WrongResult, OSError)) as failure:
            gen.round(5)
        return failure.value


@pytest.mark.skipif(compiled_loop is None, reason=NOT_BUILT)
@pytest.mark.parametrize("fault", ["corrupt_echo", "reset_echo"])
def test_both_loops_reject_a_bad_echo_with_the_same_report(fault: str) -> None:
    python, c = failure_of("python", fault), failure_of("c", fault)
    assert type(python) is type(c)
    assert str(python) == str(c)
    if fault == "corrupt_echo":
        assert str(c) == "connection 0, message offset 1: echoed byte 0xfe, sent 0x01"


def test_the_generator_process_says_which_loop_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(IMPL_ENV, "python")
    with load_generator() as gen:
        assert gen.hello["generator_impl"] == "python"
        assert gen.hello["allocator_state"] in ("warm", "unknown")
