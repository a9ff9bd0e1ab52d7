"""Variants that change a library's configuration really run with it, and say so in their metrics.

gevent's ``tuned`` variant turns ``track_greenlet_tree`` off through its worker's environment; the
model checks what a spawned greenlet recorded and refuses a variant its worker does not run, so a
``tuned`` cell can never measure the defaults. Every non-default task variant is also checked for a
correct round here (the per-model tests run the default variants).
"""

from __future__ import annotations

import sys

import pytest

from benchmarks.harness.measure import model_config
from benchmarks.harness.worker_client import WorkerClient, WorkloadFailed
from workloads.models.registry import MODELS, installed_models
from workloads.specs.base import Round

SMALL = {
    "sleep_fanout": {"n": 100, "delay": 0.002},
    "timeout_cancel": {"n": 100, "deadline": 0.05, "seed": 3},
    "cpu_mixed": {"n": 10, "delay": 0.002, "work": 1000},
}
OTHER_VARIANTS = [
    (model, workload, variant)
    for model in installed_models()
    for workload in ("sleep_fanout", "timeout_cancel", "cpu_mixed")
    for variant in MODELS[model].variants_of(workload)[1:]
]
needs_gevent = pytest.mark.skipif("gevent" not in installed_models(), reason="gevent is not installed")


@needs_gevent
@pytest.mark.parametrize(("variant", "tracks"), [("defaults", True), ("tuned", False)])
def test_gevent_reports_the_greenlet_tree_setting_it_ran(variant: str, tracks: bool) -> None:
    with WorkerClient("gevent", env=dict(MODELS["gevent"].variant_env.get(variant, {}))) as worker:
        reply = worker.run_round("sleep_fanout", SMALL["sleep_fanout"], 60, variant)
    config = model_config(Round(reply["quanta"], reply["metrics"]))
    assert config == {"config_gevent_track_greenlet_tree": tracks}


@needs_gevent
def test_gevent_refuses_a_variant_its_worker_was_not_configured_for() -> None:
    with WorkerClient("gevent") as worker, pytest.raises(WorkloadFailed, match="needs track_greenlet_tree=False"):
        worker.run_round("sleep_fanout", SMALL["sleep_fanout"], 60, "tuned")


@pytest.mark.parametrize(("model", "workload", "variant"), OTHER_VARIANTS)
def test_every_other_task_variant_gives_a_correct_round(model: str, workload: str, variant: str) -> None:
    if too_old := MODELS[model].reason_too_old(tuple(sys.version_info[:3]), variant):
        pytest.skip(too_old)
    with WorkerClient(model, env=dict(MODELS[model].variant_env.get(variant, {}))) as worker:
        reply = worker.run_round(workload, SMALL[workload], 60, variant)
    assert reply["quanta"] > 0


def test_an_explicit_workload_entry_can_keep_a_default_variant_out_of_a_profile() -> None:
    """asyncio_threads' HTTP server (its only variant) is in quick and full, not in the default profile."""
    from workloads.models.registry import lookup

    threads = lookup("asyncio_threads")
    assert threads.variants_in("http_server", "default") == ()
    assert threads.variants_in("http_server", "quick") == ("httptools",)
    assert lookup("asyncio").variants_in("http_server", "default")[0] == "uvicorn", "no entry: the default stays"
