"""The collector's pauses are counted inside the window only, and ``COROBENCH_GC=off`` really turns it off."""

from __future__ import annotations

import gc
import time

import pytest

from benchmarks.harness.worker_client import WorkerClient
from workloads.runtime import collector
from workloads.runtime.collector import GC_ENV, CollectorLog

pytestmark = pytest.mark.timing  # CPU and clock readings: rerun under load by .ci/run


def test_only_collections_inside_the_window_count() -> None:
    log = CollectorLog()
    gc.callbacks.append(log)
    try:
        gc.collect()  # before the window
        opened = time.perf_counter()
        gc.collect(0)
        gc.collect(2)
        closed = time.perf_counter()
        gc.collect(1)  # after it
    finally:
        gc.callbacks.remove(log)
    inside = log.metrics((opened, closed))
    assert inside["gc_collections"] == [1, 0, 1]
    assert 0 < inside["gc_pause_s"] < closed - opened
    assert log.metrics(None)["gc_collections"] == [1, 1, 2]


@pytest.mark.parametrize("enabled", [True, False])
def test_the_block_runs_with_collection_as_asked_and_restores_it(enabled: bool) -> None:
    assert gc.isenabled()
    with collector.logged(enabled):
        assert gc.isenabled() is enabled
    assert gc.isenabled()


def test_a_bad_switch_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(GC_ENV, "maybe")
    with pytest.raises(ValueError, match="COROBENCH_GC"):
        collector.automatic()


@pytest.mark.parametrize("switch", ["on", "off"])
def test_a_fan_out_round_reports_the_collector(switch: str) -> None:
    # 20 000 asyncio tasks allocate far more than gen 0's threshold: with collection on, some run in the window.
    with WorkerClient("asyncio", env={GC_ENV: switch}) as worker:
        metrics = worker.run_round("sleep_fanout", {"n": 20_000, "delay": 0.001}, timeout_s=60)["metrics"]
    assert metrics["gc_automatic"] is (switch == "on")
    if switch == "on":
        assert metrics["gc_collections"][0] > 0 and metrics["gc_pause_s"] > 0
    else:
        assert metrics["gc_collections"] == [0, 0, 0] and metrics["gc_pause_s"] == 0
