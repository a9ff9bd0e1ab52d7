"""A worker that crashes, hangs, lies or raises fails clearly and leaves no process behind."""

from __future__ import annotations

import os
import time

import pytest

from benchmarks.harness.echo_harness import echo_server, load_generator
from benchmarks.harness.worker_client import WorkerClient, WorkerFailed, WorkloadFailed

pytestmark = pytest.mark.timing  # CPU and clock readings: rerun under load by .ci/run

SMALL = {"n": 10, "delay": 0.001}


def faulty(fault: str) -> WorkerClient:
    return WorkerClient("faulty", env={"COROBENCH_EXTRA_MODELS": "tests.models", "COROBENCH_FAULT": fault})


def assert_gone(pid: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"process {pid} is still alive")


def test_a_crash_names_the_model_the_exit_status_and_the_stderr_tail() -> None:
    with faulty("crash") as worker:
        with pytest.raises(WorkerFailed) as failure:
            worker.run_round("sleep_fanout", SMALL, timeout_s=30)
        assert_gone(worker.pid)
    message = str(failure.value)
    assert "faulty worker exited during request sleep_fanout with exit status 3" in message
    assert "crashing on purpose" in message


def test_a_worker_killed_by_a_signal_says_which_signal() -> None:
    with faulty("kill") as worker, pytest.raises(WorkerFailed, match="signal SIGKILL"):
        worker.run_round("sleep_fanout", SMALL, timeout_s=30)


def test_a_hung_worker_is_killed_after_the_bound() -> None:
    with faulty("hang") as worker:
        started = time.monotonic()
        with pytest.raises(WorkerFailed, match=r"no answer to request sleep_fanout within 1 s"):
            worker.run_round("sleep_fanout", SMALL, timeout_s=1)
        assert time.monotonic() - started < 15
        assert_gone(worker.pid)


def test_a_wrong_result_fails_the_round_and_is_never_timed() -> None:
    with faulty("wrong") as worker:
        with pytest.raises(WorkloadFailed, match="wrong_result: task results are not each index"):
            worker.run_round("sleep_fanout", SMALL, timeout_s=30)
        assert worker.alive, "a wrong result is the model's fault, not the worker's: it keeps serving"


def test_an_exception_in_the_model_is_reported_with_its_traceback() -> None:
    with faulty("raise") as worker, pytest.raises(WorkloadFailed, match="RuntimeError: faulty model: raising"):
        worker.run_round("sleep_fanout", SMALL, timeout_s=30)


def test_output_from_the_model_does_not_corrupt_the_protocol() -> None:
    with faulty("noisy") as worker:
        reply = worker.run_round("sleep_fanout", SMALL, timeout_s=30)
    assert reply["quanta"] > 0


def test_a_fresh_worker_serves_after_a_crashed_one() -> None:
    with faulty("crash") as worker, pytest.raises(WorkerFailed):
        worker.run_round("sleep_fanout", SMALL, timeout_s=30)
    with faulty("") as fresh:
        assert fresh.run_round("sleep_fanout", SMALL, timeout_s=30)["ok"]


def test_unknown_workloads_are_refused_without_killing_the_worker() -> None:
    with faulty("") as worker:
        with pytest.raises(WorkloadFailed, match="unknown workload 'nope'"):
            worker.run_round("nope", {}, timeout_s=30)
        assert worker.alive


def test_a_worker_out_of_memory_fails_with_a_readable_line() -> None:
    with faulty("oom") as worker, pytest.raises(WorkloadFailed) as failure:
        worker.run_round("sleep_fanout", SMALL, timeout_s=60)
    assert str(failure.value).splitlines()[0].endswith("error: MemoryError")


def test_a_server_that_never_listens_fails_within_the_bound() -> None:
    with faulty("never_listen") as worker:
        with (
            pytest.raises(WorkerFailed, match="no answer to echo server start-up within 1 s"),
            echo_server(worker, None, start_timeout_s=1),
        ):
            pass
        assert_gone(worker.pid)


def test_connection_resets_fail_the_round_with_the_cause() -> None:
    with faulty("reset_echo") as worker, echo_server(worker, None) as port, load_generator() as generator:
        generator.call({"op": "connect", "port": port, "connections": 2, "message_size": 64}, 30, "connect")
        with pytest.raises(WorkloadFailed) as failure:
            generator.call({"op": "round", "messages": 10}, 30, "faulty reset echo")
    headline = str(failure.value).splitlines()[0]
    assert "ConnectionResetError" in headline or "closed the connection mid-echo" in headline
