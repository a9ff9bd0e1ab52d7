"""Echo cells give the side under test every core but its peer's, and the hybrid sizes its pool from them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.harness import cells, process_stats
from benchmarks.harness.cells import cells_for
from benchmarks.harness.process_stats import pin_group
from benchmarks.harness.worker_client import WorkerClient
from workloads.runtime.cores import CORES_ENV

pytestmark = pytest.mark.timing  # CPU and clock readings: rerun under load by .ci/run


def machine_with(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(count)))


def hybrid_cell(workload: str) -> cells.Cell:
    return cells_for(workload, ["multiprocess_asyncio"], "quick")[0]


def test_the_peer_gets_one_core_and_the_side_under_test_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    machine_with(monkeypatch, 16)
    assert process_stats.split_cores() == (set(range(15)), {15})
    for workload in ("tcp_echo", "tcp_client"):
        cell = hybrid_cell(workload)
        assert cell.worker_env[CORES_ENV] == ",".join(str(c) for c in range(15))
        assert cell.skip_reason is None
    assert hybrid_cell("cpu_mixed").worker_env[CORES_ENV] == ",".join(str(c) for c in range(16))  # not pinned


def test_multi_core_models_run_with_one_loop_on_two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given one core (the peer has the other) a multi-loop cell runs, told one core, not skipped."""
    machine_with(monkeypatch, 2)
    for model in ("multiprocess_asyncio", "asyncio_threads"):
        cell = cells_for("tcp_echo", [model], "quick")[0]
        assert cell.skip_reason is None and cell.worker_env[CORES_ENV] == "0"
    assert hybrid_cell("tcp_client").skip_reason is None
    assert hybrid_cell("cpu_mixed").skip_reason is None
    assert cells_for("tcp_echo", ["asyncio"], "quick")[0].skip_reason is None


def test_the_hybrid_sizes_its_pool_from_the_cores_it_is_given_not_the_mask() -> None:
    with WorkerClient("multiprocess_asyncio", env={CORES_ENV: "0,1,2"}) as worker:
        pin_group(worker.pid, {sorted(os.sched_getaffinity(0))[0]})  # as the harness pins an echo cell's worker
        reply = worker.run_round("sleep_fanout", {"n": 30, "delay": 0.001}, timeout_s=60)
    assert reply["metrics"]["processes"] == 3


def test_cold_allocator_cells_run_once_per_profile_at_c10_1kib() -> None:
    assert not [c for c in cells_for("tcp_echo", ["asyncio"], "quick") if "cold" in (c.variant or "")]
    cold = [c for c in cells_for("tcp_echo", ["asyncio", "uvloop"], "default") if "cold" in (c.variant or "")]
    assert sorted(c.label for c in cold) == [
        "asyncio.buffered_cold_allocator",
        "asyncio.protocol_cold_allocator",
        "asyncio.streams_cold_allocator",
    ]
    assert {(c.params["connections"], c.params["message_size"]) for c in cold} == {(10, 1024)}
    assert all(c.worker_env["COROBENCH_ALLOCATOR_STATE"] == "cold" for c in cold)


def test_pinning_a_worker_pins_the_threads_it_started_before() -> None:
    """A worker whose threads already run (asyncio_threads' loops start with its first round) is pinned whole.

    The harness pins an echo cell's worker before anything starts threads, so they inherit the mask; this keeps
    ``pin_group`` right where that order does not hold (``sched_setaffinity`` pins one thread id).
    """
    first = sorted(os.sched_getaffinity(0))[0]
    with WorkerClient("asyncio_threads", env={CORES_ENV: "0,1"}) as worker:
        worker.run_round("sleep_fanout", {"n": 10, "delay": 0.001}, timeout_s=60)
        tasks = list(Path(f"/proc/{worker.pid}/task").iterdir())
        assert len(tasks) >= 3, "the worker's loop threads are not running yet"
        pin_group(worker.pid, {first})
        masks = {task.name: os.sched_getaffinity(int(task.name)) for task in tasks}
    assert all(mask == {first} for mask in masks.values()), masks
