"""The load generator's two loops (C and Python) check and report the same things, byte for byte."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from benchmarks.harness.echo_harness import echo_server, load_generator, reference_server
from benchmarks.harness.worker_client import WorkerClient
from workloads.peers.load_generator import IMPL_ENV, LoadGenerator, compiled_loop
from workloads.runtime.errors import WrongResult

NOT_BUILT = "workloads.peers._echo_loop is not built (pip install -e .)"
IMPLS = ["python", pytest.param("c", marks=pytest.mark.skipif(compiled_loop is None, reason=NOT_BUILT))]
LATENCY_KEYS = {"messages", "latency_max_s", "latency_p50_s", "latency_p90_s", "latency_p99_s", "latency_p999_s"}


@contextmanager
def generator(impl: str, port: int, connections: int, size: int) -> Iterator[LoadGenerator]:
    gen = LoadGenerator(impl)
    try:
        gen.connect(port, connections, size)
        yield gen
    finally:
        gen.close()


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(("connections", "size", "messages"), [(3, 64, 7), (4, 200_000, 9), (10, 1024, 2000)])
def test_every_echo_is_completed_and_timed(impl: str, connections: int, size: int, messages: int) -> None:
    # 200 KB messages span several 64 KiB reads and partial sends; 7 messages on 3 connections leave quotas uneven.
    with reference_server() as server, generator(impl, server.hello["port"], connections, size) as gen:
        for _ in range(2):  # a second round on the same connections starts from a clean state
            reply = gen.round(messages)
            metrics = reply["metrics"]
            assert set(metrics) == LATENCY_KEYS | {"generator_cpu_s", "generator_impl"}
            assert metrics["messages"] == messages and metrics["generator_impl"] == impl
            assert 0 < metrics["latency_p50_s"] <= metrics["latency_max_s"] <= reply["quanta"] / 2**32
            assert metrics["generator_cpu_s"] > 0


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
